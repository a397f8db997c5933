"""Departments that answer whistles: the demo's register, reading it, who may change it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from tests.utils.fixtures import COMMUNITY, DISTRICT, STREET, add_region, bearer, square

from gridmap.loader import load_dataset
from gridmap.settings import project_root

API = "/api/v1"
OTHER_STREET = DISTRICT + "015"
DISTRICT_CODES = {
    "hd-cgzf": "城管执法",
    "hd-zj": "住建",
    "hd-scjg": "市场监管",
    "hd-sthj": "生态环境",
    "hd-xf": "消防",
    "hd-wj": "卫健",
    "hd-mz": "民政",
    "hd-sw": "水务",
    "hd-jt": "交通",
    "hd-yl": "园林绿化",
    "hd-gd": "供电",
    "hd-rq": "燃气",
    "hd-rl": "热力",
    "hd-gh": "规划自然资源",
    "hd-yj": "应急管理",
}


def places(db: Session) -> None:
    area = square(116.34, 40.0, 116.37, 40.01)
    add_region(db, DISTRICT, "district", "海淀区", None, area)
    add_region(db, STREET, "street", "学院路街道", DISTRICT, area)
    add_region(db, OTHER_STREET, "street", "清河街道", DISTRICT, area)
    add_region(db, COMMUNITY, "community", "测试社区", STREET, area)
    db.execute(
        text(
            "INSERT INTO department (code, name, level, region_code, kind) VALUES "
            "('d-cg', '区城管执法局', 'district', :d, '城管执法'), "
            "('d-sw', '区水务局', 'district', :d, '水务'), "
            "('s-cg', '学院路街道城管执法队', 'street', :s, '城管执法'), "
            "('o-cg', '清河街道城管执法队', 'street', :o, '城管执法')"
        ),
        {"d": DISTRICT, "s": STREET, "o": OTHER_STREET},
    )


def stored(db: Session, code: str) -> dict[str, Any] | None:
    row = db.execute(text("SELECT * FROM department WHERE code = :c"), {"c": code}).mappings()
    found = row.first()
    return None if found is None else dict(found)


def test_the_demo_registers_haidians_departments_and_each_streets_team(
    demo_engine: Engine,
) -> None:
    with demo_engine.connect() as conn:
        rows = {r.code: r for r in conn.execute(text("SELECT * FROM department"))}
        streets = set(
            conn.execute(text("SELECT code FROM region WHERE level = 'street'")).scalars()
        )
    assert {c: rows[c].kind for c in DISTRICT_CODES} == DISTRICT_CODES
    assert rows["hd-gd"].name == "国网北京海淀供电公司"
    for street in streets:
        assert (rows[f"{street}-cgzf"].kind, rows[f"{street}-cgzf"].region_code) == (
            "城管执法",
            street,
        )
        assert rows[f"{street}-pcs"].kind == "公安派出所"
        assert rows[f"{street}-pcs"].name.endswith("派出所")
    assert len(rows) == 19 + 2 * len(streets) == 77
    again = load_dataset(demo_engine, project_root() / "data" / "boundaries", commit=False)
    assert vars(again.tables["department"]) == {
        "inserted": 0,
        "updated": 0,
        "unchanged": 77,
        "deleted": 0,
    }


def test_anyone_reads_departments_by_region_and_kind(client: TestClient, db: Session) -> None:
    places(db)
    everything = client.get(f"{API}/departments").json()
    assert everything["numberMatched"] == 4
    assert [d["code"] for d in everything["departments"]] == ["d-cg", "d-sw", "s-cg", "o-cg"]
    of_street = client.get(f"{API}/departments", params={"region": STREET}).json()
    assert [d["code"] for d in of_street["departments"]] == ["d-cg", "d-sw", "s-cg"]
    teams = client.get(f"{API}/departments", params={"region": STREET, "kind": "城管执法"}).json()
    assert [d["code"] for d in teams["departments"]] == ["d-cg", "s-cg"]
    db.execute(text("UPDATE department SET active = false WHERE code = 'd-sw'"))
    active = client.get(f"{API}/departments", params={"active": "true"}).json()
    assert "d-sw" not in [d["code"] for d in active["departments"]]
    assert client.get(f"{API}/departments/s-cg").json()["name"] == "学院路街道城管执法队"
    assert client.get(f"{API}/departments/nope").status_code == 404


def test_a_street_registers_its_own_departments_a_district_those_of_its_streets(
    client: TestClient, db: Session
) -> None:
    places(db)
    street = bearer(db, "street", STREET, name="学院路街道")
    body = {"code": "s-sj", "name": "学院路街道市场监管所", "kind": "市场监管", "region": STREET}
    r = client.post(f"{API}/departments", headers=street, json=body)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/api/v1/departments/s-sj"
    assert stored(db, "s-sj") == {
        "code": "s-sj",
        "name": "学院路街道市场监管所",
        "level": "street",
        "region_code": STREET,
        "kind": "市场监管",
        "active": True,
    }
    elsewhere = {**body, "code": "o-sj", "region": OTHER_STREET}
    r = client.post(f"{API}/departments", headers=street, json=elsewhere)
    assert r.status_code == 403 and OTHER_STREET in r.json()["detail"], r.text
    assert stored(db, "o-sj") is None
    r = client.post(f"{API}/departments", headers=street, json={**body, "region": DISTRICT})
    assert r.status_code == 403, r.text
    district = bearer(db, "district", DISTRICT, name="海淀区")
    assert client.post(f"{API}/departments", headers=district, json=elsewhere).status_code == 201
    assert stored(db, "o-sj")["level"] == "street"  # type: ignore[index]
    r = client.post(f"{API}/departments", headers=district, json=body)
    assert r.status_code == 409 and r.json()["code"] == "conflict", r.text
    admin = bearer(db, "admin", None, name="管理员")
    r = client.post(
        f"{API}/departments", headers=admin, json={**body, "code": "c-x", "region": COMMUNITY}
    )
    assert r.status_code == 422, r.text
    r = client.post(
        f"{API}/departments", headers=admin, json={**body, "code": "c-x", "region": "110108999"}
    )
    assert r.status_code == 422 and "no region" in r.json()["detail"], r.text
    assert stored(db, "c-x") is None


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("community", 403), ("viewer", 403), ("worker", 403)],
)
def test_other_roles_do_not_register_departments(
    client: TestClient, db: Session, who: str | None, status: int
) -> None:
    places(db)
    region = {"community": COMMUNITY, "viewer": STREET, "worker": COMMUNITY + "001"}
    headers = {} if who is None else bearer(db, who, region[who])
    body = {"code": "s-sj", "name": "市场监管所", "kind": "市场监管", "region": STREET}
    r = client.post(f"{API}/departments", headers=headers, json=body)
    assert r.status_code == status, r.text
    r = client.patch(f"{API}/departments/s-cg", headers=headers, json={"name": "改"})
    assert r.status_code == status, r.text
    assert stored(db, "s-sj") is None and stored(db, "s-cg")["name"] == "学院路街道城管执法队"  # type: ignore[index]


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "执法\x07队"},
        {"name": ""},
        {"name": None},
        {"kind": "   "},
        {"kind": "=cmd|' /C calc'!A0"},
        {"active": "maybe"},
        {"region": STREET},
    ],
)
def test_a_bad_change_is_422_and_writes_nothing(
    client: TestClient, db: Session, bad: dict[str, Any]
) -> None:
    places(db)
    before = stored(db, "s-cg")
    r = client.patch(f"{API}/departments/s-cg", headers=bearer(db, "street", STREET), json=bad)
    assert r.status_code == 422, r.text
    assert r.json()["code"] in ("invalid_input", "control_character")
    assert stored(db, "s-cg") == before


def test_a_street_changes_its_department_not_anothers(client: TestClient, db: Session) -> None:
    places(db)
    street = bearer(db, "street", STREET, name="学院路街道")
    r = client.patch(
        f"{API}/departments/s-cg",
        headers=street,
        json={"name": "学院路城管执法队", "active": False},
    )
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    assert stored(db, "s-cg")["name"] == "学院路城管执法队"  # type: ignore[index]
    assert (
        client.patch(f"{API}/departments/o-cg", headers=street, json={"name": "x"}).status_code
        == 403
    )
    assert (
        client.patch(f"{API}/departments/d-cg", headers=street, json={"name": "x"}).status_code
        == 403
    )
    assert stored(db, "o-cg")["name"] == "清河街道城管执法队"  # type: ignore[index]
    district = bearer(db, "district", DISTRICT, name="海淀区")
    r = client.patch(f"{API}/departments/o-cg", headers=district, json={"kind": "公安派出所"})
    assert r.status_code == 200 and stored(db, "o-cg")["kind"] == "公安派出所"  # type: ignore[index]
    assert client.patch(f"{API}/departments/nope", headers=district, json={}).status_code == 404
    audit = db.execute(
        text("SELECT entity_key, action FROM audit_log WHERE entity = 'department' ORDER BY id")
    ).all()
    assert [tuple(a) for a in audit] == [("s-cg", "update"), ("o-cg", "update")]


def test_a_department_token_does_not_change_the_register(client: TestClient, db: Session) -> None:
    from gridmap.auth import Holder, create_token

    places(db)
    secret, _ = create_token(db, holder=Holder("department", department="s-cg"))
    headers = {"Authorization": f"Bearer {secret}"}
    r = client.patch(f"{API}/departments/s-cg", headers=headers, json={"active": False})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert stored(db, "s-cg")["active"] is True  # type: ignore[index]
