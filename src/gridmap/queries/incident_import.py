"""gridmap.queries.incident_import: historical incidents from CSV/GeoJSON, all or nothing.

Rows are checked together (vectorised), assigned to grids with the bulk path
(:class:`gridmap.assign.GridSet`, the border rule included; a point in no grid goes to the
community holding it), and written with one ``COPY`` straight into ``incident``; a file as large
as the table has the table's secondary indexes dropped before and built again after. Any bad row
and nothing is written; the answer lists the bad rows. Rows whose ``idempotency_key`` is already
stored are skipped, so importing the same file twice adds nothing.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
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

import shapely

from gridmap.assign import LAT_NAMES, LON_NAMES, GridSet
from gridmap.auth import Principal
from gridmap.errors import Forbidden, InvalidInput
from gridmap.geo.chinacrs import CHINA_BOUNDS
from gridmap.geo.crs import normalize_crs, to_wgs84_array
from gridmap.geo.ewkb import point_hex_ewkb
from gridmap.geo.pip import PointIndex
from gridmap.models import Incident, Region
from gridmap.queries import audit
from gridmap.queries.incidents import active_categories
from gridmap.vocab.kinds import SEVERITIES
from gridmap.vocab.roles import IMPORTERS
from gridmap.vocab.states import INCIDENT_STATES

MAX_ERRORS_LISTED = 200
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


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or GeoJSON file of incidents as a table with ``x`` and ``y`` columns."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, engine="pyarrow")
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read {path.name} as UTF-8 CSV: {exc}") from exc
        frame.columns = [str(c).lstrip("\ufeff") for c in frame.columns]
        lower = {c.strip().lower(): c for c in frame.columns}
        lon = next((lower[n] for n in LON_NAMES if n in lower), None)
        lat = next((lower[n] for n in LAT_NAMES if n in lower), None)
        if lon is None or lat is None:
            raise InvalidInput(
                f"cannot tell which columns hold longitude and latitude in {path.name} "
                f"(columns: {', '.join(frame.columns)})"
            )
        frame["x"] = pd.to_numeric(frame[lon], errors="coerce")
        frame["y"] = pd.to_numeric(frame[lat], errors="coerce")
        return frame
    if suffix in (".geojson", ".json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        feats: Any = data.get("features") if isinstance(data, dict) else None
        if not isinstance(feats, list):
            raise InvalidInput(f"{path.name} is not a GeoJSON FeatureCollection")
        rows = []
        for f in feats:
            g = (f or {}).get("geometry") or {}
            c: Any = g.get("coordinates") if g.get("type") == "Point" else None
            ok = isinstance(c, list) and len(c) >= 2
            rows.append(
                {
                    **((f or {}).get("properties") or {}),
                    "x": c[0] if ok else None,
                    "y": c[1] if ok else None,
                }
            )
        frame = pd.DataFrame(rows)
        for col in ("x", "y"):
            frame[col] = pd.to_numeric(frame.get(col), errors="coerce")
        return frame.astype({c: str for c in frame.columns if c not in ("x", "y")})
    raise InvalidInput(f"cannot read {path.name}: give a .csv or a .geojson of incidents")


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


def _write(
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
) -> int:
    """COPY the new rows straight into ``incident``; returns how many were written."""
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


def import_incidents(
    session: Session,
    frame: pd.DataFrame,
    *,
    crs: str,
    principal: Principal,
    commit: bool,
    source: str,
    timezone: str,
    progress: Callable[[str, int, int], None] = lambda _step, _done, _total: None,
) -> dict[str, Any]:
    """Check, assign and (with ``commit``) write a table of incidents; returns the report.

    ``progress(step, done, total)`` is told each step and, while writing, the rows sent.
    """
    if not principal.authenticated or principal.role not in IMPORTERS:
        raise Forbidden("importing incidents needs an admin, district or street token")
    crs = normalize_crs(crs)
    n = len(frame)
    for col in COLUMNS:
        if col not in frame.columns:
            frame[col] = ""
        frame[col] = frame[col].fillna("").astype(str).str.strip()
    frame.loc[frame["severity"] == "", "severity"] = "general"
    frame.loc[frame["status"] == "", "status"] = "reported"
    progress("checking rows", 0, n)
    errors: dict[int, list[str]] = {}

    def flag(mask: np.ndarray, message: str) -> None:
        for i in np.flatnonzero(mask)[: MAX_ERRORS_LISTED * 5]:
            errors.setdefault(int(i), []).append(message)

    x, y = frame["x"].to_numpy(dtype=float), frame["y"].to_numpy(dtype=float)
    finite = np.isfinite(x) & np.isfinite(y)
    flag(~finite, "coordinates missing or not numbers")
    lon, lat = to_wgs84_array(np.where(finite, x, 0), np.where(finite, y, 0), crs)
    west, south, east, north = CHINA_BOUNDS
    flag(
        finite & ~((lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)),
        "outside China (lon and lat swapped?)",
    )
    known = set(active_categories(session))
    flag(~frame["category"].isin(known).to_numpy(), "unknown category")
    flag(~frame["severity"].isin(SEVERITIES).to_numpy(), "severity is not general/important/urgent")
    flag(~frame["status"].isin(INCIDENT_STATES).to_numpy(), "unknown status")
    when = pd.to_datetime(
        frame["reported_at"].where(frame["reported_at"] != ""),
        errors="coerce",
        utc=False,
        format="ISO8601",
    )
    flag(((frame["reported_at"] != "") & when.isna()).to_numpy(), "reported_at is not ISO 8601")
    if when.dt.tz is None:
        when = when.dt.tz_localize(timezone)
    phone_bad = (frame["reporter_phone"] != "") & ~frame["reporter_phone"].str.fullmatch(
        r"[0-9+ -]{5,20}"
    )
    flag(phone_bad.to_numpy(), "reporter_phone is not a phone number")
    keys = frame["idempotency_key"]
    flag((keys.str.len() > 128).to_numpy(), "idempotency_key longer than 128")
    dup = (keys != "") & keys.duplicated(keep=False)
    flag(dup.to_numpy(), "idempotency_key repeated in the file")
    report: dict[str, Any] = {"source": source, "rows": n, "crs": crs, "committed": False}
    if errors:
        report["errors"] = [
            {"row": i + 2 if source.lower().endswith(".csv") else i + 1, "problems": p}
            for i, p in sorted(errors.items())[:MAX_ERRORS_LISTED]
        ]
        report["rows_with_errors"] = len(errors)
        return report

    progress("assigning grids", 0, n)
    grids = GridSet.load(session)
    found = grids.assign(lon, lat)
    grid_code = np.where(found >= 0, grids.codes[np.maximum(found, 0)], "")
    community = np.where(found >= 0, grids.communities[np.maximum(found, 0)], "")
    outside = np.flatnonzero(found < 0)
    if len(outside):
        rows = session.execute(
            select(_r.c.code, func.ST_AsBinary(_r.c.geom).label("wkb"))
            .where(_r.c.level == "community", _r.c.geom.is_not(None))
            .order_by(_r.c.code)
        ).all()
        if rows:
            index = PointIndex(list(shapely.from_wkb([bytes(r.wkb) for r in rows])))
            codes = np.array([r.code for r in rows])
            hit = index.locate(lon[outside], lat[outside])
            # In no community either: the nearest one's queue, as for a single report.
            far = np.flatnonzero(hit < 0)
            if len(far):
                near = index.tree.query_nearest(
                    shapely.points(lon[outside][far], lat[outside][far]), all_matches=False
                )
                hit[far[near[0]]] = near[1]
            community[outside] = codes[hit]
    report.update(in_grid=int((found >= 0).sum()), outside_grids=int((found < 0).sum()))
    if not commit:
        return report

    progress("writing", 0, n)
    inserted = _write(
        session,
        frame,
        progress=progress,
        keys=keys,
        when=when,
        grid_code=grid_code,
        community=community,
        lon=lon,
        lat=lat,
        crs=crs,
    )
    # One entry for the whole file: imported history is not a step anyone took in gridmap.
    audit.record(
        session,
        principal.actor,
        "import",
        "incident",
        source,
        after={"rows": n, "inserted": int(inserted), "in_grid": report["in_grid"]},
    )
    report.update(committed=True, inserted=int(inserted), skipped_existing=n - int(inserted))
    return report


def reassign(session: Session, *, since: Any, principal: Principal, commit: bool) -> dict[str, Any]:
    """Re-attribute incidents reported since ``since`` to today's grids (only when asked)."""
    rows = session.execute(
        select(
            _i.c.id,
            _i.c.grid_code,
            func.ST_X(_i.c.geom).label("lon"),
            func.ST_Y(_i.c.geom).label("lat"),
        )
        .where(_i.c.reported_at >= since)
        .order_by(_i.c.id)
    ).all()
    grids = GridSet.load(session)
    lon = np.array([r.lon for r in rows], dtype=float)
    lat = np.array([r.lat for r in rows], dtype=float)
    found = grids.assign(lon, lat) if rows else np.zeros(0, dtype=np.int64)
    moves = []
    for r, g in zip(rows, found.tolist(), strict=True):
        new = str(grids.codes[g]) if g >= 0 else None
        if new is not None and new != r.grid_code:
            moves.append(
                {"id": r.id, "old": r.grid_code, "new": new, "community": str(grids.communities[g])}
            )
    if commit and moves:
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
            [
                {"id": m["id"], "old": m["old"], "new": m["new"], "actor": principal.actor}
                for m in moves
            ],
        )
    return {
        "since": str(since),
        "incidents": len(rows),
        "moved": len(moves),
        "committed": bool(commit and moves),
        "moves": moves[:200],
    }
