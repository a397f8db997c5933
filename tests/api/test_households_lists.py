"""Designated households and whom they serve; the three lists and matching needs."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import COMMUNITY, EAST_GRID, WEST_GRID, bearer, two_grids
from tests.utils.homes import add_building, add_centre
from tests.utils.network import CENTRE, cross, offset

API = "/api/v1"


def _households(db: Session) -> dict[str, list[int]]:
    """Households of a west and an east building, by building code."""
    west = add_building(db, "BW-01", WEST_GRID, offset(-300, 20), 3)
    east = add_building(db, "BE-01", EAST_GRID, offset(300, -30), 3)
    db.flush()
    out: dict[str, list[int]] = {}
    for code, building in (("W", west), ("E", east)):
        out[code] = list(
            db.execute(
                text("SELECT id FROM household WHERE building_id = :b ORDER BY id"), {"b": building}
            ).scalars()
        )
    return out


def test_designated_households_serve_their_neighbours(client: TestClient, db: Session) -> None:
    two_grids(db)
    hh = _households(db)
    office = bearer(db)
    head, w1, w2 = hh["W"]
    e1, e2, e3 = hh["E"]
    served = f"{API}/households/{head}/served"
    # Not designated yet: nothing to serve with.
    r = client.put(served, headers=office, json={"households": [w1]})
    assert r.status_code == 409 and "not a designated household" in r.json()["detail"]
    r = client.patch(f"{API}/households/{head}", headers=office, json={"designated": True})
    assert r.status_code == 200 and r.json()["properties"]["designated"] is True
    r = client.put(served, headers=office, json={"households": [w1, w2, e1]})
    assert r.status_code == 200, r.text
    assert sorted(f["properties"]["id"] for f in r.json()["served"]["features"]) == [w1, w2, e1]
    one = client.get(f"{API}/households/{e1}", headers=office).json()["properties"]
    assert one["served_by"] == head and one["cross_grid"] is True
    assert client.get(f"{API}/households/{w1}").json()["properties"]["cross_grid"] is False
    # The list is replaced as a whole: e1 is let go, e2 joins.
    r = client.put(served, headers=office, json={"households": [w1, w2, e2]})
    assert r.status_code == 200
    assert client.get(f"{API}/households/{e1}").json()["properties"]["served_by"] is None
    summary = {g["grid"]: g for g in client.get(f"{API}/households/summary").json()["grids"]}
    assert summary[WEST_GRID] == {
        "grid": WEST_GRID,
        "households": 3,
        "designated": 1,
        "served": 2,
        "unserved": 0,
        "served_from_other_grid": 0,
    }
    assert summary[EAST_GRID]["served"] == 1 and summary[EAST_GRID]["unserved"] == 2
    assert summary[EAST_GRID]["served_from_other_grid"] == 1
    points = client.get(f"{API}/households", params={"designated": "true", "grid": WEST_GRID})
    feats = points.json()["features"]
    assert [f["properties"]["id"] for f in feats] == [head]
    assert feats[0]["geometry"]["type"] == "Point" and feats[0]["properties"]["serves"] == 3
    # Names and phones: shown to the community's office, masked for anyone else.
    assert feats[0]["properties"]["contact_name"] == "赵**"
    assert feats[0]["properties"]["contact_phone"] == "137****1111"
    mine = client.get(f"{API}/households/{head}", headers=office).json()["properties"]
    assert mine["contact_name"] == "赵小明" and mine["contact_phone"] == "13700001111"
    # Unmarking frees those it served.
    r = client.patch(f"{API}/households/{head}", headers=office, json={"designated": False})
    assert r.status_code == 200
    assert client.get(f"{API}/households/{w1}").json()["properties"]["served_by"] is None
    assert e3  # the third east household was never touched
    kinds = db.execute(
        text("SELECT action FROM audit_log WHERE entity = 'household' ORDER BY id")
    ).scalars()
    assert list(kinds) == ["designate", "serve", "serve", "undesignate"]


def test_served_links_refuse_bad_lists_and_strangers(client: TestClient, db: Session) -> None:
    two_grids(db)
    hh = _households(db)
    office = bearer(db)
    head, w1, w2 = hh["W"]
    other_head = hh["E"][0]
    for h in (head, other_head):
        client.patch(f"{API}/households/{h}", headers=office, json={"designated": True})
    served = f"{API}/households/{head}/served"
    client.put(served, headers=office, json={"households": [w1]})
    before = db.execute(text("SELECT id, served_by FROM household ORDER BY id")).all()
    for body, status in (
        ({"households": [w1, 999999]}, 422),
        ({"households": [w1, w1]}, 422),
        ({"households": [head]}, 422),
        ({"households": [other_head]}, 409),
        ({"households": list(range(1, 300))}, 422),
        ({"households": "all"}, 422),
        ({"households": [-1]}, 422),
        ({"served": [w1]}, 422),
    ):
        r = client.put(served, headers=office, json=body)
        assert r.status_code == status, (body, r.text)
    assert client.put(served, json={"households": [w2]}).status_code == 401
    worker = bearer(db, "worker", WEST_GRID, name="网格员")
    assert client.put(served, headers=worker, json={"households": [w2]}).status_code == 403
    other = bearer(db, "community", "110108010002", name="别的社区")
    assert client.put(served, headers=other, json={"households": [w2]}).status_code == 403
    assert (
        client.put(
            f"{API}/households/999999/served", headers=office, json={"households": []}
        ).status_code
        == 404
    )
    assert db.execute(text("SELECT id, served_by FROM household ORDER BY id")).all() == before
    # A household moves from one designated household to another, and is said to have.
    r = client.put(
        f"{API}/households/{other_head}/served", headers=office, json={"households": [w1]}
    )
    assert r.status_code == 200 and r.json()["moved_from_other_designated"] == [w1]


def _item(
    client: TestClient,
    headers: dict[str, str],
    kind: str,
    xy: tuple[float, float],
    heading: str,
    category: str = "助老服务",
    **extra: Any,
):  # type: ignore[no-untyped-def]
    return client.post(
        f"{API}/lists",
        headers=headers,
        json={
            "list": kind,
            "category": category,
            "title": heading,
            "owner_kind": "unit" if kind == "resource" else "resident",
            "owner_name": "测试单位",
            "contact_name": "钱小红",
            "contact_phone": "13600002222",
            "x": xy[0],
            "y": xy[1],
            **extra,
        },
    )


def test_list_items_get_their_grid_and_hide_contacts(client: TestClient, db: Session) -> None:
    two_grids(db)
    office = bearer(db)
    r = _item(client, office, "need", offset(-300, 0), "老人助餐")
    assert r.status_code == 201, r.text
    props = r.json()["properties"]
    assert props["grid_code"] == WEST_GRID and props["community_code"] == COMMUNITY
    assert props["status"] == "open" and props["code"].startswith("L")
    assert props["contact_name"] == "钱小红"
    item_id = props["id"]
    public = client.get(f"{API}/lists/{item_id}").json()["properties"]
    assert public["contact_name"] == "钱**" and public["contact_phone"] == "136****2222"
    listed = client.get(f"{API}/lists", params={"list": "need", "grid": WEST_GRID}).json()
    assert listed["numberMatched"] == 1
    assert client.get(f"{API}/lists", params={"grid": EAST_GRID}).json()["numberMatched"] == 0
    # Moved east, it changes grid.
    x, y = offset(300, 0)
    r = client.patch(f"{API}/lists/{item_id}", headers=office, json={"x": x, "y": y})
    assert r.status_code == 200 and r.json()["properties"]["grid_code"] == EAST_GRID
    assert r.json()["properties"]["status"] == "open"
    count = "SELECT count(*) FROM list_item"
    before = db.execute(text(count)).scalar_one()
    for bad in (
        {"list": "project"},
        {"category": ""},
        {"contact_phone": "call me"},
        {"x": "here"},
        {"owner_kind": "alien"},
        {"title": "t" * 500},
        {"title": "bell\x07"},
    ):
        rr = _item(client, office, "need", offset(-300, 0), "x", **bad)
        assert rr.status_code == 422, (bad, rr.text)
    assert _item(client, {}, "need", offset(-300, 0), "x").status_code == 401
    viewer = bearer(db, "viewer", COMMUNITY, name="观察员")
    assert _item(client, viewer, "need", offset(-300, 0), "x").status_code == 403
    # Outside every grid only an admin may place an item.
    assert _item(client, office, "need", offset(3000, 3000), "x").status_code == 403
    assert db.execute(text(count)).scalar_one() == before
    assert client.delete(f"{API}/lists/{item_id}", headers=viewer).status_code == 403
    assert client.delete(f"{API}/lists/{item_id}", headers=office).status_code == 204
    assert client.get(f"{API}/lists/{item_id}").status_code == 404


@pytest.fixture
def admin(db: Session) -> dict[str, str]:
    return bearer(db, "admin", None, name="管理员")


def test_matching_ranks_grid_then_community_then_circle(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    two_grids(db)
    cross(db)
    add_centre(client, admin, CENTRE)

    def add(kind: str, xy: tuple[float, float], title: str, **extra: Any) -> int:
        r = _item(client, admin, kind, xy, title, **extra)
        assert r.status_code == 201, r.text
        return int(r.json()["properties"]["id"])

    need = add("need", offset(-300, 0), "老人助餐")
    far_corner = add("resource", (116.3405, 40.0005), "同网格但远")  # west grid, off the streets
    east_near = add("resource", offset(200, 0), "东网格近")
    east_far = add("resource", offset(420, 0), "东网格远")
    in_circle = add("resource", offset(0, 1000), "服务圈内")  # north of the community
    elsewhere = add("resource", offset(1500, 1500), "别处")
    add("resource", offset(-250, 0), "别的类别", category="法律咨询")
    closed = add("resource", offset(-280, 0), "已关闭")
    client.patch(f"{API}/lists/{closed}", headers=admin, json={"status": "closed"})

    r = client.get(f"{API}/lists/match", params={"need": need})
    assert r.status_code == 200, r.text
    matches = r.json()["matches"]
    assert [m["resource_id"] for m in matches] == [
        far_corner,
        east_near,
        east_far,
        in_circle,
        elsewhere,
    ]
    assert [m["tier"] for m in matches] == [
        "same grid",
        "same community",
        "same community",
        "same service circle",
        "elsewhere",
    ]
    by_id = {m["resource_id"]: m for m in matches}
    # Along the street from 300 m west to 200 m east of the junction.
    assert by_id[east_near]["distance_kind"] == "walk"
    assert by_id[east_near]["distance_m"] == pytest.approx(500, abs=3)
    assert by_id[in_circle]["distance_m"] == pytest.approx(1300, abs=5)
    straight = client.get(f"{API}/lists/match", params={"need": need, "by": "straight"}).json()
    assert all(m["distance_kind"] == "straight" for m in straight["matches"])
    assert client.get(f"{API}/lists/match", params={"need": east_near}).status_code == 422
    assert client.get(f"{API}/lists/match", params={"need": 999999}).status_code == 404

    r = client.post(f"{API}/lists/match", headers=admin, json={"need": need, "resource": east_near})
    assert r.status_code == 201, r.text
    project = r.json()["properties"]
    assert project["list"] == "project" and project["need_id"] == need
    assert project["resource_id"] == east_near and project["grid_code"] == WEST_GRID
    statuses = dict(
        db.execute(
            text("SELECT id, status FROM list_item WHERE id IN (:a, :b)"),
            {"a": need, "b": east_near},
        ).all()
    )
    assert statuses == {need: "matched", east_near: "matched"}
    again = client.post(
        f"{API}/lists/match", headers=admin, json={"need": need, "resource": east_far}
    )
    assert again.status_code == 409 and "not open" in again.json()["detail"]
    other = add("need", offset(-320, 0), "另一需求", category="法律咨询")
    mixed = client.post(
        f"{API}/lists/match", headers=admin, json={"need": other, "resource": east_far}
    )
    assert mixed.status_code == 409 and "one category" in mixed.json()["detail"]
