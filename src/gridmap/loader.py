"""gridmap.loader: load a data set folder (like ``data/boundaries/``) into the database.

A load is one transaction and idempotent: rows are matched on their natural keys (region code,
grid code, building code, …) and written only where something differs, so loading the same
folder twice changes nothing. A grid whose shape or attributes changed gets a new version; the
old one is retired, never overwritten. Without ``commit`` the load runs and is rolled back, so
the report says what it *would* change.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gridmap.errors import DataSetError
from gridmap.geo.chinacrs import CHINA_BOUNDS
from gridmap.geo.isochrone import CircleRules
from gridmap.geo.network import split_at_junctions
from gridmap.models import DataSet, RoadEdge
from gridmap.queries.address import refresh_address_keys
from gridmap.queries.assign import rederive_grids
from gridmap.queries.circles import ensure as ensure_circles
from gridmap.services.incidents import derive_times, working_hours
from gridmap.services.patrols import refresh_streets
from gridmap.services.whistle import suggest

Progress = Callable[[str], None]
# Staged rows carry geometry as hex WKB in a ``geom_wkb`` column; this reads it back as 4326.
GEOM = "ST_SetSRID(ST_GeomFromWKB(decode(geom_wkb, 'hex')), 4326)"

FILES = (
    "manifest.json",
    "regions.geojson",
    "departments.csv",
    "grids.geojson",
    "grid_staff.csv",
    "buildings.geojson",
    "households.csv",
    "service_centers.geojson",
    "roads.geojson",
    "list_items.geojson",
    "incidents.geojson",
    "incident_events.csv",
    "incident_tasks.csv",
    "approvals.csv",
    "care_tags.csv",
    "visits.csv",
    "patrols.geojson",
)
# Every file but the manifest, regions and grids may be left out of a data set.
OPTIONAL = set(FILES) - {"manifest.json", "regions.geojson", "grids.geojson"}


@dataclass
class TableChange:
    """What a load did (or would do) to one table."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    @property
    def changed(self) -> int:
        """Rows inserted, updated or deleted."""
        return self.inserted + self.updated + self.deleted


@dataclass
class LoadReport:
    """The outcome of a load: per-table changes, whether it was committed, the data set checksum."""

    name: str
    checksum: str
    committed: bool
    tables: dict[str, TableChange] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        """All rows inserted or updated."""
        return sum(t.changed for t in self.tables.values())


def checksum(folder: Path) -> str:
    """SHA-256 over the data set's files, in a fixed order."""
    digest = hashlib.sha256()
    for name in FILES:
        path = folder / name
        if path.exists():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _features(folder: Path, name: str, kinds: tuple[str, ...]) -> list[tuple[dict[str, Any], Any]]:
    path = folder / name
    if not path.exists():
        if name in OPTIONAL:
            return []
        raise DataSetError(f"{path}: file missing")
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataSetError(f"{path}: not valid UTF-8 JSON ({exc})") from exc
    if doc.get("type") != "FeatureCollection":
        raise DataSetError(f"{path}: not a GeoJSON FeatureCollection")
    crs = (doc.get("crs") or {}).get("properties", {}).get("name", "")
    if crs and not crs.endswith(("4326", "CRS84")):
        raise DataSetError(f"{path}: CRS {crs} is not WGS84 lon/lat; convert it first")
    out: list[tuple[dict[str, Any], Any]] = []
    west, south, east, north = CHINA_BOUNDS
    for i, feat in enumerate(doc.get("features", [])):
        props = feat.get("properties") or {}
        raw = feat.get("geometry")
        if raw is None:
            out.append((props, None))
            continue
        try:
            geom = shape(raw)
        except (KeyError, TypeError, ValueError, shapely.errors.GEOSException) as exc:
            raise DataSetError(f"{path}: feature {i}: bad geometry ({exc})") from exc
        if geom.geom_type not in kinds:
            raise DataSetError(f"{path}: feature {i}: {geom.geom_type}, expected {'/'.join(kinds)}")
        if not all(math.isfinite(v) for v in geom.bounds):
            raise DataSetError(f"{path}: feature {i}: non-finite coordinates")
        minx, miny, maxx, maxy = geom.bounds
        if minx < west or maxx > east or miny < south or maxy > north:
            raise DataSetError(
                f"{path}: feature {i}: coordinates outside China (lon/lat swapped, or not WGS84?)"
            )
        if not geom.is_valid:
            raise DataSetError(
                f"{path}: feature {i}: invalid geometry ({shapely.is_valid_reason(geom)})"
            )
        out.append((props, geom))
    return out


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    path = folder / name
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _wkb(geom: BaseGeometry | None) -> str | None:
    return None if geom is None else shapely.to_wkb(geom, hex=True)


def _multi(geom: BaseGeometry | None) -> BaseGeometry | None:
    if geom is None or geom.geom_type == "MultiPolygon":
        return geom
    return shapely.multipolygons([geom])


def _none(value: Any) -> Any:
    return None if value in ("", None) else value


def _fields(props: dict[str, Any], required: list[str], optional: list[str]) -> dict[str, Any]:
    """The staged values of a feature's properties: ``required`` as they are, ``optional`` with
    empty values as NULL."""
    return {k: props[k] for k in required} | {k: _none(props.get(k)) for k in optional}


def _load_by_code(
    conn: Connection,
    table: str,
    features: list[tuple[dict[str, Any], Any]],
    columns: dict[str, str],
    row: Callable[[dict[str, Any]], dict[str, Any]],
) -> TableChange:
    """Stage features (``row`` of each one's properties: ``code`` and ``columns``, which are
    name → SQL type) with their geometry, and upsert them into ``table`` by code."""
    staged = f"_{table}_in"
    types = {"code": "text", **columns, "geom_wkb": "text"}
    _stage(
        conn,
        staged,
        ", ".join(f"{name} {sql_type}" for name, sql_type in types.items()),
        [{**row(p), "geom_wkb": _wkb(g)} for p, g in features],
    )
    return _upsert(
        conn,
        table=table,
        staged=staged,
        key=["code"],
        columns=[*columns, "geom"],
        select=f"SELECT code, {', '.join(columns)}, {GEOM} FROM {staged}",
    )


