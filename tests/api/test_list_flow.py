"""The three lists run by the people they name: assign (支部派单), claim (党员接单), complete, close."""

from __future__ import annotations

from dataclasses import dataclass

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
from tests.utils.org import add_member, add_org, add_unit, branch_bearer, member_bearer

API = "/api/v1"
OTHER = "110108010002"
OTHER_GRID = OTHER + "001"
WEST = (116.342, 40.005)
EAST = (116.348, 40.005)


@dataclass
class World:
    office: dict[str, str]
    west_branch: int
    west: dict[str, str]
    east: dict[str, str]
    member: int
    me: dict[str, str]
    registered: int
    registered_token: dict[str, str]
    stranger: int
    stranger_token: dict[str, str]
    unit: int
    far_unit: int


def world(db: Session) -> World:
    """Two grids of a community, each with a branch; a member of the west branch, an in-service
    member registered with the community, a member of another community; units."""
    two_grids(db)
    add_region(db, OTHER, "community", "邻社区", STREET, square(116.35, 40.0, 116.36, 40.01))
    add_grid(db, OTHER_GRID, square(116.35, 40.0, 116.36, 40.01), name="邻网格")
    committee = add_org(db, "committee", "C-T1", "测试社区大党委", COMMUNITY)
    west = add_org(
        db, "branch", "B-W", "西网格党支部", COMMUNITY, parent=committee, grids=(WEST_GRID,)
    )
    east = add_org(
        db, "branch", "B-E", "东网格党支部", COMMUNITY, parent=committee, grids=(EAST_GRID,)
    )
    other = add_org(db, "committee", "C-O", "邻社区大党委", OTHER)
    member = add_member(db, "钱多多", "13622223333", org=west)
    registered = add_member(
        db, "孙在职", "13633334444", registered=COMMUNITY, in_service=True, employer="某研究所"
    )
    stranger = add_member(db, "周远方", "13644445555", org=other)
    unit = add_unit(db, "U-1", "某科技公司", *EAST)
    far_unit = add_unit(db, "U-2", "邻社区医院", 116.355, 40.005, kind="hospital")
    return World(
        office=bearer(db, "community", COMMUNITY),
        west_branch=west,
        west=branch_bearer(db, west),
        east=branch_bearer(db, east),
        member=member,
        me=member_bearer(db, member),
        registered=registered,
        registered_token=member_bearer(db, registered),
        stranger=stranger,
        stranger_token=member_bearer(db, stranger),
        unit=unit,
        far_unit=far_unit,
    )


def need(client: TestClient, w: World, at: tuple[float, float] = WEST, **extra: object) -> int:
    body = {
        "list": "need",
        "category": "助老服务",
        "title": "陪老人就医",
        "owner_kind": "resident",
        "contact_name": "赵桂兰",
        "contact_phone": "13911112222",
        "x": at[0],
        "y": at[1],
        **extra,
    }
    r = client.post(f"{API}/lists", json=body, headers=w.office)
    assert r.status_code == 201, r.text
    return int(r.json()["properties"]["id"])


def row(db: Session, item: int) -> object:
    return db.execute(text("SELECT * FROM list_item WHERE id = :i"), {"i": item}).one()


def steps(db: Session, item: int) -> list[str]:
    code = db.execute(text("SELECT code FROM list_item WHERE id = :i"), {"i": item}).scalar_one()
    return list(
        db.execute(
            text(
                "SELECT action FROM audit_log WHERE entity = 'list_item' AND entity_key = :c ORDER BY id"
            ),
            {"c": code},
        ).scalars()
    )


def hours_of(db: Session, member: int) -> float:
    return float(
        db.execute(
            text("SELECT hours_served FROM party_member WHERE id = :m"), {"m": member}
        ).scalar_one()
    )


