"""gridmap.queries.export: a layer's rows for a file, read as typed Arrow columns and masked as
the API masks them."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Select,
    Text,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from gridmap import files, layers
from gridmap.auth import Principal
from gridmap.errors import InvalidInput, NotFound

LAYERS = tuple(layers.LAYERS)

# The layers whose masks decide, row by row, on the place a row lies in (these columns) and
# change only the personal fields: masked once per distinct place and personal value, not once
# per row. Every other layer with personal fields is masked row by row.
PLACE_MASKED = {
    "incidents": ("grid_code", "community_code"),
    "households": ("grid_code", "community_code"),
    "resident-units": ("grid_code", "community_code"),
}

# How much CSV text PostgreSQL's COPY hands to one Arrow batch (so memory is that of a batch).
BLOCK = 1 << 21


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


def _read_as(kind: files.FieldType, as_text: bool) -> pa.DataType:
    """The Arrow type a field is read as from the CSV text of :func:`_typed`."""
    if kind in ("datetime", "date") and as_text:
        return pa.string()
    return {
        "integer": pa.int64(),
        "number": pa.float64(),
        "boolean": pa.bool_(),
        "datetime": pa.int64(),
        "date": pa.int32(),
    }.get(kind, pa.string())


def _typed(
    layer: layers.Layer,
    principal: Principal,
    *,
    region: str | None,
    at: datetime | None,
    times_as_text: bool,
) -> Select[Any]:
    """Every field as a column PostgreSQL writes as plain CSV text Arrow reads typed (times as
    milliseconds since 1970, dates as days, JSON as its text), then the WKB geometry as hex; in
    no order (a file is not paged)."""
    x = layers.rows(layer, principal, region=region, at=at).order_by(None).subquery("x")
    columns = []
    for f in layer.fields:
        c: ColumnElement[Any] = x.c[f.name]
        if f.type == "json":
            c = cast(func.to_jsonb(c), Text)
        elif f.type in ("datetime", "date") and times_as_text:
            # As the API's JSON writes them (ISO 8601 with the offset).
            c = func.jsonb_build_array(c).op("->>")(literal_column("0"))
        elif f.type == "datetime":
            c = cast(func.floor(func.extract("epoch", c) * 1000), BigInteger)
        elif f.type == "date":
            c = cast(c - func.date("1970-01-01"), Integer)
        elif f.type == "integer":
            c = cast(c, BigInteger)
        elif f.type == "number":
            c = cast(c, Float)
        elif f.type == "string":
            c = cast(c, Text)
        columns.append(c.label(f.name))
    geom: ColumnElement[Any] = x.c.geom
    if layer.geometry_type.startswith("Multi"):
        # A layer of multi-geometries holds only them: GeoPackage and FlatGeobuf check.
        geom = func.ST_Multi(geom)
    columns.append(func.encode(func.ST_AsBinary(geom), "hex").label("geometry"))
    return select(*columns)


class _CopyText(io.RawIOBase):
    """The text of a COPY … TO STDOUT as a file Arrow's CSV reader reads from."""

    def __init__(self, chunks: Iterator[Any]) -> None:
        self._chunks = chunks
        self._left = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._left = memoryview(chunk)
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


# Hex digits to their values (anything else is never written by PostgreSQL's encode()).
_NIBBLE = np.zeros(256, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"0123456789", dtype=np.uint8)] = np.arange(10, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"abcdef", dtype=np.uint8)] = np.arange(10, 16, dtype=np.uint8)


