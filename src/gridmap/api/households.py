"""gridmap.api.households: households, designated households (党员中心户) and whom they serve."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gridmap.dependencies import (
    GridQuery,
    PageDep,
    PrincipalDep,
    RegionQuery,
    RowId,
    SessionDep,
    TokenDep,
    ViewBBoxDep,
)
from gridmap.queries.households import HouseholdFilter
from gridmap.responses import GeoJSONResponse, documented
from gridmap.schemas.households import (
    HouseholdDetail,
    HouseholdPatch,
    HouseholdsPage,
    HouseholdsSummary,
    ServedIn,
)
from gridmap.services import households as service

router = APIRouter(prefix="/households", tags=["households"])


@router.get(
    "",
    response_class=GeoJSONResponse,
    **documented(HouseholdsPage),
    summary="Households as GeoJSON points",
)
def list_households(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    bbox: ViewBBoxDep,
    designated: bool | None = None,
    grid: GridQuery = None,
    region: RegionQuery = None,
    served_by: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Any:
    """Households at their building, filtered by designated, grid, region or designated
    household served by, or ``bbox`` (a map view); names and phones masked unless the
    token may see them."""
    return GeoJSONResponse(
        service.list_households(
            session,
            principal=principal,
            chosen=HouseholdFilter(
                designated=designated,
                grid=grid,
                region=region,
                served_by=served_by,
                bbox=bbox,
            ),
            limit=page.limit,
            offset=page.offset,
        )
    )


@router.get(
    "/summary",
    **documented(HouseholdsSummary),
    summary="Per grid: designated households, served and unserved",
)
def summary(session: SessionDep, region: RegionQuery = None) -> dict[str, Any]:
    """Households, designated households, households served and households with none, by grid."""
    return {"region": region, "grids": service.summary(session, region=region)}


@router.get(
    "/{household_id}",
    response_class=GeoJSONResponse,
    **documented(HouseholdDetail),
    summary="One household",
)
def get_household(session: SessionDep, principal: PrincipalDep, household_id: RowId) -> Any:
    """One household; a designated one comes with the households it serves."""
    return GeoJSONResponse(
        service.get_household(session, household_id=household_id, principal=principal)
    )


@router.patch(
    "/{household_id}",
    response_class=GeoJSONResponse,
    **documented(HouseholdDetail),
    summary="Mark designated",
)
def patch_household(
    session: SessionDep, principal: TokenDep, household_id: RowId, patch: HouseholdPatch
) -> Any:
    """Mark a household designated (党员中心户), or unmark it (its served households are freed)."""
    return GeoJSONResponse(
        service.set_designated(
            session, household_id=household_id, designated=patch.designated, principal=principal
        )
    )


@router.put(
    "/{household_id}/served",
    response_class=GeoJSONResponse,
    **documented(HouseholdDetail),
    summary="Set the households a designated household serves",
)
def put_served(
    session: SessionDep, principal: TokenDep, household_id: RowId, served: ServedIn
) -> Any:
    """Replace the list of households served; a household moved from another designated
    household is listed under ``moved_from_other_designated``."""
    return GeoJSONResponse(
        service.set_served(
            session, household_id=household_id, served=served.households, principal=principal
        )
    )
