"""The organisation's checks: each warning fires on built data and clears once put right; and
what a redraw left behind is listed and reassigned, all or nothing."""

from __future__ import annotations

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
    bearer,
    square,
    two_grids,
)
from tests.utils.homes import add_building
from tests.utils.org import add_org
from tests.utils.walks import staff_token

API = "/api/v1"
NEW_GRID = COMMUNITY + "003"


def _checks(client: TestClient, region: str = COMMUNITY) -> list[dict[str, Any]]:
    r = client.get(f"{API}/org/checks", params={"region": region})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "FeatureCollection"
    assert sum(body["counts"].values()) == body["numberReturned"] == len(body["features"])
    return [f["properties"] for f in body["features"]]


def _fired(client: TestClient, check: str, region: str = COMMUNITY) -> list[dict[str, Any]]:
    return [p for p in _checks(client, region) if p["check"] == check]


@pytest.fixture
def limits(client: TestClient) -> Any:
    """This test app's own copy of the API settings, to change thresholds in."""
    app = client.app
    app.state.settings = app.state.settings.model_copy(deep=True)  # type: ignore[attr-defined]
    return app.state.settings.api  # type: ignore[attr-defined]


def test_teams_and_branches(client: TestClient, db: Session) -> None:
    two_grids(db)
    assert [p["grid_code"] for p in _fired(client, "grid_no_leader")] == [EAST_GRID]
    assert [p["grid_code"] for p in _fired(client, "grid_no_worker")] == [EAST_GRID]
    assert [p["grid_code"] for p in _fired(client, "grid_no_branch")] == [WEST_GRID, EAST_GRID]
    features = client.get(f"{API}/org/checks", params={"region": COMMUNITY}).json()["features"]
    east = next(f for f in features if f["properties"]["check"] == "grid_no_leader")
    assert east["geometry"]["type"] == "MultiPolygon"
    assert east["properties"]["community_code"] == COMMUNITY
    office = bearer(db)
    for role in ("leader", "worker"):
        r = client.post(
            f"{API}/grids/{EAST_GRID}/team",
            headers=office,
            json={"person": {"name": "钱东", "phone": "13700003333"}, "role": role},
        )
        assert r.status_code == 201
    assert _fired(client, "grid_no_leader") == _fired(client, "grid_no_worker") == []
    committee = add_org(db, "committee", "C1", "测试社区大党委", COMMUNITY)
    add_org(db, "branch", "B1", "测试网格党支部", COMMUNITY, parent=committee, grids=(WEST_GRID,))
    assert [p["grid_code"] for p in _fired(client, "grid_no_branch")] == [EAST_GRID]
    add_org(db, "branch", "B2", "东网格党支部", COMMUNITY, parent=committee, grids=(EAST_GRID,))
    assert _fired(client, "grid_no_branch") == []
    # Another region's checks do not list these grids.
    assert _checks(client, "110108020") == []


def test_a_leader_of_too_many_grids(client: TestClient, db: Session, limits: Any) -> None:
    two_grids(db)
    leader = db.execute(text("SELECT person_id FROM grid_staff WHERE role = 'leader'")).scalar()
    assert _fired(client, "leader_too_many_grids") == []
    db.execute(
        text("INSERT INTO grid_staff (grid_code, role, person_id) VALUES (:g, 'leader', :p)"),
        {"g": EAST_GRID, "p": leader},
    )
    assert _fired(client, "leader_too_many_grids") == []  # two grids, at most three
    limits.leader_max_grids = 1
    fired = _fired(client, "leader_too_many_grids")
    assert sorted(p["grid_code"] for p in fired) == [WEST_GRID, EAST_GRID]
    assert {(p["person"], p["n"], p["max"]) for p in fired} == {(leader, 2, 1)}
    # A post on a retired grid does not count as leading it.
    db.execute(
        text("UPDATE grid SET valid_to = clock_timestamp() WHERE code = :c"), {"c": EAST_GRID}
    )
    assert _fired(client, "leader_too_many_grids") == []


