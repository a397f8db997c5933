"""Two at once: members claiming one need or one post, and public needs at the hour's limit.

Against a real server (uvicorn on a database of its own, committed), so each request has its own
connection and transaction, as in production.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from tests.api.test_list_flow import WEST, World, world
from tests.api.test_races import serving
from tests.utils.fixtures import COMMUNITY, WEST_GRID

from gridmap import migrate
from gridmap.database import make_engine
from gridmap.settings import Settings

NAME = "gridmap_test_list_races"


@pytest.fixture
def committed(
    settings: Settings, fresh_database: Callable[[str], str]
) -> Iterator[tuple[Settings, Engine, World]]:
    url = fresh_database(NAME)
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as db, db.begin():
        w = world(db)
    s = settings.model_copy(deep=True)
    s.db.embedded_db = NAME
    yield s, engine, w
    engine.dispose()


def at_once(*calls: Callable[[], Any]) -> list[Any]:
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


def test_two_members_claiming_one_need_at_once_one_has_it(
    committed: tuple[Settings, Engine, World],
) -> None:
    s, engine, w = committed
    with serving(s) as base, httpx.Client(base_url=base, timeout=60) as http:
        for round_ in range(8):
            r = http.post(
                "/api/v1/lists",
                json={
                    "list": "need",
                    "wish": round_ % 2 == 1,
                    "category": "助老服务",
                    "title": f"需求{round_}",
                    "owner_kind": "resident",
                    "x": WEST[0],
                    "y": WEST[1],
                },
                headers=w.office,
            )
            item = r.json()["properties"]["id"]
            url = f"/api/v1/lists/{item}/claim"
            answers = at_once(
                partial(http.post, url, headers=w.me),
                partial(http.post, url, headers=w.registered_token),
            )
            assert sorted(a.status_code for a in answers) == [200, 409], round_
            loser = next(a for a in answers if a.status_code == 409)
            assert loser.json()["code"] == "list_item_taken"
            winner = next(a for a in answers if a.status_code == 200).json()["properties"]
            with engine.connect() as conn:
                stored = conn.execute(
                    text("SELECT status, member_id FROM list_item WHERE id = :i"), {"i": item}
                ).one()
                claims = conn.execute(
                    text(
                        "SELECT count(*) FROM audit_log WHERE action = 'claim' AND entity_key = :c"
                    ),
                    {"c": winner["code"]},
                ).scalar_one()
            assert stored == ("in_progress", winner["member"]["id"]) and claims == 1


def test_two_members_claiming_one_post_at_once_one_holds_it(
    committed: tuple[Settings, Engine, World],
) -> None:
    s, engine, w = committed
    with serving(s) as base, httpx.Client(base_url=base, timeout=60) as http:
        for round_ in range(8):
            r = http.post(
                "/api/v1/party-posts",
                json={
                    "title": f"岗位{round_}",
                    "community_code": COMMUNITY,
                    "grid_code": WEST_GRID,
                },
                headers=w.office,
            )
            post = r.json()["id"]
            url = f"/api/v1/party-posts/{post}/claim"
            answers = at_once(
                partial(http.post, url, headers=w.me),
                partial(http.post, url, headers=w.registered_token),
            )
            assert sorted(a.status_code for a in answers) == [200, 409], round_
            assert next(a for a in answers if a.status_code == 409).json()["code"] == "post_taken"
            with engine.connect() as conn:
                holder = conn.execute(
                    text("SELECT member_id FROM party_post WHERE id = :p"), {"p": post}
                ).scalar_one()
            assert holder == next(a for a in answers if a.status_code == 200).json()["member"]["id"]


def test_public_needs_at_the_limit_at_once_never_make_one_too_many(
    committed: tuple[Settings, Engine, World],
) -> None:
    s, engine, _w = committed
    form = f"/api/v1/public/{COMMUNITY}/needs"
    body = {"title": "路灯不亮", "category": "环境整治", "lon": WEST[0], "lat": WEST[1]}
    with serving(s) as base, httpx.Client(base_url=base, timeout=60) as http:
        for round_ in range(5):
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM public_submission"))
            for _ in range(2):
                assert http.post(form, json=body).status_code == 201
            # Four more at once from the same client, one place left: exactly one passes.
            answers = at_once(*(partial(http.post, form, json=body) for _ in range(4)))
            assert sorted(a.status_code for a in answers) == [201, 429, 429, 429], round_
            assert all(a.headers.get("retry-after") for a in answers if a.status_code == 429)
            with engine.connect() as conn:
                n = conn.execute(text("SELECT count(*) FROM public_submission")).scalar_one()
            assert n == 3, round_
