"""Races on a committed database through the app's own pool: merges from both ends, two
dispatchers taking the same step at once, two departments answering at once, and one report
sent many times at once."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from tests.utils.fixtures import EAST_GRID, STREET, WEST_GRID, bearer, two_grids
from tests.utils.flow import add_department, department_bearer

from gridmap import migrate
from gridmap.database import make_engine
from gridmap.dependencies import SessionDep
from gridmap.main import create_app
from gridmap.settings import Settings

NAME = "gridmap_test_races"
REPORT = {"x": 116.342, "y": 40.005, "category": "市容环境/暴露垃圾"}


@pytest.fixture
def committed(
    settings: Settings, fresh_database: Callable[[str], str]
) -> Iterator[tuple[Settings, Engine, dict[str, str]]]:
    """Settings of an app on a database of its own with two grids and two departments of the
    street, an engine on it, and the headers of the street's command centre."""
    url = fresh_database(NAME)
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as db, db.begin():
        two_grids(db)
        add_department(db, "cgzf", "城管执法队", "城管执法", STREET)
        add_department(db, "wy", "物业管理科", "住建", STREET)
        auth = bearer(db, "street", STREET, "学院路街道指挥中心")
    s = settings.model_copy(deep=True)
    s.db.embedded_db = NAME
    yield s, engine, auth
    engine.dispose()


def test_merges_of_a_pair_from_both_ends_at_once_one_wins(
    committed: tuple[Settings, Engine, dict[str, str]],
) -> None:
    s, engine, auth = committed
    with TestClient(create_app(s)) as client:
        for round_ in range(20):
            a, b = (
                client.post("/api/v1/incidents", json=REPORT, headers=auth).json()["properties"][
                    "id"
                ]
                for _ in range(2)
            )
            start = threading.Barrier(2)
            answers: dict[tuple[int, int], int] = {}

            def merge(
                one: int,
                other: int,
                start: threading.Barrier = start,
                answers: dict[tuple[int, int], int] = answers,
            ) -> None:
                start.wait()
                r = client.post(
                    f"/api/v1/incidents/{one}/merge", json={"into": other}, headers=auth
                )
                answers[one, other] = r.status_code
                if r.status_code == 409:
                    assert r.json()["code"] in ("conflict", "try_again"), r.json()

            threads = [
                threading.Thread(target=merge, args=(a, b)),
                threading.Thread(target=merge, args=(b, a)),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(answers.values()) == [200, 409], (round_, answers)
            with engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT id, status, merged_into FROM incident WHERE id IN (:a, :b)"),
                    {"a": a, "b": b},
                ).all()
            state = {r.id: (r.status, r.merged_into) for r in rows}
            winner = next(one for (one, _o), status in answers.items() if status == 200)
            loser = b if winner == a else a
            # Exactly one is cancelled and linked; the other stays a live incident.
            assert state[winner] == ("cancelled", loser), state
            assert state[loser] == ("reported", None), state


def test_merging_back_into_a_duplicate_is_refused_in_words(
    committed: tuple[Settings, Engine, dict[str, str]],
) -> None:
    s, engine, auth = committed
    with TestClient(create_app(s)) as client:
        a, b, c = (
            client.post("/api/v1/incidents", json=REPORT, headers=auth).json()["properties"]["id"]
            for _ in range(3)
        )
        assert (
            client.post(f"/api/v1/incidents/{a}/merge", json={"into": b}, headers=auth).status_code
            == 200
        )
        r = client.post(f"/api/v1/incidents/{b}/merge", json={"into": a}, headers=auth)
        assert r.status_code == 409
        assert "loop" in r.json()["detail"] and r.json()["code"] == "conflict"
        r = client.post(f"/api/v1/incidents/{c}/merge", json={"into": a}, headers=auth)
        assert r.status_code == 409
        assert f"merge into {b} instead" in r.json()["detail"]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, status, merged_into FROM incident ORDER BY id")).all()
    assert [(r.status, r.merged_into) for r in rows] == [
        ("cancelled", b),
        ("reported", None),
        ("reported", None),
    ]