def test_a_need_runs_from_order_to_close(client: TestClient, db: Session) -> None:
    w = world(db)
    item = need(client, w)
    r0 = row(db, item)
    assert r0.source == "office" and r0.org_id == w.west_branch
    # The west branch assigns it to its member.
    r = client.post(
        f"{API}/lists/{item}/assign", json={"member_id": w.member, "note": "请跟进"}, headers=w.west
    )
    assert r.status_code == 200, r.text
    p = r.json()["properties"]
    assert p["status"] == "assigned" and p["assignee_kind"] == "member"
    assert p["member"] == {"id": w.member, "name": "钱多多"}  # the branch sees its member
    a = row(db, item)
    assert a.assigned_at is not None and "西网格党支部" in a.assigned_by
    # The member takes it on.
    r = client.post(f"{API}/lists/{item}/claim", headers=w.me)
    assert r.status_code == 200, r.text
    p = r.json()["properties"]
    assert p["status"] == "in_progress" and p["member"]["name"] == "钱多多" and p["taken_at"]
    # A viewer sees the member's family name only, no report, a masked contact.
    mine = client.get(f"{API}/lists?mine=true", headers=w.me).json()
    assert [f["properties"]["id"] for f in mine["features"]] == [item]
    r = client.post(
        f"{API}/lists/{item}/complete",
        json={"report": "已陪同赵桂兰到校医院", "hours": 2.5},
        headers=w.me,
    )
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["status"] == "done"
    assert hours_of(db, w.member) == 2.5
    seen = client.get(f"{API}/lists/{item}").json()["properties"]
    assert seen["member"] == {"id": w.member, "name": "钱**"}
    assert seen["report"] is None and seen["contact_name"] == "赵**"
    assert (
        client.get(f"{API}/lists/{item}", headers=w.west).json()["properties"]["report"]
        == "已陪同赵桂兰到校医院"
    )
    # Another branch sees it masked, as a viewer does.
    assert client.get(f"{API}/lists/{item}", headers=w.east).json()["properties"]["report"] is None
    r = client.post(f"{API}/lists/{item}/close", headers=w.west)
    assert r.status_code == 200 and r.json()["properties"]["status"] == "closed"
    assert steps(db, item) == ["create", "assign", "claim", "complete", "close"]
    hours_audit = db.execute(
        text(
            "SELECT actor, after FROM audit_log WHERE entity = 'party_member' AND entity_key = :m"
        ),
        {"m": str(w.member)},
    ).one()
    assert hours_audit.after["hours_served"] == 2.5


def test_a_member_claims_an_open_wish_directly_and_only_in_their_community(
    client: TestClient, db: Session
) -> None:
    w = world(db)
    wish = need(client, w, at=EAST, wish=True, title="想要一套儿童绘本")
    assert client.get(f"{API}/lists?wish=true").json()["numberMatched"] == 1
    assert client.get(f"{API}/lists?wish=false").json()["numberMatched"] == 0
    # A member of another community may not claim it: 403, nothing written.
    before = steps(db, wish)
    r = client.post(f"{API}/lists/{wish}/claim", headers=w.stranger_token)
    assert r.status_code == 403 and r.json()["code"] == "not_a_member", r.text
    assert row(db, wish).status == "open" and steps(db, wish) == before
    # An in-service member registered with the community may (双报到).
    r = client.post(f"{API}/lists/{wish}/claim", headers=w.registered_token)
    assert r.status_code == 200 and r.json()["properties"]["member"]["name"] == "孙在职"
    # Claiming again is harmless; another member is told it is taken.
    assert client.post(f"{API}/lists/{wish}/claim", headers=w.registered_token).status_code == 200
    r = client.post(f"{API}/lists/{wish}/claim", headers=w.me)
    assert r.status_code == 409 and r.json()["code"] == "list_item_taken"
    # Only the member who took it completes it.
    r = client.post(
        f"{API}/lists/{wish}/complete", json={"report": "送到", "hours": 1}, headers=w.me
    )
    assert r.status_code == 403
    assert steps(db, wish) == ["create", "claim"]


