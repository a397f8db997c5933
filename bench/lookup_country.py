"""The lookup index at country size: build, save, open, HTTP p50/p99 and memory per worker.

Run: ``.venv/bin/python bench/lookup_country.py [--grids 1000000] [--seconds 20] [--workers 2]``

It makes ``--grids`` irregular grids tessellating China's extent (a jittered lattice whose
neighbours share every border vertex; 12 vertices each, seeded), and times:

- ``PointIndex`` built from the polygons, saved to a directory and opened memory-mapped;
- the same grids loaded into a bench database (1 district, its streets and communities), and the
  server's snapshot made from it (every grid read, indexed and saved) and then opened again;
- ``gridmap serve --workers N`` on that database with ``GRIDMAP_INDEX_DIR`` where the snapshot
  above was saved: every worker opens it (memory-mapped) and checks it is current; ``wrk`` runs
  ``GET /api/v1/lookup`` of random points for ``--seconds`` and gives p50/p99; RSS, PSS and USS
  of every server process are read from ``/proc/<pid>/smaps_rollup`` (PSS splits the shared
  pages among the processes mapping them);
- the alternative in the same run: PostGIS ``ST_Intersects`` on the GiST index of the same grid
  table, one point per query over one connection (no HTTP), p50/p99.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import auth as wrk_bench  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import shapely  # noqa: E402

from gridmap.database import make_engine, scratch_database  # noqa: E402
from gridmap.geo.pip import PointIndex  # noqa: E402
from gridmap.live import Snapshot  # noqa: E402
from gridmap.settings import Settings  # noqa: E402

NAME = "gridmap_bench_country"
PORT = 8936
EXTENT = (73.5, 18.2, 134.8, 53.5)  # China's bounding box, lon/lat
SPLIT = 3  # segments per lattice edge: 4 corners + 8 border vertices per grid
DISTRICT = "110108"


def make_country(n: int, seed: int) -> tuple[np.ndarray, int, int]:
    """About ``n`` grids (lon/lat polygons) over China's extent, the lattice's columns, rows."""
    rng = np.random.default_rng(seed)
    west, south, east, north = EXTENT
    cols = max(int(round(np.sqrt(n * (east - west) / (north - south)))), 1)
    rows = max(int(np.ceil(n / cols)), 1)
    dx, dy = (east - west) / cols, (north - south) / rows
    gx, gy = np.meshgrid(np.arange(cols + 1) * dx + west, np.arange(rows + 1) * dy + south)
    vx = gx + rng.uniform(-0.25, 0.25, gx.shape) * dx
    vy = gy + rng.uniform(-0.25, 0.25, gy.shape) * dy
    vx[:, 0], vx[:, -1], vy[0, :], vy[-1, :] = west, east, south, north
    t = np.arange(1, SPLIT) / SPLIT
    # Border vertices of the horizontal lattice edges (j, i)→(j, i+1), and the vertical ones.
    hx = vx[:, :-1, None] + (vx[:, 1:, None] - vx[:, :-1, None]) * t
    hy = vy[:, :-1, None] + (vy[:, 1:, None] - vy[:, :-1, None]) * t
    hy = hy + rng.uniform(-0.1, 0.1, hy.shape) * dy
    ex = vx[:-1, :, None] + (vx[1:, :, None] - vx[:-1, :, None]) * t
    ey = vy[:-1, :, None] + (vy[1:, :, None] - vy[:-1, :, None]) * t
    ex = ex + rng.uniform(-0.1, 0.1, ex.shape) * dx
    hy[0], hy[-1] = south, north
    ex[:, 0], ex[:, -1] = west, east

    def ring(x_or_y: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        v, h, e = x_or_y
        parts = [
            v[:-1, :-1, None],
            h[:-1, :, :],
            v[:-1, 1:, None],
            e[:, 1:, :],
            v[1:, 1:, None],
            h[1:, :, ::-1],
            v[1:, :-1, None],
            e[:, :-1, ::-1],
            v[:-1, :-1, None],
        ]
        return np.concatenate(parts, axis=2).reshape(rows * cols, -1)

    xs, ys = ring((vx, hx, ex)), ring((vy, hy, ey))
    polys = shapely.polygons(np.stack([xs, ys], axis=-1))
    return polys[:n], cols, rows


def codes_for(n: int) -> tuple[list[str], list[tuple[str, str, str | None]]]:
    """Grid codes in index order, and the regions (code, level, parent) they need."""
    regions: list[tuple[str, str, str | None]] = [(DISTRICT, "district", None)]
    grid_codes: list[str] = []
    communities = (n + 998) // 999
    for c in range(communities):
        street = f"{DISTRICT}{100 + c // 999:03d}"
        if c % 999 == 0:
            regions.append((street, "street", DISTRICT))
        community = f"{street}{c % 999 + 1:03d}"
        regions.append((community, "community", street))
        grid_codes += [f"{community}{k + 1:03d}" for k in range(min(999, n - c * 999))]
    return grid_codes, regions


def smaps(pid: int) -> dict[str, float]:
    """RSS, PSS and USS of a process in MiB, from ``/proc/<pid>/smaps_rollup``."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = float(value.split()[0]) / 1024
    return {
        "rss": fields["Rss"],
        "pss": fields["Pss"],
        "uss": fields["Private_Clean"] + fields["Private_Dirty"],
    }


