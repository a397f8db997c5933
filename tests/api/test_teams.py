"""Grid teams through the API: read (masked), add, change, move, retire; who may; hostile input;
a staff token's grids follow its posts at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
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
from tests.utils.org import add_org, branch_bearer
from tests.utils.walks import staff_token

from gridmap import migrate
from gridmap.database import make_engine
from gridmap.main import create_app
from gridmap.schemas.teams import StaffRole
from gridmap.settings import Settings
from gridmap.vocab.roles import STAFF_ROLES

API = "/api/v1"
OTHER_COMMUNITY = STREET + "002"
OTHER_GRID = OTHER_COMMUNITY + "001"
REPORT = {"x": 116.342, "y": 40.005, "category": "市容环境/暴露垃圾"}


def _world(db: Session) -> None:
    """The two grids of the test community, and a second community of the street with a grid."""
    two_grids(db)
    area = square(116.35, 40.0, 116.36, 40.01)
    add_region(db, OTHER_COMMUNITY, "community", "邻社区", STREET, area)
    add_grid(db, OTHER_GRID, area, name="邻网格")
    db.flush()


def _staff(db: Session, grid: str | None = None) -> list[tuple[Any, ...]]:
    where = "WHERE s.grid_code = :g" if grid else ""
    return [
        tuple(r)
        for r in db.execute(
            text(
                "SELECT s.grid_code, s.role, p.name, p.phone, s.team, s.since FROM grid_staff s "
                f"JOIN person p ON p.id = s.person_id {where} ORDER BY s.id"
            ),
            {"g": grid},
        )
    ]


def _audit(db: Session) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in db.execute(
            text(
                "SELECT action, entity_key, before, after FROM audit_log "
                "WHERE entity = 'grid_staff' ORDER BY id"
            )
        )
    ]


def _state(db: Session) -> tuple[Any, ...]:
    people = db.execute(text("SELECT count(*) FROM person")).scalar_one()
    return (_staff(db), _audit(db), people)


def _post_id(db: Session, grid: str, role: str) -> int:
    return int(
        db.execute(
            text("SELECT id FROM grid_staff WHERE grid_code = :g AND role = :r"),
            {"g": grid, "r": role},
        ).scalar_one()
    )


def test_the_roles_of_the_schema_are_the_vocabulary() -> None:
    assert get_args(StaffRole) == STAFF_ROLES


def test_a_team_is_read_leader_first_and_masked_for_who_may_not_see_it(
    client: TestClient, db: Session
) -> None:
    _world(db)
    office = bearer(db)
    anonymous = client.get(f"{API}/grids/{WEST_GRID}/team")
    assert anonymous.status_code == 200
    body = anonymous.json()
    assert body["grid"] == {
        "code": WEST_GRID,
        "name": "西网格",
        "kind": "basic",
        "community_code": COMMUNITY,
    }
    assert [p["role"] for p in body["team"]] == ["leader", "worker"]
    for post in body["team"]:
        assert (post["name"], post["phone"], post["person_id"], post["masked"]) == (
            None,
            None,
            None,
            True,
        )
    viewer = bearer(db, "viewer", COMMUNITY, "查看者")
    other_office = bearer(db, "community", OTHER_COMMUNITY, "邻社区办")
    for headers in (viewer, other_office):
        team = client.get(f"{API}/grids/{WEST_GRID}/team", headers=headers).json()["team"]
        assert all(p["masked"] and p["name"] is None for p in team)
    shown = client.get(f"{API}/grids/{WEST_GRID}/team", headers=office).json()["team"]
    assert [(p["name"], p["phone"], p["masked"]) for p in shown] == [
        ("王晓明", "13800001234", False),
        ("李静", "13900005678", False),
    ]
    # The Party branch of the grid reads its team too.
    branch = add_org(db, "committee", "C1", "测试社区大党委", COMMUNITY)
    west_branch = add_org(
        db, "branch", "B1", "西网格党支部", COMMUNITY, parent=branch, grids=(WEST_GRID,)
    )
    team = client.get(
        f"{API}/grids/{WEST_GRID}/team", headers=branch_bearer(db, west_branch)
    ).json()["team"]
    assert team[0]["name"] == "王晓明"
    assert client.get(f"{API}/grids/{EAST_GRID}/team").json()["team"] == []
    missing = client.get(f"{API}/grids/{COMMUNITY}999/team")
    assert (missing.status_code, missing.json()["code"]) == (404, "grid_not_found")


def test_an_office_adds_a_post_by_person_or_by_name_and_phone(
    client: TestClient, db: Session
) -> None:
    _world(db)
    office = bearer(db)
    made = client.post(
        f"{API}/grids/{EAST_GRID}/team",
        headers=office,
        json={
            "person": {"name": "赵先锋", "phone": "13700009999"},
            "role": "vanguard",
            "team": "党员先锋队",
            "since": "2025-03-01",
        },
    )
    assert made.status_code == 201, made.text
    post = made.json()
    assert post["role"] == "vanguard" and post["team"] == "党员先锋队"
    assert post["since"] == "2025-03-01" and post["name"] == "赵先锋" and not post["masked"]
    assert _staff(db, EAST_GRID) == [
        (EAST_GRID, "vanguard", "赵先锋", "13700009999", "党员先锋队", post_since(db, post["id"]))
    ]
    # The same person (by id) takes a second role in the grid.
    again = client.post(
        f"{API}/grids/{EAST_GRID}/team",
        headers=office,
        json={"person_id": post["person_id"], "role": "worker"},
    )
    assert again.status_code == 201, again.text
    assert again.json()["person_id"] == post["person_id"]
    # Sent again by name and phone: the same person, not a second one.
    people = db.execute(text("SELECT count(*) FROM person")).scalar_one()
    same = client.post(
        f"{API}/grids/{EAST_GRID}/team",
        headers=office,
        json={"person": {"name": "赵先锋", "phone": "13700009999"}, "role": "safety"},
    )
    assert same.status_code == 201 and same.json()["person_id"] == post["person_id"]
    assert db.execute(text("SELECT count(*) FROM person")).scalar_one() == people
    actions = [(a[0], a[1]) for a in _audit(db)]
    assert actions == [
        ("create", str(post["id"])),
        ("create", str(again.json()["id"])),
        ("create", str(same.json()["id"])),
    ]
    assert _audit(db)[0][3]["person_id"] == post["person_id"]


def post_since(db: Session, staff_id: int) -> Any:
    return db.execute(
        text("SELECT since FROM grid_staff WHERE id = :i"), {"i": staff_id}
    ).scalar_one()


def test_refusals_of_a_new_post_write_nothing(client: TestClient, db: Session) -> None:
    _world(db)
    office = bearer(db)
    leader = db.execute(text("SELECT person_id FROM grid_staff WHERE role = 'leader'")).scalar_one()
    before = _state(db)
    for body, status, code in (
        ({"person_id": leader, "role": "leader"}, 409, "staff_exists"),
        ({"person_id": 987654, "role": "worker"}, 422, "staff_person_unknown"),
        ({"person_id": leader, "role": "leader", "team": "党员先锋队"}, 422, "staff_team_role"),
        ({"person_id": leader, "role": "guide", "since": "1900-01-01"}, 422, "invalid_input"),
        ({"person_id": leader, "role": "guide", "since": "2999-01-01"}, 422, "invalid_input"),
    ):
        r = client.post(f"{API}/grids/{WEST_GRID}/team", headers=office, json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), (body, r.text)
    assert _state(db) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"role": "worker"},
        {"person_id": 1, "person": {"name": "甲"}, "role": "worker"},
        {"person_id": 1, "role": "chief"},
        {"person_id": 1, "role": None},
        {"person_id": "1; DROP TABLE grid_staff", "role": "worker"},
        {"person_id": 0, "role": "worker"},
        {"person_id": 2**63, "role": "worker"},
        {"person_id": 1.5, "role": "worker"},
        {"person_id": True, "role": "worker"},
        {"person_id": 1, "role": "worker", "since": "NaN"},
        {"person_id": 1, "role": "worker", "since": "2025-02-30"},
        {"person_id": 1, "role": "worker", "extra": 1},
        {"person": {"name": "x" * 10_000}, "role": "worker"},
        {"person": {"name": "   "}, "role": "worker"},
        {"person": {"name": "甲", "phone": "' OR 1=1 --"}, "role": "worker"},
        {"person": "甲", "role": "worker"},
        {"person_id": 1, "role": "vanguard", "team": "队" * 61},
        {"person_id": 1, "role": "vanguard", "team": ""},
        [],
        "null",
    ],
)
def test_hostile_bodies_are_refused_in_words(client: TestClient, db: Session, body: Any) -> None:
    _world(db)
    office = bearer(db)
    before = _state(db)
    r = client.post(f"{API}/grids/{WEST_GRID}/team", headers=office, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["code"] and r.json()["detail"]
    assert _state(db) == before


def test_hostile_paths_and_ids(client: TestClient, db: Session) -> None:
    _world(db)
    office = bearer(db)
    post = _post_id(db, WEST_GRID, "worker")
    for method, url, body in (
        ("post", f"{API}/grids/1; DROP TABLE grid/team", {"person_id": 1, "role": "worker"}),
        ("get", f"{API}/grids/{'9' * 400}/team", None),
        ("patch", f"{API}/grid-staff/abc", {"role": "guide"}),
        ("patch", f"{API}/grid-staff/0", {"role": "guide"}),
        ("patch", f"{API}/grid-staff/{2**63}", {"role": "guide"}),
        ("patch", f"{API}/grid-staff/{post}", {"role": "boss"}),
        ("patch", f"{API}/grid-staff/{post}", {"since": float("nan")}),
        ("post", f"{API}/grid-staff/{post}/move", {"grid_code": "' OR 1=1 --"}),
        ("post", f"{API}/grid-staff/{post}/move", {"grid_code": 110108010001002}),
        ("post", f"{API}/grid-staff/{post}/move", {}),
    ):
        before = _state(db)
        kwargs: dict[str, Any] = {"headers": office}
        if body is not None:
            kwargs["content"] = _json(body)
            kwargs["headers"] = {**office, "Content-Type": "application/json"}
        r = client.request(method.upper(), url, **kwargs)
        assert r.status_code in (404, 422), (url, body, r.text)
        assert r.json()["code"], r.text
        assert _state(db) == before
    unknown = client.patch(f"{API}/grid-staff/987654", headers=office, json={"role": "guide"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "staff_not_found")


def _json(body: Any) -> str:
    import json

    return json.dumps(body, allow_nan=True)


def test_who_may_change_a_team(client: TestClient, db: Session) -> None:
    _world(db)
    post = _post_id(db, WEST_GRID, "worker")
    worker = db.execute(
        text("SELECT person_id FROM grid_staff WHERE id = :i"), {"i": post}
    ).scalar()
    committee = add_org(db, "committee", "C1", "测试社区大党委", COMMUNITY)
    branch = add_org(
        db, "branch", "B1", "西网格党支部", COMMUNITY, parent=committee, grids=(WEST_GRID,)
    )
    refused = {
        "anonymous": ({}, 401),
        "viewer": (bearer(db, "viewer", COMMUNITY, "查看者"), 403),
        "worker": (staff_token(db, int(worker)), 403),
        "branch": (branch_bearer(db, branch), 403),
        "other community": (bearer(db, "community", OTHER_COMMUNITY, "邻社区办"), 403),
    }
    before = _state(db)
    for who, (headers, status) in refused.items():
        for method, url, body in (
            ("POST", f"{API}/grids/{WEST_GRID}/team", {"person": {"name": "甲"}, "role": "guide"}),
            ("PATCH", f"{API}/grid-staff/{post}", {"role": "guide"}),
            ("POST", f"{API}/grid-staff/{post}/move", {"grid_code": EAST_GRID}),
            ("DELETE", f"{API}/grid-staff/{post}", None),
            (
                "POST",
                f"{API}/grids/{WEST_GRID}/reassign",
                {"staff": [{"id": post, "grid_code": EAST_GRID}]},
            ),
        ):
            r = client.request(method, url, headers=headers, json=body)
            assert r.status_code == status, (who, method, url, r.text)
            assert r.json()["code"] == ("unauthorized" if status == 401 else "forbidden")
    assert _state(db) == before
    # The district and the street cover the grid; so does an admin.
    for headers in (
        bearer(db, "street", STREET, "学院路街道办"),
        bearer(db, "district", "110108", "海淀区"),
        bearer(db, "admin", None, "管理员"),
    ):
        r = client.patch(f"{API}/grid-staff/{post}", headers=headers, json={"since": "2024-01-01"})
        assert r.status_code == 200, r.text


def test_change_role_team_and_term(client: TestClient, db: Session) -> None:
    _world(db)
    office = bearer(db)
    post = _post_id(db, WEST_GRID, "worker")
    r = client.patch(
        f"{API}/grid-staff/{post}", headers=office, json={"role": "volunteer", "team": "志愿服务队"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["role"], r.json()["team"]) == ("volunteer", "志愿服务队")
    # Another role leaves the N: team; since is set and cleared.
    r = client.patch(
        f"{API}/grid-staff/{post}", headers=office, json={"role": "guide", "since": "2024-05-01"}
    )
    assert (r.json()["role"], r.json()["team"], r.json()["since"]) == ("guide", None, "2024-05-01")
    r = client.patch(f"{API}/grid-staff/{post}", headers=office, json={"since": None})
    assert r.json()["since"] is None
    # Into a role the person already holds there: refused, nothing written.
    leader = _post_id(db, WEST_GRID, "leader")
    client.post(
        f"{API}/grids/{WEST_GRID}/team",
        headers=office,
        json={"person_id": _person(db, post), "role": "mediator"},
    )
    before = _state(db)
    clash = client.patch(f"{API}/grid-staff/{post}", headers=office, json={"role": "mediator"})
    assert (clash.status_code, clash.json()["code"]) == (409, "staff_exists")
    team_of_leader = client.patch(f"{API}/grid-staff/{leader}", headers=office, json={"team": "队"})
    assert team_of_leader.json()["code"] == "staff_team_role"
    no_role = client.patch(f"{API}/grid-staff/{leader}", headers=office, json={"role": None})
    assert no_role.status_code == 422
    assert _state(db) == before
    updates = [a for a in _audit(db) if a[0] == "update"]
    assert updates[0][2]["role"] == "worker" and updates[0][3]["role"] == "volunteer"


def _person(db: Session, post: int) -> int:
    return int(
        db.execute(text("SELECT person_id FROM grid_staff WHERE id = :i"), {"i": post}).scalar_one()
    )


def test_a_move_needs_both_grids(client: TestClient, db: Session) -> None:
    _world(db)
    office = bearer(db)
    post = _post_id(db, WEST_GRID, "worker")
    moved = client.post(
        f"{API}/grid-staff/{post}/move", headers=office, json={"grid_code": EAST_GRID}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["grid_code"] == EAST_GRID
    before = _state(db)
    away = client.post(
        f"{API}/grid-staff/{post}/move", headers=office, json={"grid_code": OTHER_GRID}
    )
    assert (away.status_code, away.json()["code"]) == (403, "forbidden")
    gone = client.post(
        f"{API}/grid-staff/{post}/move", headers=office, json={"grid_code": COMMUNITY + "099"}
    )
    assert (gone.status_code, gone.json()["code"]) == (404, "grid_not_found")
    assert _state(db) == before
    street = bearer(db, "street", STREET, "学院路街道办")
    across = client.post(
        f"{API}/grid-staff/{post}/move", headers=street, json={"grid_code": OTHER_GRID}
    )
    assert across.status_code == 200
    assert [a[0] for a in _audit(db)] == ["move", "move"]
    assert (
        _audit(db)[1][2]["grid_code"] == EAST_GRID and _audit(db)[1][3]["grid_code"] == OTHER_GRID
    )


def test_a_worker_follows_their_posts_and_acts_nowhere_once_retired(
    client: TestClient, db: Session
) -> None:
    _world(db)
    office = bearer(db)
    post = _post_id(db, WEST_GRID, "worker")
    worker = staff_token(db, _person(db, post))
    assert client.post(f"{API}/incidents", headers=worker, json=REPORT).status_code == 201
    east = {**REPORT, "x": 116.347}
    assert client.post(f"{API}/incidents", headers=worker, json=east).status_code == 403
    # Moved east: the token acts there from the next request, and no longer in the west.
    client.post(f"{API}/grid-staff/{post}/move", headers=office, json={"grid_code": EAST_GRID})
    assert client.post(f"{API}/incidents", headers=worker, json=east).status_code == 201
    assert client.post(f"{API}/incidents", headers=worker, json=REPORT).status_code == 403
    me = client.get(f"{API}/me", headers=worker).json()
    assert EAST_GRID in str(me) and WEST_GRID not in str(me)
    retired = client.delete(f"{API}/grid-staff/{post}", headers=office)
    assert retired.status_code == 200
    assert retired.json() == {"id": post, "grid_code": EAST_GRID, "role": "worker", "retired": True}
    assert _staff(db, EAST_GRID) == []
    last = _audit(db)[-1]
    assert last[0] == "retire" and last[3] is None and last[2]["grid_code"] == EAST_GRID
    # Their last leader or worker post gone: the token acts in no grid.
    refused = client.post(f"{API}/incidents", headers=worker, json=east)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    again = client.delete(f"{API}/grid-staff/{post}", headers=office)
    assert (again.status_code, again.json()["code"]) == (404, "staff_not_found")


RACE_DB = "gridmap_test_team_races"


@pytest.fixture
def committed(
    settings: Settings, fresh_database: Callable[[str], str]
) -> Iterator[tuple[Settings, Engine, dict[str, str]]]:
    """An app's settings on a committed database with the world of these tests."""
    url = fresh_database(RACE_DB)
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as db, db.begin():
        _world(db)
        auth = bearer(db, "street", STREET, "学院路街道办")
    s = settings.model_copy(deep=True)
    s.db.embedded_db = RACE_DB
    yield s, engine, auth
    engine.dispose()


