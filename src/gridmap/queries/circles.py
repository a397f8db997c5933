"""gridmap.queries.circles: service centres and their 15-minute circles (pgRouting + shapely).

A centre's circle is computed from the walking network in the database: the centre is joined to
the nearest walkable street (a virtual start node with one edge to each end of that street), and
``pgr_drivingDistance`` gives every junction within the walk with its cost. The polygon is drawn
by :mod:`gridmap.geo.isochrone`. A centre with no walkable street within ``snap_m`` gets a plain
buffer, marked ``method = 'buffer'``. Circles are stored, with the method and parameters, and
recomputed whenever their centre changes, the road network is reloaded, or on request.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

import shapely
from shapely.geometry import LineString, MultiPolygon, Point

from gridmap.auth import Principal
from gridmap.errors import Conflict, InvalidInput, NotFound
from gridmap.geo.isochrone import (
    NOT_WALKABLE,
    CircleRules,
    around_point,
    point_buffer,
    street_polygon,
    walked_pieces,
)
from gridmap.geo.metric import transformer, utm_epsg
from gridmap.queries import feature_collection_sql, feature_page_sql
from gridmap.vocab.roles import GRID_EDITORS


def walkable(alias: str = "") -> str:
    """SQL condition: the ``road_edge`` row (``alias.``) is a street people walk along."""
    column = f"{alias}.highway" if alias else "highway"
    values = ", ".join(f"'{h}'" for h in NOT_WALKABLE)
    return f"({column} IS NULL OR {column} NOT IN ({values}))"


_NEAREST = f"""
SELECT e.id, e.source, e.target, e.length_m, ST_AsBinary(e.geom) AS wkb,
       ST_LineLocatePoint(e.geom, c.geom) AS f,
       ST_Distance(e.geom::geography, c.geom::geography) AS d
FROM road_edge e, (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom) c
WHERE {walkable("e")} AND e.length_m > 0 AND e.geom && ST_Expand(c.geom, :dx, :dy)
ORDER BY e.geom <-> c.geom
LIMIT 8
"""

# Every edge with a reached end, and the share of it walked from each end.
_REACHED = f"""
WITH dd AS (SELECT node, agg_cost FROM pgr_drivingDistance(:edges, -1, :budget, false)),
e AS (SELECT r.geom, r.length_m, s.agg_cost AS cs, t.agg_cost AS ct FROM road_edge r
      LEFT JOIN dd s ON s.node = r.source LEFT JOIN dd t ON t.node = r.target
      WHERE {walkable("r")} AND r.length_m > 0
        AND r.geom && ST_Expand(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :ex, :ey)
        AND (s.node IS NOT NULL OR t.node IS NOT NULL))
-- (LEAST and GREATEST skip NULLs: an end not reached is tested for first.)
SELECT ST_AsBinary(geom) AS wkb,
       CASE WHEN cs IS NULL THEN 0 ELSE greatest(0, least(1, (:budget - cs) / length_m)) END AS a,
       CASE WHEN ct IS NULL THEN 0 ELSE greatest(0, least(1, (:budget - ct) / length_m)) END AS b
FROM e
"""


def _apply(fn: Any, geom: Any) -> Any:
    # pyproj's transform takes and gives arrays: one call per geometry.
    return shapely.transform(geom, lambda xy: np.column_stack(fn(xy[:, 0], xy[:, 1])))


def circle_rules(api: Any, minutes: list[int] | None = None) -> list[CircleRules]:
    """The rules of the settings' circles (or of ``minutes``), one per number of minutes."""
    return [
        CircleRules(
            minutes=m,
            speed_kmh=api.walk_speed_kmh,
            snap_m=api.circle_snap_m,
            street_m=api.circle_street_m,
            hole_m2=api.circle_hole_m2,
            buffer_m=api.circle_buffer_m,
        )
        for m in (minutes or api.circle_minutes)
    ]


def _degrees(metres: float, lat: float) -> tuple[float, float]:
    return metres / (111_320.0 * math.cos(math.radians(lat))), metres / 110_540.0


