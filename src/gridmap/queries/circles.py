"""gridmap.queries.circles: service centres and their 15-minute circles (pgRouting + shapely).

A centre joins the walking network at its nearest walkable street (a virtual start node with one
edge to each end of that street). :mod:`gridmap.services.circles` walks from many centres at once
over the network read from here; :func:`pgrouting_reach` draws one centre's circle with a
``pgr_drivingDistance`` call of its own, the reference the walk is held to. The polygon is drawn
by :mod:`gridmap.geo.isochrone`. A centre with no walkable street within ``snap_m`` gets a plain
buffer, marked ``method = 'buffer'``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Numeric,
    Table,
    delete,
    exists,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy import cast as cast_
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

import shapely
from shapely.geometry import MultiPolygon, Point

from gridmap.errors import NotFound
from gridmap.geo.isochrone import NOT_WALKABLE, CircleRules, Walk, point_buffer, walk_area
from gridmap.geo.metric import transformer, utm_epsg
from gridmap.models import Region, ServiceCenter, ServiceCircle
from gridmap.queries import feature_collection, feature_page, one_feature

_s = cast(Table, ServiceCenter.__table__)
_c = cast(Table, ServiceCircle.__table__)
_r = cast(Table, Region.__table__)


Box = tuple[float, float, float, float]


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
    # Kept as SQL: a nearest-edges (KNN ``<->``) scan behind a bounding-box test.
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


def buffer_circle(rules: CircleRules, *, lon: float, lat: float, why: str) -> dict[str, Any]:
    """The plain circle of ``rules.buffer_m`` around a point, saying ``why`` it is one."""
    epsg = utm_epsg(lon, lat)
    centre_m = Point(transformer(4326, epsg).transform(lon, lat))
    geom_m = point_buffer(centre_m, rules.buffer_m)
    return {
        "method": "buffer",
        "params": {**rules.params("buffer"), "why": why},
        "geom": _apply(transformer(epsg, 4326).transform, geom_m),
    }


def why_no_walk(rules: CircleRules, *, nearest: Any) -> str | None:
    """Why no walk starts from a point whose nearest street is ``nearest`` (none within
    ``snap_m``, or beyond the walk); ``None`` when one does."""
    if nearest is None or nearest.d > rules.snap_m:
        return f"no walkable street within {rules.snap_m:g} m"
    if nearest.d >= rules.budget_m:
        return f"the nearest street is {nearest.d:.0f} m away, beyond the walk"
    return None


def finish(
    rules: CircleRules, *, lon: float, lat: float, nearest: Any, walk: Walk
) -> dict[str, Any]:
    """The stored form of a walk's circle (``method``, ``params``, a lon/lat ``geom``), or the
    buffer when the streets walked are a fragment of a map."""
    if walk.area is None:
        return buffer_circle(
            rules,
            lon=lon,
            lat=lat,
            why=f"the nearest street ({nearest.d:.0f} m away) joins only {walk.walked_m:.0f} m of "
            "walkable streets",
        )
    geom = _apply(transformer(utm_epsg(lon, lat), 4326).transform, walk.area)
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if not isinstance(geom, MultiPolygon):
        geom = MultiPolygon([g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon"])
    return {
        "method": "network",
        "params": {
            **rules.params("network"),
            "snapped_m": round(float(nearest.d), 1),
            "edges_walked": len(walk.pieces),
            "walked_m": round(walk.walked_m),
        },
        "geom": geom,
    }


def pgrouting_reach(
    conn: Connection | Session, *, lon: float, lat: float, rules: CircleRules
) -> dict[str, Any]:
    """The circle of a point with one ``pgr_drivingDistance`` call of its own: the reference
    the in-memory walk (:mod:`gridmap.services.circles`) is held to, and the way circles were
    drawn before it."""
    budget = rules.budget_m
    start = start_edges(conn, lon=lon, lat=lat, snap_m=rules.snap_m, budget_m=budget)
    why = why_no_walk(rules, nearest=None if start is None else start[1])
    if start is None or why is not None:
        return buffer_circle(rules, lon=lon, lat=lat, why=why or "")
    edges, nearest = start
    ex, ey = _degrees(budget, lat)
    # Kept as SQL: pgr_drivingDistance over the edge query built above, joined back to the edges.
    rows = conn.execute(
        text(_REACHED),
        {"edges": edges, "budget": budget, "lon": lon, "lat": lat, "ex": ex, "ey": ey},
    ).all()
    project = transformer(4326, utm_epsg(lon, lat)).transform
    lines = [
        (_apply(project, shapely.from_wkb(bytes(r.wkb))), float(r.a), float(r.b)) for r in rows
    ]
    walk = walk_area(
        lines,
        street=_apply(project, shapely.from_wkb(bytes(nearest.wkb))),
        centre=Point(project(lon, lat)),
        snapped_m=float(nearest.d),
        rules=rules,
    )
    return finish(rules, lon=lon, lat=lat, nearest=nearest, walk=walk)


def pgrouting_reached(
    conn: Connection | Session, *, lon: float, lat: float, rules: CircleRules
) -> dict[int, float]:
    """The junctions ``pgr_drivingDistance`` reaches from a point, with their costs (empty
    when the point gets a buffer)."""
    start = start_edges(conn, lon=lon, lat=lat, snap_m=rules.snap_m, budget_m=rules.budget_m)
    if start is None or start[1].d >= rules.budget_m:
        return {}
    rows = conn.execute(
        text("SELECT node, agg_cost FROM pgr_drivingDistance(:edges, -1, :budget, false)"),
        {"edges": start[0], "budget": rules.budget_m},
    ).all()
    return {int(r.node): float(r.agg_cost) for r in rows if r.node >= 0}


# Up to 8 walkable streets nearest each point (KNN), with the point's distance to each.
_NEAREST_MANY = f"""
SELECT p.i, n.*
FROM unnest(CAST(:i AS int[]), CAST(:lon AS float8[]), CAST(:lat AS float8[]),
            CAST(:dx AS float8[]), CAST(:dy AS float8[])) AS p(i, lon, lat, dx, dy)
