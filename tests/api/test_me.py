"""Who a token is (GET /me), and the overlay lists read for a map view (bbox=)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import COMMUNITY, EAST_GRID, STREET, WEST_GRID, add_staff, two_grids
from tests.utils.homes import add_building, add_centre
from tests.utils.network import CENTRE, cross, offset

from gridmap.auth import Holder, create_token, revoke_token

API = "/api/v1"
ME = f"{API}/me"


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_me_says_who_an_office_token_is(client: TestClient, db: Session) -> None:
    two_grids(db)
    secret, _ = create_token(db, name="学院路街道办", role="street", region=STREET, days=30)
    db.flush()
    r = client.get(ME, headers=_auth(secret))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["holder"] == "office" and body["name"] == "学院路街道办"
    assert body["role"] == "street" and body["region"] == STREET
    assert body["region_name"] == "学院路街道" and body["region_level"] == "street"
    assert body["edits_grids"] is True and body["grids"] is None
    assert body["expires_at"] is not None


def test_me_names_a_staff_members_grids(client: TestClient, db: Session) -> None:
    two_grids(db)
    person = add_staff(db, EAST_GRID, "worker", "孙网格", "13700001111")
    secret, _ = create_token(db, holder=Holder("staff", person=person))
    viewer, _ = create_token(db, name="看图", role="viewer", region=WEST_GRID)
    db.flush()
    body = client.get(ME, headers=_auth(secret)).json()
    assert body["holder"] == "staff" and body["role"] == "worker" and body["name"] == "孙网格"
    assert body["grids"] == [{"code": EAST_GRID, "name": "东网格"}]
    assert body["edits_grids"] is False and body["expires_at"] is None
    body = client.get(ME, headers=_auth(viewer)).json()
    assert (body["region_level"], body["region_name"]) == ("grid", "西网格")


def test_me_refuses_unknown_revoked_expired_and_missing_tokens(
    client: TestClient, db: Session
) -> None:
    two_grids(db)
    secret, token_id = create_token(db, name="社区办", role="community", region=COMMUNITY)
    old, old_id = create_token(db, name="旧令牌", role="community", region=COMMUNITY, days=1)
    db.execute(
        text("UPDATE api_token SET expires_at = now() - interval '1 day' WHERE id = :i"),
        {"i": old_id},
    )
    db.flush()
    assert client.get(ME, headers=_auth(secret)).status_code == 200
    revoke_token(db, token_id)
    db.flush()
    for headers in (
        _auth(secret),
        _auth(old),
        _auth("gm_not-a-token"),
        _auth("hello"),
        {"Authorization": "Basic abc"},
        {},
    ):
        r = client.get(ME, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.json()["code"] == "unauthorized" and r.json()["detail"]
    assert client.get(ME, headers=_auth("gm_" + "x" * 400)).status_code in (401, 422)


@pytest.mark.parametrize(
    "path",
    [
        "/incidents",
        "/lists",
        "/households",
        "/service-centers",
        "/service-circles",
        "/coverage/uncovered",
    ],
)
@pytest.mark.parametrize(
    ("bbox", "why"),
    [
        ("1,2,3", "four"),
        ("a,b,c,d", "four numbers"),
        ("nan,40,116.4,40.1", "finite"),
        ("116.4,40,116.3,40.1", "west"),
        ("116.3,40.1,116.4,40.1", "south < north"),
        ("40,116.3,40.1,116.4", "range"),
        ("-74.1,40.6,-73.9,40.8", "China"),
        ("115.5,39.5,117.5,41", "square degrees"),
        ("1" * 300, "at most 200 characters"),
    ],
)
def test_view_bbox_is_checked(
    client: TestClient, db: Session, path: str, bbox: str, why: str
) -> None:
    two_grids(db)
    r = client.get(API + path, params={"bbox": bbox})
    assert r.status_code == 422, r.text
    assert why in r.json()["detail"]


def test_overlays_read_for_a_view(client: TestClient, db: Session) -> None:
    two_grids(db)
    cross(db)
    admin = _auth(create_token(db, role="admin")[0])
    assert add_centre(client, admin, CENTRE).status_code == 201
    west = add_building(db, "B-W1", WEST_GRID, offset(-300, 20), 2)
    far = add_building(db, "B-F1", WEST_GRID, (116.3405, 40.0005), 3)
    add_building(db, "B-E1", EAST_GRID, (116.3495, 40.0095), 1)
    db.execute(
        text("UPDATE household SET designated = true WHERE building_id IN (:a, :b)"),
        {"a": west, "b": far},
    )
    db.flush()
    for xy, kind in ((offset(-300, 20), "need"), ((116.3405, 40.0005), "resource")):
        r = client.post(
            f"{API}/lists",
            headers=admin,
            json={
                "list": kind,
                "category": "助老服务",
                "title": "陪同",
                "owner_kind": "resident",
                "x": xy[0],
                "y": xy[1],
            },
        )
        assert r.status_code == 201, r.text
        r = client.post(
            f"{API}/incidents",
            headers=admin,
            json={"category": "街面秩序/占道经营", "description": "占道", "x": xy[0], "y": xy[1]},
        )
        assert r.status_code == 201, r.text
    corner = "116.3400,40.0000,116.3420,40.0015"
    everywhere = "116.33,39.99,116.36,40.02"

    def count(path: str, bbox: str, **extra: object) -> tuple[int, int]:
        r = client.get(API + path, params={"bbox": bbox, **extra})
        assert r.status_code == 200, r.text
        body = r.json()
        return len(body["features"]), body.get("numberMatched", len(body["features"]))

    assert count("/lists", corner) == (1, 1) and count("/lists", everywhere) == (2, 2)
    assert count("/incidents", corner) == (1, 1) and count("/incidents", everywhere) == (2, 2)
    assert count("/households", corner, designated="true") == (3, 3)
    assert count("/households", everywhere, designated="true") == (5, 5)
    assert count("/households", everywhere, limit=2) == (2, 6)
    assert count("/service-centers", corner) == (0, 0)
    assert count("/service-centers", everywhere) == (1, 1)
    assert count("/service-circles", everywhere) == (1, 1)
    assert count("/service-circles", everywhere, limit=1) == (1, 1)
    uncovered = client.get(f"{API}/coverage/uncovered", params={"bbox": everywhere}).json()
    codes = sorted(f["properties"]["code"] for f in uncovered["features"])
    assert "B-F1" in codes and "B-W1" not in codes
    assert count("/coverage/uncovered", corner) == (1, 1)
    assert count("/coverage/uncovered", everywhere, limit=1) == (1, len(codes))
