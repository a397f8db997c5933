"""A test client whose every request runs in a savepoint of the test's session, released when
the request succeeds and rolled back when it fails: a refused write leaves nothing behind, as a
request's own transaction does in the server."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gridmap.dependencies import get_session
from gridmap.main import create_app
from gridmap.settings import Settings


def atomic_client(settings: Settings, db: Session) -> Iterator[TestClient]:
    """A client of a fresh app whose requests each run in a savepoint of ``db``."""
    app = create_app(settings)

    def _busy() -> bool:
        # A streamed export holds the connection (COPY) until its answer is sent, while the
        # request's other session (one and the same here) ends when the route returns: that
        # savepoint is then left to the request's outer one, which ends after the answer.
        lock = db.connection().connection.driver_connection.lock  # type: ignore[union-attr]
        return bool(lock.locked())

    def _session() -> Iterator[Session]:
        nested = db.begin_nested()
        try:
            yield db
        except BaseException:
            if not _busy():
                nested.rollback()
            raise
        if not _busy():
            nested.commit()

    app.dependency_overrides[get_session] = _session
    with TestClient(app) as c:
        yield c