def test_two_moves_of_one_post_at_once(
    committed: tuple[Settings, Engine, dict[str, str]],
) -> None:
    s, engine, auth = committed
    with engine.connect() as conn:
        post = conn.execute(
            text("SELECT id FROM grid_staff WHERE role = 'worker' AND grid_code = :g"),
            {"g": WEST_GRID},
        ).scalar_one()
        person = conn.execute(
            text("SELECT person_id FROM grid_staff WHERE id = :i"), {"i": post}
        ).scalar_one()
    with TestClient(create_app(s)) as client:
        for round_, targets in enumerate([(EAST_GRID, OTHER_GRID), (WEST_GRID, WEST_GRID)] * 3):
            start = threading.Barrier(2)
            answers: list[int] = []

            def move(
                target: str, start: threading.Barrier = start, out: list[int] = answers
            ) -> None:
                start.wait()
                r = client.post(
                    f"{API}/grid-staff/{post}/move", headers=auth, json={"grid_code": target}
                )
                out.append(r.status_code)

            threads = [threading.Thread(target=move, args=(t,)) for t in targets]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(answers) == [200, 200], (round_, answers)
            with engine.connect() as conn:
                where = (
                    conn.execute(
                        text("SELECT grid_code FROM grid_staff WHERE person_id = :p"), {"p": person}
                    )
                    .scalars()
                    .all()
                )
            assert len(where) == 1 and where[0] in targets
        # Two posts of one person moved into the same role of one grid at once: one wins.
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO grid_staff (grid_code, role, person_id) VALUES (:g, 'worker', :p)"
                ),
                {"g": OTHER_GRID if where[0] != OTHER_GRID else EAST_GRID, "p": person},
            )
            ids = (
                conn.execute(
                    text("SELECT id FROM grid_staff WHERE person_id = :p ORDER BY id"),
                    {"p": person},
                )
                .scalars()
                .all()
            )
        target = next(
            g for g in (WEST_GRID, EAST_GRID, OTHER_GRID) if g not in _grids(engine, person)
        )
        start = threading.Barrier(2)
        out: list[tuple[int, str]] = []

        def move_one(staff_id: int) -> None:
            start.wait()
            r = client.post(
                f"{API}/grid-staff/{staff_id}/move", headers=auth, json={"grid_code": target}
            )
            out.append((r.status_code, r.json().get("code", "")))

        threads = [threading.Thread(target=move_one, args=(i,)) for i in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(out) == [(200, ""), (409, "staff_exists")], out
        assert sorted(_grids(engine, person)) != [target, target]


def _grids(engine: Engine, person: int) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT grid_code FROM grid_staff WHERE person_id = :p"), {"p": person}
            ).scalars()
        )
