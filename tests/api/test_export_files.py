"""Every layer as every file format, opened the way analysts open them: Debian's GDAL 3.6
(``ogrinfo``, ``ogr2ogr``) and geopandas/pyarrow for GeoParquet; GCJ-02 never taken for WGS 84;
the API's masks and readers; hostile requests refused with nothing written."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

import geopandas as gpd

from gridmap import layers
from gridmap.auth import create_token
from gridmap.dependencies import get_session
from gridmap.main import create_app
from gridmap.settings import Settings

STREET = "110108010"  # 学院路街道
COMMUNITY = "110108010002"  # 六道口社区
SUFFIX = {
    "geojson": ".geojson",
    "gpkg": ".gpkg",
    "shp": ".zip",
    "fgb": ".fgb",
    "parquet": ".parquet",
}
GDAL_FORMATS = ("geojson", "gpkg", "shp", "fgb")


@pytest.fixture(scope="module")
def demo(demo_engine: Engine) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The API over the demo data set, and a district office's token (removed afterwards)."""
    with Session(demo_engine) as s:
        secret, token_id = create_token(s, name="海淀区测试", role="district", region="110108")
        s.commit()
    app = create_app(Settings())

    def demo_session() -> Iterator[Session]:
        with Session(demo_engine) as s:
            yield s

    app.dependency_overrides[get_session] = demo_session
    with TestClient(app) as c:
        yield c, {"Authorization": f"Bearer {secret}"}
    with demo_engine.begin() as conn:
        conn.execute(text("DELETE FROM api_token WHERE id = :i"), {"i": token_id})


def fetch(client: TestClient, tmp_path: Path, layer: str, fmt: str, crs: str, **kw: object) -> Path:
    headers = kw.pop("headers", None)
    r = client.get(
        f"/api/v1/export/{layer}",
        params={"format": fmt, "crs": crs, **kw},
        headers=headers,  # type: ignore[arg-type]
    )
    assert r.status_code == 200, r.text
    path = tmp_path / f"{layer}-{fmt}-{crs.replace(':', '')}{SUFFIX[fmt]}"
    path.write_bytes(r.content)
    return path


def gdal(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=120)


def source(path: Path) -> str:
    return f"/vsizip/{path}" if path.suffix == ".zip" else str(path)


def count_in(path: Path) -> int:
    out = gdal("ogrinfo", "-ro", "-so", "-al", source(path))
    assert out.returncode == 0, out.stderr
    assert "Warning" not in out.stderr and "ERROR" not in out.stderr, out.stderr
    return int(out.stdout.split("Feature Count: ")[1].split()[0])


@pytest.mark.parametrize("layer", sorted(layers.LAYERS))
def test_every_layer_in_every_format_opens_with_its_rows(
    demo: tuple[TestClient, dict[str, str]], tmp_path: Path, layer: str
) -> None:
    client, auth = demo
    expected = None
    for fmt in (*GDAL_FORMATS, "parquet"):
        path = fetch(client, tmp_path, layer, fmt, "EPSG:4326", region=STREET, headers=auth)
        n = len(gpd.read_parquet(path)) if fmt == "parquet" else count_in(path)
        expected = n if expected is None else expected
        assert n == expected > 0, (layer, fmt)


def test_types_survive_where_the_format_holds_them(
    demo: tuple[TestClient, dict[str, str]], tmp_path: Path
) -> None:
    client, auth = demo
    for fmt in ("gpkg", "fgb"):
        path = fetch(client, tmp_path, "incidents", fmt, "EPSG:4326", region=STREET, headers=auth)
        info = gdal("ogrinfo", "-ro", "-so", "-al", str(path)).stdout
        assert "reported_at: DateTime" in info and "id: Integer64" in info, info
    path = fetch(client, tmp_path, "incidents", "shp", "EPSG:4326", region=STREET, headers=auth)
    info = gdal("ogrinfo", "-ro", "-so", "-al", source(path)).stdout
    assert "reported_a: String" in info or "reported_at: String" in info  # ISO text in a .dbf
    table = pq.read_table(
        fetch(client, tmp_path, "incidents", "parquet", "EPSG:4326", region=STREET, headers=auth)
    )
    assert str(table.schema.field("reported_at").type) == "timestamp[ms, tz=UTC]"
    assert str(table.schema.field("id").type) == "int64"


