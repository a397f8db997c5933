"""Time the overdue-visit list of a street and the logging of a list's reads, each against what
one would write otherwise.

Run: ``.venv/bin/python bench/visits.py`` (uses the embedded cluster, or DATABASE_URL's server).

It makes a street of 50,000 households in 2,500 buildings over 50 grids, 8 % of them with care
tags (独居老人 most), and three months of visits, then times, each the median of several runs:

- overdue: ``gridmap.queries.care.overdue`` (the interval rule in one SQL query, GeoJSON built by
  PostGIS) against reading every tag and last visit and applying
  ``gridmap.services.care.due_at`` in Python, then fetching the overdue households' points;
  the two answers are checked equal;
- read log: ``gridmap.queries.care.log_reads`` for a list of 500 households (one INSERT …
  SELECT) against one ``gridmap.queries.audit.record`` per household.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gridmap.database import make_engine, scratch_database  # noqa: E402
from gridmap.queries import audit  # noqa: E402
from gridmap.queries import care as q  # noqa: E402
from gridmap.services.care import VisitRule, due_at, tags_of  # noqa: E402
from gridmap.settings import Settings  # noqa: E402
from gridmap.vocab.kinds import CARE_TAGS  # noqa: E402

NAME = "gridmap_bench_visits"
STREET = "110108010"
GRIDS = 50
BUILDINGS = 2_500
PER_BUILDING = 20
TAGGED = 0.08
RUNS = 7
AT = datetime(2026, 6, 15, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
RULE = VisitRule({"elderly_alone": 7}, 30, "Asia/Shanghai")


def median_time(fn: Callable[[], object]) -> float:
    """Median wall time of ``fn`` over RUNS runs, after one warm-up."""
    fn()
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def build(session: Session) -> None:
    """The street's buildings, households, care tags and visits (reproducible)."""
    session.execute(
        text(
            "INSERT INTO building (code, address, grid_code, community_code, households, geom) "
            "SELECT 'B' || lpad(i::text, 5, '0'), '测试路' || i || '号', "
            "       :street || '001' || lpad((i % :grids + 1)::text, 3, '0'), :street || '001', "
            "       :per, ST_MakeEnvelope(116.3 + (i % 50) * 0.001, 40.0 + (i / 50) * 0.001, "
            "                             116.3005 + (i % 50) * 0.001, 40.0005 + (i / 50) * 0.001, "
            "                             4326) "
            "FROM generate_series(1, :n) i"
        ),
        {"street": STREET, "grids": GRIDS, "per": PER_BUILDING, "n": BUILDINGS},
    )
    session.execute(
        text(
            "INSERT INTO household (building_id, unit, room) "
            "SELECT b.id, '1', r::text FROM building b, generate_series(1, :per) r"
        ),
        {"per": PER_BUILDING},
    )
    ids = list(session.execute(text("SELECT id FROM household ORDER BY id")).scalars())
    chance = random.Random(20261204)
    tags, visits = [], []
    weights = [4 if t == "elderly_alone" else 1 for t in CARE_TAGS]
    for h in chance.sample(ids, int(len(ids) * TAGGED)):
        chosen = sorted(set(chance.choices(CARE_TAGS, weights=weights, k=chance.randint(1, 2))))
        for tag in chosen:
            since = (AT - timedelta(days=chance.randint(30, 400))).date()
            own = chance.choice([None] * 5 + [14])
            tags.append({"h": h, "t": tag, "s": since, "i": own})
        every = 7 if "elderly_alone" in chosen else 30
        at = AT - timedelta(days=90)
        while at < AT:
            at += timedelta(days=every * chance.uniform(0.6, 1.6))
            visits.append({"h": h, "at": at})
    session.execute(
        text(
            "INSERT INTO care_tag (household_id, tag, since, interval_days) VALUES (:h, :t, :s, :i)"
        ),
        tags,
    )
    session.execute(
        text(
            "INSERT INTO visit (household_id, grid_code, at, outcome) "
            "SELECT :h, b.grid_code, :at, 'met' FROM household h "
            "JOIN building b ON b.id = h.building_id WHERE h.id = :h"
        ),
        visits,
    )
    session.commit()
    session.execute(text("ANALYZE"))


