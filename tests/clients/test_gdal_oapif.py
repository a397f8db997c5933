"""GDAL's OAPIF driver as a client of /ogc: Debian's ogrinfo/ogr2ogr 3.6 and pyogrio's GDAL.

Each test runs the real programs against gridmap on loopback and checks what they read against
PostGIS, and what they asked for against the server's record of requests.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from tests.clients.conftest import GENERATED_BUILDINGS, Served, header_file, run

from gridmap.layers import LAYERS

CQL_LANGS = {"cql-text", "cql2-text"}


def collections(served: Served, token: str | None = None) -> list[str]:
    """The collection ids /ogc/collections lists (for a token, or anonymously)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.get(f"{served.ogc}/collections", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return [c["id"] for c in answer.json()["collections"]]


def ogrinfo_layers(served: Served, env: dict[str, str] | None = None) -> list[str]:
    """The layer names Debian's ogrinfo lists for OAPIF:/ogc."""
    out = run(["ogrinfo", "-ro", "-q", f"OAPIF:{served.ogc}"], env=env)
    # "1: grids (Multi Polygon)" → "grids"
    return [
        line.split(":", 1)[1].strip().split(" (")[0] for line in out.splitlines() if ":" in line
    ]


def pyogrio(script: str, *args: str) -> Any:
    """Run ``script`` with pyogrio in a process of its own (GDAL blocks while it reads, and the
    server answers from this one); the JSON it prints."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_ogrinfo_lists_every_collection_anonymous_and_with_a_token(
    served: Served, tmp_path: Path
) -> None:
    anonymous = collections(served)
    assert {"regions", "grids", "buildings", "incidents", "service-centres"} <= set(anonymous)
    assert sorted(ogrinfo_layers(served)) == sorted(anonymous)

    with_token = collections(served, served.token)
    assert set(with_token) == set(LAYERS)
    env = header_file(tmp_path, served.token)
    assert sorted(ogrinfo_layers(served, env)) == sorted(with_token)


def test_ogr2ogr_pages_through_every_building_to_a_geopackage(
    served: Served, tmp_path: Path
) -> None:
    with served.engine.connect() as conn:
        codes = {r[0] for r in conn.execute(text("SELECT code FROM building"))}
    assert len(codes) > GENERATED_BUILDINGS
    out = tmp_path / "buildings.gpkg"
    mark = len(served.requests)
    run(
        [
            "ogr2ogr",
            "-f",
            "GPKG",
            str(out),
            f"OAPIF:{served.ogc}",
            "buildings",
            "-oo",
            "PAGE_SIZE=1000",
        ]
    )
    with sqlite3.connect(out) as gpkg:
        got = [r[0] for r in gpkg.execute("SELECT code FROM buildings")]
        kinds = {r[0] for r in gpkg.execute("SELECT geometry_type_name FROM gpkg_geometry_columns")}
    assert len(got) == len(codes)
    assert set(got) == codes
    assert kinds <= {"POLYGON", "GEOMETRY", "MULTIPOLYGON"}
    pages = [r for r in served.since(mark, "/collections/buildings/items") if r.method == "GET"]
    # One request per page of 1,000 (and no more than a first short probe besides).
    assert len(codes) // 1000 <= len(pages) <= len(codes) // 1000 + 3
    assert {r.query.get("limit", [""])[0] for r in pages[1:]} <= {"1000", ""}


def test_ogrinfo_reads_chinese_names_intact(served: Served, tmp_path: Path) -> None:
    with served.engine.connect() as conn:
        names = {
            r[0]: r[1]
            for r in conn.execute(text("SELECT code, name FROM grid WHERE valid_to IS NULL"))
        }
        streets = {
            r[0]: r[1]
            for r in conn.execute(text("SELECT code, name FROM region WHERE level = 'street'"))
        }
    assert any("社区" in (n or "") or "网格" in (n or "") for n in names.values())
    out = tmp_path / "grids.geojson"
    run(["ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{served.ogc}", "grids"])
    got = {
        f["properties"]["code"]: f["properties"]["name"]
        for f in json.loads(out.read_text(encoding="utf-8"))["features"]
    }
    assert got == names
    regions = tmp_path / "regions.geojson"
    run(["ogr2ogr", "-f", "GeoJSON", str(regions), f"OAPIF:{served.ogc}", "regions"])
    read = {
        f["properties"]["code"]: f["properties"]["name"]
        for f in json.loads(regions.read_text(encoding="utf-8"))["features"]
    }
    assert read["110108010"] == "学院路街道"
    assert {c: read[c] for c in streets} == streets


def test_ogrinfo_where_is_sent_as_a_server_filter(served: Served) -> None:
    with served.engine.connect() as conn:
        code, name = conn.execute(
            text(
                "SELECT code, name FROM grid WHERE valid_to IS NULL AND community_code = "
                "'110108010002' ORDER BY code LIMIT 1"
            )
        ).one()
        tall = conn.execute(text("SELECT count(*) FROM building WHERE floors >= 18")).scalar_one()
    mark = len(served.requests)
    out = run(
        [
            "ogrinfo",
            "-ro",
            "-al",
            "-q",
            f"OAPIF:{served.ogc}",
            "grids",
            "-where",
            f"code = '{code}'",
        ]
    )
    assert out.count("OGRFeature(grids)") == 1
    assert f"code (String) = {code}" in out
    assert f"name (String) = {name}" in out
    sent = [r for r in served.since(mark, "/collections/grids/items") if "filter" in r.query]
    assert sent, [(r.path, r.query) for r in served.since(mark)]
    assert sent[0].query["filter-lang"][0] in CQL_LANGS
    assert code in sent[0].query["filter"][0]

    mark = len(served.requests)
    out = run(
        [
            "ogrinfo",
            "-ro",
            "-so",
            f"OAPIF:{served.ogc}",
            "buildings",
            "-where",
            "floors >= 18",
        ]
    )
    # (ogrinfo 3.6 prints the count only without -q.)
    assert f"Feature Count: {tall}" in out
    assert any("filter" in r.query for r in served.since(mark, "/collections/buildings/items"))


LIST_AND_READ = """
import json, sys
import pyogrio
url, where = sys.argv[1], sys.argv[2]
layers = [str(name) for name, _ in pyogrio.list_layers("OAPIF:" + url)]
df = pyogrio.read_dataframe("OAPIF:" + url, layer="grids", where=where or None)
print(json.dumps({
    "gdal": pyogrio.__gdal_version_string__,
    "layers": layers,
    "grids": dict(zip(df["code"], df["name"])),
}, ensure_ascii=False))
"""


def test_pyogrio_lists_collections_reads_names_and_filters(served: Served) -> None:
    with served.engine.connect() as conn:
        names = {
            r[0]: r[1]
            for r in conn.execute(text("SELECT code, name FROM grid WHERE valid_to IS NULL"))
        }
    got = pyogrio(LIST_AND_READ, served.ogc, "")
    assert sorted(got["layers"]) == sorted(collections(served))
    assert got["grids"] == names

    community = "110108010002"
    mark = len(served.requests)
    got = pyogrio(LIST_AND_READ, served.ogc, f"community_code = '{community}'")
    assert got["grids"] == {c: n for c, n in names.items() if c.startswith(community)}
    assert any("filter" in r.query for r in served.since(mark, "/collections/grids/items"))


READ_IN_CRS = """
import json, sys
import pyogrio
url, crs = sys.argv[1], sys.argv[2]
meta = pyogrio.read_info("OAPIF:" + url, layer="grids", CRS=crs)
df = pyogrio.read_dataframe("OAPIF:" + url, layer="grids", CRS=crs)
c = df.geometry.iloc[0].representative_point()
print(json.dumps({"crs": meta["crs"], "code": df["code"].iloc[0], "x": c.x, "y": c.y,
                  "bounds": list(df.total_bounds)}))
"""


def test_pyogrio_reads_grids_in_a_chosen_crs(served: Served) -> None:
    wgs84 = pyogrio(READ_IN_CRS, served.ogc, "EPSG:4326")
    mercator = pyogrio(READ_IN_CRS, served.ogc, "EPSG:3857")
    assert mercator["crs"] == "EPSG:3857"
    west, south, east, north = wgs84["bounds"]
    # EPSG:4326 as GDAL holds it after reading: lon/lat, within Haidian.
    assert 116.0 < west < east < 116.6 and 39.8 < south < north < 40.2
    mwest, msouth, meast, mnorth = mercator["bounds"]
    assert 12_900_000 < mwest < meast < 12_980_000
    assert 4_830_000 < msouth < mnorth < 4_880_000
    sent = [r for r in served.requests if r.path.endswith("/collections/grids/items")]
    assert any(r.query.get("crs", [""])[0].endswith("/EPSG/0/3857") for r in sent), (
        "pyogrio's GDAL did not ask the server for EPSG:3857"
    )