def _take(client: TestClient, inc: int, name: str, headers: dict[str, str], **body: object) -> int:
    tag = client.get(f"/api/v1/incidents/{inc}").headers["etag"]
    r = client.post(
        f"/api/v1/incidents/{inc}/{name}", json=body, headers={**headers, "If-Match": tag}
    )
    assert r.status_code == 200, r.text
    return int(r.json()["properties"]["version"])


def _at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run ``calls`` in threads of their own, released together; their answers."""
    start = threading.Barrier(len(calls))
    answers: list[Any] = []

    def run(call: Callable[[], Any]) -> None:
        start.wait()
        answers.append(call())

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_two_dispatchers_taking_the_same_step_at_once_one_wins(
    committed: tuple[Settings, Engine, dict[str, str]],
) -> None:
    s, engine, auth = committed
    with Session(engine) as db, db.begin():
        second = bearer(db, "street", STREET, "学院路街道值班员")
    with TestClient(create_app(s)) as client:
        for round_ in range(10):
            inc = client.post("/api/v1/incidents", json=REPORT, headers=auth).json()["properties"][
                "id"
            ]
            if round_ % 2:
                _take(client, inc, "accept", auth)
            name = "claim" if round_ % 2 else "accept"
            url = f"/api/v1/incidents/{inc}/{name}"
            tag = client.get(f"/api/v1/incidents/{inc}").headers["etag"]
            answers = _at_once(
                *(
                    partial(client.post, url, json={}, headers={**h, "If-Match": tag})
                    for h in (auth, second)
                )
            )
            statuses = sorted(r.status_code for r in answers)
            assert statuses == [200, 412], (round_, statuses)
            with engine.connect() as conn:
                events = conn.execute(
                    text(
                        "SELECT count(*) FROM incident_event WHERE incident_id = :i AND action = :a"
                    ),
                    {"i": inc, "a": name},
                ).scalar_one()
            assert events == 1, round_


def _answer_until_it_lands(
    client: TestClient, url: str, inc: int, headers: dict[str, str], tag: str, note: str
) -> int:
    """Answer a sub-task; on 412 read the incident again and send again. The first status."""
    first = None
    for _attempt in range(5):
        r = client.post(url, json={"note": note}, headers={**headers, "If-Match": tag})
        first = first or r.status_code
        if r.status_code != 412:
            assert r.status_code == 200, r.text
            return first
        tag = client.get(f"/api/v1/incidents/{inc}").headers["etag"]
    raise AssertionError(f"{url} never got its answer in")


def test_two_departments_answering_at_once_both_answers_land(
    committed: tuple[Settings, Engine, dict[str, str]],
) -> None:
    s, engine, auth = committed
    with Session(engine) as db, db.begin():
        departments = {code: department_bearer(db, code) for code in ("cgzf", "wy")}
    with TestClient(create_app(s)) as client:
        for round_ in range(5):
            inc = client.post("/api/v1/incidents", json=REPORT, headers=auth).json()["properties"][
                "id"
            ]
            for name in ("accept", "claim"):
                _take(client, inc, name, auth)
            _take(client, inc, "whistle", auth, departments=["cgzf", "wy"])
            tasks = {
                t["assignee_code"]: t["id"]
                for t in client.get(f"/api/v1/incidents/{inc}").json()["properties"]["tasks"]
            }
            tag = client.get(f"/api/v1/incidents/{inc}").headers["etag"]
            first_try = _at_once(
                *(
                    partial(
                        _answer_until_it_lands,
                        client,
                        f"/api/v1/incidents/{inc}/tasks/{tasks[code]}/answer",
                        inc,
                        departments[code],
                        tag,
                        f"{code} 已处置",
                    )
                    for code in departments
                )
            )
            assert sorted(first_try) == [200, 412], (round_, first_try)
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT assignee_code, state, feedback FROM incident_task "
                        "WHERE incident_id = :i ORDER BY assignee_code"
                    ),
                    {"i": inc},
                ).all()
                status = conn.execute(
                    text("SELECT status FROM incident WHERE id = :i"), {"i": inc}
                ).scalar_one()
            assert [tuple(r) for r in rows] == [
                ("cgzf", "answered", "cgzf 已处置"),
                ("wy", "answered", "wy 已处置"),
            ]
            assert status == "resolved"


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """gridmap under uvicorn on a free loopback port, in a thread; yields its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    srv = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.mark.parametrize("burst", range(3))
def test_fifty_identical_reports_at_once_make_one_incident_and_leave_the_server_free(
    committed: tuple[Settings, Engine, dict[str, str]], burst: int
) -> None:
    s, engine, auth = committed
    key = f"burst-{burst}-7f3c2a91"
    headers = {**auth, "Idempotency-Key": key}
    with serving(s) as base, httpx.Client(base_url=base, timeout=60) as http:
        start = threading.Barrier(51)
        health: list[int] = []

        def post(_n: int) -> tuple[int, int | None, str | None]:
            start.wait()
            r = http.post("/api/v1/incidents", json=REPORT, headers=headers)
            body = r.json()
            ident = body["properties"]["id"] if r.status_code in (200, 201) else None
            return r.status_code, ident, r.headers.get("retry-after")

        def watch() -> None:
            start.wait()
            # A server whose pool is held by waiting requests would not answer within this.
            with httpx.Client(base_url=base, timeout=10) as own:
                for _ in range(5):
                    health.append(own.get("/health").status_code)

        watcher = threading.Thread(target=watch)
        watcher.start()
        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(post, range(50)))
        watcher.join()
        assert health == [200] * 5
        statuses = sorted(status for status, _i, _r in answers)
        assert set(statuses) <= {200, 201, 409}, statuses
        assert statuses.count(201) == 1, statuses
        assert {ident for _s, ident, _r in answers if ident is not None} == {
            next(ident for status, ident, _r in answers if status == 201)
        }
        assert all(retry == "1" for status, _i, retry in answers if status == 409)
        # Sent again after the burst: the incident recorded, answered 200.
        again = http.post("/api/v1/incidents", json=REPORT, headers=headers)
        assert again.status_code == 200
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id FROM incident WHERE idempotency_key = :k"), {"k": key}
        ).all()
        assert len(rows) == 1
        assert again.json()["properties"]["id"] == rows[0].id
        events = conn.execute(
            text("SELECT count(*) FROM incident_event WHERE incident_id = :i"), {"i": rows[0].id}
        ).scalar_one()
        assert events == 1


