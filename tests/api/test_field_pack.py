"""The field pack a grid worker's phone keeps (GET /me/field): contents, ETag/304, who gets it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.care import place, reads, tag, tokens, visit
from tests.utils.fixtures import EAST_GRID, WEST_GRID

FIELD = "/api/v1/me/field"


def test_a_worker_of_two_grids_gets_both_grids_buildings_and_households(
    client: TestClient, db: Session
) -> None:
    p = place(db)
    tag(db, p.west[0], "elderly_alone", since=date.today() - timedelta(days=30))
    tag(db, p.east[1], "hardship", interval_days=14, note="行动不便")
    visit(db, p.east[1], datetime.now().astimezone() - timedelta(days=2))
    who = tokens(db, p)
    r = client.get(FIELD, headers=who["both"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    pack = r.json()
    assert pack["person"] == {"id": p.both_worker, "name": "周两格"}
    grids = [f["properties"]["code"] for f in pack["grids"]["features"]]
    assert grids == [WEST_GRID, EAST_GRID]
    assert {f["properties"]["name"] for f in pack["grids"]["features"]} == {"西网格", "东网格"}
    assert pack["grids"]["features"][0]["geometry"]["type"] == "MultiPolygon"
    buildings = {f["properties"]["id"]: f for f in pack["buildings"]["features"]}
    assert set(buildings) == {p.west_building, p.east_building}
    assert buildings[p.west_building]["geometry"]["type"] == "Polygon"
    assert buildings[p.east_building]["properties"]["grid_code"] == EAST_GRID
    homes = {h["id"]: h for h in pack["households"]}
    assert set(homes) == {*p.west, *p.east}
    # The grid's own worker sees contacts in full.
    assert homes[p.west[1]]["contact_name"] == "赵小明"
    assert homes[p.west[1]]["contact_phone"] == "13700001111"
    assert homes[p.west[0]]["care_tags"] == [{"tag": "elderly_alone", "interval_days": 7}]
    assert homes[p.west[0]]["overdue"] is True and homes[p.west[0]]["last_visit_at"] is None
    assert homes[p.east[1]]["care_tags"] == [{"tag": "hardship", "interval_days": 14}]
    assert homes[p.east[1]]["overdue"] is False and homes[p.east[1]]["last_visit_at"]
    due = datetime.fromisoformat(homes[p.east[1]]["due_at"])
    assert timedelta(days=11) < due - datetime.now().astimezone() < timedelta(days=13)
    assert homes[p.west[1]]["care_tags"] == [] and homes[p.west[1]]["due_at"] is None
    assert pack["settings"]["patrol_fix_accuracy_m"] == 50
    assert pack["settings"]["max_photos"] == 9
    assert isinstance(pack["categories"], list) and pack["generated_at"]
    # The two tagged households were read: one log row each.
    logged = reads(db)
    assert sorted(int(k) for _, k, _ in logged) == sorted([p.west[0], p.east[1]])
    assert all(f == ["care_tags"] and "周两格" in a for a, _, f in logged)


def test_a_worker_gets_only_their_own_grid(client: TestClient, db: Session) -> None:
    p = place(db)
    who = tokens(db, p)
    pack = client.get(FIELD, headers=who["worker"]).json()
    assert [f["properties"]["code"] for f in pack["grids"]["features"]] == [WEST_GRID]
    assert {h["id"] for h in pack["households"]} == set(p.west)
    assert reads(db) == []  # no care tags: nothing personal was read


def test_the_same_pack_again_is_304_and_a_change_is_a_new_etag(
    client: TestClient, db: Session
) -> None:
    p = place(db)
    tag(db, p.west[0], "elderly_alone")
    who = tokens(db, p)
    first = client.get(FIELD, headers=who["worker"])
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = client.get(FIELD, headers={**who["worker"], "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert len(reads(db)) == 1  # the 304 showed nothing
    visit(db, p.west[0], datetime.now().astimezone() - timedelta(hours=1))
    db.flush()
    changed = client.get(FIELD, headers={**who["worker"], "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert len(reads(db)) == 2


def test_only_a_staff_token_gets_a_field_pack(client: TestClient, db: Session) -> None:
    p = place(db)
    who = tokens(db, p)
    for caller in ("community", "street", "admin", "viewer", "department"):
        r = client.get(FIELD, headers=who[caller])
        assert r.status_code == 403, (caller, r.text)
        assert r.json()["code"] == "forbidden" and "field pack" in r.json()["detail"]
    assert client.get(FIELD).status_code == 401
    assert db.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 0
