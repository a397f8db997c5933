"""gridmap.queries.service_coverage: homes inside and outside the 15-minute service circles.

A building counts as covered when a point on its surface lies in at least one stored circle of
the given minutes; its households are those recorded for it (or the number on the building where
none are). Figures come per grid (basic and exclusive), community and street, with the uncovered
buildings as GeoJSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, column, exists, func, select, text
from sqlalchemy.orm import Session

from gridmap.errors import InvalidInput
from gridmap.models import Grid, Region, ServiceCircle
from gridmap.queries import feature_collection

_c = cast(Table, ServiceCircle.__table__)
_g = cast(Table, Grid.__table__)
_r = cast(Table, Region.__table__)

_BUILDINGS = """
WITH circles AS (SELECT c.geom, c.center_id FROM service_circle c WHERE c.minutes = :m),
b AS (
    SELECT b.id, b.code, b.address, b.grid_code,
           coalesce(b.community_code, left(b.grid_code, 12)) AS community_code,
           coalesce(nullif((SELECT count(*) FROM household h WHERE h.building_id = b.id), 0),
                    b.households) AS households,
           EXISTS (SELECT FROM circles c WHERE ST_Intersects(c.geom, ST_PointOnSurface(b.geom)))
               AS covered,
           b.geom
    FROM building b
    {where}
)
"""
_IN_REGION = "left(coalesce(b.community_code, b.grid_code, ''), length(:r)) = :r"
_IN_BOX = "b.geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326)"


def _buildings(region: str | None, *, in_box: bool = False) -> str:
    """The region's buildings (all without one; those meeting the box ``:west``…``:north``
    when ``in_box``), each with its households and whether a circle of ``:m`` minutes covers it,
    as the CTE ``b`` (and ``circles``)."""
    terms = ([_IN_REGION] if region is not None else []) + ([_IN_BOX] if in_box else [])
    return _BUILDINGS.format(where=("WHERE " + " AND ".join(terms)) if terms else "")


_UNCOVERED = """
SELECT b.id, b.code, b.address, b.grid_code, b.community_code, b.households,
       n.center_id AS nearest_center_id, n.name AS nearest_center,
       round(ST_Distance(b.geom::geography, n.geom::geography)::numeric, 0)::float8
           AS metres_to_nearest_circle,
       b.geom
FROM b
LEFT JOIN LATERAL (SELECT c.center_id, s.name, c.geom FROM circles c
                   JOIN service_center s ON s.id = c.center_id
                   ORDER BY c.geom <-> b.geom LIMIT 1) n ON true
WHERE NOT b.covered
"""
_UNCOVERED_COLUMNS = (
    "id",
    "code",
    "address",
    "grid_code",
    "community_code",
    "households",
    "nearest_center_id",
    "nearest_center",
    "metres_to_nearest_circle",
    "geom",
)


def minutes_available(session: Session) -> list[int]:
    """The numbers of minutes for which circles are stored."""
    return list(session.execute(select(_c.c.minutes).distinct().order_by(_c.c.minutes)).scalars())


def _check_minutes(session: Session, minutes: int) -> None:
    have = minutes_available(session)
    if minutes not in have:
        raise InvalidInput(
            f"no {minutes}-minute circles are stored"
            + (f" (there are: {', '.join(map(str, have))})" if have else "")
            + f"; run `gridmap circles rebuild --minutes {minutes}`",
            minutes_available=have,
        )


def _share(row: dict[str, Any]) -> float | None:
    if row["households"]:
        return round(float(row["households_covered"]) / float(row["households"]), 4)
    if row["buildings"]:
        return round(float(row["buildings_covered"]) / float(row["buildings"]), 4)
    return None


def uncovered(
    session: Session,
    *,
    region: str | None,
    minutes: int,
    bbox: tuple[float, float, float, float] | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Buildings outside every circle, with the nearest circle's centre and distance; with
    ``bbox`` those in a map view, and at most ``limit`` of them by code (``numberMatched`` says
    how many there are)."""
    _check_minutes(session, minutes)
    params: dict[str, Any] = {"m": minutes}
    if region is not None:
        params["r"] = region
    if bbox is not None:
        params.update(zip(("west", "south", "east", "north"), bbox, strict=True))
    # Kept as SQL: a point-in-circles test per building and a LATERAL nearest circle (KNN ``<->``)
    # for each uncovered one, as the planner runs them.
    rows = (
        text(_buildings(region, in_box=bbox is not None) + _UNCOVERED)
        .bindparams(**params)
        .columns(*(column(c) for c in _UNCOVERED_COLUMNS))
        .subquery("uncovered")
    )
    matched = session.execute(select(func.count()).select_from(rows)).scalar_one()
    chosen = select(rows).order_by(rows.c.code)
    if limit is not None:
        chosen = chosen.limit(limit)
    features = session.execute(feature_collection(chosen, order_by="code")).scalar_one()
    return {
        "type": "FeatureCollection",
        "minutes": minutes,
        "numberMatched": matched,
        "numberReturned": len(features),
        "features": features,
    }