def test_a_deadlock_anywhere_is_a_409_to_retry_not_a_500(
    committed: tuple[Settings, Engine, dict[str, str]],
) -> None:
    s, engine, _auth = committed
    app = create_app(s)
    meet = threading.Barrier(2)

    # Two requests that lock the same two grid rows in opposite orders: PostgreSQL breaks the
    # deadlock by failing one of them, and the app must answer that one as a conflict.
    def lock_both(session: SessionDep, first: str, second: str) -> dict[str, str]:
        lock = text("SELECT id FROM grid WHERE code = :c FOR UPDATE")
        session.execute(lock, {"c": first})
        meet.wait()
        session.execute(lock, {"c": second})
        return {"locked": f"{first}, {second}"}

    app.add_api_route("/test/lock-both", lock_both, methods=["POST"])
    # Ahead of the map's static files, which are mounted at "/".
    app.router.routes.insert(0, app.router.routes.pop())
    answers: list[httpx.Response] = []
    with TestClient(app) as client:

        def call(first: str, second: str) -> None:
            answers.append(
                client.post("/test/lock-both", params={"first": first, "second": second})
            )

        threads = [
            threading.Thread(target=call, args=(WEST_GRID, EAST_GRID)),
            threading.Thread(target=call, args=(EAST_GRID, WEST_GRID)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(r.status_code for r in answers) == [200, 409]
    lost = next(r for r in answers if r.status_code == 409)
    assert lost.json()["code"] == "try_again" and "again" in lost.json()["detail"]
    assert lost.headers["retry-after"] == "1"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grid")).scalar_one() == 2
