"""gridmap.api.whistle: the whistle list (吹哨清单), its file form, and what it suggests."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse

from gridmap.dependencies import RowId, SessionDep, TokenDep
from gridmap.files import upload_name
from gridmap.responses import documented
from gridmap.schemas.whistle import (
    ItemRemoved,
    WhistleImportReport,
    WhistleItemIn,
    WhistleItemPatch,
    WhistleItemPublic,
    WhistleList,
    WhistleSuggestion,
)
from gridmap.services import whistle as service
from gridmap.services import whistle_import as files
from gridmap.vocab import codes

router = APIRouter(prefix="/whistle-list", tags=["whistle list"])
incident_router = APIRouter(prefix="/incidents", tags=["whistle list"])

CategoryQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=64, pattern=codes.ONE_LINE, description="an incident category"),
]
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get("", **documented(WhistleList), summary="The whistle list")
def whistle_list(
    session: SessionDep, category: CategoryQuery = None, active: bool | None = None
) -> dict[str, Any]:
    """The classes, each with its lines by code (``category``: the lines answering it)."""
    return service.whistle_list(session, category=category, active=active)


@router.post(
    "/items",
    status_code=201,
    **documented(WhistleItemPublic, 409, status=201),
    summary="Add a line to the whistle list",
)
def create_item(session: SessionDep, principal: TokenDep, body: WhistleItemIn) -> Any:
    """A new line (admin and district tokens); its class is made when it is new and
    ``class_name`` is given. A code taken is 409."""
    line = service.create_item(session, values=body.model_dump(), principal=principal)
    return JSONResponse(
        line, status_code=201, headers={"Location": f"/api/v1/whistle-list/items/{line['id']}"}
    )


@router.patch(
    "/items/{item_id}", **documented(WhistleItemPublic, 404, 409), summary="Change a line"
)
def patch_item(
    session: SessionDep, principal: TokenDep, item_id: RowId, body: WhistleItemPatch
) -> dict[str, Any]:
    """Change a line's fields (admin and district tokens)."""
    return service.update_item(
        session, item_id=item_id, changes=body.model_dump(exclude_unset=True), principal=principal
    )


@router.delete(
    "/items/{item_id}",
    status_code=204,
    responses={200: {"model": ItemRemoved}, 404: {}},
    summary="Remove a line",
)
def delete_item(session: SessionDep, principal: TokenDep, item_id: RowId) -> Response:
    """Remove a line (204); one that sub-tasks were whistled for is kept inactive instead,
    answered 200 saying so."""
    kept = service.delete_item(session, item_id=item_id, principal=principal)
    if kept is None:
        return Response(status_code=204)
    return JSONResponse(kept)


@router.post(
    "/import",
    **documented(WhistleImportReport),
    summary="Import the whistle list from CSV or XLSX, all or nothing",
)
def import_list(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    file: Annotated[
        UploadFile, File(description="a UTF-8 CSV or an XLSX with the export's columns")
    ],
    commit: bool = False,
) -> dict[str, Any]:
    """Lines are matched by ``code``: new ones are added, those that differ changed, the others
    left; classes are made as needed. Every row is checked first: one at fault is a 422 naming
    each row and column, and nothing is written. Without ``commit`` it only reports."""
    service.require_editor(principal)
    name = upload_name(file.filename, default="whistle-list.csv")
    data = file.file.read(request.app.state.settings.api.max_upload_bytes + 1)
    rows = files.read_file(data, name)
    return files.import_items(session, rows, principal=principal, commit=commit, source=name)


@router.get(
    "/export",
    responses={200: {"content": {MEDIA["csv"]: {}, MEDIA["xlsx"]: {}}}},
    summary="The whistle list as CSV or XLSX",
)
def export_list(session: SessionDep, format: Literal["csv", "xlsx"] = "csv") -> Response:
    """Every line, active or not, by code, in the columns the import reads."""
    rows = files.export_rows(session)
    data = files.to_csv(rows) if format == "csv" else files.to_xlsx(rows)
    return Response(
        data,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="whistle-list.{format}"'},
    )


@incident_router.get(
    "/{incident_id}/whistle-suggestions",
    **documented(WhistleSuggestion, 404),
    summary="Departments the whistle list suggests for an incident",
)
def whistle_suggestions(session: SessionDep, incident_id: RowId) -> dict[str, Any]:
    """The line matching the incident's category and the active departments of its kinds in
    the incident's street and district: the lead kind first, the street's before the
    district's. Whoever may read the incident may read this."""
    return service.suggestions(session, incident_id=incident_id)
