"""Who may write the organisation: every caller × every write is allowed, or refused (401/403)
with nothing written; a branch secretary's token only under its own branch and in its grids;
two requests linking one grid to two branches: one wins, the other gets 409, never a 500."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
    bearer,
    square,
    two_grids,
)
from tests.utils.flow import add_department
from tests.utils.homes import add_building
from tests.utils.network import offset
from tests.utils.org import add_member, add_org, add_unit, branch_bearer, member_bearer
from tests.utils.org_client import atomic_client

from gridmap import migrate
from gridmap.auth import Holder, create_token
from gridmap.database import make_engine
from gridmap.main import create_app
from gridmap.settings import Settings

API = "/api/v1"
OTHER = STREET + "002"
TABLES = (
    "party_org",
    "party_org_grid",
    "party_org_building",
    "party_member",
    "person",
    "resident_unit",
    "audit_log",
)


@pytest.fixture
def api(settings: Settings, db: Session) -> Iterator[TestClient]:
    yield from atomic_client(settings, db)


@dataclass
class World:
    committee: int
    west: int
    east: int
    group: int
    member: int
    unit: int
    building: int
    household: int


def build(db: Session) -> World:
    two_grids(db)
    add_region(db, OTHER, "community", "另一社区", STREET, square(116.35, 40.0, 116.36, 40.01))
    committee = add_org(db, "committee", "C-T", "测试大党委", COMMUNITY)
    west = add_org(db, "branch", "B-W", "西支部", COMMUNITY, parent=committee, grids=(WEST_GRID,))
    east = add_org(db, "branch", "B-E", "东支部", COMMUNITY, parent=committee, grids=(EAST_GRID,))
    b1 = add_building(db, "BW-01", WEST_GRID, offset(-300, 20), 1)
    b2 = add_building(db, "BW-02", WEST_GRID, offset(-350, 60), 1)
    group = add_org(db, "group", "G-W1", "西1号楼党小组", COMMUNITY, parent=west, buildings=(b1,))
    member = add_member(db, "测试党员甲", "13300000001", org=west)
    unit = add_unit(db, "U-T", "某公司(生成)", 116.342, 40.005, committee=committee)
    household = int(
        db.execute(text("SELECT id FROM household WHERE building_id = :b"), {"b": b1}).scalar_one()
    )
    db.flush()
    return World(committee, west, east, group, member, unit, b2, household)


Write = Callable[[World], tuple[str, str, Any]]
WRITES: dict[str, Write] = {
    "add a committee": lambda w: (
        "POST",
        "/party-orgs",
        {"kind": "committee", "name": "又一大党委", "community_code": COMMUNITY},
    ),
    "add a group under the west branch": lambda w: (
        "POST",
        "/party-orgs",
        {
            "kind": "group",
            "name": "西2号楼党小组",
            "parent_id": w.west,
            "community_code": COMMUNITY,
            "building_ids": [w.building],
        },
    ),
    "rename the west branch": lambda w: ("PATCH", f"/party-orgs/{w.west}", {"name": "西支部二"}),
    "rename the west group": lambda w: ("PATCH", f"/party-orgs/{w.group}", {"name": "新名"}),
    "remove the west group": lambda w: ("DELETE", f"/party-orgs/{w.group}", None),
    "add a member to the west branch": lambda w: (
        "POST",
        "/party-members",
        {"person": {"name": "测试党员乙"}, "org_id": w.west},
    ),
    "change a west member": lambda w: (
        "PATCH",
        f"/party-members/{w.member}",
        {"in_service": True, "employer": "某单位(生成)"},
    ),
    "remove a west member": lambda w: ("DELETE", f"/party-members/{w.member}", None),
    "register a member": lambda w: (
        "POST",
        f"/party-members/{w.member}/register",
        {"community_code": COMMUNITY},
    ),
    "add a unit": lambda w: (
        "POST",
        "/resident-units",
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [116.343, 40.004]},
            "properties": {"name": "某学校(生成)", "kind": "school"},
        },
    ),
    "change a unit": lambda w: (
        "PATCH",
        f"/resident-units/{w.unit}",
        {"properties": {"name": "新"}},
    ),
    "remove a unit": lambda w: ("DELETE", f"/resident-units/{w.unit}", None),
    "put a household in the group": lambda w: (
        "PATCH",
        f"/households/{w.household}",
        {"group_id": w.group},
    ),
}
# What the west branch's own token may do: its groups, its members, its households.
BRANCH_MAY = {
    "add a group under the west branch",
    "rename the west group",
    "remove the west group",
    "add a member to the west branch",
    "change a west member",
    "remove a west member",
    "put a household in the group",
}
OFFICES = ("the community office", "the street office", "the district office", "admin")
CALLERS = (
    *OFFICES,
    "anonymous",
    "viewer",
    "department",
    "grid worker",
    "a member",
    "another community's office",
    "the west branch",
    "the east branch",
    "the committee",
)


def callers(db: Session, w: World) -> dict[str, dict[str, str]]:
    add_department(db, "cgzf", "城管执法队", "城管执法", STREET)
    worker = db.execute(text("SELECT person_id FROM grid_staff WHERE role = 'worker'")).scalar()
    staff, _ = create_token(db, holder=Holder("staff", person=worker))
    dept, _ = create_token(db, holder=Holder("department", department="cgzf"))
    return {
        "the community office": bearer(db),
        "the street office": bearer(db, "street", STREET, "街道办"),
        "the district office": bearer(db, "district", "110108", "区委"),
        "admin": bearer(db, "admin", None, "管理员"),
        "anonymous": {},
        "viewer": bearer(db, "viewer", COMMUNITY, "查看者"),
        "department": {"Authorization": f"Bearer {dept}"},
        "grid worker": {"Authorization": f"Bearer {staff}"},
        "a member": member_bearer(db, w.member),
        "another community's office": bearer(db, "community", OTHER, "另一社区办"),
        "the west branch": branch_bearer(db, w.west),
        "the east branch": branch_bearer(db, w.east),
        "the committee": branch_bearer(db, w.committee),
    }


def snapshot(db: Session) -> dict[str, Any]:
    return {t: db.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES} | {
        "names": db.execute(
            text("SELECT string_agg(name, ',' ORDER BY id) FROM party_org")
        ).scalar(),
        "group": db.execute(
            text("SELECT count(*) FROM household WHERE group_id IS NOT NULL")
        ).scalar(),
    }


def expected(caller: str, write: str) -> int | None:
    """None: allowed; else the refusal's status."""
    if caller in OFFICES:
        return None
    if caller == "anonymous":
        return 401
    if caller in ("the west branch", "the committee") and write in BRANCH_MAY:
        return None
    if caller == "a member" and write == "register a member":
        return None  # the member registers itself (双报到)
    return 403


