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
from gridmap.errors import InvalidInput
from gridmap.geo.crs import normalize_crs, to_wgs84
from gridmap.queries.circles import circle_rules
from gridmap.queries.lists import ItemFilter
from gridmap.responses import GeoJSONResponse, created, documented
from gridmap.schemas.lists import (
    ItemFeature,
    ItemIn,
    ItemPatch,
    ItemsPage,
    Matches,
    MatchIn,
    Status,
)
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
) -> Any:
    """Items of the three lists, filtered (``bbox``: those in a map view); contacts masked
    unless the token may see them."""
    return GeoJSONResponse(
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
            ),
            limit=page.limit,
            offset=page.offset,
        )
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
