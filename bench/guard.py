"""What the input guard costs: the anonymous lookup with and without it, and JSON bodies.

Run: ``.venv/bin/python bench/guard.py [--requests 20000]``

It loads the demo data set into a database of its own, starts the app's lifespan (so lookups
are answered from memory by the fast path, as in production) and calls the ASGI stack directly,
without a network, so the few microseconds of the guard are not lost in socket noise:

- the whole middleware stack as ``create_app`` builds it (HEAD rule → body limit → guard →
  fast path), against the same stack without the guard;
- the guard's own check of a lookup's query string and headers;
- the guard's check of JSON bodies: an incident report, and a grid batch of 2,000 polygons.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gridmap.database import make_engine, scratch_database  # noqa: E402
from gridmap.fastpath import LookupFastPath  # noqa: E402
from gridmap.guard import check_headers, check_json, check_url  # noqa: E402
from gridmap.head import HeadAsGet  # noqa: E402
from gridmap.loader import load_dataset  # noqa: E402
from gridmap.main import create_app  # noqa: E402
from gridmap.middleware import BodyLimit  # noqa: E402
from gridmap.settings import Settings  # noqa: E402

NAME = "gridmap_bench_guard"
QUERY = b"lon=116.352&lat=39.998"


def lookup_scope(app: Any) -> dict[str, Any]:
    """The ASGI scope of an anonymous lookup as uvicorn makes it."""
    return {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/lookup",
        "raw_path": b"/api/v1/lookup",
        "root_path": "",
        "query_string": QUERY,
        "headers": [(b"host", b"localhost"), (b"user-agent", b"bench"), (b"accept", b"*/*")],
        "app": app,
    }


async def once(stack: Any, app: Any, n: int) -> tuple[float, int]:
    """Microseconds per request over ``n`` requests, and the last status."""
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    started = time.perf_counter()
    for _ in range(n):
        await stack(lookup_scope(app), receive, send)
    return (time.perf_counter() - started) / n * 1e6, status


async def compare(a: Any, b: Any, app: Any, n: int) -> tuple[float, float]:
    """Median µs/request of two stacks over 7 interleaved rounds (so load hits both alike)."""
    ta, tb = [], []
    for _ in range(7):
        for stack, out in ((a, ta), (b, tb)):
            took, status = await once(stack, app, n)
            assert status == 200, status
            out.append(took)
    return statistics.median(ta), statistics.median(tb)


def timed(fn: Any, n: int) -> float:
    """Median microseconds per call over 5 rounds of ``n``."""
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            fn()
        rounds.append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(rounds)


def batch_body(grids: int) -> bytes:
    """A grid batch body of ``grids`` 60-vertex polygons (as ``json.dumps`` writes it)."""
    ring = [[116.3 + i * 1e-4, 40.0 + (i % 7) * 1e-4] for i in range(60)]
    ring.append(ring[0])
    feature = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"name": "网格", "kind": "basic"},
    }
    return json.dumps({"type": "FeatureCollection", "features": [feature] * grids}).encode()


async def main() -> None:
    """Load the demo, warm the fast path, and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=5_000)
    args = ap.parse_args()
    n = args.requests

    settings = Settings()
    with scratch_database(settings.db, NAME) as url:
        engine = make_engine(url)
        load_dataset(engine, settings.api.data_dir, commit=True)
        engine.dispose()
        settings.db.url = url
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            # The first lookup goes through FastAPI and builds the in-memory snapshot.
            _, status = await once(app, app, 50)
            assert status == 200, status
            api = settings.api
            without = HeadAsGet(
                BodyLimit(
                    LookupFastPath(app.router),
                    limit=api.max_body_bytes,
                    upload_limit=api.max_upload_bytes,
                )
            )
            assert app.state.live.fresh() is not None, "the fast path is not answering"
            with_guard, no_guard = await compare(app.middleware_stack, without, app, n)

    scope = lookup_scope(None)
    check = timed(lambda: (check_url(scope), check_headers(scope)), n)
    report = json.dumps(
        {"x": 116.342, "y": 40.005, "category": "市容环境/暴露垃圾", "description": "楼下垃圾堆积"}
    ).encode()
    small = timed(lambda: check_json(report), n)
    big = batch_body(2000)
    large = timed(lambda: check_json(big), 20)
    parse = timed(lambda: json.loads(big), 20)

    print(f"anonymous GET /api/v1/lookup?{QUERY.decode()}, in process, median of 7 x {n}")
    print(f"  stack with the guard      {with_guard:8.1f} µs/request")
    print(f"  stack without the guard   {no_guard:8.1f} µs/request")
    print(f"  difference                {with_guard - no_guard:8.1f} µs/request")
    print(f"  guard's URL+header check  {check:8.2f} µs")
    print("JSON bodies: guard check vs json.loads (what the route does anyway)")
    print(f"  incident report ({len(report)} B)   {small:8.2f} µs")
    print(
        f"  grid batch ({len(big) / 1e6:.1f} MB)      {large / 1000:8.2f} ms"
        f"   json.loads {parse / 1000:.2f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
