"""gridmap.openapi: an OpenAPI document that says what the service answers, and offline docs.

FastAPI documents a 422 of its own shape (``HTTPValidationError``) and no other error. gridmap
answers every error as ``{"detail", "code", ...}`` (see ``gridmap.main``), and which errors an
operation can give follows from what it takes: a body can be too large, a token can be refused,
an ``If-Match`` can be stale. :func:`openapi_schema` reads that from each route's dependency tree,
so a new route is documented by the same rules without a list to keep in step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts

from gridmap.dependencies import get_session, require_token

# Served by the static mount of web/ (see scripts/vendor-web.sh), never from a CDN: offices
# often sit on networks that reach nothing outside.
SWAGGER_JS = "/vendor/swagger-ui/swagger-ui-bundle.js"
SWAGGER_CSS = "/vendor/swagger-ui/swagger-ui.css"
SWAGGER_FAVICON = "/vendor/swagger-ui/favicon-32x32.png"
REDOC_JS = "/vendor/redoc/redoc.standalone.js"

ERROR_REF = "#/components/schemas/Error"
VALIDATION_REF = "#/components/schemas/ValidationError"

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "description": "Every error: what is wrong and where, in words, and a stable code. Some "
    "errors add fields of their own (the current `etag`, the `grid` or `region` asked for).",
    "properties": {
        "detail": {"type": "string", "description": "what is wrong, in English"},
        "code": {"type": "string", "description": "stable, machine-readable"},
    },
    "required": ["detail", "code"],
    "additionalProperties": True,
}

VALIDATION_SCHEMA: dict[str, Any] = {
    "title": "ValidationError",
    "type": "object",
    "description": "Bad input. When the request does not have the declared shape, `errors` "
    "lists each problem with its location; a value refused by a rule of the service "
    "(a geometry, a coordinate outside China, a CRS) comes without `errors`.",
    "properties": {
        **ERROR_SCHEMA["properties"],
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
                "required": ["loc", "msg", "type"],
            },
        },
    },
    "required": ["detail", "code"],
    "additionalProperties": True,
}

DESCRIPTIONS = {
    400: "The request cannot be read (a body that is not what its content type says)",
    401: "No usable token: malformed, unknown, revoked or expired (or none where one is needed)",
    403: "The token's role or region does not allow this",
    404: "Not found",
    409: "Conflicts with the data as it is (overlap, duplicate, wrong workflow step)",
    412: "If-Match names a version that is no longer current; the current ETag comes back",
    413: "The request body is over the size limit",
    422: "Invalid input: what is wrong and where",
    428: "A write without If-Match (If-Match: * counts as none)",
    503: "The database is not reachable; try again later",
}

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Needs:
    """What an operation takes, as read from its dependency tree."""

    body: bool
    path: bool
    database: bool
    authorization: bool
    token: bool
    if_match: bool


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def needs_of(dependant: Dependant, *, has_body: bool) -> Needs:
    """What the operation of ``dependant`` takes: body, path, database, token, If-Match."""
    nodes = list(_walk(dependant))
    calls = {node.call for node in nodes}
    headers = {p.alias.lower() for node in nodes for p in node.header_params}
    return Needs(
        body=has_body,
        path=any(node.path_params for node in nodes),
        database=get_session in calls,
        authorization="authorization" in headers,
        token=require_token in calls,
        if_match="if-match" in headers,
    )


def error_statuses(needs: Needs, methods: set[str]) -> set[int]:
    """The error statuses an operation that takes ``needs`` can answer.

    - 422 always: besides the operation's own parameters and body, the input guard refuses a
      control character in any query string, even one the operation does not read; 400 and
      413 with a body (the size limit is checked before the body is read);
    - 401 when an ``Authorization`` header is read: a bad token is refused even on reads that
      would answer an anonymous caller (masked);
    - 403 and 409 on writes that need a token (role and region; the data as it is);
    - 404 when the path names a thing;
    - 412 and 428 when ``If-Match`` is read;
    - 503 when the database is used.
    """
    statuses: set[int] = {422}
    if needs.body:
        statuses |= {400, 413}
    if needs.authorization:
        statuses.add(401)
    if needs.token:
        statuses.add(403)
        if methods & WRITE_METHODS:
            statuses.add(409)
    if needs.path:
        statuses.add(404)
    if needs.if_match:
        statuses |= {412, 428}
    if needs.database:
        statuses.add(503)
    return statuses


def _error_response(status: int, existing: dict[str, Any] | None) -> dict[str, Any]:
    description = DESCRIPTIONS.get(status, HTTPStatus(status).phrase)
    given = (existing or {}).get("description")
    # FastAPI fills in the bare reason phrase; a route's own words are kept.
    if given and given not in ("Additional Response", HTTPStatus(status).phrase):
        description = given
    ref = VALIDATION_REF if status == 422 else ERROR_REF
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": ref}}},
    }
    if status == 401:
        answer["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    if status == 412:
        answer["headers"] = {"ETag": {"schema": {"type": "string"}}}
    return answer


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with the error answers of every operation (cached)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    paths: dict[str, Any] = schema.get("paths", {})
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        item = paths.get(route.path_format or "", {})
        methods: set[str] = set(route.methods or ())
        needs = needs_of(route.dependant, has_body=route.body_field is not None)
        for method in methods:
            operation = item.get(method.lower())
            if operation is None:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            if (route.path_format or "").startswith("/open311/"):
                # GeoReport v2 answers its own errors ([{code, description}], 400 for a bad
                # parameter), declared by its routes; FastAPI's automatic 422 never happens there.
                responses.pop("422", None)
                continue
            declared = {int(s) for s in responses if s.isdigit() and int(s) >= 400}
            for status in sorted(declared | error_statuses(needs, methods)):
                responses[str(status)] = _error_response(status, responses.get(str(status)))
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas["Error"] = ERROR_SCHEMA
    schemas["ValidationError"] = VALIDATION_SCHEMA
    app.openapi_schema = schema
    return schema


def install(app: FastAPI) -> None:
    """Serve the truthful OpenAPI document, and ``/docs`` and ``/redoc`` from vendored files.

    The app must be made with ``docs_url=None, redoc_url=None``.
    """
    openapi_url = app.openapi_url or "/openapi.json"

    def openapi() -> dict[str, Any]:
        return openapi_schema(app)

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — API",
            swagger_js_url=SWAGGER_JS,
            swagger_css_url=SWAGGER_CSS,
            swagger_favicon_url=SWAGGER_FAVICON,
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} — API",
            redoc_js_url=REDOC_JS,
            redoc_favicon_url=SWAGGER_FAVICON,
            with_google_fonts=False,
        )
