"""gridmap.services.incident_import: historical incidents from CSV/GeoJSON, all or nothing.

Rows are checked together (vectorised), assigned to grids with the bulk path
(:class:`gridmap.assign.GridSet`, the border rule included; a point in no grid goes to the
community holding it), and written with one ``COPY`` straight into ``incident``; a file as large
as the table has the table's secondary indexes dropped before and built again after. Any bad row
and nothing is written; the answer lists the bad rows. Rows whose ``idempotency_key`` is already
stored are skipped, so importing the same file twice adds nothing.
"""

from __future__ import annotations

import json
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
from gridmap.errors import Forbidden, InvalidInput
from gridmap.geo.chinacrs import CHINA_BOUNDS
from gridmap.geo.crs import normalize_crs, to_wgs84_array
from gridmap.geo.pip import PointIndex
from gridmap.queries import audit
from gridmap.queries import incident_import as q
from gridmap.queries.incidents import active_categories
from gridmap.vocab.codes import PHONE
from gridmap.vocab.kinds import SEVERITIES
from gridmap.vocab.roles import IMPORTERS
from gridmap.vocab.states import INCIDENT_STATES

MAX_ERRORS_LISTED = 200


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
    for col in q.COLUMNS:
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
    phone_bad = (frame["reporter_phone"] != "") & ~frame["reporter_phone"].str.match(PHONE)
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
        rows = q.community_shapes(session)
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
    inserted = q.write(
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
    principal.require("reassign incidents to today's grids", roles=IMPORTERS, place=None)
    rows = q.points_since(session, since=since)
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
        q.move_incidents(session, moves=moves, actor=principal.actor)
    return {
        "since": str(since),
        "incidents": len(rows),
        "moved": len(moves),
        "committed": bool(commit and moves),
        "moves": moves[:200],
    }
