"""gridmap.api.households: households, designated households (党员中心户) and whom they serve."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from gridmap.dependencies import GridQuery, PageDep, PrincipalDep, RegionQuery, SessionDep, TokenDep
from gridmap.queries import households as q
from gridmap.responses import GeoJSONResponse

router = APIRouter(prefix="/households", tags=["households"])

HouseholdId = Annotated[int, Path(ge=1, le=2**62)]


class ServedIn(BaseModel):
    """The households a designated household serves (the whole list, replacing the old one)."""

    model_config = ConfigDict(extra="forbid")

    households: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(max_length=q.MAX_SERVED)


class HouseholdPatch(BaseModel):
    """Mark or unmark a designated household."""

    model_config = ConfigDict(extra="forbid")

    designated: bool


@router.get("", response_class=GeoJSONResponse, summary="Households as GeoJSON points")
def list_households(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    designated: bool | None = None,
    grid: GridQuery = None,
    region: RegionQuery = None,
    served_by: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Any:
    """Households at their building, filtered by designated, grid, region or designated
    household served by; names and phones masked unless the token may see them."""
    return GeoJSONResponse(
        q.list_households(
            session,
            principal=principal,
            designated=designated,
            grid=grid,
            region=region,
            served_by=served_by,
            limit=page.limit,
            offset=page.offset,
        )
    )


@router.get("/summary", summary="Per grid: designated households, served and unserved")
def summary(session: SessionDep, region: RegionQuery = None) -> dict[str, Any]:
    """Households, designated households, households served and households with none, by grid."""
    return {"region": region, "grids": q.summary(session, region=region)}


@router.get("/{household_id}", response_class=GeoJSONResponse, summary="One household")
def get_household(session: SessionDep, principal: PrincipalDep, household_id: HouseholdId) -> Any:
    """One household; a designated one comes with the households it serves."""
    return GeoJSONResponse(q.get_household(session, household_id=household_id, principal=principal))


@router.patch("/{household_id}", response_class=GeoJSONResponse, summary="Mark designated")
def patch_household(
    session: SessionDep, principal: TokenDep, household_id: HouseholdId, patch: HouseholdPatch
) -> Any:
    """Mark a household designated (党员中心户), or unmark it (its served households are freed)."""
    return GeoJSONResponse(
        q.set_designated(
            session, household_id=household_id, designated=patch.designated, principal=principal
        )
    )


@router.put(
    "/{household_id}/served",
    response_class=GeoJSONResponse,
    summary="Set the households a designated household serves",
)
def put_served(
    session: SessionDep, principal: TokenDep, household_id: HouseholdId, served: ServedIn
) -> Any:
    """Replace the list of households served; a household moved from another designated
    household is listed under ``moved_from_other_designated``."""
    return GeoJSONResponse(
        q.set_served(
            session, household_id=household_id, served=served.households, principal=principal
        )
    )
