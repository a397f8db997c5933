"""One machine, a province: a synthetic province of 100,000 grids and 20,000,000 incidents over
ten years, and the speed goals of issue 20 measured on it, each beside its alternative.

Run: ``.venv/bin/python bench/scale.py [--incidents 2e7] [--seed 20] [--rebuild] [--drop]``

The province is generated, not shipped, into a database of its own on the embedded cluster
(``gridmap_scale``, migrated with the project's migrations, so it has the real schema; it is kept
between runs and rebuilt only when its size or seed differ, or with ``--rebuild``):

- 100 districts (``99CCDD``: province 99 is not a real one) × 10 streets × 10 communities, each
  community a 0.01° square of the 1°×1° box 104–105°E, 30–31°N; every name says 模拟 (generated);
- 10 grids per community (100,000): a 5 × 2 lattice whose inner vertices are jittered (seeded
  numpy), so the grids are irregular quadrilaterals that tessellate their community, COPYed in
  as EWKB;
- ``--incidents`` incidents over 2016–2025 (China time), generated IN the database by
  ``INSERT … SELECT generate_series`` a year at a time: a point inside its grid (the grid's
  corners blended with random weights), a category from the real category table, states by age
  (the last two months still open, a few old ones stuck in handling), times, scores and rework;
  and a split sub-task (分单 to the grid) for one in ten incidents past dispatch. Plain indexes
  are dropped while a big batch goes in and built again after it; when migration 0016 makes
  ``incident`` partitioned by month, every month's partition is made first
  (``gridmap_incident_month``) and ``incident_key`` is written set-based;
- ``flat.incident``: an unpartitioned copy (``CREATE TABLE … AS``) with the same indexes. A
  session whose ``search_path`` is ``flat, public`` runs gridmap's own code on the copy.

Goals, each printed with its figure and the alternative in the same run (warm: the median of 7
calls on one connection after the first; cold: the first call on a new connection, caches not
dropped):

1. the assessment of one street-month (``gridmap.services.stats.figures``, by community, for one
   street and December 2024) ≤ 200 ms; alternatives: the same code on the unpartitioned copy,
   and a plain SQL ``GROUP BY`` on the copy;
2. a paged list of a grid's open incidents (the API's list query, ``state=handling``, page 1 of
   50) ≤ 50 ms; alternatives: the same on the copy, plain SQL on the copy;
3. the command centre's board of a street (every queue's count and the first page of 50 of
   ``to_accept``, ``gridmap.queries.board``) and a grid worker's own queue (``mine``); no goal
   set by the issue; alternative: a plain SQL count of the same queues on the copy;
4. intake p50 (``POST /api/v1/incidents`` over HTTP, uvicorn on loopback, sequential, 200
   requests to each, in turn) with the full table vs a demo-size table (300 incidents, the
   demo's count) on the same province in a second database (``gridmap_scale_demo_size``);
5. the 1,000,000-grid country lookup: ``bench/lookup_country.py`` (the index's own bench), run
   from here when it is there.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import shapely  # noqa: E402

from gridmap import migrate  # noqa: E402
from gridmap.auth import Principal, create_token  # noqa: E402
from gridmap.database import (  # noqa: E402
    database_url,
    drop_database,
    embedded_cluster,
    ensure_database,
    make_engine,
)
from gridmap.queries import board  # noqa: E402
from gridmap.queries.incidents import IncidentFilter  # noqa: E402
from gridmap.services import incidents as incident_service  # noqa: E402
from gridmap.services import stats  # noqa: E402
from gridmap.settings import Settings  # noqa: E402

NAME = "gridmap_scale"
SMALL = "gridmap_scale_demo_size"
PROVINCE = "99"
LON0, LAT0 = 104.0, 30.0
SIDE = 0.01  # a community's side in degrees (about 960 m × 1,110 m here)
N = 100  # communities per side of the province
GRID_COLS, GRID_ROWS = 5, 2
JITTER = 0.25  # of a grid cell's width/height, for the lattice's inner vertices
FIRST_YEAR, YEARS = 2016, 10
DEMO_SIZE = 300
MONTH = "2024-12"
RUNS = 7
INTAKE_REQUESTS = 200
ADMIN = Principal(role="admin", region=None, name="bench", authenticated=True)
GOALS_MS = {"assessment": 200.0, "list": 50.0}


# ----------------------------------------------------------------------------- the province


def district_code(d: int) -> str:
    """District ``d`` (0–99): city ``d // 10 + 1``, county ``d % 10 + 1`` of province 99."""
    return f"{PROVINCE}{d // 10 + 1:02d}{d % 10 + 1:02d}"