def overdue_in_python(session: Session) -> set[int]:
    """The same list, the rule applied row by row in Python."""
    tags: dict[int, list[dict[str, object]]] = {}
    for r in session.execute(
        text(
            "SELECT c.household_id, c.tag, c.since, c.interval_days FROM care_tag c "
            "JOIN household h ON h.id = c.household_id JOIN building b ON b.id = h.building_id "
            "WHERE b.grid_code LIKE :street || '%'"
        ),
        {"street": STREET},
    ).mappings():
        tags.setdefault(r["household_id"], []).append(dict(r))
    last = dict(
        session.execute(
            text(
                "SELECT household_id, max(at) FROM visit WHERE at <= :at AND outcome <> 'not_home' "
                "AND household_id = ANY(:ids) GROUP BY household_id"
            ),
            {"at": AT, "ids": list(tags)},
        ).all()
    )
    late = []
    for h, rows in tags.items():
        due = due_at(RULE, tags_of(rows), last.get(h))
        if due is not None and due < AT:
            late.append(h)
    points = session.execute(
        text(
            "SELECT h.id, ST_AsGeoJSON(ST_PointOnSurface(b.geom)) FROM household h "
            "JOIN building b ON b.id = h.building_id WHERE h.id = ANY(:ids)"
        ),
        {"ids": late},
    ).all()
    return {int(r[0]) for r in points}


def main() -> None:
    """Build the street, time both ways of each, print the figures."""
    settings = Settings()
    with scratch_database(settings.db, NAME) as url:
        engine = make_engine(url)
        with Session(engine) as session:
            build(session)
            households = session.execute(text("SELECT count(*) FROM household")).scalar_one()
            tagged = session.execute(
                text("SELECT count(DISTINCT household_id) FROM care_tag")
            ).scalar_one()
            visits = session.execute(text("SELECT count(*) FROM visit")).scalar_one()
            print(
                f"street {STREET}: {households:,} households, {tagged:,} with care tags, "
                f"{visits:,} visits; at {AT.isoformat()}; median of {RUNS} runs"
            )

            def in_sql() -> set[int]:
                features = q.overdue(session, region=STREET, grid=None, at=AT, rule=RULE)
                return {f["properties"]["household_id"] for f in features}

            sql_answer, py_answer = in_sql(), overdue_in_python(session)
            print(
                f"  overdue households: {len(sql_answer):,}; answers agree: "
                f"{'yes' if sql_answer == py_answer else 'NO'}"
            )
            sql_s = median_time(in_sql)
            py_s = median_time(lambda: overdue_in_python(session))
            print(f"  overdue, one SQL query (gridmap)   {sql_s * 1000:8.1f} ms")
            print(f"  overdue, rule applied in Python    {py_s * 1000:8.1f} ms")
            print(f"  ratio (Python / gridmap)           {py_s / sql_s:8.2f}x")

            ids = list(
                session.execute(text("SELECT id FROM household ORDER BY id LIMIT 500")).scalars()
            )
            after = {"fields": ["care_tags"], "route": "GET /api/v1/households"}

            def one_statement() -> None:
                q.log_reads(session, actor="bench", household_ids=ids, after=after)
                session.rollback()

            def row_by_row() -> None:
                for h in ids:
                    audit.record(session, "bench", "read", "household", str(h), after=after)
                session.rollback()

            one_s = median_time(one_statement)
            each_s = median_time(row_by_row)
            print(f"  read log of 500 households, one INSERT … SELECT {one_s * 1000:8.1f} ms")
            print(f"  read log of 500 households, one INSERT each     {each_s * 1000:8.1f} ms")
            print(f"  ratio (each / one)                              {each_s / one_s:8.2f}x")
        engine.dispose()


if __name__ == "__main__":
    main()
