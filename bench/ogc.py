"""OGC API – Features over HTTP: gridmap's ``/ogc`` next to tipg on the same 200,000 buildings.

Run: ``.venv/bin/python bench/ogc.py [--seconds 15] [--connections 4] [--workers 1]``

It loads the demo data set into a database of its own, adds 200,000 reproducible buildings (the
same small rectangles over a 12 × 12 km square as ``bench/tiles.py``) and makes a view with the
columns gridmap's ``buildings`` collection gives (no more, so both servers send the same
properties). tipg (PyPI, in a virtualenv of its own at ``bench/.venv-tipg``, made on first run:
it pins its own FastAPI and pydantic) serves that view; ``gridmap serve`` serves ``/ogc``; each
under uvicorn with the same number of worker processes, on loopback, at the same time.

For each of three requests, with keep-alive from ``wrk -t2 -c4`` (installed by
``scripts/setup.sh --bench`` when missing) over 500 different URLs:

- (a) a bbox page: ``items?bbox=…&limit=100`` over a ~340 × 330 m box (≈ 160 buildings);
- (b) a CQL2 property filter: ``items?filter=floors = N AND households > M&limit=100``;
- (c) a single item: ``items/{id}``.

it prints req/s, p50 and p99 of each server and the ratio of throughputs (goal: gridmap ≥ 3×
tipg). Before timing, one URL of each kind is sent to both and their ``numberMatched`` and
feature ids are compared, so both are known to answer the same question. Last, Debian's
``ogr2ogr`` copies the whole layer from each server (``-oo PAGE_SIZE=10000``) into a
GeoPackage, and the features it holds are counted against the database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import make_url, text  # noqa: E402

from gridmap.database import make_engine, scratch_database  # noqa: E402
from gridmap.loader import load_dataset  # noqa: E402
from gridmap.settings import Settings  # noqa: E402

NAME = "gridmap_bench_ogc"
GRIDMAP_PORT = 8941
TIPG_PORT = 8942
BUILDINGS = 200_000
URLS = 500
THREADS = 2
TIPG_VENV = ROOT / "bench" / ".venv-tipg"
VIEW = "ogc_bench_buildings"
# The square the buildings fill: lon/lat of its south-west corner, and its side in degrees.
WEST, SOUTH, SIDE_LON, SIDE_LAT = 116.27, 39.93, 0.14, 0.108
BOX_LON, BOX_LAT = 0.004, 0.003
# The columns of gridmap's buildings collection, in its order.
COLUMNS = "id, code, address, name, use, floors, households, grid_code, community_code, geom"

LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def ensure_tools() -> Path:
    """wrk on the PATH and tipg in its own virtualenv; the virtualenv's python."""
    if shutil.which("wrk") is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh"), "--bench"], check=True)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    python = TIPG_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
    if subprocess.run([str(python), "-c", "import tipg, uvicorn"], capture_output=True).returncode:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "tipg", "uvicorn"], check=True)
    return python


def build(url: str) -> list[int]:
    """Load the demo and the generated buildings, make the view; the building ids."""
    engine = make_engine(url)
    load_dataset(engine, Settings().api.data_dir, commit=True)
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
        conn.execute(text(f"CREATE VIEW {VIEW} AS SELECT {COLUMNS} FROM building"))
        conn.execute(text("ANALYZE building"))
        ids = [int(r[0]) for r in conn.execute(text("SELECT id FROM building ORDER BY id"))]
    engine.dispose()
    return ids


def requests(ids: list[int], seed: int) -> dict[str, list[str]]:
    """The URLs of each kind, as query strings after ``items`` (shared by both servers)."""
    rng = random.Random(seed)
    boxes, filters, items = [], [], []
    for _ in range(URLS):
        x = WEST + rng.random() * (SIDE_LON - BOX_LON)
        y = SOUTH + rng.random() * (SIDE_LAT - BOX_LAT)
        boxes.append(f"?bbox={x:.5f},{y:.5f},{x + BOX_LON:.5f},{y + BOX_LAT:.5f}&limit=100")
        cql = f"floors = {rng.randint(1, 20)} AND households > {rng.randint(0, 59)}"
        filters.append(
            "?" + urllib.parse.urlencode({"filter": cql, "filter-lang": "cql2-text", "limit": 100})
        )
        items.append(f"/{rng.choice(ids)}")
    return {"bbox page": boxes, "CQL2 filter": filters, "single item": items}


