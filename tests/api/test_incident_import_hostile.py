"""Incident imports under hostile files: every malformed file is a 422 naming the row or
feature at fault, the dry run and the commit answer alike, no answer names a server path, rows
outside the token's region are refused (403) and nothing is ever written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    DISTRICT,
    STREET,
    WEST_GRID,
    add_grid,
    add_region,
    bearer,
    square,
    two_grids,
)

IMPORT = "/api/v1/incidents/import"
OTHER_STREET = "110108015"
OTHER_COMMUNITY = OTHER_STREET + "001"
OTHER_GRID = OTHER_COMMUNITY + "001"
HEAD = "lon,lat,category,reported_at,description,reporter_name\n"
CAT = "市容环境/暴露垃圾"


def csv_row(
    lon: float = 116.342,
    lat: float = 40.005,
    category: str = CAT,
    at: str = "2026-05-01T08:00:00",
    description: str = "垃圾",
    name: str = "",
) -> str:
    return f'{lon},{lat},{category},{at},"{description}",{name}\n'


def feature_collection(*features: object) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def point(props: object, geometry: object = None) -> dict[str, object]:
    geom = geometry or {"type": "Point", "coordinates": [116.342, 40.005]}
    return {"type": "Feature", "geometry": geom, "properties": props}


@pytest.fixture
def places(db: Session) -> dict[str, dict[str, str]]:
    """The two grids of street 110108010 and one grid of a neighbouring street 110108015."""
    two_grids(db)
    area = square(116.35, 40.0, 116.36, 40.01)
    add_region(db, OTHER_STREET, "street", "清河街道", DISTRICT, area)
    add_region(db, OTHER_COMMUNITY, "community", "邻近社区", OTHER_STREET, area)
    add_grid(db, OTHER_GRID, area)
    db.flush()
    return {
        "street": bearer(db, "street", STREET, "学院路街道指挥中心"),
        "other_street": bearer(db, "street", OTHER_STREET, "清河街道指挥中心"),
        "admin": bearer(db, "admin", None, "管理员"),
    }


def written(db: Session) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        db.execute(
            text(
                "SELECT (SELECT count(*) FROM incident), (SELECT count(*) FROM incident_event), "
                "(SELECT count(*) FROM audit_log WHERE action = 'import')"
            )
        ).one()
    )


def send(client: TestClient, headers: dict[str, str], name: str, body: bytes, commit: bool):  # type: ignore[no-untyped-def]
    return client.post(
        IMPORT,
        params={"commit": str(commit).lower()},
        headers=headers,
        files={"file": (name, body, "application/octet-stream")},
    )


FUTURE = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")

# (id, file name, body, code, words the detail must hold)
HOSTILE: list[tuple[str, str, bytes, str, tuple[str, ...]]] = [
    (
        "short_row",
        "short.csv",
        b"lon,lat,category\n116.35,40.005\n",
        "invalid_file",
        ("row 2", "2 cells", "header has 3"),
    ),
    (
        "long_row",
        "long.csv",
        (HEAD + csv_row() + "116.34,40.0,a,b,c,d,e\n").encode(),
        "invalid_file",
        ("row 3", "7 cells"),
    ),
    ("empty_csv", "empty.csv", b"", "invalid_file", ("empty.csv is empty",)),
    ("blank_geojson", "empty.geojson", b"  \n", "invalid_file", ("empty.geojson is empty",)),
    ("header_only", "head.csv", HEAD.encode(), "invalid_file", ("no rows",)),
    (
        "bad_utf8",
        "gbk.csv",
        HEAD.encode() + "116.342,40.005,市容,2026-05-01,垃圾,张\n".encode("gbk"),
        "invalid_file",
        ("not UTF-8", "line 2"),
    ),
    (
        "binary_csv",
        "photo.csv",
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        "invalid_file",
        ("not UTF-8",),
    ),
    ("binary_geojson", "photo.geojson", bytes(range(256)) * 4, "invalid_file", ("not UTF-8",)),
    (
        "bad_utf8_geojson",
        "x.geojson",
        b'{"type":"FeatureCollection","features":[{"properties":{"a":"\xff"}}]}',
        "invalid_file",
        ("not UTF-8", "line 1"),
    ),
    (
        "invalid_json",
        "x.geojson",
        b'{"type": "FeatureCollection", "features": [',
        "invalid_file",
        ("not valid JSON", "line 1"),
    ),
    ("deep_nesting", "deep.geojson", b"[" * 10_000, "invalid_file", ("nested too deeply",)),
    ("deep_object", "deep.json", b'{"a":' * 10_000, "invalid_file", ("nested too deeply",)),
    ("not_collection", "x.geojson", b'{"type": "Feature"}', "invalid_file", ("FeatureCollection",)),
    ("no_features", "x.geojson", feature_collection(), "invalid_file", ("no features",)),
    (
        "feature_is_number",
        "x.geojson",
        b'{"type":"FeatureCollection","features":[5]}',
        "invalid_file",
        ("feature 1", "not a GeoJSON Feature"),
    ),
    (
        "geometry_list",
        "x.geojson",
        feature_collection(point({"category": CAT}), point({}, [1])),
        "invalid_file",
        ("feature 2", "geometry"),
    ),
    (
        "properties_list",
        "x.geojson",
        feature_collection(point([1, 2])),
        "invalid_file",
        ("feature 1", "properties"),
    ),
    (
        "property_object",
        "x.geojson",
        feature_collection(point({"category": CAT, "description": {"a": 1}})),
        "invalid_file",
        ("feature 1", "description"),
    ),
    (
        "duplicate_column",
        "dup.csv",
        b"lon,lat,category,lat\n116.342,40.005,x,40\n",
        "invalid_file",
        ("'lat'", "twice"),
    ),
    (
        "wide_csv",
        "wide.csv",
        (",".join(f"c{i}" for i in range(50_000)) + "\n" + "1," * 49_999 + "1\n").encode(),
        "invalid_file",
        ("more than 200 columns",),
    ),
    (
        "wide_csv_long_names",
        "wide.csv",
        (
            ",".join(f"{'c' * 400}{i}" for i in range(300)) + ",lon,lat\n" + "1," * 301 + "1\n"
        ).encode(),
        "invalid_file",
        ("more than 200 columns",),
    ),
    (
        "wide_geojson",
        "wide.geojson",
        feature_collection(*(point({f"p{i}": 1}) for i in range(300))),
        "invalid_file",
        ("more than 200 columns",),
    ),
    ("no_lon_lat", "x.csv", b"a,b\n1,2\n", "invalid_file", ("longitude and latitude",)),
    (
        "year_0001",
        "old.csv",
        (HEAD + csv_row(at="0001-05-01T08:00:00")).encode(),
        "invalid_row",
        ("row 2", "before 1900"),
    ),
    (
        "year_0001_offset",
        "old.csv",
        (HEAD + csv_row(at="0001-05-01T08:00:00+08:00")).encode(),
        "invalid_row",
        ("row 2", "before 1900"),
    ),
    (
        "year_9999",
        "late.csv",
        (HEAD + csv_row(at="9999-12-31T23:59:59")).encode(),
        "invalid_row",
        ("row 2", "future"),
    ),
    (
        "future",
        "late.csv",
        (HEAD + csv_row() + csv_row(at=FUTURE)).encode(),
        "invalid_row",
        ("row 3", "future"),
    ),
    (
        "not_a_time",
        "x.csv",
        (HEAD + csv_row(at="yesterday")).encode(),
        "invalid_row",
        ("row 2", "ISO 8601"),
    ),
    (
        "long_description",
        "long.csv",
        (HEAD + csv_row(description="长" * 2001)).encode(),
        "invalid_row",
        ("row 2", "description is longer than 2000"),
    ),
    (
        "long_name",
        "long.csv",
        (HEAD + csv_row(name="名" * 51)).encode(),
        "invalid_row",
        ("row 2", "reporter_name is longer than 50"),
    ),
    (
        "nul_description",
        "nul.csv",
        (HEAD + csv_row() + csv_row(description="a\x00b")).encode(),
        "invalid_row",
        ("row 3", "description holds a control character"),
    ),
    (
        "escape_in_name",
        "esc.csv",
        (HEAD + csv_row(name="a\x1b[31m")).encode(),
        "invalid_row",
        ("row 2", "reporter_name holds a control character"),
    ),
    (
        "newline_in_category",
        "cat.csv",
        (HEAD + '116.342,40.005,"市容环境/\n暴露垃圾",2026-05-01,x,\n').encode(),
        "invalid_row",
        ("row 2", "category"),
    ),
    (
        "nul_unknown_column",
        "x.csv",
        b"lon,lat,category,memo\n116.342,40.005," + CAT.encode() + b",a\x00\n",
        "invalid_row",
        ("row 2", "memo holds a control character"),
    ),
    (
        "nul_geojson",
        "x.geojson",
        feature_collection(point({"category": CAT, "description": "a\u0000"})),
        "invalid_row",
        ("feature 1", "description holds a control character"),
    ),
    (
        "nan_coordinates",
        "x.geojson",
        b'{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[NaN,1e400]},"properties":{"category":"'
        + CAT.encode()
        + b'"}}]}',
        "invalid_row",
        ("feature 1", "coordinates"),
    ),
    (
        "text_coordinates",
        "x.csv",
        (HEAD + "abc,40.005," + CAT + ",,,\n").encode(),
        "invalid_row",
        ("row 2", "coordinates"),
    ),
    (
        "unknown_category",
        "x.csv",
        (HEAD + csv_row(category="不存在/类别")).encode(),
        "invalid_row",
        ("row 2", "unknown category"),
    ),
]


@pytest.mark.parametrize(
    ("name", "body", "code", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in HOSTILE],
)
def test_hostile_files_are_refused_alike_by_dry_run_and_commit(
    client: TestClient,
    db: Session,
    places: dict[str, dict[str, str]],
    name: str,
    body: bytes,
    code: str,
    words: tuple[str, ...],
) -> None:
    before = written(db)
    answers = [send(client, places["street"], name, body, commit) for commit in (False, True)]
    for r in answers:
        assert r.status_code == 422, r.text
        got = r.json()
        assert got["code"] == code
        for word in words:
            assert word in got["detail"], got["detail"]
        assert name in got["detail"] or "row" in got["detail"]
        assert "/tmp" not in r.text and "gridmap-import" not in r.text and "upload." not in r.text
    assert answers[0].json() == answers[1].json()
    assert written(db) == before


def test_who_may_not_import_is_told_so_before_the_file_is_read(
    client: TestClient, db: Session, places: dict[str, dict[str, str]]
) -> None:
    viewer = bearer(db, "viewer", STREET, "查看者")
    worker = bearer(db, "worker", WEST_GRID, "西网格员")
    for headers in (viewer, worker):
        r = send(client, headers, "x.geojson", b"[" * 10_000, commit=True)
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert send(client, {}, "x.geojson", b"[", commit=True).status_code == 401
    assert written(db) == (0, 0, 0)


def test_row_errors_list_every_bad_row_and_name_the_first(
    client: TestClient, db: Session, places: dict[str, dict[str, str]]
) -> None:
    body = (HEAD + csv_row() + csv_row(at="0001-01-01") + csv_row(description="\x00")).encode()
    r = send(client, places["street"], "hotline.csv", body, commit=True)
    assert r.status_code == 422 and r.json()["code"] == "invalid_row"
    got = r.json()
    assert got["detail"].startswith("nothing was written: 2 of 3 rows have errors; row 3:")
    assert "(and 1 more)" in got["detail"]
    assert [e["row"] for e in got["errors"]] == [3, 4]
    assert written(db) == (0, 0, 0)


def test_mixed_offsets_are_each_read_as_the_instant_they_say(
    client: TestClient, db: Session, places: dict[str, dict[str, str]]
) -> None:
    body = (
        HEAD
        + csv_row(at="2026-05-01T08:00:00+08:00")
        + csv_row(at="2026-05-01T00:00:00Z")
        + csv_row(at="2026-04-30T19:00:00-05:00")
        + csv_row(at="2026-05-01 08:00")
    ).encode()
    dry = send(client, places["street"], "mixed.csv", body, commit=False)
    assert dry.status_code == 200 and dry.json()["rows"] == 4
    assert written(db) == (0, 0, 0)
    done = send(client, places["street"], "mixed.csv", body, commit=True)
    assert done.status_code == 200 and done.json()["inserted"] == 4
    times = db.execute(text("SELECT DISTINCT reported_at FROM incident")).scalars().all()
    assert times == [datetime(2026, 5, 1, 0, 0, tzinfo=UTC)]


def test_geojson_nulls_are_empty_not_the_word_none(
    client: TestClient, db: Session, places: dict[str, dict[str, str]]
) -> None:
    body = feature_collection(
        point({"category": CAT, "description": None, "reporter_name": None, "severity": None})
    )
    r = send(client, places["street"], "x.geojson", body, commit=True)
    assert r.status_code == 200, r.text
    row = db.execute(text("SELECT description, reporter_name, severity FROM incident")).one()
    assert tuple(row) == (None, None, "general")


def test_a_street_token_cannot_import_into_another_street(
    client: TestClient, db: Session, places: dict[str, dict[str, str]]
) -> None:
    # The reproducer: a token of street 110108015 put an incident into a grid of 110108010.
    body = (HEAD + csv_row(lon=116.355) + csv_row() + csv_row(lon=116.348)).encode()
    for commit in (False, True):
        r = send(client, places["other_street"], "hotline.csv", body, commit)
        assert r.status_code == 403, r.text
        got = r.json()
        assert got["code"] == "forbidden" and got["rows_outside"] == 2
        assert "row 3 (in " + WEST_GRID + ")" in got["detail"] and "row 4" in got["detail"]
        assert "row 2 " not in got["detail"]
        assert [e["row"] for e in got["rows"]] == [3, 4]
    assert written(db) == (0, 0, 0)
    # Its own grid only: written; the other street's token is refused the same file.
    own = (HEAD + csv_row(lon=116.355)).encode()
    assert send(client, places["other_street"], "own.csv", own, commit=True).status_code == 200
    assert send(client, places["street"], "own.csv", own, commit=True).status_code == 403
    assert written(db) == (1, 0, 1)
    # An admin imports anywhere.
    r = send(client, places["admin"], "all.csv", body, commit=True)
    assert r.status_code == 200 and r.json()["inserted"] == 3


def test_region_refusal_names_at_most_ten_rows_and_comes_before_row_errors(
    client: TestClient, db: Session, places: dict[str, dict[str, str]]
) -> None:
    body = (HEAD + "".join(csv_row() for _ in range(12)) + csv_row(at="0001-01-01")).encode()
    r = send(client, places["other_street"], "many.csv", body, commit=True)
    assert r.status_code == 403
    got = r.json()
    assert got["rows_outside"] == 13 and len(got["rows"]) == 10 and got["detail"].endswith("…")
    assert written(db) == (0, 0, 0)


def test_a_point_in_no_community_belongs_to_the_nearest_communitys_street(
    client: TestClient, db: Session, places: dict[str, dict[str, str]]
) -> None:
    # In no community: a single report goes to the nearest community's queue (here 110108015's),
    # so that street may import it and the other may not.
    body = (HEAD + csv_row(lon=116.40, lat=40.05)).encode()
    r = send(client, places["street"], "far.csv", body, commit=False)
    assert r.status_code == 403 and f"row 2 (in {OTHER_COMMUNITY})" in r.json()["detail"]
    r = send(client, places["other_street"], "far.csv", body, commit=False)
    assert r.status_code == 200 and r.json()["outside_grids"] == 1


@pytest.fixture
def small_limits(settings: object, db: Session) -> Iterator[TestClient]:
    from gridmap.dependencies import get_session
    from gridmap.main import create_app

    s = settings.model_copy(deep=True)  # type: ignore[attr-defined]
    s.api.max_body_bytes = 2_000
    s.api.max_upload_bytes = 20_000
    app = create_app(s)

    def one_session() -> Iterator[Session]:
        yield db

    app.dependency_overrides[get_session] = one_session
    with TestClient(app) as c:
        yield c


def test_incident_import_is_an_upload(
    small_limits: TestClient, db: Session, places: dict[str, dict[str, str]]
) -> None:
    rows = HEAD + "".join(csv_row(description=f"第{i}件") for i in range(100))
    body = rows.encode()
    assert 2_000 < len(body) < 20_000
    r = send(small_limits, places["street"], "between.csv", body, commit=True)
    assert r.status_code == 200 and r.json()["inserted"] == 100
    huge = (HEAD + csv_row(description="长" * 1900) * 4).encode()
    assert len(huge) > 20_000
    r = send(small_limits, places["street"], "huge.csv", huge, commit=True)
    assert r.status_code == 413 and r.headers["content-type"] == "application/json"
    assert r.json()["code"] == "too_large"
    assert written(db) == (100, 0, 1)
    # Other bodies keep the small limit.
    big_report = {"x": 116.342, "y": 40.005, "category": CAT, "description": "长" * 1000}
    r = small_limits.post("/api/v1/incidents", json=big_report, headers=places["street"])
    assert r.status_code == 413


@pytest.mark.parametrize("path", ["/api/v1/incidents", "/api/v1/stats/incidents"])
@pytest.mark.parametrize("parameter", ["from", "to"])
def test_a_bad_time_parameter_is_named_as_itself(
    client: TestClient, path: str, parameter: str
) -> None:
    r = client.get(path, params={parameter: "yesterday"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith(f"{parameter}='yesterday' is not an ISO 8601 time")
    assert r.json()["parameter"] == parameter


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("grids.gpkg", b"SQLite format 3\x00" + b"\x00" * 200),
        ("grids.zip", b"PK\x03\x04" + b"\x00" * 50),
        ("grids.kml", b"<kml><Document><Placemark>"),
        ("grids.geojson", b'{"type": "FeatureCollection", "features": ['),
    ],
)
@pytest.mark.filterwarnings("ignore::RuntimeWarning:pyogrio")
def test_a_broken_gis_file_is_named_without_a_server_path(
    client: TestClient, db: Session, places: dict[str, dict[str, str]], name: str, body: bytes
) -> None:
    before = db.execute(text("SELECT count(*) FROM grid")).scalar_one()
    r = client.post(
        "/api/v1/import/grids",
        params={"commit": "true"},
        headers=places["admin"],
        files={"file": (name, body, "application/octet-stream")},
    )
    assert r.status_code == 422, r.text
    assert "/tmp" not in r.text and "gridmap-export" not in r.text
    assert db.execute(text("SELECT count(*) FROM grid")).scalar_one() == before
