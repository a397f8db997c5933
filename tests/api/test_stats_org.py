"""The organisation's figures per community and street, against hand counts on built data."""

from __future__ import annotations

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
    square,
    two_grids,
)
from tests.utils.homes import add_building
from tests.utils.org import add_member, add_org

API = "/api/v1"
OTHER = STREET + "002"


def _built(db: Session) -> None:
    """Two communities of one street: the test community (two grids, one with a branch; three
    buildings with households, one of them with a group; a designated household serving 4; three
    members, one in service registered here) and a neighbour with one grid and a member
    registered there from the test community's committee."""
    two_grids(db)
    area = square(116.35, 40.0, 116.36, 40.01)
    add_region(db, OTHER, "community", "邻社区", STREET, area)
    add_grid(db, OTHER + "001", area, name="邻网格")
    b1 = add_building(db, "BW-01", WEST_GRID, (116.342, 40.005), 6)
    add_building(db, "BW-02", WEST_GRID, (116.343, 40.006), 2)
    add_building(db, "BE-01", EAST_GRID, (116.347, 40.005), 1)
    add_building(db, "BE-00", EAST_GRID, (116.348, 40.004), 0)
    committee = add_org(db, "committee", "C1", "测试社区大党委", COMMUNITY)
    branch = add_org(
        db, "branch", "B1", "西网格党支部", COMMUNITY, parent=committee, grids=(WEST_GRID,)
    )
    group = add_org(db, "group", "G1", "一号楼党小组", COMMUNITY, parent=branch, buildings=(b1,))
    ids = list(
        db.execute(
            text("SELECT id FROM household WHERE building_id = :b ORDER BY id"), {"b": b1}
        ).scalars()
    )
    db.execute(
        text("UPDATE household SET designated = true, group_id = :g WHERE id = :h"),
        {"g": group, "h": ids[0]},
    )
    db.execute(
        text("UPDATE household SET served_by = :h WHERE id = ANY(:ids)"),
        {"h": ids[0], "ids": ids[1:5]},
    )
    add_member(db, "党员甲", org=group, hours=3.5)
    add_member(db, "党员乙", org=branch, hours=1)
    add_member(db, "在职丙", registered=COMMUNITY, in_service=True, employer="某单位", hours=2)
    add_member(db, "在职丁", org=committee, registered=OTHER, in_service=True, hours=10)
    db.flush()


def test_figures_per_community_match_hand_counts(client: TestClient, db: Session) -> None:
    _built(db)
    r = client.get(f"{API}/stats/org", params={"region": STREET, "group": "community"})
    assert r.status_code == 200, r.text
    rows = {row["code"]: row for row in r.json()["rows"]}
    assert list(rows) == [COMMUNITY, OTHER]
    assert rows[COMMUNITY] == {
        "code": COMMUNITY,
        "name": "测试社区",
        "grids": 2,
        "grids_with_branch": 1,
        "branches": 1,
        "buildings_with_households": 3,
        "buildings_with_group": 1,
        "group_share": round(1 / 3, 4),
        "central_households": 1,
        "households_served": 4,
        "members": 4,
        "in_service_registered": 1,
        "hours_served": 16.5,
    }
    assert rows[OTHER] == {
        "code": OTHER,
        "name": "邻社区",
        "grids": 1,
        "grids_with_branch": 0,
        "branches": 0,
        "buildings_with_households": 0,
        "buildings_with_group": 0,
        "group_share": None,
        "central_households": 0,
        "households_served": 0,
        "members": 1,
        "in_service_registered": 1,
        "hours_served": 10.0,
    }


def test_figures_per_street_count_each_member_once(client: TestClient, db: Session) -> None:
    _built(db)
    r = client.get(f"{API}/stats/org", params={"region": STREET, "group": "street"})
    [street] = r.json()["rows"]
    assert street["code"] == STREET
    assert (street["grids"], street["grids_with_branch"], street["members"]) == (3, 1, 4)
    assert (street["in_service_registered"], street["hours_served"]) == (2, 16.5)
    # A community asked for by street: the street's row, counting only that community.
    r = client.get(f"{API}/stats/org", params={"region": OTHER, "group": "street"})
    [street] = r.json()["rows"]
    assert (street["grids"], street["members"], street["hours_served"]) == (1, 1, 10.0)


def test_hostile_parameters(client: TestClient, db: Session) -> None:
    _built(db)
    for params in (
        {"region": "x"},
        {"region": "1101080100019999"},
        {"region": "110108' OR 1=1 --"},
        {"group": "grid"},
        {"group": "community' --"},
        {"region": "9" * 1000},
    ):
        r = client.get(f"{API}/stats/org", params=params)
        assert r.status_code == 422, params
        assert r.json()["code"]
    assert client.get(f"{API}/stats/org", params={"region": "110108020"}).json()["rows"] == []
