"""Tiles at low zoom: merged buildings keep their count, simplified grids keep their shared edges,
copies follow edits at once, incidents cluster, regions and all layers in one tile, bad tiles."""

from __future__ import annotations

import math
import threading
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    COMMUNITY,
    DISTRICT,
    EAST_GRID,
    STREET,
    WEST_GRID,
    add_grid,
    add_region,
    bearer,
    community_with_west_grid,
    rect,
    square,
    two_grids,
)

from gridmap.queries import tiles as q


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _lon_lat(x: float, y: float, z: int) -> tuple[float, float]:
    n = 1 << z
    return x / n * 360 - 180, math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))


def _features(client: TestClient, layer: str, z: int, x: int, y: int) -> list[dict[str, Any]]:
    r = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt")
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = mapbox_vector_tile.decode(r.content).get(layer, {"features": []})[
        "features"
    ]
    return found


def _counts(db: Session) -> tuple[int, int, int]:
    row = db.execute(
        text(
            "SELECT (SELECT count(*) FROM tile_shape), (SELECT count(*) FROM tile_dirty), "
            "(SELECT count(*) FROM tile_copy)"
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


# A z13 tile far from every other test's data; its buildings fill the middle half of it.
FAR = _tile_of(116.10, 39.80, 13)


def _far_buildings(db: Session, n: int) -> tuple[float, float, float, float]:
    west, north = _lon_lat(FAR[0] + 0.25, FAR[1] + 0.25, 13)
    east, south = _lon_lat(FAR[0] + 0.75, FAR[1] + 0.75, 13)
    db.execute(text("SELECT setseed(0.19)"))
    db.execute(
        text(
            "INSERT INTO building (code, households, floors, geom) "
            "SELECT 'FAR-' || g, (random() * 30)::int, 1 + (random() * 9)::int, "
            "ST_MakeEnvelope(x, y, x + 0.0002, y + 0.00015, 4326) FROM ("
            "SELECT g, :w + random() * (:e - :w - 0.0002) AS x, "
            ":s + random() * (:n - :s - 0.00015) AS y FROM generate_series(1, :count) g) p"
        ),
        {"w": west, "e": east, "s": south, "n": north, "count": n},
    )
    return west, south, east, north


def test_merged_buildings_keep_their_count_and_the_tile_shrinks(
    client: TestClient, db: Session
) -> None:
    _far_buildings(db, 3000)
    households = db.execute(
        text("SELECT sum(households) FROM building WHERE code LIKE 'FAR-%'")
    ).scalar_one()
    for z, x, y in ((12, FAR[0] >> 1, FAR[1] >> 1), (13, FAR[0], FAR[1])):
        features = _features(client, "buildings", z, x, y)
        # Every building is counted once, by a box that stands for several of them …
        assert sum(f["properties"]["count"] for f in features) == 3000
        assert sum(f["properties"]["households"] for f in features) == households
        assert len(features) < 3000 / 3
        assert all(f["geometry"]["type"] == "Polygon" for f in features)
        # … and the tile is far smaller than the same buildings one by one.
        merged = client.get(f"/tiles/buildings/{z}/{x}/{y}.mvt").content
        raw = q.raw_tile(db, layer="buildings", z=z, x=x, y=y)
        assert len(merged) * 3 < len(raw)
    # From z15 every building is itself again.
    x15, y15 = FAR[0] * 4 + 1, FAR[1] * 4 + 1
    one_by_one = _features(client, "buildings", 15, x15, y15)
    assert one_by_one and all(f["properties"]["code"].startswith("FAR-") for f in one_by_one)


def test_building_copy_follows_edits_at_once(client: TestClient, db: Session) -> None:
    west, south, east, north = _far_buildings(db, 500)
    z, x, y = 13, FAR[0], FAR[1]

    def total() -> int:
        return sum(f["properties"]["count"] for f in _features(client, "buildings", z, x, y))

    assert total() == 500
    # Moved out of the tile, added, removed: the next tile says so, with no rebuild of the rest.
    db.execute(
        text(
            "UPDATE building SET geom = ST_MakeEnvelope(116.0, 39.0, 116.0002, 39.0002, 4326) "
            "WHERE code IN ('FAR-1', 'FAR-2')"
        )
    )
    assert total() == 498
    db.execute(
        text(
            "INSERT INTO building (code, households, geom) VALUES "
            "('FAR-NEW', 3, ST_MakeEnvelope(:w, :s, :w + 0.0001, :s + 0.0001, 4326))"
        ),
        {"w": (west + east) / 2, "s": (south + north) / 2},
    )
    db.execute(text("DELETE FROM building WHERE code IN ('FAR-3', 'FAR-4', 'FAR-5')"))
    assert total() == 496
    shapes, dirty, copies = _counts(db)
    assert dirty == 0 and copies >= 1 and shapes > 0
    # The copy records the version it was built from.
    built = db.execute(text("SELECT version FROM tile_copy WHERE layer = 'buildings'")).scalar()
    assert built == q.version(db, "buildings")


def _zigzag_grids(db: Session) -> None:
    """Two grids sharing a border of 201 vertices wiggling 3 m either side of lon 116.345."""
    area = square(116.34, 40.0, 116.35, 40.01)
    add_region(db, DISTRICT, "district", "海淀区", None, area)
    add_region(db, STREET, "street", "学院路街道", DISTRICT, area)
    add_region(db, COMMUNITY, "community", "测试社区", STREET, area)
    border = [
        (116.345 + (0.00003 if i % 2 else -0.00003), 40.0 + 0.01 * i / 200) for i in range(201)
    ]
    border[0], border[-1] = (116.345, 40.0), (116.345, 40.01)
    line = ",".join(f"{lon} {lat}" for lon, lat in border)
    back = ",".join(f"{lon} {lat}" for lon, lat in reversed(border))
    add_grid(
        db,
        WEST_GRID,
        f"SRID=4326;MULTIPOLYGON(((116.34 40.0,{line},116.34 40.01,116.34 40.0)))",
        name="西网格",
    )
    add_grid(
        db,
        EAST_GRID,
        f"SRID=4326;MULTIPOLYGON(((116.35 40.0,116.35 40.01,{back},116.35 40.0)))",
        name="东网格",
    )
    db.flush()


def test_simplified_grids_still_share_their_edge(client: TestClient, db: Session) -> None:
    _zigzag_grids(db)
    x, y = _tile_of(116.345, 40.005, 10)
    features = _features(client, "grids", 10, x, y)
    assert sorted(f["properties"]["code"] for f in features) == [WEST_GRID, EAST_GRID]
    assert {f["properties"]["name"] for f in features} == {"西网格", "东网格"}
    # Checked in PostGIS, in every band of the copy: far fewer vertices, no overlap, and the two
    # still meet along the whole border (interiors apart, boundaries sharing a line).
    rows = db.execute(
        text(
            "SELECT a.zoom, ST_NPoints(a.geom) AS pa, ST_Relate(a.geom, b.geom) AS rel, "
            "ST_Area(ST_Intersection(a.geom, b.geom)) AS overlap, "
            "ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))) AS shared "
            "FROM tile_shape a JOIN tile_shape b ON a.zoom = b.zoom "
            "WHERE a.layer = 'grids' AND b.layer = 'grids' "
            "AND a.props->>'code' = :w AND b.props->>'code' = :e ORDER BY a.zoom"
        ),
        {"w": WEST_GRID, "e": EAST_GRID},
    ).all()
    assert [r.zoom for r in rows] == list(q.POLYGON_BANDS["grids"])
    for r in rows:
        assert r.pa < 40, r
        assert r.rel[0] == "F" and r.rel[4] == "1", r
        assert r.overlap == 0
        assert r.shared >= 0.0099, r
    # The community region is tiled from its copy too.
    regions = _features(client, "regions", 10, x, y)
    assert COMMUNITY in {f["properties"]["code"] for f in regions}


def test_a_grid_edited_through_the_api_shows_its_new_shape_at_low_zoom(
    client: TestClient, db: Session
) -> None:
    community_with_west_grid(db)
    auth = bearer(db)
    z = 10
    x, y = _tile_of(116.3425, 40.005, z)

    def width() -> float:
        meta = client.get("/tiles/grids.json").json()
        url = meta["tiles"][0].replace("{z}", str(z)).replace("{x}", str(x))
        r = client.get(url.replace("{y}", str(y)).split("testserver", 1)[1])
        assert r.status_code == 200 and "immutable" in r.headers["cache-control"]
        layer = mapbox_vector_tile.decode(r.content)["grids"]
        (grid,) = [f for f in layer["features"] if f["properties"]["code"] == WEST_GRID]
        xs = [p[0] for p in grid["geometry"]["coordinates"][0]]
        return (max(xs) - min(xs)) * 360 / (4096 << z)

    assert width() == pytest.approx(0.005, abs=0.0004)
    etag = client.get(f"/api/v1/grids/{WEST_GRID}").headers["etag"]
    r = client.patch(
        f"/api/v1/grids/{WEST_GRID}",
        json={"type": "Feature", "geometry": rect(116.34, 40.0, 116.3425, 40.01)},
        headers={**auth, "If-Match": etag},
    )
    assert r.status_code == 200, r.text
    assert width() == pytest.approx(0.0025, abs=0.0004)


def test_incidents_cluster_at_low_zoom(client: TestClient, db: Session) -> None:
    two_grids(db)
    db.execute(
        text(
            "INSERT INTO incident (category, status, severity, grid_code, due_at, geom) "
            "SELECT '市容环境/暴露垃圾', 'dispatched', CASE WHEN g = 7 THEN 'urgent' "
            "ELSE 'general' END, :g, now() + CASE WHEN g <= 4 THEN interval '-1 hour' "
            "ELSE interval '1 day' END, "
            "ST_SetSRID(ST_MakePoint(116.3421 + g * 0.00001, 40.0051), 4326) "
            "FROM generate_series(1, 30) g"
        ),
        {"g": WEST_GRID},
    )
    x, y = _tile_of(116.3422, 40.0051, 11)
    (cluster,) = _features(client, "incidents", 11, x, y)
    assert cluster["geometry"]["type"] == "Point"
    assert cluster["properties"] == {
        "count": 30,
        "overdue_count": 4,
        "overdue": True,
        "severity": "urgent",
    }
    x, y = _tile_of(116.3422, 40.0051, 16)
    points = _features(client, "incidents", 16, x, y)
    assert len(points) == 30 and all("category" in f["properties"] for f in points)


def test_each_incident_is_counted_in_one_cluster_of_one_tile(
    client: TestClient, db: Session
) -> None:
    two_grids(db)
    # 400 incidents on both sides of lon 116.3671875, a tile edge at z10-z13.
    edge = 116.3671875
    assert all(
        _tile_of(edge - 1e-7, 40.0, z)[0] + 1 == _tile_of(edge, 40.0, z)[0] for z in (10, 13)
    )
    db.execute(
        text(
            "INSERT INTO incident (category, status, severity, grid_code, geom) "
            "SELECT '市容环境/暴露垃圾', 'reported', 'general', :g, "
            "ST_SetSRID(ST_MakePoint(:edge - 0.002 + (g % 40) * 0.0001, 40.0 + (g / 40) * 0.0001),"
            " 4326) FROM generate_series(0, 399) g"
        ),
        {"g": WEST_GRID, "edge": edge},
    )
    for z in (10, 11, 12, 13):
        (x0, y0), (x1, y1) = _tile_of(edge - 0.003, 40.002, z), _tile_of(edge + 0.003, 40.0, z)
        total = 0
        for x in range(x0 - 1, x1 + 2):
            for y in range(y0 - 1, y1 + 2):
                for f in _features(client, "incidents", z, x, y):
                    total += f["properties"]["count"]
                    # The cluster's point lies inside its own tile.
                    px, py = f["geometry"]["coordinates"]
                    assert 0 <= px <= 4096 and 0 <= py <= 4096, (z, x, y, px, py)
        assert total == 400, z


def test_all_layers_in_one_tile_and_tilejson_fields(client: TestClient, db: Session) -> None:
    two_grids(db)
    db.execute(
        text(
            "INSERT INTO building (code, households, floors, geom) VALUES "
            "('ALL-1', 4, 5, ST_MakeEnvelope(116.3420, 40.0050, 116.3427, 40.0056, 4326))"
        )
    )
    meta = client.get("/tiles/all.json").json()
    assert meta["tilejson"] == "3.0.0"
    ids = [v["id"] for v in meta["vector_layers"]]
    # The grid layer brings its label points along.
    expected = list(q.LAYERS)
    expected.insert(expected.index("grids") + 1, "grid_labels")
    assert ids == expected
    fields = {v["id"]: v["fields"] for v in meta["vector_layers"]}
    assert {"floors", "count", "code"} <= set(fields["buildings"])
    assert {"code", "name"} <= set(fields["grids"])
    assert meta["data_version"] == sum(
        client.get(f"/tiles/{layer}.json").json()["data_version"] for layer in q.LAYERS
    )
    assert meta["tiles"][0].endswith(f"/tiles/all/{{z}}/{{x}}/{{y}}.mvt?v={meta['data_version']}")
    one = client.get("/tiles/buildings.json").json()
    assert one["vector_layers"][0]["fields"] == fields["buildings"] and one["minzoom"] == 12
    x, y = _tile_of(116.3424, 40.0053, 13)
    r = client.get(f"/tiles/all/13/{x}/{y}.mvt", params={"v": meta["data_version"]})
    assert r.status_code == 200 and "immutable" in r.headers["cache-control"]
    tile = mapbox_vector_tile.decode(r.content)
    assert {"regions", "grids", "buildings"} <= set(tile)
    assert {f["properties"]["code"] for f in tile["grids"]["features"]} == {WEST_GRID, EAST_GRID}
    (building,) = tile["buildings"]["features"]
    assert building["properties"]["floors"] == 5 and building["properties"]["code"] == "ALL-1"
    # Below every layer's zoom: nothing at all.
    assert client.get("/tiles/all/3/6/3.mvt").content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/tiles/all/23/0/0.mvt",
        "/tiles/all/3/8/0.mvt",
        "/tiles/regions/-1/0/0.mvt",
        "/tiles/regions/3/0/99999999999999999999999999.mvt",
        "/tiles/buildings/13/NaN/0.mvt",
        "/tiles/buildings/13/1e3/0.mvt",
        "/tiles/buildings/13/0/0.mvt?v=NaN",
        "/tiles/buildings/13/0/0.mvt?v=" + "9" * 400,
        "/tiles/grids;DROP TABLE grid/10/0/0.mvt",
        "/tiles/" + "x" * 5000 + ".json",
        "/tiles/tile_shape.json",
    ],
)
def test_hostile_tiles_are_refused_and_write_nothing(
    client: TestClient, db: Session, path: str
) -> None:
    two_grids(db)
    client.get("/tiles/grids/10/843/387.mvt")
    before = _counts(db)
    r = client.get(path)
    assert r.status_code in (404, 422), r.text
    assert _counts(db) == before


