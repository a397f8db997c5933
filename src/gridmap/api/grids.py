"""gridmap.api.grids: grids as GeoJSON Features."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from gridmap.dependencies import BBoxDep, PageDep, SessionDep
from gridmap.queries import grids as q
from gridmap.responses import GeoJSONResponse

router = APIRouter(prefix="/grids", tags=["grids"])


@router.get("", response_class=GeoJSONResponse, summary="Current grids as GeoJSON")
def list_grids(
    session: SessionDep,
    page: PageDep,
    bbox: BBoxDep,
    community: Annotated[str | None, Query(pattern=r"^[0-9]{12}$")] = None,
    street: Annotated[str | None, Query(pattern=r"^[0-9]{9}$")] = None,
    kind: Literal["basic", "exclusive"] | None = None,
) -> Any:
    """Current grids, filtered by community, street, kind and bbox, paged."""
    return GeoJSONResponse(
        q.list_grids(
            session,
            community=community,
            street=street,
            kind=kind,
            bbox=bbox,
            limit=page.limit,
            offset=page.offset,
        )
    )


@router.get("/{code}", response_class=GeoJSONResponse, summary="One grid")
def get_grid(
    session: SessionDep,
    code: Annotated[str, Path(pattern=r"^[0-9]{14,15}$", description="grid code")],
) -> Any:
    """The current version of one grid."""
    return GeoJSONResponse(q.get_grid(session, code=code))
