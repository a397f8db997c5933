"""gridmap.services.circles: drawing and storing the service circles of many centres at once.

The walking network stays in PostGIS; a rebuild reads it once per area of centres (the walkable
edges within a walk of any of them), holds it in memory as a :class:`~gridmap.geo.network.WalkGraph`
and walks from all those centres in one pass, where a ``pgr_drivingDistance`` call per centre
read and built the graph again each time. The rules (nearest street within ``snap_m``, the walk,
the street depth, the small blocks filled) are those of
:func:`gridmap.queries.circles.pgrouting_reach`, and the circles the same. A single centre's edit
goes the same way with one centre.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

import shapely

from gridmap.errors import NotFound
from gridmap.geo.isochrone import CircleRules, walk_area, walked_shares
from gridmap.geo.metric import transformer, utm_epsg
from gridmap.geo.network import Start, WalkGraph
from gridmap.queries import circles as q

# Centres are walked together by cells of this many degrees (about 25 km): one read of the
# network per cell keeps a whole province's rebuild from holding all of its streets at once.
CELL_DEGREES = 0.25


def _project(fn: Any, geoms: Any) -> Any:
    # One pyproj call for every coordinate of every geometry given.
    return shapely.transform(geoms, lambda xy: np.column_stack(fn(xy[:, 0], xy[:, 1])))


@dataclass(frozen=True)
class _Cell:
    """The network read for the centres of one cell, with its edges projected to metres."""

    graph: WalkGraph
    length: np.ndarray
    lines: np.ndarray
    project: Any


def _walks(
    conn: Connection | Session,
    *,
    points: Sequence[tuple[float, float]],
    nearest: Sequence[Any],
    budget: float,
) -> Iterator[tuple[int, _Cell, np.ndarray]]:
    """For each point with a nearest street: its index, its cell, and the cost of reaching
    every junction of the cell's graph (``inf`` beyond ``budget``)."""
    cells: dict[tuple[int, int, int], list[int]] = {}
    for i, ((lon, lat), near) in enumerate(zip(points, nearest, strict=True)):
        if near is not None:
            key = (
                utm_epsg(lon, lat),
                math.floor(lon / CELL_DEGREES),
                math.floor(lat / CELL_DEGREES),
            )
            cells.setdefault(key, []).append(i)
    for (epsg, _x, _y), members in cells.items():
        boxes = np.array([q.walk_box(*points[i], budget) for i in members])
        box = (
            float(boxes[:, 0].min()),
            float(boxes[:, 1].min()),
            float(boxes[:, 2].max()),
            float(boxes[:, 3].max()),
        )
        rows = q.walk_edges(conn, box=box)
        project = transformer(4326, epsg).transform
        cell = _Cell(
            graph=WalkGraph(
                [r.source for r in rows], [r.target for r in rows], [r.length_m for r in rows]
            ),
            length=np.array([r.length_m for r in rows], dtype=np.float64),
            lines=_project(project, shapely.from_wkb([bytes(r.wkb) for r in rows])),
            project=project,
        )
        starts = []
        for i in members:
            near = nearest[i]
            along = near.f * near.length_m
            starts.append(
                Start(
                    int(near.source),
                    int(near.target),
                    near.d + along,
                    near.d + near.length_m - along,
                )
            )
        for i, cost in zip(members, cell.graph.walks(starts, limit=budget), strict=True):
            yield i, cell, cost


def _starting(rules: CircleRules, nearest: list[Any]) -> list[Any]:
    # Only the points a walk starts from keep their street.
    return [None if q.why_no_walk(rules, nearest=n) is not None else n for n in nearest]