def _stage(conn: Connection, table: str, columns: str, rows: list[dict[str, Any]]) -> None:
    # Kept as SQL: staging tables are made per file with the file's own columns; no model.
    conn.execute(text(f"CREATE TEMP TABLE {table} ({columns}) ON COMMIT DROP"))
    if rows:
        names = list(rows[0].keys())
        # Kept as SQL: one executemany into the staging table just made.
        conn.execute(
            text(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES "
                f"({', '.join(':' + n for n in names)})"
            ),
            rows,
        )


def _upsert(
    conn: Connection,
    *,
    table: str,
    staged: str,
    key: list[str],
    columns: list[str],
    select: str | None = None,
    insert_columns: list[str] | None = None,
) -> TableChange:
    """Insert new rows, update rows whose columns differ, leave identical rows untouched."""
    cols = insert_columns or key + columns
    source = select or f"SELECT {', '.join(cols)} FROM {staged}"
    differs = " OR ".join(
        f"{table}.{c} IS DISTINCT FROM EXCLUDED.{c}"
        if c != "geom"
        else f"ST_AsEWKB({table}.geom) IS DISTINCT FROM ST_AsEWKB(EXCLUDED.geom)"
        for c in columns
    )
    sql = (
        f"INSERT INTO {table} ({', '.join(cols)}) {source} "
        f"ON CONFLICT ({', '.join(key)}) DO "
        + (
            f"UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in columns)} WHERE {differs} "
            if columns
            else "NOTHING "
        )
        + "RETURNING (xmax = 0) AS inserted"
    )
    # Kept as SQL: a set-based upsert whose key and compared columns vary with the table.
    flags = [bool(r[0]) for r in conn.execute(text(sql))]
    # Kept as SQL: counts the rows the upsert was given, over its own SELECT text.
    total = conn.execute(text(f"SELECT count(*) FROM ({source}) AS rows_in")).scalar_one()
    inserted = sum(flags)
    return TableChange(
        inserted=inserted, updated=len(flags) - inserted, unchanged=int(total) - len(flags)
    )


