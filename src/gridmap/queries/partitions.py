"""gridmap.queries.partitions: the SQL of incidents' month partitions: make, list, detach,
load a standalone month and attach it, the archive log."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from gridmap.models import IncidentArchive, IncidentOpen, TileVersion
from gridmap.vocab.states import DONE, sql_list

_a = cast(Table, IncidentArchive.__table__)
_open = cast(Table, IncidentOpen.__table__)
_tile_version = cast(Table, TileVersion.__table__)

# Partitions are named for their month: incident_p202605.
NAME = re.compile(r"^incident_p(\d{4})(\d{2})$")

DB = Session | Connection


def name(month: date) -> str:
    """The partition of ``month``: ``incident_pYYYYMM``."""
    return f"incident_p{month.year:04d}{month.month:02d}"


def make_month(db: DB, *, month: date) -> str:
    """Create ``month``'s partition when missing (rows of it waiting in the default partition
    move in); returns its name."""
    made: str = db.execute(
        select(func.gridmap_incident_month(month)),
    ).scalar_one()
    return made


def make_months(db: DB, *, first: date, count: int) -> list[str]:
    """Create ``count`` months' partitions from ``first`` on, when missing."""
    return list(
        db.execute(
            # Kept as SQL: a series of months, each made by the database function.
            text(
                "SELECT gridmap_incident_month((date_trunc('month', CAST(:first AS date)) "
                "+ n * interval '1 month')::date) FROM generate_series(0, :count - 1) AS n"
            ),
            {"first": first, "count": count},
        ).scalars()
    )


def make_months_of(db: DB, *, staged: str, column: str) -> None:
    """Create the partition of every month (China time) that ``column`` of the scratch table
    ``staged`` holds."""
    db.execute(
        # Kept as SQL: the scratch table has no model.
        text(
            "SELECT gridmap_incident_month(m) FROM (SELECT DISTINCT "
            f"(({column}) AT TIME ZONE 'Asia/Shanghai')::date AS m FROM {staged} "
            f"WHERE {column} IS NOT NULL) AS months ORDER BY m"
        )
    )


def bounds(db: DB, *, month: date) -> tuple[Any, Any]:
    """The first instant of ``month`` in China time and of the month after."""
    row = db.execute(
        # Kept as SQL: time zone arithmetic as the partitions' bounds are made.
        text(
            "SELECT CAST(:m AS timestamp) AT TIME ZONE 'Asia/Shanghai', "
            "(CAST(:m AS timestamp) + interval '1 month') AT TIME ZONE 'Asia/Shanghai'"
        ),
        {"m": month.replace(day=1)},
    ).one()
    return row[0], row[1]


def listing(db: DB) -> list[Any]:
    """Every partition of ``incident``: ``name``, ``bound`` (its FOR VALUES text), ``rows``,
    ``bytes`` (table and indexes), in name order."""
    return list(
        db.execute(
            # Kept as SQL: the system catalogs; one count per partition.
            text(
                "SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound, "
                "pg_total_relation_size(c.oid) AS bytes FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'incident'::regclass ORDER BY c.relname"
            )
        ).all()
    )


def count(db: DB, *, table: str) -> int:
    """How many rows ``table`` (a partition) holds."""
    # Kept as SQL: a partition by name has no model.
    n: int = db.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
    return n


def exists(db: DB, *, table: str) -> bool:
    """Whether ``table`` is a partition of ``incident``."""
    found: bool = db.execute(
        # Kept as SQL: the system catalogs.
        text(
            "SELECT EXISTS (SELECT FROM pg_inherits WHERE inhparent = 'incident'::regclass "
            "AND inhrelid = to_regclass(:t))"
        ),
        {"t": table},
    ).scalar_one()
    return found


def columns(db: DB) -> list[tuple[str, str]]:
    """``incident``'s columns in table order: name and type."""
    return [
        (r[0], r[1])
        for r in db.execute(
            # Kept as SQL: the system catalogs.
            text(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = 'incident'::regclass AND attnum > 0 AND NOT attisdropped "
                "ORDER BY attnum"
            )
        ).all()
    ]


def detach(db: DB, *, table: str) -> None:
    """Detach ``table`` from ``incident`` (it stays as a table of its own)."""
    # Kept as SQL: DDL.
    db.execute(text(f'ALTER TABLE incident DETACH PARTITION "{table}"'))
    # Kept as SQL: the detached month's table by name; its open incidents leave the open list.
    gone = f'SELECT FROM "{table}" t WHERE t.id = o.id'
    db.execute(text(f"DELETE FROM incident_open o WHERE EXISTS ({gone})"))
    bump_tiles(db)


def drop(db: DB, *, table: str) -> None:
    """Drop a detached month's table."""
    # Kept as SQL: DDL.
    db.execute(text(f'DROP TABLE "{table}"'))