def test_the_demo_grids_and_communities_keep_their_shared_edges(demo_engine: Engine) -> None:
    """学院路街道's real grids and communities: every pair that met along a line still does in
    every band of the copy, with no overlap, and with far fewer vertices."""
    with demo_engine.connect() as conn:
        trans = conn.begin()
        try:
            session = Session(bind=conn, join_transaction_mode="create_savepoint")
            q.refresh(session, "grids")
            q.refresh(session, "regions")
            for layer, table, where, key, group in (
                ("grids", "grid", "valid_to IS NULL AND kind = 'basic'", "code", "kind"),
                ("regions", "region", "level = 'community'", "code", "level"),
            ):
                pairs = session.execute(
                    text(
                        f"SELECT a.{key} AS a, b.{key} AS b FROM {table} a JOIN {table} b "
                        f"ON a.{key} < b.{key} AND a.geom && b.geom "
                        f"WHERE a.{where.replace(' AND ', ' AND a.')} "
                        f"AND b.{where.replace(' AND ', ' AND b.')} "
                        "AND ST_Relate(a.geom, b.geom, 'F***1****')"
                    )
                ).all()
                assert len(pairs) >= 5, layer
                kept = session.execute(
                    text(
                        "SELECT a.zoom, a.props->>'code' AS a, b.props->>'code' AS b, "
                        "ST_Relate(a.geom, b.geom, 'F***1****') AS meet "
                        "FROM tile_shape a JOIN tile_shape b ON a.zoom = b.zoom "
                        "AND a.layer = b.layer AND a.props->>:g = b.props->>:g "
                        "AND a.props->>'code' < b.props->>'code' AND a.geom && b.geom "
                        "WHERE a.layer = :layer AND a.props->>:g = :kind"
                    ),
                    {
                        "layer": layer,
                        "g": group,
                        "kind": "basic" if layer == "grids" else "community",
                    },
                ).all()
                meets = {(r.zoom, r.a, r.b) for r in kept if r.meet}
                for band in q.POLYGON_BANDS[layer]:
                    missing = [p for p in pairs if (band, p.a, p.b) not in meets]
                    assert not missing, (layer, band, missing[:3])
                overlaps = session.execute(
                    text(
                        "SELECT count(*) FROM tile_shape a JOIN tile_shape b ON a.zoom = b.zoom "
                        "AND a.layer = b.layer AND a.id < b.id AND a.geom && b.geom "
                        "AND a.props->>:g = b.props->>:g "
                        "WHERE a.layer = :layer AND a.props->>:g = :kind "
                        "AND ST_Area(ST_Intersection(a.geom, b.geom)) > 1e-12"
                    ),
                    {
                        "layer": layer,
                        "g": group,
                        "kind": "basic" if layer == "grids" else "community",
                    },
                ).scalar_one()
                assert overlaps == 0, layer
                points = session.execute(
                    text(
                        "SELECT (SELECT sum(ST_NPoints(geom)) FROM tile_shape "
                        "WHERE layer = :layer AND zoom = :low AND props->>:g = :kind), "
                        f"(SELECT sum(ST_NPoints(geom)) FROM {table} WHERE {where})"
                    ),
                    {
                        "layer": layer,
                        "g": group,
                        "low": q.POLYGON_BANDS[layer][0],
                        "kind": "basic" if layer == "grids" else "community",
                    },
                ).one()
                assert points[0] < points[1] * 0.7, (layer, points)
        finally:
            trans.rollback()


