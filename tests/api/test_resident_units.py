"""Resident units (驻区单位) as GeoJSON Features: grid and community from the point, joining and
leaving the community's big Party committee, contacts masked, bad points refused."""

from __future__ import annotations

from collections.abc import Iterator
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
    add_region,
    bearer,
    square,
    two_grids,
)
from tests.utils.org import add_org
from tests.utils.org_client import atomic_client

from gridmap.settings import Settings

API = "/api/v1"
OTHER = STREET + "002"


@pytest.fixture
def api(settings: Settings, db: Session) -> Iterator[TestClient]:
    yield from atomic_client(settings, db)


def unit(lon: float, lat: float, **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"name": "某科技公司(生成)", "kind": "enterprise", **props},
    }


def test_units_lie_where_their_point_is_and_join_the_committee(
    api: TestClient, db: Session
) -> None:
    two_grids(db)
    add_region(db, OTHER, "community", "另一社区", STREET, square(116.35, 40.0, 116.36, 40.01))
    committee = add_org(db, "committee", "C-T", "测试大党委", COMMUNITY)
    elsewhere = add_org(db, "committee", "C-O", "另一大党委", OTHER)
    db.flush()
    office = bearer(db)
    r = api.post(
        f"{API}/resident-units",
        headers=office,
        json=unit(
            116.342,
            40.005,
            code="U-1",
            contact_name="测试联系人",
            contact_phone="13400000001",
            committee_id=committee,
        ),
    )
    assert r.status_code == 201, r.text
    props = r.json()["properties"]
    assert props["grid_code"] == WEST_GRID and props["community_code"] == COMMUNITY
    assert props["committee_id"] == committee and props["joined_at"] is not None
    assert props["contact_name"] == "测试联系人" and props["masked"] is False
    assert r.json()["geometry"]["coordinates"] == [116.342, 40.005]
    uid = props["id"]
    anonymous = api.get(f"{API}/resident-units/{uid}").json()["properties"]
    assert anonymous["contact_name"] is None and anonymous["contact_phone"] is None
    assert anonymous["masked"] is True
    # Moved east; a committee of another community refused; left.
    r = api.patch(
        f"{API}/resident-units/{uid}",
        headers=office,
        json={"geometry": {"type": "Point", "coordinates": [116.348, 40.005]}},
    )
    assert r.status_code == 200 and r.json()["properties"]["grid_code"] == EAST_GRID
    r = api.patch(
        f"{API}/resident-units/{uid}",
        headers=office,
        json={"properties": {"committee_id": elsewhere}},
    )
    assert (r.status_code, r.json()["code"]) == (422, "unit_committee_elsewhere")
    r = api.patch(
        f"{API}/resident-units/{uid}", headers=office, json={"properties": {"committee_id": None}}
    )
    assert r.status_code == 200
    assert r.json()["properties"]["committee_id"] is None
    assert r.json()["properties"]["joined_at"] is None
    joined = api.get(f"{API}/resident-units", params={"committee": "true"}).json()
    assert joined["numberMatched"] == 0
    listed = api.get(f"{API}/resident-units", params={"community": COMMUNITY}).json()
    assert [f["properties"]["id"] for f in listed["features"]] == [uid]
    # A point in GCJ-02 is stored in WGS84.
    r = api.post(
        f"{API}/resident-units",
        headers=office,
        params={"crs": "GCJ-02"},
        json=unit(116.3481, 40.0063),
    )
    assert r.status_code == 201, r.text
    assert r.json()["properties"]["code"].startswith("U")
    assert api.delete(f"{API}/resident-units/{uid}", headers=office).status_code == 204
    actions = db.execute(
        text("SELECT action FROM audit_log WHERE entity = 'resident_unit' ORDER BY id")
    ).scalars()
    assert list(actions) == ["create", "update", "leave", "create", "delete"]


def test_bad_units_are_refused_and_nothing_is_written(api: TestClient, db: Session) -> None:
    two_grids(db)
    db.flush()
    office = bearer(db)
    bad: list[tuple[Any, int, str | None]] = [
        (unit(40.005, 116.342), 422, "outside_china"),
        (unit(2.35, 48.85), 422, "outside_china"),
        (unit(116.5, 40.5), 422, "outside_community"),
        (
            {**unit(116.342, 40.005), "geometry": {"type": "LineString", "coordinates": []}},
            422,
            None,
        ),
        ({**unit(116.342, 40.005), "geometry": {"type": "Point", "coordinates": [1]}}, 422, None),
        (unit(116.342, 40.005, name="x" * 10_000), 422, None),
        (unit(116.342, 40.005, name=""), 422, None),
        (unit(116.342, 40.005, kind="bank'; DROP TABLE resident_unit; --"), 422, None),
        (unit(116.342, 40.005, contact_phone="not a phone"), 422, None),
        (unit(116.342, 40.005, committee_id=123456789), 422, "unit_committee_elsewhere"),
        (unit(116.342, 40.005, code="1bad code"), 422, None),
        ({"type": "Feature", "geometry": None, "properties": {}}, 422, None),
        ("not json at all", 422, None),
        ([1, 2, 3], 422, None),
    ]
    for body, status, code in bad:
        r = api.post(f"{API}/resident-units", headers=office, json=body)
        assert r.status_code == status, (body, r.text)
        if code is not None:
            assert r.json()["code"] == code, r.text
    r = api.post(
        f"{API}/resident-units",
        headers={**office, "Content-Type": "application/json"},
        content='{"type": "Feature", "geometry": {"type": "Point", "coordinates": [NaN, 40]},'
        ' "properties": {"name": "某"}}',
    )
    assert r.status_code == 422
    assert api.get(f"{API}/resident-units/999999").status_code == 404
    assert api.get(f"{API}/resident-units/0").status_code == 422
    assert db.execute(text("SELECT count(*) FROM resident_unit")).scalar() == 0
    assert db.execute(text("SELECT count(*) FROM audit_log")).scalar() == 0
