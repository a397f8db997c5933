"""gridmap.api.ogc_write: OGC API – Features Part 4 (create, replace, update, delete) for grids."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from pydantic import ValidationError

from gridmap.dependencies import PrincipalDep, RulesDep, SessionDep, grids_changed
from gridmap.errors import InvalidInput, Unauthorized
from gridmap.responses import GeoJSONResponse
from gridmap.schemas.grids import GridFeature
from gridmap.services import grid_versions as w
from gridmap.vocab import codes

router = APIRouter(prefix="/ogc/collections/grids/items", tags=["ogc"])

# A grid feature is a few thousand vertices at most; a larger body is refused unread.
MAX_BODY = 2_000_000
_GRID_CODE = codes.GRID

# Every refusal a write may answer (in OGC form), and the Feature it takes.
REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {},
    401: {},
    403: {},
    404: {},
    409: {},
    412: {},
    428: {},
    413: {},
}
_FEATURE_SCHEMA = {"$ref": "#/components/schemas/GridFeature"}
FEATURE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/geo+json": {"schema": _FEATURE_SCHEMA},
            "application/json": {"schema": _FEATURE_SCHEMA},
        },
    }
}

IfMatch = Annotated[
    str | None,
    Header(max_length=400, description="the ETag of the grid being changed (required)"),
]


async def _feature(request: Request) -> GridFeature:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidInput(f"the body is {len(raw)} bytes; at most {MAX_BODY} are accepted")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"the body is not JSON: {exc}"[:300]) from None
    if not isinstance(data, dict) or data.get("type") != "Feature":
        raise InvalidInput('the body must be one GeoJSON Feature ({"type": "Feature", …})')
    try:
        return GridFeature.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(f"{where}: {first.get('msg')}", field=where) from None


def _principal(principal: Any) -> Any:
    if not principal.authenticated:
        raise Unauthorized("editing grids needs a bearer token (Authorization: Bearer …)")
    return principal


def _code(code: str) -> str:
    if not re.fullmatch(_GRID_CODE, code):
        raise InvalidInput(f"{code[:40]!r} is not a grid code (14 or 15 digits)")
    return code


def _answer(result: w.WriteResult, status: int = 200) -> GeoJSONResponse:
    code = result.feature["properties"]["code"]
    headers = {"ETag": result.etag}
    if status == 201:
        headers["Location"] = f"/ogc/collections/grids/items/{code}"
    return GeoJSONResponse(result.feature, status_code=status, headers=headers)


@router.post(
    "",
    summary="Add a grid (OGC API – Features Part 4)",
    status_code=201,
    responses=REFUSALS,
    openapi_extra=FEATURE_BODY,
)
async def create_item(
    request: Request, session: SessionDep, principal: PrincipalDep, rules: RulesDep
) -> Response:
    """Add a grid from a GeoJSON Feature (CRS84), under the grid API's rules: 201, Location and
    ETag; refusals in OGC form (``{"code", "description"}``), nothing written."""
    feature = await _feature(request)
    result = w.create_grid(
        session, feature=feature, crs="EPSG:4326", principal=_principal(principal), rules=rules
    )
    grids_changed(request)
    return _answer(result, 201)


async def replace_item(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    rules: RulesDep,
    code: str,
    if_match: IfMatch = None,
) -> Response:
    """PUT replaces the grid, PATCH changes the properties and geometry given; ``If-Match``
    must be the grid's current ETag (412 when stale, 428 when missing)."""
    feature = await _feature(request)
    result = w.update_grid(
        session,
        code=_code(code),
        feature=feature,
        crs="EPSG:4326",
        principal=_principal(principal),
        rules=rules,
        if_match=if_match,
        partial=request.method == "PATCH",
    )
    if result.changed:
        grids_changed(request)
    return _answer(result)


for _method, _summary in (("PUT", "Replace a grid"), ("PATCH", "Change part of a grid")):
    router.add_api_route(
        "/{code}",
        replace_item,
        methods=[_method],
        summary=f"{_summary} (OGC API – Features Part 4)",
        operation_id=f"ogc_{_method.lower()}_grid",
        responses=REFUSALS,
        openapi_extra=FEATURE_BODY,
    )


@router.delete(
    "/{code}",
    summary="Retire a grid (OGC API – Features Part 4)",
    status_code=204,
    responses=REFUSALS,
)
def delete_item(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    code: str,
    if_match: IfMatch = None,
) -> Response:
    """Retire a grid (it stays in history); ``If-Match`` must be its current ETag."""
    w.retire_grid(session, code=_code(code), principal=_principal(principal), if_match=if_match)
    grids_changed(request)
    return Response(status_code=204)
