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
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
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
from gridmap.queries import partitions
from gridmap.queries.address import refresh_address_keys
from gridmap.queries.assign import rederive_grids
from gridmap.services.circles import ensure as ensure_circles
from gridmap.services.incidents import derive_times, working_hours
from gridmap.services.patrols import refresh_streets
from gridmap.services.whistle import suggest
from gridmap.vocab.codes import PHONE
from gridmap.vocab.kinds import LIST_ASSIGNEES, LIST_SOURCES, ORG_KINDS, UNIT_KINDS

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
    "party_orgs.csv",
    "resident_units.geojson",
    "party_members.csv",
    "party_posts.csv",
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
    """Insert new rows, update rows whose columns differ, leave identical rows untouched (no
    ``key``: the table's own trigger skips the rows it already holds)."""
    cols = insert_columns or key + columns
    source = select or f"SELECT {', '.join(cols)} FROM {staged}"
    differs = " OR ".join(
        f"{table}.{c} IS DISTINCT FROM EXCLUDED.{c}"
        if c != "geom"
        else f"ST_AsEWKB({table}.geom) IS DISTINCT FROM ST_AsEWKB(EXCLUDED.geom)"
        for c in columns
    )
    conflict = (
        f"ON CONFLICT ({', '.join(key)}) DO "
        + (
            f"UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in columns)} WHERE {differs} "
            if columns
            else "NOTHING "
        )
        if key
        else ""
    )
    sql = (
        f"INSERT INTO {table} ({', '.join(cols)}) {source} {conflict}"
        # Without a conflict clause every row returned is new (and a partitioned table has no
        # xmax to return).
        + ("RETURNING (xmax = 0) AS inserted" if key else "RETURNING true AS inserted")
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
    :func:`field_shift` says for ``now`` (the clock's time if None) in ``timezone``; the times
    the organisation's files and the list items give in days before the load are counted back
    from the end of the field work so moved. The organisation (party_orgs.csv and the files
    after it) is written back to what the files say: its rows by code or key, the grids and
    buildings of its organisations, the designated households' groups.
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
    units = _features(folder, "resident_units.geojson", ("Point",))
    visits = _rows(folder, "visits.csv")
    now = now or datetime.now(UTC)
    shift = field_shift(_last_field_time(patrols, visits), now, timezone=timezone)
    # The organisation's and the lists' times are days before the start of the day of the
    # load (where the field work ends once moved), the same for every load that day.
    zone = ZoneInfo(timezone)
    anchor = datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone)

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

        say("Party organisations")
        report.tables.update(_load_orgs(conn, _rows(folder, "party_orgs.csv")))

        say("households")
        report.tables["household"] = _load_households(conn, _rows(folder, "households.csv"))

        say("resident units and Party members")
        report.tables["resident_unit"] = _load_units(conn, units, anchor.date())
        report.tables.update(_load_members(conn, _rows(folder, "party_members.csv"), anchor))
        report.tables["party_post"] = _load_posts(conn, _rows(folder, "party_posts.csv"), anchor)

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
        report.tables["list_item"] = _load_items(conn, items, anchor)

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
    """Households by building, unit and room; whom each designated household serves
    (``served_by_room``, in ``served_by_building`` when not the household's own building) and,
    when the file has ``group_code``, the group (党小组) a designated household belongs to."""
    with_groups = bool(rows) and "group_code" in rows[0]
    _stage(
        conn,
        "_household_in",
        "line int, building_code text, unit text, room text, designated bool, "
        "party_members int, served_by_room text, served_by_building text, contact_name text, "
        "contact_phone text, group_code text",
        [
            {
                "line": n,
                "building_code": r["building_code"],
                "unit": r["unit"],
                "room": r["room"],
                "designated": r.get("designated", "").lower() in ("true", "1", "yes"),
                "party_members": int(r.get("party_members") or 0),
                "served_by_room": _none(r.get("served_by_room")),
                "served_by_building": _none(r.get("served_by_building")),
                "contact_name": _none(r.get("contact_name")),
                "contact_phone": _none(r.get("contact_phone")),
                "group_code": _none(r.get("group_code")),
            }
            for n, r in enumerate(rows, start=2)
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
    bad = _first_bad(
        conn,
        "SELECT h.line, h.group_code, h.building_code FROM _household_in h "
        "WHERE h.group_code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM party_org o "
        "JOIN party_org_building ob ON ob.org_id = o.id JOIN building b ON b.id = ob.building_id "
        "WHERE o.code = h.group_code AND o.kind = 'group' AND b.code = h.building_code)",
    )
    if bad is not None:
        raise DataSetError(
            f"households.csv line {bad[0]}: group {bad[1]} is no group of building {bad[2]}"
        )
    group = ", g.id" if with_groups else ""
    change = _upsert(
        conn,
        table="household",
        staged="_household_in",
        key=["building_id", "unit", "room"],
        columns=[
            "designated",
            "party_members",
            "contact_name",
            "contact_phone",
            *(["group_id"] if with_groups else []),
        ],
        select="SELECT b.id, h.unit, h.room, h.designated, h.party_members, h.contact_name, "
        f"h.contact_phone{group} FROM _household_in h JOIN building b ON b.code = h.building_code "
        "LEFT JOIN party_org g ON g.code = h.group_code",
    )
    # Kept as SQL: links households to their designated household through the staging table,
    # and unlinks those the file says nobody serves.
    conn.execute(
        text(
            "UPDATE household t SET served_by = s.served FROM ("
            "SELECT b.id AS building_id, h.unit, h.room, d.id AS served FROM _household_in h "
            "JOIN building b ON b.code = h.building_code "
            "LEFT JOIN building sb ON sb.code = coalesce(h.served_by_building, h.building_code) "
            "LEFT JOIN household d ON d.building_id = sb.id "
            " AND d.unit || '/' || d.room = h.served_by_room) s "
            "WHERE t.building_id = s.building_id AND t.unit = s.unit AND t.room = s.room "
            "AND t.served_by IS DISTINCT FROM s.served"
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
    # Each month of the incidents gets its partition first: the default one stays empty.
    partitions.make_months_of(conn, staged="_incident_in", column="reported_at")
    # Incidents are history: an existing one is never rewritten by a load. Their keys are
    # unique in incident_key, whose insert trigger skips an incident already stored.
    incident_change = _upsert(
        conn,
        table="incident",
        staged="_incident_in",
        key=[],
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
        "FROM _event_in e JOIN incident_key i ON i.idempotency_key = e.incident_key "
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
            "FROM _task_in t JOIN incident_key i ON i.idempotency_key = t.incident_key "
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
            " FROM _task_in t JOIN incident_key i ON i.idempotency_key = t.incident_key) f "
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
            "FROM _approval_in a JOIN incident_key i ON i.idempotency_key = a.incident_key "
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


# ---- the Party organisation (party_orgs.csv, resident_units.geojson, party_members.csv,
# party_posts.csv) --------------------------------------------------------------------------------

ORG_PARENT = {"branch": "committee", "group": "branch"}
_CODE = re.compile(r"^[A-Za-z][0-9A-Za-z-]{1,31}$")


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(";") if v.strip()]


def _bool(value: Any) -> bool:
    return str(value or "").strip().lower() in ("true", "1", "yes")


def _number(
    value: Any, where: str, what: str, *, low: float = 0, high: float = 1e6
) -> float | None:
    """A finite number from ``low`` to ``high``, or None when empty."""
    if value in ("", None):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DataSetError(f"{where}: {what} {value!r} is not a number") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise DataSetError(f"{where}: {what} {value!r} is not between {low:g} and {high:g}")
    return number


def _code(value: Any, where: str, what: str = "code") -> str:
    code = str(value or "").strip()
    if not _CODE.match(code):
        raise DataSetError(
            f"{where}: {what} {code!r} is not a code (a letter, then letters, digits or '-', "
            "at most 32)"
        )
    return code


def _phone(value: Any, where: str) -> str | None:
    phone = str(value or "").strip() or None
    if phone is not None and not re.match(PHONE, phone):
        raise DataSetError(f"{where}: phone {phone!r} is not a phone number")
    return phone


def _first_bad(conn: Connection, sql: str) -> Any:
    # Kept as SQL: the first line of a staging table that fails a check (an anti-join).
    return conn.execute(text(sql + " ORDER BY 1 LIMIT 1")).first()


def _ago(anchor: datetime, days: float | None) -> datetime | None:
    return None if days is None else anchor - timedelta(days=days)


def _org_rows(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """party_orgs.csv checked line by line: codes, kinds, parents in the file, one branch a
    grid and one group a building."""
    out: list[dict[str, Any]] = []
    lines: dict[str, int] = {}
    kinds: dict[str, str] = {}
    grids: dict[str, int] = {}
    buildings: dict[str, int] = {}
    for n, r in enumerate(rows, start=2):
        where = f"party_orgs.csv line {n}"
        code = _code(r.get("code"), where)
        if code in lines:
            raise DataSetError(f"{where}: code {code} is on line {lines[code]} too")
        kind = (r.get("kind") or "").strip()
        if kind not in ORG_KINDS:
            raise DataSetError(f"{where}: kind {kind!r} is not one of {', '.join(ORG_KINDS)}")
        name = (r.get("name") or "").strip()
        if not name:
            raise DataSetError(f"{where}: the organisation has no name")
        parent = (r.get("parent_code") or "").strip() or None
        if kind == "committee" and parent:
            raise DataSetError(f"{where}: a committee (社区大党委) has no parent")
        if kind != "committee" and not parent:
            raise DataSetError(f"{where}: a {kind} needs a parent {ORG_PARENT[kind]}")
        if parent in kinds and kinds[parent] != ORG_PARENT[kind]:
            raise DataSetError(
                f"{where}: the parent of a {kind} is a {ORG_PARENT[kind]}, "
                f"{parent} is a {kinds[parent]}"
            )
        grid_codes, building_codes = _split(r.get("grid_codes")), _split(r.get("building_codes"))
        if grid_codes and kind != "branch":
            raise DataSetError(f"{where}: only a branch (网格党支部) links grids")
        if building_codes and kind != "group":
            raise DataSetError(f"{where}: only a group (党小组) links buildings")
        for grid in grid_codes:
            if grid in grids:
                raise DataSetError(f"{where}: grid {grid} already has a branch, line {grids[grid]}")
            grids[grid] = n
        for building in building_codes:
            if building in buildings:
                raise DataSetError(
                    f"{where}: building {building} already has a group, line {buildings[building]}"
                )
            buildings[building] = n
        lines[code], kinds[code] = n, kind
        out.append(
            {
                "line": n,
                "code": code,
                "kind": kind,
                "name": name,
                "parent_code": parent,
                "community_code": (r.get("community_code") or "").strip(),
                "grid_codes": grid_codes,
                "building_codes": building_codes,
                "secretary_name": (r.get("secretary_name") or "").strip() or None,
                "secretary_phone": _phone(r.get("secretary_phone"), where),
            }
        )
    return out


def _link_change(conn: Connection, table: str, column: str, staged: str) -> TableChange:
    """Make the links of the file's organisations those of the file: a grid or building the
    file gives another organisation moves to it, a link the file no longer has goes."""
    # Kept as SQL: set-based deletes and an insert of link rows against a staging table.
    gone = conn.execute(
        text(
            f"DELETE FROM {table} t USING party_org o WHERE o.id = t.org_id AND ("
            f"(o.code IN (SELECT code FROM _org_in) AND NOT EXISTS (SELECT 1 FROM {staged} s "
            f" WHERE s.code = o.code AND s.{column} = t.{column})) OR "
            f"EXISTS (SELECT 1 FROM {staged} s WHERE s.{column} = t.{column} AND s.code <> o.code))"
        )
    ).rowcount
    made = conn.execute(
        text(
            f"INSERT INTO {table} (org_id, {column}) SELECT o.id, s.{column} FROM {staged} s "
            "JOIN party_org o ON o.code = s.code ON CONFLICT DO NOTHING"
        )
    ).rowcount
    total = conn.execute(text(f"SELECT count(*) FROM {staged} AS c")).scalar_one()
    return TableChange(inserted=made, deleted=gone, unchanged=int(total) - made)


def _load_orgs(conn: Connection, rows: list[dict[str, str]]) -> dict[str, TableChange]:
    """Committees, then branches, then groups by code, and their grids and buildings."""
    orgs = _org_rows(rows)
    _stage(
        conn,
        "_org_in",
        "line int, code text, kind text, name text, parent_code text, community_code text, "
        "secretary_name text, secretary_phone text",
        [{k: v for k, v in o.items() if k not in ("grid_codes", "building_codes")} for o in orgs],
    )
    _stage(
        conn,
        "_org_grid_in",
        "line int, code text, grid_code text",
        [
            {"line": o["line"], "code": o["code"], "grid_code": g}
            for o in orgs
            for g in o["grid_codes"]
        ],
    )
    _stage(
        conn,
        "_org_building_in",
        "line int, code text, building_code text",
        [
            {"line": o["line"], "code": o["code"], "building_code": b}
            for o in orgs
            for b in o["building_codes"]
        ],
    )
    checks = (
        (
            "SELECT o.line, o.community_code FROM _org_in o LEFT JOIN region r "
            "ON r.code = o.community_code AND r.level = 'community' WHERE r.code IS NULL",
            "community {} is no community of the data set",
        ),
        (
            "SELECT o.line, o.parent_code FROM _org_in o WHERE o.parent_code IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM _org_in p WHERE p.code = o.parent_code) "
            "AND NOT EXISTS (SELECT 1 FROM party_org p WHERE p.code = o.parent_code "
            " AND p.kind = CASE o.kind WHEN 'branch' THEN 'committee' ELSE 'branch' END)",
            "unknown parent organisation {}",
        ),
        (
            "SELECT o.line, o.parent_code FROM _org_in o "
            "LEFT JOIN _org_in f ON f.code = o.parent_code "
            "LEFT JOIN party_org d ON d.code = o.parent_code "
            "WHERE o.parent_code IS NOT NULL "
            "AND coalesce(f.community_code, d.community_code) <> o.community_code",
            "its parent {} belongs to another community",
        ),
        (
            "SELECT s.line, s.grid_code FROM _org_grid_in s WHERE NOT EXISTS "
            "(SELECT 1 FROM grid g WHERE g.code = s.grid_code AND g.valid_to IS NULL)",
            "unknown grid {}",
        ),
        (
            "SELECT s.line, s.grid_code || ' lies in ' || g.community_code FROM _org_grid_in s "
            "JOIN _org_in o ON o.code = s.code JOIN grid g ON g.code = s.grid_code "
            "AND g.valid_to IS NULL WHERE g.community_code <> o.community_code",
            "grid {}, another community",
        ),
        (
            "SELECT s.line, s.building_code FROM _org_building_in s "
            "LEFT JOIN building b ON b.code = s.building_code WHERE b.id IS NULL",
            "unknown building {}",
        ),
        (
            "SELECT s.line, s.building_code || ' lies in ' || "
            "coalesce(g.community_code, 'no grid') FROM _org_building_in s "
            "JOIN _org_in o ON o.code = s.code JOIN building b ON b.code = s.building_code "
            "LEFT JOIN grid g ON g.code = b.grid_code AND g.valid_to IS NULL "
            "WHERE g.community_code IS DISTINCT FROM o.community_code",
            "building {}, outside the organisation's community",
        ),
    )
    for sql, words in checks:
        bad = _first_bad(conn, sql)
        if bad is not None:
            raise DataSetError(f"party_orgs.csv line {bad[0]}: {words.format(bad[1])}")
    change = TableChange()
    for kind in ORG_KINDS:
        part = _upsert(
            conn,
            table="party_org",
            staged="_org_in",
            key=["code"],
            columns=["kind", "name", "parent_id", "community_code"],
            select="SELECT o.code, o.kind, o.name, p.id, o.community_code FROM _org_in o "
            f"LEFT JOIN party_org p ON p.code = o.parent_code WHERE o.kind = '{kind}'",
        )
        change.inserted += part.inserted
        change.updated += part.updated
        change.unchanged += part.unchanged
    return {
        "party_org": change,
        "party_org_grid": _link_change(conn, "party_org_grid", "grid_code", "_org_grid_in"),
        "party_org_building": _link_change(
            conn,
            "party_org_building",
            "building_id",
            "(SELECT s.code, b.id AS building_id FROM _org_building_in s "
            "JOIN building b ON b.code = s.building_code)",
        ),
    }


def _load_units(
    conn: Connection, units: list[tuple[dict[str, Any], Any]], today: date
) -> TableChange:
    """Resident units (驻区单位) by code; their grid and community from their point."""
    rows, seen = [], set()
    for i, (p, g) in enumerate(units):
        where = f"resident_units.geojson feature {i}"
        code = _code(p.get("code"), where)
        if code in seen:
            raise DataSetError(f"{where}: code {code} is given twice")
        seen.add(code)
        kind = str(p.get("kind") or "").strip()
        if kind not in UNIT_KINDS:
            raise DataSetError(f"{where}: kind {kind!r} is not one of {', '.join(UNIT_KINDS)}")
        if not str(p.get("name") or "").strip():
            raise DataSetError(f"{where}: the unit has no name")
        if g is None:
            raise DataSetError(f"{where}: the unit has no point")
        joined = _number(p.get("joined_days_ago"), where, "joined_days_ago", high=36500)
        rows.append(
            {
                "line": i,
                "code": code,
                "name": str(p["name"]).strip(),
                "kind": kind,
                "address": _none(p.get("address")),
                "committee_code": _none(p.get("committee_code")),
                "joined_at": None if joined is None else today - timedelta(days=round(joined)),
                "contact_name": _none(p.get("contact_name")),
                "contact_phone": _phone(p.get("contact_phone"), where),
                "geom_wkb": _wkb(g),
            }
        )
    _stage(
        conn,
        "_unit_in",
        "line int, code text, name text, kind text, address text, committee_code text, "
        "joined_at date, contact_name text, contact_phone text, geom_wkb text",
        rows,
    )
    # Kept as SQL: each unit's grid and community from its point, in one pass.
    conn.execute(
        text(
            "CREATE TEMP TABLE _unit_new ON COMMIT DROP AS "
            "SELECT u.*, p.geom, g.code AS grid_code, "
            "coalesce(g.community_code, (SELECT r.code FROM region r WHERE r.level = 'community' "
            " AND ST_Intersects(r.geom, p.geom) ORDER BY r.code LIMIT 1)) AS community_code "
            f"FROM _unit_in u, LATERAL (SELECT {GEOM} AS geom) p "
            "LEFT JOIN LATERAL (SELECT g.code, g.community_code FROM grid_piece gp "
            " JOIN grid g ON g.id = gp.grid_id WHERE g.valid_to IS NULL "
            " AND ST_Intersects(gp.geom, p.geom) ORDER BY g.code LIMIT 1) g ON true"
        )
    )
    for sql, words in (
        (
            "SELECT u.line, u.committee_code FROM _unit_new u WHERE u.committee_code IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM party_org o WHERE o.code = u.committee_code "
            "AND o.kind = 'committee')",
            "unknown committee {}",
        ),
        (
            "SELECT u.line, u.committee_code || ' is of ' || o.community_code || ', the unit in ' "
            "|| coalesce(u.community_code, 'no community') FROM _unit_new u "
            "JOIN party_org o ON o.code = u.committee_code "
            "WHERE o.community_code IS DISTINCT FROM u.community_code",
            "committee {}",
        ),
    ):
        bad = _first_bad(conn, sql)
        if bad is not None:
            raise DataSetError(f"resident_units.geojson feature {bad[0]}: {words.format(bad[1])}")
    return _upsert(
        conn,
        table="resident_unit",
        staged="_unit_new",
        key=["code"],
        columns=[
            "name",
            "kind",
            "address",
            "grid_code",
            "community_code",
            "committee_id",
            "joined_at",
            "contact_name",
            "contact_phone",
            "geom",
        ],
        select="SELECT u.code, u.name, u.kind, u.address, u.grid_code, u.community_code, o.id, "
        "u.joined_at, u.contact_name, u.contact_phone, u.geom FROM _unit_new u "
        "LEFT JOIN party_org o ON o.code = u.committee_code",
    )


def _member_rows(rows: list[dict[str, str]], anchor: datetime) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for n, r in enumerate(rows, start=2):
        where = f"party_members.csv line {n}"
        key = (r.get("key") or "").strip()
        if not key:
            raise DataSetError(f"{where}: the member has no key")
        if key in seen:
            raise DataSetError(f"{where}: key {key} is on line {seen[key]} too")
        seen[key] = n
        name = (r.get("name") or "").strip()
        if not name:
            raise DataSetError(f"{where}: the member has no name")
        org = (r.get("org_code") or "").strip() or None
        registered = (r.get("registered_community") or "").strip() or None
        if org is None and registered is None:
            raise DataSetError(
                f"{where}: a member belongs to an organisation (org_code) or is registered "
                "with a community (registered_community)"
            )
        days = _number(r.get("registered_days_ago"), where, "registered_days_ago", high=36500)
        if registered is not None and days is None:
            raise DataSetError(f"{where}: registered_days_ago is missing")
        home = [(r.get(k) or "").strip() for k in ("building_code", "unit", "room")]
        out.append(
            {
                "line": n,
                "key": key,
                "name": name,
                "phone": _phone(r.get("phone"), where),
                "org_code": org,
                "in_service": _bool(r.get("in_service")),
                "employer": (r.get("employer") or "").strip() or None,
                "employer_unit_code": (r.get("employer_unit_code") or "").strip() or None,
                "registered_community": registered,
                "registered_at": _ago(anchor, days) if registered else None,
                "building_code": home[0] or None,
                "unit": home[1] or None,
                "room": home[2] or None,
                "hours": _number(r.get("hours"), where, "hours", high=100_000) or 0,
            }
        )
    return out


def _load_members(
    conn: Connection, rows: list[dict[str, str]], anchor: datetime
) -> dict[str, TableChange]:
    """Party members by key (the key of their person), then the organisations' secretaries."""
    _stage(
        conn,
        "_member_in",
        "line int, key text, name text, phone text, org_code text, in_service bool, "
        "employer text, employer_unit_code text, registered_community text, "
        "registered_at timestamptz, building_code text, unit text, room text, hours numeric",
        _member_rows(rows, anchor),
    )
    for sql, words in (
        (
            "SELECT m.line, m.org_code FROM _member_in m WHERE m.org_code IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM party_org o WHERE o.code = m.org_code)",
            "unknown organisation {}",
        ),
        (
            "SELECT m.line, m.employer_unit_code FROM _member_in m "
            "WHERE m.employer_unit_code IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM resident_unit u WHERE u.code = m.employer_unit_code)",
            "unknown resident unit {}",
        ),
        (
            "SELECT m.line, m.registered_community FROM _member_in m "
            "WHERE m.registered_community IS NOT NULL AND NOT EXISTS (SELECT 1 FROM region r "
            "WHERE r.code = m.registered_community AND r.level = 'community')",
            "unknown community {}",
        ),
        (
            "SELECT m.line, concat_ws(' ', m.building_code, m.unit, m.room) FROM _member_in m "
            "WHERE m.building_code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM household h "
            "JOIN building b ON b.id = h.building_id WHERE b.code = m.building_code "
            "AND h.unit = m.unit AND h.room = m.room)",
            "unknown household {}",
        ),
    ):
        bad = _first_bad(conn, sql)
        if bad is not None:
            raise DataSetError(f"party_members.csv line {bad[0]}: {words.format(bad[1])}")
    # Secretaries not among the members are people named by name and phone.
    conn.execute(
        text(
            "CREATE TEMP TABLE _person_in ON COMMIT DROP AS "
            "SELECT key, name, phone FROM _member_in UNION ALL "
            "SELECT DISTINCT ON (o.secretary_name, o.secretary_phone) "
            "o.secretary_name || '|' || coalesce(o.secretary_phone, o.code), o.secretary_name, "
            "o.secretary_phone FROM _org_in o WHERE o.secretary_name IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM _member_in m WHERE m.name = o.secretary_name "
            "AND m.phone IS NOT DISTINCT FROM o.secretary_phone)"
        )
    )
    people = _upsert(
        conn,
        table="person",
        staged="_person_in",
        key=["key"],
        columns=["name", "phone"],
        select="SELECT DISTINCT ON (key) key, name, phone FROM _person_in ORDER BY key",
        insert_columns=["key", "name", "phone"],
    )
    members = _upsert(
        conn,
        table="party_member",
        staged="_member_in",
        key=["person_id"],
        columns=[
            "org_id",
            "in_service",
            "employer",
            "employer_unit_id",
            "registered_community",
            "registered_at",
            "household_id",
            "hours_served",
        ],
        select="SELECT p.id, o.id, m.in_service, m.employer, u.id, m.registered_community, "
        "m.registered_at, h.id, m.hours FROM _member_in m JOIN person p ON p.key = m.key "
        "LEFT JOIN party_org o ON o.code = m.org_code "
        "LEFT JOIN resident_unit u ON u.code = m.employer_unit_code "
        "LEFT JOIN building b ON b.code = m.building_code "
        "LEFT JOIN household h ON h.building_id = b.id AND h.unit = m.unit AND h.room = m.room",
    )
    # Kept as SQL: each organisation's secretary, by name and phone, in one update.
    conn.execute(
        text(
            "UPDATE party_org o SET secretary_id = s.person_id FROM ("
            "SELECT i.code, (SELECT p.id FROM person p WHERE p.key = coalesce("
            " (SELECT m.key FROM _member_in m WHERE m.name = i.secretary_name "
            "  AND m.phone IS NOT DISTINCT FROM i.secretary_phone ORDER BY m.line LIMIT 1), "
            " i.secretary_name || '|' || coalesce(i.secretary_phone, i.code))) AS person_id "
            "FROM _org_in i) s "
            "WHERE o.code = s.code AND o.secretary_id IS DISTINCT FROM s.person_id"
        )
    )
    return {"person_member": people, "party_member": members}


def _load_posts(conn: Connection, rows: list[dict[str, str]], anchor: datetime) -> TableChange:
    """Posts (设岗定责) by code, with the member who holds one and its hours."""
    staged: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for n, r in enumerate(rows, start=2):
        where = f"party_posts.csv line {n}"
        code = _code(r.get("code"), where)
        if code in seen:
            raise DataSetError(f"{where}: code {code} is on line {seen[code]} too")
        seen[code] = n
        title = (r.get("title") or "").strip()
        if not title:
            raise DataSetError(f"{where}: the post has no title")
        member = (r.get("member_key") or "").strip() or None
        days = _number(r.get("claimed_days_ago"), where, "claimed_days_ago", high=36500)
        if member is not None and days is None:
            raise DataSetError(f"{where}: claimed_days_ago is missing")
        staged.append(
            {
                "line": n,
                "code": code,
                "title": title,
                "duty": (r.get("duty") or "").strip() or None,
                "community_code": (r.get("community_code") or "").strip(),
                "grid_code": (r.get("grid_code") or "").strip() or None,
                "org_code": (r.get("org_code") or "").strip() or None,
                "member_key": member,
                "claimed_at": _ago(anchor, days) if member else None,
                "hours": _number(r.get("hours"), where, "hours", high=100_000) or 0,
            }
        )
    _stage(
        conn,
        "_post_in",
        "line int, code text, title text, duty text, community_code text, grid_code text, "
        "org_code text, member_key text, claimed_at timestamptz, hours numeric",
        staged,
    )
    for sql, words in (
        (
            "SELECT s.line, s.community_code FROM _post_in s WHERE NOT EXISTS (SELECT 1 FROM "
            "region r WHERE r.code = s.community_code AND r.level = 'community')",
            "unknown community {}",
        ),
        (
            "SELECT s.line, s.grid_code FROM _post_in s WHERE s.grid_code IS NOT NULL AND "
            "NOT EXISTS (SELECT 1 FROM grid g WHERE g.code = s.grid_code AND g.valid_to IS NULL "
            "AND g.community_code = s.community_code)",
            "grid {} is no grid of the post's community",
        ),
        (
            "SELECT s.line, s.org_code FROM _post_in s WHERE s.org_code IS NOT NULL AND "
            "NOT EXISTS (SELECT 1 FROM party_org o WHERE o.code = s.org_code)",
            "unknown organisation {}",
        ),
        (
            "SELECT s.line, s.member_key FROM _post_in s WHERE s.member_key IS NOT NULL AND "
            "NOT EXISTS (SELECT 1 FROM person p JOIN party_member m ON m.person_id = p.id "
            "WHERE p.key = s.member_key)",
            "unknown member {}",
        ),
    ):
        bad = _first_bad(conn, sql)
        if bad is not None:
            raise DataSetError(f"party_posts.csv line {bad[0]}: {words.format(bad[1])}")
    return _upsert(
        conn,
        table="party_post",
        staged="_post_in",
        key=["code"],
        columns=[
            "title",
            "duty",
            "community_code",
            "grid_code",
            "org_id",
            "member_id",
            "claimed_at",
            "hours",
        ],
        select="SELECT s.code, s.title, s.duty, s.community_code, s.grid_code, o.id, m.id, "
        "s.claimed_at, s.hours FROM _post_in s LEFT JOIN party_org o ON o.code = s.org_code "
        "LEFT JOIN person p ON p.key = s.member_key "
        "LEFT JOIN party_member m ON m.person_id = p.id",
    )


ITEM_TEXT = (
    "description",
    "assigned_by",
    "taken_by",
    "report",
    "service_content",
    "service_standard",
    "responsible_unit",
    "responsible_person",
)


def _item_row(i: int, p: dict[str, Any], g: Any, anchor: datetime) -> dict[str, Any]:
    """A list item's staged values: what it is, and its flow (member by key, unit by code,
    times in days before ``anchor``)."""
    where = f"list_items.geojson feature {i}"
    via = _none(p.get("via"))
    if via is not None and via not in LIST_SOURCES:
        raise DataSetError(f"{where}: via {via!r} is not one of {', '.join(LIST_SOURCES)}")
    assignee = _none(p.get("assignee_kind"))
    if assignee is not None and assignee not in LIST_ASSIGNEES:
        raise DataSetError(
            f"{where}: assignee_kind {assignee!r} is not one of {', '.join(LIST_ASSIGNEES)}"
        )
    wish = _bool(p.get("wish"))
    if wish and p.get("list") != "need":
        raise DataSetError(f"{where}: a wish (微心愿) is a need")
    times = {
        f"{t}_at": _ago(anchor, _number(p.get(f"{t}_days_ago"), where, f"{t}_days_ago", high=36500))
        for t in ("created", "assigned", "taken", "done")
    }
    due = _number(p.get("due_in_days"), where, "due_in_days", low=-36500, high=36500)
    return {
        "line": i,
        **_fields(
            p,
            ["code", "list", "category", "title", "owner_kind"],
            ["owner_name", "contact_name", "contact_phone", *ITEM_TEXT],
        ),
        "status": p.get("status") or "open",
        "wish": wish,
        "source": via,
        "unit_code": _none(p.get("unit_code")),
        "assignee_kind": assignee,
        "member_key": _none(p.get("member_key")),
        **times,
        "hours": _number(p.get("hours"), where, "hours", high=1000),
        "due_date": None if due is None else anchor.date() + timedelta(days=round(due)),
        "geom_wkb": _wkb(g),
    }


def _load_items(
    conn: Connection, items: list[tuple[dict[str, Any], Any]], anchor: datetime
) -> TableChange:
    """List items by code, with their grid (from the point) and its branch, and their flow."""
    _stage(
        conn,
        "_item_in",
        "line int, code text, list text, category text, title text, owner_kind text, "
        "owner_name text, contact_name text, contact_phone text, "
        + ", ".join(f"{c} text" for c in ITEM_TEXT)
        + ", status text, wish bool, source text, unit_code text, assignee_kind text, "
        "member_key text, created_at timestamptz, assigned_at timestamptz, taken_at timestamptz, "
        "done_at timestamptz, hours numeric, due_date date, geom_wkb text",
        [_item_row(i, p, g, anchor) for i, (p, g) in enumerate(items)],
    )
    for sql, words in (
        (
            "SELECT i.line, i.member_key FROM _item_in i WHERE i.member_key IS NOT NULL AND "
            "NOT EXISTS (SELECT 1 FROM person p JOIN party_member m ON m.person_id = p.id "
            "WHERE p.key = i.member_key)",
            "unknown member {}",
        ),
        (
            "SELECT i.line, i.unit_code FROM _item_in i WHERE i.unit_code IS NOT NULL AND "
            "NOT EXISTS (SELECT 1 FROM resident_unit u WHERE u.code = i.unit_code)",
            "unknown resident unit {}",
        ),
    ):
        bad = _first_bad(conn, sql)
        if bad is not None:
            raise DataSetError(f"list_items.geojson feature {bad[0]}: {words.format(bad[1])}")
    flow = [
        "wish",
        "source",
        "org_id",
        "unit_id",
        "assignee_kind",
        "member_id",
        "assigned_by",
        "assigned_at",
        "taken_by",
        "taken_at",
        "done_at",
        "report",
        "hours",
        "service_content",
        "service_standard",
        "due_date",
        "responsible_unit",
        "responsible_person",
        "description",
        "created_at",
    ]
    return _upsert(
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
            *flow,
        ],
        select="SELECT i.code, i.list, i.category, i.title, i.owner_kind, i.owner_name, "
        "i.contact_name, i.contact_phone, i.status, p.geom, g.code, "
        "i.wish, i.source, (SELECT og.org_id FROM party_org_grid og WHERE og.grid_code = g.code), "
        "u.id, i.assignee_kind, m.id, i.assigned_by, i.assigned_at, i.taken_by, i.taken_at, "
        "i.done_at, i.report, i.hours, i.service_content, i.service_standard, i.due_date, "
        "i.responsible_unit, i.responsible_person, i.description, "
        "coalesce(i.created_at, l.created_at, now()) "
        "FROM _item_in i "
        "LEFT JOIN list_item l ON l.code = i.code "
        "LEFT JOIN resident_unit u ON u.code = i.unit_code "
        "LEFT JOIN person pm ON pm.key = i.member_key "
        "LEFT JOIN party_member m ON m.person_id = pm.id, "
        "LATERAL (SELECT ST_SetSRID(ST_GeomFromWKB(decode(i.geom_wkb, 'hex')), 4326) "
        "AS geom) p "
        "LEFT JOIN LATERAL (SELECT g.code FROM grid_piece gp JOIN grid g ON g.id = gp.grid_id "
        " WHERE g.valid_to IS NULL AND ST_Intersects(gp.geom, p.geom) "
        " ORDER BY g.code LIMIT 1) g ON true",
    )
