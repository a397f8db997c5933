"""Patrol writes sent twice at once (a phone retrying while its first request is still on the
way), on a committed database through the app's own pool: one is stored, the other replays."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from tests.utils.fixtures import WEST_GRID, add_staff, two_grids
from tests.utils.walks import an_hour_ago, new_key, staff_token, walk

from gridmap import migrate
from gridmap.database import make_engine
from gridmap.main import create_app
from gridmap.settings import Settings

NAME = "gridmap_test_patrol_races"


@pytest.fixture
def committed(
    settings: Settings, fresh_database: Callable[[str], str]
) -> Iterator[tuple[Settings, Engine, dict[str, str]]]:
    url = fresh_database(NAME)
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as db, db.begin():
        two_grids(db)
        auth = staff_token(db, add_staff(db, WEST_GRID, "worker", "周并发", "13300005555"))
    s = settings.model_copy(deep=True)
    s.db.embedded_db = NAME
    yield s, engine, auth
    engine.dispose()


def at_once(n: int, send: Callable[[], int]) -> list[int]:
    """The statuses of ``send`` run by ``n`` threads released together."""
    gate = threading.Barrier(n)
    statuses: list[int] = []

    def one() -> None:
        gate.wait()
        statuses.append(send())

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(statuses)


def test_a_start_and_a_piece_sent_twice_at_once_are_stored_once(
    committed: tuple[Settings, Engine, dict[str, str]],
) -> None:
    s, engine, auth = committed
    with TestClient(create_app(s)) as client:
        for _ in range(10):
            key, t0 = new_key(), an_hour_ago()
            started = datetime.fromtimestamp(t0, ZoneInfo("Asia/Shanghai")).isoformat()
            assert at_once(
                2,
                lambda key=key, started=started: (
                    client.put(
                        f"/api/v1/patrols/{key}", json={"started_at": started}, headers=auth
                    ).status_code
                ),
            ) == [200, 201]
            points = walk((116.341, 40.005), (116.344, 40.005), t0=t0 + 10)
            assert at_once(
                3,
                lambda key=key, points=points: (
                    client.put(
                        f"/api/v1/patrols/{key}/pieces/0", json={"points": points}, headers=auth
                    ).status_code
                ),
            ) == [200, 200, 201]
            with engine.connect() as conn:
                row = conn.execute(
                    text(
                        "SELECT p.points, (SELECT count(*) FROM patrol_piece pp "
                        "WHERE pp.patrol_id = p.id) AS pieces FROM patrol p WHERE key = :k"
                    ),
                    {"k": key},
                ).one()
            assert (row.points, row.pieces) == (len(points), 1)
