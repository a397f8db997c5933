"""gridmap.queries.lookup: which grid, community and street a point is in.

Border rule: a point on the shared border of two grids (or on a vertex several grids share)
belongs to the grid with the lowest code. Every path that assigns points to grids (this lookup,
the loader, bulk assignment) applies the same rule, so the same point always gets the same grid.

The test runs against ``grid_piece``: each grid cut by ``ST_Subdivide`` into pieces of at most 64
vertices, rebuilt by a trigger whenever a grid's geometry is written. The GiST index then narrows
a lookup to one or two small pieces, where testing a whole grid would walk all its vertices.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.errors import OutsideGrids
from gridmap.privacy import mask_name, mask_phone

# One round trip: the grid and the names of its community, street and district.
_GRID_AT = """
SELECT g.code, g.name, g.kind, g.subtype, g.version, g.community_code,
       c.name AS community_name, s.code AS street_code, s.name AS street_name,
       d.code AS district_code, d.name AS district_name
FROM grid_piece p
JOIN grid g ON g.id = p.grid_id
JOIN region c ON c.code = g.community_code
LEFT JOIN region s ON s.code = c.parent_code
LEFT JOIN region d ON d.code = s.parent_code
WHERE g.valid_to IS NULL
  AND ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
ORDER BY g.code
LIMIT 1
"""

_REGIONS_AT = """
SELECT r.code, r.level, r.name FROM region r
WHERE r.geom && ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)
  AND ST_Intersects(r.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
ORDER BY r.level, r.code
"""

_NEAREST = """
SELECT g.code, g.name,
       ST_Distance(g.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)
           AS distance_m
FROM grid g
WHERE g.valid_to IS NULL
ORDER BY g.geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), g.code
LIMIT 5
"""


def _named(code: str | None, name: str | None) -> dict[str, str] | None:
    return {"code": code, "name": name} if code is not None and name is not None else None


def lookup_point(
    session: Session,
    *,
    lon: float,
    lat: float,
    show_personal: Callable[[str], bool] = lambda _code: False,
) -> dict[str, Any]:
    """The grid, community, street, district and team at a WGS84 point.

    ``show_personal(grid_code)`` says whether the caller may see the team's names and phones.
    """
    params = {"lon": lon, "lat": lat}
    grid = session.execute(text(_GRID_AT), params).one_or_none()
    if grid is None:
        regions = {
            r.level: {"code": r.code, "name": r.name}
            for r in session.execute(text(_REGIONS_AT), params)
        }
        # KNN on the bounding boxes finds candidates; exact geodesic distance picks among them.
        near = sorted(session.execute(text(_NEAREST), params).all(), key=lambda r: r.distance_m)
        nearest = (
            {
                "code": near[0].code,
                "name": near[0].name,
                "distance_m": round(float(near[0].distance_m), 1),
            }
            if near
            else None
        )
        raise OutsideGrids(
            f"the point ({lon:.6f}, {lat:.6f}) lies in no grid"
            + (
                f"; the nearest is {nearest['code']} at {nearest['distance_m']} m"
                if nearest
                else ""
            ),
            lon=lon,
            lat=lat,
            nearest_grid=nearest,
            community=regions.get("community"),
            street=regions.get("street"),
            district=regions.get("district"),
        )
    shown = show_personal(grid.code)
    team = [
        {
            "role": r.role,
            "name": r.name if shown else mask_name(r.name),
            "phone": r.phone if shown else mask_phone(r.phone),
        }
        for r in session.execute(
            text(
                "SELECT role, name, phone FROM grid_staff WHERE grid_code = :code "
                "ORDER BY array_position(ARRAY['leader','worker','guide','police','mediator',"
                "'safety','volunteer']::text[], role::text), id"
            ),
            {"code": grid.code},
        )
    ]
    return {
        "grid": {
            "code": grid.code,
            "name": grid.name,
            "kind": grid.kind,
            "subtype": grid.subtype,
            "version": grid.version,
        },
        "community": _named(grid.community_code, grid.community_name),
        "street": _named(grid.street_code, grid.street_name),
        "district": _named(grid.district_code, grid.district_name),
        "team": team,
        "personal_data": "shown" if shown else "masked",
    }