def test_households_per_basic_grid(client: TestClient, db: Session, limits: Any) -> None:
    two_grids(db)
    too_few = _fired(client, "grid_too_few_households")
    assert {(p["grid_code"], p["n"], p["min"], p["max"]) for p in too_few} == {
        (WEST_GRID, 0, 300, 500),
        (EAST_GRID, 0, 300, 500),
    }
    # A building's number counts where no household rows are recorded for it.
    db.execute(
        text(
            "INSERT INTO building (code, grid_code, community_code, households, geom) VALUES "
            "('BIG-1', :g, :c, 350, ST_MakeEnvelope(116.341, 40.001, 116.3412, 40.0012, 4326))"
        ),
        {"g": WEST_GRID, "c": COMMUNITY},
    )
    assert [p["grid_code"] for p in _fired(client, "grid_too_few_households")] == [EAST_GRID]
    limits.grid_households_max = 340
    many = _fired(client, "grid_too_many_households")
    assert [(p["grid_code"], p["n"]) for p in many] == [(WEST_GRID, 350)]
    # Recorded households win over the building's number.
    add_building(db, "BE-01", EAST_GRID, (116.347, 40.005), 2)
    db.execute(
        text(
            "INSERT INTO household (building_id, unit, room) "
            "SELECT id, '1', '901' FROM building WHERE code = 'BIG-1'"
        )
    )
    few = {p["grid_code"]: p["n"] for p in _fired(client, "grid_too_few_households")}
    assert few == {WEST_GRID: 1, EAST_GRID: 2}
    # Exclusive grids are not held to it.
    db.execute(
        text("UPDATE grid SET kind = 'exclusive', subtype = 'school' WHERE code = :c"),
        {"c": EAST_GRID},
    )
    assert [p["grid_code"] for p in _fired(client, "grid_too_few_households")] == [WEST_GRID]


def test_buildings_without_a_group(client: TestClient, db: Session) -> None:
    two_grids(db)
    full = add_building(db, "BW-01", WEST_GRID, (116.342, 40.005), 3)
    add_building(db, "BW-00", WEST_GRID, (116.343, 40.006), 0)
    fired = _fired(client, "building_no_group")
    assert [(p["building_id"], p["n"], p["grid_code"]) for p in fired] == [(full, 3, WEST_GRID)]
    features = client.get(f"{API}/org/checks", params={"region": COMMUNITY}).json()["features"]
    point = next(f for f in features if f["properties"]["check"] == "building_no_group")
    assert point["geometry"]["type"] == "Point"
    committee = add_org(db, "committee", "C1", "测试社区大党委", COMMUNITY)
    branch = add_org(
        db, "branch", "B1", "西网格党支部", COMMUNITY, parent=committee, grids=(WEST_GRID,)
    )
    add_org(db, "group", "G1", "一号楼党小组", COMMUNITY, parent=branch, buildings=(full,))
    assert _fired(client, "building_no_group") == []


def _designate(db: Session, building: int, serves: int) -> int:
    ids = [
        int(i)
        for i in db.execute(
            text("SELECT id FROM household WHERE building_id = :b ORDER BY id"), {"b": building}
        ).scalars()
    ]
    head = ids[0]
    db.execute(text("UPDATE household SET designated = true WHERE id = :h"), {"h": head})
    db.execute(text("UPDATE household SET served_by = NULL WHERE served_by = :h"), {"h": head})
    db.execute(
        text("UPDATE household SET served_by = :h WHERE id = ANY(:ids)"),
        {"h": head, "ids": ids[1 : serves + 1]},
    )
    return head


def test_central_households_serving_too_few_or_too_many(client: TestClient, db: Session) -> None:
    two_grids(db)
    building = add_building(db, "BW-01", WEST_GRID, (116.342, 40.005), 30)
    head = _designate(db, building, 9)
    fired = _fired(client, "central_too_few")
    assert [(p["household_id"], p["serves_n"], p["min"], p["max"]) for p in fired] == [
        (head, 9, 10, 20)
    ]
    _designate(db, building, 10)
    assert _fired(client, "central_too_few") == []
    _designate(db, building, 20)
    assert _fired(client, "central_too_many") == []
    _designate(db, building, 21)
    assert [p["serves_n"] for p in _fired(client, "central_too_many")] == [21]


def _redraw(db: Session) -> None:
    """Retire the west grid and draw a new one in its place (…003)."""
    db.execute(
        text("UPDATE grid SET valid_to = clock_timestamp() WHERE code = :c"), {"c": WEST_GRID}
    )
    add_grid(db, NEW_GRID, square(116.34, 40.0, 116.345, 40.01), name="新西网格")
    db.execute(
        text("UPDATE building SET grid_code = :n WHERE grid_code = :o"),
        {"n": NEW_GRID, "o": WEST_GRID},
    )
    db.flush()


