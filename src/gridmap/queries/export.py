"""gridmap.queries.export: a layer's rows for a file, read a batch at a time, as the API masks
them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import ColumnElement, Row, Select, func, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from gridmap import files, layers
from gridmap.auth import Principal
from gridmap.errors import InvalidInput, NotFound

LAYERS = tuple(layers.LAYERS)


def layer_of(name: str) -> layers.Layer:
    """The layer an export names, or :class:`InvalidInput` listing those there are."""
    layer = layers.LAYERS.get(name)
    if layer is None:
        shown = name if len(name) <= 40 else name[:40] + "…"
        raise InvalidInput(f"unknown layer {shown!r}; export one of {', '.join(LAYERS)}")
    return layer


@dataclass(frozen=True)
class Export:
    """What an export writes: its schema, its batches, the geometry type of its layer."""

    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    geometry_type: str


def _selected(
    layer: layers.Layer,
    principal: Principal,
    *,
    region: str | None,
    at: datetime | None,
) -> Select[Any]:
    x = layers.rows(layer, principal, region=region, at=at).subquery("x")
    geom: ColumnElement[Any] = x.c.geom
    if layer.geometry_type.startswith("Multi"):
        # A layer of multi-geometries holds only them: GeoPackage and FlatGeobuf check.
        geom = func.ST_Multi(geom)
    return select(
        func.to_jsonb(literal_column("x"), type_=JSONB).op("-")("geom").label("props"),
        func.ST_AsBinary(geom).label("wkb"),
    )


def export_batches(
    session: Session,
    *,
    layer: str,
    principal: Principal,
    fmt: files.Format,
    crs: str,
    region: str | None = None,
    at: datetime | None = None,
    batch: int = 5000,
) -> Export:
    """The rows of ``layer`` that ``principal`` may read (in ``region``, a code prefix; valid
    ``at``), masked as the API masks them, as Arrow batches of ``batch`` rows read through a
    server-side cursor. Raises as the API does for a caller who may not read the layer."""
    chosen = layer_of(layer)
    query = _selected(chosen, principal, region=region, at=at)
    kinds = [f.type for f in chosen.fields]
    schema = files.arrow_schema([(f.name, f.type) for f in chosen.fields], fmt=fmt)

    def batch_of(part: Sequence[Row[Any]]) -> pa.RecordBatch:
        props = [layers.mask(chosen, row.props, principal) for row in part]
        wkb = [None if row.wkb is None else bytes(row.wkb) for row in part]
        return files.record_batch(schema, props, wkb, kinds=kinds, crs=crs)

    parts = session.execute(query.execution_options(yield_per=batch)).partitions()
    # The first batch is read before anything is sent, so an empty export is a 404, not a file.
    first = next(parts, None)
    if first is None:
        raise NotFound(f"no {layer} to export" + (f" in {region}" if region else ""))

    def batches() -> Iterator[pa.RecordBatch]:
        yield batch_of(first)
        for part in parts:
            yield batch_of(part)

    return Export(schema=schema, batches=batches(), geometry_type=chosen.geometry_type)


def count_rows(
    session: Session,
    *,
    layer: str,
    principal: Principal,
    region: str | None = None,
    at: datetime | None = None,
) -> int:
    """How many rows an export of ``layer`` will hold (for progress bars)."""
    chosen = layer_of(layer)
    return int(session.execute(layers.count(chosen, principal, region=region, at=at)).scalar_one())


def export_file(
    session: Session,
    *,
    layer: str,
    principal: Principal,
    fmt: files.Format,
    crs: str,
    region: str | None = None,
    at: datetime | None = None,
) -> Path:
    """Write an export (not GeoJSON, which is streamed as it is read) in a temporary folder."""
    made = export_batches(
        session, layer=layer, principal=principal, fmt=fmt, crs=crs, region=region, at=at
    )
    folder = files.temp_folder()
    try:
        return files.write_stream(
            made.schema,
            made.batches,
            fmt=fmt,
            crs=crs,
            layer=layer,
            geometry_type=made.geometry_type,
            folder=folder,
        )
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
