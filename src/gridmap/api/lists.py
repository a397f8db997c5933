"""gridmap.api.lists: the three lists (resources, needs, projects) and matching needs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

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
from gridmap.errors import InvalidInput, Unauthorized
from gridmap.geo.crs import normalize_crs, to_wgs84
from gridmap.queries.circles import circle_rules
from gridmap.queries.lists import ItemFilter
from gridmap.responses import GeoJSONResponse, created, documented
from gridmap.schemas.lists import (
    AssignIn,
    CloseIn,
    CompleteIn,
    ItemFeature,
    ItemIn,
    ItemPatch,
    ItemsPage,
    Matches,
    MatchIn,
    Status,
)
from gridmap.services import list_flow as flow
from gridmap.services import lists as service
from gridmap.vocab.kinds import ListKind

router = APIRouter(prefix="/lists", tags=["lists"])


def _created(feature: dict[str, Any]) -> GeoJSONResponse:
    """The 201 answer for a new item, with its address."""
    return created(feature, f"/api/v1/lists/{feature['properties']['id']}")


@router.get(
    "",
    response_class=GeoJSONResponse,
    **documented(ItemsPage),
    summary="List items as GeoJSON",
)
def list_items(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    bbox: ViewBBoxDep,
    list: Annotated[ListKind | None, Query(description="resource, need or project")] = None,
    category: Annotated[str | None, Query(max_length=50)] = None,
    grid: GridQuery = None,
    region: RegionQuery = None,
    status: Status | None = None,
    wish: Annotated[bool | None, Query(description="true: wishes (微心愿) only")] = None,
    member: Annotated[
        int | None, Query(ge=1, le=2**62, description="taken on by this Party member")
    ] = None,
    mine: Annotated[
        bool,
        Query(description="a member's token: what I took on; a branch's: its grids' items"),
    ] = False,
) -> Any:
    """Items of the three lists, filtered (``bbox``: those in a map view), with their flow
    (whom assigned to, who took it on, the report); personal data masked unless the token may
    see it."""
    grids = None
    if mine:
        if not principal.authenticated:
            raise Unauthorized("mine=true needs a member's or a branch's token")
        if principal.member_id is not None:
            member = principal.member_id
        elif principal.role == "branch" and principal.grids is not None:
            grids = principal.grids
        else:
            raise InvalidInput(
                "mine=true is for a Party member's token (what they took on) or a branch's "
                "(its grids' items); narrow an office's list by region or grid"
            )
    return page.answer(
        service.list_items(
            session,
            principal=principal,
            chosen=ItemFilter(
                kind=list,
                category=category,
                grid=grid,
                region=region,
                status=status,
                bbox=bbox,
                wish=wish,
                member=member,
                grids=grids,
            ),
            limit=page.limit,
            offset=page.offset,
        ),
        response_class=GeoJSONResponse,
    )


@router.post(
    "",
    status_code=201,
    response_class=GeoJSONResponse,
    **documented(ItemFeature, status=201),
    summary="Add a list item",
)
def create_item(session: SessionDep, principal: TokenDep, item: ItemIn) -> Any:
    """Add a resource or a need; projects are made by matching (``POST /lists/match``)."""
    lon, lat = to_wgs84(item.x, item.y, normalize_crs(item.crs))
    feature = service.create_item(
        session,
        values=item.model_dump(exclude={"x", "y", "crs"}),
        lon=lon,
        lat=lat,
        principal=principal,
    )
    return _created(feature)


@router.get(
    "/match",
    **documented(Matches, 404),
    summary="Resources for a need, nearest first within grid, community, circle",
)
def match(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    need: Annotated[int, Query(ge=1, le=2**62)],
    by: Literal["walk", "straight"] = "walk",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    """Open resources of the need's category: same grid first, then same community, then
    sharing a service circle, then the rest; nearest first in each (walking where possible)."""
    rules = circle_rules(request.app.state.settings.api)[0]
    return service.match(
        session, need_id=need, by=by, limit=limit, rules=rules, principal=principal
    )


@router.post(
    "/match",
    status_code=201,
    response_class=GeoJSONResponse,
    **documented(ItemFeature, 404, status=201),
    summary="Take a match: a project",
)
def take_match(session: SessionDep, principal: TokenDep, chosen: MatchIn) -> Any:
    """Make a project linking the need and the resource (党员接单); both become ``matched``."""
    feature = service.take_match(
        session,
        need_id=chosen.need,
        resource_id=chosen.resource,
        title=chosen.title,
        sheet=chosen.model_dump(include=set(service.SHEET), exclude_none=True),
        principal=principal,
    )
    return _created(feature)


@router.get(
    "/{item_id}",
    response_class=GeoJSONResponse,
    **documented(ItemFeature),
    summary="One list item",
)
def get_item(session: SessionDep, principal: PrincipalDep, item_id: RowId) -> Any:
    """One item as a GeoJSON Feature."""
    return GeoJSONResponse(service.get_item(session, item_id=item_id, principal=principal))


@router.patch(
    "/{item_id}",
    response_class=GeoJSONResponse,
    **documented(ItemFeature),
    summary="Change a list item",
)
def patch_item(session: SessionDep, principal: TokenDep, item_id: RowId, patch: ItemPatch) -> Any:
    """Change an item's fields, status or point."""
    lon = lat = None
    if patch.x is not None or patch.y is not None:
        if patch.x is None or patch.y is None:
            raise InvalidInput("give both x and y to move an item")
        lon, lat = to_wgs84(patch.x, patch.y, normalize_crs(patch.crs))
    return GeoJSONResponse(
        service.update_item(
            session,
            item_id=item_id,
            values=patch.model_dump(exclude={"x", "y", "crs"}, exclude_unset=True),
            lon=lon,
            lat=lat,
            principal=principal,
        )
    )


