"""Masks everywhere: a viewer, an anonymous caller, a department, a member and the branch of
another grid read every GET endpoint (organisations, the tree, grid panels, members, units,
lookup, lists, households, /me, exports and tiles of every layer) and no answer holds a
member's, secretary's or unit contact's name or phone, but for a member's own."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import COMMUNITY, EAST_GRID, STREET, WEST_GRID, bearer, two_grids
from tests.utils.flow import add_department
from tests.utils.homes import add_building
from tests.utils.network import offset
from tests.utils.org import (
    add_member,
    add_org,
    add_person,
    add_unit,
    branch_bearer,
    member_bearer,
)
from tests.utils.org_client import atomic_client

from gridmap.auth import Holder, create_token
from gridmap.settings import Settings

API = "/api/v1"
# Generated people of the west side, each with a name and phone found nowhere else.
WEST_PEOPLE = {
    "西支部书记": ("测试书记西甲", "13811110001"),
    "西小组书记": ("测试书记西乙", "13811110002"),
    "西党员": ("测试党员西丙", "13811110003"),
    "西在职党员": ("测试党员西丁", "13811110004"),
    "西单位联系人": ("测试联系西戊", "13811110005"),
}
COMMITTEE_SECRETARY = ("测试书记总己", "13811110006")
EAST_MEMBER = ("测试党员东庚", "13811110007")


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
    household: int


def build(db: Session) -> World:
    two_grids(db)
    people = {k: add_person(db, *v) for k, v in WEST_PEOPLE.items() if "党员" not in k}
    chief = add_person(db, *COMMITTEE_SECRETARY)
    committee = add_org(db, "committee", "C-M", "测试大党委", COMMUNITY, secretary=chief)
    west = add_org(
        db,
        "branch",
        "B-MW",
        "西支部",
        COMMUNITY,
        parent=committee,
        grids=(WEST_GRID,),
        secretary=people["西支部书记"],
    )
    east = add_org(db, "branch", "B-ME", "东支部", COMMUNITY, parent=committee, grids=(EAST_GRID,))
    building = add_building(db, "BW-01", WEST_GRID, offset(-300, 20), 2)
    add_building(db, "BE-01", EAST_GRID, offset(300, -30), 2)
    group = add_org(
        db,
        "group",
        "G-MW",
        "西1号楼党小组",
        COMMUNITY,
        parent=west,
        buildings=(building,),
        secretary=people["西小组书记"],
    )
    member = add_member(db, *WEST_PEOPLE["西党员"], org=group)
    add_member(
        db,
        *WEST_PEOPLE["西在职党员"],
        org=west,
        registered=COMMUNITY,
        in_service=True,
        employer="某研究院(生成)",
    )
    add_member(db, *EAST_MEMBER, org=east)
    name, phone = WEST_PEOPLE["西单位联系人"]
    unit = add_unit(
        db,
        "U-M",
        "某科技公司(生成)",
        116.342,
        40.005,
        committee=committee,
        contact_name=name,
        contact_phone=phone,
    )
    household = int(
        db.execute(
            text("SELECT id FROM household WHERE building_id = :b ORDER BY id LIMIT 1"),
            {"b": building},
        ).scalar_one()
    )
    db.execute(
        text("UPDATE household SET designated = true, group_id = :g WHERE id = :h"),
        {"g": group, "h": household},
    )
    db.execute(
        text(
            "INSERT INTO list_item (code, list, category, title, owner_kind, status, grid_code, "
            "member_id, taken_by, taken_at, geom) VALUES ('L-M', 'need', '助老服务', '代买药品', "
            "'resident', 'in_progress', :g, :m, 'member', now(), "
            "ST_SetSRID(ST_MakePoint(116.342, 40.005), 4326))"
        ),
        {"g": WEST_GRID, "m": member},
    )
    add_department(db, "cgzf", "城管执法队", "城管执法", STREET)
    db.flush()
    return World(committee, west, east, group, member, unit, household)


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def reads(w: World) -> list[str]:
    """Every GET a map, a list or a GIS tool makes of this world."""
    paths = [
        "/party-orgs",
        f"/party-orgs?community={COMMUNITY}",
        f"/party-orgs/tree?community={COMMUNITY}",
        f"/grids/{WEST_GRID}/org",
        f"/grids/{EAST_GRID}/org",
        "/party-members",
        f"/party-members?org={w.committee}",
        f"/party-members?community={COMMUNITY}&in_service=true",
        f"/party-members/{w.member}",
        "/resident-units",
        f"/resident-units/{w.unit}",
        "/lookup?lon=116.342&lat=40.005",
        "/lookup?lon=116.348&lat=40.005",
        "/lists",
        "/households",
        f"/households/{w.household}",
        f"/grids/{WEST_GRID}",
        "/grids",
    ]
    paths += [f"/party-orgs/{i}" for i in (w.committee, w.west, w.east, w.group)]
    paths += [f"/export/{layer}?format=geojson" for layer in ("grids", "regions", "buildings")]
    return [API + p for p in paths]


def tiles() -> list[str]:
    out = []
    for z in (14, 16):
        x, y = _tile_of(116.342, 40.005, z)
        out += [
            f"/tiles/{layer}/{z}/{x}/{y}.mvt"
            for layer in ("buildings", "grids", "incidents", "roads")
        ]
    return out


def _all_text(api: TestClient, w: World, headers: dict[str, str]) -> str:
    """What the caller is sent by every read, as one text (tiles decoded)."""
    parts: list[str] = []
    for path in reads(w):
        r = api.get(path, headers=headers)
        assert r.status_code == 200, (path, r.text)
        parts.append(r.text)
    for path in tiles():
        r = api.get(path, headers=headers)
        assert r.status_code in (200, 204), (path, r.status_code)
        if r.content:
            parts.append(json.dumps(mapbox_vector_tile.decode(r.content), ensure_ascii=False))
    me = api.get(f"{API}/me", headers=headers)
    parts.append(me.text)
    return "\n".join(parts)


def _secrets(*people: tuple[str, str]) -> list[str]:
    return [s for person in people for s in person]


def _callers(db: Session, w: World) -> dict[str, dict[str, str]]:
    dept, _ = create_token(db, holder=Holder("department", department="cgzf"))
    return {
        "anonymous": {},
        "viewer": bearer(db, "viewer", COMMUNITY, "查看者"),
        "department": {"Authorization": f"Bearer {dept}"},
        "the east branch": branch_bearer(db, w.east),
        "a member": member_bearer(db, w.member),
    }


@pytest.mark.parametrize(
    "caller", ["anonymous", "viewer", "department", "the east branch", "a member"]
)
def test_no_answer_holds_a_name_or_phone_the_caller_may_not_see(
    api: TestClient, db: Session, caller: str
) -> None:
    w = build(db)
    headers = _callers(db, w)[caller]
    db.flush()
    seen = _all_text(api, w, headers)
    # The answers were read: the organisation, the member and the unit are all in them.
    for there in ("西支部", "西1号楼党小组", "某科技公司(生成)", "某研究院(生成)", WEST_GRID):
        assert there in seen, there
    # The committee's secretary stays masked for a branch under it too.
    hidden = dict(WEST_PEOPLE) | {"大党委书记": COMMITTEE_SECRETARY}
    if caller != "the east branch":
        hidden |= {"东党员": EAST_MEMBER}
    if caller == "a member":
        own = hidden.pop("西党员")
        assert own[0] in seen  # a member sees their own name
    for secret in _secrets(*hidden.values()):
        assert secret not in seen, (caller, secret)
    assert '"masked":true' in seen.replace(" ", "")


def test_who_may_see_does_see(api: TestClient, db: Session) -> None:
    """The west branch and the community office see the west side's names (so the test above
    looks for what is really in the answers)."""
    w = build(db)
    west = branch_bearer(db, w.west)
    office = bearer(db)
    db.flush()
    for headers in (west, office):
        seen = "\n".join(api.get(p, headers=headers).text for p in reads(w))
        for secret in _secrets(*WEST_PEOPLE.values()):
            assert secret in seen, secret
    # The west branch does not see the east branch's member, nor the committee's secretary.
    seen = "\n".join(api.get(p, headers=west).text for p in reads(w))
    for secret in _secrets(EAST_MEMBER, COMMITTEE_SECRETARY):
        assert secret not in seen, secret


def test_a_branch_sees_its_own_people_not_the_committees(api: TestClient, db: Session) -> None:
    """The committee's area holds the west grid, yet for the west branch's token the
    committee's secretary and members stay masked; its own and its group's are shown; the
    community office sees all of them."""
    w = build(db)
    chief = ("测试党员总辛", "13811110008")
    at_committee = add_member(db, *chief, org=w.committee)
    west = branch_bearer(db, w.west)
    office = bearer(db)
    db.flush()

    def secretary(headers: dict[str, str], org: int) -> object:
        r = api.get(f"{API}/party-orgs/{org}", headers=headers)
        assert r.status_code == 200, r.text
        return r.json()["secretary"]

    def members(headers: dict[str, str]) -> dict[int, str | None]:
        r = api.get(f"{API}/party-members", params={"org": w.committee}, headers=headers)
        assert r.status_code == 200, r.text
        return {m["id"]: m["name"] for m in r.json()["members"]}

    masked = {"person_id": None, "name": None, "phone": None, "masked": True}
    assert secretary(west, w.committee) == masked
    assert secretary(west, w.west)["name"] == WEST_PEOPLE["西支部书记"][0]  # type: ignore[index]
    assert secretary(west, w.group)["name"] == WEST_PEOPLE["西小组书记"][0]  # type: ignore[index]
    assert secretary(office, w.committee)["name"] == COMMITTEE_SECRETARY[0]  # type: ignore[index]
    seen = members(west)
    assert seen[at_committee] is None and seen[w.member] == WEST_PEOPLE["西党员"][0]
    assert [n for n in seen.values() if n == EAST_MEMBER[0]] == []
    assert members(office)[at_committee] == chief[0]
    tree = api.get(f"{API}/party-orgs/tree", params={"community": COMMUNITY}, headers=west)
    [node] = tree.json()["committees"]
    assert node["secretary"] == masked
    [branch] = [c for c in node["children"] if c["id"] == w.west]
    assert branch["secretary"]["name"] == WEST_PEOPLE["西支部书记"][0]
