"""gridmap.queries.export: the rows of each exportable layer, a batch at a time."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from typing import cast as cast_type

from sqlalchemy import ColumnElement, Float, Select, Table, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON

from gridmap import files
from gridmap.errors import InvalidInput, NotFound
from gridmap.models import Building, Grid, Region
from gridmap.queries.grids import NAMED_COLUMNS, WITH_NAMES, area_m2, valid_at

_g = cast_type(Table, Grid.__table__)
_r = cast_type(Table, Region.__table__)
_b = cast_type(Table, Building.__table__)


def _in_region(code: ColumnElement[str], region: str | None) -> list[ColumnElement[bool]]:
    # A region is any code prefix; none (or "") means everywhere.
    return [func.left(code, len(region)) == region] if region else []


def _grids(region: str | None, at: datetime | None) -> Select[Any]:
    return (
        select(
            *NAMED_COLUMNS,
            func.to_char(func.timezone("UTC", _g.c.valid_from), 'YYYY-MM-DD"T"HH24:MI:SS"Z"').label(
                "valid_from"
            ),
            cast(area_m2(_g.c.geom), Float).label("area_m2"),
            _g.c.geom,
        )
        .select_from(WITH_NAMES)
        .where(valid_at(at), *_in_region(_g.c.community_code, region))
        .order_by(_g.c.code)
    )


def _regions(region: str | None, _at: datetime | None) -> Select[Any]:
    return (
        select(_r.c.code, _r.c.level, _r.c.name, _r.c.parent_code, _r.c.geom)
        .where(*_in_region(_r.c.code, region))
        .order_by(_r.c.code)
    )


def _buildings(region: str | None, _at: datetime | None) -> Select[Any]:
    return (
        select(
            _b.c.code,
            _b.c.address,
            _b.c.name,
            _b.c.use,
            _b.c.floors,
            _b.c.households,
            _b.c.grid_code,
            _b.c.community_code,
            _b.c.geom,
        )
        .where(*_in_region(_b.c.community_code, region))
        .order_by(_b.c.code)
    )


# Each layer: its rows in a region (as of ``at``), geometry last and named geom.
_LAYERS: dict[str, Callable[[str | None, datetime | None], Select[Any]]] = {
    "grids": _grids,
    "regions": _regions,
    "buildings": _buildings,
}
LAYERS = tuple(_LAYERS)


def export_rows(
    session: Session,
    *,
    layer: str,
    region: str | None = None,
    at: datetime | None = None,
    geometry: str = "geojson",
    batch: int = 2000,
) -> Iterator[dict[str, Any]]:
    """Rows of ``layer`` in ``region`` (any code prefix) with their geometry as a GeoJSON dict
    (``geometry="geojson"``) or WKB bytes (``"wkb"``), read through a server-side cursor."""
    if layer not in _LAYERS:
        raise InvalidInput(f"unknown layer {layer!r}; export one of {', '.join(LAYERS)}")
    x = _LAYERS[layer](region, at).subquery("x")
    geom = (
        cast(func.ST_AsGeoJSON(x.c.geom, 9), JSON)
        if geometry == "geojson"
        else func.ST_AsBinary(x.c.geom)
    )
    rows = select(
        func.to_jsonb(literal_column("x"), type_=JSONB).op("-")("geom").label("props"),
        geom.label("geometry"),
    )
    result = session.execute(rows.execution_options(yield_per=batch))
    for row in result:
        props = dict(row.props)
        g = row.geometry
        props["geometry"] = bytes(g) if isinstance(g, memoryview) else g
        yield props


def count_rows(
    session: Session, *, layer: str, region: str | None = None, at: datetime | None = None
) -> int:
    """How many rows an export of ``layer`` will hold (for progress bars)."""
    if layer not in _LAYERS:
        raise InvalidInput(f"unknown layer {layer!r}; export one of {', '.join(LAYERS)}")
    return int(
        session.execute(
            select(func.count()).select_from(_LAYERS[layer](region, at).subquery("x"))
        ).scalar_one()
    )


def export_file(
    session: Session, *, layer: str, fmt: str, crs: str, region: str | None, at: datetime | None
) -> Path:
    """Write an export as a GeoPackage or zipped Shapefile in a temporary folder."""
    import pandas as pd

    rows = list(export_rows(session, layer=layer, region=region, at=at, geometry="wkb"))
    if not rows:
        raise NotFound(f"no {layer} to export" + (f" in {region}" if region else ""))
    wkb = [r.pop("geometry") for r in rows]
    folder = files.temp_folder()
    try:
        return files.write_file(
            pd.DataFrame(rows),
            wkb,
            fmt=fmt,  # type: ignore[arg-type]
            crs=crs,
            layer=layer,
            folder=folder,
        )
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
