"""GET /api/v1/lookup: inside, on the shared border, at a shared vertex, outside, bad input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from tests.utils.fixtures import BORDER_LON, COMMUNITY, EAST_GRID, STREET, WEST_GRID, two_grids

from gridmap.dependencies import get_session
from gridmap.geo.crs import from_wgs84
from gridmap.main import create_app
from gridmap.settings import Settings
from gridmap.vocab.address import ADDRESS_MATCHES


@pytest.fixture(params=["memory", "postgis"])
def client(request: pytest.FixtureRequest, settings: Settings, db: Session) -> Iterator[TestClient]:
    """Each lookup test runs twice: answered from the in-memory grids, and from PostGIS."""
    s = settings.model_copy(deep=True)
    s.api.live_lookup = request.param == "memory"
    app = create_app(s)

    def one_session() -> Iterator[Session]:
        yield db

    app.dependency_overrides[get_session] = one_session
    with TestClient(app) as c:
        assert app.state.live.listening == (request.param == "memory")
        yield c


@pytest.fixture
def grids(db: Session) -> None:
    two_grids(db)


def lookup(client: TestClient, lon: object, lat: object, **extra: object):  # type: ignore[no-untyped-def]
    return client.get("/api/v1/lookup", params={"lon": lon, "lat": lat, **extra})


def test_point_inside_a_grid(client: TestClient, grids: None) -> None:
    r = lookup(client, 116.342, 40.005)
    assert r.status_code == 200
    body = r.json()
    assert body["grid"]["code"] == WEST_GRID
    assert body["grid"]["name"] == "西网格"
    assert body["community"] == {"code": COMMUNITY, "name": "测试社区"}
    assert body["street"] == {"code": STREET, "name": "学院路街道"}
    assert body["district"]["code"] == "110108"
    r = lookup(client, 116.348, 40.005)
    assert r.json()["grid"]["code"] == EAST_GRID


def test_team_is_masked(client: TestClient, grids: None) -> None:
    team = lookup(client, 116.342, 40.005).json()["team"]
    assert [m["role"] for m in team] == ["leader", "worker"]
    assert team[0]["name"] == "王**" and team[0]["phone"] == "138****1234"
    assert all("晓明" not in m["name"] for m in team)


def test_team_is_shown_to_tokens_that_cover_the_grid(
    client: TestClient, db: Session, grids: None
) -> None:
    from tests.utils.fixtures import bearer

    def team(headers: dict[str, str]) -> dict[str, object]:
        r = client.get("/api/v1/lookup", params={"lon": 116.342, "lat": 40.005}, headers=headers)
        return r.json()  # type: ignore[no-any-return]

    shown = team(bearer(db, "worker", WEST_GRID, "网格员"))
    assert shown["personal_data"] == "shown"
    assert shown["team"][0] == {"role": "leader", "name": "王晓明", "phone": "13800001234"}
    for role, region in (
        ("worker", EAST_GRID),
        ("viewer", COMMUNITY),
        ("community", "110108010002"),
    ):
        masked = team(bearer(db, role, region, role))
        assert masked["personal_data"] == "masked", (role, region)
        assert masked["team"][0]["name"] == "王**"
    r = client.get(
        "/api/v1/lookup",
        params={"lon": 116.342, "lat": 40.005},
        headers={"Authorization": "Bearer gm_wrong"},
    )
    assert r.status_code == 401


@pytest.mark.parametrize("lat", [40.0, 40.005, 40.01])
def test_shared_border_goes_to_the_lowest_code(client: TestClient, grids: None, lat: float) -> None:
    # On the edge, at its middle and at the vertices both grids share.
    for _ in range(3):
        assert lookup(client, BORDER_LON, lat).json()["grid"]["code"] == WEST_GRID


def test_point_outside_every_grid_is_404_with_the_nearest(client: TestClient, grids: None) -> None:
    r = lookup(client, 116.36, 40.005)  # 0.01° east of the east grid
    assert r.status_code == 404
    body = r.json()
    assert body["code"] == "outside_grids"
    assert "lies in no grid" in body["detail"]
    assert body["nearest_grid"]["code"] == EAST_GRID
    assert body["nearest_grid"]["distance_m"] == pytest.approx(853.0, rel=0.01)


def test_gcj02_and_bd09_input_find_the_same_grid(client: TestClient, grids: None) -> None:
    for crs in ("GCJ-02", "BD-09", "EPSG:3857", "EPSG:4490"):
        x, y = from_wgs84(116.3449, 40.005, crs)
        body = lookup(client, x, y, crs=crs).json()
        assert body["grid"]["code"] == WEST_GRID, crs
        assert body["point"]["lon"] == pytest.approx(116.3449, abs=1e-7)


def test_current_version_only(client: TestClient, db: Session, grids: None) -> None:
    # Retire the west grid; its pieces remain in grid_piece, but lookups must ignore them.
    db.execute(
        text("UPDATE grid SET valid_to = valid_from + interval '1 second' WHERE code = :c"),
        {"c": WEST_GRID},
    )
    assert lookup(client, 116.342, 40.005).status_code == 404


def test_pieces_follow_geometry_changes(client: TestClient, db: Session, grids: None) -> None:
    # Shrink the east grid; the trigger must rebuild its pieces so lookups see the new shape.
    db.execute(
        text(
            "UPDATE grid SET geom = ST_GeomFromEWKT("
            "'SRID=4326;MULTIPOLYGON(((116.345 40,116.346 40,116.346 40.01,116.345 40.01,"
            "116.345 40)))') WHERE code = :c"
        ),
        {"c": EAST_GRID},
    )
    assert lookup(client, 116.348, 40.005).status_code == 404
    assert lookup(client, 116.3455, 40.005).json()["grid"]["code"] == EAST_GRID


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"lon": 40.005, "lat": 116.342}, "outside_china"),
        ({"lon": 2.35, "lat": 48.85}, "outside_china"),
        ({"lon": "nan", "lat": 40.0}, "invalid_input"),
        ({"lon": "inf", "lat": 40.0}, "invalid_input"),
        ({"lon": "116.3abc", "lat": 40.0}, "invalid_input"),
        ({"lon": 116.342}, "invalid_input"),
        ({"lon": 116.342, "lat": 40.005, "crs": "EPSG:99999"}, "unknown_crs"),
        ({"lon": 116.342, "lat": 40.005, "crs": "x" * 500}, "invalid_input"),
        ({"lon": "1" * 5000, "lat": 40.0}, "invalid_input"),
    ],
)
def test_bad_input_is_422(
    client: TestClient, grids: None, params: dict[str, object], code: str
) -> None:
    r = client.get("/api/v1/lookup", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == code
    assert r.json()["detail"]


def test_swapped_coordinates_are_named(client: TestClient, grids: None) -> None:
    assert "swapped" in lookup(client, 40.005, 116.342).json()["detail"]


def test_at_answers_with_the_grids_of_then(client: TestClient, db: Session, grids: None) -> None:
    before = db.execute(text("SELECT clock_timestamp()")).scalar_one()
    # The west grid is retired, and a new grid takes the whole community.
    db.execute(text("UPDATE grid SET valid_to = clock_timestamp() WHERE valid_to IS NULL"))
    db.execute(
        text(
            "INSERT INTO grid (code, community_code, name, geom, valid_from) VALUES (:c, :cc, "
            "'全社区', ST_GeomFromEWKT('SRID=4326;MULTIPOLYGON(((116.34 40,116.35 40,116.35 40.01,"
            "116.34 40.01,116.34 40)))'), clock_timestamp())"
        ),
        {"c": COMMUNITY + "003", "cc": COMMUNITY},
    )
    now = lookup(client, 116.342, 40.005).json()
    assert now["grid"]["code"] == COMMUNITY + "003"
    then = lookup(client, 116.342, 40.005, at=before.isoformat()).json()
    assert then["grid"]["code"] == WEST_GRID and then["at"] == before.isoformat()
    r = lookup(client, 116.342, 40.005, at="2001-01-01T00:00:00+08:00")
    assert r.status_code == 404 and r.json()["nearest_grid"] is None
    batch = client.post(
        "/api/v1/lookup",
        params={"at": before.isoformat()},
        json={"points": [[116.342, 40.005], [116.348, 40.005]]},
    ).json()
    assert [x["grid"]["code"] for x in batch["results"]] == [WEST_GRID, EAST_GRID]


def test_batch_answers_in_order(client: TestClient, db: Session, grids: None) -> None:
    from tests.utils.fixtures import bearer

    points = [
        [116.348, 40.005],  # east
        [BORDER_LON, 40.005],  # on the border: west, the lower code
        [116.36, 40.005],  # in no grid
        [40.005, 116.342],  # swapped
        [116.342, 40.005],  # west
    ]
    r = client.post("/api/v1/lookup", json={"points": points})
    assert r.status_code == 200, r.text
    body = r.json()
    got = [(x["grid"] or {}).get("code") for x in body["results"]]
    assert got == [EAST_GRID, WEST_GRID, None, None, WEST_GRID]
    assert [x["index"] for x in body["results"]] == [0, 1, 2, 3, 4]
    assert body["results"][3]["error"]["code"] == "outside_china"
    assert body["found"] == 3 and body["numberOfPoints"] == 5
    assert body["results"][0]["community"] == {"code": COMMUNITY, "name": "测试社区"}
    assert body["teams"][WEST_GRID][0]["name"] == "王**" and body["teams"][EAST_GRID] == []
    worker = bearer(db, "worker", WEST_GRID, "网格员")
    shown = client.post("/api/v1/lookup", json={"points": points}, headers=worker).json()
    assert shown["teams"][WEST_GRID][0]["name"] == "王晓明"
    gcj = [list(from_wgs84(116.342, 40.005, "GCJ-02"))]
    r = client.post("/api/v1/lookup", json={"points": gcj, "crs": "GCJ-02"}).json()
    assert r["results"][0]["grid"]["code"] == WEST_GRID


@pytest.mark.parametrize(
    "body",
    [
        {"points": [[116.3, 40.0]] * 10_001},
        {"points": [[116.3]]},
        {"points": [["a", "b"]]},
        {"points": "116.3,40.0"},
        {"points": [[116.3, 40.0]], "crs": "EPSG:1234"},
        {"points": [[116.3, 40.0]], "extra": 1},
        {},
    ],
)
def test_bad_batches_are_422(client: TestClient, grids: None, body: dict[str, object]) -> None:
    r = client.post("/api/v1/lookup", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["code"] in ("invalid_input", "unknown_crs")


def test_a_big_batch_matches_single_lookups(client: TestClient, grids: None) -> None:
    import numpy as np

    rng = np.random.default_rng(4)
    pts = rng.uniform([116.338, 39.998], [116.352, 40.012], (2000, 2))
    pts[:50, 0] = BORDER_LON
    body = client.post("/api/v1/lookup", json={"points": pts.tolist()}).json()
    for i in range(0, 2000, 97):
        single = lookup(client, pts[i, 0], pts[i, 1])
        expect = single.json()["grid"]["code"] if single.status_code == 200 else None
        assert (body["results"][i]["grid"] or {}).get("code") == expect, i


def test_fast_path_answers_as_the_route_does(
    client: TestClient, db: Session, grids: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.utils.fixtures import bearer

    from gridmap.fastpath import LookupFastPath

    answered = []
    real = LookupFastPath.answer

    def spy(scope: dict[str, object]) -> object:
        out = real(scope)  # type: ignore[arg-type]
        answered.append(out is not None)
        return out

    monkeypatch.setattr(LookupFastPath, "answer", staticmethod(spy))
    # A token the server does not keep in its cache: FastAPI's route answers.
    client.app.state.settings.api.token_cache_seconds = 0  # type: ignore[attr-defined]
    viewer = bearer(db, "viewer", COMMUNITY, "查看者")
    x, y = from_wgs84(116.342, 40.005, "GCJ-02")
    queries = [
        {"lon": 116.342, "lat": 40.005},
        {"lon": BORDER_LON, "lat": 40.0},
        {"lon": 116.36, "lat": 40.005},
        {"lon": x, "lat": y, "crs": "gcj02"},
        {"lon": 40.005, "lat": 116.342},
        {"lon": "nan", "lat": 40.0},
        {"lon": "1_16", "lat": 40.0},
        {"lon": 116.342},
    ]
    client.get("/api/v1/lookup", params=queries[0])  # the first request loads the grids
    answered.clear()
    for params in queries:
        fast = client.get("/api/v1/lookup", params=params)
        slow = client.get("/api/v1/lookup", params=params, headers=viewer)
        assert fast.status_code == slow.status_code, params
        assert fast.json() == slow.json(), params
    if not client.app.state.settings.api.live_lookup:  # type: ignore[attr-defined]
        assert answered == []  # no in-memory grids, no fast path
        return
    # Plain lookups (inside, border, outside, GCJ-02) are answered before FastAPI; the
    # malformed ones and every request with a token are not.
    assert answered[::2] == [True] * 4 + [False] * 4
    assert not any(answered[1::2])


@pytest.fixture(scope="module")
def demo_client(demo_engine: Engine) -> Iterator[TestClient]:
    """The API over the demo data set (real standard addresses), lookups from PostGIS."""
    settings = Settings()
    settings.api.live_lookup = False
    app = create_app(settings)

    def demo_session() -> Iterator[Session]:
        with Session(demo_engine) as s:
            yield s

    app.dependency_overrides[get_session] = demo_session
    with TestClient(app) as c:
        yield c


def address(client: TestClient, q: str, **extra: object):  # type: ignore[no-untyped-def]
    return client.get("/api/v1/lookup/address", params={"q": q, **extra})


def test_address_keeps_the_words_of_a_name(demo_client: TestClient) -> None:
    body = address(demo_client, "北京大学").json()
    assert body["understood"]["key"] == "北京大学"
    assert body["candidates"] and all(
        "北京大学" in c["building"]["address"] for c in body["candidates"]
    )
    assert body["candidates"][0]["matched"] == "partial_name"
    best = address(demo_client, "二里庄16号楼").json()["candidates"][0]
    assert best["building"]["address"].endswith("二里庄社区16号楼")
    assert best["matched"] == "community_and_number" and not best["weak"]


def test_a_road_is_not_the_street_office(demo_client: TestClient) -> None:
    body = address(demo_client, "学院路30号").json()
    assert body["understood"]["road"] == "学院路" and body["understood"]["door"] == "30"
    assert body["understood"]["street"] is None
    # No building of another street read as "30号楼 in 学院路街道": only a weak one on the road.
    assert body["weak"] is True
    for c in body["candidates"]:
        assert c["weak"] and c["score"] < body["weak_below"]
        assert c["matched"] == "road_only" and "学院路" in c["building"]["address"]
    body = address(demo_client, "学院路18号院").json()
    best = body["candidates"][0]
    assert best["matched"] == "road_and_number" and not body["weak"]
    assert best["building"]["address"].endswith("学院路18号号院1号楼")


def test_every_candidate_says_its_score_and_what_matched(demo_client: TestClient) -> None:
    body = address(demo_client, "石科院社区", limit=10).json()
    assert 1 < len(body["candidates"]) <= 10
    for c in body["candidates"]:
        assert 0 <= c["score"] <= 1 and c["weak"] == (c["score"] < body["weak_below"])
        assert c["matched"] in ADDRESS_MATCHES and c["why"]
        assert c["grid"]["code"].startswith(c["community_code"])


@pytest.mark.parametrize(
    "q",
    [
        "'; DROP TABLE building; --",
        "%%%%",
        "___",
        "石科院%",
        "\x00石科院",
        "石科院\n生活区",
        "😀😀😀",
        "<script>alert(1)</script>",
        "号" * 200,
    ],
)
def test_hostile_addresses_write_nothing(
    demo_client: TestClient, demo_engine: Engine, q: str
) -> None:
    with demo_engine.connect() as conn:
        before = conn.execute(
            text("SELECT count(*), md5(string_agg(address_key, ',' ORDER BY code)) FROM building")
        ).one()
    r = address(demo_client, q)
    assert r.status_code in (200, 422)
    if r.status_code == 200:
        assert all(not c["building"]["address"].startswith("<") for c in r.json()["candidates"])
    with demo_engine.connect() as conn:
        after = conn.execute(
            text("SELECT count(*), md5(string_agg(address_key, ',' ORDER BY code)) FROM building")
        ).one()
    assert before == after


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x" * 201},
        {"q": ""},
        {},
        {"q": "石科院", "limit": 0},
        {"q": "石科院", "limit": 51},
        {"q": "石科院", "limit": "five"},
        {"q": "   "},
    ],
)
def test_malformed_address_queries_are_422(
    demo_client: TestClient, params: dict[str, object]
) -> None:
    r = demo_client.get("/api/v1/lookup/address", params=params)
    assert r.status_code == 422 and r.json()["detail"]
