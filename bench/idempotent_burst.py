"""Bursts of one report sent many times at once with one ``Idempotency-Key``: answers, and how
long ``/health`` takes meanwhile.

Run: ``.venv/bin/python bench/idempotent_burst.py [--bursts 5] [--senders 50] [--wait]``

It makes a database of its own with one community and grid, serves gridmap under uvicorn on
loopback (the default pool: 5 connections + 10 overflow), and for each burst releases
``--senders`` threads at once, each posting the same report with the burst's key, while another
thread asks ``/health`` once a second. ``--wait`` is the alternative: the server as it was,
where a second sender waits on the first one's uncommitted row (``ON CONFLICT``) with its
connection in hand; it is reproduced by turning the non-blocking key lock into a blocking one.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from tests.utils.fixtures import bearer, two_grids  # noqa: E402

from gridmap.database import make_engine, scratch_database  # noqa: E402
from gridmap.main import create_app  # noqa: E402
from gridmap.queries import incidents as queries  # noqa: E402
from gridmap.settings import Settings  # noqa: E402

NAME = "gridmap_bench_burst"
REPORT = {"x": 116.342, "y": 40.005, "category": "市容环境/暴露垃圾"}


def waiting_lock(session: Session, *, idempotency_key: str) -> bool:
    """The alternative: wait for the key (as ``ON CONFLICT`` waited for the first row)."""
    session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(idempotency_key, 0))))
    return True


def main() -> None:
    """Run the bursts and print, for each, its time, its answers and the slowest ``/health``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--bursts", type=int, default=5)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--wait", action="store_true", help="the blocking alternative")
    args = parser.parse_args()
    if args.wait:
        queries.try_lock_key = waiting_lock  # type: ignore[assignment]
    settings = Settings()
    with scratch_database(settings.db, NAME) as url:
        engine = make_engine(url)
        with Session(engine) as db, db.begin():
            two_grids(db)
            auth = bearer(db)
        s = settings.model_copy(deep=True)
        s.db.embedded_db = NAME
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(create_app(s), host="127.0.0.1", port=port, log_level="critical")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        kind = "waiting for the key" if args.wait else "gridmap"
        print(f"{args.bursts} bursts of {args.senders} senders, {kind}")
        try:
            for burst in range(args.bursts):
                run_burst(base, auth, burst, args.senders)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT count(*) FROM incident")).scalar_one()
        print(f"incidents written: {rows} (one per burst expected)")
        engine.dispose()


def run_burst(base: str, auth: dict[str, str], burst: int, senders: int) -> None:
    """Release ``senders`` posts of one report with one key at once, ``/health`` watched."""
    headers = {**auth, "Idempotency-Key": f"bench-{burst}-{time.time_ns()}"}
    start = threading.Barrier(senders + 1)
    done = threading.Event()
    health: list[float] = []

    def post(_n: int) -> int:
        start.wait()
        with httpx.Client(base_url=base, timeout=60) as http:
            return http.post("/api/v1/incidents", json=REPORT, headers=headers).status_code

    def watch() -> None:
        start.wait()
        with httpx.Client(base_url=base, timeout=60) as http:
            while not done.is_set():
                t = time.perf_counter()
                http.get("/health")
                health.append(time.perf_counter() - t)
                time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=senders) as pool:
        statuses = Counter(pool.map(post, range(senders)))
    took = time.perf_counter() - t0
    done.set()
    watcher.join()
    print(
        f"  burst {burst + 1}: {took:6.2f} s  answers {dict(sorted(statuses.items()))}  "
        f"/health max {max(health) * 1000:7.1f} ms"
    )


if __name__ == "__main__":
    main()
