"""Fixtures: a real PostGIS (the embedded cluster, or DATABASE_URL's server), migrated once.

Each test runs inside a transaction that is rolled back afterwards, so every test starts from the
migrated, empty schema; tests that must commit (loads, migrations) use databases of their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridmap import migrate
from gridmap.database import (
    database_url,
    drop_database,
    embedded_cluster,
    ensure_database,
    make_engine,
)
from gridmap.dependencies import get_session
from gridmap.main import create_app
from gridmap.settings import Settings

TEST_DB = "gridmap_test"


@pytest.fixture(scope="session")
def settings() -> Settings:
    s = Settings()
    s.db.embedded_db = TEST_DB
    return s


@pytest.fixture(scope="session")
def server(settings: Settings) -> Settings:
    """The database server is up (the embedded cluster is started when no DATABASE_URL)."""
    if settings.db.url is None:
        embedded_cluster(settings.db).start()
    return settings


@pytest.fixture(scope="session")
def fresh_database(server: Settings) -> Iterator[object]:
    """Make a new, empty database on the server; dropped at the end of the session."""
    made: list[str] = []

    def make(name: str) -> str:
        drop_database(server.db, name)
        ensure_database(server.db, name)
        made.append(name)
        return database_url(server.db, name)

    yield make
    for name in made:
        drop_database(server.db, name)


@pytest.fixture(scope="session")
def engine(fresh_database) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    url = fresh_database(TEST_DB)
    migrate.upgrade(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def demo_engine(fresh_database) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """A database with the demo data set (data/boundaries/) loaded."""
    from gridmap.loader import load_dataset
    from gridmap.settings import project_root

    url = fresh_database("gridmap_test_demo")
    migrate.upgrade(url)
    eng = make_engine(url, pool_size=2)
    first = load_dataset(eng, project_root() / "data" / "boundaries", commit=True)
    assert first.tables["grid"].inserted > 0
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test."""
    conn = engine.connect()
    trans = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        trans.rollback()
        conn.close()


@pytest.fixture
def client(settings: Settings, db: Session) -> Iterator[TestClient]:
    app = create_app(settings)

    def _session() -> Iterator[Session]:
        yield db

    app.dependency_overrides[get_session] = _session
    with TestClient(app) as c:
        yield c


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # A skipped test would hide a missing database or library: count it as a failure.
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and reporter.stats.get("skipped") and exitstatus == 0:
        session.exitstatus = 1
