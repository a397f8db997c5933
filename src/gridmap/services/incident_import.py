"""gridmap.services.incident_import: historical incidents from CSV/GeoJSON, all or nothing.

Rows are checked together (vectorised), assigned to grids with the bulk path
(:class:`gridmap.assign.GridSet`, the border rule included; a point in no grid goes to the
community holding it), and written with one ``COPY`` straight into ``incident``; a file as large
as the table has the table's secondary indexes dropped before and built again after. Any bad row
and nothing is written; the answer lists the bad rows. The checks cover everything the write could
fail on (text PostgreSQL cannot store, times out of range, lengths), so a dry run and a commit of
one file answer alike. A token writes only rows whose place lies in its region. Rows whose
``idempotency_key`` is already stored are skipped, so importing the same file twice adds nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy.orm import Session

import shapely

from gridmap.assign import LAT_NAMES, LON_NAMES, GridSet
from gridmap.auth import Principal
from gridmap.errors import Forbidden, InvalidFile, InvalidRows
from gridmap.geo.chinacrs import CHINA_BOUNDS
from gridmap.geo.crs import normalize_crs, to_wgs84_array
from gridmap.geo.pip import PointIndex
from gridmap.queries import audit
from gridmap.queries import incident_import as q
from gridmap.queries.incidents import active_categories
from gridmap.schemas.incidents import IncidentIn
from gridmap.vocab import codes
from gridmap.vocab.codes import PHONE
from gridmap.vocab.kinds import SEVERITIES
from gridmap.vocab.roles import IMPORTERS
from gridmap.vocab.states import INCIDENT_STATES, LEGACY_STATES

MAX_ERRORS_LISTED = 200
# An incident has a dozen fields; a file far wider is not a file of incidents, and each column
# is checked on its own.
MAX_COLUMNS = 200


def _max_length(field: str) -> int:
    """The longest ``field`` a single report may have (the intake body's own limit)."""
    return next(
        int(m.max_length)
        for m in IncidentIn.model_fields[field].metadata
        if hasattr(m, "max_length")
    )


# What a single report accepts and the columns hold: longer text is refused, not cut.
MAX_CHARS = {
    **{f: _max_length(f) for f in ("description", "reporter_name", "category")},
    # incident.idempotency_key is a String(128), as the Idempotency-Key header of one report.
    "idempotency_key": 128,
}
# Control characters are refused in every cell (PostgreSQL cannot store NUL in text); cells of
# one-line columns may not break lines either.
ONE_LINE_COLUMNS = ("category", "severity", "status", "idempotency_key", "reporter_phone")
CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
ONE_LINE_CONTROL = r"[\x00-\x1f\x7f]"
PARAGRAPH_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
# Reported times: an offset at the end of a time of day; none older than this year; none later
# than now and this much clock difference between the sender and this server.
OFFSET = r"[T ]\d{2}.*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"
EARLIEST_YEAR = 1900
CLOCK_SKEW = pd.Timedelta(minutes=5)


def read_table(path: Path, *, name: str | None = None) -> pd.DataFrame:
    """A CSV or GeoJSON file of incidents as a table of text with ``x`` and ``y`` columns.

    ``name`` is how the file is called in messages (the name it was uploaded under); a path on
    this server is never said. A file that cannot be read raises :class:`InvalidFile` naming the
    row, feature or byte at fault.
    """
    label = name or path.name
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".geojson", ".json"):
        raise InvalidFile(f"cannot read {label}: give a .csv or a .geojson of incidents")
    data = path.read_bytes()
    if not data.strip():
        raise InvalidFile(f"{label} is empty")
    if suffix == ".csv":
        return _read_csv(data, label)
    return _read_geojson(_utf8(data, label), label)


