"""gridmap.api.regions: the district → street → community hierarchy."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from gridmap.dependencies import PageDep, SessionDep
from gridmap.queries import regions as q
from gridmap.responses import GeoJSONResponse

router = APIRouter(prefix="/regions", tags=["regions"])

CodePath = Annotated[
    str,
    Path(
        pattern=r"^[0-9]{6}([0-9]{3}([0-9]{3})?)?$", description="6-, 9- or 12-digit division code"
    ),
]


@router.get("", response_class=GeoJSONResponse, summary="Regions as GeoJSON")
def list_regions(
    session: SessionDep,
    page: PageDep,
    level: Literal["district", "street", "community"] | None = None,
    parent: Annotated[str | None, Query(pattern=r"^[0-9]{6}([0-9]{3})?$")] = None,
    geometry: bool = True,
    simplify: Annotated[float, Query(ge=0, le=0.01, description="tolerance in degrees")] = 0.0,
) -> Any:
    """Regions, filtered by level and parent, paged with ``limit``/``offset``."""
    return GeoJSONResponse(
        q.list_regions(
            session,
            level=level,
            parent=parent,
            limit=page.limit,
            offset=page.offset,
            with_geometry=geometry,
            simplify=simplify,
        )
    )


@router.get("/{code}", response_class=GeoJSONResponse, summary="One region")
def get_region(session: SessionDep, code: CodePath) -> Any:
    """One region as a Feature, with the codes of its children."""
    return GeoJSONResponse(q.get_region(session, code=code))
