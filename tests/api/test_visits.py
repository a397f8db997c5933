"""Household visits (POST/GET /visits): once per Idempotency-Key, who may record them, and notes
masked for everyone but the grid's team and the offices of its region."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.care import place, tokens, visit
from tests.utils.fixtures import COMMUNITY, EAST_GRID, WEST_GRID

VISITS = "/api/v1/visits"


def now() -> datetime:
    return datetime.now().astimezone()


def stored(db: Session) -> list[tuple]:
    return [
        tuple(r)
        for r in db.execute(
            text(
                "SELECT household_id, grid_code, person_id, outcome, note, idempotency_key "
                "FROM visit ORDER BY id"
            )
        )
    ]


def audit_rows(db: Session) -> int:
    return int(db.execute(text("SELECT count(*) FROM audit_log")).scalar_one())


def test_a_visit_sent_twice_is_stored_once(client: TestClient, db: Session) -> None:
    p = place(db)
    who = tokens(db, p)
    body = {
        "household_id": p.west[0],
        "at": (now() - timedelta(hours=1)).isoformat(),
        "outcome": "met",
        "note": "老人身体尚好，需要助餐",
    }
    key = {"Idempotency-Key": "visit-0001-aaaa"}
    first = client.post(VISITS, json=body, headers={**who["worker"], **key})
    assert first.status_code == 201, first.text
    v = first.json()
    assert v["household_id"] == p.west[0] and v["grid_code"] == WEST_GRID
    assert v["person_id"] == p.west_worker and v["person_name"] == "李静"
    assert v["note"] == body["note"] and v["masked"] is False
    again = client.post(VISITS, json=body, headers={**who["worker"], **key})
    assert again.status_code == 200 and again.json()["id"] == v["id"]
    assert stored(db) == [
        (p.west[0], WEST_GRID, p.west_worker, "met", body["note"], "visit-0001-aaaa")
    ]
    assert audit_rows(db) == 1
    # The same key for another household is a mistake of the sender: 409, nothing written.
    other = client.post(
        VISITS, json={**body, "household_id": p.west[1]}, headers={**who["worker"], **key}
    )
    assert other.status_code == 409 and other.json()["code"] == "conflict"
    # Without a key, each send is a visit.
    for _ in range(2):
        r = client.post(VISITS, json={**body, "note": None}, headers=who["community"])
        assert r.status_code == 201 and r.json()["person_id"] is None
    assert len(stored(db)) == 3 and audit_rows(db) == 3


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("worker", 201),
        ("both", 201),
        ("community", 201),
        ("street", 201),
        ("worker_other", 403),
        ("other_street", 403),
        ("viewer", 403),
        ("department", 403),
        ("district", 403),
        ("admin", 201),
    ],
)
def test_who_records_a_visit(client: TestClient, db: Session, caller: str, status: int) -> None:
    p = place(db)
    who = tokens(db, p)
    body = {"household_id": p.west[0], "at": now().isoformat(), "outcome": "not_home"}
    r = client.post(VISITS, json=body, headers=who[caller])
    assert r.status_code == status, r.text
    if status == 403:
        assert r.json()["code"] == "forbidden" and r.json()["detail"]
        assert stored(db) == [] and audit_rows(db) == 0
    else:
        assert len(stored(db)) == 1


def test_refused_visits_write_nothing(client: TestClient, db: Session) -> None:
    p = place(db)
    who = tokens(db, p)
    good = {"household_id": p.west[0], "at": now().isoformat(), "outcome": "met"}
    cases = [
        ({**good, "household_id": 999_999}, who["worker"], 404, "not_found", "999999"),
        (
            {**good, "at": (now() + timedelta(hours=1)).isoformat()},
            who["worker"],
            422,
            "visit_time_out_of_range",
            "future",
        ),
        (
            {**good, "at": (now() - timedelta(days=31)).isoformat()},
            who["worker"],
            422,
            "visit_time_out_of_range",
            "30 days",
        ),
        ({**good, "outcome": "chatted"}, who["worker"], 422, None, "outcome"),
        ({**good, "note": "x" * 2001}, who["worker"], 422, None, "note"),
        ({**good, "note": "a\x00b"}, who["worker"], 422, None, "note"),
        ({**good, "extra": 1}, who["worker"], 422, None, "extra"),
        ({**good, "household_id": p.east[0]}, who["worker"], 403, "forbidden", EAST_GRID),
        (good, {}, 401, "unauthorized", "token"),
    ]
    for body, headers, status, code, says in cases:
        r = client.post(VISITS, json=body, headers={**headers, "Idempotency-Key": "k-12345678"})
        assert r.status_code == status, (body, r.text)
        if code is not None:
            assert r.json()["code"] == code, r.text
        assert says.lower() in r.text.lower(), r.text
    assert stored(db) == [] and audit_rows(db) == 0
    bad_key = client.post(VISITS, json=good, headers={**who["worker"], "Idempotency-Key": "short"})
    assert bad_key.status_code == 422 and stored(db) == []


# Who sees the note of a visit to a household of the west grid.
SEES = {
    "viewer": False,
    "department": False,
    "worker_other": False,
    "worker": True,
    "both": True,
    "community": True,
    "street": True,
    "district": True,
    "admin": True,
    "other_street": False,
}


@pytest.mark.parametrize("caller", sorted(SEES))
def test_visits_are_listed_only_to_who_sees_the_grid(
    client: TestClient, db: Session, caller: str
) -> None:
    """When and how often a household is visited tells its care tags: the list is the grid's
    team's and its offices', everyone else is refused and reads nothing (nothing logged)."""
    p = place(db)
    who = tokens(db, p)
    at = now() - timedelta(days=1)
    visit(db, p.west[0], at, note="独居，腿脚不便")
    db.execute(
        text("UPDATE visit SET person_id = :p, created_by = '李静 (token 9, worker)'"),
        {"p": p.west_worker},
    )
    visit(db, p.west[1], at - timedelta(hours=1), note=None, outcome="not_home")
    db.flush()
    before = audit_rows(db)
    r = client.get(VISITS, params={"grid": WEST_GRID}, headers=who[caller])
    if not SEES[caller]:
        assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
        assert "独居" not in r.text and audit_rows(db) == before
        return
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["numberMatched"] == 2 and body["numberReturned"] == 2
    first = body["visits"][0]
    assert first["household_id"] == p.west[0] and first["outcome"] == "met"
    assert first["note"] == "独居，腿脚不便" and first["masked"] is False
    assert first["person_name"] == "李静"
    assert audit_rows(db) == before + 1


def test_visits_are_listed_by_household_region_and_time(client: TestClient, db: Session) -> None:
    p = place(db)
    who = tokens(db, p)
    t = now() - timedelta(days=3)
    visit(db, p.west[0], t)
    visit(db, p.west[0], t + timedelta(days=1))
    visit(db, p.east[0], t + timedelta(days=2))
    db.flush()

    def ids(**params: str) -> list[tuple[int, str]]:
        r = client.get(VISITS, params=params, headers=who["street"])
        assert r.status_code == 200, r.text
        return [(v["household_id"], v["at"][:10]) for v in r.json()["visits"]]

    assert [h for h, _ in ids(household=str(p.west[0]))] == [p.west[0], p.west[0]]
    assert [h for h, _ in ids(region=COMMUNITY)] == [p.east[0], p.west[0], p.west[0]]
    assert [h for h, _ in ids(grid=EAST_GRID)] == [p.east[0]]
    since = (t + timedelta(hours=12)).isoformat()
    assert [h for h, _ in ids(region=COMMUNITY, **{"from": since})] == [p.east[0], p.west[0]]
    to = (t + timedelta(days=1, hours=12)).isoformat()
    assert len(ids(region=COMMUNITY, **{"from": since, "to": to})) == 1
    r = client.get(VISITS, params={"region": COMMUNITY, "from": "yesterday"}, headers=who["street"])
    assert r.status_code == 422 and "from" in r.json()["detail"]
    # A place is needed; anonymous callers are asked for a token; a household unknown is 404.
    r = client.get(VISITS, headers=who["street"])
    assert r.status_code == 422, r.text
    assert client.get(VISITS, params={"grid": WEST_GRID}).status_code == 401
    r = client.get(VISITS, params={"household": "999999999"}, headers=who["street"])
    assert r.status_code == 404, r.text
