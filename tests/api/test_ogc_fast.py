"""The /ogc fast path answers exactly as the route: the same features, counts, links, headers and
errors, for every layer and parameter, with and without a token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridmap.auth import create_token
from gridmap.main import create_app
from gridmap.ogc import fast
from gridmap.settings import Settings

DEMO_DB = "gridmap_test_demo"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
BOX = "116.33,39.98,116.35,39.995"


def _app(demo_engine: Engine, *, fast_path: bool) -> TestClient:
    settings = Settings()
    settings.api.live_lookup = False
    settings.api.ogc_fast_path = fast_path
    settings.db.embedded_db = DEMO_DB
    if settings.db.url is not None:
        settings.db.url = demo_engine.url.render_as_string(hide_password=False)  # type: ignore[assignment]
    return TestClient(create_app(settings))


@pytest.fixture(scope="module")
def pair(demo_engine: Engine) -> Iterator[tuple[TestClient, TestClient]]:
    with _app(demo_engine, fast_path=True) as quick, _app(demo_engine, fast_path=False) as slow:
        _QUICK[:] = [quick]
        yield quick, slow


@pytest.fixture(scope="module")
def street_token(demo_engine: Engine) -> str:
    with Session(demo_engine) as s:
        secret, _ = create_token(s, name="test fast", role="street", region="110108010")
        s.commit()
    return secret


def _ids(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as c:
        return [r[0] for r in c.execute(text(sql))]


def _same(quick: TestClient, slow: TestClient, url: str, **kw: Any) -> dict[str, Any]:
    a, b = quick.get(url, **kw), slow.get(url, **kw)
    assert a.status_code == b.status_code, (url, a.text[:300], b.text[:300])
    for header in ("content-type", "content-crs", "etag"):
        assert a.headers.get(header) == b.headers.get(header), (url, header)
    got, want = a.json(), b.json()
    if isinstance(got, dict):
        got.pop("timeStamp", None)
        want.pop("timeStamp", None)
    assert got == want, url
    return dict(got)


def _answered_fast(before: int, after: int) -> bool:
    return after > before


_QUICK: list[TestClient] = []


def _calls() -> int:
    """How many statements the fast path has answered."""
    return int(_QUICK[0].app.state.ogc_pool.answered)  # type: ignore[attr-defined]


PAGES = [
    "/ogc/collections/buildings/items",
    "/ogc/collections/buildings/items?limit=7",
    "/ogc/collections/buildings/items?limit=7&offset=14",
    f"/ogc/collections/buildings/items?bbox={BOX}&limit=50",
    f"/ogc/collections/buildings/items?bbox={BOX}&limit=5&offset=5&crs={EPSG4326}",
    f"/ogc/collections/buildings/items?bbox=39.98,116.33,39.995,116.35&bbox-crs={EPSG4326}",
    f"/ogc/collections/buildings/items?limit=3&crs={EPSG4490}&f=json",
    "/ogc/collections/buildings/items?filter=floors%20%3E%3D%206%20AND%20households%20%3E%200",
    "/ogc/collections/buildings/items?filter=floors%3D6&filter-lang=cql-text&limit=4&offset=4",
    "/ogc/collections/buildings/items?use=other&limit=5",
    "/ogc/collections/buildings/items?community_code=110108010021&offset=3&limit=3",
    "/ogc/collections/regions/items",
    "/ogc/collections/regions/items?level=community&limit=4&offset=2",
    "/ogc/collections/service-centres/items",
    "/ogc/collections/service-circles/items?datetime=2000-01-01T00:00:00Z/..&limit=2",
    "/ogc/collections/party-orgs/items?limit=5",
    "/ogc/collections/party-orgs/items?kind=branch&limit=3&f=geojson",
    "/ogc/collections/buildings/items?limit=5&offset=100000",
]


def test_pages_are_the_routes(pair: tuple[TestClient, TestClient]) -> None:
    quick, slow = pair
    for url in PAGES:
        before = _calls()
        body = _same(quick, slow, url)
        assert _answered_fast(before, _calls()), url
        assert body["type"] == "FeatureCollection"
    body = _same(quick, slow, f"/ogc/collections/buildings/items?bbox={BOX}&limit=50")
    assert body["numberMatched"] > 0 and body["numberReturned"] == min(50, body["numberMatched"])


def test_pages_match_postgis(pair: tuple[TestClient, TestClient], demo_engine: Engine) -> None:
    quick, _ = pair
    want = _ids(demo_engine, "SELECT id FROM building WHERE floors = 6 ORDER BY id")
    got: list[int] = []
    url: str | None = "/ogc/collections/buildings/items?filter=floors%3D6&limit=40"
    while url:
        body = quick.get(url).json()
        assert body["numberMatched"] == len(want)
        got += [f["id"] for f in body["features"]]
        url = next((x["href"] for x in body["links"] if x["rel"] == "next"), None)
    assert got == want


def test_items_are_the_routes(
    pair: tuple[TestClient, TestClient], demo_engine: Engine, street_token: str
) -> None:
    quick, slow = pair
    building = _ids(demo_engine, "SELECT id FROM building ORDER BY id LIMIT 1")[0]
    region = "110108010"
    for url in (
        f"/ogc/collections/buildings/items/{building}",
        f"/ogc/collections/buildings/items/{building}?crs={EPSG4326}",
        f"/ogc/collections/regions/items/{region}",
    ):
        before = _calls()
        body = _same(quick, slow, url)
        assert _answered_fast(before, _calls()), url
        assert str(body["id"]) == url.split("?")[0].split("/")[-1]
    auth = {"Authorization": f"Bearer {street_token}"}
    _same(quick, slow, f"/ogc/collections/buildings/items/{building}", headers=auth)
    _same(quick, slow, f"/ogc/collections/buildings/items?bbox={BOX}", headers=auth)


@pytest.mark.parametrize(
    "url",
    [
        "/ogc/collections/buildings/items/99999999",
        "/ogc/collections/buildings/items/abc",
        "/ogc/collections/regions/items/000",
        "/ogc/collections/buildings/items?limit=0",
        "/ogc/collections/buildings/items?limit=10001",
        "/ogc/collections/buildings/items?limit=",
        "/ogc/collections/buildings/items?limit=1&limit=2",
        "/ogc/collections/buildings/items?bbox=1,2,3",
        "/ogc/collections/buildings/items?bbox=nan,1,2,3",
        "/ogc/collections/buildings/items?bbox=" + "1" * 500,
        "/ogc/collections/buildings/items?offset=-1",
        "/ogc/collections/buildings/items?crs=EPSG:9999",
        "/ogc/collections/buildings/items?f=xml",
        "/ogc/collections/buildings/items?nope=1",
        "/ogc/collections/buildings/items?floors=x",
        "/ogc/collections/buildings/items?filter=nope%3D1",
        "/ogc/collections/buildings/items?filter=floors%3D",
        "/ogc/collections/buildings/items?filter=floors%3D1&filter-lang=sql",
        "/ogc/collections/buildings/items?filter-lang=cql2-text",
        "/ogc/collections/buildings/items?filter=floors%3D1%27%3B%20DROP%20TABLE%20building%3B--",
        "/ogc/collections/buildings/items?datetime=2024-01-01",
        "/ogc/collections/regions/items?datetime=yesterday",
    ],
)
def test_refusals_are_the_routes(
    pair: tuple[TestClient, TestClient], demo_engine: Engine, url: str
) -> None:
    quick, slow = pair
    before = _ids(demo_engine, "SELECT count(*) FROM building")
    a, b = quick.get(url), slow.get(url)
    assert a.status_code == b.status_code and a.status_code >= 400, (url, a.text[:200])
    assert a.json() == b.json()
    assert _ids(demo_engine, "SELECT count(*) FROM building") == before


def test_masked_layers_are_never_fast(pair: tuple[TestClient, TestClient]) -> None:
    assert {"buildings", "regions", "service-centres"} <= fast.FAST
    assert not fast.FAST & {"households", "incidents", "list-items", "visits", "patrols"}
    assert not fast.FAST & {"resident-units", "grids"}
    quick, slow = pair
    before = _calls()
    _same(quick, slow, "/ogc/collections/incidents/items?limit=5")
    _same(quick, slow, "/ogc/collections/grids/items?limit=5")
    assert _calls() == before


@pytest.mark.parametrize(
    ("cql", "sql"),
    [
        ("floors = 6.0", "floors = 6"),
        ("households > 2.5 AND 3 < floors", "households > 2.5 AND floors > 3"),
        ("floors <> 99999999999999999999", "true"),
    ],
)
def test_whole_numbers_compare_as_postgis_does(
    pair: tuple[TestClient, TestClient], demo_engine: Engine, cql: str, sql: str
) -> None:
    quick, _ = pair
    want = _ids(demo_engine, f"SELECT count(*) FROM building WHERE {sql}")[0]
    body = quick.get("/ogc/collections/buildings/items", params={"filter": cql, "limit": 1})
    assert body.status_code == 200, body.text
    assert body.json()["numberMatched"] == want


def test_counts_follow_every_write(
    pair: tuple[TestClient, TestClient], demo_engine: Engine
) -> None:
    quick, slow = pair
    url = "/ogc/collections/buildings/items?filter=floors%3D77&limit=1"

    def matched(client: TestClient) -> int:
        answer = client.get(url)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["numberMatched"])

    want = _ids(demo_engine, "SELECT count(*) FROM building WHERE floors = 77")[0]
    assert matched(quick) == matched(quick) == matched(slow) == want
    with demo_engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO building (code, households, floors, geom) VALUES ('FAST-77', 1, 77, "
                "ST_MakeEnvelope(116.34, 39.99, 116.3401, 39.9901, 4326))"
            )
        )
    try:
        assert matched(quick) == matched(slow) == want + 1
        with demo_engine.begin() as c:
            c.execute(text("UPDATE building SET floors = 78 WHERE code = 'FAST-77'"))
        assert matched(quick) == want
    finally:
        with demo_engine.begin() as c:
            c.execute(text("DELETE FROM building WHERE code = 'FAST-77'"))
    assert matched(quick) == matched(slow) == want
