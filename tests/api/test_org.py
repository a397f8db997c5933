"""Party organisations: committee → branches (grids) → groups (buildings), the tree with its
warnings, a grid's panel, and the refusals of the kind, place and link rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    COMMUNITY,
    EAST_GRID,
    STREET,
    WEST_GRID,
    add_grid,
    add_region,
    add_staff,
    bearer,
    square,
    two_grids,
)
from tests.utils.homes import add_building
from tests.utils.network import offset
from tests.utils.org import add_member, add_org
from tests.utils.org_client import atomic_client

from gridmap.settings import Settings

API = "/api/v1"


@pytest.fixture
def api(settings: Settings, db: Session) -> Iterator[TestClient]:
    yield from atomic_client(settings, db)


def _count(db: Session, sql: str, **params: Any) -> int:
    return int(db.execute(text(sql), params).scalar_one())


def _buildings(db: Session) -> tuple[int, int, int]:
    """Two buildings in the west grid (3 households each) and one in the east (2)."""
    w1 = add_building(db, "BW-01", WEST_GRID, offset(-300, 20), 3)
    w2 = add_building(db, "BW-02", WEST_GRID, offset(-350, 60), 3)
    e1 = add_building(db, "BE-01", EAST_GRID, offset(300, -30), 2)
    db.flush()
    return w1, w2, e1


def test_build_an_organisation_and_read_its_tree(api: TestClient, db: Session) -> None:
    two_grids(db)
    w1, w2, e1 = _buildings(db)
    office = bearer(db)
    r = api.post(
        f"{API}/party-orgs",
        headers=office,
        json={
            "kind": "committee",
            "name": "测试社区大党委",
            "community_code": COMMUNITY,
            "secretary": {"name": "测试书记甲", "phone": "13600000001"},
        },
    )
    assert r.status_code == 201, r.text
    committee = r.json()
    assert committee["code"].startswith("PO") and committee["parent_id"] is None
    assert committee["secretary"]["name"] == "测试书记甲"
    assert r.headers["Location"] == f"/api/v1/party-orgs/{committee['id']}"
    r = api.post(
        f"{API}/party-orgs",
        headers=office,
        json={
            "kind": "branch",
            "code": "B-WEST",
            "name": "西网格党支部",
            "parent_id": committee["id"],
            "community_code": COMMUNITY,
            "grid_codes": [WEST_GRID],
        },
    )
    assert r.status_code == 201, r.text
    branch = r.json()
    assert branch["grid_codes"] == [WEST_GRID] and branch["households_n"] == 6
    r = api.post(
        f"{API}/party-orgs",
        headers=office,
        json={
            "kind": "group",
            "name": "西1号楼党小组",
            "parent_id": branch["id"],
            "community_code": COMMUNITY,
            "building_ids": [w1],
        },
    )
    assert r.status_code == 201, r.text
    group = r.json()
    assert group["building_ids"] == [w1] and group["households_n"] == 3
    # A designated household of the group, serving one neighbour: too few.
    head, n1, _ = db.execute(
        text("SELECT id FROM household WHERE building_id = :b ORDER BY id"), {"b": w1}
    ).scalars()
    db.execute(
        text("UPDATE household SET designated = true, group_id = :g WHERE id = :h"),
        {"g": group["id"], "h": head},
    )
    db.execute(text("UPDATE household SET served_by = :h WHERE id = :n"), {"h": head, "n": n1})
    add_member(db, "测试党员乙", "13600000002", org=branch["id"])
    db.flush()

    tree = api.get(f"{API}/party-orgs/tree", params={"community": COMMUNITY})
    assert tree.status_code == 200, tree.text
    body = tree.json()
    assert body["community"]["code"] == COMMUNITY and body["community"]["grids_n"] == 2
    assert body["community"]["warnings"] == [
        {"check": "grid_no_branch", "n": 1, "grids": [EAST_GRID]}
    ]
    [top] = body["committees"]
    assert top["id"] == committee["id"]
    # Anonymous: the secretary is there, masked.
    assert top["secretary"] == {"person_id": None, "name": None, "phone": None, "masked": True}
    [b] = top["children"]
    assert b["code"] == "B-WEST" and b["members_n"] == 1
    [warning] = b["warnings"]
    assert warning["check"] == "building_no_group" and warning["n"] == 1
    assert [x["id"] for x in warning["buildings"]] == [w2]
    [g] = b["children"]
    assert g["central_households"] == [
        {
            "id": head,
            "building_id": w1,
            "building": "BW-01",
            "unit": "1",
            "room": "101",
            "group_id": group["id"],
            "grid_code": WEST_GRID,
            "serves_n": 1,
        }
    ]
    assert g["warnings"] == [
        {
            "check": "central_too_few",
            "household_id": head,
            "grid_code": WEST_GRID,
            "serves_n": 1,
            "min": 10,
            "max": 20,
        }
    ]
    # The office sees the secretary.
    seen = api.get(f"{API}/party-orgs/{committee['id']}", headers=office).json()
    assert seen["secretary"]["name"] == "测试书记甲" and seen["secretary"]["masked"] is False

    panel = api.get(f"{API}/grids/{WEST_GRID}/org")
    assert panel.status_code == 200, panel.text
    p = panel.json()
    assert p["grid"]["code"] == WEST_GRID and p["branch"]["id"] == branch["id"]
    assert [x["id"] for x in p["groups"]] == [group["id"]]
    assert [m["name"] for m in p["members"]] == [None] and p["members"][0]["masked"] is True
    assert {t["role"] for t in p["team"]} == {"leader", "worker"}
    assert all(t["name"] is None and t["masked"] for t in p["team"])
    assert [h["id"] for h in p["central_households"]] == [head]
    assert {w["check"] for w in p["warnings"]} == {"building_no_group", "central_too_few"}
    mine = api.get(f"{API}/grids/{WEST_GRID}/org", headers=office).json()
    assert [m["name"] for m in mine["members"]] == ["测试党员乙"]
    assert {t["name"] for t in mine["team"]} == {"王晓明", "李静"}
    east = api.get(f"{API}/grids/{EAST_GRID}/org").json()
    assert east["branch"] is None and east["warnings"][0]["check"] == "grid_no_branch"
    assert api.get(f"{API}/grids/{COMMUNITY}999/org").status_code == 404
    # Every write left its audit row.
    assert _count(db, "SELECT count(*) FROM audit_log WHERE entity = 'party_org'") == 3


def _committee_and_branch(db: Session) -> tuple[int, int]:
    committee = add_org(db, "committee", "C-T", "测试大党委", COMMUNITY)
    branch = add_org(db, "branch", "B-W", "西支部", COMMUNITY, parent=committee, grids=(WEST_GRID,))
    db.flush()
    return committee, branch


def test_kind_parent_and_place_rules(api: TestClient, db: Session) -> None:
    two_grids(db)
    w1, _, _ = _buildings(db)
    committee, branch = _committee_and_branch(db)
    office = bearer(db)
    base = {"name": "某组织", "community_code": COMMUNITY}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"kind": "branch", "parent_id": branch}, 422, "org_parent_kind"),
        ({"kind": "branch"}, 422, "org_parent_kind"),
        ({"kind": "group", "parent_id": committee}, 422, "org_parent_kind"),
        ({"kind": "committee", "parent_id": committee}, 422, "org_parent_kind"),
        ({"kind": "group", "parent_id": 999999}, 422, "org_parent_kind"),
        (
            {"kind": "branch", "parent_id": committee, "grid_codes": [WEST_GRID]},
            409,
            "grid_has_branch",
        ),
        (
            {"kind": "branch", "parent_id": committee, "grid_codes": ["110108010002001"]},
            422,
            "invalid_input",
        ),
        ({"kind": "group", "parent_id": branch, "grid_codes": [EAST_GRID]}, 422, "invalid_input"),
        ({"kind": "group", "parent_id": branch, "building_ids": [w1, w1]}, 422, "invalid_input"),
        ({"kind": "group", "parent_id": branch, "building_ids": [987654]}, 422, "invalid_input"),
        ({"kind": "committee", "community_code": "110108010009"}, 403, "forbidden"),
        ({"kind": "committee", "code": "C-T"}, 409, "conflict"),
    ]
    before = _count(db, "SELECT count(*) FROM party_org")
    for extra, status, code in cases:
        r = api.post(f"{API}/party-orgs", headers=office, json={**base, **extra})
        assert (r.status_code, r.json().get("code")) == (status, code), (extra, r.text)
    street = bearer(db, "street", "110108010", "学院路街道办")
    r = api.post(
        f"{API}/party-orgs",
        headers=street,
        json={**base, "kind": "committee", "community_code": "110108010009"},
    )
    assert (r.status_code, r.json()["code"]) == (422, "invalid_input")
    # A grid and a building of another community.
    other = "110108010002"
    add_region(db, other, "community", "另一社区", STREET, square(116.35, 40.0, 116.36, 40.01))
    add_grid(db, other + "001", square(116.35, 40.0, 116.36, 40.01))
    far = add_building(db, "BO-01", other + "001", offset(800, 0), 1)
    db.flush()
    for extra in (
        {"kind": "branch", "parent_id": committee, "grid_codes": [other + "001"]},
        {"kind": "group", "parent_id": branch, "building_ids": [far]},
    ):
        r = api.post(f"{API}/party-orgs", headers=street, json={**base, **extra})
        assert (r.status_code, r.json()["code"]) == (422, "org_outside_community"), r.text
    r = api.post(
        f"{API}/party-orgs",
        headers=street,
        json={**base, "kind": "branch", "parent_id": committee, "community_code": other},
    )
    assert (r.status_code, r.json()["code"]) == (422, "org_outside_community"), r.text
    assert _count(db, "SELECT count(*) FROM party_org") == before
    r = api.post(
        f"{API}/party-orgs",
        headers=office,
        json={**base, "kind": "branch", "parent_id": committee, "grid_codes": [WEST_GRID]},
    )
    assert r.json()["branch"] == {"id": branch, "code": "B-W", "name": "西支部"}
    # A group in a building, then another group for the same building.
    g1 = api.post(
        f"{API}/party-orgs",
        headers=office,
        json={**base, "kind": "group", "parent_id": branch, "building_ids": [w1]},
    )
    assert g1.status_code == 201
    r = api.post(
        f"{API}/party-orgs",
        headers=office,
        json={**base, "kind": "group", "parent_id": branch, "building_ids": [w1]},
    )
    assert r.status_code == 409 and r.json()["code"] == "building_has_group"
    # A cycle: the branch under itself; a group moved under a committee.
    r = api.patch(f"{API}/party-orgs/{branch}", headers=office, json={"parent_id": branch})
    assert r.status_code == 422 and r.json()["code"] == "org_parent_kind"
    gid = g1.json()["id"]
    r = api.patch(f"{API}/party-orgs/{gid}", headers=office, json={"parent_id": committee})
    assert r.status_code == 422 and r.json()["code"] == "org_parent_kind"
    # Deleting what still holds something.
    r = api.delete(f"{API}/party-orgs/{branch}", headers=office)
    assert r.status_code == 409 and r.json()["code"] == "org_has_children"
    add_member(db, "测试党员丙", org=gid)
    db.flush()
    r = api.delete(f"{API}/party-orgs/{gid}", headers=office)
    assert r.status_code == 409 and r.json()["code"] == "org_has_members"
    db.execute(text("DELETE FROM party_member WHERE org_id = :g"), {"g": gid})
    assert api.delete(f"{API}/party-orgs/{gid}", headers=office).status_code == 204
    assert _count(db, "SELECT count(*) FROM party_org_building") == 0
    assert api.get(f"{API}/party-orgs/{gid}").status_code == 404


def test_patch_links_secretary_and_name(api: TestClient, db: Session) -> None:
    two_grids(db)
    committee, branch = _committee_and_branch(db)
    # The west grid's guide (a person the office already sees) becomes the secretary.
    person = add_staff(db, WEST_GRID, "guide", "测试书记丁", "13600000004")
    db.flush()
    office = bearer(db)
    r = api.patch(
        f"{API}/party-orgs/{branch}",
        headers=office,
        json={
            "name": "西东联合支部",
            "grid_codes": [WEST_GRID, EAST_GRID],
            "secretary_person_id": person,
        },
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["grid_codes"] == [WEST_GRID, EAST_GRID] and out["name"] == "西东联合支部"
    assert out["secretary"]["person_id"] == person
    r = api.patch(f"{API}/party-orgs/{branch}", headers=office, json={"grid_codes": [EAST_GRID]})
    assert r.json()["grid_codes"] == [EAST_GRID]
    r = api.patch(f"{API}/party-orgs/{branch}", headers=office, json={"secretary_person_id": None})
    assert r.json()["secretary"] is None
    r = api.patch(f"{API}/party-orgs/{branch}", headers=office, json={"name": None})
    assert r.status_code == 422
    r = api.patch(f"{API}/party-orgs/{branch}", headers=office, json={"kind": "group"})
    assert r.status_code == 422
    actions = db.execute(
        text("SELECT action FROM audit_log WHERE entity = 'party_org' ORDER BY id")
    ).scalars()
    assert list(actions) == ["update", "update", "update"]
    listed = api.get(f"{API}/party-orgs", params={"community": COMMUNITY, "kind": "branch"})
    assert listed.json()["numberMatched"] == 1 and listed.json()["orgs"][0]["id"] == branch
    assert committee


def test_each_organisation_counts_the_households_of_its_own_area(
    api: TestClient, db: Session
) -> None:
    """Two branches and two groups: each counts its own grid's or buildings' households, not
    every household of its kind's areas."""
    two_grids(db)
    w1, w2, _e1 = _buildings(db)
    office = bearer(db)

    def made(**body: object) -> dict[str, object]:
        r = api.post(
            f"{API}/party-orgs", headers=office, json={"community_code": COMMUNITY, **body}
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    committee = made(kind="committee", name="测试社区大党委")
    west = made(kind="branch", name="西支部", parent_id=committee["id"], grid_codes=[WEST_GRID])
    east = made(kind="branch", name="东支部", parent_id=committee["id"], grid_codes=[EAST_GRID])
    g1 = made(kind="group", name="西1号楼党小组", parent_id=west["id"], building_ids=[w1])
    g2 = made(kind="group", name="西2号楼党小组", parent_id=west["id"], building_ids=[w2])
    page = api.get(f"{API}/party-orgs?community={COMMUNITY}", headers=office).json()
    counts = {o["id"]: o["households_n"] for o in page["orgs"]}
    assert counts == {committee["id"]: 8, west["id"]: 6, east["id"]: 2, g1["id"]: 3, g2["id"]: 3}