def test_geopackage_is_one_gdal_36_reads_without_a_warning(
    demo: tuple[TestClient, dict[str, str]], tmp_path: Path
) -> None:
    client, _ = demo
    path = fetch(client, tmp_path, "grids", "gpkg", "EPSG:4326", region=STREET)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # "GPKG"
        assert db.execute("PRAGMA user_version").fetchone()[0] == 10200
    out = gdal("ogrinfo", "-ro", "-so", "-al", str(path))
    assert out.returncode == 0 and out.stderr == "", out.stderr


@pytest.mark.parametrize("fmt", GDAL_FORMATS)
@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:4490", "GCJ-02"])
def test_no_file_is_silently_wrong_after_ogr2ogr_to_wgs84(
    demo: tuple[TestClient, dict[str, str]], tmp_path: Path, fmt: str, crs: str
) -> None:
    client, _ = demo
    path = fetch(client, tmp_path, "grids", fmt, crs, community=COMMUNITY)
    info = gdal("ogrinfo", "-ro", "-so", "-al", source(path))
    assert info.returncode == 0, info.stderr
    out = tmp_path / f"wgs84-{fmt}-{crs.replace(':', '')}.geojson"
    moved = gdal("ogr2ogr", "-f", "GeoJSON", "-t_srs", "EPSG:4326", str(out), source(path))
    if crs == "GCJ-02":
        # Named GCJ-02 and refused: GDAL cannot reproject it, so it never pretends to.
        assert "GCJ-02" in info.stdout
        assert "ENGCRS" in info.stdout.split("Layer SRS WKT:")[1].split("Data axis")[0]
        assert moved.returncode != 0 and "GCJ-02" in moved.stderr
        return
    assert moved.returncode == 0, moved.stderr
    assert ("4490" in info.stdout or "China Geodetic" in info.stdout) == (crs == "EPSG:4490")
    reference = client.get("/api/v1/grids", params={"community": COMMUNITY}).json()
    bounds = gpd.read_file(out).total_bounds
    want = gpd.GeoDataFrame.from_features(reference["features"]).total_bounds
    assert bounds == pytest.approx(want, abs=1e-6)  # no offset, no swapped axes


def test_gcj02_files_say_so_in_name_and_side_files(
    demo: tuple[TestClient, dict[str, str]], tmp_path: Path
) -> None:
    client, _ = demo
    r = client.get("/api/v1/export/grids", params={"crs": "GCJ-02", "format": "shp"})
    assert "GCJ-02" in r.headers["content-disposition"]
    path = tmp_path / "g.zip"
    path.write_bytes(r.content)
    with zipfile.ZipFile(path) as z:
        assert "GCJ-02" in z.read("README.txt").decode()
        assert "GCJ-02" in z.read("grids.prj").decode()
    gpkg = fetch(client, tmp_path, "grids", "gpkg", "GCJ-02")
    with sqlite3.connect(gpkg) as db:
        rows = db.execute(
            "SELECT organization, srs_name FROM gpkg_spatial_ref_sys WHERE srs_id > 0 "
            "AND organization <> 'EPSG'"
        ).fetchall()
    assert rows == [("gridmap", "GCJ-02")]
    body = client.get("/api/v1/export/grids", params={"crs": "GCJ-02"}).json()
    assert body["gridmap:crs"] == "GCJ-02" and "GCJ-02" in body["crs"]["properties"]["name"]
    wgs = fetch(client, tmp_path, "grids", "parquet", "EPSG:4326")
    gcj = fetch(client, tmp_path, "grids", "parquet", "GCJ-02")
    geo = json.loads(pq.read_schema(gcj).metadata[b"geo"])
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    assert "GCJ-02" in json.dumps(geo["columns"]["geometry"]["crs"])
    frame = gpd.read_parquet(gcj)
    assert "GCJ-02" in frame.crs.name
    with pytest.raises(Exception, match="(?i)operation|transform"):
        frame.to_crs(4326)
    shift = gpd.read_parquet(gcj).total_bounds - gpd.read_parquet(wgs).total_bounds
    assert 0.004 < shift[0] < 0.008  # the offset near Beijing, about 500 m east


