"""gridmap.api.lookup: which grid is this point in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gridmap.dependencies import CRSDep, PrincipalDep, SessionDep
from gridmap.geo.crs import to_wgs84
from gridmap.queries.lookup import lookup_point

router = APIRouter(prefix="/lookup", tags=["lookup"])


@router.get("", summary="The grid, community, street and team at a point")
def lookup(
    session: SessionDep,
    principal: PrincipalDep,
    crs: CRSDep,
    lon: Annotated[float, Query(description="longitude (or x in EPSG:3857)")],
    lat: Annotated[float, Query(description="latitude (or y in EPSG:3857)")],
) -> Any:
    """Answer with the grid at the point; ``404`` with the nearest grid when it lies in none.

    A point on the border of two grids belongs to the one with the lowest code. The team's names
    and phones are shown to a token whose role and region cover the grid, masked to others.
    """
    wlon, wlat = to_wgs84(lon, lat, crs)
    answer = lookup_point(session, lon=wlon, lat=wlat, show_personal=principal.sees_personal_data)
    return {
        "point": {
            "lon": round(wlon, 8),
            "lat": round(wlat, 8),
            "crs": "EPSG:4326",
            "input": {"x": lon, "y": lat, "crs": crs},
        },
        **answer,
    }