def start_edges(
    conn: Connection | Session, *, lon: float, lat: float, snap_m: float, budget_m: float
) -> tuple[str, Any] | None:
    """pgRouting's edge query for a walk from a point, and the street it starts on.

    The point joins the network as node ``-1``, with an edge to each end of the nearest walkable
    street (the walk to the street plus the way along it); ``None`` when no walkable street lies
    within ``snap_m``.
    """
    dx, dy = _degrees(snap_m * 1.5, lat)
    near = conn.execute(text(_NEAREST), {"lon": lon, "lat": lat, "dx": dx, "dy": dy}).all()
    nearest = min(near, key=lambda r: r.d, default=None)
    if nearest is None or nearest.d > snap_m:
        return None
    along = nearest.f * nearest.length_m
    to_source = nearest.d + along
    to_target = nearest.d + nearest.length_m - along
    ex, ey = _degrees(budget_m, lat)
    # pgRouting reads the network with a query of its own: only numbers are written into it.
    edges = (
        "SELECT id, source, target, length_m AS cost, length_m AS reverse_cost FROM road_edge "
        f"WHERE {walkable()} AND length_m > 0 AND geom && ST_Expand(ST_SetSRID("
        f"ST_MakePoint({float(lon)!r}, {float(lat)!r}), 4326), {ex!r}, {ey!r}) "
        f"UNION ALL SELECT -1, -1, {int(nearest.source)}, {to_source!r}, {to_source!r} "
        f"UNION ALL SELECT -2, -1, {int(nearest.target)}, {to_target!r}, {to_target!r}"
    )
    return edges, nearest


