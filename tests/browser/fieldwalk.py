"""A grid worker's walk along real demo streets, for the phone page's tests.

The walk follows connected ``road_edge`` rows inside one demo grid, read from PostGIS, as fixes a
few metres apart. The phone is moved with ``context.set_geolocation`` and the page's clock (
Playwright's fake clock, installed before the page loads) is advanced between fixes, so minutes of
walking take seconds: the page stamps each fix with its own clock and cuts track pieces on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import BrowserContext, Page
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridmap.auth import Holder, create_token

DEMO_STREET = "110108010"
# Roads nobody patrols on foot (the server's street set leaves them out too).
NOT_WALKED = ("motorway", "motorway_link", "trunk", "trunk_link", "construction", "platform")
EARTH_M = 6371008.8


@dataclass(frozen=True)
class FieldGrid:
    """A demo grid with households, workers and streets, and a neighbour of the same community
    that has a worker of its own."""

    code: str
    name: str
    neighbour: str


@dataclass(frozen=True)
class Staff:
    """A person serving a grid and the token issued to them (holder ``staff``)."""

    person_id: int
    name: str
    token: str


@dataclass(frozen=True)
class Walk:
    """Fixes along connected road edges of a grid: (lon, lat) in order, and the edges' length."""

    grid: str
    points: list[tuple[float, float]]
    edges: list[int]
    road_m: float


def field_grid(engine: Engine) -> FieldGrid:
    """The demo grid of the start street with households and a worker that has the most walkable
    street inside it, and its community's other grid with a worker."""
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT g.code, g.name, g.community_code, ("
                "  SELECT coalesce(sum(ST_Length(ST_Intersection(r.geom, g.geom)::geography)), 0)"
                "  FROM road_edge r WHERE ST_Intersects(r.geom, g.geom)"
                "  AND coalesce(r.highway, '') <> ALL(:skip)) AS road_m "
                "FROM grid g WHERE g.valid_to IS NULL AND g.code LIKE :street "
                "AND EXISTS (SELECT 1 FROM grid_staff s WHERE s.grid_code = g.code "
                "  AND s.role = 'worker') "
                "AND EXISTS (SELECT 1 FROM household h JOIN building b ON b.id = h.building_id "
                "  WHERE b.grid_code = g.code) "
                "ORDER BY road_m DESC, g.code"
            ),
            {"skip": list(NOT_WALKED), "street": DEMO_STREET + "%"},
        ).all()
        for code, name, community, _ in rows:
            other = c.execute(
                text(
                    "SELECT g.code FROM grid g WHERE g.valid_to IS NULL "
                    "AND g.community_code = :c AND g.code <> :g AND EXISTS (SELECT 1 FROM "
                    "grid_staff s WHERE s.grid_code = g.code AND s.role = 'worker') "
                    "ORDER BY g.code LIMIT 1"
                ),
                {"c": community, "g": code},
            ).scalar()
            if other is not None:
                return FieldGrid(code=code, name=name, neighbour=other)
    raise AssertionError("the demo has no grid with households, streets and a worker")


def staff_token(engine: Engine, grid: str, role: str = "worker") -> Staff:
    """A token for the first ``role`` of ``grid`` (by person id), issued to the person."""
    with Session(engine) as s, s.begin():
        person_id, name = s.execute(
            text(
                "SELECT p.id, p.name FROM grid_staff g JOIN person p ON p.id = g.person_id "
                "WHERE g.grid_code = :g AND g.role = :r ORDER BY p.id LIMIT 1"
            ),
            {"g": grid, "r": role},
        ).one()
        secret, _ = create_token(s, holder=Holder("staff", person=int(person_id)))
    return Staff(person_id=int(person_id), name=str(name), token=secret)


def _edges(engine: Engine, grid: str) -> list[dict[str, Any]]:
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT r.id, r.source, r.target, ST_Length(r.geom::geography) AS m, "
                "ST_AsGeoJSON(r.geom) AS gj FROM road_edge r JOIN grid g ON g.code = :g "
                "AND g.valid_to IS NULL WHERE ST_CoveredBy(r.geom, g.geom) "
                "AND coalesce(r.highway, '') <> ALL(:skip) AND ST_Length(r.geom::geography) > 1"
            ),
            {"g": grid, "skip": list(NOT_WALKED)},
        ).all()
    import json

    return [
        {
            "id": int(r.id),
            "source": int(r.source),
            "target": int(r.target),
            "m": float(r.m),
            "coords": [tuple(p[:2]) for p in json.loads(r.gj)["coordinates"]],
        }
        for r in rows
    ]


