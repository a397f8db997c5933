"""gridmap.api.grids: grids as GeoJSON Features — read, history, and checked writes."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response

from gridmap.dependencies import (
    AtDep,
    BBoxDep,
    CRSDep,
    PageDep,
    RulesDep,
    SessionDep,
    TokenDep,
    grids_changed,
)
from gridmap.geo.shapes import geojson_in
from gridmap.queries import grids as q
from gridmap.responses import GeoJSONResponse, documented
from gridmap.schemas.grids import (
    BatchResult,
    GridBatch,
    GridFeature,
    GridFeatureOut,
    GridHistory,
    GridMerge,
    GridRetired,
    GridSplit,
    GridsPublic,
)
from gridmap.services import grid_batch as b
from gridmap.services import grid_versions as w
from gridmap.vocab import codes
from gridmap.vocab.kinds import GridKind

router = APIRouter(prefix="/grids", tags=["grids"])

CodePath = Annotated[str, Path(pattern=codes.GRID, description="grid code")]
IfMatch = Annotated[
    str | None,
    Header(max_length=400, description="the ETag of the version being changed (required)"),
]
Fix = Annotated[
    bool,
    Query(description="snap the grid to its neighbours and community instead of rejecting it"),
]
DryRun = Annotated[bool, Query(description="check and answer everything, write nothing")]


def _in_crs(feature: dict[str, Any], crs: str) -> dict[str, Any]:
    if crs in ("EPSG:4326", "EPSG:4490") or feature.get("geometry") is None:
        return feature
    import shapely.geometry

    geom = shapely.geometry.shape(feature["geometry"])
    return {**feature, "geometry": geojson_in(geom, crs)}


def _written(result: w.WriteResult, crs: str, status: int = 200) -> GeoJSONResponse:
    body = _in_crs(result.feature, crs)
    if result.fixed is not None:
        body = {**body, "fixed": result.fixed}
    body = {**body, "changed": result.changed}
    if result.noded:
        body = {**body, "noded": result.noded}
    headers = {"ETag": result.etag}
    if status == 201:
        headers["Location"] = f"/api/v1/grids/{result.feature['properties']['code']}"
    return GeoJSONResponse(body, status_code=status, headers=headers)


@router.get(
    "", response_class=GeoJSONResponse, response_model=GridsPublic, summary="Grids as GeoJSON"
)
def list_grids(
    session: SessionDep,
    page: PageDep,
    bbox: BBoxDep,
    at: AtDep,
    crs: CRSDep,
    community: Annotated[str | None, Query(pattern=codes.COMMUNITY)] = None,
    street: Annotated[str | None, Query(pattern=codes.STREET)] = None,
    kind: GridKind | None = None,
) -> Any:
    """Current grids (or those valid ``at`` a past time), by community, street, kind and bbox."""
    result = q.list_grids(
        session,
        community=community,
        street=street,
        kind=kind,
        bbox=bbox,
        limit=page.limit,
        offset=page.offset,
        at=at,
    )
    if crs not in ("EPSG:4326", "EPSG:4490"):
        result["features"] = [_in_crs(f, crs) for f in result["features"]]
    response = page.answer(result, response_class=GeoJSONResponse)
    # Weak: the same grids may be written with other whitespace or key order by another version.
    response.headers["ETag"] = 'W/"' + hashlib.sha256(response.body).hexdigest()[:32] + '"'
    return response


@router.post(
    "",
    response_class=GeoJSONResponse,
    response_model=GridFeatureOut,
    status_code=201,
    summary="Add a grid",
    responses={401: {}, 403: {}, 409: {}, 422: {}},
)
def create_grid(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    rules: RulesDep,
    crs: CRSDep,
    feature: GridFeature,
    fix: Fix = False,
) -> Any:
    """Add a grid, checked against its community and its sibling grids in one transaction."""
    result = w.create_grid(
        session, feature=feature, crs=crs, principal=principal, rules=rules, fix=fix
    )
    grids_changed(request)
    return _written(result, crs, 201)


def _batch_answer(request: Request, answer: dict[str, Any], crs: str) -> dict[str, Any]:
    """The batch answer in ``crs``; the in-memory grids reload when something was written."""
    if not answer["dry_run"] and (answer["retired"] or any(g["changed"] for g in answer["grids"])):
        grids_changed(request)
    if crs not in ("EPSG:4326", "EPSG:4490"):
        answer["grids"] = [_in_crs(g, crs) for g in answer["grids"]]
    return answer


@router.post(
    "/batch",
    summary="Change, add and retire grids together, all or nothing",
    **documented(BatchResult, 401, 403, 404, 409, 412, 422, 428),
)
def write_batch(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    rules: RulesDep,
    crs: CRSDep,
    batch: GridBatch,
    dry_run: DryRun = False,
) -> Any:
    """Write every change in one transaction, each grid checked against the state of its
    community after the whole batch; a stale ``if_match`` is a 412 naming the grid. Grids
    answered with full-precision coordinates and their new ETags, and each community's
    coverage as the batch leaves it."""
    changes = [
        b.change_from(
            i,
            code=c.code,
            if_match=c.if_match,
            geometry=c.geometry,
            properties=c.properties.model_dump(exclude_unset=True),
            crs=crs,
            retire=c.retire,
            fix=c.fix,
            fill=c.fill,
        )
        for i, c in enumerate(batch.changes)
    ]
    answer = b.write_batch(
        session,
        changes=changes,
        principal=principal,
        rules=rules,
        note=batch.note,
        dry_run=dry_run,
    )
    return _batch_answer(request, answer, crs)


@router.post(
    "/{code}/merge",
    summary="Merge two neighbouring grids into one",
    **documented(BatchResult, 401, 403, 404, 409, 412, 422, 428),
)
def merge_grids(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    rules: RulesDep,
    crs: CRSDep,
    code: CodePath,
    body: GridMerge,
    dry_run: DryRun = False,
) -> Any:
    """Merge grid ``code`` with the grid ``with`` (same community, sharing a border): the lower
    code keeps its code and gets the union, the other is retired and its code never reissued.
    ``if_match`` gives the ETag read of each. Answered as a batch."""
    answer = b.merge_grids(
        session,
        code=code,
        other=body.other,
        if_match=body.if_match,
        principal=principal,
        rules=rules,
        name=body.name,
        note=body.note,
        dry_run=dry_run,
    )
    return _batch_answer(request, answer, crs)


@router.post(
    "/{code}/split",
    summary="Cut a grid in two along a line",
    **documented(BatchResult, 401, 403, 404, 412, 422, 428),
)
def split_grid(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    rules: RulesDep,
    crs: CRSDep,
    code: CodePath,
    body: GridSplit,
    dry_run: DryRun = False,
) -> Any:
    """Cut grid ``code`` along ``line`` (from outside it, or its edge, across to the other
    side) into exactly two parts: the larger keeps the code, the other becomes a new grid of
    the same kind (named ``name``, or the old name with （分）). Answered as a batch."""
    answer = b.split_grid(
        session,
        code=code,
        line=body.line,
        crs=crs,
        if_match=body.if_match,
        principal=principal,
        rules=rules,
        name=body.name,
        note=body.note,
        dry_run=dry_run,
    )
    return _batch_answer(request, answer, crs)


@router.get(
    "/{code}", response_class=GeoJSONResponse, response_model=GridFeatureOut, summary="One grid"
)
def get_grid(request: Request, session: SessionDep, code: CodePath, at: AtDep, crs: CRSDep) -> Any:
    """One grid (its current version, or the one valid ``at``), with its ``ETag``."""
    feature = q.get_grid(session, code=code, at=at)
    tag = w.etag(code, feature["properties"]["version"])
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers={"ETag": tag})
    return GeoJSONResponse(_in_crs(feature, crs), headers={"ETag": tag})


@router.get(
    "/{code}/history",
    response_class=GeoJSONResponse,
    response_model=GridHistory,
    summary="Every version of a grid",
)
def grid_history(session: SessionDep, code: CodePath, geometry: bool = True) -> Any:
    """All versions of a grid, oldest first: who changed it, when, and what it was."""
    return GeoJSONResponse(q.grid_history(session, code=code, geometry=geometry))


def update_grid(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    rules: RulesDep,
    crs: CRSDep,
    code: CodePath,
    feature: GridFeature,
    if_match: IfMatch = None,
    fix: Fix = False,
) -> Any:
    """PUT replaces a grid's geometry and properties; PATCH changes those given and keeps the
    rest. Either way the old version stays in the grid's history."""
    result = w.update_grid(
        session,
        code=code,
        feature=feature,
        crs=crs,
        principal=principal,
        rules=rules,
        if_match=if_match,
        partial=request.method == "PATCH",
        fix=fix,
    )
    if result.changed:
        grids_changed(request)
    return _written(result, crs)


for _method, _summary in (("PUT", "Replace a grid"), ("PATCH", "Change part of a grid")):
    router.add_api_route(
        "/{code}",
        update_grid,
        methods=[_method],
        summary=_summary,
        operation_id=f"{_method.lower()}_grid",
        response_class=GeoJSONResponse,
        response_model=GridFeatureOut,
        responses={401: {}, 403: {}, 409: {}, 412: {}, 422: {}, 428: {}},
    )


@router.delete(
    "/{code}",
    summary="Retire a grid",
    **documented(GridRetired, 401, 403, 404, 412, 428),
)
def retire_grid(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    code: CodePath,
    if_match: IfMatch = None,
) -> Any:
    """Retire a grid: it leaves the current map but stays in history, never erased."""
    retired = w.retire_grid(session, code=code, principal=principal, if_match=if_match)
    grids_changed(request)
    return retired