def community_cell(row: int, col: int) -> tuple[str, str, str]:
    """District, street and community codes of the community in ``row`` (north first), ``col``.

    A district is a 10 × 10 block of communities; a street is one row of its block.
    """
    district = district_code((row // 10) * 10 + col // 10)
    street = f"{district}{row % 10 + 1:03d}"
    return district, street, f"{street}{col % 10 + 1:03d}"


def box(row: int, col: int, rows: int = 1, cols: int = 1) -> str:
    """A rectangle of communities as WKT (row 0 is the north edge)."""
    x0, x1 = LON0 + col * SIDE, LON0 + (col + cols) * SIDE
    y1 = LAT0 + (N - row) * SIDE
    y0 = y1 - rows * SIDE
    return f"MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


def region_rows() -> list[tuple[str, str, str, str | None, str]]:
    """Every region: (code, level, name, parent code, geometry as WKT)."""
    out: list[tuple[str, str, str, str | None, str]] = []
    for d in range(N):
        br, bc = (d // 10) * 10, (d % 10) * 10
        dcode = district_code(d)
        out.append((dcode, "district", f"模拟第{d + 1:02d}区", None, box(br, bc, 10, 10)))
        for s in range(10):
            scode = f"{dcode}{s + 1:03d}"
            out.append(
                (
                    scode,
                    "street",
                    f"模拟第{d + 1:02d}区第{s + 1:02d}街道",
                    dcode,
                    box(br + s, bc, 1, 10),
                )
            )
            for c in range(10):
                out.append(
                    (
                        f"{scode}{c + 1:03d}",
                        "community",
                        f"模拟第{d + 1:02d}区{s + 1:02d}街道第{c + 1:02d}社区",
                        scode,
                        box(br + s, bc + c),
                    )
                )
    return out


def grid_lattice(seed: int) -> np.ndarray:
    """The vertices of every community's grid lattice: (N, N, GRID_ROWS + 1, GRID_COLS + 1, 2).

    Inner vertices move by up to ``JITTER`` of a cell in both directions; vertices on a
    community's edge move along it only; corners stay. Neighbouring grids share their vertices.
    """
    rng = np.random.default_rng(seed)
    w, h = SIDE / GRID_COLS, SIDE / GRID_ROWS
    jr = np.arange(GRID_ROWS + 1)
    ic = np.arange(GRID_COLS + 1)
    rows = np.arange(N)[:, None, None, None]
    cols = np.arange(N)[None, :, None, None]
    shape = (N, N, GRID_ROWS + 1, GRID_COLS + 1)
    x = np.broadcast_to(LON0 + cols * SIDE + ic[None, None, None, :] * w, shape)
    y = np.broadcast_to(LAT0 + (N - rows) * SIDE - jr[None, None, :, None] * h, shape)
    dx = rng.uniform(-JITTER, JITTER, x.shape) * w
    dy = rng.uniform(-JITTER, JITTER, y.shape) * h
    inner_x = (ic > 0) & (ic < GRID_COLS)
    inner_y = (jr > 0) & (jr < GRID_ROWS)
    dx *= inner_x[None, None, None, :]
    dy *= inner_y[None, None, :, None]
    return np.stack([x + dx, y + dy], axis=-1)


def grid_polygons(lattice: np.ndarray) -> tuple[list[str], list[str], np.ndarray]:
    """Codes, community codes and corner coordinates (n, 4, 2: NW, NE, SE, SW) of every grid,
    numbered west → east, north → south inside its community."""
    codes: list[str] = []
    communities: list[str] = []
    corners = np.empty((N * N * GRID_ROWS * GRID_COLS, 4, 2))
    k = 0
    for row in range(N):
        for col in range(N):
            _, _, community = community_cell(row, col)
            v = lattice[row, col]
            for j in range(GRID_ROWS):
                for i in range(GRID_COLS):
                    corners[k] = (v[j, i], v[j, i + 1], v[j + 1, i + 1], v[j + 1, i])
                    codes.append(f"{community}{j * GRID_COLS + i + 1:03d}")
                    communities.append(community)
                    k += 1
    return codes, communities, corners


def copy_rows(conn: Any, sql: str, rows: Iterator[str]) -> None:
    """COPY tab-separated ``rows`` with ``sql`` (``COPY … FROM STDIN``) on a raw psycopg link."""
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(sql) as copy:
        buf = io.StringIO()
        for n, line in enumerate(rows, 1):
            buf.write(line)
            if n % 20_000 == 0:
                copy.write(buf.getvalue())
                buf = io.StringIO()
        copy.write(buf.getvalue())


def build_map(engine: Engine, seed: int) -> None:
    """Regions and grids of the province (grid pieces follow by the grid trigger)."""
    lattice = grid_lattice(seed)
    codes, communities, corners = grid_polygons(lattice)
    rings = np.concatenate([corners, corners[:, :1]], axis=1)
    polygons = shapely.polygons(rings)
    invalid = int((~shapely.is_valid(polygons)).sum())
    if invalid:
        raise SystemExit(f"{invalid} generated grids are not valid polygons")
    multis = shapely.multipolygons(polygons, indices=np.arange(len(polygons)))
    ewkb = shapely.to_wkb(shapely.set_srid(multis, 4326), hex=True, include_srid=True)
    with engine.begin() as conn:
        copy_rows(
            conn,
            "COPY region (code, level, name, parent_code, geom, label_point, source) FROM STDIN",
            (
                f"{c}\t{lv}\t{nm}\t{p or chr(92) + 'N'}\tSRID=4326;{g}\t\\N\tbench/scale.py\n"
                for c, lv, nm, p, g in region_rows()
            ),
        )
        conn.execute(text("UPDATE region SET label_point = ST_PointOnSurface(geom)"))
        copy_rows(
            conn,
            "COPY grid (code, community_code, name, kind, households, geom, source, note) "
            "FROM STDIN",
            (
                f"{code}\t{com}\t模拟网格{code[-3:]}\tbasic\t400\t{g}\tbench/scale.py\tgenerated\n"
                for code, com, g in zip(codes, communities, ewkb, strict=True)
            ),
        )
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS bench"))
        conn.execute(
            text(
                "CREATE TABLE bench.grid (n int PRIMARY KEY, code text, community_code text, "
                "ax float8, ay float8, bx float8, by float8, cx float8, cy float8, dx float8, "
                "dy float8)"
            )
        )
        copy_rows(
            conn,
            "COPY bench.grid FROM STDIN",
            (
                f"{n}\t{code}\t{com}\t"
                + "\t".join(repr(float(v)) for v in corners[n].ravel())
                + "\n"
                for n, (code, com) in enumerate(zip(codes, communities, strict=True))
            ),
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("region", "grid", "grid_piece", "bench.grid"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))


# ----------------------------------------------------------------------------- incidents

# One year of incidents, ``:lo`` … ``:hi`` of the whole run's numbers, reported in ``:year``.
INCIDENTS = """
INSERT INTO incident (category, severity, grid_code, community_code, street_code, status,
                      reported_at, dispatched_at, due_at, closed_at, score, returned_count,
                      dispatch_mode, owner_code, geom, idempotency_key, description)
SELECT c.codes[1 + s.cn], (ARRAY['general', 'general', 'general', 'important', 'urgent'])[1 + s.sv],
       g.code, g.community_code, left(g.community_code, 9), s.state, s.rep,
       CASE WHEN s.state NOT IN ('reported', 'queued') THEN s.rep + interval '1 hour' END,
       CASE WHEN s.state NOT IN ('reported', 'queued') THEN s.rep + interval '49 hours' END,
       CASE WHEN s.state IN ('closed', 'evaluated', 'cancelled')
            THEN s.rep + interval '1 hour' + s.r_hours * interval '96 hours' END,
       CASE WHEN s.state = 'evaluated' THEN 60 + floor(s.r_score * 41)::int END,
       CASE WHEN s.r_rework < 0.1 AND s.state IN ('closed', 'evaluated') THEN 1 ELSE 0 END,
       CASE WHEN s.state NOT IN ('reported', 'queued') THEN 'claim' END,
       CASE WHEN s.state = 'reported' THEN NULL
            WHEN s.state = 'queued' THEN left(g.community_code, 6)
            ELSE left(g.community_code, 9) END,
       ST_SetSRID(ST_MakePoint(
           (1 - s.u) * (1 - s.v) * g.ax + s.u * (1 - s.v) * g.bx + s.u * s.v * g.cx
               + (1 - s.u) * s.v * g.dx,
           (1 - s.u) * (1 - s.v) * g.ay + s.u * (1 - s.v) * g.by + s.u * s.v * g.cy
               + (1 - s.u) * s.v * g.dy), 4326),
       'scale-' || s.i, '模拟事件（bench/scale.py 生成）'
FROM (
    SELECT i, floor(random() * CAST(:grids AS int))::int AS gn,
           floor(random() * CAST(:cats AS int))::int AS cn,
           floor(random() * 5)::int AS sv, rep,
           CASE WHEN rep >= CAST(:open_from AS timestamptz) THEN
                    CASE WHEN x < 0.05 THEN 'reported' WHEN x < 0.10 THEN 'queued'
                         WHEN x < 0.20 THEN 'dispatched' WHEN x < 0.55 THEN 'handling'
                         WHEN x < 0.70 THEN 'resolved' WHEN x < 0.85 THEN 'closed'
                         ELSE 'evaluated' END
                ELSE CASE WHEN x < 0.003 THEN 'handling' WHEN x < 0.03 THEN 'cancelled'
                          WHEN x < 0.55 THEN 'closed' ELSE 'evaluated' END END AS state,
           random() AS r_hours, random() AS r_score, random() AS r_rework,
           0.05 + 0.9 * random() AS u, 0.05 + 0.9 * random() AS v
    FROM (SELECT i, random() AS x, y0 + random() * (y1 - y0) AS rep
          FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) i,
               (SELECT make_timestamptz(y, 1, 1, 0, 0, 0, 'Asia/Shanghai') AS y0,
                       make_timestamptz(y + 1, 1, 1, 0, 0, 0, 'Asia/Shanghai') AS y1
                FROM (SELECT CAST(:year AS int) AS y) yy) bounds) r
) s
JOIN bench.grid g ON g.n = s.gn
CROSS JOIN (SELECT array_agg(code ORDER BY code) AS codes FROM incident_category) c
"""

# A split task (分单) to the grid for one in ten incidents past dispatch.
TASKS = """
INSERT INTO incident_task (incident_id, kind, assignee_kind, assignee_code, assignee_name, state,
                           created_at, due_at, answered_at, answered_by, returned_count)
SELECT i.id, 'split', 'grid', i.grid_code, i.grid_code,
       CASE WHEN i.status IN ('resolved', 'closed', 'evaluated') THEN 'answered' ELSE 'working' END,
       i.dispatched_at, i.due_at,
       CASE WHEN i.status IN ('closed', 'evaluated') THEN i.closed_at - interval '30 minutes'
            WHEN i.status = 'resolved' THEN i.dispatched_at + interval '20 hours' END,
       CASE WHEN i.status IN ('resolved', 'closed', 'evaluated') THEN 'bench' END,
       i.returned_count
FROM incident i
WHERE i.status NOT IN ('reported', 'queued', 'cancelled') AND i.id % 10 = 0
  AND i.idempotency_key LIKE 'scale-%' AND i.id > :after
"""


def has(conn: Any, sql: str) -> bool:
    """Whether ``sql`` (a catalogue probe) answers true."""
    return bool(conn.execute(text(sql)).scalar_one())


def partitioned(conn: Any) -> bool:
    """Whether ``incident`` is a partitioned table (migration 0016)."""
    return has(conn, "SELECT relkind = 'p' FROM pg_class WHERE oid = 'public.incident'::regclass")


def plain_indexes(conn: Any, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the indexes of ``table`` that back no constraint."""
    rows = conn.execute(
        text(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i WHERE i.indrelid = CAST(:t AS regclass) AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
        ),
        {"t": table},
    ).all()
    return [(r[0], r[1].replace(" ON ONLY ", " ON ")) for r in rows]


def add_incidents(engine: Engine, *, lo: int, count: int, log: Callable[[str], None]) -> None:
    """Incidents ``lo`` … ``lo + count - 1`` (spread over the ten years) and their tasks."""
    if count <= 0:
        return
    big = count > 200_000
    with engine.begin() as conn:
        grids = conn.execute(text("SELECT count(*) FROM bench.grid")).scalar_one()
        cats = conn.execute(text("SELECT count(*) FROM incident_category")).scalar_one()
        after = conn.execute(text("SELECT coalesce(max(id), 0) FROM incident")).scalar_one()
        by_month = partitioned(conn)
        if by_month and has(
            conn, "SELECT count(*) > 0 FROM pg_proc WHERE proname = 'gridmap_incident_month'"
        ):
            conn.execute(
                text(
                    "SELECT gridmap_incident_month(m::date) FROM generate_series("
                    "CAST(:a AS date), CAST(:b AS date), interval '1 month') m"
                ),
                {"a": f"{FIRST_YEAR}-01-01", "b": f"{FIRST_YEAR + YEARS - 1}-12-01"},
            )
        keyed = has(conn, "SELECT to_regclass('public.incident_key') IS NOT NULL")
        dropped = plain_indexes(conn, "public.incident") if big else []
        for name, _ in dropped:
            conn.execute(text(f"DROP INDEX {name}"))
        # Without row triggers (and foreign-key checks) for the bulk: the bench writes
        # ``incident_key`` itself below, set-based, as a bulk import does.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("SELECT setseed(:s)"), {"s": (lo % 1000) / 1000.0})
        per_year = count // YEARS
        done = 0
        for y in range(YEARS):
            n = per_year if y < YEARS - 1 else count - per_year * (YEARS - 1)
            t = time.perf_counter()
            conn.execute(
                text(INCIDENTS),
                {
                    "lo": lo + done,
                    "hi": lo + done + n - 1,
                    "year": FIRST_YEAR + y,
                    "grids": grids,
                    "cats": cats,
                    "open_from": f"{FIRST_YEAR + YEARS - 1}-11-01 00:00+08",
                },
            )
            done += n
            if big:
                log(f"  {FIRST_YEAR + y}: {n:,} incidents in {time.perf_counter() - t:.0f} s")
        if keyed:
            t = time.perf_counter()
            conn.execute(
                text(
                    "INSERT INTO incident_key (id, idempotency_key, reported_at) "
                    "SELECT id, idempotency_key, reported_at FROM incident WHERE id > :after"
                ),
                {"after": after},
            )
            if big:
                log(f"  incident_key: {time.perf_counter() - t:.0f} s")
        t = time.perf_counter()
        conn.execute(text(TASKS), {"after": after})
        if big:
            log(f"  sub-tasks: {time.perf_counter() - t:.0f} s")
        for name, definition in dropped:
            t = time.perf_counter()
            conn.execute(text(definition))
            log(f"  index {name}: {time.perf_counter() - t:.0f} s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("incident", "incident_task") + (("incident_key",) if keyed else ()):
            conn.execute(text(f"VACUUM ANALYZE {table}"))


def build_flat(engine: Engine, log: Callable[[str], None]) -> None:
    """``flat.incident``: an unpartitioned copy of ``incident`` with the same indexes."""
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS flat CASCADE"))
        conn.execute(text("CREATE SCHEMA flat"))
        t = time.perf_counter()
        conn.execute(text("CREATE TABLE flat.incident AS SELECT * FROM public.incident"))
        conn.execute(text("ALTER TABLE flat.incident ADD PRIMARY KEY (id)"))
        log(f"  copy: {time.perf_counter() - t:.0f} s")
        for name, definition in plain_indexes(conn, "public.incident"):
            short = name.split(".")[-1]
            conn.execute(
                text(
                    definition.replace(f"INDEX {short} ON", f"INDEX {short} ON", 1)
                    .replace(" ON public.incident ", " ON flat.incident ")
                    .replace(f"INDEX {short} ", f"INDEX flat_{short} ")
                )
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE flat.incident"))


def built_as(engine: Engine) -> dict[str, Any] | None:
    """What the kept bench database was built with, if it is complete."""
    try:
        with engine.connect() as conn:
            if not has(conn, "SELECT to_regclass('bench.meta') IS NOT NULL"):
                return None
            row = conn.execute(text("SELECT info FROM bench.meta")).scalar_one_or_none()
            return dict(row) if row else None
    except Exception:
        return None


# ----------------------------------------------------------------------------- measuring


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``call`` took, and what it returned."""
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def cold_and_warm(engine: Engine, call: Callable[[Session], Any]) -> tuple[float, float, Any]:
    """The first call on a new connection, and the median of the next runs."""
    engine.dispose()
    with Session(engine) as session:
        cold, result = timed(lambda: call(session))
        warm = statistics.median(timed(lambda: call(session))[0] for _ in range(RUNS))
    return cold, warm, result


PLAIN_STREET = """
SELECT community_code AS key, count(*) AS incidents,
       count(*) FILTER (WHERE closed_at IS NOT NULL) AS closed,
       count(*) FILTER (WHERE closed_at <= due_at) AS on_time,
       count(*) FILTER (WHERE returned_count > 0) AS reworked,
       avg(score) AS satisfaction,
       avg(extract(epoch FROM closed_at - reported_at) / 3600.0) AS mean_hours
FROM flat.incident
WHERE left(community_code, 9) = :region AND reported_at >= :start AND reported_at < :end
  AND merged_into IS NULL
GROUP BY community_code
"""
# The board's queues without sub-tasks, counted by hand on the unpartitioned copy.
PLAIN_BOARD = """
SELECT count(*) FILTER (WHERE status = 'reported'
                        AND coalesce(grid_code, community_code, street_code) LIKE :prefix)
           AS to_accept,
       count(*) FILTER (WHERE status = 'pooled' AND owner_code LIKE :prefix) AS pool,
       count(*) FILTER (WHERE status = 'queued' AND owner_code LIKE :prefix) AS to_dispatch,
       count(*) FILTER (WHERE owner_code LIKE :prefix AND status <> 'parked'
                        AND due_at < now()) AS overdue,
       count(*) FILTER (WHERE status = 'resolved' AND owner_code = :region) AS to_verify
FROM flat.incident WHERE status NOT IN ('closed', 'evaluated', 'cancelled')
"""
PLAIN_MINE = """
SELECT count(DISTINCT t.incident_id)
FROM incident_task t JOIN flat.incident i ON i.id = t.incident_id
WHERE t.state IN ('assigned', 'working') AND t.assignee_kind = 'grid' AND t.assignee_code = :grid
  AND i.status NOT IN ('closed', 'evaluated', 'cancelled')
"""
PLAIN_LIST = """
SELECT id, category, status, reported_at, ST_AsGeoJSON(geom) AS geom,
       count(*) OVER () AS matched
FROM flat.incident WHERE grid_code = :grid AND status = 'handling'
ORDER BY id DESC LIMIT 50
"""


def ids(page: dict[str, Any]) -> list[int]:
    """The incident ids of a page of features, in order."""
    return [int(f["properties"]["id"]) for f in page["features"]]


def fmt_ms(seconds: float) -> str:
    """Milliseconds with a sensible number of digits."""
    ms = seconds * 1000
    return f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"


@contextmanager
def served(settings: Settings, database: str) -> Iterator[int]:
    """gridmap on a loopback port in a thread, against ``database``."""
    import socket

    import uvicorn

    from gridmap.main import create_app

    local = settings.model_copy(deep=True)
    local.db.embedded_db = database
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(local), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def intake(settings: Settings, targets: dict[str, Engine], seed: int) -> dict[str, list[float]]:
    """Seconds of ``INTAKE_REQUESTS`` sequential reports over HTTP to each database of
    ``targets`` (a server each), sent in turn (one to each, then the next), so a busy machine
    slows both alike; the tokens are deleted again afterwards."""
    import httpx

    rng = random.Random(seed)
    times: dict[str, list[float]] = {name: [] for name in targets}
    cleanup: list[tuple[Engine, int]] = []
    with ExitStack() as stack:
        clients: dict[str, Any] = {}
        for name, engine in targets.items():
            with Session(engine) as db, db.begin():
                secret, token_id = create_token(db, name="bench/scale.py", role="admin")
                corners = db.execute(text("SELECT ax, ay, cx, cy FROM bench.grid ORDER BY n")).all()
                cat = db.execute(text("SELECT min(code) FROM incident_category")).scalar_one()
            cleanup.append((engine, token_id))
            port = stack.enter_context(served(settings, name))
            clients[name] = stack.enter_context(
                httpx.Client(
                    base_url=f"http://127.0.0.1:{port}",
                    headers={"Authorization": f"Bearer {secret}"},
                    timeout=60,
                )
            )
        for n in range(INTAKE_REQUESTS + 5):
            ax, ay, cx, cy = corners[rng.randrange(len(corners))]
            body = {
                "x": (ax + cx) / 2,
                "y": (ay + cy) / 2,
                "category": cat,
                "description": "模拟上报（bench/scale.py）",
            }
            for name, http in clients.items():
                key = f"scale-intake-{n}-{time.time_ns()}"
                t, answer = timed(
                    lambda h=http, k=key, b=body: h.post(
                        "/api/v1/incidents", json=b, headers={"Idempotency-Key": k}
                    )
                )
                if answer.status_code != 201:
                    raise SystemExit(f"intake answered {answer.status_code}: {answer.text[:300]}")
                if n >= 5:  # the first few warm the connection pool and the server
                    times[name].append(t)
    # The reports stay (205 rows beside millions): deleting an incident makes PostgreSQL check
    # every incident's merged_into, which has no index, so it costs a full scan per row.
    for engine, token_id in cleanup:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM api_token WHERE id = :id"), {"id": token_id})
    return times


def quantiles(times: list[float]) -> tuple[float, float]:
    """p50 and p95."""
    ordered = sorted(times)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def province(
    settings: Settings,
    name: str,
    *,
    total: int,
    seed: int,
    rebuild: bool,
    log: Callable[[str], None],
) -> tuple[Engine, dict[str, Any]]:
    """The province in database ``name`` with ``total`` incidents (and their flat copy when
    more than the demo's), kept from an earlier run when it was built the same way."""
    url = database_url(settings.db, name)
    want = {"incidents": total, "seed": seed, "grids": N * N * GRID_ROWS * GRID_COLS}
    if not rebuild:
        engine = make_engine(url)
        have = built_as(engine)
        if have is not None and all(have.get(k) == v for k, v in want.items()):
            log(f"kept {name}: built {have['built']} in {have['seconds']:.0f} s")
            return engine, have
        engine.dispose()
    drop_database(settings.db, name)
    ensure_database(settings.db, name)
    migrate.upgrade(url)
    engine = make_engine(url)
    t0 = time.perf_counter()
    build_map(engine, seed)
    t_map = time.perf_counter() - t0
    log(f"{name}: 100 districts, 1,000 streets, 10,000 communities, 100,000 grids in {t_map:.0f} s")
    t1 = time.perf_counter()
    add_incidents(engine, lo=1, count=total, log=log)
    t_inc = time.perf_counter() - t1
    t2 = time.perf_counter()
    if total > DEMO_SIZE:
        build_flat(engine, log)
    info = {
        **want,
        "built": time.strftime("%Y-%m-%d %H:%M"),
        "seconds": time.perf_counter() - t0,
        "map_seconds": t_map,
        "incident_seconds": t_inc,
        "flat_seconds": time.perf_counter() - t2,
    }
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench.meta (info jsonb)"))
        conn.execute(text("DELETE FROM bench.meta"))
        conn.execute(
            text("INSERT INTO bench.meta VALUES (CAST(:i AS jsonb))"), {"i": json.dumps(info)}
        )
    return engine, info


def sizes(engine: Engine) -> dict[str, int]:
    """Bytes on disk of the incidents (with partitions and indexes) and of the flat copy."""
    with engine.connect() as conn:
        part = conn.execute(
            text(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "WHERE c.oid = 'public.incident'::regclass OR c.oid IN "
                "(SELECT inhrelid FROM pg_inherits WHERE inhparent = 'public.incident'::regclass)"
            )
        ).scalar_one()
        flat = conn.execute(
            text("SELECT coalesce(pg_total_relation_size(to_regclass('flat.incident')), 0)")
        ).scalar_one()
        whole = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    return {"incident": int(part), "flat": int(flat), "database": int(whole)}


def country(args: argparse.Namespace) -> str:
    """The 1,000,000-grid country lookup, from the index's own bench when it is there."""
    script = ROOT / "bench" / "lookup_country.py"
    if not script.exists():
        return (
            "not measured here: bench/lookup_country.py (the index's bench) is not on this branch"
        )
    if args.skip_country:
        return "skipped (--skip-country); run bench/lookup_country.py"
    result = subprocess.run(
        [sys.executable, str(script), "--grids", "1000000"],
        capture_output=True,
        text=True,
        check=False,
    )
    out = result.stdout.strip() or result.stderr.strip()
    return out if result.returncode == 0 else f"bench/lookup_country.py failed:\n{out}"


def main() -> None:
    """Build (or reuse) the province, then measure and print every goal."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--incidents", type=float, default=2e7)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--rebuild", action="store_true", help="build even when the kept one fits")
    ap.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    ap.add_argument("--skip-country", action="store_true")
    ap.add_argument("--name", default=NAME, help="the bench database's name")
    args = ap.parse_args()
    total = int(args.incidents)
    settings = Settings()
    name = args.name
    if settings.db.url is None:
        embedded_cluster(settings.db).start()
    url = database_url(settings.db, name)

    def log(line: str) -> None:
        print(line, flush=True)

    engine, build_info = province(
        settings, name, total=total, seed=args.seed, rebuild=args.rebuild, log=log
    )
    with engine.connect() as conn:
        counts = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM incident), (SELECT count(*) FROM incident_task), "
                "(SELECT count(*) FROM grid WHERE valid_to IS NULL), "
                "(SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.incident'::regclass)"
            )
        ).one()
        inside = conn.execute(
            text(
                "SELECT avg(CASE WHEN ST_Covers(g.geom, i.geom) THEN 1.0 ELSE 0 END) FROM "
                "(SELECT geom, grid_code FROM incident TABLESAMPLE SYSTEM (0.1) LIMIT 2000) i "
                "JOIN grid g ON g.code = i.grid_code AND g.valid_to IS NULL"
            )
        ).scalar_one()
    disk = sizes(engine)
    free = shutil.disk_usage("/work").free
    log(
        f"\n{name}: {counts[2]:,} grids, {counts[0]:,} incidents "
        f"({counts[3]} partitions{'' if counts[3] else ': not partitioned'}), "
        f"{counts[1]:,} sub-tasks; {float(inside or 0) * 100:.1f} % of sampled points inside "
        f"their grid"
    )
    log(
        f"built in {build_info['seconds']:.0f} s (map {build_info.get('map_seconds', 0):.0f} s, "
        f"incidents {build_info.get('incident_seconds', 0):.0f} s, flat copy "
        f"{build_info.get('flat_seconds', 0):.0f} s); disk: incident {disk['incident'] / 1e9:.2f}"
        f" GB, flat copy {disk['flat'] / 1e9:.2f} GB, database {disk['database'] / 1e9:.2f} GB, "
        f"{free / 1e9:.0f} GB free on /work"
    )

    flat_engine = create_engine(
        url, pool_pre_ping=True, connect_args={"options": "-c search_path=flat,public"}
    )
    results: list[tuple[str, str, str, str, bool | None]] = []

    # 1. One street-month.
    street = f"{district_code(55)}005"
    period = stats.month_period(MONTH, settings.api.timezone)

    def assess(s: Session) -> Any:
        return stats.figures(s, principal=ADMIN, group_by="community", region=street, period=period)

    a_cold, a_warm, a_res = cold_and_warm(engine, assess)
    f_cold, f_warm, f_res = cold_and_warm(flat_engine, assess)
    p_cold, p_warm, p_res = cold_and_warm(
        engine,
        lambda s: s.execute(
            text(PLAIN_STREET), {"region": street, "start": period.start, "end": period.end}
        ).all(),
    )
    n_inc = sum(g["incidents"] for g in a_res["groups"])
    agree = n_inc == sum(g["incidents"] for g in f_res["groups"]) == sum(r.incidents for r in p_res)
    log(
        f"\n1. assessment of street {street}, {MONTH}: {len(a_res['groups'])} communities, "
        f"{n_inc:,} incidents{'' if agree else '  ANSWERS DIFFER'}"
    )
    log(f"   gridmap, partitioned  cold {fmt_ms(a_cold):>9}  warm {fmt_ms(a_warm):>9}")
    log(f"   gridmap, flat copy    cold {fmt_ms(f_cold):>9}  warm {fmt_ms(f_warm):>9}")
    log(f"   plain SQL, flat copy  cold {fmt_ms(p_cold):>9}  warm {fmt_ms(p_warm):>9}")
    results.append(
        (
            "street-month assessment ≤ 200 ms",
            fmt_ms(a_warm),
            f"flat {fmt_ms(f_warm)}, plain SQL {fmt_ms(p_warm)}",
            f"{p_warm / a_warm:.2f}× plain",
            a_warm * 1000 <= GOALS_MS["assessment"],
        )
    )

    # 2. A grid's open incidents, page 1 of 50.
    with engine.connect() as conn:
        grid = conn.execute(
            text(
                "SELECT grid_code FROM incident WHERE status = 'handling' "
                "GROUP BY grid_code ORDER BY count(*) DESC, grid_code LIMIT 1"
            )
        ).scalar_one()
    chosen = IncidentFilter(None, "handling", None, grid, None, None, None)

    def page(s: Session) -> Any:
        return incident_service.list_incidents(
            s, principal=ADMIN, chosen=chosen, limit=50, offset=0
        )

    l_cold, l_warm, l_res = cold_and_warm(engine, page)
    lf_cold, lf_warm, lf_res = cold_and_warm(flat_engine, page)
    lp_cold, lp_warm, lp_res = cold_and_warm(
        engine, lambda s: s.execute(text(PLAIN_LIST), {"grid": grid}).all()
    )
    agree = ids(l_res) == ids(lf_res) == [r.id for r in lp_res]
    log(
        f"\n2. open (handling) incidents of grid {grid}, page 1 of 50: "
        f"{l_res['numberReturned']} of {l_res['numberMatched']}"
        + ("" if agree else "  ANSWERS DIFFER")
    )
    log(f"   gridmap, partitioned  cold {fmt_ms(l_cold):>9}  warm {fmt_ms(l_warm):>9}")
    log(f"   gridmap, flat copy    cold {fmt_ms(lf_cold):>9}  warm {fmt_ms(lf_warm):>9}")
    log(f"   plain SQL, flat copy  cold {fmt_ms(lp_cold):>9}  warm {fmt_ms(lp_warm):>9}")
    results.append(
        (
            "grid's open incidents ≤ 50 ms",
            fmt_ms(l_warm),
            f"flat {fmt_ms(lf_warm)}, plain SQL {fmt_ms(lp_warm)}",
            f"{lp_warm / l_warm:.2f}× plain",
            l_warm * 1000 <= GOALS_MS["list"],
        )
    )

    # 3. The board of a street's command centre, and a grid worker's own queue.
    centre = board.Scope(region=street)
    everything = board.BoardFilter()

    def street_board(s: Session) -> Any:
        counts = board.counts(s, scope=centre, queues=board.CENTRE_QUEUES, chosen=everything)
        page = board.rows(s, scope=centre, queue="to_accept", chosen=everything, limit=50, offset=0)
        return counts, page

    b_cold, b_warm, (b_counts, b_page) = cold_and_warm(engine, street_board)
    bp_cold, bp_warm, bp_res = cold_and_warm(
        engine,
        lambda s: s.execute(text(PLAIN_BOARD), {"prefix": f"{street}%", "region": street}).one(),
    )
    plain = bp_res._mapping
    agree = all(b_counts[q] == plain[q] for q in plain)
    with engine.connect() as conn:
        worker_grid = conn.execute(
            text(
                "SELECT assignee_code FROM incident_task WHERE state IN ('assigned', 'working') "
                "AND assignee_kind = 'grid' GROUP BY assignee_code "
                "ORDER BY count(*) DESC, assignee_code LIMIT 1"
            )
        ).scalar_one()
    worker = board.Scope(grids=frozenset({worker_grid}))

    def mine(s: Session) -> Any:
        counts = board.counts(s, scope=worker, queues=board.TASK_QUEUES, chosen=everything)
        return counts, board.rows(
            s, scope=worker, queue="mine", chosen=everything, limit=50, offset=0
        )

    m_cold, m_warm, (m_counts, m_page) = cold_and_warm(engine, mine)
    mp_cold, mp_warm, mp_res = cold_and_warm(
        engine, lambda s: s.execute(text(PLAIN_MINE), {"grid": worker_grid}).scalar_one()
    )
    agree = agree and m_counts["mine"] == mp_res and len(m_page) == min(mp_res, 50)
    log(
        f"\n3. the board of street {street} ({b_counts['to_accept']:,} to accept, "
        f"{b_counts['overdue']:,} overdue, page of {len(b_page)}), and grid {worker_grid}'s own "
        f"queue ({m_counts['mine']} sub-tasks)" + ("" if agree else "  ANSWERS DIFFER")
    )
    log(f"   gridmap, street board cold {fmt_ms(b_cold):>9}  warm {fmt_ms(b_warm):>9}")
    log(f"   plain SQL counts, flat    cold {fmt_ms(bp_cold):>9}  warm {fmt_ms(bp_warm):>9}")
    log(f"   gridmap, worker's queue  cold {fmt_ms(m_cold):>9}  warm {fmt_ms(m_warm):>9}")
    log(f"   plain SQL count, flat    cold {fmt_ms(mp_cold):>9}  warm {fmt_ms(mp_warm):>9}")
    results.append(
        (
            "a street's board (no goal)",
            fmt_ms(b_warm),
            f"plain SQL counts {fmt_ms(bp_warm)}",
            f"{bp_warm / b_warm:.2f}× plain",
            None,
        )
    )
    results.append(
        (
            "a grid worker's queue (no goal)",
            fmt_ms(m_warm),
            f"plain SQL count {fmt_ms(mp_warm)}",
            f"{mp_warm / m_warm:.2f}× plain",
            None,
        )
    )

    # 4. Intake, against the same province with the demo's number of incidents.
    small, _ = province(
        settings, SMALL, total=DEMO_SIZE, seed=args.seed, rebuild=args.rebuild, log=log
    )
    took = intake(settings, {name: engine, SMALL: small}, args.seed)
    small.dispose()
    big_p50, big_p95 = quantiles(took[name])
    small_p50, small_p95 = quantiles(took[SMALL])
    log(f"\n4. intake, {INTAKE_REQUESTS} sequential POST /api/v1/incidents over HTTP to each")
    log(f"   {counts[0]:>12,} incidents  p50 {fmt_ms(big_p50):>9}  p95 {fmt_ms(big_p95)}")
    log(f"   {DEMO_SIZE:>12,} incidents  p50 {fmt_ms(small_p50):>9}  p95 {fmt_ms(small_p95)}")
    results.append(
        (
            "intake p50 unchanged",
            fmt_ms(big_p50),
            f"demo size {fmt_ms(small_p50)}",
            f"{big_p50 / small_p50:.2f}× demo",
            big_p50 <= small_p50 * 1.25,
        )
    )

    # 5. The country index.
    log("\n5. the 1,000,000-grid country lookup")
    log("   " + country(args).replace("\n", "\n   "))

    log(f"\n{'goal':<36} {'gridmap':>10}  {'alternative':<36} {'ratio':>12}  met")
    for goal, figure, alternative, ratio_s, met in results:
        said = "—" if met is None else "yes" if met else "NO"
        log(f"{goal:<36} {figure:>10}  {alternative:<36} {ratio_s:>12}  {said}")
    flat_engine.dispose()
    engine.dispose()
    if args.drop:
        drop_database(settings.db, name)
        drop_database(settings.db, SMALL)


if __name__ == "__main__":
    main()