def wait_for(url: str, server: subprocess.Popen[bytes], what: str) -> None:
    """Return once ``url`` answers; exit if the server dies or takes two minutes."""
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                r.read()
            return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"{what} did not start") from None
            time.sleep(0.3)


def get_json(url: str) -> Any:
    """One GET, its JSON."""
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.load(r)


def same_answers(bases: dict[str, str], urls: dict[str, list[str]]) -> list[str]:
    """Send the first URL of each kind to both servers; the kinds both answer alike (the others
    are said and left out of the timing)."""
    alike = []
    for kind, queries in urls.items():
        answers = {}
        for name, base in bases.items():
            try:
                answers[name] = get_json(base + queries[0])
            except urllib.error.HTTPError as exc:
                print(f"  {kind}: {name} answers {exc.code} {exc.read()[:300]!r}; not timed")
        if len(answers) < len(bases):
            continue
        g, t = answers["gridmap"], answers["tipg"]
        if kind == "single item":
            same = str(g["id"]) == str(t["id"])
        else:
            same = (g["numberMatched"], g["numberReturned"]) == (
                t["numberMatched"],
                t["numberReturned"],
            )
        if not same:
            print(f"  {kind}: gridmap and tipg answer differently for {queries[0]}; not timed")
            continue
        matched = "" if kind == "single item" else f" ({g['numberMatched']} matched)"
        print(f"  {kind}: both answer alike{matched}")
        alike.append(kind)
    return alike


def run_wrk(script: Path, url: str, seconds: int, connections: int) -> dict[str, float]:
    """Run ``wrk`` once: req/s, p50 and p99 in ms, and the count of non-2xx answers."""
    args = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    args += ["-s", str(script), url]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if rate is None or p50 is None or p99 is None:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": float(rate.group(1)),
        "p50": _ms(p50.group(1)),
        "p99": _ms(p99.group(1)),
        "non2xx": float(bad.group(1)) if bad else 0.0,
    }


COPY_PAGE = 10_000


