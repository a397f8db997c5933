"""What a token costs a lookup: ``wrk`` on ``GET /api/v1/lookup`` without and with a token.

Run: ``make bench-auth``, or ``.venv/bin/python bench/auth.py [--seconds 30] [--connections 8]``

It loads the demo data set into a database of its own (the embedded cluster, or DATABASE_URL's
server), makes a street office token of the demo's street (as ``gridmap demo`` does: it sees the
names and phones of that street's grid teams), starts ``gridmap serve --workers 2`` on loopback
and runs Debian's ``wrk -t2 -c8 -d30s --latency`` twice over the same 2,000 points inside the
demo grids (a Lua script walks them): without ``Authorization``, then with
``Authorization: Bearer …``. It prints req/s, p50 and p99 of each and the ratio; the goal is a
token within 1.5× of anonymous and at least 1,500 req/s. ``wrk`` is installed by
``scripts/setup.sh --bench`` when missing (``make test`` does not need it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gridmap.auth import create_token  # noqa: E402
from gridmap.database import make_engine, scratch_database  # noqa: E402
from gridmap.loader import load_dataset  # noqa: E402
from gridmap.settings import Settings  # noqa: E402

NAME = "gridmap_bench_auth"
PORT = 8932
POINTS = 2_000
THREADS = 2
WORKERS = 2

LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def points_inside(url: str, n: int, seed: int) -> list[tuple[float, float]]:
    """``n`` random points inside the current demo grids."""
    import numpy as np
    from sqlalchemy import text

    import shapely

    engine = make_engine(url)
    with engine.connect() as conn:
        wkb = conn.execute(text("SELECT ST_AsBinary(geom) FROM grid WHERE valid_to IS NULL"))
        grids = shapely.from_wkb([bytes(r[0]) for r in wkb])
    engine.dispose()
    west, south, east, north = shapely.total_bounds(grids)
    rng = np.random.default_rng(seed)
    pts = rng.uniform([west, south], [east, north], (n * 20, 2))
    inside = np.zeros(len(pts), dtype=bool)
    inside[shapely.STRtree(grids).query(shapely.points(pts), predicate="within")[0]] = True
    return [(float(x), float(y)) for x, y in pts[inside][:n]]


def make_token(url: str, region: str) -> str:
    """A street office token of ``region``, committed."""
    from sqlalchemy.orm import Session

    engine = make_engine(url)
    with Session(engine) as session:
        secret, _ = create_token(session, name="bench", role="street", region=region)
        session.commit()
    engine.dispose()
    return secret


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def run_wrk(script: Path, seconds: int, connections: int, headers: list[str]) -> dict[str, float]:
    """Run ``wrk`` once: req/s, p50 and p99 in ms, and the count of non-2xx answers."""
    args = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for h in headers:
        args += ["-H", h]
    args += ["-s", str(script), f"http://127.0.0.1:{PORT}/api/v1/lookup"]
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


def wait_for_server(server: subprocess.Popen[bytes]) -> None:
    """Return once ``/health`` answers; exit if the server dies or takes a minute."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=2) as r:
                json.load(r)
            return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start") from None
            time.sleep(0.3)


def ensure_wrk() -> None:
    """Install ``wrk`` through the setup script's bench step when it is missing."""
    if shutil.which("wrk") is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh"), "--bench"], check=True)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")


def main() -> None:
    """Load the demo, start the server, run wrk without and with a token, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--connections", type=int, default=8)
    args = ap.parse_args()
    ensure_wrk()

    settings = Settings()
    with scratch_database(settings.db, NAME) as url, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url)
        load_dataset(engine, settings.api.data_dir, commit=True)
        engine.dispose()
        secret = make_token(url, settings.api.start_region)
        paths = [
            f'"/api/v1/lookup?lon={x:.6f}&lat={y:.6f}"' for x, y in points_inside(url, POINTS, 1)
        ]
        script = Path(tmp) / "lookup.lua"
        script.write_text(LUA % ",".join(paths))
        env = {**os.environ, "DATABASE_URL": url}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gridmap.cli",
                "serve",
                "--port",
                str(PORT),
                "--workers",
                str(WORKERS),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        token = [f"Authorization: Bearer {secret}"]
        try:
            wait_for_server(server)
            # Warm both workers: their in-memory grids, and their token caches.
            run_wrk(script, 2, args.connections, [])
            run_wrk(script, 2, args.connections, token)
            anonymous = run_wrk(script, args.seconds, args.connections, [])
            with_token = run_wrk(script, args.seconds, args.connections, token)
        finally:
            server.terminate()
            server.wait(timeout=20)

    print(
        f"wrk -t{THREADS} -c{args.connections} -d{args.seconds}s, GET /api/v1/lookup over "
        f"{POINTS:,} points in the demo grids, gridmap serve --workers {WORKERS}, loopback"
    )
    print(f"  {'':<22}{'req/s':>10}{'p50':>11}{'p99':>11}{'non-2xx':>10}")
    for label, r in (("anonymous", anonymous), ("street office token", with_token)):
        print(
            f"  {label:<22}{r['rps']:>10,.0f}{r['p50']:>8.2f} ms{r['p99']:>8.2f} ms"
            f"{r['non2xx']:>10,.0f}"
        )
    print(f"  ratio (anonymous / token req/s)  {anonymous['rps'] / with_token['rps']:.2f}x")


if __name__ == "__main__":
    main()
