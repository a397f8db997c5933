"""Time patrol coverage (巡查覆盖率) against the same computed with a plain PostGIS query.

Run: ``.venv/bin/python bench/patrol.py`` (uses the embedded cluster, or DATABASE_URL's server;
``--workers``/``--days``/``--hours`` make a smaller run).

It loads the demo data set into a database of its own, builds the street pieces of the demo street
with the most grids, and generates a week of patrols there: 50 workers, each walking 8 hours a
day at 1.2 m/s along the demo roads of their grid (a random walk that seldom turns back), one fix
every 5 s with GPS noise (σ 4 m), uploaded in pieces of 60 points (5 minutes) as the phone does.
Then, in the same run, it times

- gridmap: ``gridmap.services.patrols.coverage`` (what ``GET /api/v1/patrol-coverage`` answers:
  each street piece walked when a track piece of the period lies within 20 m, an EXISTS through
  the GiST index of the track pieces), for one grid-day and for the street-week;
- PostGIS: one hand-written query: each grid's roads ``ST_Intersection``-ed with the grid, the
  period's tracks ``ST_Buffer``-ed by 20 m on geography and ``ST_Union``-ed, the walked length
  the ``ST_Intersection`` of the two.

Both give a share per grid; the script prints how far apart they are (whole 25 m pieces against
exact clipped lengths) and whether the goal is met (≥ 5× faster, the street-week under 2 s).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import shapely
from pyproj import Transformer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gridmap.database import make_engine, scratch_database  # noqa: E402
from gridmap.geo import track  # noqa: E402
from gridmap.loader import load_dataset  # noqa: E402
from gridmap.queries.patrols import degrees_for, street_edge  # noqa: E402
from gridmap.services import patrols  # noqa: E402
from gridmap.settings import Settings  # noqa: E402

NAME = "gridmap_bench_patrol"
TZ = ZoneInfo("Asia/Shanghai")
# Monday of the generated week (ISO 2026-W45).
MONDAY = datetime(2026, 11, 2, tzinfo=TZ)
FIX_S = 5.0
SPEED = 1.2
PIECE = 60
NOISE_M = 4.0
COVER_M = 20.0
RUNS = 5

# The same coverage as one would write it by hand: roads clipped to each grid, the period's
# tracks near it buffered (all at once: a union of one buffer per track piece is far slower),
# the walked length their intersection. MATERIALIZED: inlined, the buffer would be computed again
# for every street of the grid.
PLAIN_POSTGIS = f"""
WITH g AS (SELECT id, code, geom FROM grid WHERE id = ANY(:ids)),
streets AS (
    SELECT g.id, ST_Intersection(e.geom, g.geom) AS geom
    FROM g JOIN road_edge e ON ST_Intersects(e.geom, g.geom) WHERE {street_edge("e")}),
tracks AS MATERIALIZED (
    SELECT g.id, ST_Buffer(ST_Collect(ST_Force2D(pp.geom))::geography, :cover)::geometry AS geom
    FROM g JOIN patrol_piece pp ON pp.geom && ST_Expand(g.geom, :deg)
    WHERE pp.first_at < :end AND pp.last_at >= :start
    GROUP BY g.id)
SELECT g.code,
       coalesce((SELECT sum(ST_Length(s.geom::geography)) FROM streets s WHERE s.id = g.id), 0)
           AS street_m,
       coalesce((SELECT sum(ST_Length(ST_Intersection(s.geom, t.geom)::geography))
                 FROM streets s JOIN tracks t ON t.id = s.id WHERE s.id = g.id), 0) AS walked_m
