"""gridmap.api.incidents: intake with automatic grid, the closed loop, lists and figures."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse
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
)
from gridmap.services import incident_import as ii
from gridmap.services import incidents as svc
from gridmap.services import workflow as wf

router = APIRouter(prefix="/incidents", tags=["incidents"])


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
    return GeoJSONResponse(
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
        )
    )


@router.get(
    "/{incident_id}",
    response_class=GeoJSONResponse,
    response_model=IncidentFeature,
    summary="One incident",
)
def get_incident(session: SessionDep, principal: PrincipalDep, incident_id: RowId) -> Any:
    """An incident with every event of its life."""
    return GeoJSONResponse(svc.get_incident(session, incident_id=incident_id, principal=principal))


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
    """Link a duplicate to its original (the duplicate is cancelled, its history kept)."""
    return GeoJSONResponse(
        svc.merge(session, incident_id=incident_id, into=body.into, principal=principal)
    )


@router.post(
    "/{incident_id}/photos",
    status_code=201,
    **documented(PhotoPublic, status=201),
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
) -> dict[str, Any]:
    """Store a photo, decoded and encoded again: upright, without its metadata (the place it
    was taken at included, unless ``keep_location``), referenced by URL. A file that is not a
    whole JPEG, PNG or WebP image, or has too many pixels, is 422."""
    api = request.app.state.settings.api
    data = file.file.read(api.max_photo_bytes + 1)
    return svc.add_photo(
        session,
        incident_id=incident_id,
        data=data,
        principal=principal,
        folder=api.media_dir / "incidents",
        max_bytes=api.max_photo_bytes,
        max_photos=api.max_photos,
        max_pixels=api.max_photo_pixels,
        keep_location=keep_location,
    )


@router.get("/{incident_id}/photos/{name}", summary="A photo of an incident")
def get_photo(
    request: Request,
    incident_id: RowId,
    name: Annotated[str, Path(pattern=r"^[0-9a-f]{32}\.(jpg|png|webp)$")],
) -> Any:
    """The stored image."""
    path = request.app.state.settings.api.media_dir / "incidents" / str(incident_id) / name
    if not path.is_file():
        raise NotFound(f"no photo {name} of incident {incident_id}")
    media = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}[path.suffix]
    return FileResponse(path, media_type=media)


@router.post(
    "/{incident_id}/{action}",
    response_class=GeoJSONResponse,
    response_model=IncidentFeature,
    summary="A workflow step",
    responses={403: {}, 404: {}, 409: {}, 422: {}},
)
def act(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    incident_id: RowId,
    action: Annotated[str, Path(max_length=16, description=", ".join(wf.STEPS))],
    body: ActionIn | None = None,
) -> Any:
    """Take one step of the closed loop; a step the incident's state does not allow is 409."""
    return GeoJSONResponse(
        svc.act(
            session,
            incident_id=incident_id,
            action=action,
            principal=principal,
            body=(body or ActionIn()).model_dump(),
            hours=_hours(request, session),
        )
    )
