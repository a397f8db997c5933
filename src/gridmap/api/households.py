"""gridmap.api.households: households, designated households (党员中心户) and whom they serve, and
their care tags (关爱对象)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

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
from gridmap.schemas.visits import CareTagIn, CareTagPublic, HouseholdCare
from gridmap.services import care
from gridmap.services import households as service
from gridmap.vocab.kinds import CareTag

router = APIRouter(prefix="/households", tags=["households"])

TagPath = Annotated[CareTag, Path(description="the care tag (elderly_alone, hardship …)")]


def _rule(request: Request) -> care.VisitRule:
    return care.VisitRule.from_settings(request.app.state.settings.api)


@router.get(
    "",
    response_class=GeoJSONResponse,
    **documented(HouseholdsPage),
    summary="Households as GeoJSON points",
)
def list_households(
    request: Request,
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
    household served by, or ``bbox`` (a map view); names, phones, care tags, last visit and
    next due visit masked unless the token may see them (each read of care tags is logged)."""
    return page.answer(
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
            rule=_rule(request),
        ),
        response_class=GeoJSONResponse,
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
def get_household(
    request: Request, session: SessionDep, principal: PrincipalDep, household_id: RowId
) -> Any:
    """One household; a designated one comes with the households it serves."""
    return GeoJSONResponse(
        service.get_household(
            session, household_id=household_id, principal=principal, rule=_rule(request)
        )
    )


@router.patch(
    "/{household_id}",
    response_class=GeoJSONResponse,
    **documented(HouseholdDetail),
    summary="Mark designated, or put in a Party group",
)
def patch_household(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    household_id: RowId,
    patch: HouseholdPatch,
) -> Any:
    """Mark a household designated (党员中心户), or unmark it (its served households are freed);
    ``group_id`` puts it in the Party group of its building (null: in none; 422
    ``household_outside_group`` for a group elsewhere)."""
    changes = patch.model_dump(exclude_unset=True)
    feature: dict[str, Any] = {}
    if "group_id" in changes:
        feature = service.set_group(
            session,
            household_id=household_id,
            group_id=changes["group_id"],
            principal=principal,
            rule=_rule(request),
        )
    if "designated" in changes:
        feature = service.set_designated(
            session,
            household_id=household_id,
            designated=changes["designated"],
            principal=principal,
            rule=_rule(request),
        )
    return GeoJSONResponse(feature)


@router.put(
    "/{household_id}/served",
    response_class=GeoJSONResponse,
    **documented(HouseholdDetail),
    summary="Set the households a designated household serves",
)
def put_served(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    household_id: RowId,
    served: ServedIn,
) -> Any:
    """Replace the list of households served; a household moved from another designated
    household is listed under ``moved_from_other_designated``."""
    return GeoJSONResponse(
        service.set_served(
            session,
            household_id=household_id,
            served=served.households,
            principal=principal,
            rule=_rule(request),
        )
    )


@router.get(
    "/{household_id}/care-tags",
    response_model=HouseholdCare,
    summary="A household's care tags",
)
def get_care_tags(
    request: Request, session: SessionDep, principal: TokenDep, household_id: RowId
) -> dict[str, Any]:
    """The household's care tags (关爱对象) with the interval applied to each, its last visit
    and when the next is due. Personal data: for the grid's team and the offices of its region
    only (403 for others); each read is logged."""
    return care.care_tags(
        session,
        household_id=household_id,
        principal=principal,
        rule=_rule(request),
        route="GET /api/v1/households/{id}/care-tags",
    )


@router.put(
    "/{household_id}/care-tags/{tag}",
    status_code=201,
    response_model=CareTagPublic,
    responses={200: {"model": CareTagPublic, "description": "the tag was there: changed"}},
    summary="Set a care tag of a household",
)
def put_care_tag(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    household_id: RowId,
    tag: TagPath,
    body: CareTagIn,
) -> JSONResponse:
    """Tag a household (201), or change the fields sent of its tag (200); by the grid's team or
    an office of its region. ``interval_days`` null: the configured interval of the tag."""
    values = body.model_dump(exclude_unset=True)
    stored, new = care.put_tag(
        session,
        household_id=household_id,
        tag=tag,
        values=values,
        principal=principal,
        today=care.today(_rule(request)),
    )
    return JSONResponse(jsonable_encoder(stored), status_code=201 if new else 200)


@router.delete(
    "/{household_id}/care-tags/{tag}", status_code=204, summary="Remove a care tag of a household"
)
def delete_care_tag(
    session: SessionDep, principal: TokenDep, household_id: RowId, tag: TagPath
) -> Response:
    """Remove the tag (the household needs it no longer); 404 when it has none of that kind."""
    care.delete_tag(session, household_id=household_id, tag=tag, principal=principal)
    return Response(status_code=204)