def load_dataset(
    engine: Engine,
    folder: Path,
    *,
    commit: bool,
    progress: Progress | None = None,
    circles: list[CircleRules] | None = None,
    now: datetime | None = None,
    timezone: str = "Asia/Shanghai",
) -> LoadReport:
    """Load ``folder`` into the database; roll back unless ``commit``.

    Service circles are computed for centres that have none, and for all of them when the
    centres or the walking network changed (``circles``: their rules, the defaults if None).
    The field work of the files (patrols, visits, care tags' dates) is moved in time as
    :func:`field_shift` says for ``now`` (the clock's time if None) in ``timezone``.
    """
    folder = Path(folder)
    say = progress or (lambda _msg: None)
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        raise DataSetError(f"{folder}: no manifest.json, not a gridmap data set folder")
    manifest = json.loads(manifest_path.read_text("utf-8"))
    report = LoadReport(
        name=str(manifest.get("name") or folder.name), checksum=checksum(folder), committed=commit
    )
    say("reading files")
    regions = _features(folder, "regions.geojson", ("Polygon", "MultiPolygon"))
    grids = _features(folder, "grids.geojson", ("Polygon", "MultiPolygon"))
    buildings = _features(folder, "buildings.geojson", ("Polygon",))
    centers = _features(folder, "service_centers.geojson", ("Point",))
    roads = _features(folder, "roads.geojson", ("LineString",))
    items = _features(folder, "list_items.geojson", ("Point",))
    incidents = _features(folder, "incidents.geojson", ("Point",))
    patrols = _features(folder, "patrols.geojson", ("LineString",))

    conn = engine.connect()
    trans = conn.begin()
    try:
        say("regions")
        level_rank = {"district": 0, "street": 1, "community": 2}
        regions.sort(
            key=lambda f: (level_rank.get(str(f[0].get("level")), 9), str(f[0].get("code", "")))
        )
        _stage(
            conn,
            "_region_in",
            "code text, level text, name text, official_name text, parent_code text, "
            "source text, label_wkb text, geom_wkb text, ord int",
            [
                {
                    "code": p.get("code"),
                    "level": p.get("level"),
                    "name": p.get("name"),
                    **_fields(p, [], ["official_name", "parent_code", "source"]),
                    "label_wkb": _wkb(shapely.Point(p["label_lon"], p["label_lat"]))
                    if p.get("label_lon") is not None
                    else None,
                    "geom_wkb": _wkb(_multi(g)),
                    "ord": i,
                }
                for i, (p, g) in enumerate(regions)
            ],
        )
        report.tables["region"] = _upsert(
            conn,
            table="region",
            staged="_region_in",
            key=["code"],
            columns=[
                "level",
                "name",
                "official_name",
                "parent_code",
                "geom",
                "label_point",
                "source",
            ],
            select="SELECT code, level, name, official_name, parent_code, "
            f"{GEOM}, "
            "ST_SetSRID(ST_GeomFromWKB(decode(label_wkb, 'hex')), 4326), source "
            "FROM _region_in ORDER BY ord",
        )

        say("departments")
        report.tables["department"] = _load_departments(conn, _rows(folder, "departments.csv"))

        say("grids")
        report.tables["grid"] = _load_grids(conn, grids)

        say("grid staff")
        report.tables["person"], report.tables["grid_staff"] = _load_staff(
            conn, _rows(folder, "grid_staff.csv")
        )

        say("buildings")
        report.tables["building"] = _load_by_code(
            conn,
            "building",
            buildings,
            {
                "address": "text",
                "name": "text",
                "use": "text",
                "floors": "int",
                "households": "int",
                "osm_id": "text",
            },
            lambda p: {
                **_fields(p, ["code"], ["address", "name", "use", "floors", "osm_id"]),
                "households": int(p.get("households") or 0),
            },
        )
        refresh_address_keys(conn)
        rederive_grids(conn)

        say("households")
        report.tables["household"] = _load_households(conn, _rows(folder, "households.csv"))

        say("service centres")
        report.tables["service_center"] = _load_by_code(
            conn,
            "service_center",
            centers,
            {
                "kind": "text",
                "name": "text",
                "opening_hours": "text",
                "region_code": "text",
                "source": "text",
            },
            lambda p: _fields(
                p, ["code", "kind", "name"], ["opening_hours", "region_code", "source"]
            ),
        )

        say("walking network")
        report.tables["road_edge"] = _load_roads(conn, roads)

        say("list items")
        _stage(
            conn,
            "_item_in",
            "code text, list text, category text, title text, owner_kind text, "
            "owner_name text, contact_name text, contact_phone text, status text, geom_wkb text",
            [
                {
                    **_fields(
                        p,
                        ["code", "list", "category", "title", "owner_kind"],
                        ["owner_name", "contact_name", "contact_phone"],
                    ),
                    "status": p.get("status") or "open",
                    "geom_wkb": _wkb(g),
                }
                for p, g in items
            ],
        )
        report.tables["list_item"] = _upsert(
            conn,
            table="list_item",
            staged="_item_in",
            key=["code"],
            columns=[
                "list",
                "category",
                "title",
                "owner_kind",
                "owner_name",
                "contact_name",
                "contact_phone",
                "status",
                "geom",
                "grid_code",
            ],
            select="SELECT i.code, i.list, i.category, i.title, i.owner_kind, i.owner_name, "
            "i.contact_name, i.contact_phone, i.status, p.geom, "
            "(SELECT g.code FROM grid_piece gp JOIN grid g ON g.id = gp.grid_id "
            " WHERE g.valid_to IS NULL AND ST_Intersects(gp.geom, p.geom) "
            " ORDER BY g.code LIMIT 1) "
            "FROM _item_in i, "
            "LATERAL (SELECT ST_SetSRID(ST_GeomFromWKB(decode(i.geom_wkb, 'hex')), 4326) "
            "AS geom) p",
        )

        say("incidents")
        report.tables.update(
            _load_incidents(
                conn,
                incidents,
                _rows(folder, "incident_events.csv"),
                tasks=_rows(folder, "incident_tasks.csv"),
                approvals=_rows(folder, "approvals.csv"),
            )
        )
        derive_times(conn, working_hours(conn))
        _split_tasks_fall_due_with_incident(conn)
        _whistle_tasks_get_their_item(conn)

        say("care tags, visits and patrols")
        visits = _rows(folder, "visits.csv")
        shift = field_shift(
            _last_field_time(patrols, visits), now or datetime.now(UTC), timezone=timezone
        )
        report.tables["care_tag"] = _load_care_tags(conn, _rows(folder, "care_tags.csv"), shift)
        report.tables["visit"] = _load_visits(conn, visits, shift)
        report.tables["patrol"] = _load_patrols(conn, patrols, shift)

        say("street pieces")
        # Coverage counts pieces of each grid's streets: built for grids without them, and for
        # every grid when the walking network changed (the pieces were cut from the old one).
        # Kept as SQL: the build's cost estimate (a generate_series per street) makes
        # PostgreSQL JIT-compile each grid's statement, about 0.6 s a grid for a 5 ms query.
        conn.execute(text("SET LOCAL jit = off"))
        with Session(bind=conn) as session:
            made = refresh_streets(session, force=report.tables["road_edge"].changed > 0)
        report.tables["street_piece"] = TableChange(
            inserted=made["pieces"], unchanged=made["grids"] - made["built"]
        )

        say("service circles")
        moved = report.tables["road_edge"].changed + report.tables["service_center"].changed
        ensure_circles(conn, rules=circles or [CircleRules()], everything=moved > 0)

        if report.changed:
            summary = {k: vars(v) for k, v in report.tables.items()}
            record = pg_insert(DataSet).values(
                name=report.name, checksum=report.checksum, summary=summary
            )
            conn.execute(
                record.on_conflict_do_update(
                    index_elements=[DataSet.name],
                    set_={
                        "checksum": record.excluded.checksum,
                        "summary": record.excluded.summary,
                        "loaded_at": func.now(),
                    },
                )
            )
        if commit:
            trans.commit()
        else:
            trans.rollback()
    except Exception:
        trans.rollback()
        raise
    finally:
        conn.close()
    return report


def _load_grids(conn: Connection, grids: list[tuple[dict[str, Any], Any]]) -> TableChange:
    _stage(
        conn,
        "_grid_in",
        "code text, community_code text, name text, kind text, subtype text, households int, "
        "source text, geom_wkb text",
        [
            {
                "code": p["code"],
                "community_code": p["community_code"],
                "name": p["name"],
                "kind": p.get("kind") or "basic",
                "subtype": _none(p.get("subtype")),
                "households": p.get("households"),
                "source": _none(p.get("source")),
                "geom_wkb": _wkb(_multi(g)),
            }
            for p, g in grids
        ],
    )
    # Kept as SQL: geometry decoded from hex WKB into a staging table in one pass.
    conn.execute(
        text(
            "CREATE TEMP TABLE _grid_new ON COMMIT DROP AS SELECT i.*, "
            "ST_SetSRID(ST_GeomFromWKB(decode(i.geom_wkb, 'hex')), 4326) AS geom FROM _grid_in i"
        )
    )
    differs = (
        "(g.community_code, g.name, g.kind, g.subtype, g.households, g.source) IS DISTINCT FROM "
        "(n.community_code, n.name, n.kind, n.subtype, n.households, n.source) "
        "OR ST_AsEWKB(g.geom) IS DISTINCT FROM ST_AsEWKB(n.geom)"
    )
    # A changed grid is a new version: retire the current one, then insert version + 1.
    # Kept as SQL: a set-based UPDATE … FROM the staging table, comparing geometry as EWKB.
    retired = conn.execute(
        text(
            f"UPDATE grid g SET valid_to = now() FROM _grid_new n "
            f"WHERE g.code = n.code AND g.valid_to IS NULL AND ({differs}) RETURNING g.code"
        )
    ).all()
    # Kept as SQL: a set-based INSERT … SELECT numbering each new version in the statement.
    inserted = conn.execute(
        text(
            "INSERT INTO grid (code, version, community_code, name, kind, subtype, households, "
            "geom, source, changed_by, valid_from) "
            "SELECT n.code, "
            "coalesce((SELECT max(version) FROM grid g WHERE g.code = n.code), 0) + 1, "
            "n.community_code, n.name, n.kind, n.subtype, n.households, n.geom, n.source, "
            "'loader', now() FROM _grid_new n "
            "WHERE NOT EXISTS (SELECT 1 FROM grid g WHERE g.code = n.code AND g.valid_to IS NULL) "
            "RETURNING code"
        )
    ).all()
    updated = len(retired)
    return TableChange(
        inserted=len(inserted) - updated, updated=updated, unchanged=len(grids) - len(inserted)
    )