def index_pages(pid: int, directory: Path) -> dict[str, float]:
    """RSS, PSS and the shared part (MiB) of the mappings of files in ``directory`` (the saved
    index) in process ``pid``, from ``/proc/<pid>/smaps``."""
    out = {"rss": 0.0, "pss": 0.0, "shared": 0.0}
    inside = False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
            inside = len(head) >= 6 and head[5].startswith(str(directory))
        elif inside and head and head[0] in ("Rss:", "Pss:", "Shared_Clean:", "Shared_Dirty:"):
            key = {"Rss:": "rss", "Pss:": "pss"}.get(head[0], "shared")
            out[key] += float(head[1]) / 1024
    return out


def children(pid: int) -> list[int]:
    """Every descendant of ``pid``."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids = (task / "children").read_text().split()
        for k in kids:
            out.append(int(k))
            out += children(int(k))
    return out


def load_database(url: str, polys: np.ndarray, codes: list[str], regions: list) -> float:  # type: ignore[type-arg]
    """COPY the regions and grids into the bench database; the seconds it took."""
    t = time.perf_counter()
    engine = make_engine(url)
    multi = shapely.multipolygons(polys, indices=np.arange(len(polys)))
    wkb = shapely.to_wkb(shapely.set_srid(multi, 4326), hex=True, include_srid=True)
    with engine.begin() as conn:
        # Bulk load: the statement triggers (grid_change, grid pieces) are for edits.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cur:  # type: ignore[union-attr]
            with cur.copy("COPY region (code, level, name, parent_code) FROM STDIN") as cp:
                for code, level, parent in regions:
                    cp.write_row((code, level, f"合成{level} {code}", parent))
            with cur.copy("COPY grid (code, community_code, name, geom) FROM STDIN") as cp:
                for start in range(0, len(codes), 50_000):
                    buf = io.StringIO()
                    for k in range(start, min(start + 50_000, len(codes))):
                        buf.write(f"{codes[k]}\t{codes[k][:12]}\t合成网格 {k}\t{wkb[k]}\n")
                    cp.write(buf.getvalue())
    with engine.begin() as conn:
        conn.execute(text("ANALYZE grid"))
        conn.execute(text("ANALYZE region"))
    engine.dispose()
    return time.perf_counter() - t


def postgis_lookups(url: str, pts: np.ndarray) -> tuple[float, float]:
    """p50 and p99 (ms) of one-point queries on the grid table's GiST index."""
    engine = make_engine(url)
    took = []
    sql = text(
        "SELECT code FROM grid WHERE valid_to IS NULL AND "
        "ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) ORDER BY code LIMIT 1"
    )
    with engine.connect() as conn:
        for x, y in pts[:50]:
            conn.execute(sql, {"x": float(x), "y": float(y)}).all()
        for x, y in pts:
            t = time.perf_counter()
            conn.execute(sql, {"x": float(x), "y": float(y)}).all()
            took.append(time.perf_counter() - t)
    engine.dispose()
    took.sort()
    return took[len(took) // 2] * 1000, took[int(len(took) * 0.99)] * 1000


def warm(points: np.ndarray, budget: float) -> float:
    """Ask until lookups answer quickly (every worker has its index); the seconds it took."""
    t = time.perf_counter()
    fast = 0
    k = 0
    while fast < 40 and time.perf_counter() - t < budget:
        x, y = points[k % len(points)]
        k += 1
        s = time.perf_counter()
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{PORT}/api/v1/lookup?lon={x:.6f}&lat={y:.6f}", timeout=900
            ) as r:
                r.read()
        except urllib.error.HTTPError as exc:  # 404: a point in no grid
            exc.read()
        fast = fast + 1 if time.perf_counter() - s < 0.05 else 0
    return time.perf_counter() - t


