"""gridmap.queries.incident_import: the SQL of bulk incident imports: one ``COPY`` straight
into ``incident`` (a file as large as the table has the table's secondary indexes dropped
before and built again after), the keys already stored, community shapes, and reassignment.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Table, bindparam, exists, func, select, text, update
from sqlalchemy.orm import Session

from gridmap.geo.ewkb import point_hex_ewkb
from gridmap.models import Incident, Region

# Imports at least this large, and at least as large as the table, rebuild its indexes.
REBUILD_MIN_ROWS = 50_000
REBUILD_MEMORY = "512MB"
COPY_ROWS = 50_000
_i = cast(Table, Incident.__table__)
_r = cast(Table, Region.__table__)

COLUMNS = (
    "category",
    "severity",
    "description",
    "reported_at",
    "status",
    "idempotency_key",
    "reporter_name",
    "reporter_phone",
)


def _copy_csv(session: Session, sql: str, tables: Iterable[pa.Table]) -> None:
    # Arrow writes strings quoted and nulls as nothing: COPY's CSV format reads those back as
    # text and NULL, with tabs, quotes and line breaks inside the text kept as they were. Each
    # part is handed to a sending thread, so the server parses one while the next is built.
    raw = session.connection().connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    with raw.cursor() as cur, cur.copy(sql, writer=QueuedLibpqWriter(cur)) as cp:
        for table in tables:
            buf = io.BytesIO()
            pa_csv.write_csv(table, buf, options)
            cp.write(buf.getbuffer())


def _text(values: Any) -> pa.Array:
    # Empty means "not given": NULL in the table.
    arr = pa.array(np.asarray(values, dtype=object), type=pa.string())
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def _existing_keys(session: Session, keys: pd.Series) -> set[str]:
    given = keys[keys != ""]
    if given.empty or not session.execute(select(exists().select_from(_i))).scalar():
        return set()
    # Kept as SQL: a scratch table for the file's keys, filled by COPY and joined once.
    session.execute(text("CREATE TEMP TABLE _incident_key (k text) ON COMMIT DROP"))
    _copy_csv(
        session, "COPY _incident_key FROM STDIN (FORMAT csv)", [pa.table({"k": _text(given)})]
    )
    found = session.execute(
        # Kept as SQL: the scratch table has no model.
        text("SELECT k FROM _incident_key JOIN incident ON idempotency_key = k")
    ).scalars()
    result = set(found)
    # Kept as SQL: DDL.
    session.execute(text("DROP TABLE _incident_key"))
    return result


def _secondary_indexes(session: Session) -> tuple[list[str], list[str]]:
    """Statements that drop and re-create ``incident``'s indexes and checks, not its primary key.

    Unique and foreign-key constraints go with them: their row-by-row checks cost as much as an
    index, and adding them back checks every row at once.
    """
    drop, create = [], []
    for name, definition in session.execute(
        # Kept as SQL: the system catalogs, read to write DDL.
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'incident'::regclass AND contype IN ('u', 'f') ORDER BY contype DESC"
        )
    ).all():
        drop.append(f'ALTER TABLE incident DROP CONSTRAINT "{name}"')
        create.append(f'ALTER TABLE incident ADD CONSTRAINT "{name}" {definition}')
    for name, definition in session.execute(
        # Kept as SQL: the system catalogs, read to write DDL.
        text(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'incident'::regclass "
            "AND NOT i.indisprimary AND NOT EXISTS "
            "(SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
        )
    ).all():
        drop.append(f'DROP INDEX "{name}"')
        create.append(definition)
    return drop, create


def write(
    session: Session,
    frame: pd.DataFrame,
    *,
    keys: pd.Series,
    when: pd.Series,
    grid_code: np.ndarray,
    community: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    crs: str,
    progress: Callable[[str, int, int], None],
    owner: np.ndarray | None = None,
) -> int:
    """COPY the new rows straight into ``incident`` (``owner``: who holds each, "" for no
    one); returns how many were written."""
    n = len(frame)
    # Intake waits while a file goes in (reads do not): the keys checked below stay unused.
    estimate = session.execute(
        # Kept as SQL: the planner's row estimate from the system catalog.
        text("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'incident'::regclass")
    ).scalar_one()
    rebuild = n >= REBUILD_MIN_ROWS and n >= estimate
    # A file as large as the table: dropping its indexes and building them again afterwards is
    # several times faster than updating them row by row (PostgreSQL manual, "Populating a
    # Database"); readers then wait for the import as well.
    mode = "ACCESS EXCLUSIVE" if rebuild else "SHARE ROW EXCLUSIVE"
    # Kept as SQL: an explicit table lock (DDL-like; Core has no LOCK).
    session.execute(text(f"LOCK TABLE incident IN {mode} MODE"))
    existing = _existing_keys(session, keys)
    keep = ~keys.isin(existing).to_numpy() if existing else np.ones(n, dtype=bool)
    if not keep.any():
        return 0
    # Rows near each other written together: the GiST and B-tree pages stay in cache.
    order = np.lexsort((lon, community, grid_code))
    order = order[keep[order]]
    reported = (
        when.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]").copy()
    )
    reported[np.isnat(reported)] = np.datetime64(pd.Timestamp.now(tz="UTC").tz_localize(None), "us")
    columns = {
        "idempotency_key": keys.to_numpy(),
        **{c: frame[c].to_numpy() for c in COLUMNS if c not in ("idempotency_key", "reported_at")},
        "grid_code": grid_code,
        "community_code": community,
        **({} if owner is None else {"owner_code": owner}),
    }

    def parts() -> Iterator[pa.Table]:
        for start in range(0, len(order), COPY_ROWS):
            rows = order[start : start + COPY_ROWS]
            hexes = point_hex_ewkb(lon[rows], lat[rows])
            table = pa.table(
                {
                    **{name: _text(values[rows]) for name, values in columns.items()},
                    "street_code": pc.utf8_slice_codeunits(_text(community[rows]), 0, 9),
                    "reported_at": pa.array(reported[rows], type=pa.timestamp("us", tz="UTC")),
                    "crs_in": pa.repeat(pa.scalar(crs), len(rows)),
                    "geom": pa.StringArray.from_buffers(
                        len(rows),
                        pa.py_buffer(np.arange(0, 50 * (len(rows) + 1), 50, dtype=np.int32)),
                        pa.py_buffer(hexes),
                    ),
                }
            )
            yield table
            progress("writing", start + len(rows), len(order))

    names = [*columns, "street_code", "reported_at", "crs_in", "geom"]
    drop, create = _secondary_indexes(session) if rebuild else ([], [])
    for statement in drop:
        # Kept as SQL: DDL read back from the catalogs.
        session.execute(text(statement))
    _copy_csv(session, f"COPY incident ({', '.join(names)}) FROM STDIN (FORMAT csv)", parts())
    if create:
        # Kept as SQL: a session setting for the index builds.
        session.execute(text(f"SET LOCAL maintenance_work_mem = '{REBUILD_MEMORY}'"))
        for done, statement in enumerate(create, start=1):
            progress("building indexes", done - 1, len(create))
            # Kept as SQL: DDL read back from the catalogs.
            session.execute(text(statement))
        progress("building indexes", len(create), len(create))
    return len(order)


def community_shapes(session: Session) -> list[Any]:
    """Every community with a boundary: ``code`` and ``wkb``, in code order."""
    return list(
        session.execute(
            select(_r.c.code, func.ST_AsBinary(_r.c.geom).label("wkb"))
            .where(_r.c.level == "community", _r.c.geom.is_not(None))
            .order_by(_r.c.code)
        ).all()
    )


def points_since(session: Session, *, since: Any) -> list[Any]:
    """Incidents reported since ``since``: ``id``, ``grid_code``, ``lon``, ``lat``."""
    return list(
        session.execute(
            select(
                _i.c.id,
                _i.c.grid_code,
                func.ST_X(_i.c.geom).label("lon"),
                func.ST_Y(_i.c.geom).label("lat"),
            )
            .where(_i.c.reported_at >= since)
            .order_by(_i.c.id)
        ).all()
    )


def move_incidents(session: Session, *, moves: list[dict[str, Any]], actor: str) -> None:
    """Give each incident of ``moves`` (``id``, ``old``, ``new``, ``community``) its new grid,
    community and street, and a ``reassign`` event by ``actor``."""
    session.execute(
        update(_i)
        .where(_i.c.id == bindparam("key"))
        .values(
            grid_code=bindparam("new"),
            community_code=bindparam("community"),
            street_code=bindparam("street"),
            distance_to_grid_m=None,
        ),
        [
            {"key": m["id"], "new": m["new"], "community": m["community"]}
            | {"street": m["community"][:9]}
            for m in moves
        ],
    )
    session.execute(
        # Kept as SQL: one INSERT … SELECT per move (sent as one batch), the event's seq and
        # status read from the incident's own rows.
        text(
            "INSERT INTO incident_event (incident_id, seq, action, from_status, to_status, "
            "actor, at, note) SELECT i.id, (SELECT max(seq) FROM incident_event e "
            "WHERE e.incident_id = i.id) + 1, 'reassign', i.status, i.status, :actor, "
            "clock_timestamp(), 'grid ' || coalesce(:old, 'none') || ' → ' || :new "
            "FROM incident i WHERE i.id = :id"
        ),
        [{"id": m["id"], "old": m["old"], "new": m["new"], "actor": actor} for m in moves],
    )
