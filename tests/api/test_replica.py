"""A real hot standby of the test cluster: reads served by it, read-your-writes, lag, change
propagation to a replica-reading server, and the primary answering when it is gone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    BORDER_LON,
    WEST_GRID,
    bearer,
    community_with_west_grid,
    feature,
    rect,
)

from gridmap import migrate
from gridmap.database import embedded_cluster, make_engine
from gridmap.embedded import Cluster, drop_replica, make_replica
from gridmap.main import create_app
from gridmap.queries import tiles
from gridmap.settings import Settings

NAME = "gridmap_test_replica"
SLOT = "gridmap_test_replica"
POINT = {"lon": 116.342, "lat": 40.005}


@dataclass
class Replicated:
    settings: Settings
    primary: Engine
    standby: Engine
    replica: Cluster
    a: dict[str, str]
    b: dict[str, str]


@pytest.fixture(scope="module")
def replicated(settings: Settings, fresh_database: Callable[[str], str]) -> Iterator[Replicated]:
    """A database with one grid and two tokens, and a standby of the cluster holding it."""
    assert settings.db.url is None, "the replica tests make a standby of the embedded cluster"
    url = fresh_database(NAME)
    migrate.upgrade(url)
    primary = make_engine(url)
    with Session(primary) as db, db.begin():
        community_with_west_grid(db)
        a, b = bearer(db, name="甲"), bearer(db, name="乙")
    cluster = embedded_cluster(settings.db)
    replica = Cluster(home=settings.db.home / "test-replica", port=cluster.port + 2)
    drop_replica(cluster, replica, slot=SLOT)
    make_replica(cluster, replica, slot=SLOT)
    replica.start()
    s = settings.model_copy(deep=True)
    s.db.embedded_db = NAME
    s.db.read_url = replica.url(NAME)
    s.db.replica_poll_seconds = 0.2
    standby = make_engine(replica.url(NAME), pool_size=1)
    try:
        yield Replicated(s, primary, standby, replica, a, b)
    finally:
        standby.dispose()
        primary.dispose()
        drop_replica(cluster, replica, slot=SLOT)


def _standby(r: Replicated, sql: str) -> Any:
    with r.standby.connect() as conn:
        return conn.execute(text(sql)).scalar()


def _rename_on_primary(r: Replicated, name: str) -> None:
    with r.primary.begin() as conn:
        conn.execute(
            text("UPDATE grid SET name = :n WHERE code = :c AND valid_to IS NULL"),
            {"n": name, "c": WEST_GRID},
        )


def _caught_up(r: Replicated, timeout: float = 15.0) -> None:
    with r.primary.connect() as conn:
        target = conn.execute(text("SELECT pg_current_wal_lsn()")).scalar()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with r.standby.connect() as conn:
            if conn.execute(
                text("SELECT pg_last_wal_replay_lsn() >= CAST(:t AS pg_lsn)"), {"t": target}
            ).scalar():
                return
        time.sleep(0.05)
    raise AssertionError("the standby did not catch up")


@pytest.fixture
def paused(replicated: Replicated) -> Iterator[Replicated]:
    """The standby with its replay paused (resumed, and caught up, afterwards)."""
    _standby(replicated, "SELECT pg_wal_replay_pause()")
    try:
        yield replicated
    finally:
        _standby(replicated, "SELECT pg_wal_replay_resume()")
        _caught_up(replicated)


@pytest.fixture
def client(replicated: Replicated) -> Iterator[TestClient]:
    with TestClient(create_app(replicated.settings)) as c:
        yield c


def _name(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    return str(answer.json()["grid"]["name"])


def _ogc_name(client: TestClient, **kw: Any) -> str:
    r = client.get(f"/ogc/collections/grids/items/{WEST_GRID}", **kw)
    assert r.status_code == 200, r.text
    return str(r.json()["properties"]["name"])


def test_the_standby_is_a_standby_and_has_the_data(replicated: Replicated) -> None:
    assert _standby(replicated, "SELECT pg_is_in_recovery()") is True
    assert _standby(replicated, f"SELECT name FROM grid WHERE code = '{WEST_GRID}'") == "西网格"


def test_reads_come_from_the_standby(paused: Replicated, client: TestClient) -> None:
    r = paused
    first = client.get("/api/v1/lookup", params=POINT)
    assert _name(first) == "西网格"
    _rename_on_primary(r, "主库新名")
    time.sleep(0.5)  # more than a poll: nothing reaches the paused standby
    # The same reads answer the standby's (older) grids: they are served by it.
    assert _name(client.get("/api/v1/lookup", params=POINT)) == "西网格"
    at = client.get("/api/v1/lookup", params={**POINT, "at": "2100-01-01T00:00:00+08:00"})
    assert _name(at) == "西网格"
    assert at.headers["gridmap-read"] == "replica"
    assert _ogc_name(client) == "西网格"
    tj = client.get("/tiles/grids.json")
    assert tj.headers["gridmap-read"] == "replica"
    with Session(r.primary) as db:
        version = tiles.current_version(db, "grids")
    # The tile URLs carry the standby's version, never the primary's newer one.
    old = tj.json()["data_version"]
    assert old < version
    url = tj.json()["tiles"][0].split("testserver")[1]
    tile = client.get(url.format(z=15, x=26974, y=12403))
    assert tile.status_code == 200
    assert tile.headers["gridmap-read"] == "replica"
    assert tile.headers["cache-control"].startswith("public")
    # A tile cut from a generalised copy the standby cannot rebuild is made by the primary,
    # whose version is newer than the URL's: it is not cached.
    low = client.get(url.format(z=14, x=13487, y=6201))
    assert low.status_code == 200
    assert low.headers["gridmap-read"] == "replica"
    assert low.headers["cache-control"] == "no-cache"
    assert client.app.state.reads.on_replica >= 3  # type: ignore[attr-defined]
    _standby(r, "SELECT pg_wal_replay_resume()")
    _caught_up(r)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if _name(client.get("/api/v1/lookup", params=POINT)) == "主库新名":
            break
        time.sleep(0.1)
    assert _name(client.get("/api/v1/lookup", params=POINT)) == "主库新名"
    assert _ogc_name(client) == "主库新名"
    caught = client.get("/tiles/grids.json").json()["data_version"]
    assert caught > old
    # Once replayed, the standby's version is the primary's exactly (a sequence would read up
    # to 32 ahead on a standby and stand still for 31 bumps).
    with Session(r.primary) as db:
        assert caught == tiles.current_version(db, "grids")
    _rename_on_primary(r, "西网格")
    _caught_up(r)
    with Session(r.primary) as db:
        assert client.get("/tiles/grids.json").json()["data_version"] == tiles.current_version(
            db, "grids"
        )


def test_a_token_reads_its_own_write_while_the_standby_waits(
    paused: Replicated, client: TestClient
) -> None:
    r = paused
    etag = client.get(f"/api/v1/grids/{WEST_GRID}").headers["etag"]
    written = client.put(
        f"/api/v1/grids/{WEST_GRID}",
        json=feature(rect(116.34, 40.0, BORDER_LON, 40.01), name="甲改的名"),
        headers={**r.a, "If-Match": etag},
    )
    assert written.status_code == 200, written.text
    lsn = written.headers["gridmap-lsn"]
    assert "gridmap_lsn=" + lsn in written.headers["set-cookie"]
    client.cookies.clear()
    # 甲, who wrote it: the primary answers (fast path, the route, /ogc, the batch lookup).
    mine = client.get("/api/v1/lookup", params=POINT, headers=r.a)
    assert _name(mine) == "甲改的名"
    assert mine.headers["gridmap-read"] == "primary"
    assert _ogc_name(client, headers=r.a) == "甲改的名"
    batch = client.post("/api/v1/lookup", json={"points": [[116.342, 40.005]]}, headers=r.a)
    assert batch.json()["results"][0]["grid"]["name"] == "甲改的名"
    # 乙, and anyone anonymous: the standby's view, until it replays the write.
    assert _name(client.get("/api/v1/lookup", params=POINT, headers=r.b)) == "西网格"
    assert _name(client.get("/api/v1/lookup", params=POINT)) == "西网格"
    assert _ogc_name(client, headers=r.b) == "西网格"
    # Another worker process has not seen 甲's write: the cookie (or header) 甲's client sends
    # back carries it there.
    with TestClient(create_app(r.settings)) as other:
        assert _name(other.get("/api/v1/lookup", params=POINT, headers=r.a)) == "西网格"
        other.cookies.set("gridmap_lsn", lsn)
        assert _name(other.get("/api/v1/lookup", params=POINT, headers=r.a)) == "甲改的名"
        other.cookies.clear()
        sent = other.get("/api/v1/lookup", params=POINT, headers={"Gridmap-LSN": lsn})
        assert _name(sent) == "甲改的名"
    _standby(r, "SELECT pg_wal_replay_resume()")
    _caught_up(r)
    deadline = time.monotonic() + 5
    while _name(client.get("/api/v1/lookup", params=POINT, headers=r.b)) != "甲改的名":
        assert time.monotonic() < deadline, "乙 never saw the replayed write"
        time.sleep(0.1)
    # Caught up: 甲 reads the standby again.
    at = {**POINT, "at": "2100-01-01T00:00:00+08:00"}
    assert client.get("/api/v1/lookup", params=at, headers=r.a).headers["gridmap-read"] == (
        "replica"
    )
    _rename_on_primary(r, "西网格")


@pytest.mark.parametrize(
    "value",
    ["'; DROP TABLE grid; --", "x" * 5000, "FFFFFFFF/FFFFFFFF", "NaN", "-1/-1", "0/0", "1/\x00"],
)
def test_hostile_lsn_header_and_cookie(client: TestClient, value: str) -> None:
    for as_cookie in (False, True):
        client.cookies.clear()
        try:
            if as_cookie:
                client.cookies.set("gridmap_lsn", value)
                r = client.get("/api/v1/lookup", params=POINT)
            else:
                r = client.get("/api/v1/lookup", params=POINT, headers={"Gridmap-LSN": value})
        except (httpx.InvalidURL, httpx.LocalProtocolError, ValueError):
            continue  # the client itself refuses to send it
        assert r.status_code in (200, 422), r.text
        if r.status_code == 200:
            assert _name(r) == "西网格"
    client.cookies.clear()


def test_health_shows_the_lag(paused: Replicated, client: TestClient) -> None:
    r = paused
    _rename_on_primary(r, "延迟")
    try:
        health = client.get("/health")
        assert health.status_code == 200
        replica = health.json()["replica"]
        assert replica["state"] == "paused"
        assert replica["lag_bytes"] > 0
        assert replica["lag_seconds"] >= 0
        _standby(r, "SELECT pg_wal_replay_resume()")
        _caught_up(r)
        again = client.get("/health").json()["replica"]
        assert again["state"] == "streaming"
        # WAL written since (autovacuum, another test's server) may be on its way: the lag
        # falls back to nothing once it is replayed.
        deadline = time.monotonic() + 10
        while again["lag_seconds"] != 0 and time.monotonic() < deadline:
            time.sleep(0.1)
            again = client.get("/health").json()["replica"]
        assert again["lag_seconds"] == 0
    finally:
        _rename_on_primary(r, "西网格")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_server_reading_the_standby_hears_grid_changes_by_polling(
    replicated: Replicated,
) -> None:
    r = replicated
    port = _free_port()
    env = {
        **os.environ,
        "GRIDMAP_EMBEDDED_DB": NAME,
        "GRIDMAP_READ_DATABASE_URL": r.settings.db.read_url or "",
        "GRIDMAP_REPLICA_POLL_SECONDS": "0.5",
        "PORT": str(port),
    }
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gridmap.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        assert _name(httpx.get(f"{base}/api/v1/lookup", params=POINT)) == "西网格"
        _rename_on_primary(r, "轮询所得")
        seen = time.monotonic()
        while _name(httpx.get(f"{base}/api/v1/lookup", params=POINT)) != "轮询所得":
            assert time.monotonic() - seen < 5, "the server never heard of the change"
            time.sleep(0.1)
        # The standby has no listener of its own: the change came by polling it.
        sessions = _standby(
            r, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'gridmap-poll'"
        )
        assert sessions == 1
    finally:
        server.terminate()
        server.wait(timeout=15)
        _rename_on_primary(r, "西网格")
        _caught_up(r)


def test_a_stopped_standby_sends_reads_to_the_primary(
    replicated: Replicated, client: TestClient
) -> None:
    r = replicated
    assert _name(client.get("/api/v1/lookup", params=POINT)) == "西网格"
    r.replica.stop()
    try:
        at = {**POINT, "at": "2100-01-01T00:00:00+08:00"}
        for path, params in (
            ("/api/v1/lookup", at),
            ("/api/v1/lookup", POINT),
            (f"/ogc/collections/grids/items/{WEST_GRID}", {}),
            ("/ogc/collections/regions/items", {"limit": "2"}),
            ("/tiles/grids.json", {}),
            ("/api/v1/export/grids", {}),
        ):
            answer = client.get(path, params=params)
            assert answer.status_code == 200, (path, answer.text)
        assert client.get("/api/v1/lookup", params=at).headers["gridmap-read"] == "primary"
        health = client.get("/health")
        assert health.status_code == 200
        assert health.json()["replica"]["state"] == "down"
    finally:
        r.replica.start()
        _caught_up(r)
