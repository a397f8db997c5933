"""The OpenAPI document says what the service answers; /docs and /redoc need nothing from outside."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)
LOCAL_ASSET = re.compile(r"""(?:src|href)\s*=\s*["'](/[^"']+)["']""", re.IGNORECASE)


@pytest.fixture
def schema(client: TestClient) -> dict[str, Any]:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in {"get", "put", "post", "patch", "delete"}
    ]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_files_of_the_service(client: TestClient, page: str) -> None:
    answer = client.get(page)
    assert answer.status_code == 200
    html = answer.text
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "fonts.googleapis" not in html
    assets = LOCAL_ASSET.findall(html)
    assert any(a.endswith(".js") for a in assets), assets
    for asset in assets:
        got = client.get(asset)
        assert got.status_code == 200, asset
        assert len(got.content) > 500, asset
    # The document they render is the service's own.
    assert "'/openapi.json'" in html or '"/openapi.json"' in html


def test_vendored_docs_keep_their_licences(client: TestClient) -> None:
    web = client.app.state.settings.api.web_dir  # type: ignore[attr-defined]
    assert (web / "vendor" / "swagger-ui" / "LICENSE").is_file()
    assert (web / "vendor" / "redoc" / "LICENSE").is_file()


def test_errors_are_documented_as_the_service_sends_them(schema: dict[str, Any]) -> None:
    schemas = schema["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["Error"]["required"] == ["detail", "code"]
    assert "errors" in schemas["ValidationError"]["properties"]
    for method, path, op in operations(schema):
        for status, answer in op["responses"].items():
            if int(status) < 400:
                continue
            if path.startswith("/open311/"):
                # GeoReport v2's own shape: a list of {code, description}, 400 for bad input.
                listed = answer["content"]["application/json"]["schema"]
                assert listed["type"] == "array", (method, path, status)
                assert listed["items"]["$ref"].endswith("/Open311Error"), (method, path, status)
                assert status != "422", (method, path)
                continue
            ref = answer["content"]["application/json"]["schema"]["$ref"]
            expected = "ValidationError" if status == "422" else "Error"
            assert ref == f"#/components/schemas/{expected}", (method, path, status)


def test_each_operation_lists_the_errors_it_can_give(schema: dict[str, Any]) -> None:
    ops = {(m, p): set(op["responses"]) for m, p, op in operations(schema)}
    # A bad token is refused even where an anonymous caller would be answered.
    assert {"401", "422", "404", "503"} <= ops[("GET", "/api/v1/lookup")]
    # A write with If-Match: every refusal it can meet.
    assert {"400", "401", "403", "404", "409", "412", "413", "422", "428", "503"} <= ops[
        ("PUT", "/api/v1/grids/{code}")
    ]
    # A token-taking write without If-Match.
    post = ops[("POST", "/api/v1/incidents")]
    assert {"200", "201", "401", "403", "409", "413", "422", "503"} <= post
    assert not {"412", "428"} & post
    # A read by id, anonymous: no 401/403, but 404 and 422.
    region = ops[("GET", "/api/v1/regions/{code}")]
    assert {"404", "422", "503"} <= region
    assert not {"401", "403", "413"} & region
    assert "503" in ops[("GET", "/health")]
    # Every operation that takes input documents its 422; every one with a body its 413.
    for method, path, op in operations(schema):
        if path.startswith("/open311/"):
            assert "400" in op["responses"] and "422" not in op["responses"], (method, path)
            continue
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in op["responses"], (method, path)
        if op.get("requestBody"):
            assert "413" in op["responses"], (method, path)


def test_a_real_422_matches_its_documented_schema(
    client: TestClient, schema: dict[str, Any]
) -> None:
    answer = client.get("/api/v1/lookup", params={"lon": "east", "lat": 40})
    assert answer.status_code == 422
    body = answer.json()
    documented = schema["components"]["schemas"]["ValidationError"]
    assert set(documented["required"]) <= set(body)
    assert isinstance(body["detail"], str) and isinstance(body["code"], str)
    assert body["errors"][0]["loc"] == ["query", "lon"]
