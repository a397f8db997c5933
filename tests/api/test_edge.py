"""The edge of the API: control characters in any text input, broken JSON bodies, and HEAD.

Every refusal here comes from the guard in front of the routes, so each test checks the status,
the code, that the message names the field, and — for writes — that PostGIS holds nothing new.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import STREET, WEST_GRID, bearer, two_grids

from gridmap.guard import MAX_JSON_DEPTH, json_depth

INC = "/api/v1/incidents"
REPORT = {
    "x": 116.342,
    "y": 40.005,
    "category": "市容环境/暴露垃圾",
    "description": "楼下垃圾堆积",
}


@pytest.fixture
def tokens(db: Session) -> dict[str, dict[str, str]]:
    two_grids(db)
    return {
        "street": bearer(db, "street", STREET, "学院路街道指挥中心"),
        "worker": bearer(db, "worker", WEST_GRID, "西网格员"),
    }


def count(db: Session, table: str) -> int:
    return int(db.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def refused(r: httpx.Response, field: str, code: str = "control_character") -> dict[str, Any]:
    """Assert a 422 of the guard naming ``field``; return the body."""
    assert r.status_code == 422, r.text
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    assert field in body["detail"], body
    return body


# The reproducers of issue 15 (each gave 500, anonymously), and the other control characters.
@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/lists?category=%00", "category"),
        (f"{INC}?category=%00", "category"),
        (f"{INC}?state=%00", "state"),
        ("/api/v1/lookup/address?q=%00abc", "q"),
        ("/api/v1/lists?category=a%1Fb", "category"),
        ("/api/v1/lists?category=a%7Fb", "category"),
        ("/api/v1/lists?category=a%C2%85b", "category"),
        ("/api/v1/lists?category=a%0Db", "category"),
        ("/api/v1/regions?limit=5&na%00me=x", "na\\u0000me"),
    ],
)
def test_control_character_in_query_is_refused(
    client: TestClient, tokens: dict[str, dict[str, str]], url: str, field: str
) -> None:
    for headers in ({}, tokens["street"]):
        body = refused(client.get(url, headers=headers), f"'{field}'")
        assert "query parameter" in body["detail"]
        assert body["errors"][0]["loc"][0] == "query"


def test_control_character_on_the_fast_lookup_path(client: TestClient, db: Session) -> None:
    # float() reads "116.342\x1f" as 116.342; the guard stands before the fast path.
    two_grids(db)
    assert client.get("/api/v1/lookup?lon=116.342&lat=40.005").status_code == 200
    body = refused(client.get("/api/v1/lookup?lon=116.342%1F&lat=40.005"), "'lon'")
    assert body["errors"][0]["loc"] == ["query", "lon"]


def test_tab_and_newline_in_query_pass(client: TestClient, db: Session) -> None:
    two_grids(db)
    r = client.get("/api/v1/lists?category=a%09b%0Ac")
    assert r.status_code == 200, r.text


def test_control_character_in_path_parameter(client: TestClient, db: Session) -> None:
    two_grids(db)
    body = refused(client.get(f"/api/v1/grids/{WEST_GRID[:6]}%00{WEST_GRID[6:]}"), "'code'")
    assert "path parameter" in body["detail"]
    assert body["errors"][0]["loc"] == ["path", "code"]
    refused(client.get("/api/v1/regions/110108%01"), "'code'")


def test_control_character_in_idempotency_key(
    client: TestClient, db: Session, tokens: dict[str, dict[str, str]]
) -> None:
    before = count(db, "incident")
    headers = {**tokens["worker"], "Idempotency-Key": "key-\x01-12345678"}
    body = refused(client.post(INC, json=REPORT, headers=headers), "Idempotency-Key")
    assert body["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert count(db, "incident") == before


def test_control_character_in_authorization(client: TestClient) -> None:
    r = client.get("/api/v1/lists", headers={"Authorization": "Bearer abc\x00def"})
    refused(r, "Authorization")


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("category", "市容\u0000环境", "'category'"),
        ("category", "市容\u001b环境", "'category'"),
        ("description", "垃圾\u0085堆积", "'description'"),
        ("description", "第一行\r\n第二行", "'description'"),
        ("reporter_name", "\u007f张", "'reporter_name'"),
    ],
)
def test_control_character_in_json_body(
    client: TestClient,
    db: Session,
    tokens: dict[str, dict[str, str]],
    field: str,
    value: str,
    shown: str,
) -> None:
    before = count(db, "incident")
    r = client.post(INC, json={**REPORT, field: value}, headers=tokens["worker"])
    body = refused(r, shown)
    assert f"body field {shown}" in body["detail"]
    assert body["errors"][0]["loc"] == ["body", field]
    assert count(db, "incident") == before


def test_control_character_in_whistled_departments(
    client: TestClient, db: Session, tokens: dict[str, dict[str, str]]
) -> None:
    street = tokens["street"]
    inc = client.post(INC, json=REPORT, headers=tokens["worker"]).json()["properties"]["id"]
    step = {**street, "If-Match": f'"{inc}.v1"'}
    assert client.post(f"{INC}/{inc}/accept", json={}, headers=step).status_code == 200
    events = count(db, "incident_event")
    r = client.post(
        f"{INC}/{inc}/whistle",
        json={"departments": ["cgzf", "wa\u0000ter"]},
        headers={**street, "If-Match": f'"{inc}.v2"'},
    )
    body = refused(r, "'departments[1]'")
    assert body["errors"][0]["loc"] == ["body", "departments", 1]
    assert count(db, "incident_event") == events
    status = db.execute(text("SELECT status FROM incident WHERE id = :i"), {"i": inc}).scalar()
    assert status == "pooled"


def test_control_character_in_a_nested_key(
    client: TestClient, db: Session, tokens: dict[str, dict[str, str]]
) -> None:
    before = count(db, "grid")
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [116.3, 40.0]},
        "properties": {"name": "新网格", "meta": [{"no\u0002te": "x"}]},
    }
    body = refused(
        client.post("/api/v1/grids", json=feature, headers=tokens["street"]),
        "'properties.meta[0].no\\u0002te'",
    )
    assert "the name of body field" in body["detail"]
    assert body["errors"][0]["loc"] == ["body", "properties", "meta", 0, "no\u0002te"]
    assert count(db, "grid") == before


def test_tab_newline_and_escaped_backslashes_pass(
    client: TestClient, db: Session, tokens: dict[str, dict[str, str]]
) -> None:
    # "\\u0000" in JSON is a backslash followed by "u0000": text, not a control character.
    description = "第一行\n第二行\t完 \\u0000 [[[[" + "[" * MAX_JSON_DEPTH
    r = client.post(INC, json={**REPORT, "description": description}, headers=tokens["worker"])
    assert r.status_code == 201, r.text
    stored = db.execute(
        text("SELECT description FROM incident WHERE id = :i"), {"i": r.json()["properties"]["id"]}
    ).scalar()
    assert stored == description


def test_control_character_in_form_field(client: TestClient) -> None:
    r = client.post(
        "/api/v1/lookup",
        content=b"lon=116.3&note=a%00b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    body = refused(r, "form field 'note'")
    assert body["errors"][0]["loc"] == ["body", "note"]


def test_control_character_in_multipart_text_field(
    client: TestClient, db: Session, tokens: dict[str, dict[str, str]]
) -> None:
    before = count(db, "incident")
    csv = "lon,lat,category\n116.342,40.005,市容环境/暴露垃圾\n"
    r = client.post(
        f"{INC}/import?commit=true",
        headers=tokens["street"],
        files={"file": ("a.csv", csv.encode(), "text/csv")},
        data={"note": "历史\x00数据"},
    )
    body = refused(r, "form field 'note'")
    assert body["errors"][0]["loc"] == ["body", "note"]
    assert count(db, "incident") == before


def test_file_parts_are_not_text_fields(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    # A NUL inside an uploaded file is the importer's to judge, not the guard's.
    csv = "lon,lat,category\n116.342,40.005,市容环境\x00\n"
    r = client.post(
        f"{INC}/import",
        headers=tokens["street"],
        files={"file": ("a.csv", csv.encode(), "text/csv")},
    )
    assert r.json().get("code") != "control_character", r.text


def test_invalid_utf8_body(
    client: TestClient, db: Session, tokens: dict[str, dict[str, str]]
) -> None:
    before = count(db, "incident")
    raw = b'{"x": 116.342, "y": 40.005, "category": "\xff\xfe\xb0\xb8"}'
    r = client.post(
        INC, content=raw, headers={**tokens["worker"], "Content-Type": "application/json"}
    )
    body = refused(r, "UTF-8", code="invalid_json")
    at = raw.index(b"\xff")
    assert f"byte 0xff at position {at}" in body["detail"]
    assert count(db, "incident") == before


def test_invalid_json_body(client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    r = client.post(
        INC,
        content=b'{"x": 116.3,',
        headers={**tokens["worker"], "Content-Type": "application/json"},
    )
    body = refused(r, "not valid JSON", code="invalid_json")
    assert "character" in body["detail"]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 10_000, 100_000])
def test_deep_json_is_refused_before_parsing(
    client: TestClient, db: Session, tokens: dict[str, dict[str, str]], depth: int
) -> None:
    before = count(db, "incident")
    raw = b'{"x": 116.342, "y": 40.005, "category": "abc", "d": ' + b"[" * depth + b"]" * depth
    r = client.post(INC, content=raw + b"}", headers=tokens["worker"])
    body = refused(r, f"nested {depth + 1} levels deep", code="too_deep")
    assert str(MAX_JSON_DEPTH) in body["detail"]
    assert count(db, "incident") == before


def test_depth_within_the_limit_reaches_the_route(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    depth = MAX_JSON_DEPTH - 1
    raw = b'{"x": 116.342, "y": 40.005, "category": "abc", "d": ' + b"[" * depth + b"]" * depth
    r = client.post(INC, content=raw + b"}", headers=tokens["worker"])
    # The route's own validation speaks: "d" is no field of a report.
    assert r.status_code == 422 and r.json()["code"] == "invalid_input", r.text


def test_json_depth_ignores_brackets_in_strings() -> None:
    assert json_depth(b'{"a": "[[[{{{", "b": [[1], {"c": "]]]\\"[["}]}') == 3
    assert json_depth(b"[]") == 1
    assert json_depth(b'"plain"') == 0


@pytest.mark.parametrize(
    "url",
    [
        "/health",
        "/api/v1/regions",
        "/api/v1/lists",
        INC,
        "/open311/v2/services.json",
        "/tiles/grids.json",
        f"/api/v1/grids/{WEST_GRID}",
        "/api/v1/lookup?lon=116.342&lat=40.005",
    ],
)
def test_head_answers_like_get_without_a_body(client: TestClient, db: Session, url: str) -> None:
    two_grids(db)
    got = client.get(url)
    head = client.head(url)
    assert got.status_code == head.status_code == 200, (got.text, head.text)
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    if "content-length" in got.headers:
        assert head.headers["content-length"] == got.headers["content-length"]
    if "etag" in got.headers:
        assert head.headers["etag"] == got.headers["etag"]


def test_head_where_get_has_no_answer_answers_the_same(client: TestClient) -> None:
    url = f"/api/v1/grids/{WEST_GRID}/merge"  # POST only
    got, head = client.get(url), client.head(url)
    assert head.status_code == got.status_code == 404
    assert got.json()["code"] == "not_found"
    assert head.content == b""