@router.delete("/{item_id}", status_code=204, summary="Remove a list item")
def delete_item(session: SessionDep, principal: TokenDep, item_id: RowId) -> Response:
    """Remove an item."""
    service.delete_item(session, item_id=item_id, principal=principal)
    return Response(status_code=204)


@router.post(
    "/{item_id}/assign",
    response_class=GeoJSONResponse,
    **documented(ItemFeature, 404, 409),
    summary="Assign a need, wish or project (支部派单)",
)
def assign(session: SessionDep, principal: TokenDep, item_id: RowId, body: AssignIn) -> Any:
    """Give an open or assigned item to a Party member serving in its community, a resident
    unit of its community, or its grid's team (a branch of its grid, or an office)."""
    return GeoJSONResponse(
        flow.assign(
            session,
            item_id=item_id,
            member_id=body.member_id,
            unit_id=body.unit_id,
            team=bool(body.team),
            note=body.note,
            principal=principal,
        )
    )


@router.post(
    "/{item_id}/claim",
    response_class=GeoJSONResponse,
    **documented(ItemFeature, 404, 409),
    summary="Claim a need, wish or project (党员接单)",
)
def claim(session: SessionDep, principal: TokenDep, item_id: RowId) -> Any:
    """A Party member's token takes an open item of a community the member serves in, or one
    assigned to the member; of two claims at once one wins, the other is told it is taken."""
    return GeoJSONResponse(flow.claim(session, item_id=item_id, principal=principal))


@router.post(
    "/{item_id}/complete",
    response_class=GeoJSONResponse,
    **documented(ItemFeature, 404, 409),
    summary="Report a need, wish or project done",
)
def complete(session: SessionDep, principal: TokenDep, item_id: RowId, body: CompleteIn) -> Any:
    """The member who took it (or its branch or an office on their behalf) reports it done with
    the hours served, which add to the member's total."""
    return GeoJSONResponse(
        flow.complete(
            session, item_id=item_id, report=body.report, hours=body.hours, principal=principal
        )
    )


@router.post(
    "/{item_id}/close",
    response_class=GeoJSONResponse,
    **documented(ItemFeature, 404, 409),
    summary="Close a need, wish or project",
)
def close(
    session: SessionDep, principal: TokenDep, item_id: RowId, body: CloseIn | None = None
) -> Any:
    """Close a done item (or withdraw an open or assigned one): its branch or an office."""
    note = body.note if body is not None else None
    return GeoJSONResponse(flow.close(session, item_id=item_id, note=note, principal=principal))