def unhex(column: pa.Array) -> pa.Array:
    """A column of hex text as the bytes it spells, all rows at once (nulls stay null).

    Examples
    --------
    >>> unhex(pa.array(["0101", None, "ff"])).to_pylist()
    [b'\\x01\\x01', None, b'\\xff']
    """
    column = pc.cast(column, pa.string())
    if column.offset:
        column = pa.concat_arrays([column])
    n = len(column)
    _, offsets_buf, data_buf = column.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32, count=n + 1)
    start, end = int(offsets[0]), int(offsets[-1])
    digits = _NIBBLE[np.frombuffer(data_buf, dtype=np.uint8)[start:end]] if end > start else None
    data = (digits[0::2] << 4) | digits[1::2] if digits is not None else np.zeros(0, np.uint8)
    valid = None
    if column.null_count:
        valid = pc.is_valid(column).buffers()[1]
    return pa.Array.from_buffers(
        pa.binary(),
        n,
        [valid, pa.py_buffer(((offsets - start) // 2).astype(np.int32)), pa.py_buffer(data)],
        null_count=column.null_count,
    )


def _masked(
    layer: layers.Layer, principal: Principal, batch: pa.RecordBatch
) -> dict[str, pa.Array]:
    """The personal columns of ``batch`` as :func:`layers.mask` shows them to ``principal``."""
    personal = [f.name for f in layer.fields if f.personal]
    places = PLACE_MASKED.get(layer.id)
    if places is None:
        rows = batch.to_pylist()
        shown = [layers.mask(layer, row, principal) for row in rows]
        return {
            name: pa.array([s[name] for s in shown], batch.schema.field(name).type)
            for name in personal
        }
    keys = [*places, *personal]
    text = [pc.cast(batch.column(k), pa.string()) for k in keys]
    # One key per distinct combination (NUL never occurs in PostgreSQL text, so it marks null).
    joined = pc.binary_join_element_wise(
        *text, "\x1f", null_handling="replace", null_replacement="\x00"
    )
    indices = pc.dictionary_encode(joined).indices
    _, first = np.unique(indices.to_numpy(zero_copy_only=False), return_index=True)
    firsts = pa.array(first)
    samples = pa.RecordBatch.from_arrays(
        [pc.take(batch.column(k), firsts) for k in keys], names=keys
    ).to_pylist()
    shown = [layers.mask(layer, row, principal) for row in samples]
    return {
        name: pc.take(pa.array([s[name] for s in shown], pa.string()), indices) for name in personal
    }


def _batch_of(
    layer: layers.Layer,
    principal: Principal,
    schema: pa.Schema,
    read: pa.RecordBatch,
    crs: str,
) -> pa.RecordBatch:
    """A batch as read from PostgreSQL as a batch of the file: times typed, masks applied,
    geometry as WKB in ``crs``."""
    masked = _masked(layer, principal, read) if any(f.personal for f in layer.fields) else {}
    columns = []
    for f in layer.fields:
        column = masked.get(f.name, read.column(f.name))
        want = schema.field(f.name).type
        if column.type != want:
            column = pc.cast(column, want)
        columns.append(column)
    columns.append(files.moved_wkb(unhex(read.column("geometry")), crs))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def export_batches(
    session: Session,
    *,
    layer: str,
    principal: Principal,
    fmt: files.Format,
    crs: str,
    region: str | None = None,
    at: datetime | None = None,
) -> Export:
    """The rows of ``layer`` that ``principal`` may read (in ``region``, a code prefix; valid
    ``at``), masked as the API masks them, as Arrow batches: PostgreSQL writes the typed columns
    with COPY and Arrow's CSV reader reads them a block at a time, so memory stays that of a
    block whatever the row count. Raises as the API does for a caller who may not read the
    layer, and :class:`NotFound` when there is no row."""
    chosen = layer_of(layer)
    times_as_text = fmt == "shp"
    query = _typed(chosen, principal, region=region, at=at, times_as_text=times_as_text)
    schema = files.arrow_schema([(f.name, f.type) for f in chosen.fields], fmt=fmt)
    names = [*(f.name for f in chosen.fields), "geometry"]
    types = {f.name: _read_as(f.type, times_as_text) for f in chosen.fields}
    types["geometry"] = pa.string()

    compiled = query.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    driver = session.connection().connection.driver_connection
    stack = ExitStack()
    cursor = stack.enter_context(driver.cursor())  # type: ignore[union-attr]
    copy = stack.enter_context(
        cursor.copy(f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv)", compiled.params)
    )
    chunks = iter(copy)
    # The first rows are read before anything is sent, so an empty export is a 404, not a file.
    head = next(chunks, None)
    if head is None:
        stack.close()
        raise NotFound(f"no {layer} to export" + (f" in {region}" if region else ""))

    def text() -> Iterator[Any]:
        yield head
        yield from chunks

    reader = pcsv.open_csv(
        io.BufferedReader(_CopyText(text()), BLOCK),
        read_options=pcsv.ReadOptions(column_names=names, block_size=BLOCK, use_threads=False),
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            column_types=types,
            null_values=[""],
            true_values=["t"],
            false_values=["f"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )

    def batches() -> Iterator[pa.RecordBatch]:
        with stack:
            for read in reader:
                yield _batch_of(chosen, principal, schema, read, crs)

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