def test_staff_of_a_retired_grid_are_offered_and_reassigned(
    client: TestClient, db: Session
) -> None:
    two_grids(db)
    office = bearer(db)
    worker_post = db.execute(
        text("SELECT id, person_id FROM grid_staff WHERE role = 'worker'")
    ).one()
    worker = staff_token(db, int(worker_post.person_id))
    assert _fired(client, "reassign_after_redraw") == []
    _redraw(db)
    fired = _fired(client, "reassign_after_redraw")
    assert {(p["what"], p["grid_code"], p["role"]) for p in fired} == {
        ("staff", WEST_GRID, "leader"),
        ("staff", WEST_GRID, "worker"),
    }
    pending = client.get(f"{API}/grids/{WEST_GRID}/reassign", headers=office).json()
    assert pending["current"] is False and pending["households"] == []
    assert [s["role"] for s in pending["staff"]] == ["leader", "worker"]
    assert pending["staff"][0]["name"] == "王晓明"
    target = pending["staff"][0]["suggested"][0]
    assert target["grid_code"] == NEW_GRID and target["share"] == pytest.approx(1.0, abs=1e-3)
    # Anonymous callers see the posts masked.
    masked = client.get(f"{API}/grids/{WEST_GRID}/reassign").json()["staff"]
    assert all(s["masked"] and s["name"] is None for s in masked)
    # The worker's token acts in no grid until the post is moved.
    report = {"x": 116.342, "y": 40.005, "category": "市容环境/暴露垃圾"}
    assert client.post(f"{API}/incidents", headers=worker, json=report).status_code == 403
    ids = [s["id"] for s in pending["staff"]]
    before = _rows(db)
    for body, status, code in (
        (
            {
                "staff": [
                    {"id": ids[0], "grid_code": NEW_GRID},
                    {"id": ids[0], "grid_code": NEW_GRID},
                ]
            },
            422,
            "invalid_input",
        ),
        (
            {
                "staff": [
                    {"id": ids[0], "grid_code": NEW_GRID},
                    {"id": ids[1], "grid_code": COMMUNITY + "777"},
                ]
            },
            404,
            "grid_not_found",
        ),
        (
            {
                "staff": [
                    {"id": ids[0], "grid_code": NEW_GRID},
                    {"id": 987654, "grid_code": NEW_GRID},
                ]
            },
            404,
            "staff_not_found",
        ),
        ({}, 422, None),
        ({"staff": [], "households": []}, 422, None),
    ):
        r = client.post(f"{API}/grids/{WEST_GRID}/reassign", headers=office, json=body)
        assert r.status_code == status, (body, r.text)
        if code:
            assert r.json()["code"] == code
    # A post not left on this retired grid is not pending here.
    r = client.post(
        f"{API}/grids/{NEW_GRID}/reassign",
        headers=office,
        json={"staff": [{"id": ids[0], "grid_code": EAST_GRID}]},
    )
    assert (r.status_code, r.json()["code"]) == (409, "reassign_not_pending")
    assert _rows(db) == before
    done = client.post(
        f"{API}/grids/{WEST_GRID}/reassign",
        headers=office,
        json={"staff": [{"id": i, "grid_code": NEW_GRID} for i in ids]},
    )
    assert done.status_code == 200, done.text
    assert [s["grid_code"] for s in done.json()["staff"]] == [NEW_GRID, NEW_GRID]
    assert _fired(client, "reassign_after_redraw") == []
    assert client.post(f"{API}/incidents", headers=worker, json=report).status_code == 201
    actions = db.execute(
        text("SELECT count(*) FROM audit_log WHERE action = 'reassign' AND entity = 'grid_staff'")
    ).scalar_one()
    assert actions == 2


def _rows(db: Session) -> tuple[Any, ...]:
    return (
        db.execute(text("SELECT id, grid_code FROM grid_staff ORDER BY id")).all(),
        db.execute(text("SELECT id, group_id FROM household ORDER BY id")).all(),
        db.execute(text("SELECT count(*) FROM audit_log")).scalar_one(),
    )


