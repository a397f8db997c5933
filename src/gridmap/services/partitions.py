"""gridmap.services.partitions: incidents by month: make the months ahead, list them, archive
a month to GeoParquet and restore it.

``incident`` is partitioned by the month an incident was reported in, China time
(``incident_p202605`` holds May 2026 from ``2026-05-01 00:00+08``); ``incident_default`` takes a
month that has no partition yet and stays empty in normal operation. Archiving detaches a month,
writes every column to a GeoParquet file (geometry as WKB, CRS EPSG:4326) and drops the table;
the incidents' keys, events, tasks and requests stay, so an idempotency key sent again still
names its incident. Restoring loads the file into a table of its own, builds its indexes and
attaches it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from sqlalchemy import text
from sqlalchemy.orm import Session

import shapely
from pyproj import CRS

from gridmap.errors import InvalidInput, MonthExists, MonthNotFound, NotAnArchive
from gridmap.queries import partitions as q

CHINA = ZoneInfo("Asia/Shanghai")
# Months made ahead of time: this one and the next two.
AHEAD = 3
# The file's own metadata key: which table and month it holds.
META = b"gridmap"
FORMAT = "gridmap.incident_month/1"

Progress = Callable[[str, int, int], None]


def _quiet(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class Month:
    """One month of incidents: its partition (None when archived), rows, bytes on disk."""

    month: date
    table: str | None
    rows: int
    bytes: int
    archived_to: str | None = None


def parse_month(value: str) -> date:
    """``2026-05`` (or ``202605``) as the first day of that month; refuses anything else."""
    raw = value.strip()
    for pattern in ("%Y-%m", "%Y%m"):
        try:
            return datetime.strptime(raw, pattern).date()
        except ValueError:
            continue
    raise InvalidInput(f"{value[:40]!r} is not a month: write it as YYYY-MM, e.g. 2026-05")


def partition_name(month: date) -> str:
    """The partition of ``month``: ``incident_pYYYYMM``."""
    return q.name(month)


def this_month(now: datetime | None = None) -> date:
    """The month it is now in China time."""
    return (now or datetime.now(CHINA)).astimezone(CHINA).date().replace(day=1)


def ensure_months(session: Session, *, now: datetime | None = None) -> list[str]:
    """Make sure this month's partition and the next two exist, and that the default partition
    holds no month's rows (they move into partitions of their own); returns the names of the
    months ahead. The default partition is kept empty: PostgreSQL 15 can prune it from a query
    it should answer (``x IS NOT NULL AND (x < a OR x >= b)`` loses its rows)."""
    made = q.make_months(session, first=this_month(now), count=AHEAD)
    q.make_months_of(session, staged="incident_default", column="reported_at")
    return made


def months(session: Session) -> list[Month]:
    """Every month: its partition's rows and size, or the file it was archived to; the default
    partition last (month None is never listed: it shows as ``incident_default``)."""
    found: dict[date, Month] = {}
    default: Month | None = None
    for row in q.listing(session):
        rows = q.count(session, table=row.name)
        match = q.NAME.match(row.name)
        if match is None:
            default = Month(date(1, 1, 1), row.name, rows, int(row.bytes))
            continue
        month = date(int(match[1]), int(match[2]), 1)
        found[month] = Month(month, row.name, rows, int(row.bytes))
    for row in q.archived(session):
        found[row.month] = Month(row.month, None, int(row.rows), 0, archived_to=row.path)
    listed = [found[m] for m in sorted(found)]
    return listed + ([default] if default is not None else [])


def _geo_metadata(wkb: pa.Array) -> dict[str, Any]:
    points = shapely.from_wkb(np.asarray(wkb.to_numpy(zero_copy_only=False), dtype=object))
    box = [float(v) for v in shapely.total_bounds(points)] if len(points) else []
    column: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": ["Point"],
        "crs": CRS.from_epsg(4326).to_json_dict(),
    }
    if box and all(np.isfinite(box)):
        column["bbox"] = box
    return {"version": "1.0.0", "primary_column": "geom", "columns": {"geom": column}}


def archive(session: Session, *, month: date, path: Path, progress: Progress = _quiet) -> Month:
    """Detach ``month``, write it to ``path`` as GeoParquet and drop it; returns what was
    archived. Refuses a month with no partition and a path that exists."""
    month = month.replace(day=1)
    table = q.name(month)
    if not q.exists(session, table=table):
        raise MonthNotFound(
            f"no incidents of {month:%Y-%m} are stored by month: there is no partition "
            f"{table} (never made, or archived already)",
            month=f"{month:%Y-%m}",
        )
    if path.exists():
        raise InvalidInput(f"{path} exists already: archive to a new file", path=str(path))
    progress("detaching", 0, 1)
    q.detach(session, table=table)
    columns = q.columns(session)
    raw = session.connection().connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    with raw.cursor(binary=True) as cur:
        cur.execute(q.rows_as_arrow_sql(session, table=table))
        names = [c.name for c in cur.description or []]
        records = cur.fetchall()
    arrays: dict[str, pa.Array] = {}
    for i, (column, kind) in enumerate(columns):
        values = [r[i] for r in records]
        arrays[column] = pa.array(values, type=_arrow_type(kind))
    assert names == [c for c, _ in columns]
    frame = pa.table(arrays)
    lo, hi = q.bounds(session, month=month)
    meta = {
        b"geo": json.dumps(_geo_metadata(frame["geom"])).encode(),
        META: json.dumps(
            {
                "format": FORMAT,
                "table": "incident",
                "month": f"{month:%Y-%m}",
                "from": lo.isoformat(),
                "to": hi.isoformat(),
                "rows": frame.num_rows,
                "columns": dict(columns),
            }
        ).encode(),
    }
    frame = frame.replace_schema_metadata(meta)
    progress("writing", 0, frame.num_rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".part")
    pq.write_table(frame, scratch, compression="zstd")
    scratch.replace(path)
    progress("writing", frame.num_rows, frame.num_rows)
    q.drop(session, table=table)
    q.record_archive(session, month=month, path=str(path), rows=frame.num_rows)
    return Month(month, None, frame.num_rows, path.stat().st_size, archived_to=str(path))


def _arrow_type(kind: str) -> pa.DataType:
    if kind == "bigint":
        return pa.int64()
    if kind == "integer":
        return pa.int32()
    if kind == "double precision":
        return pa.float64()
    if kind.startswith("timestamp"):
        return pa.timestamp("us", tz="UTC")
    if kind.startswith("geometry"):
        return pa.binary()
    return pa.string()


def read_archive(path: Path) -> tuple[pa.Table, dict[str, Any]]:
    """The rows and gridmap metadata of an archived month; refuses a file that is not one."""
    try:
        frame = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise NotAnArchive(
            f"{path.name} is not a Parquet file of incidents ({str(exc)[:120]})", path=str(path)
        ) from None
    raw = (frame.schema.metadata or {}).get(META)
    try:
        meta = json.loads(raw) if raw else None
    except ValueError:
        meta = None
    if (
        not isinstance(meta, dict)
        or meta.get("format") != FORMAT
        or b"geo" not in (frame.schema.metadata or {})
    ):
        raise NotAnArchive(
            f"{path.name} is a Parquet file, but not a month of incidents archived by gridmap",
            path=str(path),
        )
    return frame, meta


def restore(session: Session, *, path: Path, progress: Progress = _quiet) -> Month:
    """Load an archived month from ``path`` into a table of its own, build its indexes and
    attach it. Refuses a file that is not ours, whose month exists, whose rows fall outside its
    month, or whose ids and keys clash with stored incidents; nothing is changed then."""
    frame, meta = read_archive(path)
    month = parse_month(str(meta.get("month", "")))
    table = q.name(month)
    if q.exists(session, table=table):
        raise MonthExists(
            f"the incidents of {month:%Y-%m} are stored already ({table}): archive or drop "
            "that month before restoring this file",
            month=f"{month:%Y-%m}",
        )
    columns = q.columns(session)
    if frame.column_names != [c for c, _ in columns]:
        raise NotAnArchive(
            f"{path.name} holds the columns {', '.join(frame.column_names)[:300]}, not those "
            "of today's incident table",
            path=str(path),
        )
    lo, hi = q.bounds(session, month=month)
    when = frame["reported_at"]
    if frame.num_rows and (
        when.null_count or pc.min(when).as_py() < lo or pc.max(when).as_py() >= hi
    ):
        raise NotAnArchive(
            f"{path.name} says it holds {month:%Y-%m}, but has rows reported outside that month",
            month=f"{month:%Y-%m}",
        )
    progress("checking keys", 0, 1)
    _stage_keys(session, frame)
    try:
        clashes = q.key_clashes(session, staged="_restore_key")
        if clashes:
            raise NotAnArchive(
                f"{clashes} rows of {path.name} clash with stored incidents (the same id with "
                "another key, or the same key with another id): not this database's archive",
                clashes=clashes,
            )
        session.execute(
            # Kept as SQL: the scratch table has no model.
            text(
                "INSERT INTO incident_key (id, idempotency_key, reported_at) "
                "SELECT id, idempotency_key, reported_at FROM _restore_key ON CONFLICT DO NOTHING"
            )
        )
    finally:
        # Kept as SQL: DDL.
        session.execute(text("DROP TABLE _restore_key"))
    q.create_standalone(session, table=table)
    progress("loading", 0, frame.num_rows)
    _copy(session, table, frame, columns)
    progress("loading", frame.num_rows, frame.num_rows)
    progress("building indexes", 0, 1)
    q.index_standalone(session, table=table)
    q.attach(session, table=table, lo=lo, hi=hi)
    q.forget_archive(session, month=month)
    progress("building indexes", 1, 1)
    return Month(month, table, frame.num_rows, 0)


def _stage_keys(session: Session, frame: pa.Table) -> None:
    session.execute(
        # Kept as SQL: a scratch table for the file's keys.
        text(
            "CREATE TEMP TABLE _restore_key (id bigint, idempotency_key text, "
            "reported_at timestamptz) ON COMMIT DROP"
        )
    )
    keys = frame.select(["id", "idempotency_key", "reported_at"])
    _copy_arrow(session, "COPY _restore_key FROM STDIN (FORMAT csv)", keys)


def _copy(session: Session, table: str, frame: pa.Table, columns: list[tuple[str, str]]) -> None:
    # Geometry goes back as hex EWKB with its SRID, JSON as its text.
    cells = []
    for column, kind in columns:
        values = frame[column]
        if kind.startswith("geometry"):
            shapes = shapely.from_wkb(np.asarray(values.to_pylist(), dtype=object))
            shapes = shapely.set_srid(shapes, 4326)
            values = pa.array(shapely.to_wkb(shapes, hex=True, include_srid=True), pa.string())
        cells.append(values)
    names = ", ".join(f'"{c}"' for c, _ in columns)
    _copy_arrow(
        session,
        f'COPY "{table}" ({names}) FROM STDIN (FORMAT csv)',
        pa.table(cells, names=[c for c, _ in columns]),
    )


def _copy_arrow(session: Session, sql: str, frame: pa.Table) -> None:
    raw = session.connection().connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    # Every value quoted, a null left empty: an empty text stays empty, not NULL.
    options = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
    buf = io.BytesIO()
    pa_csv.write_csv(frame, buf, options)
    with raw.cursor() as cur, cur.copy(sql) as cp:
        cp.write(buf.getbuffer())
