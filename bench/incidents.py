"""Import 1,000,000 historical incidents with their grids: gridmap against ogr2ogr + PostGIS.

Run: ``.venv/bin/python bench/incidents.py [--rows 1000000]``

It loads the demo data set into a database of its own, writes a reproducible CSV of incidents
(lon, lat, category, severity, reported_at, description, idempotency_key) over the demo grids'
extent, and times, on the same file and database:

- gridmap: ``gridmap.services.incident_import`` — read, check every row, assign grids exactly
  (border rule), COPY each month into a table of its own, index it and attach it as that
  month's partition of ``incident`` (the keys to ``incident_key``);
- the usual pipeline: ``ogr2ogr`` loads the CSV into PostGIS (points from lon/lat), then one
  ``UPDATE … FROM grid … ST_Contains`` gives each row its grid (GiST-indexed); and, for the same
  end state as gridmap's, one ``INSERT … SELECT`` of those rows into an empty table indexed like
  ``incident``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import make_url, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from gridmap.auth import operator  # noqa: E402
from gridmap.database import make_engine, scratch_database  # noqa: E402
from gridmap.loader import load_dataset  # noqa: E402
from gridmap.services import incident_import as ii  # noqa: E402
from gridmap.settings import Settings  # noqa: E402

NAME = "gridmap_bench_incidents"


def write_csv(path: Path, rows: int, bounds: tuple[float, ...], categories: list[str]) -> None:
    """A reproducible file of ``rows`` incidents."""
    import pandas as pd

    rng = np.random.default_rng(20261122)
    west, south, east, north = bounds
    start = np.datetime64("2025-01-01T00:00")
    frame = pd.DataFrame(
        {
            "lon": np.round(rng.uniform(west, east, rows), 7),
            "lat": np.round(rng.uniform(south, north, rows), 7),
            "category": np.array(categories)[rng.integers(0, len(categories), rows)],
            "severity": np.array(["general", "important", "urgent"])[rng.integers(0, 3, rows)],
            "reported_at": (start + rng.integers(0, 525_600, rows).astype("timedelta64[m]")).astype(
                str
            ),
            "description": "热线转办",
            "idempotency_key": [f"hotline-{i:08d}" for i in range(rows)],
        }
    )
    frame.to_csv(path, index=False)


def main() -> None:
    """Build the bench database and the file, time both pipelines, print rows/s and the ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    settings = Settings()
    with scratch_database(settings.db, NAME) as url:
        engine = make_engine(url)
        load_dataset(engine, settings.api.data_dir, commit=True)
        with engine.connect() as conn:
            b = conn.execute(
                text(
                    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                    "(SELECT ST_Extent(geom) AS e FROM grid) x"
                )
            ).one()
            categories = list(
                conn.execute(text("SELECT code FROM incident_category ORDER BY code")).scalars()
            )
        with tempfile.TemporaryDirectory() as folder:
            csv = Path(folder) / "incidents.csv"
            write_csv(csv, args.rows, tuple(b), categories)

            t = time.perf_counter()
            with Session(engine) as session, session.begin():
                result = ii.import_incidents(
                    session,
                    ii.read_table(csv),
                    crs="EPSG:4326",
                    principal=operator("bench"),
                    commit=True,
                    source=csv.name,
                    timezone=settings.api.timezone,
                )
            ours = time.perf_counter() - t
            assert result["inserted"] == args.rows, result

            u = make_url(url)
            pg = (
                f"PG:dbname={u.database} user={u.username} host={u.query.get('host', '')} "
                f"port={u.query.get('port', u.port or 5432)}"
            )
            t = time.perf_counter()
            subprocess.run(
                [
                    "ogr2ogr",
                    "-f",
                    "PostgreSQL",
                    pg,
                    str(csv),
                    "-nln",
                    "raw_incident",
                    "-oo",
                    "X_POSSIBLE_NAMES=lon",
                    "-oo",
                    "Y_POSSIBLE_NAMES=lat",
                    "-oo",
                    "KEEP_GEOM_COLUMNS=NO",
                    "-a_srs",
                    "EPSG:4326",
                    "-lco",
                    "GEOMETRY_NAME=geom",
                    "-lco",
                    "SPATIAL_INDEX=NONE",
                    "--config",
                    "PG_USE_COPY",
                    "YES",
                    "-gt",
                    "100000",
                ],
                check=True,
                capture_output=True,
            )
            loaded = time.perf_counter() - t
            with engine.begin() as conn:
                conn.execute(text("ALTER TABLE raw_incident ADD COLUMN grid_code text"))
                t2 = time.perf_counter()
                conn.execute(
                    text(
                        "UPDATE raw_incident r SET grid_code = g.code FROM grid g "
                        "WHERE g.valid_to IS NULL AND ST_Contains(g.geom, r.geom)"
                    )
                )
                joined = time.perf_counter() - t2
                # The same end state as gridmap's: the rows in a table shaped and indexed like
                # ``incident`` (an empty twin, so neither side pays for the other's rows).
                conn.execute(text("CREATE TABLE incident_twin (LIKE incident INCLUDING ALL)"))
                t3 = time.perf_counter()
                conn.execute(
                    text(
                        "INSERT INTO incident_twin (idempotency_key, category, severity, "
                        "description, status, reported_at, grid_code, community_code, "
                        "street_code, geom) SELECT r.idempotency_key, r.category, r.severity, "
                        "r.description, 'reported', r.reported_at::timestamptz, r.grid_code, "
                        "g.community_code, left(g.community_code, 9), r.geom FROM raw_incident r "
                        "LEFT JOIN grid g ON g.code = r.grid_code AND g.valid_to IS NULL"
                    )
                )
                moved = time.perf_counter() - t3
                ours_in = conn.execute(
                    text(
                        "SELECT count(*) FROM incident WHERE grid_code IS NOT NULL "
                        "AND idempotency_key LIKE 'hotline-%'"
                    )
                ).scalar_one()
                theirs_in = conn.execute(
                    text("SELECT count(*) FROM raw_incident WHERE grid_code IS NOT NULL")
                ).scalar_one()
        engine.dispose()
    baseline = loaded + joined
    print(
        f"{args.rows:,} incidents over the demo grids ({ours_in:,} in a grid by gridmap, "
        f"{theirs_in:,} by ST_Contains, which leaves a point on a border in no grid)"
    )
    rate = args.rows / ours
    print(f"  gridmap import (read, check, assign, COPY)   {ours:8.2f} s {rate:12,.0f} rows/s")
    print(f"  ogr2ogr load                                 {loaded:8.2f} s")
    print(f"  UPDATE … FROM grid ST_Contains               {joined:8.2f} s")
    print(
        f"  ogr2ogr + UPDATE                             {baseline:8.2f} s "
        f"{args.rows / baseline:12,.0f} rows/s"
    )
    print(f"  ratio (pipeline / gridmap)                   {baseline / ours:8.2f}x")
    full = baseline + moved
    print(f"  … + INSERT into an indexed incident table    {moved:8.2f} s")
    rate = args.rows / full
    print(f"  ogr2ogr + UPDATE + INSERT (same end state)   {full:8.2f} s {rate:12,.0f} rows/s")
    print(f"  ratio (same end state / gridmap)             {full / ours:8.2f}x")


if __name__ == "__main__":
    main()
