"""Posts Party members hold (设岗定责): set up, claimed, released, hours served."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.api.test_list_flow import OTHER, World, world
from tests.utils.fixtures import COMMUNITY, EAST_GRID, WEST_GRID, bearer

API = "/api/v1/party-posts"


def post(client: TestClient, w: World, **extra: object) -> dict[str, object]:
    body = {
        "title": "政策宣传岗",
        "duty": "每月宣讲一次",
        "community_code": COMMUNITY,
        "grid_code": WEST_GRID,
        **extra,
    }
    r = client.post(API, json=body, headers=w.office)
    assert r.status_code == 201, r.text
    return dict(r.json())


def count(db: Session, sql: str = "SELECT count(*) FROM party_post") -> int:
    return int(db.execute(text(sql)).scalar_one())


def test_a_post_is_set_up_claimed_served_and_released(client: TestClient, db: Session) -> None:
    w = world(db)
    p = post(client, w, org_id=w.west_branch)
    assert p["code"].startswith("P") and p["member"] is None and p["hours"] == 0
    r = client.post(f"{API}/{p['id']}/claim", headers=w.me)
    assert r.status_code == 200 and r.json()["member"] == {"id": w.member, "name": "钱多多"}
    # A viewer sees the holder's family name only; the branch sees the name.
    assert client.get(f"{API}/{p['id']}").json()["member"]["name"] == "钱**"
    assert client.get(f"{API}/{p['id']}", headers=w.west).json()["member"]["name"] == "钱多多"
    r = client.post(f"{API}/{p['id']}/claim", headers=w.registered_token)
    assert r.status_code == 409 and r.json()["code"] == "post_taken"
    r = client.post(f"{API}/{p['id']}/hours", json={"hours": 2, "note": "宣讲"}, headers=w.me)
    assert r.status_code == 200 and r.json()["hours"] == 2
    r = client.post(f"{API}/{p['id']}/hours", json={"hours": 1.5}, headers=w.west)
    assert r.status_code == 200 and r.json()["hours"] == 3.5
    hours = db.execute(
        text("SELECT hours_served FROM party_member WHERE id = :m"), {"m": w.member}
    ).scalar_one()
    assert float(hours) == 3.5
    # Another member may neither log hours nor release it.
    assert (
        client.post(
            f"{API}/{p['id']}/hours", json={"hours": 1}, headers=w.registered_token
        ).status_code
        == 403
    )
    assert client.post(f"{API}/{p['id']}/release", headers=w.registered_token).status_code == 403
    assert client.post(f"{API}/{p['id']}/release", headers=w.me).status_code == 200
    r = client.post(f"{API}/{p['id']}/release", headers=w.office)
    assert r.status_code == 409 and r.json()["code"] == "post_not_taken"
    r = client.post(f"{API}/{p['id']}/hours", json={"hours": 1}, headers=w.office)
    assert r.status_code == 409
    actions = (
        db.execute(text("SELECT action FROM audit_log WHERE entity = 'party_post' ORDER BY id"))
        .scalars()
        .all()
    )
    assert actions == ["create", "claim", "hours", "hours", "release"]
    assert client.get(f"{API}?claimed=false&community={COMMUNITY}").json()["numberMatched"] == 1


def test_who_may_set_up_and_change_posts(client: TestClient, db: Session) -> None:
    w = world(db)
    before = count(db)
    body = {"title": "环境监督岗", "community_code": COMMUNITY, "grid_code": WEST_GRID}
    # The west branch may, in its grid; not in the east grid nor without a grid.
    assert client.post(API, json=body, headers=w.west).status_code == 201
    assert (
        client.post(API, json={**body, "grid_code": EAST_GRID}, headers=w.west).status_code == 403
    )
    assert client.post(API, json={**body, "grid_code": None}, headers=w.west).status_code == 403
    for headers, status in (
        (w.me, 403),
        (bearer(db, "viewer", COMMUNITY), 403),
        (bearer(db, "worker", WEST_GRID), 403),
        ({}, 401),
        (bearer(db, "community", OTHER), 403),
    ):
        assert client.post(API, json=body, headers=headers).status_code == status
    assert count(db) == before + 1
    p = post(client, w)
    # The branch may not move it out of its grids; the office may.
    r = client.patch(f"{API}/{p['id']}", json={"grid_code": EAST_GRID}, headers=w.west)
    assert r.status_code == 403
    r = client.patch(
        f"{API}/{p['id']}", json={"grid_code": EAST_GRID, "title": "卫生监督岗"}, headers=w.office
    )
    assert r.status_code == 200 and r.json()["grid_code"] == EAST_GRID
    assert client.delete(f"{API}/{p['id']}", headers=w.west).status_code == 403
    assert client.delete(f"{API}/{p['id']}", headers=w.east).status_code == 204
    assert client.get(f"{API}/{p['id']}").status_code == 404


@pytest.mark.parametrize(
    "change",
    [
        {"title": ""},
        {"title": "x" * 101},
        {"title": "a\nb"},
        {"title": None},
        {"community_code": "110108010"},
        {"community_code": "'; DROP TABLE party_post; --"},
        {"community_code": OTHER},
        {"grid_code": "110108010002001"},
        {"grid_code": "abc"},
        {"org_id": 999999},
        {"org_id": "x"},
        {"code": "1bad"},
        {"code": "P" * 40},
        {"member_id": 1},
        {"hours": 5},
    ],
)
def test_malformed_posts_are_refused(
    client: TestClient, db: Session, change: dict[str, object]
) -> None:
    world(db)
    before = count(db)
    # The street's office covers both communities: each refusal is about the body.
    headers = bearer(db, "street", "110108010")
    body = {"title": "政策宣传岗", "community_code": COMMUNITY, "grid_code": WEST_GRID, **change}
    r = client.post(API, json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert count(db) == before


def test_a_member_claims_only_in_their_community(client: TestClient, db: Session) -> None:
    w = world(db)
    p = post(client, w)
    r = client.post(f"{API}/{p['id']}/claim", headers=w.stranger_token)
    assert r.status_code == 403 and r.json()["code"] == "not_a_member"
    r = client.post(f"{API}/{p['id']}/claim", headers=w.office)
    assert r.status_code == 403 and r.json()["code"] == "not_a_member"
    assert client.post(f"{API}/{p['id']}/claim", headers=w.registered_token).status_code == 200
    assert client.post(f"{API}/{p['id']}/claim", headers=w.registered_token).status_code == 200
    assert count(db, "SELECT count(*) FROM audit_log WHERE action = 'claim'") == 1
    for bad in (
        {"hours": 0},
        {"hours": -1},
        {"hours": 1e9},
        {"hours": "x"},
        {"hours": 1, "note": "x" * 501},
        {},
    ):
        assert (
            client.post(f"{API}/{p['id']}/hours", json=bad, headers=w.registered_token).status_code
            == 422
        )
    for path in ("999999/claim", "0/claim", "x/claim", "999999/release", "999999/hours"):
        r = client.post(f"{API}/{path}", json={"hours": 1}, headers=w.me)
        assert r.status_code in (404, 422), path
    for bad in ("community=1", "grid=x", "org=-1", "claimed=maybe", "limit=0"):
        assert client.get(f"{API}?{bad}").status_code == 422, bad


def test_an_automatic_code_steps_around_a_given_one_and_a_taken_code_is_409(
    client: TestClient, db: Session
) -> None:
    w = world(db)
    n = int(
        db.execute(text("SELECT nextval(pg_get_serial_sequence('party_post', 'id'))")).scalar_one()
    )
    # A post given the code the next automatic one would get (that one's id is n + 2).
    given = post(client, w, code=f"P{n + 2:04d}")
    assert given["code"] == f"P{n + 2:04d}"
    auto = post(client, w)
    assert auto["code"] == f"P{n + 2:04d}-2"
    before = count(db), count(db, "SELECT count(*) FROM audit_log")
    body = {"title": "又一岗", "community_code": COMMUNITY, "code": f"P{n + 2:04d}"}
    r = client.post(API, json=body, headers=w.office)
    assert (r.status_code, r.json()["code"]) == (409, "post_code_taken"), r.text
    assert (count(db), count(db, "SELECT count(*) FROM audit_log")) == before
