"""gridmap.api.incidents: intake with automatic grid, the closed loop, lists and figures."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.orm import Session

from gridmap.dependencies import (
    GridQuery,
    PageDep,
    PrincipalDep,
    RegionQuery,
    RowId,
    SessionDep,
    TokenDep,
    ViewBBoxDep,
    parse_at,
)
from gridmap.errors import InvalidFile, NotFound
from gridmap.files import upload_name
from gridmap.geo.crs import normalize_crs, to_wgs84
from gridmap.photos import MEDIA_TYPES
from gridmap.queries.incidents import IncidentFilter
from gridmap.responses import GeoJSONResponse, created, documented
from gridmap.schemas.incidents import (
    ActionIn,
    ImportReport,
    IncidentFeature,
    IncidentIn,
    IncidentPage,
    MergeIn,
    PhotoPublic,
    TaskActionIn,
)
from gridmap.services import incident_import as ii
from gridmap.services import incidents as svc
from gridmap.services import tasks as task_svc
from gridmap.services import workflow as wf
from gridmap.services.etags import incident_etag

router = APIRouter(prefix="/incidents", tags=["incidents"])

# A phone sends a photo again when the answer to the first send was lost; the key names it.
PhotoKey = Annotated[str | None, Header(min_length=8, max_length=128, pattern=r"^[\x21-\x7e]+$")]


IfMatch = Annotated[
    str | None,
    Header(max_length=400, description="the incident's ETag, as GET gave it (required)"),
]


def _with_etag(feature: dict[str, Any]) -> GeoJSONResponse:
    props = feature["properties"]
    # no-cache: a browser must not answer a read from its cache after a step moved the version,
    # or its next step is sent with a stale ETag.
    return GeoJSONResponse(
        feature,
        headers={
            "ETag": incident_etag(props["id"], props["version"]),
            "Cache-Control": "no-cache",
        },
    )


def _hours(request: Request, session: Session) -> wf.WorkingHours:
    api = request.app.state.settings.api
    return svc.working_hours(
        session, timezone=api.timezone, start=api.working_day_start, end=api.working_day_end
    )


@router.post(
    "",
    status_code=201,
    response_class=GeoJSONResponse,
    response_model=IncidentFeature,
    responses={200: {"model": IncidentFeature, "description": "reported before (same key)"}},
    summary="Report an incident",
)
def report(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    incident: IncidentIn,
    idempotency_key: Annotated[
        str | None, Header(min_length=8, max_length=128, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> Any:
    """Record an incident with the grid, community and street at its point; the same
    ``Idempotency-Key`` twice gives one incident. Open incidents of the same category nearby are
    listed under ``duplicates``."""
    crs = normalize_crs(incident.crs)
    lon, lat = to_wgs84(incident.x, incident.y, crs)
    api = request.app.state.settings.api
    said = incident.model_dump(exclude={"x", "y", "crs"})
    feature, new = svc.create_incident(
        session,
        report=svc.Report(lon, lat, crs, **said, idempotency_key=idempotency_key),
        principal=principal,
        duplicate_metres=api.duplicate_metres,
        duplicate_hours=api.duplicate_hours,
    )
    return created(feature, f"/api/v1/incidents/{feature['properties']['id']}", new=new)


@router.post(
    "/import",
    **documented(ImportReport),
    summary="Import historical incidents from CSV/GeoJSON, all or nothing",
)
def import_incidents(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    file: Annotated[UploadFile, File(description="a CSV (lon/lat columns) or GeoJSON points")],
    crs: Annotated[str | None, Query(max_length=64)] = None,
    commit: bool = False,
) -> dict[str, Any]:
    """Check every row, assign grids, and write (with ``commit=true``) only a file without
    errors whose rows all lie in the token's region. A dry run answers as the commit would:
    422 naming the rows at fault, 403 naming the rows outside the region, or the report."""
    ii.require_importer(principal)
    name = upload_name(file.filename, default="upload.csv")
    suffix = FilePath(name).suffix.lower()
    if suffix not in (".csv", ".geojson", ".json"):
        raise InvalidFile(f"cannot read {name}: send a .csv or a .geojson", field="file")
    with tempfile.TemporaryDirectory(prefix="gridmap-import-") as folder:
        path = FilePath(folder) / f"upload{suffix}"
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
        frame = ii.read_table(path, name=name)
    result = ii.import_incidents(
        session,
        frame,
        crs=crs or "EPSG:4326",
        principal=principal,
        commit=commit,
        source=name,
        timezone=request.app.state.settings.api.timezone,
    )
    ii.refuse_bad_rows(result)
    return result


@router.get(
    "",
    response_class=GeoJSONResponse,
    response_model=IncidentPage,
    summary="Incidents as GeoJSON",
)
def list_incidents(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    bbox: ViewBBoxDep,
    state: Annotated[str | None, Query(max_length=16)] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    grid: GridQuery = None,
    region: RegionQuery = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
) -> Any:
    """Incidents filtered by bbox, state, category, grid, region and report time, newest first."""
    tz = request.app.state.settings.api.timezone
    return page.answer(
        svc.list_incidents(
            session,
            principal=principal,
            chosen=IncidentFilter(
                bbox,
                state,
                category,
                grid,
                region,
                parse_at(from_, tz, name="from"),
                parse_at(to, tz, name="to"),
            ),
            limit=page.limit,
            offset=page.offset,
        ),
        response_class=GeoJSONResponse,
    )


@router.get(
    "/{incident_id}",
    response_class=GeoJSONResponse,
    response_model=IncidentFeature,
    summary="One incident",
)
def get_incident(session: SessionDep, principal: PrincipalDep, incident_id: RowId) -> Any:
    """An incident with every event of its life, its sub-tasks and approvals, and the steps the
    caller may take now; its ``ETag`` is what a step sends in ``If-Match``."""
    return _with_etag(svc.get_incident(session, incident_id=incident_id, principal=principal))


@router.post(
    "/{incident_id}/merge",
    response_class=GeoJSONResponse,
    response_model=IncidentFeature,
    summary="Merge a duplicate",
)
def merge(
    session: SessionDep,
    principal: TokenDep,
    incident_id: RowId,
    body: MergeIn,
) -> Any:
    """Link a duplicate to its original (the duplicate is cancelled, its history kept). Needs
    no ``If-Match``: both incidents are locked, and whether the duplicate may still be cancelled
    is decided on what they are then."""
    return _with_etag(
        svc.merge(session, incident_id=incident_id, into=body.into, principal=principal)
    )


@router.post(
    "/{incident_id}/photos",
    status_code=201,
    **documented(PhotoPublic, 200, status=201),
    summary="Add a photo to an incident",
)
def add_photo(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    incident_id: RowId,
    file: Annotated[UploadFile, File(description="a JPEG, PNG or WebP image")],
    keep_location: Annotated[
        bool,
        Form(description="keep the photo's EXIF (with the GPS place it was taken at)"),
    ] = False,
    idempotency_key: PhotoKey = None,
) -> JSONResponse:
    """Store a photo, decoded and encoded again: upright, without its metadata (the place it
    was taken at included, unless ``keep_location``), referenced by URL. A file that is not a
    whole JPEG, PNG or WebP image, or has too many pixels, is 422. The same ``Idempotency-Key``
    or the same image again answers the photo stored (200) and adds nothing."""
    api = request.app.state.settings.api
    data = file.file.read(api.max_photo_bytes + 1)
    photo, new = svc.add_photo(
        session,
        incident_id=incident_id,
        data=data,
        principal=principal,
        folder=api.media_dir / "incidents",
        max_bytes=api.max_photo_bytes,
        max_photos=api.max_photos,
        max_pixels=api.max_photo_pixels,
        keep_location=keep_location,
        idempotency_key=idempotency_key,
    )
    return JSONResponse(photo, status_code=201 if new else 200)


@router.get("/{incident_id}/photos/{name}", summary="A photo of an incident")
def get_photo(
    request: Request,
    incident_id: RowId,
    name: Annotated[str, Path(pattern=r"^[0-9a-f]{32}\.(jpg|png|webp)$")],
) -> Any:
    """The stored image."""
    path = request.app.state.settings.api.media_dir / "incidents" / str(incident_id) / name
    return _stored_photo(path, of=f"incident {incident_id}")


@router.post(
    "/{incident_id}/tasks/{task_id}/photos",
    status_code=201,
    **documented(PhotoPublic, 200, status=201),
    summary="Add a photo to a sub-task",
)
def add_task_photo(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    incident_id: RowId,
    task_id: RowId,
    file: Annotated[UploadFile, File(description="a JPEG, PNG or WebP image")],
    keep_location: Annotated[
        bool,
        Form(description="keep the photo's EXIF (with the GPS place it was taken at)"),
    ] = False,
    idempotency_key: PhotoKey = None,
) -> JSONResponse:
    """A photo of the work on a sub-task, by its assignee; stored as incident photos are (the
    same ``Idempotency-Key`` or image again: 200, nothing added)."""
    api = request.app.state.settings.api
    data = file.file.read(api.max_photo_bytes + 1)
    photo, new = task_svc.add_photo(
        session,
        incident_id=incident_id,
        task_id=task_id,
        data=data,
        principal=principal,
        folder=api.media_dir / "incidents",
        max_bytes=api.max_photo_bytes,
        max_photos=api.max_photos,
        max_pixels=api.max_photo_pixels,
        keep_location=keep_location,
        idempotency_key=idempotency_key,
    )
    return JSONResponse(photo, status_code=201 if new else 200)


@router.get("/{incident_id}/tasks/{task_id}/photos/{name}", summary="A photo of a sub-task")
def get_task_photo(
    request: Request,
    incident_id: RowId,
    task_id: RowId,
    name: Annotated[str, Path(pattern=r"^[0-9a-f]{32}\.(jpg|png|webp)$")],
) -> Any:
    """The stored image."""
    folder = request.app.state.settings.api.media_dir / "incidents" / str(incident_id)
    return _stored_photo(folder / "tasks" / str(task_id) / name, of=f"sub-task {task_id}")


@router.post(
    "/{incident_id}/tasks/{task_id}/{step}",
    response_class=GeoJSONResponse,
    response_model=IncidentFeature,
    summary="A step on a sub-task",
)
def act_on_task(
    session: SessionDep,
    principal: TokenDep,
    incident_id: RowId,
    task_id: RowId,
    step: Annotated[str, Path(max_length=16, description=", ".join(task_svc.SERVED))],
    if_match: IfMatch = None,
    body: TaskActionIn | None = None,
) -> Any:
    """Report in (报到), answer (反馈, ``note``) or withdraw (撤回, the owner, ``reason``) a
    sub-task, with the incident's ETag in ``If-Match``; answers the incident, resolved once
    every open sub-task is answered."""
    task_svc.act_on_task(
        session,
        incident_id=incident_id,
        task_id=task_id,
        step=step,
        principal=principal,
        body=(body or TaskActionIn()).model_dump(),
        if_match=if_match,
    )
    return _with_etag(svc.get_incident(session, incident_id=incident_id, principal=principal))


@router.post(
    "/{incident_id}/{step}",
    response_class=GeoJSONResponse,
    response_model=IncidentFeature,
    summary="A step of the flow",
)
def act(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    incident_id: RowId,
    step: Annotated[str, Path(max_length=16, description=", ".join(svc.SERVED))],
    if_match: IfMatch = None,
    body: ActionIn | None = None,
) -> Any:
    """Take one step of the flow with the incident's ETag in ``If-Match``: a step the state does
    not allow is 409 listing the steps allowed now; a stale ETag 412; none 428."""
    return _with_etag(
        svc.act(
            session,
            incident_id=incident_id,
            step=step,
            principal=principal,
            body=(body or ActionIn()).model_dump(),
            if_match=if_match,
            hours=_hours(request, session),
            pool_minutes=request.app.state.settings.api.pool_minutes,
        )
    )


def _stored_photo(path: FilePath, *, of: str) -> FileResponse:
    if not path.is_file():
        raise NotFound(f"no photo {path.name} of {of}")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix])