def test_assigning_checks_who_and_where(client: TestClient, db: Session) -> None:
    w = world(db)
    item = need(client, w)
    before = steps(db, item)
    # The east branch is outside the item's grid: 403, nothing written.
    r = client.post(f"{API}/lists/{item}/assign", json={"member_id": w.member}, headers=w.east)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    # Member tokens, viewers, workers and no token may not assign.
    for headers, status in (
        (w.me, 403),
        (bearer(db, "viewer", COMMUNITY), 403),
        (bearer(db, "worker", WEST_GRID), 403),
        ({}, 401),
    ):
        r = client.post(f"{API}/lists/{item}/assign", json={"team": True}, headers=headers)
        assert r.status_code == status, (headers, r.text)
    # A member, a unit of another community, an unknown member: refused in words.
    for body in (
        {"member_id": w.stranger},
        {"unit_id": w.far_unit},
        {"member_id": 999999},
        {"unit_id": 999999},
    ):
        r = client.post(f"{API}/lists/{item}/assign", json=body, headers=w.west)
        assert r.status_code == 422 and r.json()["code"] == "assignee_outside", (body, r.text)
    for raw in (b"{", b"[]", b'{"member_id": NaN}', b'"team"'):
        r = client.post(
            f"{API}/lists/{item}/assign",
            content=raw,
            headers={**w.west, "Content-Type": "application/json"},
        )
        assert r.status_code == 422, raw
    assert steps(db, item) == before and row(db, item).status == "open"
    # The registered member, a unit of the community and the team are fine; the office too.
    r = client.post(f"{API}/lists/{item}/assign", json={"member_id": w.registered}, headers=w.west)
    assert r.status_code == 200
    r = client.post(f"{API}/lists/{item}/assign", json={"unit_id": w.unit}, headers=w.office)
    assert r.status_code == 200 and r.json()["properties"]["assignee_kind"] == "unit"
    assert row(db, item).member_id is None and row(db, item).unit_id == w.unit
    r = client.post(f"{API}/lists/{item}/assign", json={"team": True}, headers=w.west)
    assert r.status_code == 200 and r.json()["properties"]["assignee_kind"] == "team"
    # The team of the west grid did it: the branch reports it done for them.
    r = client.post(
        f"{API}/lists/{item}/complete", json={"report": "网格团队已办", "hours": 3}, headers=w.west
    )
    assert r.status_code == 200 and r.json()["properties"]["status"] == "done"
    assert hours_of(db, w.member) == 0


def test_a_unit_assigned_is_named_to_everyone(client: TestClient, db: Session) -> None:
    w = world(db)
    item = need(client, w, at=EAST)
    assert client.get(f"{API}/lists/{item}").json()["properties"]["unit"] is None
    r = client.post(f"{API}/lists/{item}/assign", json={"unit_id": w.unit}, headers=w.office)
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["unit"] == {"id": w.unit, "name": "某科技公司"}
    # A unit is a public body: its name is not masked, unlike the need's contact.
    for headers in ({}, w.me, w.west, w.office):
        page = client.get(f"{API}/lists?status=assigned", headers=headers).json()
        (p,) = [f["properties"] for f in page["features"] if f["properties"]["id"] == item]
        assert p["unit"] == {"id": w.unit, "name": "某科技公司"}, headers
        assert "unit_name" not in p
    assert client.get(f"{API}/lists/{item}").json()["properties"]["contact_name"] == "赵**"
    # Assigned to a member later: no unit any more.
    r = client.post(f"{API}/lists/{item}/assign", json={"member_id": w.registered}, headers=w.east)
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["unit"] is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"member_id": 1, "team": True},
        {"team": False},
        {"member_id": "x"},
        {"member_id": -1},
        {"member_id": 2**63},
        {"unit_id": 1.5},
        {"team": True, "note": "x" * 501},
        {"team": True, "note": "a\x00b"},
        {"team": True, "extra": 1},
        {"member_id": None},
    ],
)
def test_malformed_assignments_are_refused(
    client: TestClient, db: Session, body: dict[str, object]
) -> None:
    w = world(db)
    item = need(client, w)
    r = client.post(f"{API}/lists/{item}/assign", json=body, headers=w.west)
    assert r.status_code == 422, r.text
    assert steps(db, item) == ["create"]