def rows_as_arrow_sql(db: DB, *, table: str) -> str:
    """The SELECT that reads a month's table with JSON as text and geometry as ISO WKB."""
    out = []
    for column, kind in columns(db):
        if kind == "jsonb":
            out.append(f'"{column}"::text AS "{column}"')
        elif kind.startswith("geometry"):
            out.append(f'ST_AsBinary("{column}") AS "{column}"')
        else:
            out.append(f'"{column}"')
    return f'SELECT {", ".join(out)} FROM "{table}" ORDER BY id'


def create_standalone(db: DB, *, table: str) -> None:
    """A table shaped like ``incident`` (its defaults and checks), not attached."""
    # Kept as SQL: DDL.
    db.execute(
        text(f'CREATE TABLE "{table}" (LIKE incident INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
    )


def index_standalone(db: DB, *, table: str) -> None:
    """Build on ``table`` the primary key and every index ``incident`` has, so that attaching
    it adopts them instead of building them again."""
    # Kept as SQL: DDL.
    db.execute(text(f'ALTER TABLE "{table}" ADD PRIMARY KEY (id, reported_at)'))
    for index, definition in db.execute(
        # Kept as SQL: the system catalogs, read to write DDL.
        text(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'incident'::regclass "
            "AND NOT i.indisprimary ORDER BY c.relname"
        )
    ).all():
        own = f"{table}_{index.removeprefix('incident_')}"
        statement = re.sub(
            r"^CREATE INDEX \S+ ON ONLY (public\.)?incident ",
            f'CREATE INDEX "{own}" ON "{table}" ',
            definition,
        )
        db.execute(text(statement))


def attach(db: DB, *, table: str, lo: Any, hi: Any) -> None:
    """Attach ``table`` as the month ``[lo, hi)``: a CHECK of the bounds first, so attaching
    does not scan it; the CHECK is dropped after."""
    check = f"{table}_month"
    db.execute(
        # Kept as SQL: DDL.
        text(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{check}" '
            f"CHECK (reported_at >= '{lo.isoformat()}' AND reported_at < '{hi.isoformat()}')"
        )
    )
    db.execute(
        # Kept as SQL: DDL.
        text(
            f'ALTER TABLE incident ATTACH PARTITION "{table}" '
            f"FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')"
        )
    )
    db.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{check}"'))
    # Its rows came in without incident's row triggers: its open incidents join the open list.
    # No other row of the month can be there (attaching refuses a month the default partition
    # holds rows of), so they are added, not synced.
    columns = ", ".join(c.name for c in _open.columns)
    db.execute(
        # Kept as SQL: a partition by name has no model.
        text(
            f'INSERT INTO incident_open ({columns}) SELECT {columns} FROM "{table}" '
            f"WHERE status NOT IN {sql_list(DONE)}"
        )
    )
    bump_tiles(db)


def bump_tiles(db: DB) -> None:
    """Move the incident tiles' version: attaching, detaching and writing into a partition
    directly fire no statement trigger of ``incident``."""
    db.execute(
        update(_tile_version)
        .where(_tile_version.c.name == "tiles_incidents_version")
        .values(version=_tile_version.c.version + 1)
    )


def keys_kept(db: DB, *, kept: bool = True) -> None:
    """Tell ``incident``'s key triggers that this transaction writes ``incident_key`` itself
    (``kept=False``: no longer, the triggers keep it again)."""
    db.execute(select(func.set_config("gridmap.keys", "kept" if kept else "", True)))


def archived(db: DB) -> list[Any]:
    """The archived months: ``month``, ``path``, ``rows``, ``archived_at``."""
    return list(db.execute(select(_a).order_by(_a.c.month)).all())


def record_archive(db: DB, *, month: date, path: str, rows: int) -> None:
    """Log ``month`` as archived to ``path``."""
    db.execute(insert(_a).values(month=month, path=path, rows=rows))


def forget_archive(db: DB, *, month: date) -> None:
    """``month`` is attached again."""
    db.execute(delete(_a).where(_a.c.month == month))


def key_clashes(db: DB, *, staged: str) -> int:
    """How many rows of the scratch table ``staged`` (``id``, ``idempotency_key``) clash with
    ``incident_key``: the id stored with another key, or the key with another id."""
    n: int = db.execute(
        # Kept as SQL: the scratch table has no model.
        text(
            f"SELECT count(*) FROM {staged} s JOIN incident_key k "
            "ON k.id = s.id OR k.idempotency_key = s.idempotency_key "
            "WHERE k.id <> s.id OR k.idempotency_key IS DISTINCT FROM s.idempotency_key"
        )
    ).scalar_one()
    return n