FROM g ORDER BY g.code
"""


def pick_street(session: Session) -> str:
    """The demo street with the most current grids."""
    return str(
        session.execute(
            text(
                "SELECT left(code, 9) FROM grid WHERE valid_to IS NULL "
                "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
            )
        ).scalar_one()
    )


class Network:
    """The walkable demo roads around a street, in metres (UTM 50N), as a graph of junctions."""

    def __init__(self, session: Session, street: str) -> None:
        self.to_m = Transformer.from_crs(4326, 32650, always_xy=True)
        self.to_deg = Transformer.from_crs(32650, 4326, always_xy=True)
        rows = session.execute(
            text(
                "SELECT e.id, e.source, e.target, ST_AsBinary(e.geom) AS wkb FROM road_edge e "
                "WHERE e.length_m > 0 AND " + street_edge("e") + " AND e.geom && "
                "(SELECT ST_Expand(ST_Extent(geom), 0.002) FROM grid "
                " WHERE valid_to IS NULL AND code LIKE :s || '%')"
            ),
            {"s": street},
        ).all()
        self.coords: dict[int, np.ndarray] = {}
        self.ends: dict[int, tuple[int, int]] = {}
        self.at: dict[int, list[int]] = defaultdict(list)
        for r in rows:
            xy = shapely.get_coordinates(shapely.from_wkb(bytes(r.wkb)))
            x, y = self.to_m.transform(xy[:, 0], xy[:, 1])
            self.coords[r.id] = np.column_stack([x, y])
            self.ends[r.id] = (r.source, r.target)
            self.at[r.source].append(r.id)
            self.at[r.target].append(r.id)

    def walk(self, rng: np.random.Generator, area: Any, metres: float) -> np.ndarray:
        """A random walk of ``metres`` along the edges inside ``area`` (metric polygon)."""
        inside = {
            e for e, xy in self.coords.items() if shapely.intersects(area, shapely.LineString(xy))
        } or set(self.coords)
        edge = int(rng.choice(sorted(inside)))
        node = self.ends[edge][0]
        parts: list[np.ndarray] = []
        done = 0.0
        came: int | None = None
        while done < metres:
            if came is not None:
                choices = [e for e in self.at[node] if e in inside and e != came]
                if not choices:
                    choices = [e for e in self.at[node] if e in inside] or self.at[node]
                edge = int(rng.choice(choices))
            xy = self.coords[edge]
            source, target = self.ends[edge]
            if node == target:
                xy, node = xy[::-1], source
            else:
                node = target
            parts.append(xy if not parts else xy[1:])
            done += float(np.hypot(*np.diff(xy, axis=0).T).sum())
            came = edge
        return np.vstack(parts)

    def fixes(
        self, rng: np.random.Generator, path: np.ndarray, count: int, t0: float
    ) -> np.ndarray:
        """``count`` fixes every FIX_S seconds along ``path`` at SPEED, with GPS noise, as
        lon, lat, t."""
        along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
        at = np.arange(count) * FIX_S * SPEED
        x = np.interp(at, along, path[:, 0]) + rng.normal(0, NOISE_M, count)
        y = np.interp(at, along, path[:, 1]) + rng.normal(0, NOISE_M, count)
        lon, lat = self.to_deg.transform(x, y)
        return np.column_stack([lon, lat, t0 + np.arange(count) * FIX_S])


def generate(session: Session, street: str, workers: int, days: int, hours: float) -> int:
    """Write the week's patrols of ``workers`` people around the street; the points written."""
    net = Network(session, street)
    grids = session.execute(
        text(
            "SELECT code, ST_AsBinary(geom) AS wkb FROM grid WHERE valid_to IS NULL "
            "AND code LIKE :s || '%' ORDER BY code"
        ),
        {"s": street},
    ).all()
    areas = []
    for g in grids:
        poly = shapely.from_wkb(bytes(g.wkb))
        areas.append(
            (
                g.code,
                shapely.transform(
                    poly, lambda xy: np.column_stack(net.to_m.transform(xy[:, 0], xy[:, 1]))
                ),
            )
        )
    people = [
        session.execute(
            text("INSERT INTO person (name) VALUES (:n) RETURNING id"), {"n": f"巡查员{i:02d}"}
        ).scalar_one()
        for i in range(workers)
    ]
    rng = np.random.default_rng(20261102)
    count = int(hours * 3600 / FIX_S)
    written = 0
    raw = session.connection().connection
    for day in range(days):
        start = (MONDAY + timedelta(days=day, hours=8)).timestamp()
        with raw.cursor() as cur:
            cur.execute("SELECT 1")
            patrols_rows = []
            pieces_rows = []
            for i, person in enumerate(people):
                code, area = areas[i % len(areas)]
                path = net.walk(rng, area, count * FIX_S * SPEED + 100)
                pts = net.fixes(rng, path, count, start + rng.uniform(0, 600))
                pid = cur.execute(
                    "INSERT INTO patrol (key, person_id, grid_codes, started_at, ended_at, "
                    "points, length_m) VALUES (%s, %s, %s, to_timestamp(%s), to_timestamp(%s), "
                    "%s, %s) RETURNING id",
                    (
                        uuid4(),
                        person,
                        [code],
                        pts[0, 2] - 30,
                        pts[-1, 2] + 30,
                        count,
                        track.length_m(pts),
                    ),
                ).fetchone()[0]  # type: ignore[index]
                patrols_rows.append(pid)
                previous = None
                for seq, s in enumerate(range(0, count, PIECE)):
                    piece = pts[s : s + PIECE]
                    pieces_rows.append(
                        (
                            pid,
                            seq,
                            len(piece),
                            datetime.fromtimestamp(piece[0, 2], TZ),
                            datetime.fromtimestamp(piece[-1, 2], TZ),
                            track.length_m(piece, previous),
                            track.digest(piece),
                            track.linestring_m_wkt(piece, previous),
                        )
                    )
                    previous = piece[-1].tolist()
                written += count
            with cur.copy(
                "COPY patrol_piece (patrol_id, seq, points, first_at, last_at, length_m, digest,"
                " geom) FROM STDIN"
            ) as copy:
                for row in pieces_rows:
                    copy.write_row(row)
        print(
            f"  day {day + 1}: {len(patrols_rows)} patrols, {len(pieces_rows)} pieces", flush=True
        )
    session.execute(text("ANALYZE patrol; ANALYZE patrol_piece; ANALYZE street_piece"))
    return written


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median wall time of ``fn`` over ``runs`` runs (after a warm-up when runs > 1), and its
    last answer."""
    answer = fn() if runs > 1 else None
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        answer = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), answer


def plain(
    session: Session, ids: list[int], start: datetime, end: datetime, timeout_s: float
) -> dict[str, float] | None:
    """Share walked per grid code by the plain PostGIS query; None when it was stopped after
    ``timeout_s`` seconds or failed."""
    session.execute(text(f"SET LOCAL statement_timeout = {int(timeout_s * 1000)}"))
    try:
        rows = session.execute(
            text(PLAIN_POSTGIS),
            {
                "ids": ids,
                "start": start,
                "end": end,
                "cover": COVER_M,
                "deg": degrees_for(COVER_M),
            },
        ).all()
    except DBAPIError:
        # Stopped by the timeout, or the server process ran out of memory (its buffer of a
        # week of tracks can): either way the query did not finish in the time measured.
        with contextlib.suppress(DBAPIError):
            session.rollback()
        return None
    session.rollback()
    return {r.code: (r.walked_m / r.street_m if r.street_m else 0.0) for r in rows}


def main() -> None:
    """Build the bench database, time both ways, print the figures and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--plain-runs", type=int, default=1)
    parser.add_argument("--plain-timeout", type=float, default=300.0)
    args = parser.parse_args()
    settings = Settings()
    with scratch_database(settings.db, NAME) as url:
        engine = make_engine(url)
        load_dataset(engine, settings.api.data_dir, commit=True)
        with Session(engine) as session, session.begin():
            street = pick_street(session)
            t = time.perf_counter()
            built = patrols.refresh_streets(
                session,
                [
                    c
                    for (c,) in session.execute(
                        text(
                            "SELECT code FROM grid WHERE valid_to IS NULL AND code LIKE :s || '%'"
                        ),
                        {"s": street},
                    )
                ],
            )
            t_build = time.perf_counter() - t
        print(
            f"street {street}: {built['grids']} grids, {built['pieces']:,} street pieces "
            f"built in {t_build:.2f} s"
        )
        with Session(engine) as session, session.begin():
            t = time.perf_counter()
            points = generate(session, street, args.workers, args.days, args.hours)
            print(f"  {points:,} fixes written in {time.perf_counter() - t:.1f} s")
        with Session(engine) as session:
            grids = session.execute(
                text(
                    "SELECT g.id, g.code FROM grid g WHERE g.valid_to IS NULL "
                    "AND g.code LIKE :s || '%' ORDER BY (SELECT sum(length_m) FROM street_piece "
                    "s WHERE s.grid_id = g.id) DESC NULLS LAST, g.code"
                ),
                {"s": street},
            ).all()
            one = grids[0]
            cases = [
                ("grid-day", [one.code], [one.id], MONDAY + timedelta(days=2), timedelta(days=1)),
                ("street-week", None, [g.id for g in grids], MONDAY, timedelta(days=7)),
            ]
            results = []
            for label, codes, ids, start, span in cases:
                end = start + span
                t_ours, ours = timed(
                    lambda codes=codes, start=start, end=end: patrols.coverage(
                        session,
                        grid_codes=codes,
                        region=None if codes else street,
                        start=start,
                        end=end,
                        cover_m=COVER_M,
                    ),
                    RUNS,
                )
                session.rollback()
                t_plain, theirs = timed(
                    lambda ids=ids, start=start, end=end: plain(
                        session, ids, start, end, args.plain_timeout
                    ),
                    args.plain_runs,
                )
                diffs = [
                    abs((r["share"] or 0.0) - theirs.get(r["grid"], 0.0))
                    for r in ours
                    if theirs is not None
                ] or [float("nan")]
                mean_share = statistics.mean((r["share"] or 0.0) for r in ours)
                results.append(
                    (label, len(ours), t_ours, t_plain, theirs is not None, mean_share, diffs)
                )
                print(f"  {label}: gridmap {t_ours:.3f} s, PostGIS {t_plain:.1f} s", flush=True)
        engine.dispose()
        # Before the database is dropped: a server recovering from a crashed query refuses that.
        summary(args, results)