def test_each_step_from_each_state(client: TestClient, db: Session) -> None:
    w = world(db)
    done_body = {"report": "办好了", "hours": 1}

    def at(state: str) -> int:
        item = need(client, w)
        if state in ("assigned", "in_progress", "done", "closed"):
            assert (
                client.post(
                    f"{API}/lists/{item}/assign", json={"member_id": w.member}, headers=w.west
                ).status_code
                == 200
            )
        if state in ("in_progress", "done", "closed"):
            assert client.post(f"{API}/lists/{item}/claim", headers=w.me).status_code == 200
        if state in ("done", "closed"):
            assert (
                client.post(
                    f"{API}/lists/{item}/complete", json=done_body, headers=w.me
                ).status_code
                == 200
            )
        if state == "closed":
            assert client.post(f"{API}/lists/{item}/close", headers=w.west).status_code == 200
        return item

    allowed = {
        "assign": {"open", "assigned"},
        "claim": {"open", "assigned"},
        "complete": {"in_progress"},
        "close": {"open", "assigned", "done"},
    }
    for state in ("open", "assigned", "in_progress", "done", "closed"):
        for step, ok in allowed.items():
            item = at(state)
            # The branch completes on the member's behalf, whatever the state.
            headers = w.me if step == "claim" else w.west
            body = {"assign": {"member_id": w.member}, "complete": done_body}.get(step, {})
            r = client.post(f"{API}/lists/{item}/{step}", json=body, headers=headers)
            if state in ok:
                assert r.status_code == 200, (state, step, r.text)
            elif step == "claim" and state == "in_progress":
                assert r.status_code == 200  # already the member's: nothing changes
            else:
                assert r.status_code == 409, (state, step, r.text)
                assert r.json()["code"] == "list_wrong_state" and r.json()["status"] == state
                assert row(db, item).status == state


def test_matched_items_and_resources_do_not_run_the_flow(client: TestClient, db: Session) -> None:
    w = world(db)
    resource = need(client, w, list="resource", owner_kind="unit", owner_name="某科技公司")
    for step, body in (("assign", {"team": True}), ("close", {})):
        r = client.post(f"{API}/lists/{resource}/{step}", json=body, headers=w.west)
        assert r.status_code == 422, r.text
    r = client.post(f"{API}/lists/{resource}/claim", headers=w.me)
    assert r.status_code == 422


def test_branch_and_office_complete_on_a_members_behalf(client: TestClient, db: Session) -> None:
    w = world(db)
    item = need(client, w)
    assert client.post(f"{API}/lists/{item}/claim", headers=w.me).status_code == 200
    # The east branch is not the item's: 403, nothing written.
    r = client.post(
        f"{API}/lists/{item}/complete", json={"report": "x", "hours": 1}, headers=w.east
    )
    assert r.status_code == 403
    r = client.post(
        f"{API}/lists/{item}/complete", json={"report": "代为填报", "hours": 4}, headers=w.west
    )
    assert r.status_code == 200
    assert hours_of(db, w.member) == 4
    actor = db.execute(text("SELECT actor FROM audit_log WHERE action = 'complete'")).scalar_one()
    assert "西网格党支部" in actor


@pytest.mark.parametrize(
    "body",
    [
        {"report": "", "hours": 1},
        {"report": "x"},
        {"hours": 1},
        {"report": "x", "hours": -1},
        {"report": "x", "hours": 1001},
        {"report": "x", "hours": "two"},
        {"report": "x" * 2001, "hours": 1},
        {"report": "x\x00", "hours": 1},
        {"report": "x", "hours": 1, "member_id": 3},
    ],
)
def test_malformed_completions_are_refused(
    client: TestClient, db: Session, body: dict[str, object]
) -> None:
    w = world(db)
    item = need(client, w)
    assert client.post(f"{API}/lists/{item}/claim", headers=w.me).status_code == 200
    r = client.post(f"{API}/lists/{item}/complete", json=body, headers=w.me)
    assert r.status_code == 422, r.text
    assert row(db, item).status == "in_progress" and hours_of(db, w.member) == 0