def test_geoparquet_metadata_and_wgs84(
    demo: tuple[TestClient, dict[str, str]], tmp_path: Path
) -> None:
    client, _ = demo
    path = fetch(client, tmp_path, "buildings", "parquet", "EPSG:4326", region=COMMUNITY)
    geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["geometry_types"] == ["Polygon"]
    frame = gpd.read_parquet(path)
    assert frame.crs.to_epsg() == 4326 and frame.geometry.is_valid.all()
    assert set(frame.geom_type) == {"Polygon"}


def test_masks_and_readers_are_the_apis(
    demo: tuple[TestClient, dict[str, str]], tmp_path: Path
) -> None:
    client, auth = demo
    anyone = gpd.read_parquet(fetch(client, tmp_path, "households", "parquet", "EPSG:4326"))
    api = client.get("/api/v1/households", params={"limit": 5}).json()["features"]
    shown = {f["properties"]["id"]: f["properties"] for f in api}
    same = anyone[anyone["id"].isin(list(shown))].astype(object)
    assert len(same) == len(shown)
    for row in same.where(same.notna(), None).to_dict("records"):
        assert row["contact_name"] == shown[row["id"]]["contact_name"]
        assert row["contact_phone"] == shown[row["id"]]["contact_phone"]
    assert not anyone["contact_phone"].dropna().str.fullmatch(r"1\d{10}").any()
    office = gpd.read_parquet(
        fetch(client, tmp_path, "households", "parquet", "EPSG:4326", region=STREET, headers=auth)
    )
    assert office["contact_phone"].dropna().str.fullmatch(r"1\d{10}").any()
    for layer in ("visits", "patrols"):
        assert client.get(f"/api/v1/export/{layer}").status_code == 401
    visits = gpd.read_parquet(
        fetch(client, tmp_path, "visits", "parquet", "EPSG:4326", region=STREET, headers=auth)
    )
    assert "note" not in visits.columns
    orgs = gpd.read_parquet(fetch(client, tmp_path, "party-orgs", "parquet", "EPSG:4326"))
    assert not any("secretary" in c or "phone" in c for c in orgs.columns)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/export/nothing", {}),
        ("/api/v1/export/" + "x" * 5000, {}),
        ("/api/v1/export/grids", {"format": "xlsx"}),
        ("/api/v1/export/grids", {"format": "parquet", "crs": "EPSG:3857"}),
        ("/api/v1/export/grids", {"crs": "BD-09"}),
        ("/api/v1/export/grids", {"crs": "x" * 200}),
        ("/api/v1/export/grids", {"region": "110108' OR 1=1 --"}),
        ("/api/v1/export/grids", {"region": "NaN"}),
        ("/api/v1/export/grids", {"community": "1101080100021101080100"}),
        ("/api/v1/export/grids", {"at": "yesterday"}),
    ],
)
def test_hostile_requests_are_refused_in_words_and_write_nothing(
    demo: tuple[TestClient, dict[str, str]], demo_engine: Engine, path: str, params: dict[str, str]
) -> None:
    client, _ = demo
    with demo_engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    r = client.get(path, params=params)
    assert r.status_code in (404, 422), r.text
    assert r.json()["detail"] and r.json()["code"]
    with demo_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == before


def test_an_empty_export_is_not_found(demo: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = demo
    r = client.get("/api/v1/export/incidents", params={"region": "110108999"})
    assert r.status_code == 404 and "incidents" in r.json()["detail"]