def reach_many(
    conn: Connection | Session, *, points: Sequence[tuple[float, float]], rules: CircleRules
) -> list[dict[str, Any]]:
    """The circles of many (lon, lat) points, in their order: each ``method``, ``params`` and
    ``geom`` (a lon/lat MultiPolygon), as :func:`gridmap.queries.circles.pgrouting_reach` draws
    them one by one."""
    budget = rules.budget_m
    nearest = q.nearest_streets(conn, points=points, snap_m=rules.snap_m)
    out: list[dict[str, Any]] = []
    for (lon, lat), near in zip(points, nearest, strict=True):
        why = q.why_no_walk(rules, nearest=near)
        out.append(q.buffer_circle(rules, lon=lon, lat=lat, why=why) if why else {})
    for i, cell, cost in _walks(
        conn, points=points, nearest=_starting(rules, nearest), budget=budget
    ):
        lon, lat = points[i]
        near = nearest[i]
        a, b = walked_shares(cell.length, cost[cell.graph.source], cost[cell.graph.target], budget)
        touched = np.flatnonzero((a > 0) | (b > 0))
        walk = walk_area(
            zip(cell.lines[touched], a[touched].tolist(), b[touched].tolist(), strict=True),
            street=_project(cell.project, shapely.from_wkb(bytes(near.wkb))),
            centre=shapely.Point(cell.project(lon, lat)),
            snapped_m=float(near.d),
            rules=rules,
        )
        out[i] = q.finish(rules, lon=lon, lat=lat, nearest=near, walk=walk)
    return out


def reach(
    conn: Connection | Session, *, lon: float, lat: float, rules: CircleRules
) -> dict[str, Any]:
    """The circle of one point (``method``, ``params``, ``geom``)."""
    return reach_many(conn, points=[(lon, lat)], rules=rules)[0]


def reached(
    conn: Connection | Session, *, points: Sequence[tuple[float, float]], rules: CircleRules
) -> list[dict[int, float]]:
    """The junctions each point's walk reaches, with their costs (empty for a buffer): what
    :func:`reach_many` draws its circles from."""
    nearest = _starting(rules, q.nearest_streets(conn, points=points, snap_m=rules.snap_m))
    out: list[dict[int, float]] = [{} for _ in points]
    for i, cell, cost in _walks(conn, points=points, nearest=nearest, budget=rules.budget_m):
        hit = np.isfinite(cost)
        out[i] = dict(zip(cell.graph.nodes[hit].tolist(), cost[hit].tolist(), strict=True))
    return out


def store_circles(
    conn: Connection | Session, *, center_ids: Sequence[int], rules: CircleRules
) -> dict[str, int]:
    """Compute and store the circles of ``center_ids`` (replacing those of the same minutes);
    returns counts by method."""
    centres = q.center_points(conn, ids=center_ids)
    circles = reach_many(conn, points=[(c.lon, c.lat) for c in centres], rules=rules)
    counts = {"network": 0, "buffer": 0}
    for c, circle in zip(centres, circles, strict=True):
        q.write_circle(conn, center_id=c.id, minutes=rules.minutes, circle=circle)
        counts[circle["method"]] += 1
    return counts


def store_circle(
    conn: Connection | Session, *, center_id: int, rules: CircleRules
) -> dict[str, Any]:
    """Compute and store the circle of one centre (replacing one of the same minutes)."""
    centres = q.center_points(conn, ids=[center_id])
    if not centres:
        raise NotFound(f"no service centre {center_id}")
    circle = reach(conn, lon=centres[0].lon, lat=centres[0].lat, rules=rules)
    q.write_circle(conn, center_id=center_id, minutes=rules.minutes, circle=circle)
    return circle


# How many centres are drawn between two progress reports.
_BATCH = 200


def rebuild(
    conn: Connection | Session,
    *,
    rules: list[CircleRules],
    region: str | None = None,
    progress: Callable[[int, int], None] = lambda _done, _total: None,
) -> dict[str, int]:
    """Recompute the circles of every centre (of ``region``); returns counts by method."""
    ids = [c.id for c in q.center_points(conn, region=region)]
    counts = {"centres": len(ids), "network": 0, "buffer": 0}
    for lo in range(0, len(ids), _BATCH):
        batch = ids[lo : lo + _BATCH]
        for r in rules:
            for method, n in store_circles(conn, center_ids=batch, rules=r).items():
                counts[method] += n
        progress(lo + len(batch), len(ids))
    return counts


def ensure(
    conn: Connection | Session, *, rules: list[CircleRules], everything: bool
) -> dict[str, int]:
    """Compute the circles of every centre (``everything``) or only of centres lacking one."""
    if everything:
        return rebuild(conn, rules=rules)
    counts = {"centres": 0, "network": 0, "buffer": 0}
    for r in rules:
        missing = q.centres_lacking(conn, minutes=r.minutes)
        counts["centres"] += len(missing)
        for method, n in store_circles(conn, center_ids=missing, rules=r).items():
            counts[method] += n
    return counts
