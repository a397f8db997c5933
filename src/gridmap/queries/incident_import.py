"""gridmap.queries.incident_import: historical incidents from CSV/GeoJSON, all or nothing.

Rows are checked together (vectorised), assigned to grids with the bulk path
(:class:`gridmap.assign.GridSet`, the border rule included; a point in no grid goes to the
community holding it), and written with one ``COPY`` into a staging table and one
``INSERT … SELECT``. Any bad row and nothing is written; the answer lists the bad rows. Rows whose
``idempotency_key`` is already stored are skipped, so importing the same file twice adds nothing.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from sqlalchemy import CursorResult, text
from sqlalchemy.orm import Session

import shapely

from gridmap.assign import LAT_NAMES, LON_NAMES, GridSet
from gridmap.auth import Principal
from gridmap.errors import Forbidden, InvalidInput
from gridmap.geo.chinacrs import CHINA_BOUNDS
from gridmap.geo.crs import normalize_crs, to_wgs84_array
from gridmap.geo.pip import PointIndex
from gridmap.models import INCIDENT_STATES, SEVERITIES
from gridmap.queries import audit

MAX_ERRORS_LISTED = 200
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
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
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


def _escape(s: pd.Series) -> pd.Series:
    # COPY text format: backslash, tab and line breaks escaped; empty is NULL.
    if not s.str.contains(r"[\\\t\n\r]", regex=True).any():
        return s.where(s != "", "\\N")
    out = (
        s.str.replace("\\", "\\\\", regex=False)
        .str.replace("\t", "\\t", regex=False)
        .str.replace("\n", "\\n", regex=False)
        .str.replace("\r", "\\r", regex=False)
    )
    return out.where(s != "", "\\N")


def import_incidents(
    session: Session,
    frame: pd.DataFrame,
    *,
    crs: str,
    principal: Principal,
    commit: bool,
    source: str,
    timezone: str,
    progress: Callable[[str], None] = lambda _step: None,
) -> dict[str, Any]:
    """Check, assign and (with ``commit``) write a table of incidents; returns the report."""
    if not principal.authenticated or principal.role not in ("admin", "district", "street"):
        raise Forbidden("importing incidents needs an admin, district or street token")
    crs = normalize_crs(crs)
    n = len(frame)
    for col in COLUMNS:
        if col not in frame.columns:
            frame[col] = ""
        frame[col] = frame[col].fillna("").astype(str).str.strip()
    frame.loc[frame["severity"] == "", "severity"] = "general"
    frame.loc[frame["status"] == "", "status"] = "reported"
    progress("checking rows")
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
    known = set(session.execute(text("SELECT code FROM incident_category WHERE active")).scalars())
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

    progress("assigning grids")
    grids = GridSet.load(session)
    found = grids.assign(lon, lat)
    grid_code = np.where(found >= 0, grids.codes[np.maximum(found, 0)], "")
    community = np.where(found >= 0, grids.communities[np.maximum(found, 0)], "")
    outside = np.flatnonzero(found < 0)
    if len(outside):
        rows = session.execute(
            text(
                "SELECT code, ST_AsBinary(geom) AS wkb FROM region WHERE level = 'community' "
                "AND geom IS NOT NULL ORDER BY code"
            )
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

    progress("writing")
    session.execute(text("DROP TABLE IF EXISTS _incident_in"))
    session.execute(
        text(
            "CREATE TEMP TABLE _incident_in (idempotency_key text, category text, severity text, "
            "description text, reporter_name text, reporter_phone text, status text, "
            "reported_epoch float8, grid_code text, community_code text, lon float8, "
            "lat float8) "
            "ON COMMIT DROP"
        )
    )
    epoch = (when - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    table = pd.DataFrame(
        {
            "idempotency_key": _escape(keys),
            "category": _escape(frame["category"]),
            "severity": frame["severity"],
            "description": _escape(frame["description"]),
            "reporter_name": _escape(frame["reporter_name"]),
            "reporter_phone": _escape(frame["reporter_phone"]),
            "status": frame["status"],
            "reported_epoch": pd.Series(epoch).where(when.notna().to_numpy(), np.nan),
            "grid_code": pd.Series(grid_code).where(grid_code != "", "\\N"),
            "community_code": pd.Series(community).where(community != "", "\\N"),
            "lon": lon,
            "lat": lat,
        }
    )
    # Rows near each other written together: the GiST and B-tree pages stay in cache.
    table = table.iloc[np.lexsort((lon, community, grid_code))]
    buf = io.StringIO()
    table.to_csv(buf, sep="\t", header=False, index=False, quoting=3, na_rep="\\N")
    raw = session.connection().connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    with raw.cursor() as cur, cur.copy("COPY _incident_in FROM STDIN") as cp:
        cp.write(buf.getvalue())
    progress("inserting")
    result: CursorResult[Any] = session.execute(
        text(
            "INSERT INTO incident (idempotency_key, category, severity, description, "
            "reporter_name, reporter_phone, status, reported_at, grid_code, community_code, "
            "street_code, crs_in, geom) SELECT idempotency_key, category, severity, description, "
            "reporter_name, reporter_phone, status, coalesce(to_timestamp(reported_epoch), "
            "now()), grid_code, community_code, left(community_code, 9), :crs, "
            "ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM _incident_in "
            "ON CONFLICT (idempotency_key) DO NOTHING"
        ),
        {"crs": crs},
    )
    inserted = result.rowcount
    session.execute(text("DROP TABLE _incident_in"))
    # One entry for the whole file: imported history is not a step anyone took in gridmap.
    audit.record(
        session,
        actor=principal.actor,
        action="import",
        entity="incident",
        key=source,
        before=None,
        after={"rows": n, "inserted": int(inserted), "in_grid": report["in_grid"]},
    )
    report.update(committed=True, inserted=int(inserted), skipped_existing=n - int(inserted))
    return report


def reassign(session: Session, *, since: Any, principal: Principal, commit: bool) -> dict[str, Any]:
    """Re-attribute incidents reported since ``since`` to today's grids (only when asked)."""
    rows = session.execute(
        text(
            "SELECT id, grid_code, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM incident "
            "WHERE reported_at >= :since ORDER BY id"
        ),
        {"since": since},
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
            text(
                "UPDATE incident SET grid_code = :new, community_code = :community, "
                "street_code = :street, distance_to_grid_m = NULL WHERE id = :id"
            ),
            [{**m, "street": m["community"][:9]} for m in moves],
        )
        session.execute(
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
