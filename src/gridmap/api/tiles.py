"""gridmap.api.tiles: vector tiles of regions, grids, buildings, incidents and roads, one layer or
all of them in one tile, and their TileJSON."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from gridmap.dependencies import ReadSessionDep, SessionDep, on_replica
from gridmap.queries import tiles as q
from gridmap.responses import MVTResponse

router = APIRouter(prefix="/tiles", tags=["tiles"])

Layer = Literal["all", "regions", "grids", "buildings", "incidents", "roads"]


@router.get(
    "/{layer}.json", summary="TileJSON of a layer, or of all (its tile URL carries the version)"
)
def tilejson(request: Request, session: ReadSessionDep, layer: Layer) -> dict[str, Any]:
    """TileJSON 3.0.0 with each layer's fields; fetch it again after an edit to get tile URLs of
    the new version. ``all`` lists every layer, served together in one tile."""
    return q.tilejson(session, layer=layer, base_url=str(request.base_url))


@router.get(
    "/{layer}/{z}/{x}/{y}.mvt",
    response_class=MVTResponse,
    summary="One vector tile (ST_AsMVT); all: every layer in one tile",
)
def tile(
    session: ReadSessionDep,
    primary: SessionDep,
    layer: Layer,
    z: Annotated[int, Path(ge=0, le=q.MAX_ZOOM)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
    v: Annotated[
        int | None, Query(ge=0, le=2**63 - 1, description="the layer version of TileJSON")
    ] = None,
) -> MVTResponse:
    """A tile of ``layer``; with the current ``v`` it may be cached for good, else not at all.

    Read from the replica when there is one, except a tile whose generalised copy must first be
    rebuilt, which the primary builds; its version is read from the same database as its data.
    """
    if on_replica(session) and q.needs_refresh(session, layer=layer, z=z):
        session = primary
    if layer == "all":
        data = q.all_tile(session, z=z, x=x, y=y)
    else:
        data = q.tile(session, layer=layer, z=z, x=x, y=y)
    current = v is not None and v == q.current_version(session, layer)
    cache = "public, max-age=31536000, immutable" if current else "no-cache"
    return MVTResponse(content=data, headers={"Cache-Control": cache})
