"""Vector tiles: features in the right place, versions that change with every edit, bad tiles."""

from __future__ import annotations

import math
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import EAST_GRID, WEST_GRID, two_grids


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_grid_tiles_hold_the_grids_and_follow_edits(client: TestClient, db: Session) -> None:
    two_grids(db)
    meta = client.get("/tiles/grids.json").json()
    assert meta["tilejson"] == "3.0.0" and meta["minzoom"] == 8
    url = meta["tiles"][0]
    assert url.endswith(f"/tiles/grids/{{z}}/{{x}}/{{y}}.mvt?v={meta['data_version']}")
    assert meta["bounds"] == pytest.approx([116.34, 40.0, 116.35, 40.01])
    x, y = _tile_of(116.345, 40.005, 15)
    path = f"/tiles/grids/15/{x}/{y}.mvt"
    r = client.get(path, params={"v": meta["data_version"]})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert "immutable" in r.headers["cache-control"]
    layer = mapbox_vector_tile.decode(r.content)["grids"]
    codes = sorted(f["properties"]["code"] for f in layer["features"])
    assert codes == [WEST_GRID, EAST_GRID]
    west = next(f for f in layer["features"] if f["properties"]["code"] == WEST_GRID)
    assert west["properties"]["name"] == "西网格" and west["geometry"]["type"] == "Polygon"
    # An edit gives the layer a new version: the old URL is no longer cacheable.
    db.execute(text("UPDATE grid SET name = '新名字' WHERE code = :c"), {"c": WEST_GRID})
    after = client.get("/tiles/grids.json").json()
    assert after["data_version"] > meta["data_version"]
    stale = client.get(path, params={"v": meta["data_version"]})
    assert stale.headers["cache-control"] == "no-cache"
    fresh = mapbox_vector_tile.decode(client.get(path, params={"v": after["data_version"]}).content)
    names = {f["properties"]["name"] for f in fresh["grids"]["features"]}
    assert "新名字" in names
    # Far away: an empty tile; below the layer's zoom: empty too.
    assert client.get("/tiles/grids/15/0/0.mvt").content == b""
    assert client.get(f"/tiles/grids/5/{x >> 10}/{y >> 10}.mvt").content == b""


def test_building_and_incident_tiles(client: TestClient, db: Session) -> None:
    two_grids(db)
    db.execute(
        text(
            "INSERT INTO building (code, address, grid_code, households, geom) VALUES "
            "('BT-01', '测试路1号', :g, 12, ST_MakeEnvelope(116.3420, 40.0050, 116.3423, 40.0053, "
            "4326))"
        ),
        {"g": WEST_GRID},
    )
    db.execute(
        text(
            "INSERT INTO incident (category, status, grid_code, due_at, geom) VALUES "
            "('市容环境/暴露垃圾', 'dispatched', :g, now() - interval '1 hour', "
            "ST_SetSRID(ST_MakePoint(116.3421, 40.0051), 4326))"
        ),
        {"g": WEST_GRID},
    )
    x, y = _tile_of(116.3421, 40.0051, 16)
    b = mapbox_vector_tile.decode(client.get(f"/tiles/buildings/16/{x}/{y}.mvt").content)
    props = b["buildings"]["features"][0]["properties"]
    assert props["code"] == "BT-01" and props["households"] == 12
    i = mapbox_vector_tile.decode(client.get(f"/tiles/incidents/16/{x}/{y}.mvt").content)
    feature = i["incidents"]["features"][0]
    assert feature["properties"]["overdue"] is True and feature["geometry"]["type"] == "Point"
    before = client.get("/tiles/roads.json").json()["data_version"]
    db.execute(
        text(
            "INSERT INTO road_edge (source, target, length_m, highway, name, geom) VALUES "
            "(1, 2, 80, 'residential', '学院路', "
            "ST_GeomFromText('LINESTRING(116.3415 40.0051, 116.3425 40.0051)', 4326))"
        )
    )
    assert client.get("/tiles/roads.json").json()["data_version"] > before
    roads = mapbox_vector_tile.decode(client.get(f"/tiles/roads/16/{x}/{y}.mvt").content)
    road = roads["roads"]["features"][0]
    assert road["properties"]["name"] == "学院路" and road["geometry"]["type"] == "LineString"


@pytest.mark.parametrize(
    "path",
    [
        "/tiles/rivers/15/1/1.mvt",
        "/tiles/grids/23/0/0.mvt",
        "/tiles/grids/3/8/0.mvt",
        "/tiles/grids/3/0/-1.mvt",
        "/tiles/grids/x/0/0.mvt",
        "/tiles/grids/3/0/0.mvt?v=-2",
        "/tiles/nothing.json",
    ],
)
def test_bad_tiles_are_refused(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 422, r.text
    assert "detail" in r.json()


def test_small_buildings_are_merged_with_their_count_at_low_zoom(
    client: TestClient, db: Session
) -> None:
    two_grids(db)
    # A 3 m shed and a 60 m block, side by side.
    db.execute(
        text(
            "INSERT INTO building (code, households, floors, geom) VALUES "
            "('SHED-1', 0, 1, ST_MakeEnvelope(116.34200, 40.00500, 116.34203, 40.00503, 4326)), "
            "('BLOCK-1', 40, 6, ST_MakeEnvelope(116.34300, 40.00500, 116.34370, 40.00555, 4326))"
        )
    )

    def features(z: int) -> list[dict[str, Any]]:
        x, y = _tile_of(116.3425, 40.0052, z)
        tile = mapbox_vector_tile.decode(client.get(f"/tiles/buildings/{z}/{x}/{y}.mvt").content)
        found: list[dict[str, Any]] = tile.get("buildings", {"features": []})["features"]
        return found

    # At z13 the shed is under a pixel: it is a merged box that counts it, without its code.
    low = features(13)
    assert sorted(str(f["properties"].get("code")) for f in low) == ["BLOCK-1", "None"]
    shed = next(f for f in low if "code" not in f["properties"])
    assert shed["properties"] == {"count": 1, "households": 0, "floors": 1}
    block = next(f for f in low if f["properties"].get("code") == "BLOCK-1")
    assert block["properties"]["count"] == 1 and block["properties"]["floors"] == 6
    # From z15 on every building is itself.
    assert {f["properties"]["code"] for f in features(15)} == {"SHED-1", "BLOCK-1"}
