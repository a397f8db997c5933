"""Time the organisation's checks of a district against a script asking grid by grid.

Run: ``.venv/bin/python bench/org_checks.py`` (uses the embedded cluster, or DATABASE_URL's
server).

It makes a district of 2,000 grids in 20 communities (a 50 × 40 lattice), 20,000 buildings of 10
households each (200,000 households), a leader and a worker in most grids (one leader over five
grids here and there), a Party branch in 80 % of the grids, a group in half of the buildings and
a designated household per grid serving 6–24 neighbours, then times:

- service: ``gridmap.services.org_checks.warnings`` for the district (one statement per family of
  checks), the median of a few runs;
- per grid: what a script would do without it — for each grid, ask for its leader, its worker,
  its branch, its households, its buildings without a group and its designated households'
  sizes, and for each leader how many grids they lead — once.

The warnings both find are compared, and the ratio printed.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gridmap.database import make_engine, scratch_database  # noqa: E402
from gridmap.services.org_checks import Thresholds, warnings  # noqa: E402
from gridmap.settings import Settings  # noqa: E402

NAME = "gridmap_bench_org_checks"
DISTRICT = "110108"
COLS, ROWS = 50, 40
COMMUNITIES = 20
PER_GRID = 10
PER_BUILDING = 10
RUNS = 3
CELL = 0.002
LIMITS = Thresholds()


def median_time(fn: Callable[[], object], runs: int = RUNS) -> float:
    """Median wall time of ``fn`` over ``runs`` runs, after one warm-up."""
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def build(session: Session) -> None:
    """The district, its grids, buildings, households, teams and organisation (reproducible)."""
    session.execute(
        text(
            "INSERT INTO region (code, level, name, parent_code) VALUES "
            "(:d, 'district', '测试区', NULL), (:d || '010', 'street', '测试街道', :d)"
        ),
        {"d": DISTRICT},
    )
    session.execute(
        text(
            "INSERT INTO region (code, level, name, parent_code) "
            "SELECT :d || '010' || lpad(c::text, 3, '0'), 'community', '社区' || c, :d || '010' "
            "FROM generate_series(1, :n) c"
        ),
        {"d": DISTRICT, "n": COMMUNITIES},
    )
    # Grid i (0-based) sits at column i % COLS, row i / COLS; 100 grids per community.
    session.execute(
        text(
            """
            INSERT INTO grid (code, community_code, name, kind, geom)
            SELECT c || lpad((i % 100 + 1)::text, 3, '0'), c, '网格' || i, 'basic',
                   ST_Multi(ST_MakeEnvelope(116.2 + (i % :cols) * :cell, 39.9 + (i / :cols) * :cell,
                                            116.2 + (i % :cols + 1) * :cell,
                                            39.9 + (i / :cols + 1) * :cell, 4326))
            FROM generate_series(0, :cols * :rows - 1) i,
                 LATERAL (SELECT :d || '010' || lpad((i / 100 + 1)::text, 3, '0') AS c) cc
            """
        ),
        {"d": DISTRICT, "cols": COLS, "rows": ROWS, "cell": CELL},
    )
    session.execute(
        text(
            """
            INSERT INTO building (code, grid_code, community_code, households, geom)
            SELECT 'B' || lpad(g.id::text, 5, '0') || '-' || k, g.code, g.community_code, :per,
                   ST_MakeEnvelope(ST_XMin(g.geom) + k * 0.00015, ST_YMin(g.geom) + 0.0005,
                                   ST_XMin(g.geom) + k * 0.00015 + 0.0001,
                                   ST_YMin(g.geom) + 0.0006, 4326)
            FROM grid g, generate_series(1, :n) k
            """
        ),
        {"n": PER_GRID, "per": PER_BUILDING},
    )
    session.execute(
        text(
            "INSERT INTO household (building_id, unit, room) "
            "SELECT b.id, '1', r::text FROM building b, generate_series(1, :per) r"
        ),
        {"per": PER_BUILDING},
    )
    # People: one leader per grid (every 50th grid's leader also leads four more), one worker
    # for all but every 7th grid.
    session.execute(
        text(
            "INSERT INTO person (name, key) SELECT '测试人员' || i, 'p' || i "
            "FROM generate_series(1, 2 * (SELECT count(*) FROM grid)) i"
        )
    )
    session.execute(
        text(
            """
            INSERT INTO grid_staff (grid_code, role, person_id)
            SELECT g.code, 'leader', (SELECT id FROM person WHERE key = 'p' || (
                       CASE WHEN g.id % 50 < 5 THEN g.id - g.id % 50 + 1 ELSE g.id END))
            FROM grid g WHERE g.id % 13 <> 0
            ON CONFLICT DO NOTHING
            """
        )
    )
    session.execute(
        text(
            "INSERT INTO grid_staff (grid_code, role, person_id) "
            "SELECT g.code, 'worker', (SELECT id FROM person WHERE key = 'p' || (g.id + 2000)) "
            "FROM grid g WHERE g.id % 7 <> 0"
        )
    )
    session.execute(
        text(
            "INSERT INTO party_org (code, kind, name, community_code) "
            "SELECT 'C' || code, 'committee', name || '大党委', code FROM region "
            "WHERE level = 'community'"
        )
    )
    session.execute(
        text(
            """
            INSERT INTO party_org (code, kind, name, parent_id, community_code)
            SELECT 'B' || g.code, 'branch', g.name || '党支部', c.id, g.community_code
            FROM grid g JOIN party_org c ON c.community_code = g.community_code
                 AND c.kind = 'committee'
            WHERE g.id % 5 <> 0
            """
        )
    )
    session.execute(
        text(
            "INSERT INTO party_org_grid (org_id, grid_code) "
            "SELECT id, substr(code, 2) FROM party_org WHERE kind = 'branch'"
        )
    )
    session.execute(
        text(
            """
            INSERT INTO party_org (code, kind, name, parent_id, community_code)
            SELECT 'G' || b.id, 'group', b.code || '党小组', br.id, b.community_code
            FROM building b JOIN party_org br ON br.code = 'B' || b.grid_code
            WHERE b.id % 2 = 0
            """
        )
    )
    session.execute(
        text(
            "INSERT INTO party_org_building (org_id, building_id) "
            "SELECT id, substr(code, 2)::bigint FROM party_org WHERE kind = 'group'"
        )
    )
    # A designated household per grid (the first of its first building) serving 6–24 others.
    session.execute(
        text(
            """
            WITH heads AS (
                SELECT DISTINCT ON (b.grid_code) h.id, b.grid_code, b.id AS building
                FROM household h JOIN building b ON b.id = h.building_id
                ORDER BY b.grid_code, b.id, h.id
            )
            UPDATE household h SET designated = true FROM heads WHERE h.id = heads.id
            """
        )
    )
    session.execute(
        text(
            """
            WITH heads AS (
                SELECT h.id, b.grid_code, (6 + h.id % 19) AS n
                FROM household h JOIN building b ON b.id = h.building_id WHERE h.designated
            ),
            ranked AS (
                SELECT h.id, b.grid_code,
                       row_number() OVER (PARTITION BY b.grid_code ORDER BY h.id) AS k
                FROM household h JOIN building b ON b.id = h.building_id WHERE NOT h.designated
            )
            UPDATE household h SET served_by = heads.id
            FROM ranked JOIN heads ON heads.grid_code = ranked.grid_code
            WHERE h.id = ranked.id AND ranked.k <= heads.n
            """
        )
    )
    session.execute(text("ANALYZE"))


def per_grid(session: Session) -> Counter[str]:
    """The checks the way a script would ask for them: grid by grid, person by person."""
    found: Counter[str] = Counter()
    grids = session.execute(
        text(
            "SELECT code, kind FROM grid WHERE valid_to IS NULL AND left(code, 6) = :d "
            "ORDER BY code"
        ),
        {"d": DISTRICT},
    ).all()
    leaders: set[int] = set()
    for g in grids:
        for role in ("leader", "worker"):
            people = (
                session.execute(
                    text("SELECT person_id FROM grid_staff WHERE grid_code = :g AND role = :r"),
                    {"g": g.code, "r": role},
                )
                .scalars()
                .all()
            )
            if not people:
                found[f"grid_no_{role}"] += 1
            if role == "leader":
                leaders.update(int(p) for p in people)
        branch = session.execute(
            text("SELECT org_id FROM party_org_grid WHERE grid_code = :g"), {"g": g.code}
        ).first()
        if branch is None:
            found["grid_no_branch"] += 1
        buildings = session.execute(
            text(
                "SELECT b.id, b.households, (SELECT count(*) FROM household h "
                "WHERE h.building_id = b.id) AS rows, EXISTS (SELECT FROM party_org_building pb "
                "WHERE pb.building_id = b.id) AS grouped FROM building b WHERE b.grid_code = :g"
            ),
            {"g": g.code},
        ).all()
        households = sum(b.rows or b.households for b in buildings)
        if g.kind == "basic":
            if households < LIMITS.grid_households_min:
                found["grid_too_few_households"] += 1
            elif households > LIMITS.grid_households_max:
                found["grid_too_many_households"] += 1
        found["building_no_group"] += sum(
            1 for b in buildings if (b.rows or b.households) > 0 and not b.grouped
        )
        for head in session.execute(
            text(
                "SELECT h.id FROM household h JOIN building b ON b.id = h.building_id "
                "WHERE b.grid_code = :g AND h.designated"
            ),
            {"g": g.code},
        ).scalars():
            serves = session.execute(
                text("SELECT count(*) FROM household WHERE served_by = :h"), {"h": head}
            ).scalar_one()
            if serves < LIMITS.central_serves_min:
                found["central_too_few"] += 1
            elif serves > LIMITS.central_serves_max:
                found["central_too_many"] += 1
    for person in sorted(leaders):
        led = session.execute(
            text(
                "SELECT count(*) FROM grid_staff s JOIN grid g ON g.code = s.grid_code "
                "AND g.valid_to IS NULL WHERE s.person_id = :p AND s.role = 'leader'"
            ),
            {"p": person},
        ).scalar_one()
        if led > LIMITS.leader_max_grids:
            found["leader_too_many_grids"] += led
    return found


def main() -> None:
    """Build the district, time both ways, compare their findings, print the figures."""
    settings = Settings()
    with scratch_database(settings.db, NAME) as url:
        engine = make_engine(url)
        with Session(engine) as session:
            t = time.perf_counter()
            build(session)
            session.commit()
            counts = session.execute(
                text("SELECT (SELECT count(*) FROM grid), (SELECT count(*) FROM household)")
            ).one()
            print(
                f"district {DISTRICT}: {counts[0]:,} grids, {counts[1]:,} households "
                f"(built in {time.perf_counter() - t:.1f} s)"
            )
            answer = warnings(session, region=DISTRICT, limits=LIMITS)
            by_check = Counter({k: v for k, v in answer["counts"].items() if v})
            naive = per_grid(session)
            assert +naive == by_check, (naive, by_check)
            print("warnings:", ", ".join(f"{k} {v:,}" for k, v in sorted(by_check.items())))
            fast = median_time(lambda: warnings(session, region=DISTRICT, limits=LIMITS))
            slow = median_time(lambda: per_grid(session), runs=1)
            print(f"service (one statement per family of checks): {fast * 1000:,.0f} ms")
            print(f"per grid (a script's queries, grid by grid):  {slow * 1000:,.0f} ms")
            print(f"ratio: {slow / fast:.1f}×")
        engine.dispose()


if __name__ == "__main__":
    main()
