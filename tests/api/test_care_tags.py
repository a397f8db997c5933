"""Care tags of households (GET/PUT/DELETE /households/{id}/care-tags): who sets and reads them,
and households read with their tags, last visit and next due visit, masked for others."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.care import place, tag, tokens, visit
from tests.utils.fixtures import WEST_GRID

HOUSEHOLDS = "/api/v1/households"


def tags_in_db(db: Session, household: int) -> list[tuple]:
    return [
        tuple(r)
        for r in db.execute(
            text(
                "SELECT tag, interval_days, since, note FROM care_tag WHERE household_id = :h "
                "ORDER BY tag"
            ),
            {"h": household},
        )
    ]


def audit_actions(db: Session) -> list[str]:
    return list(db.execute(text("SELECT action FROM audit_log ORDER BY id")).scalars())


def test_an_office_tags_changes_and_removes(client: TestClient, db: Session) -> None:
    p = place(db)
    who = tokens(db, p)
    h = p.west[0]
    url = f"{HOUSEHOLDS}/{h}/care-tags"
    r = client.put(f"{url}/elderly_alone", json={"note": "子女在外地"}, headers=who["community"])
    assert r.status_code == 201, r.text
    assert r.json()["tag"] == "elderly_alone" and r.json()["interval_days"] is None
    today = date.fromisoformat(r.json()["since"])
    assert abs((today - date.today()).days) <= 1
    assert tags_in_db(db, h) == [("elderly_alone", None, today, "子女在外地")]
    # Only what is sent changes.
    r = client.put(f"{url}/elderly_alone", json={"interval_days": 5}, headers=who["worker"])
    assert r.status_code == 200, r.text
    assert tags_in_db(db, h) == [("elderly_alone", 5, today, "子女在外地")]
    r = client.put(
        f"{url}/hardship", json={"since": "2026-01-05", "note": None}, headers=who["street"]
    )
    assert r.status_code == 201
    got = client.get(url, headers=who["worker"])
    assert got.status_code == 200, got.text
    body = got.json()
    assert [t["tag"] for t in body["care_tags"]] == ["elderly_alone", "hardship"]
    assert [t["interval"] for t in body["care_tags"]] == [5, 30]
    assert body["last_visit_at"] is None and body["grid_code"] == WEST_GRID
    # Never visited: due 5 days after the earliest tag's day.
    due = datetime.fromisoformat(body["next_visit_due"])
    assert due.date() == date(2026, 1, 10)
    assert client.delete(f"{url}/hardship", headers=who["district"]).status_code == 204
    assert [t for t, *_ in tags_in_db(db, h)] == ["elderly_alone"]
    r = client.delete(f"{url}/hardship", headers=who["district"])
    assert r.status_code == 404 and "hardship" in r.json()["detail"]
    assert audit_actions(db) == ["care_tag", "care_tag", "care_tag", "read", "care_tag_remove"]
    before = db.execute(
        text("SELECT before, after FROM audit_log WHERE action = 'care_tag' ORDER BY id")
    ).all()
    assert before[0].before is None and before[1].before["care_tag"]["interval_days"] is None
    assert before[1].after["care_tag"]["interval_days"] == 5


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("worker", 201),
        ("community", 201),
        ("street", 201),
        ("district", 201),
        ("admin", 201),
        ("worker_other", 403),
        ("other_street", 403),
        ("viewer", 403),
        ("department", 403),
    ],
)
def test_who_sets_care_tags(client: TestClient, db: Session, caller: str, status: int) -> None:
    p = place(db)
    who = tokens(db, p)
    url = f"{HOUSEHOLDS}/{p.west[0]}/care-tags"
    r = client.put(f"{url}/disabled", json={}, headers=who[caller])
    assert r.status_code == status, r.text
    read = client.get(url, headers=who[caller])
    if status == 403:
        assert r.json()["code"] == "forbidden"
        assert tags_in_db(db, p.west[0]) == [] and audit_actions(db) == []
        assert read.status_code == 403 and read.json()["code"] == "forbidden"
        assert client.delete(f"{url}/disabled", headers=who[caller]).status_code == 403
    else:
        assert read.status_code == 200 and read.json()["care_tags"][0]["tag"] == "disabled"


def test_bad_care_tags_write_nothing(client: TestClient, db: Session) -> None:
    p = place(db)
    who = tokens(db, p)
    url = f"{HOUSEHOLDS}/{p.west[0]}/care-tags"
    for path, body, status in [
        (f"{url}/astronaut", {}, 422),
        (f"{url}/disabled", {"interval_days": 0}, 422),
        (f"{url}/disabled", {"interval_days": 400}, 422),
        (f"{url}/disabled", {"note": "x" * 2001}, 422),
        (f"{url}/disabled", {"since": "yesterday"}, 422),
        (f"{url}/disabled", {"since": "9999-12-31"}, 422),
        (f"{url}/disabled", {"since": "0001-01-01"}, 422),
        (f"{url}/disabled", {"colour": "red"}, 422),
        (f"{HOUSEHOLDS}/999999/care-tags/disabled", {}, 404),
    ]:
        r = client.put(path, json=body, headers=who["community"])
        assert r.status_code == status, (path, body, r.text)
        assert r.json()["detail"]
    assert client.put(f"{url}/disabled", json={}).status_code == 401
    assert client.get(f"{HOUSEHOLDS}/999999/care-tags", headers=who["street"]).status_code == 404
    assert db.execute(text("SELECT count(*) FROM care_tag")).scalar_one() == 0
    assert audit_actions(db) == []


def test_households_are_read_with_care_masked_for_others(client: TestClient, db: Session) -> None:
    p = place(db)
    who = tokens(db, p)
    h = p.west[0]
    tag(db, h, "elderly_alone", since=date.today() - timedelta(days=40), note="独居")
    last = datetime.now().astimezone() - timedelta(days=2)
    visit(db, h, last)
    db.flush()
    for caller, sees in [
        ("worker", True),
        ("street", True),
        ("viewer", False),
        ("worker_other", False),
        ("department", False),
    ]:
        r = client.get(HOUSEHOLDS, params={"grid": WEST_GRID}, headers=who[caller])
        assert r.status_code == 200, r.text
        props = {f["properties"]["id"]: f["properties"] for f in r.json()["features"]}
        one = client.get(f"{HOUSEHOLDS}/{h}", headers=who[caller]).json()["properties"]
        for got in (props[h], one):
            if sees:
                assert got["masked"] is False
                assert got["care_tags"][0]["tag"] == "elderly_alone"
                assert got["care_tags"][0]["note"] == "独居"
                assert datetime.fromisoformat(got["last_visit_at"]) == last
                due = datetime.fromisoformat(got["next_visit_due"])
                assert abs((due - (last + timedelta(days=7))).total_seconds()) < 1
            else:
                assert got["masked"] is True and got["care_tags"] is None
                assert got["last_visit_at"] is None and got["next_visit_due"] is None
                assert got["contact_name"] == "赵**"
        untagged = props[p.west[1]]
        assert untagged["next_visit_due"] is None
        assert untagged["care_tags"] == ([] if sees else None)
    anonymous = client.get(HOUSEHOLDS, params={"grid": WEST_GRID}).json()
    assert all(f["properties"]["care_tags"] is None for f in anonymous["features"])
