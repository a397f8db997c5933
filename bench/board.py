"""The command centre's board at scale: the assessment (考评) of one district-month over
1,000,000 incidents, next to a plain SQL ``GROUP BY`` of the same figures; and the board's first
paint (``bench/board_paint.py``).

Run: ``.venv/bin/python bench/board.py [--part assessment|paint|all] [--rows 1000000]``

The assessment half loads the demo data set into a database of its own, then generates ``rows``
incidents over the demo grids in two years (2025–2026, states, times, scores and rework drawn in
SQL with a fixed seed) and their sub-tasks (a split task to the grid, answered by one of its
workers, for each incident past dispatch; a whistle task to a department for two in five), all in
``INSERT … SELECT generate_series`` statements. It then times, for each ``group_by``, the figures
of district 110108 for June 2026:

- gridmap: ``gridmap.services.stats.figures`` (the function behind the route), and the route
  itself over HTTP (uvicorn on a local port, one keep-alive client);
- plain SQL: one hand-written ``GROUP BY`` of the same figures (no names, masking or ranking).

"cold" is the first call on a new connection (PostgreSQL's shared buffers and the OS cache are
not dropped); "warm" is the median of the next runs. Goal: under 1 s.
"""

from __future__ import annotations

import argparse
import http.client
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import Engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from gridmap.auth import Principal  # noqa: E402
from gridmap.database import make_engine, scratch_database  # noqa: E402
from gridmap.loader import load_dataset  # noqa: E402
from gridmap.services import stats  # noqa: E402
from gridmap.settings import Settings  # noqa: E402

NAME = "gridmap_bench_board"
DISTRICT = "110108"
MONTH = "2026-06"
GROUPS = ("street", "community", "grid", "category", "department", "worker")
RUNS = 7
ADMIN = Principal(role="admin", region=None, name="bench", authenticated=True)

GENERATE = """
CREATE TEMP TABLE bench_grid AS
SELECT (row_number() OVER (ORDER BY g.code) - 1)::int AS n, g.code, g.community_code,
       ST_PointOnSurface(g.geom) AS pt,
       (SELECT min(s.person_id) FROM grid_staff s
        WHERE s.grid_code = g.code AND s.role = 'worker') AS worker
FROM grid g WHERE g.valid_to IS NULL;

SELECT setseed(0.2026);

INSERT INTO incident (category, severity, grid_code, community_code, street_code, status,
                      reported_at, dispatched_at, due_at, closed_at, score, returned_count,
                      dispatch_mode, owner_code, geom, idempotency_key)
SELECT c.codes[1 + s.cn], 'general', g.code, g.community_code, left(g.community_code, 9),
       s.state, s.rep,
       CASE WHEN s.state NOT IN ('reported', 'queued') THEN s.rep + interval '1 hour' END,
       CASE WHEN s.state NOT IN ('reported', 'queued') THEN s.rep + interval '49 hours' END,
       CASE WHEN s.state IN ('closed', 'evaluated')
            THEN s.rep + interval '1 hour' + s.r_hours * interval '96 hours' END,
       CASE WHEN s.state = 'evaluated' THEN 60 + floor(s.r_score * 41)::int END,
       CASE WHEN s.r_rework < 0.1 AND s.state IN ('closed', 'evaluated') THEN 1 ELSE 0 END,
       CASE WHEN s.state NOT IN ('reported', 'queued') THEN 'claim' END,
       CASE WHEN s.state = 'reported' THEN NULL
            WHEN s.state = 'queued' THEN left(g.community_code, 6)
            ELSE left(g.community_code, 9) END,
       g.pt, 'bench-' || s.i
FROM (
    SELECT i, floor(random() * :grids)::int AS gn, floor(random() * :cats)::int AS cn,
           timestamptz '2025-01-01 00:00+08' + random() * interval '730 days' AS rep,
           CASE WHEN x < 0.04 THEN 'reported' WHEN x < 0.07 THEN 'queued'
                WHEN x < 0.20 THEN 'handling' WHEN x < 0.25 THEN 'resolved'
                WHEN x < 0.60 THEN 'closed' ELSE 'evaluated' END AS state,
           random() AS r_hours, random() AS r_score, random() AS r_rework
    FROM (SELECT i, random() AS x FROM generate_series(1, :rows) i) r
) s
JOIN bench_grid g ON g.n = s.gn
CROSS JOIN (SELECT array_agg(code ORDER BY code) AS codes FROM incident_category) c;

INSERT INTO incident_task (incident_id, kind, assignee_kind, assignee_code, assignee_name, state,
                           created_at, due_at, answered_at, answered_by, answered_by_person,
                           returned_count)
SELECT i.id, 'split', 'grid', i.grid_code, i.grid_code,
       CASE WHEN i.status IN ('resolved', 'closed', 'evaluated') THEN 'answered' ELSE 'working' END,
       i.dispatched_at, i.due_at,
       CASE WHEN i.status IN ('closed', 'evaluated') THEN i.closed_at - interval '30 minutes'
            WHEN i.status = 'resolved' THEN i.dispatched_at + interval '20 hours' END,
       CASE WHEN i.status IN ('resolved', 'closed', 'evaluated') THEN 'bench' END,
       CASE WHEN i.status IN ('resolved', 'closed', 'evaluated') THEN g.worker END,
       i.returned_count
FROM incident i JOIN bench_grid g ON g.code = i.grid_code
WHERE i.status NOT IN ('reported', 'queued') AND i.idempotency_key LIKE 'bench-%';

INSERT INTO incident_task (incident_id, kind, assignee_kind, assignee_code, assignee_name, state,
                           created_at, due_at, answered_at, returned_count)
SELECT i.id, 'whistle', 'department', d.code, d.code,
       CASE WHEN i.status IN ('resolved', 'closed', 'evaluated') THEN 'answered' ELSE 'working' END,
       i.dispatched_at + interval '10 minutes', i.dispatched_at + interval '48 hours 10 minutes',
       CASE WHEN i.status IN ('resolved', 'closed', 'evaluated')
            THEN i.dispatched_at + (i.id % 97) * interval '1 hour' END,
       i.returned_count
FROM incident i
CROSS JOIN LATERAL (SELECT (ARRAY['hd-cgzf', 'hd-zj', 'hd-xf', 'hd-sw', 'hd-mz', 'hd-rq',
                                  left(i.street_code, 9) || '-cgzf',
                                  left(i.street_code, 9) || '-pcs'])[1 + i.id % 8] AS code) d
WHERE i.status NOT IN ('reported', 'queued') AND i.id % 5 < 2
  AND i.idempotency_key LIKE 'bench-%';
"""

