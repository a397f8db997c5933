"""The database stops under a running server, and comes back.

This test starts a PostgreSQL cluster of its own (its own data directory and port under /tmp),
so it runs the same whether the suite uses the embedded cluster or a ``DATABASE_URL`` server,
and stopping it harms no other test. The real server (uvicorn, in a thread, on a free loopback
port) answers over HTTP, as it does in production.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from tests.utils.fixtures import WEST_GRID, bearer, two_grids

from gridmap import migrate
from gridmap.database import database_url, ensure_database, make_engine
from gridmap.embedded import Cluster
from gridmap.main import DATABASE_AWAY, create_app
from gridmap.settings import Settings

NAME = "gridmap_fault"
# Nothing may hang: every answer, good or bad, comes within this many seconds.
PATIENCE = 5.0
REPORT = {"x": 116.342, "y": 40.005, "category": "市容环境/暴露垃圾", "description": "停库测试"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    cluster: Cluster
    url: str
    http: httpx.Client
    worker: dict[str, str]

    def incidents(self) -> int:
        engine = make_engine(self.url, pool_size=1)
        try:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM incident")).scalar_one())
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    base = Path(tempfile.mkdtemp(prefix="gridmap-fault-", dir="/tmp"))
    base.chmod(0o755)  # the cluster's service account must reach its data directory
    cluster = Cluster(home=base / "db", port=free_port())
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    try:
        cluster.start()
        settings = Settings()
        settings.db.url = cluster.url(NAME)
        ensure_database(settings.db, NAME)
        url = database_url(settings.db)
        migrate.upgrade(url)
        engine = make_engine(url, pool_size=1)
        with Session(engine) as db:
            two_grids(db)
            worker = bearer(db, "worker", WEST_GRID, "西网格员")
            db.commit()
        engine.dispose()

        port = free_port()
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="gridmap-fault-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            yield Running(cluster, url, http, worker)
    finally:
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout=15)
        cluster.destroy()
        shutil.rmtree(cluster.base, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)


def timed(call: Callable[[], httpx.Response]) -> httpx.Response:
    started = time.monotonic()
    r = call()
    took = time.monotonic() - started
    assert took < PATIENCE, f"{r.request.method} {r.request.url} took {took:.1f} s"
    return r


def calls(run: Running) -> dict[str, Callable[[], httpx.Response]]:
    """The requests that need the database: reads, lookups and a write."""
    http, worker = run.http, run.worker
    return {
        "lookup": lambda: http.get("/api/v1/lookup?lon=116.342&lat=40.005", headers=worker),
        "address": lambda: http.get("/api/v1/lookup/address?q=学院路"),
        "lists": lambda: http.get("/api/v1/lists"),
        "incidents": lambda: http.get("/api/v1/incidents", headers=worker),
        "regions": lambda: http.get("/api/v1/regions"),
        "grid": lambda: http.get(f"/api/v1/grids/{WEST_GRID}"),
        "report": lambda: http.post("/api/v1/incidents", json=REPORT, headers=worker),
    }


def test_a_stopped_database_is_a_503_and_its_return_needs_no_restart(running: Running) -> None:
    run = running
    before = {name: timed(call).status_code for name, call in calls(run).items()}
    assert before["report"] == 201
    assert all(status in (200, 201) for status in before.values()), before
    assert timed(lambda: run.http.get("/health")).status_code == 200
    written = run.incidents()

    run.cluster.stop()
    try:
        for name, call in calls(run).items():
            r = timed(call)
            assert r.status_code == 503, (name, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/json"), name
            assert r.json() == {"detail": DATABASE_AWAY, "code": "database_unavailable"}, name
            assert int(r.headers["retry-after"]) > 0, name

        # The anonymous lookup is answered from memory only while change notifications arrive;
        # the listener notices its connection is gone and the lookup goes to the database.
        deadline = time.monotonic() + PATIENCE
        while True:
            r = timed(lambda: run.http.get("/api/v1/lookup?lon=116.342&lat=40.005"))
            if r.status_code == 503 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert r.status_code == 503 and r.json()["code"] == "database_unavailable", r.text

        health = timed(lambda: run.http.get("/health"))
        assert health.status_code == 503
        assert health.json()["code"] == "database_unavailable"
        assert int(health.headers["retry-after"]) > 0
        head = timed(lambda: run.http.head("/health"))
        assert head.status_code == 503 and head.content == b""
    finally:
        run.cluster.start()

    # Back without restarting gridmap: the pool drops its dead connections and makes new ones.
    deadline = time.monotonic() + 10
    while timed(lambda: run.http.get("/health")).status_code != 200:
        assert time.monotonic() < deadline, "gridmap did not see the database come back"
        time.sleep(0.2)
    after = {name: timed(call).status_code for name, call in calls(run).items()}
    assert after == before, after
    assert run.incidents() == written + 1
    r = timed(lambda: run.http.get("/api/v1/lookup?lon=116.342&lat=40.005"))
    assert r.status_code == 200 and r.json()["grid"]["code"] == WEST_GRID, r.text
    head = timed(lambda: run.http.head("/health"))
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 0  # the length GET would send


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1 / 0",  # a query's own error
        "SET LOCAL statement_timeout = '10ms'; SELECT pg_sleep(1)",  # cancelled: OperationalError
    ],
)
def test_a_failing_query_is_not_the_database_being_away(
    settings: Settings, engine: Engine, tmp_path: Path, sql: str
) -> None:
    # Any other database error stays a 500 (a fault of ours, logged with its traceback), but
    # answered in JSON like every other error.
    own = settings.model_copy(deep=True)
    own.api.web_dir = tmp_path / "no-pages"  # nothing mounted at / to answer before the route
    app = create_app(own)

    @app.get("/failing-query")
    def failing(request: Request) -> None:
        with request.app.state.sessionmaker() as session:
            for statement in sql.split(";"):
                session.execute(text(statement))

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/failing-query")
    assert r.status_code == 500, r.text
    assert r.json() == {"detail": "internal error; it has been logged", "code": "internal_error"}
    assert "retry-after" not in r.headers
