"""The street pool's window (抢单 → 派单) closes by itself: a pooled incident nobody claimed goes
to its district's dispatch queue (or straight to its street with automatic dispatch), once,
whichever server's job gets there, and the job outlives a database that goes away."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from tests.utils.fixtures import DISTRICT, STREET, two_grids
from tests.utils.staged import staged_incident

from gridmap import migrate
from gridmap.database import ensure_database, make_engine
from gridmap.embedded import Cluster
from gridmap.main import create_app
from gridmap.scheduler import PoolWindow
from gridmap.services import workflow as wf
from gridmap.services.incidents import working_hours
from gridmap.services.pool import ACTOR, close_windows
from gridmap.settings import Settings

# A Friday afternoon in Beijing.
CLOSES = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def row(db: Session, incident_id: int) -> tuple[object, ...]:
    return tuple(
        db.execute(
            text(
                "SELECT status, owner_code, dispatch_mode, dispatched_at, due_at, version "
                "FROM incident WHERE id = :i"
            ),
            {"i": incident_id},
        ).one()
    )


def last_event(db: Session, incident_id: int) -> tuple[object, ...]:
    return tuple(
        db.execute(
            text(
                "SELECT action, from_status, to_status, actor FROM incident_event "
                "WHERE incident_id = :i ORDER BY seq DESC LIMIT 1"
            ),
            {"i": incident_id},
        ).one()
    )


def test_an_unclaimed_incident_enters_the_districts_queue_when_its_window_closes(
    db: Session,
) -> None:
    two_grids(db)
    pooled = staged_incident(db, status="pooled", owner=STREET, pool_until=CLOSES)
    later = staged_incident(db, status="pooled", owner=STREET, pool_until=CLOSES + timedelta(1))
    claimed = staged_incident(db, status="dispatched", owner=STREET, pool_until=CLOSES)
    untouched = {i: row(db, i) for i in (later, claimed)}

    assert close_windows(db, now=CLOSES - timedelta(seconds=1), auto_dispatch=False) == 0
    assert row(db, pooled)[0] == "pooled"
    assert close_windows(db, now=CLOSES, auto_dispatch=False) == 1
    assert row(db, pooled) == ("queued", DISTRICT, None, None, None, 2)
    assert last_event(db, pooled) == ("pool_close", "pooled", "queued", ACTOR)
    assert {i: row(db, i) for i in (later, claimed)} == untouched
    # Once: a second run finds nothing more.
    assert close_windows(db, now=CLOSES + timedelta(hours=1), auto_dispatch=False) == 0
    assert (
        db.execute(
            text("SELECT count(*) FROM incident_event WHERE incident_id = :i"), {"i": pooled}
        ).scalar()
        == 2
    )


def test_with_automatic_dispatch_it_goes_to_its_street_with_its_due_time(db: Session) -> None:
    two_grids(db)
    calendar_time = staged_incident(db, status="pooled", owner=STREET, pool_until=CLOSES)
    working_time = staged_incident(
        db, status="pooled", owner=STREET, pool_until=CLOSES, category="宣传广告/违规户外广告"
    )
    now = CLOSES + timedelta(minutes=3)
    assert close_windows(db, now=now, auto_dispatch=True) == 2
    assert row(db, calendar_time) == (
        "dispatched",
        STREET,
        "auto",
        now,
        now + timedelta(hours=24),
        2,
    )
    # 40 working hours from Friday 16:03 in Beijing: over the weekend, not through it.
    due = wf.due_at(now, 40, True, working_hours(db))
    assert row(db, working_time)[4] == due > now + timedelta(days=5)
    assert last_event(db, calendar_time) == ("dispatch", "pooled", "dispatched", ACTOR)


# The scheduler acts on committed rows through connections of its own: a database of its own.
@pytest.fixture(scope="module")
def pool_url(fresh_database) -> str:  # type: ignore[no-untyped-def]
    url: str = fresh_database("gridmap_test_pool")
    migrate.upgrade(url)
    engine = make_engine(url, pool_size=1)
    with Session(engine) as db:
        two_grids(db)
        db.commit()
    engine.dispose()
    return url


@pytest.fixture
def pool_db(pool_url: str) -> Iterator[tuple[str, Engine]]:
    engine = make_engine(pool_url, pool_size=2)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE incident CASCADE"))
    yield pool_url, engine
    engine.dispose()


def pooled(engine: Engine, n: int, *, until: datetime = CLOSES) -> list[int]:
    with Session(engine) as db:
        ids = [
            staged_incident(db, status="pooled", owner=STREET, pool_until=until) for _ in range(n)
        ]
        db.commit()
    return ids


def moves(engine: Engine) -> dict[int, int]:
    """Per incident, how many window events it has."""
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text(
                    "SELECT i.id, count(e.seq) FILTER (WHERE e.actor = :a) FROM incident i "
                    "LEFT JOIN incident_event e ON e.incident_id = i.id GROUP BY i.id"
                ),
                {"a": ACTOR},
            ).all()
        )


def test_two_servers_at_once_move_each_incident_once(pool_db: tuple[str, Engine]) -> None:
    url, engine = pool_db
    ids = pooled(engine, 60)
    jobs = [
        PoolWindow(url, tick_seconds=0.02, auto_dispatch=False, clock=lambda: CLOSES)
        for _ in range(2)
    ]
    # Both run at the same instant, then keep ticking side by side.
    start = threading.Barrier(2)
    results: list[int | None] = []

    def race(job: PoolWindow) -> None:
        start.wait()
        results.append(job.run_once())

    threads = [threading.Thread(target=race, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for job in jobs:
        job.start()
    time.sleep(0.3)
    for job in jobs:
        job.stop()
    assert sum(r or 0 for r in results) == 60
    assert sum(job.moved for job in jobs) == 60
    assert moves(engine) == dict.fromkeys(ids, 1)
    with engine.connect() as conn:
        states = conn.execute(
            text("SELECT status, owner_code, version, count(*) FROM incident GROUP BY 1, 2, 3")
        ).all()
    assert [tuple(s) for s in states] == [("queued", DISTRICT, 2, 60)]


def test_an_incident_being_claimed_is_left_to_the_claim(pool_db: tuple[str, Engine]) -> None:
    url, engine = pool_db
    claimed, other = pooled(engine, 2)
    job = PoolWindow(url, tick_seconds=1, auto_dispatch=False, clock=lambda: CLOSES)
    try:
        with engine.connect() as claim:
            # A street's claim holds the row while the window job runs.
            claim.execute(text("SELECT 1 FROM incident WHERE id = :i FOR UPDATE"), {"i": claimed})
            assert job.run_once() == 1
            claim.execute(
                text(
                    "UPDATE incident SET status = 'dispatched', dispatch_mode = 'claim' "
                    "WHERE id = :i"
                ),
                {"i": claimed},
            )
            claim.commit()
        assert job.run_once() == 0
    finally:
        job.stop()
    assert moves(engine) == {claimed: 0, other: 1}


def test_the_server_closes_windows_by_itself(
    pool_db: tuple[str, Engine], settings: Settings
) -> None:
    url, engine = pool_db
    own = settings.model_copy(deep=True)
    own.db.url = url  # type: ignore[assignment]
    own.api.pool_tick_seconds = 0.1
    own.api.pool_auto_dispatch = True
    (incident,) = pooled(engine, 1, until=datetime.now(UTC) - timedelta(seconds=1))
    app = create_app(own)
    with TestClient(app):
        job: PoolWindow = app.state.pool_window
        assert job.running
        deadline = time.monotonic() + 10
        while moves(engine).get(incident) != 1:
            assert time.monotonic() < deadline, "the window did not close by itself"
            time.sleep(0.05)
    assert not job.running
    with engine.connect() as conn:
        assert conn.execute(
            text("SELECT status, owner_code, dispatch_mode FROM incident WHERE id = :i"),
            {"i": incident},
        ).one() == ("dispatched", STREET, "auto")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_job_outlives_a_stopped_database_and_acts_once_it_is_back(caplog) -> None:  # type: ignore[no-untyped-def]
    base = Path(tempfile.mkdtemp(prefix="gridmap-pool-", dir="/tmp"))
    base.chmod(0o755)  # the cluster's service account must reach its data directory
    cluster = Cluster(home=base / "db", port=free_port())
    job: PoolWindow | None = None
    try:
        cluster.start()
        settings = Settings()
        settings.db.url = cluster.url("gridmap_pool_fault")  # type: ignore[assignment]
        ensure_database(settings.db, "gridmap_pool_fault")
        url = str(settings.db.url)
        migrate.upgrade(url)
        engine = make_engine(url, pool_size=1)
        with Session(engine) as db:
            two_grids(db)
            db.commit()
        job = PoolWindow(url, tick_seconds=0.05, auto_dispatch=False, clock=lambda: CLOSES)
        job.start()
        cluster.stop()
        deadline = time.monotonic() + 10
        while job.failures < 3:
            assert time.monotonic() < deadline, "the job did not try again"
            time.sleep(0.05)
        assert job.running
        assert "the database is not answering" in caplog.text
        cluster.start()
        (incident,) = pooled(engine, 1)
        deadline = time.monotonic() + 15
        while moves(engine).get(incident) != 1:
            assert time.monotonic() < deadline, "the job did not recover"
            time.sleep(0.05)
        assert job.running
        engine.dispose()
    finally:
        if job is not None:
            job.stop(timeout=15)
            assert not job.running
        cluster.destroy()
        shutil.rmtree(cluster.base, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)


def test_gridmap_pool_close_runs_the_job_once(
    pool_db: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from gridmap.cli import app
    from gridmap.settings import get_settings

    url, engine = pool_db
    due, waiting = (
        pooled(engine, 1)[0],
        pooled(engine, 1, until=datetime.now(UTC) + timedelta(1))[0],
    )
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["pool", "close", "--auto-dispatch"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "1 incident(s) moved" in result.output
    with engine.connect() as conn:
        states = dict(conn.execute(text("SELECT id, status FROM incident")).all())
    assert states == {due: "dispatched", waiting: "pooled"}


def test_the_hourly_upkeep_makes_the_months_ahead_and_trims_the_change_log(
    pool_db: tuple[str, Engine],
) -> None:
    """A server running for months keeps writing into month partitions, never the default one
    (PostgreSQL 15 may prune a default partition it should read)."""
    url, engine = pool_db
    with engine.begin() as conn:
        ahead = conn.execute(
            text(
                "SELECT to_char(date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') "
                "+ interval '2 months', 'YYYYMM')"
            )
        ).scalar_one()
        conn.execute(text(f"DROP TABLE IF EXISTS incident_p{ahead}"))
        # A row of a month without a partition, waiting in the default one.
        conn.execute(
            text(
                "INSERT INTO incident (category, reported_at, geom) VALUES ('城市管理/占道经营', "
                "TIMESTAMPTZ '2019-03-05 10:00+08', ST_SetSRID(ST_MakePoint(116.35, 40.0), 4326))"
            )
        )
        # A grid change logged eight days ago, and one just now.
        conn.execute(
            text(
                "INSERT INTO grid_change (tbl, code, at) VALUES "
                "('grid', '110108010019001', now() - interval '8 days'), "
                "('grid', '110108010019002', now())"
            )
        )
    job = PoolWindow(url, tick_seconds=1, auto_dispatch=False, clock=lambda: CLOSES)
    try:
        months, trimmed = job.upkeep()
        assert f"incident_p{ahead}" in months
        assert trimmed >= 1
    finally:
        job.stop()
    with engine.connect() as conn:
        attached = conn.execute(
            text(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = 'incident'::regclass "
                "AND inhrelid = CAST(:t AS regclass)"
            ),
            {"t": f"incident_p{ahead}"},
        ).scalar_one()
        assert attached == 1
        assert conn.execute(text("SELECT count(*) FROM incident_default")).scalar_one() == 0
        assert (
            conn.execute(
                text("SELECT count(*) FROM grid_change WHERE at < now() - interval '7 days'")
            ).scalar_one()
            == 0
        )
        assert (
            conn.execute(
                text("SELECT count(*) FROM grid_change WHERE code = '110108010019002'")
            ).scalar_one()
            >= 1
        )
        assert (
            conn.execute(
                text("SELECT count(*) FROM incident_p201903 WHERE category = '城市管理/占道经营'")
            ).scalar_one()
            == 1
        )
