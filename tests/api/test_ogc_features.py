"""OGC API – Features at /ogc over the demo data set: landing, conformance, collections, items
with every parameter, one item, queryables, CRSs, masks and hostile input."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridmap import layers
from gridmap.auth import create_token
from gridmap.dependencies import get_session
from gridmap.main import create_app
from gridmap.settings import Settings

STREET = "110108010"
OTHER_STREET = "110108001"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"


@pytest.fixture(scope="module")
def ogc(demo_engine: Engine) -> Iterator[TestClient]:
    settings = Settings()
    settings.api.live_lookup = False
    app = create_app(settings)

    def demo_session() -> Iterator[Session]:
        with Session(demo_engine) as s:
            yield s

    app.dependency_overrides[get_session] = demo_session
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def tokens(demo_engine: Engine) -> Iterator[dict[str, dict[str, str]]]:
    made = {}
    with Session(demo_engine) as s:
        for key, role, region in (
            ("street", "street", STREET),
            ("other", "street", OTHER_STREET),
            ("viewer", "viewer", STREET),
        ):
            secret, _ = create_token(s, name=f"test {key}", role=role, region=region)
            made[key] = {"Authorization": f"Bearer {secret}"}
        s.commit()
    yield made


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as c:
        return int(c.execute(text(sql)).scalar_one())


def test_landing_and_conformance(ogc: TestClient) -> None:
    body = ogc.get("/ogc").json()
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"].endswith("/ogc/api")
    assert ogc.get(rels["service-desc"]).status_code == 200
    conf = ogc.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf


def test_collections_list_every_layer_the_caller_may_read(
    ogc: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    # Patrols and visits are for tokens of the offices and teams only: an anonymous GIS client
    # is not shown layers it would be refused.
    anonymous = [c["id"] for c in ogc.get("/ogc/collections").json()["collections"]]
    assert anonymous == [i for i in layers.LAYERS if i not in ("patrols", "visits")]
    viewer = ogc.get("/ogc/collections", headers=tokens["viewer"]).json()["collections"]
    assert [c["id"] for c in viewer] == anonymous
    assert ogc.get("/ogc/collections/visits/items").status_code == 401
    body = ogc.get("/ogc/collections", headers=tokens["street"]).json()
    ids = [c["id"] for c in body["collections"]]
    assert ids == list(layers.LAYERS)
    for c in body["collections"]:
        assert c["storageCrs"] == CRS84 and CRS84 in c["crs"] and EPSG4326 in c["crs"]
        assert any(u.endswith("/ogc/crs/gcj02") for u in c["crs"])
        rels = {link["rel"] for link in c["links"]}
        assert {"self", "items", "http://www.opengis.net/def/rel/ogc/1.0/queryables"} <= rels
        assert len(c["extent"]["spatial"]["bbox"][0]) == 4
    grids = ogc.get("/ogc/collections/grids").json()
    west, south, east, north = grids["extent"]["spatial"]["bbox"][0]
    assert 116.2 < west < east < 116.5 and 39.9 < south < north < 40.1


def test_paging_through_grids_gives_every_grid_once(ogc: TestClient, demo_engine: Engine) -> None:
    total = _count(demo_engine, "SELECT count(*) FROM grid WHERE valid_to IS NULL")
    url: str | None = "/ogc/collections/grids/items?limit=17"
    seen: list[str] = []
    pages = 0
    while url:
        r = ogc.get(url)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/geo+json")
        assert r.headers["content-crs"] == f"<{CRS84}>"
        body = r.json()
        assert body["numberMatched"] == total
        assert body["numberReturned"] == len(body["features"])
        seen += [f["id"] for f in body["features"]]
        rels = {link["rel"]: link["href"] for link in body["links"]}
        assert ("prev" in rels) == (pages > 0)
        url = rels.get("next")
        pages += 1
    assert len(seen) == total == len(set(seen))
    assert pages == math.ceil(total / 17)


def test_one_grid_carries_the_grid_apis_etag(ogc: TestClient) -> None:
    first = ogc.get("/ogc/collections/grids/items?limit=1").json()["features"][0]
    code = first["id"]
    r = ogc.get(f"/ogc/collections/grids/items/{code}")
    assert r.status_code == 200 and r.json()["properties"]["code"] == code
    assert r.headers["etag"] == ogc.get(f"/api/v1/grids/{code}").headers["etag"]
    assert r.json()["geometry"] == ogc.get(f"/api/v1/grids/{code}").json()["geometry"]


def test_bbox_and_count(ogc: TestClient, demo_engine: Engine) -> None:
    box = (116.35, 39.99, 116.36, 40.0)
    expected = _count(
        demo_engine,
        "SELECT count(*) FROM building WHERE ST_Intersects(geom, "
        f"ST_MakeEnvelope({','.join(map(str, box))}, 4326))",
    )
    body = ogc.get(
        "/ogc/collections/buildings/items", params={"bbox": ",".join(map(str, box))}
    ).json()
    assert body["numberMatched"] == expected > 0
    # The same box given lat/lon in EPSG:4326.
    swapped = f"{box[1]},{box[0]},{box[3]},{box[2]}"
    again = ogc.get(
        "/ogc/collections/buildings/items", params={"bbox": swapped, "bbox-crs": EPSG4326}
    ).json()
    assert again["numberMatched"] == expected


def test_crs_outputs_axis_order_and_gcj02_offset(ogc: TestClient) -> None:
    url = "/ogc/collections/service-centres/items?limit=1"
    plain = ogc.get(url).json()["features"][0]["geometry"]["coordinates"]
    r = ogc.get(url, params={"crs": EPSG4326})
    assert r.headers["content-crs"] == f"<{EPSG4326}>"
    lat_lon = r.json()["features"][0]["geometry"]["coordinates"]
    assert lat_lon == pytest.approx([plain[1], plain[0]], abs=1e-7)
    r = ogc.get(url, params={"crs": "http://www.opengis.net/def/crs/EPSG/0/4490"})
    assert r.json()["features"][0]["geometry"]["coordinates"] == pytest.approx(lat_lon, abs=1e-7)
    gcj_uri = "http://testserver/ogc/crs/gcj02"
    r = ogc.get(url, params={"crs": gcj_uri})
    assert r.headers["content-crs"] == f"<{gcj_uri}>"
    gcj = r.json()["features"][0]["geometry"]["coordinates"]
    dx = (gcj[0] - plain[0]) * 111_320 * math.cos(math.radians(plain[1]))
    dy = (gcj[1] - plain[1]) * 110_540
    assert 300 < math.hypot(dx, dy) < 800
    merc = ogc.get(url, params={"crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}).json()
    x, y = merc["features"][0]["geometry"]["coordinates"]
    assert 12_900_000 < x < 13_000_000 and 4_800_000 < y < 4_900_000
    described = ogc.get("/ogc/crs/gcj02").json()
    assert described["isEPSG4326"] is False and "not" in described["warning"]


def test_queryables_and_property_equality(ogc: TestClient) -> None:
    r = ogc.get("/ogc/collections/incidents/queryables")
    assert r.headers["content-type"].startswith("application/schema+json")
    props = r.json()["properties"]
    assert "category" in props and "reporter_name" not in props and "geometry" in props
    grids = ogc.get("/ogc/collections/grids/items?limit=1").json()["features"][0]
    community = grids["properties"]["community_code"]
    body = ogc.get("/ogc/collections/grids/items", params={"community_code": community}).json()
    assert body["numberMatched"] > 0
    assert {f["properties"]["community_code"] for f in body["features"]} == {community}


def test_datetime(ogc: TestClient, demo_engine: Engine) -> None:
    start = "2000-01-01T00:00:00Z"
    everything = ogc.get("/ogc/collections/incidents/items?limit=1").json()["numberMatched"]
    after = ogc.get(f"/ogc/collections/incidents/items?limit=1&datetime={start}/..").json()
    assert after["numberMatched"] == everything > 0
    none = ogc.get("/ogc/collections/incidents/items?limit=1&datetime=../2000-01-01").json()
    assert none["numberMatched"] == 0
    before = ogc.get(f"/ogc/collections/grids/items?datetime={start}").json()
    assert before["numberMatched"] == 0
    versions = _count(demo_engine, "SELECT count(*) FROM grid")
    every = ogc.get("/ogc/collections/grids/items?limit=1&datetime=../..").json()
    assert every["numberMatched"] == versions
    r = ogc.get("/ogc/collections/regions/items?datetime=2024-01-01T00:00:00Z")
    assert r.status_code == 400 and "no time" in r.json()["description"]


def test_masks_follow_the_token(ogc: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    url = "/ogc/collections/incidents/items?limit=50"
    own = ogc.get(url, headers=tokens["street"]).json()["features"]
    names = [f["properties"]["reporter_name"] for f in own if f["properties"]["reporter_name"]]
    assert names and any("*" not in n for n in names)
    for who in ({}, tokens["other"], tokens["viewer"]):
        seen = ogc.get(url, headers=who).json()["features"]
        assert all(
            "*" in (f["properties"]["reporter_name"] or "*")
            and "*" in (f["properties"]["reporter_phone"] or "*")
            for f in seen
        )
    orgs = ogc.get("/ogc/collections/party-orgs/items?limit=1000").text
    assert "secretary" not in orgs
    assert ogc.get("/ogc/collections/patrols/items").status_code == 401
    r = ogc.get("/ogc/collections/visits/items", headers=tokens["viewer"])
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    visits = ogc.get("/ogc/collections/visits/items", headers=tokens["street"]).json()
    assert visits["numberMatched"] > 0 and "note" not in visits["features"][0]["properties"]
    other = ogc.get("/ogc/collections/visits/items", headers=tokens["other"]).json()
    assert other["numberMatched"] == 0


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/ogc/collections/grids/items?limit=10001", 400),
        ("/ogc/collections/grids/items?limit=0", 400),
        ("/ogc/collections/grids/items?limit=abc", 400),
        ("/ogc/collections/grids/items?offset=-1", 400),
        ("/ogc/collections/grids/items?bbox=1,2,3", 400),
        ("/ogc/collections/grids/items?bbox=NaN,39,116,40", 400),
        ("/ogc/collections/grids/items?bbox=117,39,116,40", 400),
        ("/ogc/collections/grids/items?bbox=116,39,117,95", 400),
        ("/ogc/collections/grids/items?crs=EPSG:9999", 400),
        ("/ogc/collections/grids/items?bbox-crs=http://x/y", 400),
        ("/ogc/collections/grids/items?frobnicate=1", 400),
        ("/ogc/collections/grids/items?households=many", 400),
        ("/ogc/collections/grids/items?datetime=yesterday", 400),
        ("/ogc/collections/grids/items?f=xml", 400),
        ("/ogc/collections/grids/items?limit=1&limit=2", 400),
        ("/ogc/collections/nothing/items", 404),
        ("/ogc/collections/grids/items/1'%20OR%20'1'='1", 404),
        ("/ogc/collections/incidents/items/1;DROP%20TABLE%20incident", 404),
        ("/ogc/collections/incidents/items/99999999999999999999", 404),
        ("/ogc/crs/wgs84", 404),
    ],
)
def test_hostile_input_is_refused_in_ogc_form(
    ogc: TestClient, demo_engine: Engine, url: str, status: int
) -> None:
    before = _count(demo_engine, "SELECT count(*) FROM audit_log")
    r = ogc.get(url)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] and body["description"]
    assert _count(demo_engine, "SELECT count(*) FROM audit_log") == before
    assert _count(demo_engine, "SELECT count(*) FROM incident") > 0


def test_limit_refusal_says_the_maximum(ogc: TestClient) -> None:
    r = ogc.get("/ogc/collections/grids/items?limit=20000")
    assert r.status_code == 400 and "10,000" in r.json()["description"]


def test_gdal_format_parameter_is_accepted(ogc: TestClient) -> None:
    for f in ("json", "geojson"):
        assert ogc.get(f"/ogc/collections/regions/items?limit=2&f={f}").status_code == 200


def test_filters_in_cql2_text_json_and_gdals_cql_text(ogc: TestClient) -> None:
    first = ogc.get("/ogc/collections/grids/items?limit=1").json()["features"][0]
    community = first["properties"]["community_code"]
    expected = ogc.get("/ogc/collections/grids/items", params={"community_code": community}).json()[
        "numberMatched"
    ]
    for lang, expr in (
        ("cql2-text", f"community_code = '{community}'"),
        ("cql-text", f"community_code = '{community}'"),
        ("cql2-json", json.dumps({"op": "=", "args": [{"property": "community_code"}, community]})),
    ):
        r = ogc.get("/ogc/collections/grids/items", params={"filter": expr, "filter-lang": lang})
        assert r.status_code == 200, r.text
        assert r.json()["numberMatched"] == expected > 0
    bad = ogc.get("/ogc/collections/grids/items", params={"filter": "code = = 1"})
    assert bad.status_code == 400 and bad.json()["description"]
    hidden = ogc.get("/ogc/collections/incidents/items", params={"filter": "reporter_name = 'x'"})
    assert hidden.status_code == 400
    assert (
        ogc.get(
            "/ogc/collections/grids/items", params={"filter": "kind='basic'", "filter-lang": "sql"}
        ).status_code
        == 400
    )


def test_the_ogc_openapi_offers_filters_and_queryables_only(ogc: TestClient) -> None:
    desc = next(x for x in ogc.get("/ogc").json()["links"] if x["rel"] == "service-desc")
    answer = ogc.get(desc["href"])
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    doc = answer.json()
    assert doc["openapi"].startswith("3.0")
    assert doc["servers"][0]["url"].endswith("/ogc")
    generic = doc["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
    lang = next(p for p in generic if p.get("name") == "filter-lang")
    assert {"cql-text", "cql2-text", "cql2-json"} <= set(lang["schema"]["enum"])
    for layer in layers.LAYERS.values():
        params = doc["paths"][f"/collections/{layer.id}/items"]["get"]["parameters"]
        names = {p["name"] for p in params}
        assert {"filter", "filter-lang", "bbox", "limit"} <= names
        personal = {f.name for f in layer.fields if f.personal}
        assert not personal & names, layer.id
        assert {n for n, f in layer.queryables.items() if f.type != "json"} <= names
    incidents = doc["paths"]["/collections/incidents/items"]["get"]["parameters"]
    assert "reporter_phone" not in {p["name"] for p in incidents}
    assert ogc.get("/ogc/api?f=xml").status_code == 400
