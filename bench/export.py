"""Export speed and memory: gridmap export vs ogr2ogr from the same PostGIS, same run.

Makes a database of its own with N generated incidents (default 1,000,000) spread over Haidian,
then writes them to GeoParquet and GeoPackage with ``gridmap export incidents`` (through the
layer registry: the anonymous caller's masks, as a file handed out) and with Debian's
``ogr2ogr`` reading the same table over ``PG:``, and prints seconds, the ratio and each
process's peak memory (``/usr/bin/time``). Debian's GDAL has no Parquet driver, so the ogr2ogr
column for Parquet is FlatGeobuf, its nearest columnar-ish peer.

    .venv/bin/python bench/export.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import make_url, text  # noqa: E402

from gridmap.database import make_engine, scratch_database  # noqa: E402
from gridmap.settings import Settings  # noqa: E402

NAME = "gridmap_bench_export"


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds and peak resident MiB of one command."""
    start = time.perf_counter()
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *cmd], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {out.stderr[-2000:]}")
    return seconds, int(out.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    """Generate the incidents, export them both ways, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    settings = Settings()
    with scratch_database(settings.db, NAME) as url:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("SELECT setseed(0.19)"))
            conn.execute(
                text(
                    "INSERT INTO incident (category, description, reporter_name, reporter_phone, "
                    "reported_at, geom) "
                    "SELECT (ARRAY['环境卫生','市容秩序','设施损坏'])[1 + g % 3], "
                    "'生成的测试事件 ' || g, '生成的上报人', '13800000000', "
                    "now() - g * interval '1 minute', "
                    "ST_SetSRID(ST_MakePoint(116.2 + random() * 0.2, 39.9 + random() * 0.15), "
                    "4326) "
                    "FROM generate_series(1, :n) g"
                ),
                {"n": args.rows},
            )
            conn.execute(text("ANALYZE incident"))
        engine.dispose()
        env = {**os.environ, "DATABASE_URL": url}
        u = make_url(url)
        pg = (
            f"PG:dbname={u.database} host={u.host or ''} port={u.port or 5432} "
            f"user={u.username or ''}"
        )
        if u.password:
            pg += f" password={u.password}"
        if u.query.get("host"):
            pg = pg.replace(f"host={u.host or ''}", f"host={u.query['host']}")
        sql = (
            "SELECT id, category, description, status, reported_at, grid_code, community_code, "
            "geom FROM incident ORDER BY id"
        )
        gridmap = str(ROOT / ".venv" / "bin" / "gridmap")
        print(f"{args.rows:,} incidents")
        print(f"{'':<12}{'gridmap s':>10}{'MiB':>7}{'ogr2ogr s':>11}{'MiB':>7}{'ratio':>7}")
        with tempfile.TemporaryDirectory() as tmp:
            for ours, theirs, driver in (
                ("parquet", "fgb", "FlatGeobuf"),
                ("gpkg", "gpkg", "GPKG"),
            ):
                mine = timed([gridmap, "export", "incidents", "-o", f"{tmp}/ours.{ours}"], env)
                other = timed(
                    ["ogr2ogr", "-f", driver, f"{tmp}/theirs.{theirs}", pg, "-sql", sql], env
                )
                print(
                    f"{ours:<12}{mine[0]:>10.1f}{mine[1]:>7.0f}{other[0]:>11.1f}{other[1]:>7.0f}"
                    f"{other[0] / mine[0]:>6.2f}×"
                )


if __name__ == "__main__":
    main()