# The same figures as gridmap's, written by hand: one statement per kind of group.
PLAIN_INCIDENTS = """
SELECT {key} AS key, count(*) AS incidents,
       count(*) FILTER (WHERE closed_at IS NOT NULL) AS closed,
       count(*) FILTER (WHERE closed_at <= due_at) AS on_time,
       count(*) FILTER (WHERE closed_at IS NOT NULL AND due_at IS NOT NULL) AS with_limit,
       count(*) FILTER (WHERE returned_count > 0) AS reworked,
       avg(score) AS satisfaction,
       avg(extract(epoch FROM closed_at - reported_at) / 3600.0) AS mean_hours,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - reported_at)
                                          / 3600.0) AS p90_hours,
       count(*) FILTER (WHERE due_at < now() AND status NOT IN ('closed', 'evaluated',
                        'cancelled', 'parked')) AS overdue_now
FROM incident
WHERE left(community_code, 6) = :region AND reported_at >= :start AND reported_at < :end
  AND merged_into IS NULL
GROUP BY {key}
"""
PLAIN_TASKS = """
SELECT t.{key} AS key, count(DISTINCT t.incident_id) FILTER (WHERE t.state <> 'withdrawn')
       AS incidents,
       count(*) FILTER (WHERE t.answered_at IS NOT NULL AND t.state <> 'withdrawn') AS closed,
       count(*) FILTER (WHERE t.answered_at <= t.due_at AND t.state <> 'withdrawn') AS on_time,
       avg(extract(epoch FROM t.answered_at - t.created_at) / 3600.0)
           FILTER (WHERE t.state <> 'withdrawn') AS mean_hours,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.answered_at
           - t.created_at) / 3600.0) FILTER (WHERE t.state <> 'withdrawn') AS p90_hours,
       count(*) FILTER (WHERE t.state IN ('assigned', 'working') AND t.due_at < now()
                        AND i.status <> 'parked') AS overdue_now
FROM incident_task t JOIN incident i ON i.id = t.incident_id
WHERE {only} AND left(i.community_code, 6) = :region AND i.reported_at >= :start
  AND i.reported_at < :end AND i.merged_into IS NULL
GROUP BY t.{key}
"""
PLAIN_KEYS = {
    "street": "street_code",
    "community": "community_code",
    "grid": "grid_code",
    "category": "category",
}


def plain(conn: Any, group_by: str, period: stats.Period) -> list[Any]:
    """The figures by a plain ``GROUP BY``."""
    params = {"region": DISTRICT, "start": period.start, "end": period.end}
    if group_by == "department":
        sql = PLAIN_TASKS.format(key="assignee_code", only="t.assignee_kind = 'department'")
    elif group_by == "worker":
        sql = PLAIN_TASKS.format(key="answered_by_person", only="t.answered_by_person IS NOT NULL")
    else:
        sql = PLAIN_INCIDENTS.format(key=PLAIN_KEYS[group_by])
    return list(conn.execute(text(sql), params).all())


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``call`` took, and what it returned."""
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def cold_and_warm(engine: Engine, call: Callable[[Any], Any]) -> tuple[float, float, Any]:
    """The first call on a new connection, and the median of the next runs."""
    engine.dispose()
    with Session(engine) as session:
        cold, result = timed(lambda: call(session))
        warm = statistics.median(timed(lambda: call(session))[0] for _ in range(RUNS))
    return cold, warm, result


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(settings: Settings, url: str) -> tuple[Any, int]:
    """gridmap on a local port in a thread, against the bench database."""
    import uvicorn

    from gridmap.main import create_app

    local = settings.model_copy(deep=True)
    local.db.url = url
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(local), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, port


def http_times(port: int, group_by: str, fmt: str = "json") -> tuple[float, float, int]:
    """The first request and the median of the next, on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    path = (
        f"/api/v1/stats/incidents?group_by={group_by}&month={MONTH}&region={DISTRICT}&format={fmt}"
    )

    def get() -> int:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, body[:300]
        return len(body)

    cold, size = timed(get)
    warm = statistics.median(timed(get)[0] for _ in range(RUNS))
    conn.close()
    return cold, warm, size


