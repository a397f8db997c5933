"""The public need form (群众点单, no token) and a community's lists in public."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import COMMUNITY, STREET, WEST_GRID, bearer, two_grids
from tests.utils.org import add_member, add_org, member_bearer

from gridmap.settings import Settings

API = "/api/v1"
FORM = f"{API}/public/{COMMUNITY}/needs"
NEED = {
    "title": "楼道灯坏了",
    "description": "3号楼2单元楼道灯不亮，老人夜里出门不便。",
    "category": "助老服务",
    "lon": 116.342,
    "lat": 40.005,
    "contact_name": "赵桂兰",
    "contact_phone": "13911112222",
}


def _count(db: Session, table: str) -> int:
    return int(db.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def test_a_resident_enters_a_need_that_reaches_the_grid_and_its_branch(
    client: TestClient, db: Session
) -> None:
    two_grids(db)
    committee = add_org(db, "committee", "C-T1", "测试社区大党委", COMMUNITY)
    branch = add_org(
        db, "branch", "B-T1", "西网格党支部", COMMUNITY, parent=committee, grids=(WEST_GRID,)
    )
    r = client.post(FORM, json=NEED)
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"code", "status", "grid_code", "grid_name"}
    assert body["status"] == "open" and body["grid_code"] == WEST_GRID
    assert body["grid_name"] == "西网格"
    # Nothing of the contact or the point comes back.
    for secret in ("赵桂兰", "13911112222", "116.342", "40.005"):
        assert secret not in r.text
    row = db.execute(
        text(
            "SELECT list, source, owner_kind, org_id, contact_name, contact_phone, wish, "
            "ST_X(geom) AS lon FROM list_item WHERE code = :c"
        ),
        {"c": body["code"]},
    ).one()
    assert (row.list, row.source, row.owner_kind, row.org_id) == (
        "need",
        "public",
        "resident",
        branch,
    )
    assert (row.contact_name, row.contact_phone, row.wish) == ("赵桂兰", "13911112222", False)
    assert row.lon == pytest.approx(116.342)
    audit = db.execute(
        text("SELECT actor, after FROM audit_log WHERE entity = 'list_item' AND entity_key = :c"),
        {"c": body["code"]},
    ).one()
    assert audit.actor == "public form" and audit.after["contact_phone"] == "13911112222"
    # The client is kept only as a keyed hash, never its address.
    clients = db.execute(text("SELECT client FROM public_submission")).scalars().all()
    assert len(clients) == 1 and len(clients[0]) == 64 and "testclient" not in clients[0]
    # The branch's secretary sees the contact; a viewer does not.
    branch_token = bearer(db, "community", COMMUNITY)
    seen = client.get(f"{API}/lists?wish=false", headers=branch_token).json()["features"][0]
    assert seen["properties"]["contact_phone"] == "13911112222"
    hidden = client.get(f"{API}/lists").json()["features"][0]["properties"]
    assert hidden["contact_phone"] != "13911112222" and hidden["source"] == "public"


def test_a_wish_is_listed_as_a_wish(client: TestClient, db: Session) -> None:
    two_grids(db)
    r = client.post(FORM, json={**NEED, "wish": True, "title": "想要一套儿童绘本"})
    assert r.status_code == 201
    page = client.get(f"{API}/public/{COMMUNITY}").json()
    assert [w["title"] for w in page["wishes"]] == ["想要一套儿童绘本"] and page["needs"] == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"lon": 116.36}, "outside_community"),
        ({"lon": 16.342}, "outside_china"),
        ({"lon": 40.005, "lat": 116.342}, "outside_china"),
        ({"title": ""}, "invalid_input"),
        ({"title": "长" * 61}, "invalid_input"),
        ({"title": "a\nb"}, "invalid_input"),
        ({"description": "长" * 1001}, "invalid_input"),
        ({"category": "随便"}, "invalid_input"),
        ({"category": "'; DROP TABLE list_item; --"}, "invalid_input"),
        ({"contact_phone": "call me"}, "invalid_input"),
        ({"contact_phone": "1" * 300}, "invalid_input"),
        ({"contact_name": "x" * 51}, "invalid_input"),
        ({"lon": "here"}, "invalid_input"),
        ({"lon": None}, "invalid_input"),
        ({"lat": [1, 2]}, "invalid_input"),
        ({"wish": "perhaps"}, "invalid_input"),
        ({"source": "office"}, "invalid_input"),
        ({"org_id": 1}, "invalid_input"),
        ({"grid_code": WEST_GRID}, "invalid_input"),
    ],
)
def test_every_refusal_says_why_and_writes_nothing(
    client: TestClient, db: Session, change: dict[str, object], code: str
) -> None:
    two_grids(db)
    before = (_count(db, "list_item"), _count(db, "public_submission"), _count(db, "audit_log"))
    r = client.post(FORM, json={**NEED, **change})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == code, r.text
    after = (_count(db, "list_item"), _count(db, "public_submission"), _count(db, "audit_log"))
    assert after == before


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_coordinates_that_are_not_finite_numbers_are_refused(
    client: TestClient, db: Session, raw: str
) -> None:
    two_grids(db)
    body = json.dumps({**NEED, "lon": 0}).replace('"lon": 0', f'"lon": {raw}')
    r = client.post(FORM, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert _count(db, "list_item") == 0


def test_wrong_places_in_the_path(client: TestClient, db: Session) -> None:
    two_grids(db)
    assert client.post(f"{API}/public/110108010009/needs", json=NEED).status_code == 404
    for code in (STREET, WEST_GRID):
        r = client.post(f"{API}/public/{code}/needs", json=NEED)
        assert r.status_code == 422 and r.json()["code"] == "not_a_community", r.text
        r = client.get(f"{API}/public/{code}")
        assert r.status_code == 422 and r.json()["code"] == "not_a_community"
    assert client.get(f"{API}/public/110108010009").status_code == 404
    for bad in ("abc", "1' OR '1'='1", "1" * 40):
        assert client.get(f"{API}/public/{bad}").status_code in (404, 422)
        assert client.post(f"{API}/public/{bad}/needs", json=NEED).status_code in (404, 422)
    assert (
        client.post(
            FORM, content=b"{not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 422
    )
    assert (
        client.post(FORM, content=b"[]", headers={"Content-Type": "application/json"}).status_code
        == 422
    )
    assert _count(db, "list_item") == 0


def test_sql_like_text_is_kept_as_text(client: TestClient, db: Session) -> None:
    two_grids(db)
    title = "'); DELETE FROM list_item; --"
    r = client.post(FORM, json={**NEED, "title": title})
    assert r.status_code == 201
    assert db.execute(text("SELECT title FROM list_item")).scalar_one() == title


def test_three_an_hour_then_429_with_retry_after_and_another_client_passes(
    client: TestClient, db: Session
) -> None:
    two_grids(db)
    # The test client's address is the same for every request (X-Forwarded-For is not trusted).
    for n in range(3):
        r = client.post(FORM, json={**NEED, "title": f"需求{n}"}, headers=_from(f"10.0.0.{n}"))
        assert r.status_code == 201, r.text
    r = client.post(FORM, json={**NEED, "title": "第四条"}, headers=_from("10.0.0.9"))
    assert r.status_code == 429, r.text
    assert r.json()["code"] == "too_many_requests"
    wait = int(r.headers["Retry-After"])
    assert 3500 <= wait <= 3600
    assert _count(db, "list_item") == 3 and _count(db, "public_submission") == 3
    # An hour on, the oldest no longer counts: one more passes.
    db.execute(
        text(
            "UPDATE public_submission SET at = at - interval '61 minutes' WHERE id = (SELECT min(id) FROM public_submission)"
        )
    )
    assert client.post(FORM, json=NEED).status_code == 201
    # Rows older than a day are forgotten as new ones come.
    db.execute(text("UPDATE public_submission SET at = at - interval '2 days'"))
    assert client.post(FORM, json=NEED).status_code == 201
    assert _count(db, "public_submission") == 1


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    settings: Settings, db: Session
) -> None:
    from gridmap.dependencies import get_session
    from gridmap.main import create_app

    two_grids(db)
    s = settings.model_copy(deep=True)
    s.api.trust_forwarded_for = True
    app = create_app(s)
    app.dependency_overrides[get_session] = lambda: (yield db)
    with TestClient(app) as client:
        # The proxy appends the address it saw; what the client wrote before it is not believed.
        for n in range(3):
            spoofed = _from(f"203.0.113.{n}, 10.0.0.1")
            assert client.post(FORM, json=NEED, headers=spoofed).status_code == 201
        r = client.post(FORM, json=NEED, headers=_from("198.51.100.7, 10.0.0.1"))
        assert r.status_code == 429, r.text
        assert client.post(FORM, json=NEED, headers=_from("10.0.0.1")).status_code == 429
        assert client.post(FORM, json=NEED, headers=_from("10.0.0.1, 10.0.0.2")).status_code == 201
        # Without the header, the proxy's own address is the client.
        assert client.post(FORM, json=NEED).status_code == 201
    assert _count(db, "list_item") == 5 and _count(db, "public_submission") == 5


def test_an_ipv6_client_is_counted_by_its_64(settings: Settings, db: Session) -> None:
    from gridmap.dependencies import get_session
    from gridmap.main import create_app

    two_grids(db)
    s = settings.model_copy(deep=True)
    s.api.trust_forwarded_for = True
    app = create_app(s)
    app.dependency_overrides[get_session] = lambda: (yield db)
    with TestClient(app) as client:
        # Three addresses of one /64 (the rest of it is the client's to choose): one client.
        for n in range(3):
            r = client.post(FORM, json=NEED, headers=_from(f"2001:db8:1:2::{n + 1:x}"))
            assert r.status_code == 201, r.text
        r = client.post(FORM, json=NEED, headers=_from("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        assert r.status_code == 429, r.text
        assert _count(db, "list_item") == 3
        # The next /64 is another client.
        r = client.post(FORM, json=NEED, headers=_from("2001:db8:1:3::1"))
        assert r.status_code == 201, r.text
    assert _count(db, "list_item") == 4 and _count(db, "public_submission") == 4


def test_the_public_read_shows_progress_and_no_personal_data(
    client: TestClient, db: Session
) -> None:
    two_grids(db)
    committee = add_org(db, "committee", "C-T1", "测试社区大党委", COMMUNITY)
    branch = add_org(
        db, "branch", "B-T1", "西网格党支部", COMMUNITY, parent=committee, grids=(WEST_GRID,)
    )
    member = add_member(db, "钱多多", "13622223333", org=branch)
    code = client.post(FORM, json=NEED).json()["code"]
    item = db.execute(text("SELECT id FROM list_item WHERE code = :c"), {"c": code}).scalar_one()
    office = bearer(db, "community", COMMUNITY)
    me = member_bearer(db, member)
    assert client.post(f"{API}/lists/{item}/claim", headers=me).status_code == 200
    r = client.post(
        f"{API}/lists/{item}/complete",
        headers=me,
        json={"report": "已请物业更换灯泡，钱多多陪同赵桂兰检查", "hours": 1.5},
    )
    assert r.status_code == 200, r.text
    db.execute(
        text(
            "INSERT INTO party_post (code, title, duty, community_code, grid_code, member_id, "
            "claimed_at) VALUES ('P-1', '政策宣传岗', '宣传政策', :c, :g, :m, now())"
        ),
        {"c": COMMUNITY, "g": WEST_GRID, "m": member},
    )
    r = client.get(f"{API}/public/{COMMUNITY}", headers=office)
    assert r.status_code == 200
    assert "max-age" in r.headers["cache-control"]
    page = r.json()
    assert page["community"]["code"] == COMMUNITY and page["community"]["street"]["code"] == STREET
    assert page["counts"] == {"done": 1}
    (need,) = page["needs"]
    assert need["code"] == code and need["status"] == "done" and need["done_at"]
    assert need["grid_name"] == "西网格"
    (post,) = page["posts"]
    assert post["claimed"] is True and "member_id" not in post
    # No name, phone, point, report or member id anywhere in the answer.
    for secret in (
        "赵桂兰",
        "13911112222",
        "钱多多",
        "13622223333",
        "116.342",
        "40.005",
        "已请物业",
        "member",
        "report",
        "contact",
        "geometry",
        "coordinates",
    ):
        assert secret not in r.text, secret
