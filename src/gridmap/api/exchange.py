"""gridmap.api.exchange: files for GIS tools — export of layers, import of grids."""

from __future__ import annotations

import shutil
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from gridmap import files
from gridmap.dependencies import (
    AtDep,
    CRSDep,
    PrincipalDep,
    RegionQuery,
    RulesDep,
    SessionDep,
    StreamReadSessionDep,
    TokenDep,
    grids_changed,
)
from gridmap.errors import InvalidInput
from gridmap.queries import export as ex
from gridmap.responses import documented
from gridmap.schemas.grids import ImportReport
from gridmap.services import grid_import as gi
from gridmap.vocab import codes

router = APIRouter(tags=["files"])


def _region(community: str | None, region: str | None) -> str | None:
    if community and region:
        raise InvalidInput("give community= or region=, not both")
    return community or region


@router.get(
    "/export/{layer}",
    summary="A layer as a file for GIS tools",
    response_class=StreamingResponse,
    responses={200: {"content": {t: {} for t in files.MEDIA_TYPES.values()}}, 401: {}, 403: {}},
)
def export_layer(
    session: StreamReadSessionDep,
    principal: PrincipalDep,
    at: AtDep,
    crs: CRSDep,
    layer: Annotated[str, Path(max_length=40, description=", ".join(ex.LAYERS))],
    format: Literal["geojson", "gpkg", "shp", "fgb", "parquet"] = "geojson",
    community: Annotated[str | None, Query(pattern=codes.COMMUNITY)] = None,
    region: RegionQuery = None,
) -> Any:
    """Every layer as GeoJSON (streamed), GeoPackage, zipped Shapefile (with .prj and a UTF-8
    .cpg), FlatGeobuf or GeoParquet, in EPSG:4326, EPSG:4490 or GCJ-02 (named as such in every
    format, so no GIS tool takes it for WGS 84), with the rows and masks the API gives the
    caller (visits and patrols need a token)."""
    files.file_crs(crs)
    ex.layer_of(layer)
    where = _region(community, region)
    stem = f"gridmap-{layer}" + (f"-{where}" if where else "")
    if crs == "GCJ-02":
        stem += "-GCJ-02"
    if format == "geojson":
        made = ex.export_batches(
            session, layer=layer, principal=principal, fmt=format, crs=crs, region=where, at=at
        )
        return StreamingResponse(
            files.geojson_chunks(made.batches, crs=crs, name=layer),
            media_type=files.MEDIA_TYPES["geojson"],
            headers={"Content-Disposition": f'attachment; filename="{stem}.geojson"'},
        )
    path = ex.export_file(
        session, layer=layer, principal=principal, fmt=format, crs=crs, region=where, at=at
    )
    return FileResponse(
        path,
        media_type=files.MEDIA_TYPES[format],
        filename=f"{stem}{path.suffix}",
        background=BackgroundTask(shutil.rmtree, path.parent, ignore_errors=True),
    )


@router.post(
    "/import/grids",
    summary="Import grids from a GIS file (all or nothing)",
    **documented(ImportReport),
)
def import_grids(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    rules: RulesDep,
    file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage, zipped Shapefile or KML")],
    crs: Annotated[
        str | None, Query(max_length=64, description="the file's CRS, when it does not say")
    ] = None,
    commit: Annotated[bool, Query(description="write the changes (default: report only)")] = False,
) -> Any:
    """Report what the file would create, update, leave and reject; write it only with
    ``commit=true`` and only when nothing is rejected."""
    name = files.upload_name(file.filename, default="upload")
    suffix = FilePath(name).suffix.lower()
    if suffix not in files.READABLE:
        raise InvalidInput(f"cannot read {name!r}: send {', '.join(files.READABLE)}")
    folder = files.temp_folder()
    try:
        path = folder / f"upload{suffix}"
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
        result = gi.run_import(
            session, path, crs=crs, principal=principal, rules=rules, commit=commit, source=name
        )
        if result["committed"]:
            grids_changed(request)
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)
