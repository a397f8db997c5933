"""Tokens issued to people and departments: a worker acts in every grid they serve, and only there."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import EAST_GRID, STREET, WEST_GRID, add_staff, two_grids
from tests.utils.network import offset

from gridmap.auth import Holder, Principal, authenticate, create_token
from gridmap.errors import InvalidInput

API = "/api/v1"


def _need(client: TestClient, secret: str, xy: tuple[float, float]) -> int:
    r = client.post(
        f"{API}/lists",
        headers={"Authorization": f"Bearer {secret}"},
        json={
            "list": "need",
            "category": "助老服务",
            "title": "陪同就医",
            "owner_kind": "resident",
            "x": xy[0],
            "y": xy[1],
        },
    )
    return r.status_code


def test_a_worker_acts_in_every_grid_they_serve(client: TestClient, db: Session) -> None:
    two_grids(db)
    person = add_staff(db, WEST_GRID, "worker", "孙网格", "13700001111")
    secret, _ = create_token(db, holder=Holder("staff", person=person))
    db.flush()
    west, east = offset(-300, 20), offset(300, -30)
    assert _need(client, secret, west) == 201
    assert _need(client, secret, east) == 403
    # A second post counts once the server hears of it, and the person is still one row. At
    # commit PostgreSQL tells the server; this test's transaction never commits, so it says so.
    add_staff(db, EAST_GRID, "leader", "孙网格", "13700001111")
    db.flush()
    client.app.state.live.invalidate()  # type: ignore[attr-defined]
    assert _need(client, secret, east) == 201
    assert db.execute(text("SELECT count(*) FROM person WHERE name = '孙网格'")).scalar_one() == 1
    posts = db.execute(
        text("SELECT count(*) FROM grid_staff WHERE person_id = :p"), {"p": person}
    ).scalar_one()
    assert posts == 2
    principal = authenticate(db, secret)
    assert principal.role == "worker" and principal.grids == {WEST_GRID, EAST_GRID}
    # The audit log names the person and the grids they acted in at the time.
    actors = db.execute(
        text("SELECT actor FROM audit_log WHERE actor LIKE '孙网格 (token %' ORDER BY id")
    ).scalars()
    assert [(WEST_GRID in a, EAST_GRID in a) for a in actors] == [(True, False), (True, True)]


def test_party_members_and_departments_read_only(client: TestClient, db: Session) -> None:
    two_grids(db)
    person = db.execute(
        text("INSERT INTO person (name) VALUES ('周党员') RETURNING id")
    ).scalar_one()
    db.execute(
        text(
            "INSERT INTO department (code, name, level, region_code, kind) "
            "VALUES ('cgw', '城管执法队', 'street', :s, '城管执法')"
        ),
        {"s": STREET},
    )
    member, _ = create_token(db, holder=Holder("party_member", person=person))
    dept, _ = create_token(db, holder=Holder("department", department="cgw"))
    db.flush()
    assert authenticate(db, member).name == "周党员"
    principal = authenticate(db, dept)
    assert (principal.department, principal.role) == ("cgw", "department")
    # A department acts on the sub-tasks whistled to it, never on a place.
    assert not principal.covers(STREET) and not principal.covers(WEST_GRID)
    for secret in (member, dept):
        assert _need(client, secret, offset(-300, 20)) == 403
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {dept}"}).json()
    assert (me["role"], me["acts_on"], me["dispatches"]) == ("department", "tasks", False)


def test_holders_must_exist_and_staff_must_serve(db: Session) -> None:
    two_grids(db)
    nobody = db.execute(
        text("INSERT INTO person (name) VALUES ('吴无岗') RETURNING id")
    ).scalar_one()
    for holder, words in (
        (Holder("staff", person=999_999), "no person"),
        (Holder("staff", person=nobody), "no grid's leader or worker"),
        (Holder("department", department="nope"), "no department"),
        (Holder("office", role="worker", region=STREET), "14 or 15 digits"),
        (Holder("office", role="department", region=STREET), "issued to a department"),
        (Holder("alien"), "issued to one of"),
    ):
        with pytest.raises(InvalidInput, match=words):
            create_token(db, holder=holder)
    assert db.execute(text("SELECT count(*) FROM api_token")).scalar_one() == 0


def test_only_leaders_and_workers_act_in_their_grids(db: Session) -> None:
    two_grids(db)
    helper = add_staff(db, WEST_GRID, "volunteer", "郑志愿")
    with pytest.raises(InvalidInput, match="no grid's leader or worker"):
        create_token(db, holder=Holder("staff", person=helper))
    leader = add_staff(db, WEST_GRID, "leader", "钱组长", "13700002222")
    add_staff(db, EAST_GRID, "volunteer", "钱组长", "13700002222")
    secret, _ = create_token(db, holder=Holder("staff", person=leader))
    principal = authenticate(db, secret)
    assert principal.grids == {WEST_GRID}
    assert principal.covers(WEST_GRID) and not principal.covers(EAST_GRID)
    # A grid code is matched whole: a 14-digit grid is no prefix of a 15-digit one.
    short = Principal(role="worker", region=None, name="x", grids=frozenset({WEST_GRID[:14]}))
    assert not short.covers(WEST_GRID)
    assert "no grid" in Principal(role="worker", region=None, name="x", grids=frozenset()).area