def test_unknown_items_and_tokens(client: TestClient, db: Session) -> None:
    w = world(db)
    for step in ("assign", "claim", "complete", "close"):
        body = {"assign": {"team": True}, "complete": {"report": "x", "hours": 1}}.get(step, {})
        assert client.post(
            f"{API}/lists/999999/{step}", json=body, headers=w.office if step != "claim" else w.me
        ).status_code in (403, 404)
        assert client.post(f"{API}/lists/0/{step}", json=body, headers=w.office).status_code == 422
        assert (
            client.post(f"{API}/lists/abc/{step}", json=body, headers=w.office).status_code == 422
        )
        assert client.post(f"{API}/lists/1/{step}", json=body).status_code == 401
    # An office's token is no member's: it may not claim.
    item = need(client, w)
    r = client.post(f"{API}/lists/{item}/claim", headers=w.office)
    assert r.status_code == 403 and r.json()["code"] == "not_a_member"


def test_lists_filters(client: TestClient, db: Session) -> None:
    w = world(db)
    a = need(client, w)
    b = need(client, w, at=EAST)
    assert client.post(f"{API}/lists/{a}/claim", headers=w.me).status_code == 200
    assert [
        f["properties"]["id"]
        for f in client.get(f"{API}/lists?member={w.member}").json()["features"]
    ] == [a]
    assert [
        f["properties"]["id"]
        for f in client.get(f"{API}/lists?status=in_progress").json()["features"]
    ] == [a]
    assert [
        f["properties"]["id"]
        for f in client.get(f"{API}/lists?mine=true", headers=w.east).json()["features"]
    ] == [b]
    assert client.get(f"{API}/lists?mine=true", headers=w.office).status_code == 422
    assert client.get(f"{API}/lists?mine=true").status_code == 401
    for bad in ("mine=perhaps", "wish=2", "member=-1", "member=abc", "status=lost"):
        assert client.get(f"{API}/lists?{bad}").status_code == 422, bad


def test_project_sheet_on_projects_only(client: TestClient, db: Session) -> None:
    w = world(db)
    n = need(client, w)
    r = client.post(
        f"{API}/lists",
        json={
            "list": "resource",
            "category": "助老服务",
            "title": "助老志愿者",
            "owner_kind": "unit",
            "owner_name": "某科技公司",
            "x": WEST[0],
            "y": WEST[1],
            "service_standard": "每周一次",
        },
        headers=w.office,
    )
    assert r.status_code == 422 and r.json()["code"] == "sheet_on_project_only"
    res = need(
        client, w, list="resource", owner_kind="unit", owner_name="某科技公司", title="助老志愿者"
    )
    r = client.patch(f"{API}/lists/{n}", json={"responsible_person": "李主任"}, headers=w.office)
    assert r.status_code == 422 and r.json()["code"] == "sheet_on_project_only"
    r = client.patch(f"{API}/lists/{res}", json={"wish": True}, headers=w.office)
    assert r.status_code == 422 and r.json()["code"] == "wish_on_need_only"
    r = client.post(
        f"{API}/lists/match",
        json={"need": n, "resource": res, "due_date": "2026-12-31"},
        headers=w.office,
    )
    assert r.status_code == 201, r.text
    p = r.json()["properties"]
    assert p["service_content"] == "陪老人就医" and p["responsible_unit"] == "某科技公司"
    assert p["due_date"] == "2026-12-31"
    r = client.patch(
        f"{API}/lists/{p['id']}",
        json={
            "service_standard": "每周陪诊一次",
            "responsible_person": "李主任",
            "due_date": "2027-01-31",
        },
        headers=w.office,
    )
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["responsible_person"] == "李主任"
    viewer = client.get(f"{API}/lists/{p['id']}").json()["properties"]
    assert viewer["responsible_person"] == "李**" and viewer["service_standard"] == "每周陪诊一次"
    for bad in (
        {"due_date": "tomorrow"},
        {"service_content": "x" * 2001},
        {"responsible_person": "a\nb"},
    ):
        assert client.patch(f"{API}/lists/{p['id']}", json=bad, headers=w.office).status_code == 422
    # The project runs the flow too.
    assert client.post(f"{API}/lists/{p['id']}/claim", headers=w.me).status_code == 200


