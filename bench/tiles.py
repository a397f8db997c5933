"""Vector tiles of a 200,000-building layer over HTTP, next to the bare query (the floor) and the
ungeneralised query a generic tile server runs.

Run: ``.venv/bin/python bench/tiles.py [--tiles 150] [--edits 10]``

It loads the demo data set into a database of its own, adds 200,000 reproducible buildings (small
rectangles over a 12 × 12 km square around the demo district), builds the generalised copies
(timed), starts ``gridmap serve`` on loopback, and for zooms 12 to 16 fetches ``--tiles`` random
tiles of the square with keep-alive (``/tiles/buildings/{z}/{x}/{y}.mvt``), after one warm-up
pass, timing each from request to last byte. The same tiles are then made by gridmap's query sent
straight to the database (no HTTP: the floor), and by the ungeneralised query (every building as
stored, ``ST_AsMVTGeom`` + ``ST_AsMVT`` over the GiST index: what a user of a generic tile server
such as Martin or pg_tileserv gets). Last, ``--edits`` times moving one building and fetching
the new TileJSON and the z13 tile holding it (the copy's cells are rebuilt before that answer).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from gridmap.database import make_engine, scratch_database  # noqa: E402
from gridmap.loader import load_dataset  # noqa: E402
from gridmap.queries import tiles as q  # noqa: E402
from gridmap.settings import Settings  # noqa: E402

NAME = "gridmap_bench_tiles"
PORT = 8932
BUILDINGS = 200_000
# The square the buildings fill: lon/lat of its south-west corner, and its side in degrees.
WEST, SOUTH, SIDE_LON, SIDE_LAT = 116.27, 39.93, 0.14, 0.108


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The Web Mercator tile holding a point."""
    n = 1 << z
    return int((lon + 180) / 360 * n), int(
        (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    )


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile, in milliseconds."""
    return float(np.percentile(values, p)) * 1000


def main() -> None:
    """Build the layer, time tiles over HTTP and in the database, print both."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=150, help="tiles per zoom")
    ap.add_argument("--edits", type=int, default=10, help="edits timed for freshness")
    args = ap.parse_args()
    settings = Settings()
    rng = np.random.default_rng(20261122)
    with scratch_database(settings.db, NAME) as url:
        engine = make_engine(url)
        load_dataset(engine, settings.api.data_dir, commit=True)
        with engine.begin() as conn:
            conn.execute(text("SELECT setseed(0.20261122)"))
            conn.execute(
                text(
                    "INSERT INTO building (code, households, floors, geom) "
                    "SELECT 'BENCH-' || g, (random() * 60)::int, 1 + (random() * 20)::int, "
                    "ST_MakeEnvelope(x, y, x + 0.0002 + random() * 0.0002, "
                    "y + 0.00015 + random() * 0.00015, 4326) FROM ("
                    "SELECT g, :w + random() * :sw AS x, :s + random() * :sl AS y "
                    "FROM generate_series(1, :n) g) p"
                ),
                {"w": WEST, "s": SOUTH, "sw": SIDE_LON, "sl": SIDE_LAT, "n": BUILDINGS},
            )
            conn.execute(text("ANALYZE building"))
            total = conn.execute(text("SELECT count(*) FROM building")).scalar_one()
        tiles: dict[int, list[tuple[int, int]]] = {}
        for z in (12, 13, 14, 15, 16):
            x0, y1 = tile_of(WEST, SOUTH, z)
            x1, y0 = tile_of(WEST + SIDE_LON, SOUTH + SIDE_LAT, z)
            xs = rng.integers(x0, x1 + 1, args.tiles)
            ys = rng.integers(y0, y1 + 1, args.tiles)
            tiles[z] = list(zip(xs.tolist(), ys.tolist(), strict=True))

        t = time.perf_counter()
        with Session(engine) as session:
            q.refresh(session, "buildings")
            session.commit()
        build_s = time.perf_counter() - t
        print(f"copies built in {build_s:.1f} s", flush=True)

        env = {**os.environ, "DATABASE_URL": url}
        server = subprocess.Popen(
            [sys.executable, "-m", "gridmap.cli", "serve", "--port", str(PORT)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.time() + 30
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=1)
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.2)
            conn_http = http.client.HTTPConnection("127.0.0.1", PORT)
            conn_http.request("GET", "/tiles/buildings.json")
            version = json.loads(conn_http.getresponse().read())["data_version"]
            http_times: dict[int, list[float]] = {}
            sizes: dict[int, list[int]] = {}
            for z, zt in tiles.items():
                for warm in (True, False):
                    for x, y in zt:
                        t = time.perf_counter()
                        conn_http.request("GET", f"/tiles/buildings/{z}/{x}/{y}.mvt?v={version}")
                        body = conn_http.getresponse().read()
                        if not warm:
                            http_times.setdefault(z, []).append(time.perf_counter() - t)
                            sizes.setdefault(z, []).append(len(body))
            edit_times: list[float] = []
            for k in range(args.edits):
                lon = WEST + SIDE_LON * (0.1 + 0.8 * k / max(args.edits, 1))
                lat = SOUTH + SIDE_LAT / 2
                with engine.begin() as conn:
                    conn.execute(
                        text(
                            "UPDATE building SET geom = ST_MakeEnvelope(:x, :y, :x + 0.0003, "
                            ":y + 0.0002, 4326) WHERE code = :c"
                        ),
                        {"x": lon, "y": lat, "c": f"BENCH-{k + 1}"},
                    )
                x, y = tile_of(lon, lat, 13)
                conn_http.close()
                conn_http = http.client.HTTPConnection("127.0.0.1", PORT)
                conn_http.request("GET", "/health")
                conn_http.getresponse().read()
                t = time.perf_counter()
                conn_http.request("GET", "/tiles/buildings.json")
                v = json.loads(conn_http.getresponse().read())["data_version"]
                conn_http.request("GET", f"/tiles/buildings/13/{x}/{y}.mvt?v={v}")
                conn_http.getresponse().read()
                edit_times.append(time.perf_counter() - t)
            conn_http.close()
        finally:
            server.terminate()
            server.wait(timeout=10)

        db_times: dict[int, list[float]] = {}
        raw_times: dict[int, list[float]] = {}
        raw_sizes: dict[int, list[int]] = {}
        with Session(engine) as session:
            for z, zt in tiles.items():
                for x, y in zt:
                    t = time.perf_counter()
                    q.tile(session, layer="buildings", z=z, x=x, y=y)
                    db_times.setdefault(z, []).append(time.perf_counter() - t)
                    t = time.perf_counter()
                    raw = q.raw_tile(session, layer="buildings", z=z, x=x, y=y)
                    raw_times.setdefault(z, []).append(time.perf_counter() - t)
                    raw_sizes.setdefault(z, []).append(len(raw))
        engine.dispose()

    print(
        f"{total:,} buildings ({BUILDINGS:,} generated over a 12 x 12 km square), "
        f"{args.tiles} random tiles per zoom, keep-alive, warm cache; "
        f"copies for z{q.BUILDING_COPY_ZOOMS[0]}-z{q.BUILDING_COPY_ZOOMS[-1]} built in "
        f"{build_s:.1f} s"
    )
    print(
        "         gridmap over HTTP                      | bare query (floor) | "
        "ungeneralised query                | ratio"
    )
    print(
        "  zoom   KiB med  KiB max    p50 ms    p99 ms  |   p50 ms   p99 ms  |  KiB med    p50 ms"
        "    p99 ms  | time  size"
    )
    for z in tiles:
        h, d, r = http_times[z], db_times[z], raw_times[z]
        size, raw_size = statistics.median(sizes[z]) / 1024, statistics.median(raw_sizes[z]) / 1024
        print(
            f"  z{z:<4} {size:8.1f} {max(sizes[z]) / 1024:8.1f} {pct(h, 50):9.1f} {pct(h, 99):9.1f}"
            f"  | {pct(d, 50):8.1f} {pct(d, 99):8.1f}  | {raw_size:8.1f} {pct(r, 50):9.1f}"
            f" {pct(r, 99):9.1f}  | {pct(r, 50) / pct(h, 50):4.1f}x"
            f" {raw_size / max(size, 0.001):4.1f}x"
        )
    if edit_times:
        print(
            f"  after moving one building: new TileJSON + its z13 tile in "
            f"p50 {pct(edit_times, 50):.1f} ms, max {max(edit_times) * 1000:.1f} ms "
            f"({len(edit_times)} edits)"
        )


if __name__ == "__main__":
    main()
