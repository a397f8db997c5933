"""Households overdue for a visit (GET /visits/overdue) with an injected clock (``at``), and the
interval rule of Python and of SQL agreeing."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from tests.utils.care import place, reads, tag, tokens, visit
from tests.utils.fixtures import COMMUNITY, EAST_GRID, STREET, WEST_GRID

from gridmap.queries.care import household_care
from gridmap.services.care import Tag, VisitRule, due_at
from gridmap.vocab.kinds import CARE_TAGS

OVERDUE = "/api/v1/visits/overdue"
ZONE = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 6, 15, 10, 0, tzinfo=ZONE)


def overdue_ids(client: TestClient, headers: dict[str, str], **params: str) -> dict[int, dict]:
    r = client.get(OVERDUE, params={"at": AT.isoformat(), **params}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "FeatureCollection"
    return {f["properties"]["household_id"]: f for f in body["features"]}


def test_the_interval_passes_by_tag_since_the_last_visit(client: TestClient, db: Session) -> None:
    p = place(db)
    a, b, c = p.west
    d, e = p.east
    tag(db, a, "elderly_alone", since=date(2026, 1, 1))  # every 7 days
    visit(db, a, AT - timedelta(days=8))
    tag(db, b, "hardship", since=date(2026, 1, 1))  # every 30 days (default)
    visit(db, b, AT - timedelta(days=20))
    tag(db, c, "left_behind_child", since=date(2026, 5, 1))  # never visited: from since
    tag(db, d, "elderly_alone", since=date(2026, 1, 1), interval_days=10)  # its own wins
    visit(db, d, AT - timedelta(days=8))
    tag(db, e, "disabled", since=date(2026, 6, 1))  # never visited, since 14 days
    db.flush()
    who = tokens(db, p)
    found = overdue_ids(client, who["community"], region=COMMUNITY)
    assert set(found) == {a, c}
    pa = found[a]["properties"]
    assert pa["days_overdue"] == 1 and pa["grid_code"] == WEST_GRID and pa["masked"] is False
    assert pa["care_tags"] == [{"tag": "elderly_alone", "interval_days": 7}]
    assert datetime.fromisoformat(pa["due_at"]) == AT - timedelta(days=1)
    assert datetime.fromisoformat(pa["last_visit_at"]) == AT - timedelta(days=8)
    pc = found[c]["properties"]
    # Since 1 May (midnight in Beijing) + 30 days = 31 May 00:00: 15 days and 10 hours late.
    assert datetime.fromisoformat(pc["due_at"]) == datetime(2026, 5, 31, tzinfo=ZONE)
    assert pc["days_overdue"] == 15 and pc["last_visit_at"] is None
    assert found[a]["geometry"]["type"] == "Point"
    assert pa["address"] == "测试路W001号" and pa["unit"] == "1" and pa["building_id"]
    # Most overdue first.
    assert list(found) == [c, a]
    # A grid narrows it; an elderly household visited 6 days before is not late.
    assert set(overdue_ids(client, who["community"], grid=EAST_GRID)) == set()
    visit(db, a, AT - timedelta(days=6))
    db.flush()
    assert set(overdue_ids(client, who["community"], grid=WEST_GRID)) == {c}
    # A door nobody opened leaves the household due; its last visit is still the one that
    # reached it.
    visit(db, c, AT - timedelta(days=1), outcome="not_home")
    visit(db, a, AT - timedelta(hours=1), outcome="not_home")
    db.flush()
    again = overdue_ids(client, who["community"], grid=WEST_GRID)
    assert set(again) == {c}
    assert again[c]["properties"]["last_visit_at"] is None


def test_a_visit_after_the_clock_does_not_count(client: TestClient, db: Session) -> None:
    p = place(db)
    tag(db, p.west[0], "elderly_alone", since=date(2026, 1, 1))
    visit(db, p.west[0], AT - timedelta(days=9))
    visit(db, p.west[0], AT + timedelta(days=1))
    db.flush()
    who = tokens(db, p)
    found = overdue_ids(client, who["street"], region=STREET)
    assert found[p.west[0]]["properties"]["days_overdue"] == 2


def test_who_may_list_overdue_households(client: TestClient, db: Session) -> None:
    p = place(db)
    tag(db, p.west[0], "elderly_alone", since=date(2026, 1, 1))
    tag(db, p.east[0], "hardship", since=date(2026, 1, 1))
    db.flush()
    who = tokens(db, p)
    params = {"region": STREET, "at": AT.isoformat()}
    # A viewer of the street is refused too: every household listed has a care tag, and its
    # due date less its last visit is the tag's interval.
    for caller in ("department", "other_street", "worker", "viewer"):
        r = client.get(OVERDUE, params=params, headers=who[caller])
        assert r.status_code == 403, (caller, r.text)
        assert r.json()["code"] == "forbidden"
    assert client.get(OVERDUE, params=params).status_code == 401
    r = client.get(OVERDUE, params={"at": AT.isoformat()}, headers=who["street"])
    assert r.status_code == 422 and "region" in r.json()["detail"]
    assert reads(db) == []
    # The worker of the west grid lists it, sees its tags; its reads are logged.
    found = overdue_ids(client, who["worker"], grid=WEST_GRID)
    assert set(found) == {p.west[0]} and found[p.west[0]]["properties"]["masked"] is False
    assert [(k, f) for _, k, f in reads(db)] == [(str(p.west[0]), ["care_tags"])]
    # The street's office sees both; one row per household.
    overdue_ids(client, who["street"], region=STREET)
    assert sorted(k for a, k, _ in reads(db) if "街道办" in a) == sorted(
        [str(p.west[0]), str(p.east[0])]
    )


def test_python_and_sql_agree_on_when_households_are_due(db: Session) -> None:
    p = place(db)
    chance = random.Random(17)
    homes = [*p.west, *p.east]
    extra = [
        int(i)
        for i in db.execute(
            text(
                "INSERT INTO household (building_id, unit, room) "
                "SELECT :b, '2', g::text FROM generate_series(1, 40) g RETURNING id"
            ),
            {"b": p.west_building},
        ).scalars()
    ]
    homes += extra
    expected_tags: dict[int, list[Tag]] = {}
    last: dict[int, datetime] = {}
    for h in homes:
        for care in chance.sample(CARE_TAGS, chance.randint(0, 3)):
            since = date(2026, 1, 1) + timedelta(days=chance.randint(0, 160))
            own = chance.choice([None, None, chance.randint(1, 60)])
            tag(db, h, care, since=since, interval_days=own)
            expected_tags.setdefault(h, []).append(Tag(care, since, own))
        for _ in range(chance.randint(0, 3)):
            at = AT - timedelta(days=chance.uniform(-5, 90))
            outcome = chance.choice(["met", "met", "not_home", "follow_up"])
            visit(db, h, at, outcome=outcome)
            if at <= AT and outcome != "not_home":
                last[h] = max(at, last.get(h, at))
    db.flush()
    rule = VisitRule({"elderly_alone": 7, "disabled": 14}, 30, "Asia/Shanghai")
    care = household_care(rule, at=AT)
    sql = {r.household_id: r.due_at for r in db.execute(select(care.c.household_id, care.c.due_at))}
    python = {h: due_at(rule, tags, last.get(h)) for h, tags in expected_tags.items()}
    assert len(python) > 20
    assert set(sql) == set(python)
    for h, due in python.items():
        assert due is not None and abs((sql[h] - due).total_seconds()) < 1e-3, h