@pytest.mark.parametrize("caller", CALLERS)
def test_every_caller_and_every_write(api: TestClient, db: Session, caller: str) -> None:
    w = build(db)
    headers = callers(db, w)[caller]
    db.flush()
    for name, make in WRITES.items():
        method, path, body = make(w)
        savepoint = db.begin_nested()
        try:
            before = snapshot(db)
            r = api.request(method, API + path, headers=headers, json=body)
            want = expected(caller, name)
            if want is None:
                assert 200 <= r.status_code < 300, (name, r.text)
                assert snapshot(db) != before, name
            else:
                assert r.status_code == want, (name, r.text)
                assert r.json()["code"] in ("unauthorized", "forbidden"), (name, r.text)
                assert snapshot(db) == before, name
        finally:
            savepoint.rollback()


def test_a_branch_token_outside_its_grids_writes_nothing(api: TestClient, db: Session) -> None:
    w = build(db)
    east_building = add_building(db, "BE-01", EAST_GRID, offset(300, -30), 1)
    db.flush()
    west = branch_bearer(db, w.west)
    before = snapshot(db)
    for method, path, body in (
        (
            "POST",
            "/party-orgs",
            {
                "kind": "group",
                "name": "东楼党小组",
                "parent_id": w.west,
                "community_code": COMMUNITY,
                "building_ids": [east_building],
            },
        ),
        (
            "POST",
            "/party-orgs",
            {
                "kind": "group",
                "name": "东楼党小组",
                "parent_id": w.east,
                "community_code": COMMUNITY,
            },
        ),
        ("PATCH", f"/party-orgs/{w.group}", {"parent_id": w.east}),
        ("PATCH", f"/party-orgs/{w.group}", {"building_ids": [east_building]}),
        ("PATCH", f"/party-orgs/{w.east}", {"grid_codes": [WEST_GRID, EAST_GRID]}),
        ("PATCH", f"/party-members/{w.member}", {"org_id": w.east}),
        ("POST", "/party-members", {"person": {"name": "某"}, "registered_community": OTHER}),
    ):
        r = api.request(method, API + path, headers=west, json=body)
        assert (r.status_code, r.json()["code"]) == (403, "forbidden"), (path, body, r.text)
    assert snapshot(db) == before