def _chain(
    edges: list[dict[str, Any]], start: int, want_m: float
) -> list[tuple[dict[str, Any], bool]]:
    """A walk from node ``start`` taking, at each node, the longest edge not yet walked; each
    edge with whether it is walked backwards (target to source)."""
    at_node: dict[int, list[dict[str, Any]]] = {}
    for e in edges:
        at_node.setdefault(e["source"], []).append(e)
        at_node.setdefault(e["target"], []).append(e)
    used: set[int] = set()
    path: list[tuple[dict[str, Any], bool]] = []
    node, total = start, 0.0
    while total < want_m:
        options = [e for e in at_node.get(node, []) if e["id"] not in used]
        if not options:
            break
        e = max(options, key=lambda x: x["m"])
        backwards = e["source"] != node
        used.add(e["id"])
        path.append((e, backwards))
        total += e["m"]
        node = e["source"] if backwards else e["target"]
    return path


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    la1, la2 = math.radians(a[1]), math.radians(b[1])
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin(math.radians(b[0] - a[0]) / 2) ** 2
    )
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(h)))


def walk(engine: Engine, grid: str, *, want_m: float = 900.0, step_m: float = 12.0) -> Walk:
    """The longest greedy walk (up to ``want_m``) along connected walkable road edges lying in
    ``grid``, as fixes at every vertex and at most ``step_m`` apart between them."""
    edges = _edges(engine, grid)
    nodes = {e["source"] for e in edges} | {e["target"] for e in edges}
    best: list[tuple[dict[str, Any], bool]] = []
    for n in sorted(nodes):
        path = _chain(edges, n, want_m)
        if sum(e["m"] for e, _ in path) > sum(e["m"] for e, _ in best):
            best = path
    if not best:
        raise AssertionError(f"grid {grid} has no walkable road edge inside it")
    points: list[tuple[float, float]] = []
    for e, backwards in best:
        coords = list(reversed(e["coords"])) if backwards else list(e["coords"])
        for a, b in zip(coords, coords[1:], strict=False):
            n = max(1, math.ceil(_metres(a, b) / step_m))
            for i in range(n):
                p = (a[0] + (b[0] - a[0]) * i / n, a[1] + (b[1] - a[1]) * i / n)
                if not points or points[-1] != p:
                    points.append(p)
        points.append(coords[-1])
    return Walk(
        grid=grid,
        points=points,
        edges=[e["id"] for e, _ in best],
        road_m=sum(e["m"] for e, _ in best),
    )


def track_m(points: list[tuple[float, float]]) -> float:
    """The length in metres of a line through ``points``."""
    return sum(_metres(a, b) for a, b in zip(points, points[1:], strict=False))


def clock_start(walk_s: float, tz: str = "Asia/Shanghai") -> datetime:
    """When the page's clock starts: far enough back that the whole walk ends before now (the
    server refuses fixes more than 5 minutes ahead of it), never before today began in ``tz``
    (so the walk counts for today's figures)."""
    now = datetime.now(ZoneInfo(tz))
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(now - timedelta(seconds=walk_s + 30), midnight + timedelta(seconds=1))


def walk_phone(
    context: BrowserContext,
    page: Page,
    points: list[tuple[float, float]],
    *,
    speed_ms: float = 5.0,
    accuracy: float = 8.0,
) -> None:
    """Move the phone along ``points`` at ``speed_ms`` by the page's clock: each fix is set as
    the phone's position, then the page's clock runs for the time the step takes."""
    prev: tuple[float, float] | None = None
    for p in points:
        if prev is not None:
            page.clock.run_for(max(1000, int(_metres(prev, p) / speed_ms * 1000)))
        context.set_geolocation({"longitude": p[0], "latitude": p[1], "accuracy": accuracy})
        # The fix reaches the page's watchPosition on the browser's own time.
        page.wait_for_timeout(40)
        prev = p