def test_two_readers_of_a_stale_copy_rebuild_it_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second reader waits on the first's lock, then finds the log empty."""
    builds: list[str] = []
    build = q._build_buildings

    def counted(session: Session, box: tuple[float, float, float, float] | None) -> None:
        builds.append(threading.current_thread().name)
        build(session, box)

    monkeypatch.setattr(q, "_build_buildings", counted)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO building (code, households, geom) VALUES "
                "('LOCK-1', 1, ST_MakeEnvelope(116.1, 39.8, 116.1002, 39.8002, 4326))"
            )
        )
    first = Session(engine)
    try:
        q.refresh(first, "buildings")
        assert builds == ["MainThread"]

        def second_reader() -> None:
            with Session(engine) as second:
                q.refresh(second, "buildings")
                second.commit()

        reader = threading.Thread(target=second_reader, name="second")
        reader.start()
        with engine.connect() as conn:
            waiting = 0
            for _ in range(200):
                # The statistics views keep one snapshot per transaction unless told otherwise.
                conn.execute(text("SELECT pg_stat_clear_snapshot()"))
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
                    )
                ).scalar_one()
                if waiting:
                    break
                threading.Event().wait(0.05)
            assert waiting == 1
        first.commit()
        reader.join(timeout=30)
        assert not reader.is_alive()
        assert builds == ["MainThread"]
    finally:
        first.close()
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM building WHERE code = 'LOCK-1'"))
            conn.execute(text("DELETE FROM tile_shape"))
            conn.execute(text("DELETE FROM tile_dirty"))
            conn.execute(text("DELETE FROM tile_copy"))