def test_hostile_input_to_the_organisation(api: TestClient, db: Session) -> None:
    w = build(db)
    office = bearer(db, "street", STREET, "街道办")
    before = snapshot(db)
    for method, path, body in (
        (
            "POST",
            "/party-orgs",
            {"kind": "branch", "name": "x" * 100_000, "community_code": COMMUNITY},
        ),
        ("POST", "/party-orgs", {"kind": "cell", "name": "某", "community_code": COMMUNITY}),
        (
            "POST",
            "/party-orgs",
            {"kind": "committee", "name": "某\x00", "community_code": COMMUNITY},
        ),
        (
            "POST",
            "/party-orgs",
            {"kind": "committee", "name": "某", "community_code": "1' OR '1'='1"},
        ),
        (
            "POST",
            "/party-orgs",
            {"kind": "committee", "name": "某", "community_code": 110108010001},
        ),
        (
            "POST",
            "/party-orgs",
            {
                "kind": "branch",
                "name": "某",
                "community_code": COMMUNITY,
                "parent_id": "1; DROP TABLE party_org",
            },
        ),
        (
            "POST",
            "/party-orgs",
            {
                "kind": "branch",
                "name": "某",
                "community_code": COMMUNITY,
                "parent_id": w.committee,
                "grid_codes": [WEST_GRID] * 500,
            },
        ),
        (
            "POST",
            "/party-orgs",
            {
                "kind": "committee",
                "name": "某",
                "community_code": COMMUNITY,
                "secretary_person_id": 2**63,
            },
        ),
        (
            "POST",
            "/party-orgs",
            {
                "kind": "committee",
                "name": "某",
                "community_code": COMMUNITY,
                "secretary": {"name": "某", "phone": "'; --"},
            },
        ),
        (
            "POST",
            "/party-orgs",
            {"kind": "committee", "name": "某", "community_code": COMMUNITY, "extra": True},
        ),
        ("PATCH", f"/party-orgs/{w.group}", {"parent_id": w.group}),
        ("PATCH", f"/party-orgs/{w.west}", {"grid_codes": None}),
        ("PATCH", "/party-orgs/99999999", {"name": "某"}),
        ("PATCH", "/party-orgs/abc", {"name": "某"}),
        ("DELETE", "/party-orgs/-1", None),
        ("POST", "/party-members", {"person": {"name": "某"}, "org_id": "NaN"}),
        ("POST", "/party-members", {"person": "某", "org_id": w.west}),
        (
            "POST",
            "/party-members",
            {"person": {"name": "某"}, "org_id": w.west, "in_service": "maybe"},
        ),
        ("POST", f"/party-members/{w.member}/register", {"community_code": "11010801000"}),
        ("POST", f"/party-members/{w.member}/register", {"community_code": "110108010077"}),
        ("POST", "/party-members/99999999/register", {"community_code": COMMUNITY}),
        ("PATCH", f"/party-members/{w.member}", {"org_id": None}),
        ("PATCH", f"/party-members/{w.member}", {"person": {"name": ""}}),
    ):
        r = api.request(method, API + path, headers=office, json=body)
        assert r.status_code in (404, 409, 413, 422), (path, body, r.status_code, r.text)
    r = api.post(
        f"{API}/party-orgs",
        headers={**office, "Content-Type": "application/json"},
        content='{"kind": "branch", "name": "某", "community_code": "110108010001", '
        '"parent_id": NaN}',
    )
    assert r.status_code == 422
    assert api.get(f"{API}/party-orgs/tree", params={"community": "1101080100"}).status_code == 422
    assert (
        api.get(f"{API}/party-orgs/tree", params={"community": "110108010077"}).status_code == 404
    )
    assert api.get(f"{API}/grids/not-a-grid/org").status_code == 422
    assert api.get(f"{API}/party-members", params={"org": "x"}).status_code == 422
    assert snapshot(db) == before