def reach(
    conn: Connection | Session, *, lon: float, lat: float, rules: CircleRules
) -> dict[str, Any]:
    """The circle of a point: ``method``, ``params`` and ``geom`` (a lon/lat MultiPolygon)."""
    budget = rules.budget_m
    epsg = utm_epsg(lon, lat)
    there, back = transformer(4326, epsg), transformer(epsg, 4326)
    centre_m = Point(there.transform(lon, lat))

    def buffer(why: str) -> dict[str, Any]:
        geom_m = point_buffer(centre_m, rules.buffer_m)
        return {
            "method": "buffer",
            "params": {**rules.params("buffer"), "why": why},
            "geom": _apply(back.transform, geom_m),
        }

    start = start_edges(conn, lon=lon, lat=lat, snap_m=rules.snap_m, budget_m=budget)
    if start is None:
        return buffer(f"no walkable street within {rules.snap_m:g} m")
    edges, nearest = start
    if nearest.d >= budget:
        return buffer(f"the nearest street is {nearest.d:.0f} m away, beyond the walk")
    ex, ey = _degrees(budget, lat)
    rows = conn.execute(
        text(_REACHED),
        {"edges": edges, "budget": budget, "lon": lon, "lat": lat, "ex": ex, "ey": ey},
    ).all()
    project = there.transform
    lines = [
        (_apply(project, shapely.from_wkb(bytes(r.wkb))), float(r.a), float(r.b)) for r in rows
    ]
    pieces = walked_pieces(lines)
    street_m = _apply(project, shapely.from_wkb(bytes(nearest.wkb)))
    # From the centre to the street, then both ways along it.
    foot = street_m.interpolate(street_m.project(centre_m))
    if nearest.d > 0:
        pieces.append(LineString([centre_m, foot]))
    both_ways = around_point(street_m, foot, budget - nearest.d)
    if both_ways is not None:
        pieces.append(both_ways)
    walked = sum(p.length for p in pieces)
    if walked < budget:
        # Less street than one walk's length: the map holds a fragment here, not the network.
        return buffer(
            f"the nearest street ({nearest.d:.0f} m away) joins only {walked:.0f} m of "
            "walkable streets"
        )
    geom_m = street_polygon(pieces, street_m=rules.street_m, hole_m2=rules.hole_m2)
    geom = _apply(back.transform, geom_m)
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if not isinstance(geom, MultiPolygon):
        geom = MultiPolygon([g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon"])
    return {
        "method": "network",
        "params": {
            **rules.params("network"),
            "snapped_m": round(float(nearest.d), 1),
            "edges_walked": len(pieces),
            "walked_m": round(walked),
        },
        "geom": geom,
    }


def store_circle(
    conn: Connection | Session, *, center_id: int, rules: CircleRules
) -> dict[str, Any]:
    """Compute and store the circle of one centre (replacing one of the same minutes)."""
    center = conn.execute(
        text("SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM service_center WHERE id = :id"),
        {"id": center_id},
    ).one_or_none()
    if center is None:
        raise NotFound(f"no service centre {center_id}")
    circle = reach(conn, lon=center.lon, lat=center.lat, rules=rules)
    conn.execute(
        text(
            "INSERT INTO service_circle (center_id, minutes, method, params, computed_at, geom) "
            "VALUES (:c, :m, :method, CAST(:params AS jsonb), clock_timestamp(), "
            "ST_Multi(ST_GeomFromWKB(:wkb, 4326))) ON CONFLICT (center_id, minutes) DO UPDATE SET "
            "method = EXCLUDED.method, params = EXCLUDED.params, "
            "computed_at = EXCLUDED.computed_at, geom = EXCLUDED.geom"
        ),
        {
            "c": center_id,
            "m": rules.minutes,
            "method": circle["method"],
            "params": json.dumps(circle["params"]),
            "wkb": shapely.to_wkb(circle["geom"]),
        },
    )
    return circle


def rebuild(
    conn: Connection | Session,
    *,
    rules: list[CircleRules],
    region: str | None = None,
    progress: Callable[[int, int], None] = lambda _done, _total: None,
) -> dict[str, int]:
    """Recompute the circles of every centre (of ``region``); returns counts by method."""
    ids = list(
        conn.execute(
            text(
                "SELECT id FROM service_center WHERE CAST(:r AS text) IS NULL "
                "OR left(coalesce(region_code, ''), length(:r)) = :r ORDER BY id"
            ),
            {"r": region},
        ).scalars()
    )
    counts = {"centres": len(ids), "network": 0, "buffer": 0}
    for done, center_id in enumerate(ids, start=1):
        for r in rules:
            counts[store_circle(conn, center_id=center_id, rules=r)["method"]] += 1
        progress(done, len(ids))
    return counts


def ensure(
    conn: Connection | Session, *, rules: list[CircleRules], everything: bool
) -> dict[str, int]:
    """Compute the circles of every centre (``everything``) or only of centres lacking one."""
    if everything:
        return rebuild(conn, rules=rules)
    counts = {"centres": 0, "network": 0, "buffer": 0}
    for r in rules:
        missing = conn.execute(
            text(
                "SELECT s.id FROM service_center s WHERE NOT EXISTS (SELECT FROM service_circle c "
                "WHERE c.center_id = s.id AND c.minutes = :m) ORDER BY s.id"
            ),
            {"m": r.minutes},
        ).scalars()
        for center_id in missing:
            counts["centres"] += 1
            counts[store_circle(conn, center_id=center_id, rules=r)["method"]] += 1
    return counts


# --- service centres -------------------------------------------------------------------------

_CENTER_ROW = """
SELECT s.id, s.code, s.kind, s.name, s.opening_hours, s.address, s.region_code, s.source,
       (SELECT json_agg(json_build_object('minutes', c.minutes, 'method', c.method,
                                          'computed_at', c.computed_at) ORDER BY c.minutes)
        FROM service_circle c WHERE c.center_id = s.id) AS circles,
       s.geom
FROM service_center s
"""


def list_centers(
    session: Session, *, region: str | None, kind: str | None, limit: int, offset: int
) -> dict[str, Any]:
    """Service centres as GeoJSON, with the circles each has."""
    where = (
        " WHERE (CAST(:r AS text) IS NULL OR left(coalesce(s.region_code, ''), length(:r)) = :r)"
        " AND (CAST(:k AS text) IS NULL OR s.kind = :k)"
    )
    params = {"r": region, "k": kind, "limit": limit, "offset": offset}
    return feature_page_sql(
        session,
        rows=_CENTER_ROW,
        count="service_center s",
        where=where,
        params=params,
        order="s.code",
    )


def get_center(session: Session, *, center_id: int) -> dict[str, Any]:
    """One service centre as a GeoJSON Feature."""
    features = session.execute(
        text(feature_collection_sql(f"{_CENTER_ROW} WHERE s.id = :id")), {"id": center_id}
    ).scalar_one()
    if not features:
        raise NotFound(f"no service centre {center_id}")
    feature: dict[str, Any] = features[0]
    return feature


def _region_of(session: Session, lon: float, lat: float) -> str | None:
    code: str | None = session.execute(
        text(
            "SELECT code FROM region WHERE level = 'community' AND ST_Intersects(geom, "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) ORDER BY code LIMIT 1"
        ),
        {"lon": lon, "lat": lat},
    ).scalar_one_or_none()
    return code


def _require_office(principal: Principal, region: str | None, what: str) -> None:
    principal.require(what, roles=GRID_EDITORS, place=region)


def save_center(
    session: Session,
    *,
    principal: Principal,
    center_id: int | None,
    values: dict[str, Any],
    lon: float | None,
    lat: float | None,
    rules: list[CircleRules],
) -> int:
    """Create (``center_id`` None) or change a centre; its circles are computed again."""
    if lon is not None and lat is not None:
        values = {**values, "region_code": _region_of(session, lon, lat)}
        _require_office(principal, values["region_code"], "place service centres")
    if center_id is None:
        if lon is None or lat is None:
            raise InvalidInput("a new service centre needs a point (x, y)")
        taken = session.execute(
            text("SELECT 1 FROM service_center WHERE code = :c"), {"c": values["code"]}
        ).first()
        if taken:
            raise Conflict(f"service centre code {values['code']!r} is taken")
        center_id = session.execute(
            text(
                "INSERT INTO service_center (code, kind, name, opening_hours, address, "
                "region_code, source, geom) VALUES (:code, :kind, :name, :opening_hours, "
                ":address, :region_code, 'api', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) "
                "RETURNING id"
            ),
            {
                "opening_hours": None,
                "address": None,
                **values,
                "lon": lon,
                "lat": lat,
            },
        ).scalar_one()
    else:
        row = session.execute(
            text("SELECT region_code FROM service_center WHERE id = :id FOR UPDATE"),
            {"id": center_id},
        ).one_or_none()
        if row is None:
            raise NotFound(f"no service centre {center_id}")
        _require_office(principal, row.region_code, "change service centres")
        sets = [f"{k} = :{k}" for k in values]
        if lon is not None and lat is not None:
            sets.append("geom = ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)")
        if sets:
            session.execute(
                text(f"UPDATE service_center SET {', '.join(sets)} WHERE id = :id"),
                {**values, "lon": lon, "lat": lat, "id": center_id},
            )
    assert center_id is not None
    for r in rules:
        store_circle(session, center_id=center_id, rules=r)
    return int(center_id)


def delete_center(session: Session, *, center_id: int, principal: Principal) -> None:
    """Remove a centre and its circles."""
    region = session.execute(
        text("SELECT region_code FROM service_center WHERE id = :id FOR UPDATE"), {"id": center_id}
    ).one_or_none()
    if region is None:
        raise NotFound(f"no service centre {center_id}")
    _require_office(principal, region.region_code, "remove service centres")
    session.execute(text("DELETE FROM service_center WHERE id = :id"), {"id": center_id})


def list_circles(session: Session, *, region: str | None, minutes: int | None) -> dict[str, Any]:
    """Stored circles as GeoJSON, each with its centre, method and parameters."""
    features = session.execute(
        text(
            feature_collection_sql(
                "SELECT c.id, c.center_id, s.code AS center_code, s.name AS center_name, "
                "s.kind AS center_kind, c.minutes, c.method, c.params, c.computed_at, "
                "round((ST_Area(c.geom::geography) / 1e6)::numeric, 4)::float8 AS area_km2, "
                "c.geom FROM service_circle c JOIN service_center s ON s.id = c.center_id "
                "WHERE (CAST(:r AS text) IS NULL "
                "OR left(coalesce(s.region_code, ''), length(:r)) = :r) "
                "AND (CAST(:m AS int) IS NULL OR c.minutes = :m)",
                order_by="id",
            )
        ),
        {"r": region, "m": minutes},
    ).scalar_one()
    return {"type": "FeatureCollection", "numberReturned": len(features), "features": features}