def _centres_reaching(minutes: int, region: str | None) -> list[ColumnElement[bool]]:
    """Circles of ``minutes`` that reach into ``region`` (all of them without a region)."""
    where: list[ColumnElement[bool]] = [_c.c.minutes == minutes]
    if region is not None:
        where.append(exists().where(_r.c.code == region, func.ST_Intersects(_r.c.geom, _c.c.geom)))
    return where


def coverage(session: Session, *, region: str | None, minutes: int) -> dict[str, Any]:
    """Coverage figures per street, community and grid, and the uncovered buildings."""
    _check_minutes(session, minutes)
    params = {"r": region, "m": minutes}
    names_at = select(_r.c.code, _r.c.name)
    grids_at = select(_g.c.code, _g.c.name, _g.c.kind, _g.c.subtype).where(_g.c.valid_to.is_(None))
    if region is not None:
        # The region, what it lies in and what lies in it.
        names_at = names_at.where(
            _r.c.code.startswith(region) | (func.left(region, func.length(_r.c.code)) == _r.c.code)
        )
        grids_at = grids_at.where(_g.c.code.startswith(region))
    names = {r.code: r.name for r in session.execute(names_at)}
    grids = {r.code: r for r in session.execute(grids_at)}

    # One pass over the region's buildings; every level's figures are sums of the same rows.
    # Kept as SQL: the same point-in-circles test per building as the uncovered buildings'.
    buildings = session.execute(
        text(_buildings(region) + "SELECT grid_code, community_code, households, covered FROM b"),
        params,
    ).all()
    keys = ("buildings", "buildings_covered", "households", "households_covered")

    def figures(rows: list[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "buildings": len(rows),
            "buildings_covered": sum(1 for r in rows if r.covered),
            "households": sum(int(r.households or 0) for r in rows),
            "households_covered": sum(int(r.households or 0) for r in rows if r.covered),
        }
        out["share"] = _share(out)
        return out

    def rows(key: Callable[[Any], str | None]) -> list[dict[str, Any]]:
        groups: dict[str, list[Any]] = {}
        for r in buildings:
            k = key(r)
            if k is not None:
                groups.setdefault(k, []).append(r)
        return [{"code": k, **figures(groups[k])} for k in sorted(groups)]

    by_grid = []
    for row in rows(lambda r: r.grid_code):
        g = grids.get(row["code"])
        by_grid.append(
            {
                **row,
                "name": g.name if g else None,
                "kind": g.kind if g else None,
                "subtype": g.subtype if g else None,
            }
        )
    exclusive = [g for g in by_grid if g["kind"] == "exclusive"]
    totals = figures(list(buildings))
    excl_totals: dict[str, Any] = {k: sum(g[k] for g in exclusive) for k in keys}
    excl_totals["share"] = _share(excl_totals)
    return {
        "region": region,
        "minutes": minutes,
        # Centres whose circle reaches into the region (all of them without a region).
        "centres": session.execute(
            select(func.count()).select_from(_c).where(*_centres_reaching(minutes, region))
        ).scalar_one(),
        "totals": totals,
        "streets": [
            {**r, "name": names.get(r["code"])}
            for r in rows(lambda r: r.community_code[:9] if r.community_code else None)
        ],
        "communities": [
            {**r, "name": names.get(r["code"])} for r in rows(lambda r: r.community_code)
        ],
        "grids": by_grid,
        "exclusive_grids": {"totals": excl_totals, "grids": exclusive},
        "uncovered": uncovered(session, region=region, minutes=minutes),
    }