def test_two_requests_linking_one_grid_to_two_branches(
    settings: Settings, fresh_database: Callable[[str], str]
) -> None:
    """Two offices at once link the east grid to a new branch each, on a committed database of
    its own, round after round: one 201, one 409 ``grid_has_branch``, never a 500; the grid has
    one branch after each round."""
    url = fresh_database("gridmap_test_org_race")
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as setup, setup.begin():
        two_grids(setup)
        committee = add_org(setup, "committee", "C-RACE", "竞争大党委", COMMUNITY)
        office = bearer(setup)
    s = settings.model_copy(deep=True)
    s.db.embedded_db = "gridmap_test_org_race"
    try:
        with TestClient(create_app(s)) as client:
            for round_ in range(5):
                barrier = threading.Barrier(2)
                answers: list[Any] = []

                def link(
                    name: str,
                    barrier: threading.Barrier = barrier,
                    answers: list[Any] = answers,
                ) -> None:
                    barrier.wait()
                    answers.append(
                        client.post(
                            f"{API}/party-orgs",
                            headers=office,
                            json={
                                "kind": "branch",
                                "name": name,
                                "parent_id": committee,
                                "community_code": COMMUNITY,
                                "grid_codes": [EAST_GRID],
                            },
                        )
                    )

                threads = [
                    threading.Thread(target=link, args=(f"{n}支部{round_}",)) for n in "甲乙"
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                statuses = sorted(r.status_code for r in answers)
                assert statuses == [201, 409], [r.text for r in answers]
                lost = next(r for r in answers if r.status_code == 409).json()
                won = next(r for r in answers if r.status_code == 201).json()
                assert lost["code"] == "grid_has_branch" and lost["branch"]["id"] == won["id"]
                with Session(engine) as check:
                    held = check.execute(
                        text("SELECT org_id FROM party_org_grid WHERE grid_code = :g"),
                        {"g": EAST_GRID},
                    ).scalars()
                    assert list(held) == [won["id"]]
                    n = check.execute(text("SELECT count(*) FROM party_org WHERE kind = 'branch'"))
                    assert n.scalar() == 1
                assert (
                    client.delete(f"{API}/party-orgs/{won['id']}", headers=office).status_code
                    == 204
                )
    finally:
        engine.dispose()


def test_a_group_keeps_to_its_branchs_grids(api: TestClient, db: Session) -> None:
    """A group's buildings lie in the grids of the branch it sits under (422
    ``group_outside_branch``), for an office and for an organisation's token whose area reaches
    past that branch (the committee's, or a branch whose grids a stray group once widened)."""
    w = build(db)
    east_building = add_building(db, "BE-01", EAST_GRID, offset(300, -30), 1)
    stray = add_building(db, "BE-02", EAST_GRID, offset(350, -60), 1)
    db.flush()
    office = bearer(db, "street", STREET, "街道办")
    committee = branch_bearer(db, w.committee)
    new_group = {
        "kind": "group",
        "name": "东楼党小组",
        "parent_id": w.west,
        "community_code": COMMUNITY,
        "building_ids": [east_building],
    }
    before = snapshot(db)
    for headers in (office, committee):
        for method, path, body in (
            ("POST", "/party-orgs", new_group),
            ("PATCH", f"/party-orgs/{w.group}", {"building_ids": [east_building]}),
        ):
            r = api.request(method, API + path, headers=headers, json=body)
            assert (r.status_code, r.json()["code"]) == (422, "group_outside_branch"), r.text
            assert r.json()["buildings"] == [east_building]
    # Moving a group under a branch whose grids do not hold its buildings.
    r = api.patch(f"{API}/party-orgs/{w.group}", headers=office, json={"parent_id": w.east})
    assert (r.status_code, r.json()["code"]) == (422, "group_outside_branch"), r.text
    assert snapshot(db) == before
    # A west group already holding an east building (data from before this rule) widens the
    # west token's grids to the east one; still no new group of the west branch there.
    add_org(db, "group", "G-STRAY", "旧党小组", COMMUNITY, parent=w.west, buildings=(stray,))
    db.flush()
    west = branch_bearer(db, w.west)
    before = snapshot(db)
    r = api.post(f"{API}/party-orgs", headers=west, json=new_group)
    assert (r.status_code, r.json()["code"]) == (422, "group_outside_branch"), r.text
    assert snapshot(db) == before
    # In its branch's grids it is made, by the office and by the branch.
    r = api.post(
        f"{API}/party-orgs", headers=west, json={**new_group, "building_ids": [w.building]}
    )
    assert r.status_code == 201, r.text
    assert r.json()["building_ids"] == [w.building]
