"""Service centres, their circles over a hand-built network, and the coverage of homes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import COMMUNITY, EAST_GRID, WEST_GRID, bearer, two_grids
from tests.utils.homes import add_building, add_centre
from tests.utils.network import CENTRE, add_edge, cross, cross_area_m2, offset

import shapely
from shapely.geometry import Point, shape

API = "/api/v1"


def _area_m2(geometry: dict[str, Any]) -> float:
    from gridmap.geo.metric import transformer, utm_epsg

    there = transformer(4326, utm_epsg(*CENTRE))
    projected = shapely.transform(
        shape(geometry), lambda xy: np.column_stack(there.transform(xy[:, 0], xy[:, 1]))
    )
    return float(projected.area)


def _circle(client: TestClient, center_id: int) -> dict[str, Any]:
    circles = client.get(f"{API}/service-circles").json()["features"]
    mine = [c for c in circles if c["properties"]["center_id"] == center_id]
    assert len(mine) == 1
    return mine[0]


@pytest.fixture
def admin(db: Session) -> dict[str, str]:
    return bearer(db, "admin", None, name="管理员")


def test_circle_on_the_cross_follows_the_streets(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    two_grids(db)
    cross(db)
    r = add_centre(client, admin, CENTRE)
    assert r.status_code == 201, r.text
    center_id = r.json()["properties"]["id"]
    assert r.json()["properties"]["circles"][0]["method"] == "network"
    circle = _circle(client, center_id)
    props = circle["properties"]
    assert props["method"] == "network" and props["minutes"] == 15
    assert props["params"]["budget_m"] == 1125.0 and props["params"]["speed_kmh"] == 4.5
    assert props["params"]["snapped_m"] == pytest.approx(0, abs=0.01)
    # 1,125 m along each arm, 100 m either side of it.
    assert _area_m2(circle["geometry"]) == pytest.approx(cross_area_m2(1125, 100), rel=0.005)
    geom = shape(circle["geometry"])
    assert geom.contains(Point(offset(1200, 0))) and not geom.contains(Point(offset(1240, 0)))
    assert geom.contains(Point(offset(0, -1200))) and not geom.contains(Point(offset(0, -1240)))
    # The empty quarter between two arms is not reached, though a hull of the ends would be.
    assert not geom.contains(Point(offset(500, 500)))


def test_a_centre_off_the_street_walks_there_first(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    two_grids(db)
    cross(db)
    # 50 m north of the east arm, 500 m out: 1,075 m left on reaching it.
    center_id = add_centre(client, admin, offset(500, 50)).json()["properties"]["id"]
    props = _circle(client, center_id)["properties"]
    geom = shape(_circle(client, center_id)["geometry"])
    assert props["method"] == "network" and props["params"]["snapped_m"] == pytest.approx(50, 0.01)
    # East along the arm to 500 + 1,075 = 1,575 m (+100 m of homes); back west to the junction
    # (500 m), then 575 m up the north arm.
    assert geom.contains(Point(offset(1660, 0))) and not geom.contains(Point(offset(1700, 0)))
    assert geom.contains(Point(offset(0, 660))) and not geom.contains(Point(offset(0, 700)))
    assert geom.contains(Point(offset(-560, 0))) and not geom.contains(Point(offset(-700, 0)))


def test_no_network_nearby_gives_a_plain_buffer(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    two_grids(db)
    cross(db)
    far = offset(3000, 3000)
    center_id = add_centre(client, admin, far).json()["properties"]["id"]
    circle = _circle(client, center_id)
    assert circle["properties"]["method"] == "buffer"
    assert circle["properties"]["params"]["buffer_m"] == 1000.0
    assert "no walkable street within 300 m" in circle["properties"]["params"]["why"]
    assert _area_m2(circle["geometry"]) == pytest.approx(3.14159e6, rel=0.01)
    # A lone 200 m street is a fragment of a map, not a network: a buffer too, saying why.
    add_edge(db, 10, 11, [offset(-3000, 3000), offset(-2800, 3000)])
    lone = add_centre(client, admin, offset(-2900, 3020), code="C2").json()["properties"]["id"]
    params = _circle(client, lone)["properties"]["params"]
    assert _circle(client, lone)["properties"]["method"] == "buffer"
    assert "joins only" in params["why"]


def test_moving_or_removing_a_centre_redraws_its_circle(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    two_grids(db)
    cross(db)
    center_id = add_centre(client, admin, offset(3000, 3000)).json()["properties"]["id"]
    assert _circle(client, center_id)["properties"]["method"] == "buffer"
    x, y = CENTRE
    r = client.patch(f"{API}/service-centers/{center_id}", headers=admin, json={"x": x, "y": y})
    assert r.status_code == 200, r.text
    assert _circle(client, center_id)["properties"]["method"] == "network"
    assert client.delete(f"{API}/service-centers/{center_id}", headers=admin).status_code == 204
    assert client.get(f"{API}/service-circles").json()["features"] == []
    assert client.get(f"{API}/service-centers/{center_id}").status_code == 404


def test_centre_writes_refuse_bad_input_and_strangers(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    two_grids(db)
    count = "SELECT count(*) FROM service_center"
    before = db.execute(text(count)).scalar_one()
    base = {
        "code": "C9",
        "kind": "party_mass_center",
        "name": "中心",
        "x": CENTRE[0],
        "y": CENTRE[1],
    }
    assert client.post(f"{API}/service-centers", json=base).status_code == 401
    viewer = bearer(db, "viewer", COMMUNITY, name="观察员")
    assert client.post(f"{API}/service-centers", headers=viewer, json=base).status_code == 403
    other = bearer(db, "community", "110108010002", name="别的社区")
    assert client.post(f"{API}/service-centers", headers=other, json=base).status_code == 403
    for bad in (
        {**base, "kind": "castle"},
        {**base, "x": "east"},
        {**base, "x": 40.005, "y": 116.345},
        {**base, "code": "no spaces allowed"},
        {**base, "name": "x" * 500},
        {**base, "crs": "EPSG:99999"},
        {**base, "colour": "red"},
    ):
        r = client.post(f"{API}/service-centers", headers=admin, json=bad)
        assert r.status_code == 422, (bad, r.text)
    r = client.post(f"{API}/service-centers", headers=admin, content=b"{not json", params={})
    assert r.status_code == 422
    assert db.execute(text(count)).scalar_one() == before
    ok = client.post(f"{API}/service-centers", headers=bearer(db), json=base)
    assert ok.status_code == 201, ok.text
    assert ok.json()["properties"]["region_code"] == COMMUNITY
    assert client.post(f"{API}/service-centers", headers=admin, json=base).status_code == 409
    assert client.get(f"{API}/service-centers/0").status_code == 422
    assert client.patch(f"{API}/service-centers/999999", headers=admin, json={}).status_code == 404


def test_coverage_per_grid_community_and_street(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    two_grids(db)
    cross(db)
    db.execute(
        text("UPDATE grid SET kind = 'exclusive', subtype = 'school' WHERE code = :g"),
        {"g": EAST_GRID},
    )
    add_centre(client, admin, CENTRE)
    # West grid: one building on the west arm (covered), one in the far corner (not).
    add_building(db, "B-W1", WEST_GRID, offset(-300, 20), 4)
    add_building(db, "B-W2", WEST_GRID, (116.3405, 40.0005), 6)
    # East grid: on the east arm (covered), beside it beyond the walk (not), and empty (covered).
    add_building(db, "B-E1", EAST_GRID, offset(300, -30), 10)
    add_building(db, "B-E2", EAST_GRID, offset(380, 450), 5)
    add_building(db, "B-E3", EAST_GRID, offset(50, 50), 0)
    db.flush()
    r = client.get(f"{API}/coverage", params={"region": COMMUNITY})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["minutes"] == 15 and body["centres"] == 1
    assert body["totals"] == {
        "buildings": 5,
        "buildings_covered": 3,
        "households": 25,
        "households_covered": 14,
        "share": 0.56,
    }
    grids = {g["code"]: g for g in body["grids"]}
    assert (grids[WEST_GRID]["households"], grids[WEST_GRID]["households_covered"]) == (10, 4)
    assert grids[WEST_GRID]["share"] == 0.4 and grids[WEST_GRID]["kind"] == "basic"
    assert (grids[EAST_GRID]["buildings"], grids[EAST_GRID]["buildings_covered"]) == (3, 2)
    assert grids[EAST_GRID]["share"] == pytest.approx(10 / 15, abs=1e-4)
    assert body["exclusive_grids"]["totals"]["households"] == 15
    assert [g["code"] for g in body["exclusive_grids"]["grids"]] == [EAST_GRID]
    assert body["communities"][0]["code"] == COMMUNITY
    assert body["communities"][0]["name"] == "测试社区"
    assert body["streets"][0]["households_covered"] == 14
    uncovered = body["uncovered"]["features"]
    assert sorted(f["properties"]["code"] for f in uncovered) == ["B-E2", "B-W2"]
    assert all(f["properties"]["metres_to_nearest_circle"] > 0 for f in uncovered)
    same = client.get(f"{API}/coverage/uncovered", params={"region": COMMUNITY}).json()
    assert [f["properties"]["code"] for f in same["features"]] == ["B-E2", "B-W2"]
    r = client.get(f"{API}/coverage", params={"region": COMMUNITY, "minutes": 10})
    assert r.status_code == 422 and "circles rebuild --minutes 10" in r.json()["detail"]
    assert client.get(f"{API}/coverage", params={"region": "11'; DROP"}).status_code == 422
    assert client.get(f"{API}/coverage", params={"minutes": 0}).status_code == 422
