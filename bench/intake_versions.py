"""Intake now against intake before incidents were partitioned, in the same run.

Run: ``.venv/bin/python bench/intake_versions.py [--before 72f8d26] [--rounds 5]``

The goal "intake p50 unchanged" compares gridmap with itself: ``--before`` (default 72f8d26,
the last commit with one unpartitioned ``incident`` table) is checked out in a temporary git
worktree, and each version gets a database of its own on this project's embedded cluster,
migrated and loaded with the demo data set by that version's own code; the current one also
gets ``--months`` monthly partitions (ten years by default). Then, in turn (one version, then
the other, ``--rounds`` times, so a busy machine slows both alike), a process of that version
sends ``--reports`` sequential ``POST /api/v1/incidents`` through its app in-process (Starlette's
test client: no network) and prints the p50, the p95 and the database's share of each report
(the time spent in its statements). The ratio is now / before.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "72f8d26"
CATEGORY = "市容环境/暴露垃圾"


def child_load(url: str, months: int) -> None:
    """Migrate and load the demo data with the code on ``sys.path`` (one version's)."""
    from sqlalchemy import text

    import gridmap
    from gridmap import migrate
    from gridmap.database import make_engine
    from gridmap.loader import load_dataset

    migrate.upgrade(url)
    engine = make_engine(url, pool_size=1)
    # The version's own demo data (its src/gridmap is two levels below its root).
    load_dataset(engine, Path(gridmap.__file__).parents[2] / "data" / "boundaries", commit=True)
    if months:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "SELECT gridmap_incident_month((date_trunc('month', now())::date "
                    "- (n || ' months')::interval)::date) FROM generate_series(0, :m - 1) AS n"
                ),
                {"m": months},
            )
    engine.dispose()


def child_report(url: str, reports: int) -> None:
    """Send ``reports`` reports through the app in-process; print the figures as JSON."""
    import time
    import warnings

    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient
    from sqlalchemy import event, text
    from sqlalchemy.orm import Session

    from gridmap.auth import create_token
    from gridmap.main import create_app
    from gridmap.settings import Settings

    os.environ["GRIDMAP_DATABASE_URL"] = url
    app = create_app(Settings())
    spent: list[float] = []
    with TestClient(app) as client:
        engine = app.state.engine
        with Session(engine) as db, db.begin():
            secret, token_id = create_token(db, name="bench/intake_versions.py", role="admin")
        headers = {"Authorization": f"Bearer {secret}"}
        inside = [0.0]

        @event.listens_for(engine, "before_cursor_execute")
        def _start(conn: Any, *_: Any) -> None:
            conn.info["bench_t"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _end(conn: Any, *_: Any) -> None:
            inside[0] += time.perf_counter() - conn.info["bench_t"]

        times = []
        for i in range(reports + 5):
            inside[0] = 0.0
            body = {
                "x": 116.30 + (i % 50) / 1000,
                "y": 39.98 + (i % 7) / 1000,
                "category": CATEGORY,
                "description": "模拟上报（bench/intake_versions.py）",
            }
            t = time.perf_counter()
            answer = client.post("/api/v1/incidents", headers=headers, json=body)
            took = time.perf_counter() - t
            if answer.status_code != 201:
                raise SystemExit(f"intake answered {answer.status_code}: {answer.text[:300]}")
            if i >= 5:  # the first few warm the pool and the caches
                times.append(took * 1000)
                spent.append(inside[0] * 1000)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM api_token WHERE id = :id"), {"id": token_id})
    ordered = sorted(times)
    print(
        json.dumps(
            {
                "p50": statistics.median(ordered),
                "p95": ordered[int(len(ordered) * 0.95) - 1],
                "db": statistics.median(spent),
            }
        )
    )


def run_child(src: Path, *args: str) -> str:
    """This file as a child process with ``src`` (one version's code) first on its path."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    env.pop("GRIDMAP_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def main() -> None:
    """Build both databases, then time the two versions in turn."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default=BEFORE, help="the commit to compare with")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reports", type=int, default=200)
    ap.add_argument("--months", type=int, default=124, help="monthly partitions of the current")
    ap.add_argument("--child", nargs=3, metavar=("WHAT", "URL", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        what, url, n = args.child
        (child_load if what == "load" else child_report)(url, int(n))
        return
    sys.path.insert(0, str(ROOT / "src"))
    from gridmap.database import scratch_database
    from gridmap.settings import Settings

    settings = Settings()
    with (
        tempfile.TemporaryDirectory(prefix="gridmap-before-") as tmp,
        scratch_database(settings.db, "gridmap_bench_intake_before", migrated=False) as url_before,
        scratch_database(settings.db, "gridmap_bench_intake_now", migrated=False) as url_now,
    ):
        worktree = Path(tmp) / "before"
        subprocess.run(
            [
                "git",
                "-C",
                str(ROOT),
                "worktree",
                "add",
                "-q",
                "--detach",
                str(worktree),
                args.before,
            ],
            check=True,
        )
        try:
            versions = {
                f"before ({args.before})": (worktree / "src", url_before, 0),
                "now": (ROOT / "src", url_now, args.months),
            }
            for name, (src, url, months) in versions.items():
                print(f"loading the demo data with the code of {name} …", flush=True)
                run_child(src, "--child", "load", url, str(months))
            figures: dict[str, list[dict[str, float]]] = {name: [] for name in versions}
            for r in range(args.rounds):
                for name, (src, url, _) in versions.items():
                    said = json.loads(run_child(src, "--child", "report", url, str(args.reports)))
                    figures[name].append(said)
                    print(
                        f"round {r + 1}  {name:<22} p50 {said['p50']:6.2f} ms  "
                        f"p95 {said['p95']:6.2f} ms  in the database {said['db']:5.2f} ms",
                        flush=True,
                    )
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)],
                check=False,
            )
    before, now = (figures[name] for name in versions)

    def median(rounds: list[dict[str, float]], key: str) -> float:
        return statistics.median(f[key] for f in rounds)

    print(
        f"\nintake p50 (median of {args.rounds} rounds of {args.reports}): before "
        f"{median(before, 'p50'):.2f} ms, now {median(now, 'p50'):.2f} ms with {args.months} "
        f"monthly partitions: {median(now, 'p50') / median(before, 'p50'):.2f}× (in the "
        f"database {median(before, 'db'):.2f} → {median(now, 'db'):.2f} ms a report)"
    )


if __name__ == "__main__":
    main()
