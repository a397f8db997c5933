"""Two editors at once, on a committed database with the app's own connection pool."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    COMMUNITY,
    WEST_GRID,
    bearer,
    community_with_west_grid,
    feature,
    rect,
)

from gridmap import migrate
from gridmap.database import make_engine
from gridmap.main import create_app
from gridmap.settings import Settings

NAME = "gridmap_test_concurrent"


@pytest.fixture
def app_client(
    settings: Settings, fresh_database: Callable[[str], str]
) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], Session]]:
    url = fresh_database(NAME)
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as db, db.begin():
        community_with_west_grid(db)
        auth = {"甲": bearer(db, name="甲"), "乙": bearer(db, name="乙")}
    s = settings.model_copy(deep=True)
    s.db.embedded_db = NAME
    with TestClient(create_app(s)) as client, Session(engine) as db:
        yield client, auth, db
    engine.dispose()


def test_two_editors_one_wins_the_other_is_told(
    app_client: tuple[TestClient, dict[str, dict[str, str]], Session],
) -> None:
    client, auth, db = app_client
    etag = client.get(f"/api/v1/grids/{WEST_GRID}").headers["etag"]
    start = threading.Barrier(2)
    answers: dict[str, int] = {}

    def edit(name: str, box: tuple[float, float, float, float]) -> None:
        start.wait()
        r = client.put(
            f"/api/v1/grids/{WEST_GRID}",
            json=feature(rect(*box), name=name),
            headers={**auth[name], "If-Match": etag},
        )
        answers[name] = r.status_code

    editors = [
        threading.Thread(target=edit, args=("甲", (116.34, 40.0, 116.344, 40.01))),
        threading.Thread(target=edit, args=("乙", (116.34, 40.0, 116.343, 40.01))),
    ]
    for t in editors:
        t.start()
    for t in editors:
        t.join()
    assert sorted(answers.values()) == [200, 412], answers
    winner = next(n for n, s in answers.items() if s == 200)
    rows = db.execute(
        text(
            "SELECT version, name, valid_to IS NULL AS current FROM grid WHERE code = :c "
            "ORDER BY version"
        ),
        {"c": WEST_GRID},
    ).all()
    assert [(r.version, r.current) for r in rows] == [(1, False), (2, True)]
    assert rows[1].name == winner
    assert db.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 1
    # Two editors adding overlapping grids at once: the community lock lets one check at a time.
    start = threading.Barrier(2)
    created: list[int] = []

    def add(who: str, box: tuple[float, float, float, float]) -> None:
        start.wait()
        r = client.post(
            "/api/v1/grids",
            json=feature(rect(*box), name="东", community_code=COMMUNITY),
            headers=auth[who],
        )
        created.append(r.status_code)

    adders = [
        threading.Thread(target=add, args=(who, b))
        for who, b in (
            ("甲", (116.346, 40.0, 116.35, 40.01)),
            ("乙", (116.347, 40.0, 116.35, 40.01)),
        )
    ]
    for t in adders:
        t.start()
    for t in adders:
        t.join()
    assert sorted(created) == [201, 409], created


def test_lookups_follow_changes_committed_elsewhere(
    app_client: tuple[TestClient, dict[str, dict[str, str]], Session],
) -> None:
    client, _auth, db = app_client
    point = {"lon": 116.342, "lat": 40.005}
    assert client.get("/api/v1/lookup", params=point).json()["grid"]["name"] == "西网格"
    # Another process (here: another connection) renames the grid and commits.
    db.execute(text("UPDATE grid SET name = '西网格（新名）' WHERE code = :c"), {"c": WEST_GRID})
    db.commit()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        name = client.get("/api/v1/lookup", params=point).json()["grid"]["name"]
        if name == "西网格（新名）":
            break
        time.sleep(0.05)
    assert name == "西网格（新名）"


def test_two_identical_reports_at_once_make_one_incident(
    app_client: tuple[TestClient, dict[str, dict[str, str]], Session],
) -> None:
    client, auth, db = app_client
    start = threading.Barrier(2)
    answers: list[tuple[int, int]] = []

    def post() -> None:
        start.wait()
        while True:
            r = client.post(
                "/api/v1/incidents",
                json={"x": 116.342, "y": 40.005, "category": "市容环境/暴露垃圾"},
                headers={**auth["甲"], "Idempotency-Key": "app-7f3c2a91-retry"},
            )
            # The second sender is told at once to retry while the first is being recorded.
            if r.status_code != 409:
                break
            assert r.headers["retry-after"] == "1"
            time.sleep(0.2)
        answers.append((r.status_code, r.json()["properties"]["id"]))

    posts = [threading.Thread(target=post) for _ in range(2)]
    for t in posts:
        t.start()
    for t in posts:
        t.join()
    assert sorted(s for s, _ in answers) == [200, 201], answers
    assert len({i for _, i in answers}) == 1
    assert db.execute(text("SELECT count(*) FROM incident")).scalar_one() == 1
    assert db.execute(text("SELECT count(*) FROM incident_event")).scalar_one() == 1