def test_designated_households_outside_their_groups_branch(client: TestClient, db: Session) -> None:
    two_grids(db)
    other = STREET + "002"
    add_region(db, other, "community", "邻社区", STREET, square(116.35, 40.0, 116.36, 40.01))
    office = bearer(db)
    building = add_building(db, "BW-01", WEST_GRID, (116.342, 40.005), 12)
    spare = add_building(db, "BW-02", WEST_GRID, (116.343, 40.006), 1)
    head = _designate(db, building, 11)
    committee = add_org(db, "committee", "C1", "测试社区大党委", COMMUNITY)
    east = add_org(
        db, "branch", "B1", "东网格党支部", COMMUNITY, parent=committee, grids=(EAST_GRID,)
    )
    west = add_org(
        db, "branch", "B2", "西网格党支部", COMMUNITY, parent=committee, grids=(WEST_GRID,)
    )
    stray = add_org(db, "group", "G1", "东小组", COMMUNITY, parent=east, buildings=(building,))
    fitting = add_org(db, "group", "G2", "西小组", COMMUNITY, parent=west, buildings=(spare,))
    db.execute(text("UPDATE household SET group_id = :g WHERE id = :h"), {"g": fitting, "h": head})
    assert _fired(client, "reassign_after_redraw") == []
    db.execute(text("UPDATE household SET group_id = :g WHERE id = :h"), {"g": stray, "h": head})
    fired = _fired(client, "reassign_after_redraw")
    assert [(p["what"], p["household_id"], p["group_id"], p["grid_code"]) for p in fired] == [
        ("household", head, stray, WEST_GRID)
    ]
    pending = client.get(f"{API}/grids/{WEST_GRID}/reassign", headers=office).json()
    assert pending["current"] is True and pending["staff"] == []
    [household] = pending["households"]
    assert household["id"] == head and household["group_id"] == stray
    # No group of the west branch holds its building yet: nothing to suggest.
    assert household["suggested"] is None
    assert household["branch"] == {"id": west, "name": "西网格党支部"}
    before = _rows(db)
    for group, status, code in (
        (stray, 422, "household_outside_group"),
        # A group of the right branch whose buildings do not hold the household's.
        (fitting, 422, "household_outside_group"),
        (west, 422, "invalid_input"),
    ):
        r = client.post(
            f"{API}/grids/{WEST_GRID}/reassign",
            headers=office,
            json={"households": [{"id": head, "group_id": group}]},
        )
        assert (r.status_code, r.json()["code"]) == (status, code), (group, r.text)
    assert _rows(db) == before
    # The building's group under the west branch: suggested, and taken.
    db.execute(text("DELETE FROM party_org_building WHERE building_id = :b"), {"b": building})
    holder = add_org(
        db, "group", "G3", "西1号楼小组", COMMUNITY, parent=west, buildings=(building,)
    )
    pending = client.get(f"{API}/grids/{WEST_GRID}/reassign", headers=office).json()
    assert pending["households"][0]["suggested"] == {"id": holder, "name": "西1号楼小组"}
    served = db.execute(
        text("SELECT id FROM household WHERE served_by = :h LIMIT 1"), {"h": head}
    ).scalar_one()
    not_astray = client.post(
        f"{API}/grids/{WEST_GRID}/reassign",
        headers=office,
        json={"households": [{"id": head, "group_id": holder}, {"id": served, "group_id": holder}]},
    )
    assert (not_astray.status_code, not_astray.json()["code"]) == (409, "reassign_not_pending")
    elsewhere = bearer(db, "community", other, "邻社区办")
    foreign = client.post(
        f"{API}/grids/{WEST_GRID}/reassign",
        headers=elsewhere,
        json={"households": [{"id": head, "group_id": holder}]},
    )
    assert foreign.status_code == 403
    assert _rows(db) == before
    done = client.post(
        f"{API}/grids/{WEST_GRID}/reassign",
        headers=office,
        json={"households": [{"id": head, "group_id": holder}]},
    )
    assert done.status_code == 200, done.text
    assert done.json()["households"] == [{"id": head, "group_id": holder}]
    assert _fired(client, "reassign_after_redraw") == []
    audit = db.execute(
        text(
            "SELECT before, after FROM audit_log WHERE entity = 'household' AND action = 'reassign'"
        )
    ).one()
    assert (audit.before, audit.after) == ({"group_id": stray}, {"group_id": holder})


def test_region_and_hostile_parameters(client: TestClient, db: Session) -> None:
    two_grids(db)
    assert len(_checks(client, STREET)) == len(_checks(client, COMMUNITY)) > 0
    assert len(client.get(f"{API}/org/checks").json()["features"]) == len(_checks(client))
    for region in ("1101", "abc", "110108010' OR '1'='1", "9" * 500, "NaN", WEST_GRID):
        r = client.get(f"{API}/org/checks", params={"region": region})
        assert r.status_code == 422, region
        assert r.json()["code"]
    for code in ("x", "1" * 16, "NaN"):
        r = client.get(f"{API}/grids/{code}/reassign")
        assert r.status_code == 422
    unknown = client.get(f"{API}/grids/{COMMUNITY}999/reassign")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "grid_not_found")
