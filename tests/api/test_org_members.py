"""Party members: add (an existing person or a new one), change, register with a community
(双报到), filter, remove (not while they hold work); designated households in groups; /me."""

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
    add_region,
    add_staff,
    bearer,
    square,
    two_grids,
)
from tests.utils.homes import add_building
from tests.utils.network import offset
from tests.utils.org import (
    add_member,
    add_org,
    add_person,
    branch_bearer,
    member_bearer,
)
from tests.utils.org_client import atomic_client

from gridmap.settings import Settings

API = "/api/v1"
OTHER = STREET + "002"


@pytest.fixture
def api(settings: Settings, db: Session) -> Iterator[TestClient]:
    yield from atomic_client(settings, db)


def _world(db: Session) -> dict[str, int]:
    two_grids(db)
    add_region(db, OTHER, "community", "另一社区", STREET, square(116.35, 40.0, 116.36, 40.01))
    committee = add_org(db, "committee", "C-T", "测试大党委", COMMUNITY)
    west = add_org(db, "branch", "B-W", "西支部", COMMUNITY, parent=committee, grids=(WEST_GRID,))
    east = add_org(db, "branch", "B-E", "东支部", COMMUNITY, parent=committee, grids=(EAST_GRID,))
    db.flush()
    return {"committee": committee, "west": west, "east": east}


def _audit(db: Session, entity: str) -> list[str]:
    return list(
        db.execute(
            text("SELECT action FROM audit_log WHERE entity = :e ORDER BY id"), {"e": entity}
        ).scalars()
    )