CROSS JOIN LATERAL (
  SELECT e.id, e.source, e.target, e.length_m, ST_AsBinary(e.geom) AS wkb,
         ST_LineLocatePoint(e.geom, c.geom) AS f,
         ST_Distance(e.geom::geography, c.geom::geography) AS d,
         e.geom <-> c.geom AS knn
  FROM road_edge e, (SELECT ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326) AS geom) c
  WHERE {walkable("e")} AND e.length_m > 0 AND e.geom && ST_Expand(c.geom, p.dx, p.dy)
  ORDER BY e.geom <-> c.geom
  LIMIT 8
) n
"""


def nearest_streets(
    conn: Connection | Session, *, points: Sequence[tuple[float, float]], snap_m: float
) -> list[Any]:
    """For each (lon, lat) point, its nearest walkable street within ``snap_m`` x 1.5 (the row
    :func:`start_edges` picks: ``id, source, target, length_m, wkb, f, d``), or ``None``."""
    if not points:
        return []
    boxes = [_degrees(snap_m * 1.5, lat) for _lon, lat in points]
    # Kept as SQL: one nearest-edges (KNN ``<->``) scan per point, in one statement.
    rows = conn.execute(
        text(_NEAREST_MANY),
        {
            "i": list(range(len(points))),
            "lon": [float(p[0]) for p in points],
            "lat": [float(p[1]) for p in points],
            "dx": [b[0] for b in boxes],
            "dy": [b[1] for b in boxes],
        },
    ).all()
    best: list[Any] = [None] * len(points)
    for r in sorted(rows, key=lambda r: (r.i, r.knn)):
        if best[r.i] is None or r.d < best[r.i].d:
            best[r.i] = r
    return best


def walk_box(lon: float, lat: float, budget_m: float) -> tuple[float, float, float, float]:
    """The lon/lat box a walk of ``budget_m`` from a point stays in (west, south, east, north):
    the box :func:`start_edges` gives pgRouting."""
    ex, ey = _degrees(budget_m, lat)
    return lon - ex, lat - ey, lon + ex, lat + ey


def walk_edges(conn: Connection | Session, *, box: Box) -> Any:
    """The walkable edges meeting a lon/lat box: ``source, target, length_m, wkb`` rows."""
    # Kept as SQL: the same walkable filter and box test pgRouting's edge query uses.
    return conn.execute(
        text(
            "SELECT source, target, length_m, ST_AsBinary(geom) AS wkb FROM road_edge "
            f"WHERE {walkable()} AND length_m > 0 "
            "AND geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326) ORDER BY id"
        ),
        {"w": box[0], "s": box[1], "e": box[2], "n": box[3]},
    ).all()


def center_points(
    conn: Connection | Session, *, ids: Sequence[int] | None = None, region: str | None = None
) -> list[Any]:
    """``id, lon, lat`` of the centres ``ids`` (or of ``region``, or all), by id."""
    chosen = select(
        _s.c.id, func.ST_X(_s.c.geom).label("lon"), func.ST_Y(_s.c.geom).label("lat")
    ).order_by(_s.c.id)
    if ids is not None:
        chosen = chosen.where(_s.c.id.in_(list(ids)))
    if region is not None:
        chosen = chosen.where(func.coalesce(_s.c.region_code, "").startswith(region))
    return list(conn.execute(chosen).all())


def centres_lacking(conn: Connection | Session, *, minutes: int) -> list[int]:
    """The ids of centres with no circle of ``minutes``."""
    return list(
        conn.execute(
            select(_s.c.id)
            .where(~exists().where(_c.c.center_id == _s.c.id, _c.c.minutes == minutes))
            .order_by(_s.c.id)
        ).scalars()
    )


def write_circle(
    conn: Connection | Session, *, center_id: int, minutes: int, circle: dict[str, Any]
) -> None:
    """Store a centre's circle (replacing one of the same minutes)."""
    row = pg_insert(_c).values(
        center_id=center_id,
        minutes=minutes,
        method=circle["method"],
        params=circle["params"],
        computed_at=func.clock_timestamp(),
        geom=func.ST_Multi(func.ST_GeomFromWKB(shapely.to_wkb(circle["geom"]), 4326)),
    )
    conn.execute(
        row.on_conflict_do_update(
            index_elements=[_c.c.center_id, _c.c.minutes],
            set_={k: row.excluded[k] for k in ("method", "params", "computed_at", "geom")},
        )
    )


