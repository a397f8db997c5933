"""gridmap.queries.lookup: which grid, community and street a point is in — from PostGIS.

Border rule: a point on the shared border of two grids (or on a vertex several grids share)
belongs to the grid with the lowest code. Every path that assigns points to grids (this lookup,
the in-memory lookup of :mod:`gridmap.live`, the loader, bulk assignment) applies the same rule,
so the same point always gets the same grid.

This is the path for ``?at=`` (grids as they were) and the fallback when the in-memory copy is
not available. It tests ``grid_piece``: each grid version cut by ``ST_Subdivide`` into pieces of
at most 64 vertices, rebuilt by a trigger whenever a grid's geometry is written. The GiST index
then narrows a lookup to one or two small pieces, where testing a whole grid would walk all its
vertices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from typing import cast as cast_type

from sqlalchemy import ColumnElement, Table, case, select, text
from sqlalchemy.orm import Session

from gridmap.errors import OutsideGrids
from gridmap.models import GridStaff, Person
from gridmap.privacy import mask_name, mask_phone
from gridmap.vocab.roles import STAFF_ROLES

# Current versions (False), or the versions valid at :at (True).
_VALID = {
    False: "g.valid_to IS NULL",
    True: "g.valid_from <= :at AND (g.valid_to IS NULL OR g.valid_to > :at)",
}

_GRID_FIELDS = """g.code, g.name, g.kind, g.subtype, g.version, g.community_code,
       c.name AS community_name, s.code AS street_code, s.name AS street_name,
       d.code AS district_code, d.name AS district_name"""

_NAMES = """JOIN region c ON c.code = g.community_code
LEFT JOIN region s ON s.code = c.parent_code
LEFT JOIN region d ON d.code = s.parent_code"""

# One round trip: the grid and the names of its community, street and district.
_GRID_AT = {
    dated: f"""
SELECT {_GRID_FIELDS}
FROM grid_piece p
JOIN grid g ON g.id = p.grid_id
{_NAMES}
WHERE {_VALID[dated]}
  AND ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
ORDER BY g.code
LIMIT 1
"""
    for dated in (False, True)
}

_GRIDS_AT = {
    dated: f"""
SELECT pt.i, {_GRID_FIELDS}
FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY AS pt(lon, lat, i)
LEFT JOIN LATERAL (
    SELECT g.* FROM grid_piece p JOIN grid g ON g.id = p.grid_id
    WHERE {_VALID[dated]}
      AND ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(pt.lon, pt.lat), 4326))
    ORDER BY g.code LIMIT 1) g ON true