def person_key(row: dict[str, Any]) -> str:
    """How a data set names a person of ``grid_staff.csv``: its ``person`` column when given,
    else name and phone; a name without a phone is a person of that grid only, never merged
    with a namesake elsewhere (a token issued to them would act in both grids).

    Examples
    --------
    >>> person_key({"grid_code": "110108010001001", "name": "李静", "phone": "13900005678"})
    '李静|13900005678'
    >>> person_key({"grid_code": "110108010001001", "name": "李静", "phone": ""})
    '李静|110108010001001'
    """
    if row.get("person"):
        return str(row["person"])
    return f"{row['name']}|{row.get('phone') or row['grid_code']}"


def _load_staff(conn: Connection, rows: list[dict[str, str]]) -> tuple[TableChange, TableChange]:
    """People (one row a person however many grids they serve) and their posts; the file is
    the whole staff of each grid it names, so a post no longer in it is removed."""
    _stage(
        conn,
        "_staff_in",
        "grid_code text, role text, name text, phone text, key text",
        [
            {
                "grid_code": r["grid_code"],
                "role": r["role"],
                "name": r["name"],
                "phone": _none(r.get("phone")),
                "key": person_key(r),
            }
            for r in rows
        ],
    )
    people = _upsert(
        conn,
        table="person",
        staged="_staff_in",
        key=["key"],
        columns=["name", "phone"],
        select="SELECT DISTINCT ON (key) key, name, phone FROM _staff_in ORDER BY key",
        insert_columns=["key", "name", "phone"],
    )
    posts = _upsert(
        conn,
        table="grid_staff",
        staged="_staff_in",
        key=["grid_code", "role", "person_id"],
        columns=[],
        select="SELECT s.grid_code, s.role, p.id FROM _staff_in s JOIN person p ON p.key = s.key",
        insert_columns=["grid_code", "role", "person_id"],
    )
    # Kept as SQL: an anti-join of the posts against the staging table, which has no model.
    gone = conn.execute(
        text(
            "DELETE FROM grid_staff g WHERE g.grid_code IN (SELECT grid_code FROM _staff_in) "
            "AND NOT EXISTS (SELECT 1 FROM _staff_in s JOIN person p ON p.key = s.key "
            "WHERE s.grid_code = g.grid_code AND s.role = g.role AND p.id = g.person_id)"
        )
    ).rowcount
    posts.deleted = gone
    return people, posts


def _load_departments(conn: Connection, rows: list[dict[str, str]]) -> TableChange:
    """Departments by code; whether one is active is the register's to say, not the file's."""
    _stage(
        conn,
        "_department_in",
        "code text, name text, kind text, level text, region_code text",
        [
            {k: (r.get(k) or "").strip() for k in ("code", "name", "kind", "level", "region_code")}
            for r in rows
        ],
    )
    unknown = (
        # Kept as SQL: an anti-join against the staging table, which has no model.
        conn.execute(
            text(
                "SELECT DISTINCT d.region_code FROM _department_in d "
                "LEFT JOIN region r ON r.code = d.region_code WHERE r.code IS NULL LIMIT 5"
            )
        )
        .scalars()
        .all()
    )
    if unknown:
        raise DataSetError(f"departments.csv: unknown region codes {', '.join(unknown)}")
    return _upsert(
        conn,
        table="department",
        staged="_department_in",
        key=["code"],
        columns=["name", "kind", "level", "region_code"],
    )


def _load_households(conn: Connection, rows: list[dict[str, str]]) -> TableChange:
    _stage(
        conn,
        "_household_in",
        "building_code text, unit text, room text, designated bool, party_members int, "
        "served_by_room text, contact_name text, contact_phone text",
        [
            {
                "building_code": r["building_code"],
                "unit": r["unit"],
                "room": r["room"],
                "designated": r.get("designated", "").lower() in ("true", "1", "yes"),
                "party_members": int(r.get("party_members") or 0),
                "served_by_room": _none(r.get("served_by_room")),
                "contact_name": _none(r.get("contact_name")),
                "contact_phone": _none(r.get("contact_phone")),
            }
            for r in rows
        ],
    )
    unknown = (
        # Kept as SQL: an anti-join against the staging table, which has no model.
        conn.execute(
            text(
                "SELECT DISTINCT h.building_code FROM _household_in h "
                "LEFT JOIN building b ON b.code = h.building_code WHERE b.id IS NULL LIMIT 5"
            )
        )
        .scalars()
        .all()
    )
    if unknown:
        raise DataSetError(f"households.csv: unknown building codes {', '.join(unknown)}")
    change = _upsert(
        conn,
        table="household",
        staged="_household_in",
        key=["building_id", "unit", "room"],
        columns=["designated", "party_members", "contact_name", "contact_phone"],
        select="SELECT b.id, h.unit, h.room, h.designated, h.party_members, h.contact_name, "
        "h.contact_phone FROM _household_in h JOIN building b ON b.code = h.building_code",
    )
    # Kept as SQL: links households to their designated household through the staging table.
    conn.execute(
        text(
            "UPDATE household t SET served_by = s.id "
            "FROM _household_in h JOIN building b ON b.code = h.building_code "
            "JOIN household s ON s.building_id = b.id "
            " AND s.unit || '/' || s.room = h.served_by_room "
            "WHERE t.building_id = b.id AND t.unit = h.unit AND t.room = h.room "
            "AND t.served_by IS DISTINCT FROM s.id"
        )
    )
    return change


