"""Single-point lookups over HTTP: p50, p99, requests per second and errors.

Run: ``.venv/bin/python bench/lookup_http.py [--seconds 30] [--connections 4] [--workers 2]``

It loads the demo data set into a database of its own, starts ``gridmap serve`` on loopback,
and from a second process keeps ``--connections`` keep-alive connections busy with
``GET /api/v1/lookup`` of random points in the demo grids (5 % outside every grid, which
answer 404 with the nearest grid), one request in flight per connection. Latency is measured
per request from send to the last byte of the answer. Anything but 200 or 404 counts as an error.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import selectors
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gridmap.database import make_engine, scratch_database  # noqa: E402
from gridmap.loader import load_dataset  # noqa: E402
from gridmap.settings import Settings  # noqa: E402

NAME = "gridmap_bench_http"
PORT = 8931
OUTSIDE_SHARE = 0.05


def requests_for(url: str, n: int, seed: int) -> list[bytes]:
    """``n`` lookup requests: points inside the demo grids, and a few (5 %) outside them."""
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
    pts = rng.uniform([west, south], [east, north], (n * 8, 2))
    tree = shapely.STRtree(grids)
    inside = np.zeros(len(pts), dtype=bool)
    inside[tree.query(shapely.points(pts), predicate="intersects")[0]] = True
    n_out = int(n * OUTSIDE_SHARE)
    chosen = np.vstack([pts[inside][: n - n_out], pts[~inside][:n_out]])
    rng.shuffle(chosen)
    return [
        f"GET /api/v1/lookup?lon={x:.6f}&lat={y:.6f} HTTP/1.1\r\nHost: b\r\n\r\n".encode()
        for x, y in chosen
    ]


def load(
    seconds: float,
    connections: int,
    requests: list[bytes],
    out: mp.Queue,  # type: ignore[type-arg]
) -> None:
    """Keep ``connections`` connections busy for ``seconds``; put (latencies, statuses)."""
    sel = selectors.DefaultSelector()
    state = {}
    for _ in range(connections):
        s = socket.create_connection(("127.0.0.1", PORT))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        state[s] = {"buf": b"", "t": 0.0}
        sel.register(s, selectors.EVENT_READ)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    sent = 0

    def send(s: socket.socket) -> None:
        nonlocal sent
        req = requests[sent % len(requests)]
        sent += 1
        state[s]["t"] = time.perf_counter()
        s.sendall(req)

    end = time.perf_counter() + seconds
    for s in state:
        send(s)
    while time.perf_counter() < end:
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj  # type: ignore[assignment]
            st = state[s]
            st["buf"] += s.recv(65536)
            head_end = st["buf"].find(b"\r\n\r\n")
            if head_end < 0:
                continue
            head = st["buf"][:head_end].decode("latin-1").lower()
            length = int(head.split("content-length:")[1].split("\r\n")[0])
            if len(st["buf"]) < head_end + 4 + length:
                continue
            latencies.append(time.perf_counter() - st["t"])
            status = int(head.split(" ", 2)[1])
            statuses[status] = statuses.get(status, 0) + 1
            st["buf"] = st["buf"][head_end + 4 + length :]
            send(s)
    out.put((latencies, statuses))


def main() -> None:
    """Start the server, run the load from another process, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--connections", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    settings = Settings()
    with scratch_database(settings.db, NAME) as url:
        engine = make_engine(url)
        load_dataset(engine, settings.api.data_dir, commit=True)
        engine.dispose()
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
                str(args.workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=2) as r:
                        json.load(r)
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.3)
            # Warm every worker's in-memory grids before timing.
            warm: mp.Queue = mp.Queue()  # type: ignore[type-arg]
            reqs = requests_for(url, 200_000, 1)
            load(2.0, args.connections, reqs[-5000:], warm)
            warm.get()
            results: mp.Queue = mp.Queue()  # type: ignore[type-arg]
            client = mp.Process(target=load, args=(args.seconds, args.connections, reqs, results))
            client.start()
            latencies, statuses = results.get()
            client.join()
        finally:
            server.terminate()
            server.wait(timeout=20)
    latencies.sort()
    n = len(latencies)
    errors = sum(c for s, c in statuses.items() if s not in (200, 404))
    print(
        f"{args.seconds:.0f} s, {args.connections} keep-alive connections, "
        f"{args.workers} server worker(s), loopback"
    )
    print(f"  requests   {n}  (200: {statuses.get(200, 0)}, 404: {statuses.get(404, 0)})")
    print(f"  errors     {errors}")
    print(f"  req/s      {n / args.seconds:,.0f}")
    print(f"  p50        {latencies[n // 2] * 1000:.2f} ms")
    print(f"  p99        {latencies[int(n * 0.99)] * 1000:.2f} ms")


if __name__ == "__main__":
    main()
