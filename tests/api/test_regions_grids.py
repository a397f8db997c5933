"""GET /api/v1/regions and /api/v1/grids as GeoJSON, /health, and the map at /."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.utils.fixtures import COMMUNITY, EAST_GRID, STREET, WEST_GRID, two_grids

from gridmap.main import create_app
from gridmap.settings import Settings, project_root


@pytest.fixture
def grids(db: Session) -> None:
    two_grids(db)


def test_regions_as_geojson(client: TestClient, grids: None) -> None:
    r = client.get("/api/v1/regions", params={"level": "community"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["numberMatched"] == 1
    f = fc["features"][0]
    assert f["properties"]["code"] == COMMUNITY and f["properties"]["grid_count"] == 2
    assert f["geometry"]["type"] == "MultiPolygon"


def test_regions_page_and_filter(client: TestClient, grids: None) -> None:
    fc = client.get("/api/v1/regions", params={"limit": 2, "offset": 1}).json()
    assert fc["numberMatched"] == 3 and fc["numberReturned"] == 2
    assert [f["properties"]["code"] for f in fc["features"]] == [STREET, COMMUNITY]
    fc = client.get("/api/v1/regions", params={"parent": STREET, "geometry": "false"}).json()
    assert [f["properties"]["code"] for f in fc["features"]] == [COMMUNITY]
    assert fc["features"][0]["geometry"] is None


def test_one_region(client: TestClient, grids: None) -> None:
    f = client.get(f"/api/v1/regions/{STREET}").json()
    assert f["properties"]["children"] == [COMMUNITY]
    r = client.get("/api/v1/regions/110108999")
    assert r.status_code == 404 and r.json()["code"] == "region_not_found"


def test_grids_as_geojson(client: TestClient, grids: None) -> None:
    fc = client.get("/api/v1/grids", params={"community": COMMUNITY}).json()
    assert [f["properties"]["code"] for f in fc["features"]] == [WEST_GRID, EAST_GRID]
    props = fc["features"][0]["properties"]
    assert props["community_name"] == "测试社区" and props["street_code"] == STREET
    assert props["area_m2"] == pytest.approx(426.6 * 1111.9, rel=0.01)
    fc = client.get("/api/v1/grids", params={"bbox": "116.346,40.001,116.349,40.002"}).json()
    assert [f["properties"]["code"] for f in fc["features"]] == [EAST_GRID]
    assert client.get(f"/api/v1/grids/{EAST_GRID}").json()["properties"]["name"] == "东网格"


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/api/v1/grids", {"bbox": "1,2,3"}, 422),
        ("/api/v1/grids", {"bbox": "116.35,40,116.34,40.01"}, 422),
        ("/api/v1/grids", {"bbox": "a,b,c,d"}, 422),
        ("/api/v1/grids", {"bbox": "nan,40,116,41"}, 422),
        ("/api/v1/grids", {"limit": 0}, 422),
        ("/api/v1/grids", {"limit": 10_000_000}, 422),
        ("/api/v1/grids", {"offset": -1}, 422),
        ("/api/v1/grids", {"community": "1101080100'; DROP TABLE grid;--"}, 422),
        ("/api/v1/grids", {"kind": "special"}, 422),
        ("/api/v1/grids/abc", {}, 422),
        ("/api/v1/grids/110108010001999", {}, 404),
        ("/api/v1/regions", {"level": "province"}, 422),
        ("/api/v1/regions/12", {}, 422),
    ],
)
def test_bad_input(
    client: TestClient, grids: None, path: str, params: dict[str, object], status: int
) -> None:
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.json()["detail"] and r.json()["code"]
    # and the data is still there
    assert client.get("/api/v1/grids").json()["numberMatched"] == 2


def test_oversized_body_is_413(client: TestClient) -> None:
    r = client.post("/api/v1/lookup", content=b"x" * (11 * 1024 * 1024))
    assert r.status_code == 413 and r.json()["code"] == "too_large"


def test_health_reports_postgis(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["postgis"].startswith("3.")
    assert body["pgrouting"]
    assert set(body["counts"]) >= {"region", "grid", "building", "incident"}


def test_health_says_when_the_database_is_down() -> None:
    settings = Settings()
    settings.db.url = "postgresql+psycopg://nobody@127.0.0.1:9/none"  # type: ignore[assignment]
    with TestClient(create_app(settings)) as c:
        r = c.get("/health")
    assert r.status_code == 503
    assert r.json()["code"] == "database_unavailable"


def test_map_page_is_served_offline(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "vendor/leaflet/leaflet.js" in page.text
    assert client.get("/vendor/leaflet/leaflet.js").status_code == 200
    assert client.get("/map.js").status_code == 200
    web = project_root() / "web"
    pages = [p for p in web.rglob("*") if p.suffix in (".html", ".js", ".css")]
    for path in [p for p in pages if "vendor" not in p.parts and "node_modules" not in p.parts]:
        assert not re.search(r"(src|href)=[\"']https?://", path.read_text("utf-8")), path
        assert "cdn" not in path.read_text("utf-8").lower(), path