LEFT {_NAMES}
ORDER BY pt.i
"""
    for dated in (False, True)
}

_REGIONS_AT = """
SELECT r.code, r.level, r.name FROM region r
WHERE r.geom && ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)
  AND ST_Intersects(r.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
ORDER BY r.level, r.code
"""

# KNN on the bounding boxes (the index orders by it alone); exact distance re-ranks in Python.
_NEAREST = {
    dated: f"""
SELECT g.code, g.name,
       ST_Distance(g.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)
           AS distance_m
FROM grid g
WHERE {_VALID[dated]}
ORDER BY g.geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)
LIMIT 5
"""
    for dated in (False, True)
}


_staff = cast_type(Table, GridStaff.__table__)
_person = cast_type(Table, Person.__table__)


def staff_order(role: ColumnElement[str]) -> ColumnElement[int]:
    """A team's order: by :data:`gridmap.vocab.roles.STAFF_ROLES` (leader first), unknown roles
    last."""
    return case({r: i for i, r in enumerate(STAFF_ROLES, 1)}, value=role)


def named(code: str | None, name: str | None) -> dict[str, str] | None:
    """``{"code", "name"}``, or None when either is missing."""
    return {"code": code, "name": name} if code is not None and name is not None else None


def grid_answer(grid: Any) -> dict[str, Any]:
    """The grid, community, street and district of a lookup, from a row with the grid fields."""
    return {
        "grid": {
            "code": grid.code,
            "name": grid.name,
            "kind": grid.kind,
            "subtype": grid.subtype,
            "version": grid.version,
        },
        "community": named(grid.community_code, grid.community_name),
        "street": named(grid.street_code, grid.street_name),
        "district": named(grid.district_code, grid.district_name),
    }


def team_answer(rows: Sequence[Any], shown: bool) -> list[dict[str, Any]]:
    """A grid team, masked unless ``shown``."""
    return [
        {
            "role": r.role,
            "name": r.name if shown else mask_name(r.name),
            "phone": r.phone if shown else mask_phone(r.phone),
        }
        for r in rows
    ]


def outside(
    lon: float,
    lat: float,
    nearest: dict[str, Any] | None,
    regions: dict[str, dict[str, str]],
) -> OutsideGrids:
    """The 404 of a point in no grid, with the nearest grid and the regions around it."""
    return OutsideGrids(
        f"the point ({lon:.6f}, {lat:.6f}) lies in no grid"
        + (f"; the nearest is {nearest['code']} at {nearest['distance_m']} m" if nearest else ""),
        lon=lon,
        lat=lat,
        nearest_grid=nearest,
        community=regions.get("community"),
        street=regions.get("street"),
        district=regions.get("district"),
    )


def team_rows(session: Session, code: str) -> list[Any]:
    """The staff of a grid, leader first."""
    return list(
        session.execute(
            select(_staff.c.role, _person.c.name, _person.c.phone)
            .join(_person, _person.c.id == _staff.c.person_id)
            .where(_staff.c.grid_code == code)
            .order_by(staff_order(_staff.c.role), _staff.c.id)
        )
    )


def lookup_point(
    session: Session,
    *,
    lon: float,
    lat: float,
    at: datetime | None = None,
    show_personal: Callable[[str], bool] = lambda _code: False,
) -> dict[str, Any]:
    """The grid, community, street, district and team at a WGS84 point (as of ``at``).

    ``show_personal(grid_code)`` says whether the caller may see the team's names and phones.
    """
    params = {"lon": lon, "lat": lat, "at": at}
    dated = at is not None
    # Kept as SQL: the point test runs on the subdivided pieces (grid_piece) through their GiST
    # index, then joins the names, in one round trip; the planner needs it written out.
    grid = session.execute(text(_GRID_AT[dated]), params).one_or_none()
    if grid is None:
        regions = {
            r.level: {"code": r.code, "name": r.name}
            # Kept as SQL: a spatial test (ST_Intersects) behind a bounding-box filter.
            for r in session.execute(text(_REGIONS_AT), params)
        }
        near = sorted(
            # Kept as SQL: a KNN (<->) order the GiST index answers, geodesic distances.
            session.execute(text(_NEAREST[dated]), params).all(),
            key=lambda r: (r.distance_m, r.code),
        )
        nearest = (
            {
                "code": near[0].code,
                "name": near[0].name,
                "distance_m": round(float(near[0].distance_m), 1),
            }
            if near
            else None
        )
        raise outside(lon, lat, nearest, regions)
    shown = show_personal(grid.code)
    return {
        **grid_answer(grid),
        "team": team_answer(team_rows(session, grid.code), shown),
        "personal_data": "shown" if shown else "masked",
    }


def lookup_points(
    session: Session, *, lons: Sequence[float], lats: Sequence[float], at: datetime | None = None
) -> list[dict[str, Any] | None]:
    """The grid, community, street and district of each point, in order (None: in no grid)."""
    rows = session.execute(
        # Kept as SQL: unnest the points and test each against grid_piece in a LATERAL join.
        text(_GRIDS_AT[at is not None]),
        {"lons": list(lons), "lats": list(lats), "at": at},
    ).all()
    return [grid_answer(r) if r.code is not None else None for r in rows]