def _load_roads(conn: Connection, roads: list[tuple[dict[str, Any], Any]]) -> TableChange:
    edges = split_at_junctions([list(g.coords) for _, g in roads])
    rows = [
        {
            "osm_id": _none(roads[e.line][0].get("osm_id")),
            "name": _none(roads[e.line][0].get("name")),
            "highway": _none(roads[e.line][0].get("highway")),
            "source": e.source,
            "target": e.target,
            "length_m": round(e.length_m, 3),
            "geom_wkb": shapely.to_wkb(shapely.LineString(e.coords), hex=True),
        }
        for e in edges
    ]
    _stage(
        conn,
        "_edge_in",
        "osm_id text, name text, highway text, source bigint, "
        "target bigint, length_m float8, geom_wkb text",
        rows,
    )
    fingerprint = (
        "SELECT md5(string_agg(s, ',' ORDER BY s)) FROM (SELECT concat_ws('|', osm_id, name, "
        "highway, source, target, length_m, encode(ST_AsEWKB(geom), 'hex')) AS s FROM "
    )
    # Kept as SQL: a fingerprint of the whole network over a row expression, per table.
    have = conn.execute(text(fingerprint + "road_edge) f")).scalar()
    # Kept as SQL: the same fingerprint over the staged edges with their decoded geometry.
    want = conn.execute(
        text(
            fingerprint + "(SELECT osm_id, name, highway, source, target, length_m, "
            f"{GEOM} AS geom FROM _edge_in) e) f"
        )
    ).scalar()
    if have == want:
        return TableChange(unchanged=len(rows))
    # Node numbers depend on the whole network, so a changed network is replaced whole.
    before = conn.execute(select(func.count()).select_from(RoadEdge)).scalar_one()
    conn.execute(delete(RoadEdge))
    # Kept as SQL: INSERT … SELECT from the staging table, decoding geometry.
    conn.execute(
        text(
            "INSERT INTO road_edge (osm_id, name, highway, source, target, length_m, geom) "
            "SELECT osm_id, name, highway, source, target, length_m, "
            f"{GEOM} FROM _edge_in"
        )
    )
    return TableChange(inserted=max(0, len(rows) - before), updated=min(before, len(rows)))


TASK_COLUMNS = (
    "kind",
    "assignee_kind",
    "assignee_code",
    "assignee_name",
    "state",
    "created_at",
    "created_by",
    "report_due_at",
    "due_at",
    "reported_in_at",
    "answered_at",
    "answered_by",
    "feedback",
    "returned_count",
)
APPROVAL_COLUMNS = (
    "kind",
    "reason",
    "hours",
    "requested_by",
    "requested_at",
    "decider_code",
    "decision",
    "decided_by",
    "decided_at",
    "decision_note",
)


def _load_incidents(
    conn: Connection,
    incidents: list[tuple[dict[str, Any], Any]],
    events: list[dict[str, str]],
    *,
    tasks: list[dict[str, str]],
    approvals: list[dict[str, str]],
) -> dict[str, TableChange]:
    """Incidents, then their sub-tasks (``task_key``s name them in the other files), events
    and requests. History: an incident, its tasks and its requests are written only once."""
    _stage(
        conn,
        "_incident_in",
        "idempotency_key text, category text, severity text, description text, "
        "reporter_name text, reporter_phone text, status text, reported_at timestamptz, "
        "score int, dispatch_mode text, returned_count int, geom_wkb text",
        [
            {
                "idempotency_key": p["idempotency_key"],
                "category": p["category"],
                "severity": p.get("severity") or "general",
                "description": _none(p.get("description")),
                "reporter_name": _none(p.get("reporter_name")),
                "reporter_phone": _none(p.get("reporter_phone")),
                "status": p.get("status"),
                "reported_at": p.get("reported_at"),
                "score": p.get("score"),
                "dispatch_mode": _none(p.get("dispatch_mode")),
                "returned_count": int(p.get("returned_count") or 0),
                "geom_wkb": _wkb(g),
            }
            for p, g in incidents
        ],
    )
    # Incidents are history: an existing one is never rewritten by a load.
    incident_change = _upsert(
        conn,
        table="incident",
        staged="_incident_in",
        key=["idempotency_key"],
        columns=[],
        select="SELECT i.idempotency_key, i.category, i.severity, i.description, "
        "i.reporter_name, i.reporter_phone, i.status, i.reported_at, i.score, "
        "i.dispatch_mode, i.returned_count, p.geom, "
        "g.code, g.community_code, left(g.community_code, 9), "
        # Who holds it: none while reported, the district while it waits for its dispatch,
        # the street that owns it after.
        "CASE WHEN i.status = 'reported' OR g.community_code IS NULL THEN NULL "
        " WHEN i.status IN ('queued', 'cancelled') THEN left(g.community_code, 6) "
        " ELSE left(g.community_code, 9) END "
        "FROM _incident_in i, "
        "LATERAL (SELECT ST_SetSRID(ST_GeomFromWKB(decode(i.geom_wkb, 'hex')), 4326) "
        "AS geom) p "
        "LEFT JOIN LATERAL (SELECT g.code, g.community_code FROM grid_piece gp "
        " JOIN grid g ON g.id = gp.grid_id WHERE g.valid_to IS NULL "
        " AND ST_Intersects(gp.geom, p.geom) ORDER BY g.code LIMIT 1) g ON true",
        insert_columns=[
            "idempotency_key",
            "category",
            "severity",
            "description",
            "reporter_name",
            "reporter_phone",
            "status",
            "reported_at",
            "score",
            "dispatch_mode",
            "returned_count",
            "geom",
            "grid_code",
            "community_code",
            "street_code",
            "owner_code",
        ],
    )
    task_change = _load_tasks(conn, tasks)
    _stage(
        conn,
        "_event_in",
        "incident_key text, seq int, action text, to_status text, actor text, "
        "at timestamptz, note text, task_key text",
        [
            {
                "incident_key": r["incident_key"],
                "seq": int(r["seq"]),
                "action": r["action"],
                "to_status": r["to_status"],
                "actor": _none(r.get("actor")),
                "at": r["at"],
                "note": _none(r.get("note")),
                "task_key": _none(r.get("task_key")),
            }
            for r in events
        ],
    )
    event_change = _upsert(
        conn,
        table="incident_event",
        staged="_event_in",
        key=["incident_id", "seq"],
        columns=[],
        select="SELECT i.id, e.seq, e.action, "
        "lag(e.to_status) OVER (PARTITION BY e.incident_key ORDER BY e.seq), "
        "e.to_status, e.actor, e.at, e.note, m.id "
        "FROM _event_in e JOIN incident i ON i.idempotency_key = e.incident_key "
        "LEFT JOIN _task_map m ON m.task_key = e.task_key",
        insert_columns=[
            "incident_id",
            "seq",
            "action",
            "from_status",
            "to_status",
            "actor",
            "at",
            "note",
            "task_id",
        ],
    )
    return {
        "incident": incident_change,
        "incident_task": task_change,
        "incident_event": event_change,
        "approval": _load_approvals(conn, approvals),
    }


