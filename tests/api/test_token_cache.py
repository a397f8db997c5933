"""The token cache: a token costs a request no database work, and still stops working in time.

A server keeps each token's principal for ``GRIDMAP_API_TOKEN_CACHE_SECONDS``; these tests use a
life of a second where they wait it out. The tests at the end commit their rows (last use is
written on a connection of its own, and a change notification is sent only at commit), so they
run in a database of their own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    COMMUNITY,
    EAST_GRID,
    STREET,
    WEST_GRID,
    add_staff,
    two_grids,
)

from gridmap import auth, migrate
from gridmap.auth import Holder, Principal, TokenCache, create_token, revoke_named, revoke_token
from gridmap.database import make_engine
from gridmap.dependencies import get_session
from gridmap.fastpath import LookupFastPath
from gridmap.main import create_app
from gridmap.settings import Settings

LOOKUP = "/api/v1/lookup"
ME = "/api/v1/me"
WEST = {"lon": 116.342, "lat": 40.005}
EAST = {"lon": 116.348, "lat": 40.005}


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _app_client(settings: Settings, db: Session | None, **api: Any) -> Iterator[TestClient]:
    s = settings.model_copy(deep=True)
    for name, value in api.items():
        setattr(s.api, name, value)
    app = create_app(s)
    if db is not None:

        def one_session() -> Iterator[Session]:
            yield db

        app.dependency_overrides[get_session] = one_session
    with TestClient(app) as c:
        yield c


@pytest.fixture
def short(settings: Settings, db: Session) -> Iterator[TestClient]:
    """A server whose token cache keeps a token for one second."""
    yield from _app_client(settings, db, token_cache_seconds=1.0)


@pytest.fixture
def cached(settings: Settings, db: Session) -> Iterator[TestClient]:
    """A server with the default token cache (60 s)."""
    yield from _app_client(settings, db)


def test_a_token_revoked_elsewhere_is_refused_after_the_cache_life(
    short: TestClient, db: Session
) -> None:
    secret, token_id = create_token(db, name="社区办", role="community", region=COMMUNITY)
    db.flush()
    assert short.get(ME, headers=_auth(secret)).status_code == 200
    # Another process (the CLI of another machine) revokes it: this server does not hear of it.
    db.execute(text("UPDATE api_token SET revoked_at = now() WHERE id = :i"), {"i": token_id})
    db.flush()
    assert short.get(ME, headers=_auth(secret)).status_code == 200  # still within the life
    time.sleep(1.1)
    r = short.get(ME, headers=_auth(secret))
    assert r.status_code == 401
    assert r.json()["code"] == "unauthorized" and "revoked" in r.json()["detail"]
    # The refusal is kept too (briefly): the row is not read again for it.
    assert short.get(LOOKUP, params=WEST, headers=_auth(secret)).status_code == 401


def test_a_token_revoked_here_is_refused_at_once(cached: TestClient, db: Session) -> None:
    one, one_id = create_token(db, name="社区办", role="community", region=COMMUNITY)
    two, _ = create_token(db, name="街道办", role="street", region=STREET)
    three, _ = create_token(db, name="街道办", role="street", region=STREET)
    db.flush()
    for secret in (one, two, three):
        assert cached.get(ME, headers=_auth(secret)).status_code == 200
        assert cached.get(LOOKUP, params=WEST, headers=_auth(secret)).status_code == 404
    assert revoke_token(db, one_id)
    assert revoke_named(db, "街道办") == 2
    db.flush()
    for secret in (one, two, three):
        assert cached.get(ME, headers=_auth(secret)).status_code == 401
        # The lookup's fast path does not answer for it either.
        assert cached.get(LOOKUP, params=WEST, headers=_auth(secret)).status_code == 401
    # What was revoked stays revoked in the database.
    revoked = db.execute(
        text("SELECT count(*) FROM api_token WHERE revoked_at IS NOT NULL")
    ).scalar_one()
    assert revoked == 3


def test_the_cache_keeps_no_more_than_its_bound(
    cached: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = TokenCache(max_entries=3, max_unknown=2)
    monkeypatch.setattr(auth, "TOKENS", small)
    secrets = []
    for i in range(5):
        secret, _ = create_token(db, name=f"社区办{i}", role="community", region=COMMUNITY)
        secrets.append(secret)
    db.flush()
    for secret in secrets:
        assert cached.get(ME, headers=_auth(secret)).status_code == 200
    assert small.sizes() == (3, 0)
    # A flood of made-up tokens is refused, and pushes out only other made-up tokens.
    for i in range(50):
        r = cached.get(LOOKUP, params=WEST, headers=_auth(f"gm_made-up-{i}"))
        assert r.status_code == 401
    assert small.sizes() == (3, 2)
    assert [auth.cached_principal(s) is not None for s in secrets] == [
        False,
        False,
        True,
        True,
        True,
    ]
    # Every token still works: the ones pushed out are read again.
    for secret in secrets:
        assert cached.get(ME, headers=_auth(secret)).status_code == 200
    assert small.sizes() == (3, 2)


def test_the_cache_is_off_at_zero(settings: Settings, db: Session) -> None:
    for c in _app_client(settings, db, token_cache_seconds=0):
        secret, token_id = create_token(db, name="社区办", role="community", region=COMMUNITY)
        db.flush()
        assert c.get(ME, headers=_auth(secret)).status_code == 200
        db.execute(text("UPDATE api_token SET revoked_at = now() WHERE id = :i"), {"i": token_id})
        db.flush()
        assert c.get(ME, headers=_auth(secret)).status_code == 401


def _raw(client: TestClient, params: dict[str, Any], headers: dict[str, str]) -> bytes:
    r = client.get(LOOKUP, params=params, headers=headers)
    assert r.status_code in (200, 404), r.text
    assert r.headers["content-type"] == "application/json"
    return r.content


def test_the_fast_path_answers_a_cached_token_as_the_route_does(
    cached: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_grids(db)
    office, _ = create_token(db, name="社区办", role="community", region=COMMUNITY)
    viewer, _ = create_token(db, name="查看者", role="viewer", region=COMMUNITY)
    db.flush()
    answered: list[bool] = []
    real = LookupFastPath.answer

    def spy(scope: Any) -> Any:
        out = real(scope)
        answered.append(out is not None)
        return out

    monkeypatch.setattr(LookupFastPath, "answer", staticmethod(spy))
    cached.get(LOOKUP, params=WEST)  # the first request loads the grids
    for who, headers, shown in (
        ("office", _auth(office), "shown"),
        ("viewer", _auth(viewer), "masked"),
        ("anonymous", {}, "masked"),
    ):
        for params in (WEST, EAST, {"lon": 116.36, "lat": 40.005}):
            answered.clear()
            # A parameter the fast path does not know sends the request to FastAPI's route,
            # which ignores it; the first request of a token is the route's in any case.
            route = _raw(cached, {**params, "via": "route"}, headers)
            fast = _raw(cached, params, headers)
            assert answered == [False, True], (who, params)
            assert fast == route, (who, params)
        body = json.loads(_raw(cached, WEST, headers))
        assert body["personal_data"] == shown, who
        names = {m.get("name") for m in body["team"]}
        assert ("王晓明" in names) == (shown == "shown"), who


def test_a_staff_members_new_post_counts_once_the_server_hears_of_it(
    cached: TestClient, db: Session
) -> None:
    two_grids(db)
    person = add_staff(db, WEST_GRID, "worker", "孙网格", "13700001111")
    secret, _ = create_token(db, holder=Holder("staff", person=person))
    db.flush()
    assert cached.get(LOOKUP, params=WEST, headers=_auth(secret)).json()["personal_data"] == "shown"
    assert (
        cached.get(LOOKUP, params=EAST, headers=_auth(secret)).json()["personal_data"] == "masked"
    )
    add_staff(db, EAST_GRID, "leader", "孙网格", "13700001111")
    db.flush()
    # Not heard of yet (this transaction never commits, so PostgreSQL never tells the server):
    # the cached grids stand, as they would for at most the cache's life.
    assert (
        cached.get(LOOKUP, params=EAST, headers=_auth(secret)).json()["personal_data"] == "masked"
    )
    # What the server's own writes do, and what the notification of a commit does.
    cached.app.state.live.invalidate()  # type: ignore[attr-defined]
    east = cached.get(LOOKUP, params=EAST, headers=_auth(secret)).json()
    assert east["personal_data"] == "shown"
    assert "孙网格" in {m.get("name") for m in east["team"]}


# Tests that commit: a database of their own.


@pytest.fixture(scope="module")
def committed(
    fresh_database: Callable[[str], str], settings: Settings
) -> Iterator[tuple[Settings, Engine]]:
    url = fresh_database("gridmap_test_tokens")
    migrate.upgrade(url)
    s = settings.model_copy(deep=True)
    s.db.url = url
    engine = make_engine(url)
    with Session(engine) as session:
        two_grids(session)
        session.commit()
    yield s, engine
    engine.dispose()


@pytest.fixture
def live_client(committed: tuple[Settings, Engine]) -> Iterator[TestClient]:
    yield from _app_client(committed[0], None)


def _last_use(engine: Engine, token_id: int) -> tuple[Any, str]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT last_used_at, xmin::text FROM api_token WHERE id = :i"), {"i": token_id}
        ).one()
    return row.last_used_at, row.xmin


def _wait_for(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_last_use_is_written_once_a_minute_outside_the_request(
    committed: tuple[Settings, Engine], live_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, engine = committed
    with Session(engine) as session:
        secret, token_id = create_token(session, name="街道办", role="street", region=STREET)
        session.commit()
    assert _last_use(engine, token_id)[0] is None
    for i in range(40):
        path, params = (LOOKUP, WEST) if i % 2 else (ME, {})
        assert live_client.get(path, params=params, headers=_auth(secret)).status_code == 200
    assert _wait_for(lambda: _last_use(engine, token_id)[0] is not None)
    first = _last_use(engine, token_id)
    for i in range(40):
        path, params = (LOOKUP, EAST) if i % 2 else (ME, {})
        assert live_client.get(path, params=params, headers=_auth(secret)).status_code == 200
    time.sleep(0.5)
    # Written once: neither the time nor the row version moved for the next 40 requests.
    assert _last_use(engine, token_id) == first
    # A minute later (shortened here) the next request notes the use again.
    monkeypatch.setattr(auth.TOKENS, "last_use_every", 0.2)
    time.sleep(0.3)
    assert live_client.get(LOOKUP, params=WEST, headers=_auth(secret)).status_code == 200
    assert _wait_for(lambda: _last_use(engine, token_id)[0] > first[0])


def test_a_revocation_committed_here_drops_what_was_read_before_it(
    committed: tuple[Settings, Engine], live_client: TestClient
) -> None:
    _, engine = committed
    with Session(engine) as session:
        secret, token_id = create_token(session, name="社区办", role="community", region=COMMUNITY)
        session.commit()
    assert live_client.get(ME, headers=_auth(secret)).status_code == 200
    with Session(engine) as session:
        assert revoke_token(session, token_id)
        # A request arriving before the revocation commits still finds the token live, and the
        # server keeps that answer ...
        assert live_client.get(ME, headers=_auth(secret)).status_code == 200
        session.commit()
    # ... until the commit, which drops it.
    assert live_client.get(ME, headers=_auth(secret)).status_code == 401
    assert live_client.get(LOOKUP, params=WEST, headers=_auth(secret)).status_code == 401


def test_a_post_committed_by_another_process_counts_within_moments(
    committed: tuple[Settings, Engine], live_client: TestClient
) -> None:
    _, engine = committed
    with Session(engine) as session:
        person = add_staff(session, WEST_GRID, "worker", "赵网格", "13700002222")
        secret, _ = create_token(session, holder=Holder("staff", person=person))
        session.commit()

    def east() -> str:
        r = live_client.get(LOOKUP, params=EAST, headers=_auth(secret))
        assert r.status_code == 200
        return str(r.json()["personal_data"])

    assert east() == "masked"
    assert east() == "masked"  # from the cache now
    with Session(engine) as session:
        add_staff(session, EAST_GRID, "leader", "赵网格", "13700002222")
        session.commit()
    # Well within the cache's minute: PostgreSQL's notification reaches the server.
    assert _wait_for(lambda: east() == "shown", seconds=3.0)
    principal = auth.cached_principal(secret, generation=live_client.app.state.live.generation)  # type: ignore[attr-defined]
    assert isinstance(principal, Principal) and principal.grids == {WEST_GRID, EAST_GRID}


def test_an_expired_token_is_refused_even_within_the_cache_life(
    committed: tuple[Settings, Engine], live_client: TestClient
) -> None:
    _, engine = committed
    with Session(engine) as session:
        secret, token_id = create_token(
            session, name="社区办", role="community", region=COMMUNITY, days=1
        )
        old, old_id = create_token(
            session, name="旧令牌", role="community", region=COMMUNITY, days=1
        )
        session.execute(
            text("UPDATE api_token SET expires_at = now() - interval '1 second' WHERE id = :i"),
            {"i": old_id},
        )
        # It expires in a few seconds: the cache (60 s) must not keep it past that.
        session.execute(
            text(
                "UPDATE api_token SET expires_at = clock_timestamp() + interval '4 seconds' "
                "WHERE id = :i"
            ),
            {"i": token_id},
        )
        session.commit()
    assert live_client.get(ME, headers=_auth(old)).status_code == 401
    assert live_client.get(ME, headers=_auth(secret)).status_code == 200
    assert live_client.get(LOOKUP, params=WEST, headers=_auth(secret)).status_code == 200
    # Wait for the expiry by the database's clock, however long the requests above took.
    with engine.connect() as conn:
        left = conn.execute(
            text(
                "SELECT extract(epoch FROM expires_at - clock_timestamp()) FROM api_token "
                "WHERE id = :i"
            ),
            {"i": token_id},
        ).scalar_one()
    time.sleep(max(0.0, float(left)) + 0.2)
    assert live_client.get(ME, headers=_auth(secret)).status_code == 401
    assert live_client.get(LOOKUP, params=WEST, headers=_auth(secret)).status_code == 401