def test_every_refusal_of_the_lists_has_words_in_both_languages() -> None:
    import re

    from gridmap import errors
    from gridmap.settings import project_root

    mine = (
        errors.ListWrongState,
        errors.ListItemTaken,
        errors.SheetOnProjectOnly,
        errors.WishOnNeedOnly,
        errors.AssigneeOutside,
        errors.NotAMember,
        errors.PostTaken,
        errors.PostNotTaken,
        errors.NotACommunity,
        errors.NoGridHere,
        errors.TooManyRequests,
        errors.OutsideCommunity,
        errors.OutsideChina,
        errors.RegionNotFound,
    )
    for lang in ("zh", "en"):
        words = (project_root() / "web" / "lib" / "text" / f"lists_{lang}.js").read_text()
        keys = set(re.findall(r"^\s*(err_\w+):", words, re.M))
        assert {f"err_{e.code}" for e in mine} <= keys, lang


def test_a_wish_flag_cannot_be_emptied(client: TestClient, db: Session) -> None:
    w = world(db)
    item = need(client, w)
    r = client.patch(f"{API}/lists/{item}", json={"wish": None}, headers=w.office)
    assert r.status_code == 422 and row(db, item).wish is False


def test_status_moves_only_by_the_flow_so_hours_count_once(client: TestClient, db: Session) -> None:
    w = world(db)
    item = need(client, w)
    for status in ("in_progress", "done", "closed", "assigned"):
        r = client.patch(f"{API}/lists/{item}", json={"status": status}, headers=w.office)
        assert (r.status_code, r.json()["code"]) == (422, "status_by_flow"), r.text
    assert row(db, item).status == "open" and steps(db, item) == ["create"]
    assert client.post(f"{API}/lists/{item}/claim", headers=w.me).status_code == 200
    done = {"report": "已完成", "hours": 2}
    assert client.post(f"{API}/lists/{item}/complete", json=done, headers=w.me).status_code == 200
    # Reopening it by hand is refused, so it cannot be completed (and its hours counted) twice.
    r = client.patch(
        f"{API}/lists/{item}", json={"status": "in_progress", "title": "再来"}, headers=w.office
    )
    assert (r.status_code, r.json()["code"]) == (422, "status_by_flow"), r.text
    r = client.post(f"{API}/lists/{item}/complete", json=done, headers=w.me)
    assert (r.status_code, r.json()["code"]) == (409, "list_wrong_state"), r.text
    assert hours_of(db, w.member) == 2
    assert row(db, item).title == "陪老人就医"
    assert steps(db, item) == ["create", "claim", "complete"]
    # A resource's status is still set by hand: open, matched, closed.
    r = client.post(
        f"{API}/lists",
        json={
            "list": "resource",
            "category": "助老服务",
            "title": "社区食堂",
            "owner_kind": "unit",
            "x": WEST[0],
            "y": WEST[1],
        },
        headers=w.office,
    )
    assert r.status_code == 201, r.text
    resource = int(r.json()["properties"]["id"])
    r = client.patch(f"{API}/lists/{resource}", json={"status": "closed"}, headers=w.office)
    assert r.status_code == 200 and r.json()["properties"]["status"] == "closed"
    r = client.patch(f"{API}/lists/{resource}", json={"status": "done"}, headers=w.office)
    assert (r.status_code, r.json()["code"]) == (422, "status_by_flow"), r.text