# --- service centres -------------------------------------------------------------------------


def _point(lon: float, lat: float) -> ColumnElement[Any]:
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


# A centre as a feature, with the circles it has (minutes, method, when computed).
CENTER_ROW = select(
    _s.c.id,
    _s.c.code,
    _s.c.kind,
    _s.c.name,
    _s.c.opening_hours,
    _s.c.address,
    _s.c.region_code,
    _s.c.source,
    select(
        func.json_agg(
            aggregate_order_by(
                func.json_build_object(
                    "minutes", _c.c.minutes, "method", _c.c.method, "computed_at", _c.c.computed_at
                ),
                _c.c.minutes,
            )
        )
    )
    .where(_c.c.center_id == _s.c.id)
    .scalar_subquery()
    .label("circles"),
    _s.c.geom,
)


def _in_region(code: ColumnElement[Any], region: str) -> ColumnElement[bool]:
    return func.coalesce(code, "").startswith(region)


def _in_box(geom: ColumnElement[Any], bbox: Box) -> ColumnElement[bool]:
    """Whether ``geom``'s bounding box meets ``bbox`` (west, south, east, north in WGS84)."""
    return geom.op("&&")(func.ST_MakeEnvelope(*bbox, 4326))


def list_centers(
    session: Session,
    *,
    region: str | None,
    kind: str | None,
    limit: int,
    offset: int,
    bbox: Box | None = None,
) -> dict[str, Any]:
    """Service centres as GeoJSON, with the circles each has (those in ``bbox`` when given)."""
    where: list[ColumnElement[bool]] = []
    if bbox is not None:
        where.append(_in_box(_s.c.geom, bbox))
    if region is not None:
        where.append(_in_region(_s.c.region_code, region))
    if kind is not None:
        where.append(_s.c.kind == kind)
    return feature_page(
        session,
        rows=CENTER_ROW,
        count_from=_s,
        where=where,
        order=_s.c.code,
        limit=limit,
        offset=offset,
    )


