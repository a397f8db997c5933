"""gridmap.api.services: service centres and their 15-minute circles; coverage of homes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from gridmap.dependencies import (
    PageDep,
    RegionQuery,
    RowId,
    SessionDep,
    TokenDep,
    ViewBBoxDep,
)
from gridmap.errors import InvalidInput
from gridmap.geo.crs import normalize_crs, to_wgs84
from gridmap.queries import circles as q
from gridmap.queries import service_coverage as cov
from gridmap.responses import GeoJSONResponse, created, documented
from gridmap.schemas.centres import (
    CenterFeature,
    CenterIn,
    CenterPatch,
    CentersPage,
    Circles,
    Coverage,
    Kind,
    Uncovered,
)
from gridmap.services import centres as service

router = APIRouter(tags=["service centres"])
# At most so many features of a layer read for a map view (all of them when not given).
Limit = Annotated[int | None, Query(ge=1, le=10_000, description="at most so many features")]


def _point(x: float | None, y: float | None, crs: str | None) -> tuple[float | None, float | None]:
    if x is None and y is None:
        return None, None
    if x is None or y is None:
        raise InvalidInput("give both x and y to move a centre")
    return to_wgs84(x, y, normalize_crs(crs))


@router.get(
    "/service-centers",
    response_class=GeoJSONResponse,
    **documented(CentersPage),
    summary="Service centres as GeoJSON",
)
def list_centers(
    session: SessionDep,
    page: PageDep,
    bbox: ViewBBoxDep,
    region: RegionQuery = None,
    kind: Kind | None = None,
) -> Any:
    """Party–mass service centres, red stations and convenience stations, with their circles
    (``bbox``: those in a map view)."""
    return page.answer(
        q.list_centers(
            session, region=region, kind=kind, limit=page.limit, offset=page.offset, bbox=bbox
        ),
        response_class=GeoJSONResponse,
    )


@router.post(
    "/service-centers",
    status_code=201,
    response_class=GeoJSONResponse,
    **documented(CenterFeature, status=201),
    summary="Add a service centre (its circles are computed at once)",
)
def create_center(
    request: Request, session: SessionDep, principal: TokenDep, center: CenterIn
) -> Any:
    """Add a centre at a point; its service circles are computed from the walking network."""
    lon, lat = _point(center.x, center.y, center.crs)
    center_id = service.save_center(
        session,
        principal=principal,
        center_id=None,
        values=center.model_dump(exclude={"x", "y", "crs"}),
        lon=lon,
        lat=lat,
        rules=q.circle_rules(request.app.state.settings.api),
    )
    return created(
        q.get_center(session, center_id=center_id), f"/api/v1/service-centers/{center_id}"
    )


@router.get(
    "/service-centers/{center_id}",
    response_class=GeoJSONResponse,
    **documented(CenterFeature),
    summary="One centre",
)
def get_center(session: SessionDep, center_id: RowId) -> Any:
    """One centre as a GeoJSON Feature."""
    return GeoJSONResponse(q.get_center(session, center_id=center_id))


@router.patch(
    "/service-centers/{center_id}",
    response_class=GeoJSONResponse,
    **documented(CenterFeature),
    summary="Change a centre",
)
def patch_center(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    center_id: RowId,
    patch: CenterPatch,
) -> Any:
    """Change a centre's fields or point; its circles are computed again."""
    lon, lat = _point(patch.x, patch.y, patch.crs)
    service.save_center(
        session,
        principal=principal,
        center_id=center_id,
        values=patch.model_dump(exclude={"x", "y", "crs"}, exclude_unset=True),
        lon=lon,
        lat=lat,
        rules=q.circle_rules(request.app.state.settings.api),
    )
    return GeoJSONResponse(q.get_center(session, center_id=center_id))


@router.delete("/service-centers/{center_id}", status_code=204, summary="Remove a centre")
def delete_center(session: SessionDep, principal: TokenDep, center_id: RowId) -> Response:
    """Remove a centre and its circles."""
    service.delete_center(session, center_id=center_id, principal=principal)
    return Response(status_code=204)


@router.get(
    "/service-circles",
    response_class=GeoJSONResponse,
    **documented(Circles),
    summary="Service circles as GeoJSON",
)
def list_circles(
    session: SessionDep,
    bbox: ViewBBoxDep,
    region: RegionQuery = None,
    minutes: Annotated[int | None, Query(ge=1, le=120)] = None,
    limit: Limit = None,
) -> Any:
    """Stored circles with their centre, method (``network``/``buffer``) and parameters
    (``bbox``: those reaching into a map view; ``limit``: at most so many)."""
    return GeoJSONResponse(
        q.list_circles(session, region=region, minutes=minutes, bbox=bbox, limit=limit)
    )


Minutes = Annotated[int | None, Query(ge=1, le=120, description="circles of this many minutes")]


@router.get(
    "/coverage",
    **documented(Coverage),
    summary="Homes inside the service circles, per grid/community/street",
)
def coverage(
    request: Request, session: SessionDep, region: RegionQuery = None, minutes: Minutes = None
) -> dict[str, Any]:
    """Buildings and households inside at least one circle, the share covered, per street,
    community and grid (exclusive grids too), and the uncovered buildings as GeoJSON."""
    m = minutes or request.app.state.settings.api.circle_minutes[0]
    return cov.coverage(session, region=region, minutes=m)


@router.get(
    "/coverage/uncovered",
    response_class=GeoJSONResponse,
    **documented(Uncovered),
    summary="Buildings outside every service circle",
)
def uncovered(
    request: Request,
    session: SessionDep,
    bbox: ViewBBoxDep,
    region: RegionQuery = None,
    minutes: Minutes = None,
    limit: Limit = None,
) -> Any:
    """Uncovered buildings, each with the nearest circle's centre and distance, for the map
    (``bbox``: those in a map view; ``limit``: at most so many)."""
    m = minutes or request.app.state.settings.api.circle_minutes[0]
    return GeoJSONResponse(cov.uncovered(session, region=region, minutes=m, bbox=bbox, limit=limit))
