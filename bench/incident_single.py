"""One incident read and written by id with ten years of months (120 partitions).

Run: ``.venv/bin/python bench/incident_single.py [--per-month 2000]``

In a database of its own: 120 monthly partitions (2017-01 … 2026-12) with ``--per-month``
incidents each, then the median of 200 calls of what ``GET /api/v1/incidents/{id}`` and a
workflow step run: ``incident_feature`` (the read) and ``lock_for_action`` + ``apply_step`` (the
row locked, then ``UPDATE incident``), each by id with the month read from ``incident_key``
(``gridmap.queries.incidents.by_id``, sent as a value so the planner plans one partition); the
same by hand; and the alternative, the same rows in one unpartitioned table (``incident_flat``,
primary key ``id`` and the same indexes): a bare SELECT and UPDATE by id. Ratios are printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from gridmap.database import make_engine, scratch_database  # noqa: E402
from gridmap.queries import feature_collection  # noqa: E402
from gridmap.queries import incidents as q  # noqa: E402
from gridmap.settings import Settings  # noqa: E402

NAME = "gridmap_bench_incident_single"


def _median_ms(call: Callable[[int], object], ids: list[int]) -> float:
    times = []
    for i in ids:
        t = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    """Build 120 months of incidents, time the single-incident read and write."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-month", type=int, default=2000)
    args = ap.parse_args()
    settings = Settings()
    with scratch_database(settings.db, NAME) as url:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO incident_category (code, class_, limit_hours) "
                    "VALUES ('市容环境/暴露垃圾', 'city_management', 24) ON CONFLICT DO NOTHING"
                )
            )
            conn.execute(
                text(
                    "SELECT gridmap_incident_month(('2017-01-01'::date + n * interval '1 month')"
                    "::date) FROM generate_series(0, 119) AS n"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO incident (category, reported_at, geom) "
                    "SELECT '市容环境/暴露垃圾', '2017-01-01 00:00+08'::timestamptz "
                    "+ (n * 3652.0 / :rows) * interval '1 day', "
                    "ST_SetSRID(ST_MakePoint(116.3 + random() / 10, 40 + random() / 10), 4326) "
                    "FROM generate_series(0, :rows - 1) AS n"
                ),
                {"rows": 120 * args.per_month},
            )
            # The alternative: the same rows in one table, indexed as incident is.
            conn.execute(text("CREATE TABLE incident_flat AS SELECT * FROM incident"))
            conn.execute(text("ALTER TABLE incident_flat ADD PRIMARY KEY (id)"))
            for column in ("grid_code", "community_code", "status", "reported_at", "category"):
                conn.execute(text(f"CREATE INDEX ON incident_flat ({column})"))
            conn.execute(text("CREATE INDEX ON incident_flat USING gist (geom)"))
            conn.execute(text("ANALYZE incident_flat"))
            conn.execute(text("ANALYZE incident"))
            conn.execute(text("ANALYZE incident_key"))
            parts = conn.execute(
                text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'incident'::regclass")
            ).scalar_one()
            ids = list(
                conn.execute(text("SELECT id FROM incident ORDER BY random() LIMIT 200")).scalars()
            )
        # The GET's own query (the feature of one incident) on the unpartitioned table.
        mark = 987654321987
        flat_feature = (
            str(
                feature_collection(q.ROW.where(q._i.c.id == mark), order_by="id").compile(
                    dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
                )
            )
            .replace("incident.", "incident_flat.")
            .replace("FROM incident \n", "FROM incident_flat \n")
            .replace(str(mark), ":i")
        )
        with Session(engine) as session:
            read = _median_ms(lambda i: q.incident_feature(session, incident_id=i), ids)

            def step(i: int) -> None:
                q.lock_for_action(session, incident_id=i)
                q.apply_step(session, incident_id=i, changes={"score": 50})

            write = _median_ms(step, ids)
            session.rollback()

            def pruned(i: int) -> None:
                session.execute(
                    text(
                        "UPDATE incident SET score = 50, version = version + 1 WHERE id = :i "
                        "AND reported_at = (SELECT reported_at FROM incident_key WHERE id = :i)"
                    ),
                    {"i": i},
                )

            pruned_ms = _median_ms(pruned, ids)
            session.rollback()

            def flat_read(i: int) -> None:
                session.execute(text(flat_feature), {"i": i}).one()

            def part_read(i: int) -> None:
                at = session.execute(
                    text("SELECT reported_at FROM incident_key WHERE id = :i"), {"i": i}
                ).scalar_one()
                session.execute(
                    text("SELECT * FROM incident WHERE id = :i AND reported_at = :at"),
                    {"i": i, "at": at},
                ).one()

            def flat_step(i: int) -> None:
                session.execute(
                    text("SELECT * FROM incident_flat WHERE id = :i FOR UPDATE"), {"i": i}
                ).one()
                session.execute(
                    text(
                        "UPDATE incident_flat SET score = 50, version = version + 1 WHERE id = :i"
                    ),
                    {"i": i},
                )

            flat_read_ms = _median_ms(flat_read, ids)
            part_read_ms = _median_ms(part_read, ids)
            flat_step_ms = _median_ms(flat_step, ids)
            session.rollback()
        engine.dispose()
    print(f"{120 * args.per_month:,} incidents in {parts} partitions (120 months + default)")
    print(f"  GET one incident (incident_feature)                {read:7.3f} ms median")
    print(f"  a step (lock_for_action + apply_step)               {write:7.3f} ms median")
    print(f"  UPDATE by id with reported_at from incident_key     {pruned_ms:7.3f} ms median")
    print(f"  SELECT by id, month read first (partitioned)        {part_read_ms:7.3f} ms median")
    print("  the alternative, one unpartitioned table:")
    print(f"  GET's feature query by id                           {flat_read_ms:7.3f} ms median")
    print(f"  SELECT … FOR UPDATE + UPDATE by id                  {flat_step_ms:7.3f} ms median")
    print(f"  ratio GET / unpartitioned feature query             {read / flat_read_ms:7.2f}x")
    print(f"  ratio step / unpartitioned lock + UPDATE            {write / flat_step_ms:7.2f}x")


if __name__ == "__main__":
    main()