def whole_copy(root: str, layer: str, out: Path) -> tuple[float, int]:
    """Debian's ogr2ogr copying every feature of ``layer`` over OAPIF, a page of COPY_PAGE at a
    time: the seconds it took and the features the GeoPackage then holds."""
    started = time.perf_counter()
    subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{root}", layer, "-nln", "copy"]
        + ["-oo", f"PAGE_SIZE={COPY_PAGE}"],
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    info = subprocess.run(
        ["ogrinfo", "-ro", "-so", str(out), "copy"], check=True, capture_output=True, text=True
    ).stdout
    found = re.search(r"Feature Count: (\d+)", info)
    return seconds, int(found.group(1)) if found else -1


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL as a plain libpq URL asyncpg reads (a socket directory, quoted, as
    the host: asyncpg ignores ``?host=`` when the URL has a host, and tipg's settings need one)."""
    parts = make_url(url)
    host = parts.query.get("host")
    where = urllib.parse.quote(str(host), safe="") if host else (parts.host or "localhost")
    user = urllib.parse.quote(parts.username or "", safe="")
    password = ":" + urllib.parse.quote(parts.password, safe="") if parts.password else ""
    port = parts.query.get("port") or parts.port or 5432
    return f"postgresql://{user}{password}@{where}:{port}/{parts.database}"


def main() -> None:
    """Build the data, start both servers, compare answers, time each request kind."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    tipg_python = ensure_tools()
    settings = Settings()
    with scratch_database(settings.db, NAME) as url, tempfile.TemporaryDirectory() as tmp:
        ids = build(url)
        urls = requests(ids, 20261122)
        gridmap_env = {**os.environ, "DATABASE_URL": url}
        tipg_env = {
            **os.environ,
            "DATABASE_URL": asyncpg_dsn(url),
            "TIPG_DB_TABLES": json.dumps([f"public.{VIEW}"]),
            "TIPG_DB_FUNCTIONS": "[]",
            f"TIPG_TABLE_CONFIG__public_{VIEW}__PK": "id",
            f"TIPG_TABLE_CONFIG__public_{VIEW}__GEOMCOL": "geom",
            "TIPG_MAX_FEATURES_PER_QUERY": "10000",
        }
        quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        gridmap = subprocess.Popen(
            [sys.executable, "-m", "gridmap.cli", "serve", "--port", str(GRIDMAP_PORT)]
            + ["--workers", str(args.workers)],
            env=gridmap_env,
            **quiet,
        )
        tipg = subprocess.Popen(
            [str(tipg_python), "-m", "uvicorn", "tipg.main:app", "--port", str(TIPG_PORT)]
            + ["--workers", str(args.workers), "--log-level", "warning"],
            env=tipg_env,
            **quiet,
        )
        bases = {
            "gridmap": f"http://127.0.0.1:{GRIDMAP_PORT}/ogc/collections/buildings/items",
            "tipg": f"http://127.0.0.1:{TIPG_PORT}/collections/public.{VIEW}/items",
        }
        results: dict[str, dict[str, dict[str, float]]] = {}
        try:
            wait_for(f"http://127.0.0.1:{GRIDMAP_PORT}/health", gridmap, "gridmap")
            wait_for(bases["tipg"] + "?limit=1", tipg, "tipg")
            print(f"{len(ids):,} buildings ({BUILDINGS:,} generated), {URLS} URLs of each kind")
            alike = same_answers(bases, urls)
            for kind in alike:
                queries = urls[kind]
                for name, base in bases.items():
                    path = urllib.parse.urlsplit(base).path
                    script = Path(tmp) / f"{name}.lua"
                    script.write_text(LUA % ",".join(json.dumps(path + q) for q in queries))
                    root = base[: -len(path)]
                    run_wrk(script, root, 2, args.connections)
                    results.setdefault(kind, {})[name] = run_wrk(
                        script, root, args.seconds, args.connections
                    )
            copies = {
                "gridmap": whole_copy(
                    f"http://127.0.0.1:{GRIDMAP_PORT}/ogc", "buildings", Path(tmp) / "g.gpkg"
                ),
                "tipg": whole_copy(
                    f"http://127.0.0.1:{TIPG_PORT}", f"public.{VIEW}", Path(tmp) / "t.gpkg"
                ),
            }
        finally:
            for proc in (gridmap, tipg):
                proc.terminate()
                proc.wait(timeout=20)

    print(f"Debian's ogr2ogr -oo PAGE_SIZE={COPY_PAGE} copying the whole layer to a GeoPackage:")
    for name, (seconds, copied) in copies.items():
        state = "all" if copied == len(ids) else f"WRONG: {len(ids):,} in the database"
        print(f"  {name:<9}{seconds:>7.1f} s  {copied:,} features ({state})")
    print(
        f"wrk -t{THREADS} -c{args.connections} -d{args.seconds}s, keep-alive, loopback, "
        f"uvicorn with {args.workers} worker(s) each"
    )
    print(f"  {'':<14}{'':<9}{'req/s':>9}{'p50':>11}{'p99':>11}{'non-2xx':>9}")
    for kind, by in results.items():
        for name, r in by.items():
            print(
                f"  {kind:<14}{name:<9}{r['rps']:>9,.0f}{r['p50']:>8.2f} ms{r['p99']:>8.2f} ms"
                f"{r['non2xx']:>9,.0f}"
            )
        ratio = by["gridmap"]["rps"] / by["tipg"]["rps"]
        print(f"  {kind:<14}ratio (gridmap / tipg req/s) {ratio:.2f}x (goal 3x)")


if __name__ == "__main__":
    main()