def get_center(session: Session, *, center_id: int) -> dict[str, Any]:
    """One service centre as a GeoJSON Feature."""
    feature = one_feature(session, CENTER_ROW.where(_s.c.id == center_id))
    if feature is None:
        raise NotFound(f"no service centre {center_id}")
    return feature


def community_at(session: Session, *, lon: float, lat: float) -> str | None:
    """The code of the community holding a WGS84 point (the first by code)."""
    code: str | None = session.execute(
        select(_r.c.code)
        .where(_r.c.level == "community", func.ST_Intersects(_r.c.geom, _point(lon, lat)))
        .order_by(_r.c.code)
        .limit(1)
    ).scalar_one_or_none()
    return code


def code_taken(session: Session, *, code: str) -> bool:
    """Whether a centre has the code ``code``."""
    return session.execute(select(1).where(_s.c.code == code)).first() is not None


def insert_center(session: Session, *, values: dict[str, Any], lon: float, lat: float) -> int:
    """Write a new centre (from the API) at a WGS84 point; returns its id."""
    center_id: int = session.execute(
        insert(_s)
        .values(
            {
                "opening_hours": None,
                "address": None,
                **values,
                "source": "api",
                "geom": _point(lon, lat),
            }
        )
        .returning(_s.c.id)
    ).scalar_one()
    return center_id


def locked_region(session: Session, *, center_id: int) -> tuple[str | None] | None:
    """``(region_code,)`` of a centre, locked for update; ``None`` when there is no such centre."""
    row = session.execute(
        select(_s.c.region_code).where(_s.c.id == center_id).with_for_update()
    ).one_or_none()
    return None if row is None else (row.region_code,)


def update_center(
    session: Session,
    *,
    center_id: int,
    changes: dict[str, Any],
    lon: float | None = None,
    lat: float | None = None,
) -> None:
    """Change a centre's columns; with a point, move it."""
    values = dict(changes)
    if lon is not None and lat is not None:
        values["geom"] = _point(lon, lat)
    if values:
        session.execute(update(_s).where(_s.c.id == center_id).values(**values))


def delete_center(session: Session, *, center_id: int) -> None:
    """Remove a centre (its circles go with it)."""
    session.execute(delete(_s).where(_s.c.id == center_id))


def list_circles(
    session: Session,
    *,
    region: str | None,
    minutes: int | None,
    bbox: Box | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Stored circles as GeoJSON, each with its centre, method and parameters; with ``bbox``
    those reaching into it, and at most ``limit`` of them (``numberMatched`` says how many
    there are)."""
    rows = select(
        _c.c.id,
        _c.c.center_id,
        _s.c.code.label("center_code"),
        _s.c.name.label("center_name"),
        _s.c.kind.label("center_kind"),
        _c.c.minutes,
        _c.c.method,
        _c.c.params,
        _c.c.computed_at,
        cast_(
            func.round(cast_(func.ST_Area(func.geography(_c.c.geom)) / 1e6, Numeric), 4),
            DOUBLE_PRECISION,
        ).label("area_km2"),
        _c.c.geom,
    ).select_from(_c.join(_s, _s.c.id == _c.c.center_id))
    if region is not None:
        rows = rows.where(_in_region(_s.c.region_code, region))
    if minutes is not None:
        rows = rows.where(_c.c.minutes == minutes)
    if bbox is not None:
        rows = rows.where(_in_box(_c.c.geom, bbox))
    matched = session.execute(select(func.count()).select_from(rows.subquery())).scalar_one()
    if limit is not None:
        rows = rows.order_by(_c.c.id).limit(limit)
    features = session.execute(feature_collection(rows, order_by="id")).scalar_one()
    return {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(features),
        "features": features,
    }