def _sql_type(column: str) -> str:
    if column in ("returned_count", "hours"):
        return "int"
    return "timestamptz" if column.endswith("_at") else "text"


def _load_tasks(conn: Connection, tasks: list[dict[str, str]]) -> TableChange:
    """Sub-tasks of incidents that have none yet, and ``_task_map``: every task key of the
    file with the id of its task (the n-th task of an incident in the file is its n-th task)."""
    _stage(
        conn,
        "_task_in",
        "ord int, task_key text, incident_key text, answered_by_person text, "
        + ", ".join(f"{c} {_sql_type(c)}" for c in TASK_COLUMNS),
        [
            {
                "ord": n,
                "task_key": r["task_key"],
                "incident_key": r["incident_key"],
                "answered_by_person": _none(r.get("answered_by_person")),
                **{c: _none(r.get(c)) for c in TASK_COLUMNS if c != "returned_count"},
                "returned_count": int(r.get("returned_count") or 0),
            }
            for n, r in enumerate(tasks)
        ],
    )
    columns = ", ".join(TASK_COLUMNS)
    # Kept as SQL: one set-based insert from the staging table, people found by their key.
    inserted = conn.execute(
        text(
            f"INSERT INTO incident_task (incident_id, answered_by_person, {columns}) "
            f"SELECT i.id, p.id, {', '.join('t.' + c for c in TASK_COLUMNS)} "
            "FROM _task_in t JOIN incident i ON i.idempotency_key = t.incident_key "
            "LEFT JOIN person p ON p.key = t.answered_by_person "
            "WHERE NOT EXISTS (SELECT 1 FROM incident_task x WHERE x.incident_id = i.id) "
            "ORDER BY t.ord"
        )
    ).rowcount
    # Kept as SQL: task keys live only in the files; they are matched by order per incident.
    conn.execute(
        text(
            "CREATE TEMP TABLE _task_map ON COMMIT DROP AS "
            "SELECT f.task_key, d.id FROM "
            "(SELECT t.task_key, i.id AS incident_id, "
            " row_number() OVER (PARTITION BY t.incident_key ORDER BY t.ord) AS n "
            " FROM _task_in t JOIN incident i ON i.idempotency_key = t.incident_key) f "
            "JOIN (SELECT id, incident_id, "
            " row_number() OVER (PARTITION BY incident_id ORDER BY id) AS n "
            " FROM incident_task) d ON d.incident_id = f.incident_id AND d.n = f.n"
        )
    )
    return TableChange(inserted=inserted, unchanged=len(tasks) - inserted)


def _load_approvals(conn: Connection, approvals: list[dict[str, str]]) -> TableChange:
    """Extension and parking requests of incidents that have none yet."""
    _stage(
        conn,
        "_approval_in",
        "incident_key text, task_key text, "
        + ", ".join(f"{c} {_sql_type(c)}" for c in APPROVAL_COLUMNS),
        [
            {
                "incident_key": r["incident_key"],
                "task_key": _none(r.get("task_key")),
                **{c: _none(r.get(c)) for c in APPROVAL_COLUMNS if c != "hours"},
                "hours": int(r["hours"]) if r.get("hours") else None,
            }
            for r in approvals
        ],
    )
    columns = ", ".join(APPROVAL_COLUMNS)
    # Kept as SQL: one set-based insert from the staging table.
    inserted = conn.execute(
        text(
            f"INSERT INTO approval (incident_id, task_id, {columns}) "
            f"SELECT i.id, m.id, {', '.join('a.' + c for c in APPROVAL_COLUMNS[:-4])}, "
            "coalesce(a.decision, 'pending'), a.decided_by, a.decided_at, a.decision_note "
            "FROM _approval_in a JOIN incident i ON i.idempotency_key = a.incident_key "
            "LEFT JOIN _task_map m ON m.task_key = a.task_key "
            "WHERE NOT EXISTS (SELECT 1 FROM approval x WHERE x.incident_id = i.id)"
        )
    ).rowcount
    return TableChange(inserted=inserted, unchanged=len(approvals) - inserted)