def build(engine: Engine, settings: Settings, rows: int) -> None:
    """The demo data set, ``rows`` incidents over its grids and their tasks, analysed."""
    load_dataset(engine, settings.api.data_dir, commit=True)
    with engine.begin() as conn:
        grids = conn.execute(text("SELECT count(*) FROM grid WHERE valid_to IS NULL")).scalar_one()
        cats = conn.execute(text("SELECT count(*) FROM incident_category")).scalar_one()
        conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        for statement in GENERATE.split(";\n\n"):
            conn.execute(text(statement), {"rows": rows, "grids": grids, "cats": cats})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE incident"))
        conn.execute(text("VACUUM ANALYZE incident_task"))


def assessment(settings: Settings, rows: int) -> None:
    """Build the database, time every group both ways and over HTTP, print the table."""
    with scratch_database(settings.db, NAME) as url:
        engine = make_engine(url)
        t0 = time.perf_counter()
        build(engine, settings, rows)
        with engine.connect() as conn:
            incidents, tasks, in_month = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM incident), (SELECT count(*) FROM incident_task),"
                    " (SELECT count(*) FROM incident WHERE reported_at >= :s AND reported_at < :e)"
                ),
                {
                    "s": stats.month_period(MONTH, settings.api.timezone).start,
                    "e": stats.month_period(MONTH, settings.api.timezone).end,
                },
            ).one()
        print(
            f"built in {time.perf_counter() - t0:.0f} s: {incidents:,} incidents, {tasks:,} "
            f"tasks; district {DISTRICT}, {MONTH}: {in_month:,} incidents"
        )
        period = stats.month_period(MONTH, settings.api.timezone)
        server, port = serve(settings, url)
        header = (
            f"{'group_by':<11} {'groups':>6}  {'gridmap cold':>12} {'warm':>8}  "
            f"{'HTTP cold':>9} {'warm':>8}  {'plain SQL cold':>14} {'warm':>8}  {'ratio':>6}"
        )
        print(header)
        try:
            for group_by in GROUPS:
                g_cold, g_warm, result = cold_and_warm(
                    engine,
                    lambda s, g=group_by: stats.figures(
                        s, principal=ADMIN, group_by=g, region=DISTRICT, period=period
                    ),
                )
                p_cold, p_warm, rows_plain = cold_and_warm(
                    engine, lambda s, g=group_by: plain(s, g, period)
                )
                by_key = {r.key: r for r in rows_plain}
                agree = len(by_key) == len(result["groups"]) and all(
                    by_key[g["key"]].incidents == g["incidents"]
                    and by_key[g["key"]].closed == g["closed"]
                    for g in result["groups"]
                )
                h_cold, h_warm, _ = http_times(port, group_by)
                print(
                    f"{group_by:<11} {len(result['groups']):>6}  {g_cold * 1000:>10.0f}ms "
                    f"{g_warm * 1000:>6.0f}ms  {h_cold * 1000:>7.0f}ms {h_warm * 1000:>6.0f}ms  "
                    f"{p_cold * 1000:>12.0f}ms {p_warm * 1000:>6.0f}ms  "
                    f"{g_warm / p_warm:>5.2f}x{'' if agree else '  ANSWERS DIFFER'}"
                )
            for fmt in ("csv", "xlsx"):
                cold, warm, size = http_times(port, "worker", fmt)
                print(
                    f"worker as {fmt}: {size:,} bytes, HTTP cold {cold * 1000:.0f} ms, "
                    f"warm {warm * 1000:.0f} ms"
                )
        finally:
            server.should_exit = True
            time.sleep(0.5)
            engine.dispose()


def paint() -> None:
    """The board's first paint, from bench/board_paint.py when it is there."""
    try:
        sys.path.insert(0, str(ROOT / "bench"))
        import board_paint  # type: ignore[import-not-found]
    except ImportError:
        print("the first-paint half is bench/board_paint.py, not here yet")
        return
    board_paint.main()


def main() -> None:
    """Time the parts asked for."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("assessment", "paint", "all"), default="all")
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    if args.part in ("assessment", "all"):
        assessment(Settings(), args.rows)
    if args.part in ("paint", "all"):
        paint()


if __name__ == "__main__":
    main()