def summary(args: argparse.Namespace, results: list[Any]) -> None:
    """Print the figures of both cases, the ratios and whether the goal is met."""
    print(
        f"{args.workers} workers x {args.hours:g} h x {args.days} days, a fix every "
        f"{FIX_S:g} s, pieces of {PIECE} fixes; gridmap median of {RUNS} runs, "
        f"PostGIS {args.plain_runs}"
    )
    met = True
    for label, n, t_ours, t_plain, finished, mean_share, diffs in results:
        ratio = t_plain / t_ours
        bound = "" if finished else "> "
        if not finished:
            print(f"  {label}: the plain query was stopped or failed after {t_plain:.1f} s")
        print(
            f"  {label:<12} {n:3d} grid(s), mean share {mean_share:6.1%}, shares differ by "
            f"{statistics.mean(diffs):.2%} on average ({max(diffs):.2%} at most)"
        )
        print(f"    gridmap coverage          {t_ours * 1000:10.1f} ms")
        print(f"    plain PostGIS query    {bound:>3}{t_plain * 1000:10.1f} ms")
        print(f"    ratio (PostGIS / gridmap) {bound}{ratio:.1f}x")
        met = met and ratio >= 5 and (label != "street-week" or t_ours < 2.0)
    print(f"  goal (>= 5x both, street-week < 2 s): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
