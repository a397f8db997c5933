"""gridmap.services.lookup: the answer to "which grid is this point in", built in one place.

The FastAPI route and the fast path in front of it (:mod:`gridmap.fastpath`) both answer from
here, so their bodies cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gridmap.auth import Principal
from gridmap.live import Snapshot
from gridmap.queries import lookup as q


def from_memory(snap: Snapshot, lon: float, lat: float, principal: Principal) -> dict[str, Any]:
    """The grid, community, street and team at a WGS 84 point, from the in-memory grids.

    The team is masked unless ``principal`` may see the grid's personal data; a point in no
    grid raises :class:`gridmap.errors.OutsideGrids` with the nearest grid.
    """
    i = snap.locate_one(lon, lat)
    if i < 0:
        raise q.outside(lon, lat, snap.nearest(lon, lat), snap.around(lon, lat))
    grid = snap.grids[i]
    shown = principal.sees_personal_data(grid.code)
    return {
        **q.grid_answer(grid),
        "team": q.team_answer(snap.teams.get(grid.code, []), shown),
        "personal_data": "shown" if shown else "masked",
    }


def point_body(
    *,
    x: float,
    y: float,
    crs: str,
    lon: float,
    lat: float,
    answer: dict[str, Any],
    at: datetime | None = None,
) -> dict[str, Any]:
    """The body of a point lookup: the point as given (``x``, ``y`` in ``crs``) and in WGS 84
    (``lon``, ``lat``), the instant asked about, then ``answer``."""
    return {
        "point": {
            "lon": round(lon, 8),
            "lat": round(lat, 8),
            "crs": "EPSG:4326",
            "input": {"x": x, "y": y, "crs": crs},
        },
        **({"at": at.isoformat()} if at else {}),
        **answer,
    }


def answer_from_memory(
    snap: Snapshot, *, x: float, y: float, crs: str, lon: float, lat: float, principal: Principal
) -> dict[str, Any]:
    """The whole body of a point lookup answered from the in-memory grids."""
    return point_body(
        x=x, y=y, crs=crs, lon=lon, lat=lat, answer=from_memory(snap, lon, lat, principal)
    )