def _utf8(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidFile(
            f"{label} is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line}"
            + (' (save it as Excel\'s "CSV UTF-8")' if label.lower().endswith(".csv") else ""),
            line=line,
        ) from None


def _read_csv(data: bytes, label: str) -> pd.DataFrame:
    # The header is read on its own (a quoted name may hold a line break, so a piece of the
    # file, not its first line); the fast reader checks the rest is UTF-8.
    start = data[: 1 << 16].decode("utf-8-sig", errors="replace")
    header = next(csv.reader(io.StringIO(start, newline="")), [])
    names = [h.strip() for h in header]
    _check_width(len(names), label)
    for i, h in enumerate(names, start=1):
        if not re.match(codes.ONE_LINE, h):
            raise InvalidFile(f"{label}: the name of column {i} holds a control character")
    seen = sorted(h for h, n in Counter(names).items() if n > 1)
    if seen:
        raise InvalidFile(f"{label}: column {seen[0]!r} appears twice in the header")
    try:
        frame = pd.read_csv(
            io.BytesIO(data), dtype=str, keep_default_na=False, engine="pyarrow", encoding="utf-8"
        )
    except (ValueError, pa.ArrowException, pd.errors.ParserError, pd.errors.EmptyDataError):
        raise _csv_fault(_utf8(data, label), label, len(header)) from None
    frame.columns = [str(c).lstrip("\ufeff") for c in frame.columns]
    _check_width(len(frame.columns), label)
    if frame.empty:
        raise InvalidFile(f"{label} holds a header but no rows")
    lower = {c.strip().lower(): c for c in frame.columns}
    lon = next((lower[n] for n in LON_NAMES if n in lower), None)
    lat = next((lower[n] for n in LAT_NAMES if n in lower), None)
    if lon is None or lat is None:
        raise InvalidFile(
            f"cannot tell which columns hold longitude and latitude in {label} "
            f"(columns: {', '.join(frame.columns)[:300]})"
        )
    frame["x"] = pd.to_numeric(frame[lon], errors="coerce")
    frame["y"] = pd.to_numeric(frame[lat], errors="coerce")
    # Searching every cell for control characters costs more than reading the file: a file
    # whose bytes hold none (and no quotes, so no line break inside a cell) is known clean.
    # (bytes.translate deleting them is a C loop, ten times faster than a regular expression.)
    clean = len(data.translate(None, CONTROL_BYTES)) == len(data)
    frame.attrs["clean"] = clean and b'"' not in data
    return frame


def _check_width(columns: int, label: str) -> None:
    if columns > MAX_COLUMNS:
        raise InvalidFile(
            f"{label} has more than {MAX_COLUMNS} columns or properties: it does not look "
            "like a file of incidents (lon, lat, category, …)"
        )


def _csv_fault(text: str, label: str, width: int) -> InvalidFile:
    """What the fast reader refused, found again row by row so the answer can name the row."""
    try:
        for number, cells in enumerate(
            (r for r in csv.reader(io.StringIO(text, newline="")) if r), start=1
        ):
            if len(cells) != width:
                return InvalidFile(
                    f"{label}: row {number} has {len(cells)} cells; the header has {width}",
                    row=number,
                )
    except csv.Error as exc:
        return InvalidFile(f"{label} is not a readable CSV file: {exc}")
    return InvalidFile(f"{label} is not a readable CSV file")


# A JSON escape of half a UTF-16 surrogate pair; alone, it is not a character.
_SURROGATE = re.compile(r"\\u[Dd][89A-Fa-f][0-9A-Fa-f]{2}")


def _read_geojson(text: str, label: str) -> pd.DataFrame:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidFile(
            f"{label} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            line=exc.lineno,
        ) from None
    except RecursionError:
        raise InvalidFile(f"{label} is nested too deeply to be GeoJSON") from None
    if _SURROGATE.search(text) is not None:
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidFile(
                f"{label} holds half of a UTF-16 surrogate pair (a \\uD800–\\uDFFF escape "
                "alone), which is not a character"
            ) from None
    feats: Any = data.get("features") if isinstance(data, dict) else None
    if not isinstance(feats, list):
        raise InvalidFile(f'{label} is not a GeoJSON FeatureCollection (no "features" list)')
    if not feats:
        raise InvalidFile(f"{label} holds no features")
    rows = []
    keys: set[str] = set()
    for number, f in enumerate(feats, start=1):
        if not isinstance(f, dict):
            raise InvalidFile(
                f"{label}: feature {number} is not a GeoJSON Feature object", row=number
            )
        geometry, props = f.get("geometry"), f.get("properties")
        if geometry is not None and not isinstance(geometry, dict):
            raise InvalidFile(
                f"{label}: feature {number} has a geometry that is not an object", row=number
            )
        if props is not None and not isinstance(props, dict):
            raise InvalidFile(
                f"{label}: feature {number} has properties that are not an object", row=number
            )
        row: dict[str, Any] = {
            str(k): _cell(v, key=str(k), number=number, label=label)
            for k, v in (props or {}).items()
        }
        c: Any = (
            (geometry or {}).get("coordinates") if (geometry or {}).get("type") == "Point" else None
        )
        ok = isinstance(c, list) and len(c) >= 2
        row["x"], row["y"] = (_number(c[0]), _number(c[1])) if ok else (np.nan, np.nan)
        keys.update(row)
        _check_width(len(keys), label)
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.fillna({c: "" for c in frame.columns if c not in ("x", "y")}).astype(
        {c: str for c in frame.columns if c not in ("x", "y")} | {"x": float, "y": float}
    )


def _cell(value: Any, *, key: str, number: int, label: str) -> str:
    """A property value as the text a CSV cell would hold ("" for null)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | float):
        return str(value)
    if isinstance(value, int):
        # Python refuses to print integers of thousands of digits; no cell needs one.
        return str(value) if abs(value) < 10**30 else "not a number"
    if key in q.COLUMNS:
        raise InvalidFile(
            f"{label}: feature {number}'s {key} is a {type(value).__name__}, not text",
            row=number,
        )
    try:
        return json.dumps(value, ensure_ascii=False)
    except RecursionError:
        raise InvalidFile(f"{label}: feature {number}'s {key} is nested too deeply") from None


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return np.nan
    try:
        return float(value)
    except OverflowError:
        return np.nan


def owners(status: np.ndarray, community: np.ndarray) -> np.ndarray:
    """Who holds each imported incident ("" for no one): none while reported, the district
    while queued for its dispatch, else the street of its place. An imported incident brings
    no sub-tasks: one dispatched or being handled is its street's to split or whistle.

    Examples
    --------
    >>> owners(np.array(["reported", "queued", "dispatched"]), np.array(["110108010001"] * 3))
    array(['', '110108', '110108010'], dtype='<U9')
    """
    # A cast to a shorter string type keeps each code's first characters.
    street = community.astype("<U9")
    district = community.astype("<U6").astype("<U9")
    return np.where(status == "reported", "", np.where(status == "queued", district, street))


def require_importer(principal: Principal) -> None:
    """Raise :class:`Forbidden` unless ``principal`` may import incidents at all (before its
    file is read: who is asked before what)."""
    if not principal.authenticated or principal.role not in IMPORTERS:
        raise Forbidden("importing incidents needs an admin, district or street token")


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

    The dry run and the commit run the same checks: everything the write could fail on is
    checked before it starts (a report with ``errors`` wrote nothing). Every located row must
    lie in the caller's region, else :class:`Forbidden` names the rows outside and nothing is
    written. ``progress(step, done, total)`` is told each step and, while writing, the rows sent.
    """
    require_importer(principal)
    crs = normalize_crs(crs)
    n = len(frame)
    for col in q.COLUMNS:
        if col not in frame.columns:
            frame[col] = ""
        frame[col] = frame[col].fillna("").astype(str).str.strip()
    frame.loc[frame["severity"] == "", "severity"] = "general"
    frame.loc[frame["status"] == "", "status"] = "reported"
    # History kept in the first loop's words is carried into the new ones as migration 0010
    # carried stored incidents (accepted → queued, extended/returned → handling).
    frame["status"] = frame["status"].replace(LEGACY_STATES)
    progress("checking rows", 0, n)
    errors: dict[int, list[str]] = {}

    def flag(mask: Any, message: str) -> None:
        for i in np.flatnonzero(np.asarray(mask, dtype=bool))[: MAX_ERRORS_LISTED * 5]:
            errors.setdefault(int(i), []).append(message)

    for col in frame.columns:
        if col in ("x", "y") or frame.attrs.get("clean"):
            continue
        cells = frame[col].astype(str)
        controls = ONE_LINE_CONTROL if col in ONE_LINE_COLUMNS else PARAGRAPH_CONTROL
        flag(cells.str.contains(controls, regex=True), f"{col} holds a control character")
    for col, most in MAX_CHARS.items():
        flag(frame[col].str.len() > most, f"{col} is longer than {most} characters")
    x, y = frame["x"].to_numpy(dtype=float), frame["y"].to_numpy(dtype=float)
    finite = np.isfinite(x) & np.isfinite(y)
    flag(~finite, "coordinates missing or not numbers")
    with np.errstate(all="ignore"):
        lon, lat = to_wgs84_array(np.where(finite, x, 0), np.where(finite, y, 0), crs)
    west, south, east, north = CHINA_BOUNDS
    in_china = finite & (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
    flag(finite & ~in_china, "outside China (lon and lat swapped?)")
    known = set(active_categories(session))
    flag(~frame["category"].isin(known).to_numpy(), "unknown category")
    flag(~frame["severity"].isin(SEVERITIES).to_numpy(), "severity is not general/important/urgent")
    flag(~frame["status"].isin(INCIDENT_STATES).to_numpy(), "unknown status")
    when = reported_times(frame["reported_at"], timezone=timezone, flag=flag)
    phone_bad = (frame["reporter_phone"] != "") & ~frame["reporter_phone"].str.match(PHONE)
    flag(phone_bad.to_numpy(), "reporter_phone is not a phone number")
    keys = frame["idempotency_key"]
    dup = (keys != "") & keys.duplicated(keep=False)
    flag(dup.to_numpy(), "idempotency_key repeated in the file")
    report: dict[str, Any] = {"source": source, "rows": n, "crs": crs, "committed": False}

    progress("assigning grids", 0, n)
    grid_code, community = _places(session, lon, lat)
    _check_region(principal, grid_code, community, located=in_china, source=source)
    if errors:
        report["errors"] = [
            {"row": _row(i, source), "problems": p}
            for i, p in sorted(errors.items())[:MAX_ERRORS_LISTED]
        ]
        report["rows_with_errors"] = len(errors)
        return report
    found = grid_code != ""
    report.update(in_grid=int(found.sum()), outside_grids=int((~found).sum()))
    if not commit:
        return report

    progress("writing", 0, n)
    inserted = q.write(
        session,
        frame,
        owner=owners(frame["status"].to_numpy(dtype=str), community),
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


def refuse_bad_rows(report: dict[str, Any]) -> None:
    """Raise :class:`InvalidRows` naming the first bad row when ``report`` lists any.

    The API answers a dry run and a commit of the same file alike: 422, nothing written.
    """
    if not report.get("errors"):
        return
    first = report["errors"][0]
    more = report["rows_with_errors"] - 1
    raise InvalidRows(
        f"nothing was written: {report['rows_with_errors']} of {report['rows']} rows have "
        f"errors; {_unit(report['source'])} {first['row']}: {'; '.join(first['problems'])}"
        + (f" (and {more} more)" if more else ""),
        **report,
    )


def reported_times(
    values: pd.Series, *, timezone: str, flag: Callable[[Any, str], None]
) -> pd.Series:
    """``reported_at`` cells as UTC times (NaT where empty); ``flag(mask, message)`` is told the
    cells that are not ISO 8601, before 1900, or in the future.

    Each cell is read on its own terms: with an offset (``Z``, ``+08:00``) as that instant,
    without one in ``timezone``, so a file mixing the two (or several offsets) is read right.
    """
    given = (values != "").to_numpy()
    now = pd.Timestamp.now(tz="UTC")
    # Four-digit years compare as text as they do as numbers, and text is compared fast.
    year = values.str.slice(0, 4).where(values.str.match(r"\d{4}"), "")
    early = given & (year < str(EARLIEST_YEAR)).to_numpy() & (year != "").to_numpy()
    late = given & (year > str(now.year + 1)).to_numpy()
    aware = given & ~early & ~late & values.str.contains(OFFSET, regex=True).to_numpy()
    naive = given & ~early & ~late & ~aware
    when = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    if aware.any():
        read = pd.to_datetime(values[aware], utc=True, format="ISO8601", errors="coerce")
        when[aware] = read.dt.as_unit("us")
    if naive.any():
        read = pd.to_datetime(values[naive], format="ISO8601", errors="coerce")
        if read.dt.tz is not None:
            read = read.dt.tz_convert(None)
        local = read.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
        when[naive] = local.dt.tz_convert("UTC").dt.as_unit("us")
    unread = given & ~early & ~late & when.isna().to_numpy()
    flag(unread, "reported_at is not an ISO 8601 time (2026-05-01T08:00:00+08:00)")
    flag(early, f"reported_at is before {EARLIEST_YEAR}")
    future = late | (when > now + CLOCK_SKEW).to_numpy()
    flag(future, "reported_at is in the future")
    return when


def _unit(source: str) -> str:
    """What a row of ``source`` is called: a CSV's row, a GeoJSON's feature."""
    return "row" if source.lower().endswith(".csv") else "feature"


def _row(i: int, source: str) -> int:
    """The row number a person sees: the line of a CSV (the header is row 1), the feature's
    position in a GeoJSON (from 1)."""
    return i + 2 if source.lower().endswith(".csv") else i + 1


def _places(session: Session, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grid and community codes of each point ("" for none): the grid holding it, else the
    community holding it, else the nearest community (the queue a single report goes to)."""
    grids = GridSet.load(session, points=len(lon))
    found = grids.assign(lon, lat)
    grid_code = np.where(found >= 0, grids.codes[np.maximum(found, 0)], "")
    community = np.where(found >= 0, grids.communities[np.maximum(found, 0)], "")
    outside = np.flatnonzero(found < 0)
    if len(outside):
        rows = q.community_shapes(session)
        if rows:
            index = PointIndex(list(shapely.from_wkb([bytes(r.wkb) for r in rows])))
            codes_ = np.array([r.code for r in rows])
            hit = index.locate(lon[outside], lat[outside])
            # In no community either: the nearest one's queue, as for a single report.
            far = np.flatnonzero(hit < 0)
            if len(far):
                near = index.tree.query_nearest(
                    shapely.points(lon[outside][far], lat[outside][far]), all_matches=False
                )
                hit[far[near[0]]] = near[1]
            community[outside] = codes_[hit]
    return grid_code, community


def _check_region(
    principal: Principal,
    grid_code: np.ndarray,
    community: np.ndarray,
    *,
    located: np.ndarray,
    source: str,
) -> None:
    """Raise :class:`Forbidden` naming the first rows whose place lies outside the caller's
    region (a row in no region at all counts as outside, except for an admin)."""
    if principal.role == "admin":
        return
    place = np.where(grid_code != "", grid_code, community)
    # Each distinct place asked once: a file holds many rows and few grids.
    which, places = pd.factorize(place)
    allowed = np.array([bool(p) and principal.covers(str(p)) for p in places], dtype=bool)
    outside = np.flatnonzero(located & ~allowed[which])
    if not len(outside):
        return
    listed = [{"row": _row(int(i), source), "place": str(place[i]) or None} for i in outside[:10]]
    unit = _unit(source)
    said = ", ".join(f"{unit} {r['row']} (in {r['place'] or 'no region'})" for r in listed)
    raise Forbidden(
        f"nothing was written: {len(outside)} of {len(place)} rows lie outside this token's "
        f"{principal.area}: "
        f"{said}" + (" …" if len(outside) > len(listed) else ""),
        rows=listed,
        rows_outside=len(outside),
    )


def reassign(session: Session, *, since: Any, principal: Principal, commit: bool) -> dict[str, Any]:
    """Re-attribute incidents reported since ``since`` to today's grids (only when asked)."""
    principal.require("reassign incidents to today's grids", roles=IMPORTERS, place=None)
    rows = q.points_since(session, since=since)
    grids = GridSet.load(session, points=len(rows))
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
        q.move_incidents(session, moves=moves, actor=principal.actor)
    return {
        "since": str(since),
        "incidents": len(rows),
        "moved": len(moves),
        "committed": bool(commit and moves),
        "moves": moves[:200],
    }
