"""gridmap.queries.incident_import: the SQL of bulk incident imports: the rows of each month
by ``COPY`` (a month with no rows yet into a table of its own, indexed and attached as its
partition), the keys in ``incident_key``, the keys already stored, community shapes, and
reassignment.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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
from gridmap.models import Incident, IncidentKey, Region
from gridmap.queries import partitions
from gridmap.vocab.states import DONE

# Memory for building a month's indexes.
REBUILD_MEMORY = "512MB"
COPY_ROWS = 50_000
# A file of at least this many rows, and as many as the keys stored, builds the keys' unique
# index again instead of adding to it.
REBUILD_ROWS = 50_000
KEY_UNIQUE = "incident_idempotency_key_key"
_i = cast(Table, Incident.__table__)
_k = cast(Table, IncidentKey.__table__)
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


def _csv(table: pa.Table) -> tuple[int, memoryview]:
    """``table`` as COPY's CSV: Arrow writes strings quoted and nulls as nothing, which COPY
    reads back as text and NULL, with tabs, quotes and line breaks inside the text kept."""
    buf = io.BytesIO()
    pa_csv.write_csv(table, buf, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
    return table.num_rows, buf.getbuffer()


def _copy_csv(
    session: Session,
    sql: str,
    tables: Iterable[pa.Table | Future[tuple[int, memoryview]]],
    *,
    done: Callable[[int], None] | None = None,
) -> None:
    # Each part is handed to a sending thread, so the server parses one while the next is
    # built; a part may be built already by another thread (a future).
    raw = session.connection().connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    with raw.cursor() as cur, cur.copy(sql, writer=QueuedLibpqWriter(cur)) as cp:
        for table in tables:
            rows, data = table.result() if isinstance(table, Future) else _csv(table)
            cp.write(data)
            if done is not None:
                done(rows)


def _text(values: Any, order: np.ndarray | None = None) -> pa.Array:
    # Empty means "not given": NULL in the table. A pandas column backed by Arrow is taken
    # as it is (no Python strings made); ``order`` picks and orders the rows.
    if isinstance(values, pd.Series):
        arr = pa.array(values, type=pa.string(), from_pandas=True)
    else:
        arr = pa.array(np.asarray(values, dtype=object), type=pa.string())
    if order is not None:
        arr = arr.take(pa.array(order))
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def _existing_keys(session: Session, keys: pd.Series) -> set[str]:
    given = keys[keys != ""]
    if given.empty or not session.execute(select(exists().select_from(_k))).scalar():
        return set()
    # Kept as SQL: a scratch table for the file's keys, filled by COPY and joined once.
    session.execute(text("CREATE TEMP TABLE _incident_key (k text) ON COMMIT DROP"))
    _copy_csv(
        session, "COPY _incident_key FROM STDIN (FORMAT csv)", [pa.table({"k": _text(given)})]
    )
    found = session.execute(
        # Kept as SQL: the scratch table has no model. incident_key holds the keys of every
        # incident, of archived months too.
        text("SELECT k FROM _incident_key JOIN incident_key ON idempotency_key = k")
    ).scalars()
    result = set(found)
    # Kept as SQL: DDL.
    session.execute(text("DROP TABLE _incident_key"))
    return result


def _keys_held(session: Session) -> int:
    """About how many keys ``incident_key`` holds (the planner's count: no scan)."""
    held: int = session.execute(
        # Kept as SQL: the system catalogs.
        text(
            "SELECT greatest(reltuples, 0)::bigint FROM pg_class "
            "WHERE oid = 'incident_key'::regclass"
        )
    ).scalar_one()
    return held


def _reserve_ids(session: Session, n: int) -> int:
    """The first of ``n`` consecutive incident ids taken from ``incident_id_seq`` at once (the
    table lock held keeps single reports from taking one in between)."""
    last: int = session.execute(
        # Kept as SQL: a block of a sequence in one call.
        text("SELECT setval('incident_id_seq', nextval('incident_id_seq') + :n - 1)"),
        {"n": n},
    ).scalar_one()
    return last - n + 1


def _parts(table: pa.Table) -> Iterator[pa.Table]:
    """``table`` in slices of ``COPY_ROWS`` rows (zero-copy)."""
    for start in range(0, table.num_rows, COPY_ROWS):
        yield table.slice(start, COPY_ROWS)


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
    """Write the new rows month by month (``owner``: who holds each, "" for no one); returns
    how many were written.

    The rows are turned into one Arrow table once, in the order they are written (by month,
    then place), and each month is a slice of it. A month with no partition yet is loaded as a
    table of its own (``COPY … FREEZE``, then its indexes, then a CHECK of its bounds) and
    attached as that month's partition: no index is updated row by row, no trigger runs per
    row, attaching scans nothing and the rows need no later freezing. A month that has a
    partition gets the COPY into it. The keys go into ``incident_key`` in one COPY, in key
    order with the ids taken in that order, so both of its B-trees are filled from one end.
    """
    n = len(frame)
    # Intake waits while a file goes in (reads do not): the keys checked below stay unused.
    # Kept as SQL: an explicit table lock (DDL-like; Core has no LOCK).
    session.execute(text("LOCK TABLE incident IN SHARE ROW EXCLUSIVE MODE"))
    existing = _existing_keys(session, keys)
    keep = ~keys.isin(existing).to_numpy() if existing else np.ones(n, dtype=bool)
    if not keep.any():
        return 0
    reported = (
        when.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]").copy()
    )
    reported[np.isnat(reported)] = np.datetime64(pd.Timestamp.now(tz="UTC").tz_localize(None), "us")
    # The month in China time (UTC+8 all year) names the partition.
    month = (reported + np.timedelta64(8, "h")).astype("datetime64[M]")
    # By month, then rows near each other written together: the indexes built on a month
    # read their keys nearly in order.
    order = np.lexsort((lon, community, grid_code, month))
    order = order[keep[order]]
    total = len(order)
    key = _text(keys, order)
    at = pa.array(reported[order], type=pa.timestamp("us", tz="UTC"))
    # Ids follow the keys' order (rows without a key last, as NULLs sort in the unique index).
    by_key = pc.array_sort_indices(key, null_placement="at_end").to_numpy()
    first = _reserve_ids(session, total)
    ids = np.empty(total, dtype=np.int64)
    ids[by_key] = first + np.arange(total, dtype=np.int64)
    columns = {
        **{c: frame[c] for c in COLUMNS if c not in ("idempotency_key", "reported_at")},
        "grid_code": grid_code,
        "community_code": community,
        **({} if owner is None else {"owner_code": owner}),
    }
    place = _text(community, order)
    hexes = point_hex_ewkb(lon[order], lat[order])
    rows = pa.table(
        {
            "id": pa.array(ids),
            "idempotency_key": key,
            **{name: _text(values, order) for name, values in columns.items()},
            "street_code": pc.utf8_slice_codeunits(place, 0, 9),
            "reported_at": at,
            "crs_in": pa.repeat(pa.scalar(crs), total),
            "geom": pa.StringArray.from_buffers(
                total,
                pa.py_buffer(np.arange(0, 50 * (total + 1), 50, dtype=np.int32)),
                pa.py_buffer(hexes),
            ),
        }
    )
    written = 0

    def sent(count: int) -> None:
        nonlocal written
        written += count
        progress("writing", written, total)

    copy = f"({', '.join(rows.column_names)}) FROM STDIN (FORMAT csv"
    # Kept as SQL: a session setting for the index builds.
    session.execute(text(f"SET LOCAL maintenance_work_mem = '{REBUILD_MEMORY}'"))
    sorted_months = month[order]
    months, starts = np.unique(sorted_months, return_index=True)
    ends = [*starts[1:], total]
    # A thread writes every month's CSV ahead (Arrow lets go of the GIL), so the text of the
    # first month is made while the keys go in, and of the next month while the server builds
    # this month's indexes.
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        texts = [
            [pool.submit(_csv, t) for t in _parts(rows.slice(int(lo), int(hi - lo)))]
            for lo, hi in zip(starts, ends, strict=True)
        ]
        _write_keys(session, ids=ids, key=key, at=at, by_key=by_key)
        partitions.keys_kept(session)
        # As many unfinished incidents as incident_open holds, or more: its indexes are built
        # again after the months are written instead of being updated row by row.
        status = frame["status"].to_numpy(dtype=str)[order]
        opened = int(np.count_nonzero(~np.isin(status, DONE)))
        rebuilt = (
            _drop_open_indexes(session)
            if opened >= REBUILD_ROWS and opened >= partitions.count(session, table="incident_open")
            else []
        )
        _write_months(session, months=months, texts=texts, copy=copy, sent=sent, progress=progress)
        if rebuilt:
            progress("building indexes", 0, 1)
            for statement in rebuilt:
                session.execute(text(statement))
            progress("building indexes", 1, 1)
    finally:
        # On a failure the parts not yet written are not written at all.
        pool.shutdown(wait=True, cancel_futures=True)
    partitions.keys_kept(session, kept=False)
    partitions.bump_tiles(session)
    return total