def test_members_added_changed_registered_listed_removed(api: TestClient, db: Session) -> None:
    w = _world(db)
    office = bearer(db)
    r = api.post(
        f"{API}/party-members",
        headers=office,
        json={"person": {"name": "测试党员一", "phone": "13500000001"}, "org_id": w["west"]},
    )
    assert r.status_code == 201, r.text
    one = r.json()
    assert one["name"] == "测试党员一" and one["org_code"] == "B-W" and one["masked"] is False
    assert one["hours_served"] == 0 and one["registered_community"] is None
    # A volunteer of the west grid (a person the office already sees) joins.
    person = add_staff(db, WEST_GRID, "volunteer", "测试党员二", "13500000002")
    db.flush()
    r = api.post(
        f"{API}/party-members",
        headers=office,
        json={
            "person_id": person,
            "in_service": True,
            "employer": "某研究院(生成)",
            "registered_community": COMMUNITY,
        },
    )
    assert r.status_code == 201, r.text
    two = r.json()
    assert two["registered_community"] == COMMUNITY and two["registered_at"] is not None
    # The same person twice.
    r = api.post(
        f"{API}/party-members",
        headers=office,
        json={"person_id": person, "org_id": w["east"]},
    )
    assert (r.status_code, r.json()["code"]) == (409, "person_is_member")
    # Neither an organisation nor a registration; both a person and a person_id; unknowns.
    for body, code in (
        ({"person": {"name": "某"}}, "invalid_input"),
        ({"person": {"name": "某"}, "person_id": person, "org_id": w["west"]}, "invalid_input"),
        ({"person_id": 99999999, "org_id": w["west"]}, "invalid_input"),
        ({"person": {"name": "某"}, "org_id": 99999999}, "invalid_input"),
        (
            {"person": {"name": "某"}, "org_id": w["west"], "employer_unit_id": 9999999},
            "invalid_input",
        ),
        ({"person": {"name": "某"}, "org_id": w["west"], "household_id": 9999999}, "invalid_input"),
    ):
        r = api.post(f"{API}/party-members", headers=office, json=body)
        assert (r.status_code, r.json().get("code")) == (422, code), (body, r.text)
    # Change the organisation and the phone.
    r = api.patch(
        f"{API}/party-members/{one['id']}",
        headers=office,
        json={"org_id": w["east"], "person": {"phone": "13500000009"}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["org_code"] == "B-E" and r.json()["phone"] == "13500000009"
    # Filters.
    listed = api.get(f"{API}/party-members", params={"org": w["committee"]}, headers=office)
    assert [m["id"] for m in listed.json()["members"]] == [one["id"]]
    listed = api.get(f"{API}/party-members", params={"in_service": "true"}, headers=office)
    assert [m["id"] for m in listed.json()["members"]] == [two["id"]]
    listed = api.get(f"{API}/party-members", params={"community": COMMUNITY}, headers=office)
    assert listed.json()["numberMatched"] == 2
    # 双报到 moved to another community: by a street office covering both.
    street = bearer(db, "street", STREET, "学院路街道办")
    r = api.post(
        f"{API}/party-members/{two['id']}/register",
        headers=street,
        json={"community_code": OTHER},
    )
    assert r.status_code == 200, r.text
    assert r.json()["registered_community"] == OTHER
    # The community office may not register with another community.
    r = api.post(
        f"{API}/party-members/{two['id']}/register",
        headers=office,
        json={"community_code": OTHER},
    )
    assert r.status_code == 403
    # A member with work is kept; without, removed (the person stays).
    db.execute(
        text(
            "INSERT INTO party_post (code, title, community_code, member_id, claimed_at) "
            "VALUES ('P-1', '环境监督岗', :c, :m, now())"
        ),
        {"c": COMMUNITY, "m": one["id"]},
    )
    db.flush()
    r = api.delete(f"{API}/party-members/{one['id']}", headers=office)
    assert (r.status_code, r.json()["code"]) == (409, "member_has_work")
    assert r.json()["posts"] == ["P-1"]
    db.execute(text("DELETE FROM party_post"))
    assert api.delete(f"{API}/party-members/{one['id']}", headers=office).status_code == 204
    assert api.get(f"{API}/party-members/{one['id']}").status_code == 404
    assert _audit(db, "party_member") == ["create", "create", "update", "register", "delete"]
    assert db.execute(text("SELECT count(*) FROM person WHERE name = '测试党员一'")).scalar() == 1


def test_a_branch_token_adds_its_members_and_groups(api: TestClient, db: Session) -> None:
    w = _world(db)
    b = add_building(db, "BW-01", WEST_GRID, offset(-300, 20), 2)
    e = add_building(db, "BE-01", EAST_GRID, offset(300, -30), 2)
    db.flush()
    west = branch_bearer(db, w["west"])
    r = api.post(
        f"{API}/party-members",
        headers=west,
        json={"person": {"name": "测试党员三"}, "org_id": w["west"]},
    )
    assert r.status_code == 201, r.text
    r = api.post(
        f"{API}/party-members",
        headers=west,
        json={"person": {"name": "测试党员四"}, "org_id": w["east"]},
    )
    assert r.status_code == 403
    group = api.post(
        f"{API}/party-orgs",
        headers=west,
        json={
            "kind": "group",
            "name": "西1号楼党小组",
            "parent_id": w["west"],
            "community_code": COMMUNITY,
            "building_ids": [b],
        },
    )
    assert group.status_code == 201, group.text
    # Its grids follow at once: the group's building is in them, a member of the group too.
    r = api.post(
        f"{API}/party-members",
        headers=west,
        json={"person": {"name": "测试党员五"}, "org_id": group.json()["id"]},
    )
    assert r.status_code == 201 and r.json()["name"] == "测试党员五"
    r = api.post(
        f"{API}/party-orgs",
        headers=west,
        json={
            "kind": "group",
            "name": "东楼党小组",
            "parent_id": w["west"],
            "community_code": COMMUNITY,
            "building_ids": [e],
        },
    )
    assert r.status_code == 403
    # The household of the group's building goes in it; the east one may not.
    hw = db.execute(text("SELECT id FROM household WHERE building_id = :b"), {"b": b}).scalar()
    he = db.execute(text("SELECT id FROM household WHERE building_id = :b"), {"b": e}).scalar()
    gid = group.json()["id"]
    r = api.patch(f"{API}/households/{hw}", headers=west, json={"group_id": gid})
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["group_id"] == gid
    office = bearer(db)
    r = api.patch(f"{API}/households/{he}", headers=office, json={"group_id": gid})
    assert (r.status_code, r.json()["code"]) == (422, "household_outside_group")
    r = api.patch(f"{API}/households/{he}", headers=office, json={"group_id": w["west"]})
    assert r.status_code == 422
    r = api.patch(f"{API}/households/{he}", headers=west, json={"group_id": gid})
    assert r.status_code == 403
    r = api.patch(f"{API}/households/{hw}", headers=office, json={})
    assert r.status_code == 422
    r = api.patch(f"{API}/households/{hw}", headers=office, json={"group_id": None})
    assert r.status_code == 200 and r.json()["properties"]["group_id"] is None
    assert _audit(db, "household") == ["group", "group"]


def test_me_names_the_organisation_and_the_member(api: TestClient, db: Session) -> None:
    w = _world(db)
    member = add_member(db, "测试党员六", org=w["west"], registered=COMMUNITY)
    db.flush()
    me: dict[str, Any] = api.get(f"{API}/me", headers=member_bearer(db, member)).json()
    assert me["member_id"] == member and me["member"]["org"]["code"] == "B-W"
    assert me["member"]["registered_community"] == COMMUNITY
    assert me["member"]["registered_community_name"] == "测试社区"
    me = api.get(f"{API}/me", headers=branch_bearer(db, w["west"])).json()
    assert me["role"] == "branch" and me["org"]["name"] == "西支部"
    assert [g["code"] for g in me["grids"]] == [WEST_GRID] and me["acts_on"] == "grids"


def test_tokens_follow_their_organisations_links_at_once(api: TestClient, db: Session) -> None:
    w = _world(db)
    committee = branch_bearer(db, w["committee"])
    west = branch_bearer(db, w["west"])
    office = bearer(db)
    db.flush()

    def grids(headers: dict[str, str]) -> list[str]:
        return [g["code"] for g in api.get(f"{API}/me", headers=headers).json()["grids"]]

    assert grids(committee) == [WEST_GRID, EAST_GRID] and grids(west) == [WEST_GRID]
    r = api.patch(f"{API}/party-orgs/{w['west']}", headers=office, json={"grid_codes": []})
    assert r.status_code == 200
    assert grids(committee) == [EAST_GRID] and grids(west) == []
    r = api.post(
        f"{API}/party-members",
        headers=west,
        json={"person": {"name": "测试党员七"}, "org_id": w["west"]},
    )
    assert r.status_code == 201  # its own members still; its grids are none
    r = api.patch(f"{API}/party-orgs/{w['east']}", headers=office, json={"grid_codes": []})
    r = api.patch(
        f"{API}/party-orgs/{w['west']}", headers=office, json={"grid_codes": [WEST_GRID, EAST_GRID]}
    )
    assert r.status_code == 200
    assert grids(west) == [WEST_GRID, EAST_GRID] and grids(committee) == [WEST_GRID, EAST_GRID]


def test_no_office_registers_another_communitys_member_but_a_member_registers_itself(
    api: TestClient, db: Session
) -> None:
    w = _world(db)
    neighbour = add_org(db, "committee", "C-O", "另一社区大党委", OTHER)
    far = add_member(db, "测试远方党员(生成)", "13300000077", org=neighbour)
    registered = add_member(db, "测试在职党员(生成)", "13300000078", registered=OTHER)
    near = add_member(db, "测试本地党员(生成)", "13300000079", org=w["west"])
    office = bearer(db)

    def state() -> Any:
        return (
            db.execute(
                text("SELECT id, registered_community, registered_at FROM party_member ORDER BY id")
            ).all(),
            _audit(db, "party_member"),
        )

    before = state()
    for member, token in (
        (far, office),
        (registered, office),
        # Another member's token registers only itself.
        (far, member_bearer(db, near)),
    ):
        r = api.post(
            f"{API}/party-members/{member}/register",
            headers=token,
            json={"community_code": COMMUNITY},
        )
        assert (r.status_code, r.json()["code"]) == (403, "forbidden"), r.text
    assert state() == before
    # Its own token: 双报到 with the community it lives in.
    r = api.post(
        f"{API}/party-members/{far}/register",
        headers=member_bearer(db, far),
        json={"community_code": COMMUNITY},
    )
    assert r.status_code == 200, r.text
    assert (
        r.json()["registered_community"] == COMMUNITY and r.json()["name"] == "测试远方党员(生成)"
    )
    # The street office covers both communities.
    street = bearer(db, "street", STREET, "学院路街道办")
    r = api.post(
        f"{API}/party-members/{registered}/register",
        headers=street,
        json={"community_code": COMMUNITY},
    )
    assert r.status_code == 200 and r.json()["registered_community"] == COMMUNITY
    assert _audit(db, "party_member") == ["register", "register"]


def test_a_person_is_named_by_id_only_by_who_already_sees_them(
    api: TestClient, db: Session
) -> None:
    """A person of another community (its committee's secretary), another branch's secretary
    or a person of no post anywhere cannot be named by id to read their name and phone: 403
    ``person_elsewhere``, nothing written; an office covering them (or admin) may."""
    w = _world(db)
    neighbour_chief = add_person(db, "测试邻书记(生成)", "13300000081")
    add_org(db, "committee", "C-O", "另一社区大党委", OTHER, secretary=neighbour_chief)
    east_chief = add_person(db, "测试东书记(生成)", "13300000082")
    db.execute(
        text("UPDATE party_org SET secretary_id = :p WHERE id = :o"),
        {"p": east_chief, "o": w["east"]},
    )
    nobody = add_person(db, "测试无职者(生成)", "13300000083")
    office, west = bearer(db), branch_bearer(db, w["west"])

    def state() -> Any:
        return [
            db.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("party_member", "grid_staff", "person", "audit_log")
        ] + [
            db.execute(text("SELECT secretary_id FROM party_org ORDER BY id")).scalars().all(),
            db.execute(text("SELECT name, phone FROM person ORDER BY id")).all(),
        ]

    before = state()
    for headers, method, path, body in (
        (office, "POST", "/party-members", {"person_id": neighbour_chief, "org_id": w["west"]}),
        (office, "POST", "/party-members", {"person_id": nobody, "org_id": w["west"]}),
        (office, "PATCH", f"/party-orgs/{w['west']}", {"secretary_person_id": neighbour_chief}),
        (office, "POST", f"/grids/{WEST_GRID}/team", {"person_id": nobody, "role": "volunteer"}),
        (
            office,
            "POST",
            f"/grids/{WEST_GRID}/team",
            {"person_id": neighbour_chief, "role": "volunteer"},
        ),
        # The west branch's token and the east branch's secretary.
        (west, "POST", "/party-members", {"person_id": east_chief, "org_id": w["west"]}),
    ):
        r = api.request(method, API + path, headers=headers, json=body)
        assert (r.status_code, r.json()["code"]) == (403, "person_elsewhere"), (path, r.text)
        assert "测试" not in r.text and "133000000" not in r.text
    assert state() == before
    # The office sees the east branch's secretary (its own community): it may name them.
    r = api.post(
        f"{API}/party-members", headers=office, json={"person_id": east_chief, "org_id": w["east"]}
    )
    assert r.status_code == 201 and r.json()["name"] == "测试东书记(生成)"
    # The street office covers the other community; admin names anyone.
    street = bearer(db, "street", STREET, "学院路街道办")
    r = api.post(
        f"{API}/party-members",
        headers=street,
        json={"person_id": neighbour_chief, "org_id": w["west"]},
    )
    assert r.status_code == 201, r.text
    chief_member = r.json()["id"]
    admin = bearer(db, "admin", None, "管理员")
    r = api.post(
        f"{API}/grids/{WEST_GRID}/team",
        headers=admin,
        json={"person_id": nobody, "role": "volunteer"},
    )
    assert r.status_code == 201 and r.json()["name"] == "测试无职者(生成)"
    # The neighbour's secretary is now a west member: the community office sees them, yet may
    # not rename the person row the other community's committee shares; the street office may.
    before = state()
    rename = {"person": {"name": "测试改名(生成)", "phone": "13300000099"}}
    r = api.patch(f"{API}/party-members/{chief_member}", headers=office, json=rename)
    assert (r.status_code, r.json()["code"]) == (403, "person_elsewhere"), r.text
    r = api.patch(f"{API}/party-members/{chief_member}", headers=west, json=rename)
    assert (r.status_code, r.json()["code"]) == (403, "person_elsewhere"), r.text
    assert state() == before
    r = api.patch(f"{API}/party-members/{chief_member}", headers=street, json=rename)
    assert r.status_code == 200 and r.json()["name"] == "测试改名(生成)"
    # Its other fields the community office still changes.
    r = api.patch(f"{API}/party-members/{chief_member}", headers=office, json={"in_service": True})
    assert r.status_code == 200, r.text