def test_each_grid_is_labelled_in_one_tile_only(client: TestClient, db: Session) -> None:
    two_grids(db)
    z = 16
    (x0, y0), (x1, y1) = _tile_of(116.34, 40.01, z), _tile_of(116.35, 40.0, z)
    assert (x1 - x0 + 1) * (y1 - y0 + 1) >= 4
    seen: dict[str, list[tuple[int, int]]] = {}
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            r = client.get(f"/tiles/grids/{z}/{x}/{y}.mvt")
            assert r.status_code == 200
            layer = mapbox_vector_tile.decode(r.content).get("grid_labels", {"features": []})
            for f in layer["features"]:
                assert f["geometry"]["type"] == "Point"
                seen.setdefault(f["properties"]["code"], []).append((x, y))
    # Each grid once, in the tile holding the point PostGIS puts inside it.
    assert sorted(seen) == sorted([EAST_GRID, WEST_GRID])
    for code, tiles in seen.items():
        lon, lat = db.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid "
                "WHERE code = :c AND valid_to IS NULL) s"
            ),
            {"c": code},
        ).one()
        assert tiles == [_tile_of(lon, lat, z)], code
    # Below the label zoom the grid tile carries no labels; TileJSON lists the label layer.
    x, y = _tile_of(116.345, 40.005, q.LABEL_ZOOM - 1)
    r = client.get(f"/tiles/grids/{q.LABEL_ZOOM - 1}/{x}/{y}.mvt")
    assert "grid_labels" not in mapbox_vector_tile.decode(r.content)
    layers = client.get("/tiles/grids.json").json()["vector_layers"]
    assert [v["id"] for v in layers] == ["grids", "grid_labels"]