def _drop_open_indexes(session: Session) -> list[str]:
    """Drop ``incident_open``'s indexes but its primary key; the statements that make them."""
    # Kept as SQL: the system catalogs, read to write DDL.
    made = session.execute(
        text(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'incident_open'::regclass "
            "AND NOT i.indisprimary ORDER BY c.relname"
        )
    ).all()
    for name, _ in made:
        # Kept as SQL: DDL.
        session.execute(text(f'DROP INDEX "{name}"'))
    return [definition for _, definition in made]


def _write_keys(
    session: Session, *, ids: np.ndarray, key: pa.Array, at: pa.Array, by_key: np.ndarray
) -> None:
    """COPY the keys into ``incident_key`` in key order (``by_key``)."""
    total = len(ids)
    # A file at least as large as the keys stored: the unique index of the keys is built again
    # after the COPY (from keys in order) instead of being updated key by key.
    rebuild = total >= REBUILD_ROWS and total >= _keys_held(session)
    if rebuild:
        # Kept as SQL: DDL.
        session.execute(text(f"ALTER TABLE incident_key DROP CONSTRAINT {KEY_UNIQUE}"))
    _copy_csv(
        session,
        "COPY incident_key (id, idempotency_key, reported_at) FROM STDIN (FORMAT csv)",
        _parts(
            pa.table(
                {
                    "id": pa.array(ids[by_key]),
                    "k": key.take(pa.array(by_key)),
                    "at": at.take(pa.array(by_key)),
                }
            )
        ),
    )
    if rebuild:
        # Kept as SQL: DDL, the constraint as migration 0016 made it.
        session.execute(
            text(f"ALTER TABLE incident_key ADD CONSTRAINT {KEY_UNIQUE} UNIQUE (idempotency_key)")
        )


def _write_months(
    session: Session,
    *,
    months: np.ndarray,
    texts: list[list[Future[tuple[int, memoryview]]]],
    copy: str,
    sent: Callable[[int], None],
    progress: Callable[[str, int, int], None],
) -> None:
    """COPY each month's parts into its partition, or into a table of its own then indexed and
    attached."""
    for m, part in zip(months, texts, strict=True):
        first_day = pd.Timestamp(m).date()
        table = partitions.name(first_day)
        if partitions.exists(session, table=table):
            # Detaching (even an empty month) would lock readers out until the commit.
            _copy_csv(session, f'COPY "{table}" {copy})', part, done=sent)
            continue
        partitions.create_standalone(session, table=table)
        # Made in this transaction: its rows can be written frozen.
        _copy_csv(session, f'COPY "{table}" {copy}, FREEZE)', part, done=sent)
        progress("building indexes", 0, 1)
        partitions.index_standalone(session, table=table)
        lo, hi = partitions.bounds(session, month=first_day)
        partitions.attach(session, table=table, lo=lo, hi=hi)
        progress("building indexes", 1, 1)
        # The month's text is sent: its memory goes.
        part.clear()


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
