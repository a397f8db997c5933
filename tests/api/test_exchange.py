"""Files for GIS tools: exports open in GDAL with the right count, CRS and Chinese names; an
export imported again changes nothing; imports are all or nothing."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    BORDER_LON,
    COMMUNITY,
    EAST_GRID,
    STREET,
    WEST_GRID,
    bearer,
    feature,
    rect,
    two_grids,
)

import geopandas as gpd
import pyogrio
from shapely.geometry import shape

SUFFIX = {"geojson": ".geojson", "gpkg": ".gpkg", "shp": ".zip"}


@pytest.fixture
def grids(db: Session) -> dict[str, str]:
    two_grids(db)
    db.execute(
        text(
            "INSERT INTO building (code, address, households, grid_code, community_code, geom) "
            "VALUES ('B0001', '学院路1号', 3, :g, :c, ST_GeomFromEWKT('SRID=4326;POLYGON(("
            "116.341 40.001,116.342 40.001,116.342 40.002,116.341 40.002,116.341 40.001))'))"
        ),
        {"g": WEST_GRID, "c": COMMUNITY},
    )
    db.flush()
    return bearer(db)


def download(
    client: TestClient, tmp_path: Path, layer: str, fmt: str, crs: str, **params: str
) -> Path:
    r = client.get(f"/api/v1/export/{layer}", params={"format": fmt, "crs": crs, **params})
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    path = tmp_path / f"{layer}-{fmt}-{crs.replace(':', '')}{SUFFIX[fmt]}"
    path.write_bytes(r.content)
    return path


def ogrinfo(path: Path, *args: str) -> str:
    source = f"/vsizip/{path}" if path.suffix == ".zip" else str(path)
    return subprocess.run(
        ["ogrinfo", "-ro", "-al", *args, source], check=True, capture_output=True, text=True
    ).stdout


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp"])
@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:4490", "GCJ-02"])
def test_exports_open_in_gdal(
    client: TestClient, grids: dict[str, str], tmp_path: Path, fmt: str, crs: str
) -> None:
    path = download(client, tmp_path, "grids", fmt, crs, community=COMMUNITY)
    summary = ogrinfo(path, "-so")
    assert "Feature Count: 2" in summary
    if crs == "GCJ-02":
        assert "GCJ-02" in summary or fmt == "geojson"
    elif fmt != "geojson":
        assert ("4490" in summary or "China Geodetic Coordinate System 2000" in summary) == (
            crs == "EPSG:4490"
        )
        assert crs != "EPSG:4326" or "WGS 84" in summary
    full = ogrinfo(path)
    assert "西网格" in full and "东网格" in full and "测试社区" in full
    frame = pyogrio.read_dataframe(f"/vsizip/{path}" if fmt == "shp" else path)
    west = frame[frame["code"] == WEST_GRID].geometry.iloc[0]
    shift = 0.0061 if crs == "GCJ-02" else 0.0  # the GCJ-02 offset near Beijing is ~600 m east
    assert west.bounds[0] == pytest.approx(116.34 + shift, abs=2e-4)


def test_shapefile_zip_has_prj_and_utf8_cpg(
    client: TestClient, grids: dict[str, str], tmp_path: Path
) -> None:
    path = download(client, tmp_path, "grids", "shp", "EPSG:4326")
    with zipfile.ZipFile(path) as z:
        names = sorted(z.namelist())
        parts = ["grids.cpg", "grids.dbf", "grids.prj", "grids.shp", "grids.shx"]
        # fields.txt: the full name of each field whose Shapefile name had to be cut.
        assert names in (parts, ["fields.txt", *parts])
        assert z.read("grids.cpg").decode().strip().upper() in ("UTF-8", "UTF8")
        assert "WGS" in z.read("grids.prj").decode()


def test_geojson_export_is_rfc7946(client: TestClient, grids: dict[str, str]) -> None:
    r = client.get("/api/v1/export/grids", params={"community": COMMUNITY})
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and "crs" not in fc
    # A file is written in no order (it is not paged): the codes are compared as a set.
    by_code = {f["properties"]["code"]: f for f in fc["features"]}
    assert len(fc["features"]) == 2 and set(by_code) == {WEST_GRID, EAST_GRID}
    ring = by_code[WEST_GRID]["geometry"]["coordinates"][0][0]
    assert all(116 < p[0] < 117 and 39 < p[1] < 41 for p in ring)
    # RFC 7946: exterior rings counterclockwise.
    assert shape(by_code[WEST_GRID]["geometry"]).geoms[0].exterior.is_ccw


def test_export_other_layers_and_filters(
    client: TestClient, grids: dict[str, str], tmp_path: Path
) -> None:
    regions = download(client, tmp_path, "regions", "gpkg", "EPSG:4326", region=STREET)
    assert "Feature Count: 2" in ogrinfo(regions, "-so")  # the street and its community
    buildings = download(client, tmp_path, "buildings", "shp", "EPSG:4326")
    assert "学院路1号" in ogrinfo(buildings)
    r = client.get("/api/v1/export/grids", params={"format": "gpkg", "community": "110108010002"})
    assert r.status_code == 404
    for params in (
        {"format": "kml"},
        {"crs": "EPSG:3857"},
        {"crs": "EPSG:9999"},
        {"community": "1101"},
        {"community": COMMUNITY, "region": STREET},
    ):
        r = client.get("/api/v1/export/grids", params=params)
        assert r.status_code == 422, params
    assert client.get("/api/v1/export/people").status_code == 422  # not a layer


def _import(client: TestClient, auth: dict[str, str], path: Path, **params: str):  # type: ignore[no-untyped-def]
    with path.open("rb") as f:
        return client.post(
            "/api/v1/import/grids",
            params=params,
            headers=auth,
            files={"file": (path.name, f, "application/octet-stream")},
        )


def grid_state(db: Session) -> list[tuple[object, ...]]:
    return [
        tuple(r)
        for r in db.execute(
            text("SELECT code, version, valid_to IS NULL, name FROM grid ORDER BY code, version")
        )
    ]


@pytest.mark.parametrize(
    ("fmt", "crs"),
    [("geojson", "EPSG:4326"), ("gpkg", "GCJ-02"), ("shp", "EPSG:4490"), ("shp", "GCJ-02")],
)
def test_export_import_round_trip_changes_nothing(
    client: TestClient, db: Session, grids: dict[str, str], tmp_path: Path, fmt: str, crs: str
) -> None:
    path = download(client, tmp_path, "grids", fmt, crs)
    before = grid_state(db)
    for commit in ("false", "true"):
        r = _import(client, grids, path, commit=commit)
        assert r.status_code == 200, r.text
        rep = r.json()
        assert sorted(u["code"] for u in rep["unchanged"]) == [WEST_GRID, EAST_GRID], rep
        assert rep["created"] == rep["updated"] == rep["rejected"] == []
    assert rep["crs"] == ("GCJ-02" if crs == "GCJ-02" else crs)
    assert grid_state(db) == before


def _collection(tmp_path: Path, *features: dict[str, object]) -> Path:
    path = tmp_path / "grids.geojson"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False)
    )
    return path


def test_import_reports_then_commits(client: TestClient, db: Session, tmp_path: Path) -> None:
    from tests.utils.fixtures import community_with_west_grid

    community_with_west_grid(db)
    auth = bearer(db)
    path = _collection(
        tmp_path,
        feature(rect(BORDER_LON, 40.0, 116.35, 40.01), name="东网格", community_code=COMMUNITY),
    )
    before = grid_state(db)
    rep = _import(client, auth, path).json()
    assert rep["committed"] is False and [c["name"] for c in rep["created"]] == ["东网格"]
    assert grid_state(db) == before
    rep = _import(client, auth, path, commit="true").json()
    assert rep["committed"] is True
    created = client.get(f"/api/v1/grids/{EAST_GRID}").json()["properties"]
    assert created["note"] == "imported from grids.geojson" and created["version"] == 1
    assert db.execute(text("SELECT action FROM audit_log")).scalars().all() == ["import_create"]
    assert client.get(f"/api/v1/regions/{COMMUNITY}/coverage").json()["exact"]


def test_import_is_all_or_nothing(
    client: TestClient, db: Session, grids: dict[str, str], tmp_path: Path
) -> None:
    path = _collection(
        tmp_path,
        # Renaming the west grid is fine on its own …
        feature(rect(116.34, 40.0, BORDER_LON, 40.01), code=WEST_GRID, name="西网格（新）"),
        # … but this one overlaps the east grid, this one is not valid, this one is in no
        # known community: nothing may be written.
        feature(rect(116.346, 40.0, 116.348, 40.01), name="重叠", community_code=COMMUNITY),
        feature(
            {
                "type": "Polygon",
                "coordinates": [
                    [
                        [116.341, 40.001],
                        [116.344, 40.004],
                        [116.344, 40.001],
                        [116.341, 40.004],
                        [116.341, 40.001],
                    ]
                ],
            },
            name="坏",
            community_code=COMMUNITY,
        ),
        feature(rect(116.2, 40.0, 116.21, 40.01), name="外", community_code="110108010999"),
    )
    before = grid_state(db)
    r = _import(client, bearer(db, "admin", None, "区管理员"), path, commit="true")
    assert r.status_code == 422 and "nothing was written" in r.json()["detail"]
    rep = r.json()
    assert [u["code"] for u in rep["updated"]] == [WEST_GRID]
    reasons = {x["index"]: x for x in rep["rejected"]}
    assert set(reasons) == {1, 2, 3}
    assert reasons[1]["error"] == "grid_overlap" and EAST_GRID in reasons[1]["reason"]
    assert reasons[2]["error"] == "invalid_geometry" and "Self-intersection" in reasons[2]["reason"]
    assert "unknown community" in reasons[3]["reason"]
    assert grid_state(db) == before


def test_import_checks_the_state_it_leaves(
    client: TestClient, db: Session, grids: dict[str, str], tmp_path: Path
) -> None:
    # The border moves 100 m east: on its own either change would overlap the other grid.
    new_border = 116.346
    path = _collection(
        tmp_path,
        feature(rect(116.34, 40.0, new_border, 40.01), code=WEST_GRID, name="西网格"),
        feature(rect(new_border, 40.0, 116.35, 40.01), code=EAST_GRID, name="东网格"),
    )
    rep = _import(client, grids, path, commit="true").json()
    assert sorted(u["code"] for u in rep["updated"]) == [WEST_GRID, EAST_GRID], rep
    assert client.get(f"/api/v1/regions/{COMMUNITY}/coverage").json()["exact"]
    assert (
        client.get("/api/v1/lookup", params={"lon": 116.3455, "lat": 40.005}).json()["grid"]["code"]
        == WEST_GRID
    )
    # Two features of one file overlapping each other are both refused.
    path = _collection(
        tmp_path,
        feature(rect(116.34, 40.0, 116.348, 40.01), code=WEST_GRID, name="西网格"),
    )
    rep = _import(client, grids, path).json()
    assert rep["rejected"][0]["error"] == "grid_overlap"


def test_import_kml_and_zipped_shapefile(client: TestClient, db: Session, tmp_path: Path) -> None:
    from tests.utils.fixtures import community_with_west_grid

    community_with_west_grid(db)
    auth = bearer(db)
    frame = gpd.GeoDataFrame(
        {"name": ["东网格"], "community_code": [COMMUNITY]},
        geometry=[shape(rect(BORDER_LON, 40.0, 116.35, 40.01))],
        crs=4326,
    )
    kml = tmp_path / "grids.kml"
    pyogrio.write_dataframe(frame, kml, driver="KML")
    rep = _import(client, auth, kml).json()
    assert [c["name"] for c in rep["created"]] == ["东网格"], rep
    # A Shapefile in Web Mercator is reprojected from its .prj.
    folder = tmp_path / "shp"
    folder.mkdir()
    pyogrio.write_dataframe(
        frame.to_crs(3857).rename(columns={"community_code": "comm_code"}),
        folder / "g.shp",
        encoding="UTF-8",
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for part in folder.iterdir():
            z.write(part, part.name)
    zipped = tmp_path / "g.zip"
    zipped.write_bytes(buf.getvalue())
    rep = _import(client, auth, zipped).json()
    assert [c["name"] for c in rep["created"]] == ["东网格"] and rep["crs"] == "EPSG:4326", rep


def test_bad_files(client: TestClient, db: Session, grids: dict[str, str], tmp_path: Path) -> None:
    before = grid_state(db)
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"this is not a geopackage")
    r = _import(client, grids, junk)
    assert r.status_code == 422 and "cannot read" in r.json()["detail"]
    txt = tmp_path / "grids.txt"
    txt.write_text("hello")
    assert _import(client, grids, txt).status_code == 422
    path = _collection(
        tmp_path, feature(rect(116.34, 40.0, 116.35, 40.01), name="x", community_code=COMMUNITY)
    )
    r = _import(client, grids, path, crs="EPSG:3857")
    assert r.status_code == 422 and "not in China" in r.json()["detail"]
    assert _import(client, {}, path).status_code == 401
    other = bearer(db, "community", "110108010002", "别的社区")
    rep = _import(client, other, path).json()
    assert rep["rejected"][0]["error"] == "forbidden"
    assert grid_state(db) == before