def _whistle_tasks_get_their_item(conn: Connection) -> None:
    """A whistle task loaded without its line of the whistle list gets the line the list
    suggests for its incident, and whether the list named its department (once: a task whose
    ``suggested`` is known is history)."""
    session = Session(bind=conn)
    pairs = conn.execute(
        # Kept as SQL: the distinct places and categories of the tasks still to settle.
        text(
            "SELECT DISTINCT i.category, i.street_code FROM incident_task t "
            "JOIN incident i ON i.id = t.incident_id "
            "WHERE t.kind = 'whistle' AND t.suggested IS NULL AND t.whistle_item_id IS NULL"
        )
    ).all()
    for category, street in pairs:
        found = suggest(session, category=category, street_code=street)
        # Kept as SQL: one update per place and category, over the tasks still to settle.
        conn.execute(
            text(
                "UPDATE incident_task t SET whistle_item_id = :item, "
                "suggested = t.assignee_code = ANY(CAST(:codes AS text[])) "
                "FROM incident i WHERE i.id = t.incident_id AND t.kind = 'whistle' "
                "AND t.suggested IS NULL AND t.whistle_item_id IS NULL "
                "AND i.category = :category AND i.street_code IS NOT DISTINCT FROM :street"
            ),
            {
                "item": None if found.item is None else found.item["id"],
                "codes": [d["code"] for d in found.departments],
                "category": category,
                "street": street,
            },
        )


def _split_tasks_fall_due_with_incident(conn: Connection) -> None:
    # A split task given without a due time falls due with its incident, whose time the
    # category's limit gives only once the events are in (derive_times).
    conn.execute(
        text(
            "UPDATE incident_task t SET due_at = i.due_at FROM incident i "
            "WHERE i.id = t.incident_id AND t.kind = 'split' AND t.due_at IS NULL "
            "AND i.due_at IS NOT NULL"
        )
    )


def field_shift(last: datetime | None, now: datetime, *, timezone: str) -> timedelta:
    """How far a data set's field work (its patrols, visits, care tags) moves in time when
    loaded: by whole days, so that the day of its last moment (``last``) is the day of ``now``
    in ``timezone`` and a fresh demo shows today's patrols; but never so far that anything lies
    less than five minutes before ``now`` (loaded early in the morning, the last patrol then
    ends just before the load).

    Examples
    --------
    >>> from datetime import datetime, timezone as tz
    >>> last = datetime(2026, 11, 15, 1, 0, tzinfo=tz.utc)  # 09:00 in Beijing
    >>> field_shift(last, datetime(2026, 12, 4, 6, 0, tzinfo=tz.utc), timezone="Asia/Shanghai")
    datetime.timedelta(days=19)
    >>> field_shift(last, datetime(2026, 12, 4, 0, 0, tzinfo=tz.utc), timezone="Asia/Shanghai")
    datetime.timedelta(days=18, seconds=82500)
    """
    if last is None:
        return timedelta(0)
    zone = ZoneInfo(timezone)
    shift = timedelta(days=(now.astimezone(zone).date() - last.astimezone(zone).date()).days)
    latest = now - timedelta(minutes=5)
    if last + shift > latest:
        shift -= last + shift - latest
    return shift


def _last_field_time(
    patrols: list[tuple[dict[str, Any], Any]], visits: list[dict[str, str]]
) -> datetime | None:
    times = [datetime.fromisoformat(str(p.get("ended_at") or p["started_at"])) for p, _ in patrols]
    times += [datetime.fromisoformat(v["at"]) for v in visits]
    return max(times, default=None)


def _iso(value: str, shift: timedelta) -> str:
    return (datetime.fromisoformat(value) + shift).isoformat()


def _load_care_tags(conn: Connection, rows: list[dict[str, str]], shift: timedelta) -> TableChange:
    """Care tags a household does not have yet; a tag already there (perhaps edited in the
    app) is left as it is."""
    _stage(
        conn,
        "_care_in",
        "building_code text, unit text, room text, tag text, interval_days int, since date, "
        "note text",
        [
            {
                "building_code": r["building_code"],
                "unit": r["unit"],
                "room": r["room"],
                "tag": r["tag"],
                "interval_days": int(r["interval_days"]) if r.get("interval_days") else None,
                "since": (datetime.fromisoformat(r["since"]) + shift).date()
                if r.get("since")
                else None,
                "note": _none(r.get("note")),
            }
            for r in rows
        ],
    )
    _refuse_unknown_homes(conn, "_care_in", "care_tags.csv")
    return _upsert(
        conn,
        table="care_tag",
        staged="_care_in",
        key=["household_id", "tag"],
        columns=[],
        select="SELECT h.id, c.tag, c.interval_days, coalesce(c.since, current_date), c.note, "
        "'loader' FROM _care_in c JOIN building b ON b.code = c.building_code "
        "JOIN household h ON h.building_id = b.id AND h.unit = c.unit AND h.room = c.room",
        insert_columns=["household_id", "tag", "interval_days", "since", "note", "created_by"],
    )


def _refuse_unknown_homes(conn: Connection, staged: str, name: str) -> None:
    # Kept as SQL: an anti-join against the staging table, which has no model.
    unknown = (
        conn.execute(
            text(
                f"SELECT s.building_code || ' ' || s.unit || ' ' || s.room FROM {staged} s "
                "LEFT JOIN building b ON b.code = s.building_code "
                "LEFT JOIN household h ON h.building_id = b.id AND h.unit = s.unit "
                "AND h.room = s.room WHERE h.id IS NULL LIMIT 5"
            )
        )
        .scalars()
        .all()
    )
    if unknown:
        raise DataSetError(f"{name}: unknown households {', '.join(unknown)}")


def _refuse_unknown_people(conn: Connection, keys: Sequence[str], name: str) -> None:
    # Kept as SQL: the keys of the file against the people loaded.
    unknown = (
        conn.execute(
            text(
                "SELECT k FROM unnest(CAST(:keys AS text[])) AS k "
                "WHERE NOT EXISTS (SELECT 1 FROM person p WHERE p.key = k) LIMIT 5"
            ),
            {"keys": sorted(set(keys))},
        )
        .scalars()
        .all()
    )
    if unknown:
        raise DataSetError(f"{name}: people not in grid_staff.csv: {', '.join(unknown)}")


