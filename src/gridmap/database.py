"""gridmap.database: the engine, sessions, and the URL of the database in use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import Engine, column, create_engine, make_url, select, table, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from gridmap.embedded import Cluster, replica_of
from gridmap.errors import DatabaseUnavailable
from gridmap.settings import DatabaseSettings

# SQLSTATEs that mean the server is going, gone or cannot take us: connection exceptions (08…),
# shutdown by the administrator or a crash, starting up, too many connections.
_AWAY_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def embedded_cluster(settings: DatabaseSettings) -> Cluster:
    """The embedded cluster these settings describe."""
    return Cluster(home=settings.home, port=settings.embedded_port)


def database_url(settings: DatabaseSettings, database: str | None = None) -> str:
    """The SQLAlchemy URL in use: ``DATABASE_URL`` when set, else the embedded cluster's."""
    if settings.url is not None:
        url = str(settings.url)
        if database is not None:
            return make_url(url).set(database=database).render_as_string(hide_password=False)
        return url
    return embedded_cluster(settings).url(database or settings.embedded_db)


def read_database_url(settings: DatabaseSettings) -> str | None:
    """The URL GET routes read from (``GRIDMAP_READ_DATABASE_URL``), or None: read the primary."""
    return settings.read_url


def embedded_replica(settings: DatabaseSettings) -> Cluster:
    """The embedded hot standby of the embedded cluster these settings describe."""
    return replica_of(embedded_cluster(settings))


# A server that accepts the connection but never answers must not hold a request for long.
CONNECT_TIMEOUT_SECONDS = 5


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """An engine for ``url`` with connections checked before use.

    ``pool_pre_ping`` makes a pool survive a database restart: a connection that died with the
    old server is found dead when checked out, dropped, and replaced by a new one, so requests
    succeed again as soon as the database is back, without restarting gridmap.
    """
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_pre_ping=True,
        connect_args={"application_name": "gridmap", "connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (handlers serialise after committing)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error."""
    with factory() as session, session.begin():
        yield session


def database_gone(exc: BaseException) -> bool:
    """Whether a database error means the server cannot be reached, not that a query failed.

    A deadlock, a lock timeout or a cancelled statement is also an ``OperationalError``; those
    are not the database being away.
    """
    if isinstance(exc, PoolTimeout | InterfaceError | psycopg.InterfaceError):
        return True
    driver: BaseException | None = exc
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        if not isinstance(exc, OperationalError):
            return False
        driver = exc.orig
    # The driver's own error: wrapped by SQLAlchemy, or bare from work done on the driver's
    # connection (the COPY of an import).
    if not isinstance(driver, psycopg.OperationalError):
        return False
    state = driver.sqlstate
    # psycopg raises connection failures with no SQLSTATE at all.
    return state is None or state.startswith("08") or state in _AWAY_STATES


_pg_database = table("pg_database", column("datname"))


def ensure_database(settings: DatabaseSettings, database: str) -> bool:
    """Create ``database`` on the server if it is missing; return whether it was created."""
    admin = make_engine(database_url(settings, "postgres"), pool_size=1)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            exists = conn.execute(
                select(_pg_database.c.datname).where(_pg_database.c.datname == database)
            ).scalar()
            if exists:
                return False
            # Kept as SQL: DDL naming a database, which takes no bound parameter.
            conn.execute(text(f'CREATE DATABASE "{database}"'))
            return True
    except OperationalError as exc:
        raise DatabaseUnavailable(f"cannot reach the database server: {exc.orig}") from exc
    finally:
        admin.dispose()


def drop_database(settings: DatabaseSettings, database: str) -> None:
    """Drop ``database`` (closing its other connections first)."""
    admin = make_engine(database_url(settings, "postgres"), pool_size=1)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # Kept as SQL: DDL naming a database, which takes no bound parameter.
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def scratch_database(
    settings: DatabaseSettings, name: str, *, migrated: bool = True
) -> Iterator[str]:
    """A new, empty database (migrated to head unless told not to), dropped afterwards.

    For benchmarks and tools that must not touch the real data; starts the embedded cluster when
    there is no ``DATABASE_URL``.
    """
    from gridmap import migrate

    if settings.url is None:
        embedded_cluster(settings).start()
    drop_database(settings, name)
    ensure_database(settings, name)
    url = database_url(settings, name)
    try:
        if migrated:
            migrate.upgrade(url)
        yield url
    finally:
        drop_database(settings, name)