def main() -> None:
    """Generate, build, save, open, load, serve, measure; print the figures and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grids", type=int, default=100_000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20)
    args = ap.parse_args()
    wrk_bench.PORT = PORT
    wrk_bench.ensure_wrk()

    t = time.perf_counter()
    polys, cols, rows = make_country(args.grids, args.seed)
    n = len(polys)
    print(
        f"country: {n:,} grids ({cols} × {rows} lattice, 12 vertices each), made in "
        f"{time.perf_counter() - t:.1f} s"
    )
    rng = np.random.default_rng(args.seed)
    west, south, east, north = EXTENT
    pts = rng.uniform([west, south], [east, north], (20_000, 2))
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="gridmap-country-") as tmp:
        t = time.perf_counter()
        index = PointIndex(polys)
        figures["build"] = time.perf_counter() - t
        t = time.perf_counter()
        index.save(Path(tmp) / "bare")
        figures["save"] = time.perf_counter() - t
        t = time.perf_counter()
        opened = PointIndex.open(Path(tmp) / "bare")
        figures["open"] = time.perf_counter() - t
        same = np.array_equal(
            opened.locate(pts[:, 0], pts[:, 1]), index.locate(pts[:, 0], pts[:, 1])
        )
        t = time.perf_counter()
        for x, y in pts[:5000]:
            opened.locate_one(float(x), float(y))
        figures["locate_one_us"] = (time.perf_counter() - t) / 5000 * 1e6
        size = sum(f.stat().st_size for f in (Path(tmp) / "bare").iterdir()) / 2**20
        del index, opened
        print(
            f"PointIndex: build {figures['build']:.1f} s, save {figures['save']:.2f} s, "
            f"open {figures['open'] * 1000:.1f} ms ({size:,.0f} MiB on disk), "
            f"locate_one {figures['locate_one_us']:.1f} µs in process, "
            f"opened answers as built: {'yes' if same else 'NO'}"
        )

        settings = Settings()
        with scratch_database(settings.db, NAME) as url:
            codes, regions = codes_for(n)
            loaded = load_database(url, polys, codes, regions)
            print(f"database: {n:,} grids and {len(regions):,} regions loaded in {loaded:.1f} s")
            del polys
            engine = make_engine(url)
            # Where the server will look: GRIDMAP_INDEX_DIR / the database's name.
            index_dir = Path(tmp) / "served"
            snap_dir = index_dir / NAME
            with Session(engine) as session:
                t = time.perf_counter()
                snap = Snapshot.load(session, index_dir=snap_dir)
                figures["snapshot_build"] = time.perf_counter() - t
                assert snap.how == "built"
                del snap
                t = time.perf_counter()
                snap = Snapshot.load(session, index_dir=snap_dir)
                figures["snapshot_open"] = time.perf_counter() - t
                assert snap.how == "opened", snap.how
                del snap
            engine.dispose()
            print(
                f"server snapshot from the database: built and saved in "
                f"{figures['snapshot_build']:.1f} s; opened (current) in "
                f"{figures['snapshot_open']:.1f} s (both include reading the grid-set hash)"
            )

            saved_at = (snap_dir / "index.json").stat().st_mtime_ns
            pg50, pg99 = postgis_lookups(url, pts[:2000])
            env = {**os.environ, "DATABASE_URL": url, "GRIDMAP_INDEX_DIR": str(index_dir)}
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gridmap.cli",
                    "serve",
                    "--port",
                    str(PORT),
                    "--workers",
                    str(args.workers),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                wrk_bench.wait_for_server(server)
                warmed = warm(pts, 900)
                script = Path(tmp) / "lookup.lua"
                paths = ", ".join(
                    f'"/api/v1/lookup?lon={x:.6f}&lat={y:.6f}"' for x, y in pts[:4000]
                )
                script.write_text(wrk_bench.LUA % paths)
                wrk_bench.run_wrk(script, 2, args.connections, [])
                result = wrk_bench.run_wrk(script, args.seconds, args.connections, [])
                memory = {
                    p: {
                        **smaps(p),
                        **{f"index_{k}": v for k, v in index_pages(p, snap_dir).items()},
                        "cmd": Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ")[:40],
                    }
                    for p in [server.pid, *children(server.pid)]
                }
                rebuilt = (snap_dir / "index.json").stat().st_mtime_ns != saved_at
            finally:
                server.terminate()
                server.wait(timeout=30)
                log = (server.stderr.read() if server.stderr else b"").decode(errors="replace")
    print(
        f"HTTP (wrk -t{wrk_bench.THREADS} -c{args.connections} -d{args.seconds}s, "
        f"{args.workers} workers, first answers after {warmed:.1f} s): "
        f"p50 {result['p50']:.2f} ms, p99 {result['p99']:.2f} ms, {result['rps']:,.0f} req/s, "
        f"non-2xx {result['non2xx']:.0f} (404s of points in no grid)"
    )
    print(
        f"PostGIS ST_Intersects on the GiST index, one query per point, no HTTP: "
        f"p50 {pg50:.2f} ms, p99 {pg99:.2f} ms"
    )
    print(f"ratio: PostGIS p50 / gridmap HTTP p50 = {pg50 / result['p50']:.1f}x")
    print(f"the workers opened the saved index (none rebuilt it): {'no' if rebuilt else 'yes'}")
    if rebuilt:
        print(log[-2000:])
    print("memory per server process (MiB): pid, RSS, PSS, USS; of them the saved index's pages:")
    print("  RSS, PSS, shared with another process")
    for pid, m in memory.items():
        print(
            f"  {pid:>8} {m['rss']:7.0f} {m['pss']:7.0f} {m['uss']:7.0f}   index "
            f"{m['index_rss']:6.0f} {m['index_pss']:6.0f} {m['index_shared']:6.0f}  {m['cmd']!r}"
        )


if __name__ == "__main__":
    main()