def _load_visits(conn: Connection, rows: list[dict[str, str]], shift: timedelta) -> TableChange:
    """Visits by key, each written once (history): the household's grid at the load, the person
    who made it by the key of grid_staff.csv."""
    _stage(
        conn,
        "_visit_in",
        "key text, building_code text, unit text, room text, at timestamptz, outcome text, "
        "note text, person text",
        [
            {
                "key": r["key"],
                "building_code": r["building_code"],
                "unit": r["unit"],
                "room": r["room"],
                "at": _iso(r["at"], shift),
                "outcome": r["outcome"],
                "note": _none(r.get("note")),
                "person": _none(r.get("person")),
            }
            for r in rows
        ],
    )
    _refuse_unknown_homes(conn, "_visit_in", "visits.csv")
    _refuse_unknown_people(conn, [r["person"] for r in rows if r.get("person")], "visits.csv")
    return _upsert(
        conn,
        table="visit",
        staged="_visit_in",
        key=["idempotency_key"],
        columns=[],
        select="SELECT v.key, h.id, b.grid_code, p.id, v.at, v.outcome, v.note, 'loader' "
        "FROM _visit_in v JOIN building b ON b.code = v.building_code "
        "JOIN household h ON h.building_id = b.id AND h.unit = v.unit AND h.room = v.room "
        "LEFT JOIN person p ON p.key = v.person",
        insert_columns=[
            "idempotency_key",
            "household_id",
            "grid_code",
            "person_id",
            "at",
            "outcome",
            "note",
            "created_by",
        ],
    )


# The most points of one stored piece of a track: about what the phone sends at a time (every
# 60 points or 30 s); far below ApiSettings.patrol_piece_points. Short pieces have small boxes,
# which is what lets the coverage query's index find the pieces near a street.
PIECE_POINTS = 60


def _pieces(coords: list[tuple[float, float]], times: list[float]) -> list[dict[str, Any]]:
    """A track cut into pieces of at most PIECE_POINTS points, each after the first starting
    with the last point of the one before, as the phone uploads them."""
    pieces: list[dict[str, Any]] = []
    start = 0
    while True:
        end = min(start + PIECE_POINTS, len(coords))
        points = [[x, y, t] for (x, y), t in zip(coords[start:end], times[start:end], strict=True)]
        pieces.append(
            {
                "seq": len(pieces),
                "points": len(points),
                "first_at": datetime.fromtimestamp(points[0][2], UTC),
                "last_at": datetime.fromtimestamp(points[-1][2], UTC),
                "digest": hashlib.sha256(json.dumps(points).encode()).hexdigest(),
                "wkt": "LINESTRING M ("
                + ", ".join(f"{x!r} {y!r} {t!r}" for x, y, t in points)
                + ")",
            }
        )
        if end >= len(coords):
            return pieces
        start = end - 1


def _load_patrols(
    conn: Connection, patrols: list[tuple[dict[str, Any], Any]], shift: timedelta
) -> TableChange:
    """Patrols by key with their track pieces, each written once (history); the person is the
    key of grid_staff.csv, the times of the track are the feature's ``times`` (Unix seconds)."""
    patrol_rows, piece_rows = [], []
    seconds = shift.total_seconds()
    for i, (p, g) in enumerate(patrols):
        times = [float(t) + seconds for t in p.get("times") or []]
        coords = [(float(c[0]), float(c[1])) for c in g.coords]
        if len(times) != len(coords) or any(b <= a for a, b in zip(times, times[1:], strict=False)):
            raise DataSetError(
                f"patrols.geojson: feature {i}: needs one increasing time per point in 'times'"
            )
        patrol_rows.append(
            {
                "key": p["key"],
                "person": p["person"],
                "grid_codes": list(p.get("grid_codes") or []),
                "started_at": _iso(p["started_at"], shift),
                "ended_at": _iso(p["ended_at"], shift) if p.get("ended_at") else None,
                "points": len(coords),
            }
        )
        piece_rows += [{"key": p["key"], **piece} for piece in _pieces(coords, times)]
    _stage(
        conn,
        "_patrol_in",
        "key uuid, person text, grid_codes text[], started_at timestamptz, "
        "ended_at timestamptz, points int",
        patrol_rows,
    )
    _stage(
        conn,
        "_patrol_piece_in",
        "key uuid, seq int, points int, first_at timestamptz, last_at timestamptz, "
        "digest text, wkt text",
        piece_rows,
    )
    _refuse_unknown_people(conn, [r["person"] for r in patrol_rows], "patrols.geojson")
    # Kept as SQL: the new patrols' pieces with their lengths in metres, then the patrols'
    # totals from them, in two set-based statements over the staging tables.
    conn.execute(
        text(
            "CREATE TEMP TABLE _piece_new ON COMMIT DROP AS "
            "SELECT s.*, ST_GeomFromText(s.wkt, 4326) AS geom, "
            "ST_Length(ST_Force2D(ST_GeomFromText(s.wkt, 4326))::geography) AS length_m "
            "FROM _patrol_piece_in s WHERE NOT EXISTS (SELECT 1 FROM patrol p WHERE p.key = s.key)"
        )
    )
    change = _upsert(
        conn,
        table="patrol",
        staged="_patrol_in",
        key=["key"],
        columns=[],
        select="SELECT i.key, p.id, CAST(i.grid_codes AS varchar(15)[]), i.started_at, "
        "i.ended_at, i.points, "
        "coalesce((SELECT sum(n.length_m) FROM _piece_new n WHERE n.key = i.key), 0), "
        "'loader' FROM _patrol_in i JOIN person p ON p.key = i.person",
        insert_columns=[
            "key",
            "person_id",
            "grid_codes",
            "started_at",
            "ended_at",
            "points",
            "length_m",
            "created_by",
        ],
    )
    conn.execute(
        text(
            "INSERT INTO patrol_piece (patrol_id, seq, points, first_at, last_at, length_m, "
            "digest, geom) SELECT p.id, n.seq, n.points, n.first_at, n.last_at, n.length_m, "
            "n.digest, n.geom FROM _piece_new n JOIN patrol p ON p.key = n.key"
        )
    )
    return change
