"""gridmap.queries.grid_writes: create, change, retire and renumber grids, keeping the rules.

Every write runs in the caller's transaction and either lands whole or raises having written
nothing. Writes to one community's grids are serialised by a transaction-scoped advisory lock,
so two editors can never both pass the overlap check against a state the other is changing.
A change never overwrites a row: the current version is retired (``valid_to``) and the next one
inserted, so history and ``?at=`` stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.auth import Principal
from gridmap.errors import (
    Conflict,
    GridNotFound,
    GridOverlap,
    InvalidGeometry,
    InvalidInput,
    OutsideCommunity,
    PreconditionFailed,
    PreconditionRequired,
)
from gridmap.geo import coverage as cov
from gridmap.geo.shapes import as_multipolygon, geojson_in, parse_polygonal, to_metric
from gridmap.queries import audit
from gridmap.queries.assign import rederive_grids
from gridmap.queries.grids import get_grid
from gridmap.schemas.grids import GridFeature
from gridmap.settings import ApiSettings


@dataclass(frozen=True)
class GridRules:
    """The coverage rule and code format writes are held to."""

    code_width: int = 3
    tolerance_m2: float = cov.TOLERANCE_M2
    sliver_m: float = cov.SLIVER_M
    edge_m: float = cov.EDGE_M
    snap_m: float = 1.0

    @classmethod
    def from_settings(cls, api: ApiSettings) -> GridRules:
        """The rules a deployment is configured with."""
        return cls(
            code_width=api.grid_code_width,
            tolerance_m2=api.grid_tolerance_m2,
            sliver_m=api.grid_sliver_m,
            snap_m=api.grid_snap_m,
        )

    def spill(
        self, grid: BaseGeometry, community: BaseGeometry, frame: cov.Frame
    ) -> BaseGeometry | None:
        """:func:`gridmap.geo.coverage.spill` under these rules."""
        return cov.spill(
            grid,
            community,
            edge_m=self.edge_m,
            tolerance_m2=self.tolerance_m2,
            sliver_m=self.sliver_m,
            frame=frame,
        )

    def significant(self, geom: BaseGeometry, frame: cov.Frame) -> list[BaseGeometry]:
        """:func:`gridmap.geo.coverage.significant` under these rules."""
        return cov.significant(
            geom, tolerance_m2=self.tolerance_m2, sliver_m=self.sliver_m, frame=frame
        )


@dataclass
class WriteResult:
    """What a write did: the grid as it now is, its ETag, and what ``?fix=true`` changed."""

    feature: dict[str, Any]
    etag: str
    changed: bool = True
    fixed: dict[str, Any] | None = None


def etag(code: str, version: int) -> str:
    """The ETag of one version of a grid."""
    return f'"{code}.v{version}"'


def check_if_match(if_match: str | None, current: str) -> None:
    """Raise unless ``If-Match`` names the current version (RFC 9110 strong comparison)."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            "this write needs an If-Match header with the grid's ETag (GET the grid first), "
            "so that an edit made meanwhile by someone else is not overwritten",
            etag=current,
        )
    tags = [t.strip() for t in if_match.split(",")]
    if "*" in tags or current in tags:
        return
    raise PreconditionFailed(
        f"the grid has changed since you read it: it is now at {current}, you sent "
        f"{if_match.strip()[:80]}; reload it, reapply your change and send the new ETag",
        etag=current,
    )


def _lock_community(session: Session, community: str) -> None:
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('gridmap.grid.' || :c))"), {"c": community}
    )


def _community_geom(session: Session, code: str) -> BaseGeometry:
    row = session.execute(
        text("SELECT level, ST_AsBinary(geom) AS wkb FROM region WHERE code = :c"), {"c": code}
    ).one_or_none()
    if row is None or row.level != "community":
        raise InvalidInput(
            f"unknown community {code!r}: no community with that code", field="community_code"
        )
    if row.wkb is None:
        raise InvalidInput(
            f"community {code} has no boundary in gridmap; load its polygon before drawing grids",
            field="community_code",
        )
    return shapely.from_wkb(bytes(row.wkb))


def _siblings(
    session: Session, community: str, exclude: str | None
) -> dict[str, tuple[str, BaseGeometry]]:
    rows = session.execute(
        text(
            "SELECT code, name, ST_AsBinary(geom) AS wkb FROM grid WHERE community_code = :c "
            "AND valid_to IS NULL AND code IS DISTINCT FROM :x"
        ),
        {"c": community, "x": exclude},
    )
    return {r.code: (r.name, shapely.from_wkb(bytes(r.wkb))) for r in rows}


def _fit_and_check(
    session: Session,
    *,
    community: str,
    geom: BaseGeometry,
    exclude: str | None,
    rules: GridRules,
    fix: bool,
) -> tuple[BaseGeometry, dict[str, Any] | None]:
    """The geometry to store (fitted when ``fix``), or the 422/409 that says why it can't be."""
    area = _community_geom(session, community)
    siblings = _siblings(session, community, exclude)
    frame = cov.Frame.around(area)
    geoms = {code: g for code, (_name, g) in siblings.items()}
    fixed = None
    if fix:
        fit = cov.fit_grid(
            geom,
            area,
            geoms,
            snap_m=rules.snap_m,
            tolerance_m2=rules.tolerance_m2,
            sliver_m=rules.sliver_m,
            frame=frame,
        )
        if fit.geom.is_empty:
            raise InvalidGeometry(
                "nothing is left of the grid once fitted: it lies outside its community or "
                "inside its neighbours",
                fixed=fit.changes(),
            )
        geom, fixed = as_multipolygon(shapely.make_valid(fit.geom)), fit.changes()
    out = rules.spill(geom, area, frame)
    if out is not None:
        outside_m2 = cov.area_m2(out, frame)
        raise OutsideCommunity(
            f"the grid reaches more than {rules.edge_m:g} m outside community {community}: "
            f"{outside_m2:.1f} m² lie outside it (send ?fix=true to clip it)",
            outside_area_m2=round(outside_m2, 1),
            outside=geojson_in(out, "EPSG:4326"),
        )
    clashes = []
    for code in sorted(geoms):
        shared = rules.significant(shapely.intersection(geom, geoms[code]), frame)
        if shared:
            piece = shapely.union_all(shared)
            clashes.append(
                {
                    "code": code,
                    "name": siblings[code][0],
                    "area_m2": round(cov.area_m2(piece, frame), 1),
                    "geometry": geojson_in(piece, "EPSG:4326"),
                }
            )
    if clashes:
        names = ", ".join(f"{c['code']} {c['name']} ({c['area_m2']} m²)" for c in clashes)
        raise GridOverlap(
            f"the grid overlaps {len(clashes)} neighbouring grid(s) by more than "
            f"{rules.tolerance_m2:g} m²: {names} (send ?fix=true to give way to them)",
            overlaps=clashes,
        )
    return geom, fixed


def _now(session: Session) -> datetime:
    # clock_timestamp, not now(): several versions may be written in one transaction.
    return session.execute(text("SELECT clock_timestamp()")).scalar_one()  # type: ignore[no-any-return]


def snapshot(session: Session, grid_id: int) -> dict[str, Any] | None:
    """One grid version as a GeoJSON Feature, for the audit log."""
    found: dict[str, Any] | None = session.execute(
        text(
            "SELECT json_build_object('type', 'Feature', 'id', g.id, "
            "'geometry', ST_AsGeoJSON(g.geom, 7)::json, "
            "'properties', to_jsonb(g) - 'geom') FROM grid g WHERE g.id = :id"
        ),
        {"id": grid_id},
    ).scalar_one_or_none()
    return found


def _retire(session: Session, ids: list[int], at: datetime) -> None:
    session.execute(
        text("UPDATE grid SET valid_to = :at WHERE id = ANY(:ids)"), {"at": at, "ids": ids}
    )


def _add_version(
    session: Session,
    *,
    code: str,
    community: str,
    props: dict[str, Any],
    geom: BaseGeometry,
    at: datetime,
    actor: str,
    note: str,
    action: str,
    before: dict[str, Any] | None = None,
    source: str | None = None,
) -> int:
    """Insert the next version of grid ``code`` and log it; returns the new row's id."""
    version = session.execute(
        text("SELECT coalesce(max(version), 0) + 1 FROM grid WHERE code = :c"), {"c": code}
    ).scalar_one()
    grid_id = int(
        session.execute(
            text(
                "INSERT INTO grid (code, version, community_code, name, kind, subtype, households, "
                "geom, valid_from, changed_by, source, note) VALUES (:code, :version, :community, "
                ":name, :kind, :subtype, :households, ST_Multi(ST_GeomFromWKB(:wkb, 4326)), :at, "
                ":actor, :source, :note) RETURNING id"
            ),
            {
                "code": code,
                "version": version,
                "community": community,
                "name": props["name"],
                "kind": props["kind"],
                "subtype": props.get("subtype"),
                "households": props.get("households"),
                "wkb": shapely.to_wkb(geom),
                "at": at,
                "actor": actor,
                "source": source,
                "note": note,
            },
        ).scalar_one()
    )
    audit.record(
        session,
        actor=actor,
        action=action,
        entity="grid",
        key=code,
        before=before,
        after=snapshot(session, grid_id),
    )
    return grid_id


def _rederive_around(session: Session, *geoms: BaseGeometry) -> None:
    box = shapely.envelope(shapely.union_all([g for g in geoms if g is not None]))
    rederive_grids(session, area_ewkt="SRID=4326;" + box.wkt)


def next_code(session: Session, community: str, width: int) -> str:
    """The next unused code of ``community``: codes of retired grids are never reused."""
    last = session.execute(
        text(
            "SELECT max(CAST(right(code, :w) AS int)) FROM grid "
            "WHERE community_code = :c AND length(code) = 12 + :w"
        ),
        {"c": community, "w": width},
    ).scalar_one()
    seq = (last or 0) + 1
    if seq >= 10**width:
        raise Conflict(
            f"community {community} has used all {10**width - 1} grid codes of {width} digits",
            community=community,
        )
    return f"{community}{seq:0{width}d}"


def _props(feature: GridFeature) -> dict[str, Any]:
    """The stored properties of a grid given whole (a new grid, or PUT), checked."""
    p = feature.properties
    props = {
        "name": p.name,
        "kind": p.kind or "basic",
        "subtype": p.subtype,
        "households": p.households,
    }
    _check_kind(props)
    return props


def _check_kind(props: dict[str, Any]) -> None:
    if props["kind"] == "basic" and props.get("subtype"):
        raise InvalidInput(
            "a basic grid has no subtype; subtypes belong to exclusive grids", field="subtype"
        )
    if props["kind"] == "exclusive" and not props.get("subtype"):
        raise InvalidInput(
            "an exclusive grid needs a subtype (campus, hospital, market, office, park, school, "
            "other)",
            field="subtype",
        )


def create_grid(
    session: Session,
    *,
    feature: GridFeature,
    crs: str,
    principal: Principal,
    rules: GridRules,
    fix: bool = False,
    note: str = "created",
    source: str | None = None,
) -> WriteResult:
    """Add a new grid (version 1), giving it the next free code when it has none."""
    p = feature.properties
    community = p.community_code or (p.code[:12] if p.code else None)
    if community is None:
        raise InvalidInput(
            "give properties.community_code (or a code that starts with it)", field="community_code"
        )
    principal.require_grid_editor(community)
    if p.code is not None and p.code[:12] != community:
        raise InvalidInput(
            f"code {p.code} does not belong to community {community}: a grid code is its "
            f"community's 12-digit code followed by a {rules.code_width}-digit sequence",
            field="code",
        )
    if p.code is not None and len(p.code) != 12 + rules.code_width:
        raise InvalidInput(
            f"grid codes here have {12 + rules.code_width} digits (community code + "
            f"{rules.code_width}); {p.code} has {len(p.code)}",
            field="code",
        )
    if not p.name:
        raise InvalidInput("a grid needs properties.name", field="name")
    if feature.geometry is None:
        raise InvalidGeometry("a grid needs a geometry (Polygon or MultiPolygon)")
    props = _props(feature)
    geom = parse_polygonal(feature.geometry, crs=crs)
    _lock_community(session, community)
    _community_geom(session, community)
    if p.code is not None:
        used = session.execute(
            text("SELECT bool_or(valid_to IS NULL) FROM grid WHERE code = :c"), {"c": p.code}
        ).scalar_one()
        if used is not None:
            raise Conflict(
                f"grid {p.code} already exists"
                if used
                else f"code {p.code} belonged to a retired grid; codes are not reused (leave the "
                "code out to get the next free one)",
                grid=p.code,
            )
    code = p.code or next_code(session, community, rules.code_width)
    final, fixed = _fit_and_check(
        session, community=community, geom=geom, exclude=None, rules=rules, fix=fix
    )
    _add_version(
        session,
        code=code,
        community=community,
        props=props,
        geom=final,
        at=_now(session),
        actor=principal.actor,
        note=note,
        action="create",
        source=source,
    )
    _rederive_around(session, final)
    return WriteResult(feature=get_grid(session, code=code), etag=etag(code, 1), fixed=fixed)


def _current(session: Session, code: str) -> Any:
    row = session.execute(
        text(
            "SELECT id, code, version, community_code, name, kind, subtype, households, "
            "ST_AsBinary(geom) AS wkb FROM grid WHERE code = :c AND valid_to IS NULL"
        ),
        {"c": code},
    ).one_or_none()
    if row is None:
        retired = session.execute(
            text("SELECT max(valid_to) FROM grid WHERE code = :c"), {"c": code}
        ).scalar_one()
        if retired is not None:
            raise GridNotFound(
                f"grid {code} was retired at {retired.isoformat()}",
                grid=code,
                retired_at=retired.isoformat(),
            )
        raise GridNotFound(f"no grid with code {code!r}", grid=code)
    return row


def update_grid(
    session: Session,
    *,
    code: str,
    feature: GridFeature,
    crs: str,
    principal: Principal,
    rules: GridRules,
    if_match: str | None,
    partial: bool,
    fix: bool = False,
    note: str = "edited",
    source: str | None = None,
) -> WriteResult:
    """Replace (PUT) or change (PATCH) a grid: the current version is retired, the next added."""
    community = code[:12]
    principal.require_grid_editor(community)
    p = feature.properties
    if p.code is not None and p.code != code:
        raise InvalidInput(
            f"the body's code {p.code} is not the grid being changed ({code}); renumbering is "
            "POST /api/v1/regions/{community}/renumber",
            field="code",
        )
    if p.community_code is not None and p.community_code != community:
        raise InvalidInput(
            f"a grid cannot move to another community ({community} → {p.community_code}): "
            "retire it and create a grid there",
            field="community_code",
        )
    if not partial and feature.geometry is None:
        raise InvalidGeometry("PUT replaces the whole grid: send its geometry (or use PATCH)")
    if not partial and not p.name:
        raise InvalidInput(
            "PUT replaces the whole grid: send properties.name (or use PATCH)", field="name"
        )
    geom = parse_polygonal(feature.geometry, crs=crs) if feature.geometry is not None else None
    _lock_community(session, community)
    row = _current(session, code)
    check_if_match(if_match, etag(code, row.version))
    old_geom = shapely.from_wkb(bytes(row.wkb))
    given = p.model_dump(exclude_unset=True)
    if partial:
        props = {
            k: given.get(k, getattr(row, k)) for k in ("name", "kind", "subtype", "households")
        }
        if given.get("kind") == "basic" and "subtype" not in given:
            props["subtype"] = None
        _check_kind(props)
    else:
        props = _props(feature)
    same_props = all(props[k] == getattr(row, k) for k in props)
    geom_changed = geom is not None and not geom.equals(old_geom)
    new_geom, fixed = (geom if geom_changed else old_geom), None
    # A rename alone is not held to the coverage rule: it must not be blocked by an old overlap.
    if geom_changed or fix:
        new_geom, fixed = _fit_and_check(
            session, community=community, geom=new_geom, exclude=code, rules=rules, fix=fix
        )
        geom_changed = not new_geom.equals(old_geom)
    if same_props and not geom_changed:
        return WriteResult(
            feature=get_grid(session, code=code),
            etag=etag(code, row.version),
            changed=False,
            fixed=fixed,
        )
    before = snapshot(session, row.id)
    at = _now(session)
    _retire(session, [row.id], at)
    _add_version(
        session,
        code=code,
        community=community,
        props=props,
        geom=new_geom,
        at=at,
        actor=principal.actor,
        note=note,
        action="update",
        before=before,
        source=source,
    )
    _rederive_around(session, old_geom, new_geom)
    return WriteResult(
        feature=get_grid(session, code=code), etag=etag(code, row.version + 1), fixed=fixed
    )


def retire_grid(
    session: Session, *, code: str, principal: Principal, if_match: str | None
) -> dict[str, Any]:
    """Retire a grid: it stays in history (``?at=``) but is no longer current."""
    community = code[:12]
    principal.require_grid_editor(community)
    _lock_community(session, community)
    row = _current(session, code)
    check_if_match(if_match, etag(code, row.version))
    before = snapshot(session, row.id)
    at = _now(session)
    _retire(session, [row.id], at)
    _rederive_around(session, shapely.from_wkb(bytes(row.wkb)))
    audit.record(
        session,
        actor=principal.actor,
        action="retire",
        entity="grid",
        key=code,
        before=before,
        after=None,
    )
    return {
        "code": code,
        "version": row.version,
        "retired_at": at.isoformat(),
        "community_code": community,
    }


def reading_order(points: list[tuple[str, float, float]], row_height: float) -> list[str]:
    """Codes ordered north→south by rows, west→east within a row (metric x, y).

    A new row starts when a point lies more than half ``row_height`` below the top of the row
    it would join, so grids of one band read left to right even when their centres wobble.

    Examples
    --------
    >>> reading_order([("a", 10, 0), ("b", 0, 2), ("c", 5, 100), ("d", 0, 98)], 50)
    ['d', 'c', 'b', 'a']
    """
    rows: list[list[tuple[str, float, float]]] = []
    for item in sorted(points, key=lambda p: -p[2]):
        if rows and rows[-1][0][2] - item[2] <= row_height / 2:
            rows[-1].append(item)
        else:
            rows.append([item])
    return [code for row in rows for code, _x, _y in sorted(row, key=lambda p: (p[1], p[0]))]


def renumber(
    session: Session,
    *,
    community: str,
    principal: Principal,
    rules: GridRules,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Renumber a community's current grids west→east, north→south; report old → new.

    A grid whose code changes gets a new version under its new code (noted "renumbered from …");
    its staff follow it. Incidents keep the code they were reported under.
    """
    principal.require_grid_editor(community)
    _community_geom(session, community)
    _lock_community(session, community)
    rows = session.execute(
        text(
            "SELECT id, code, name, kind, subtype, households, ST_AsBinary(geom) AS wkb, "
            "ST_AsBinary(ST_PointOnSurface(geom)) AS label FROM grid "
            "WHERE community_code = :c AND valid_to IS NULL"
        ),
        {"c": community},
    ).all()
    if not rows:
        return {"community": community, "dry_run": dry_run, "renumbered": [], "unchanged": []}
    geoms = [shapely.from_wkb(bytes(r.wkb)) for r in rows]
    labels = [shapely.from_wkb(bytes(r.label)) for r in rows]
    metric, _back = to_metric(geoms + labels)
    heights = sorted(g.bounds[3] - g.bounds[1] for g in metric[: len(rows)])
    order = reading_order(
        [(r.code, p.x, p.y) for r, p in zip(rows, metric[len(rows) :], strict=True)],
        heights[len(heights) // 2],
    )
    mapping = {old: f"{community}{i:0{rules.code_width}d}" for i, old in enumerate(order, 1)}
    changed = [(old, new) for old, new in mapping.items() if old != new]
    result = {
        "community": community,
        "dry_run": dry_run,
        "renumbered": [{"old": o, "new": n} for o, n in changed],
        "unchanged": sorted(o for o, n in mapping.items() if o == n),
    }
    if dry_run or not changed:
        return result
    by_code = {r.code: r for r in rows}
    at = _now(session)
    befores = {o: snapshot(session, by_code[o].id) for o, _n in changed}
    # Retire every moving grid first, so a new code never meets a current one (swaps included).
    _retire(session, [by_code[o].id for o, _n in changed], at)
    for old, new in changed:
        r = by_code[old]
        _add_version(
            session,
            code=new,
            community=community,
            props={
                "name": r.name,
                "kind": r.kind,
                "subtype": r.subtype,
                "households": r.households,
            },
            geom=shapely.from_wkb(bytes(r.wkb)),
            at=at,
            actor=principal.actor,
            note=f"renumbered from {old}",
            action="renumber",
            before=befores[old],
        )
    staff = session.execute(
        text(
            "DELETE FROM grid_staff WHERE grid_code = ANY(:codes) "
            "RETURNING grid_code, role, person_id"
        ),
        {"codes": [o for o, _n in changed]},
    ).all()
    for s in staff:
        session.execute(
            text("INSERT INTO grid_staff (grid_code, role, person_id) VALUES (:g, :role, :person)"),
            {"g": mapping[s.grid_code], "role": s.role, "person": s.person_id},
        )
    _rederive_around(session, *geoms)
    audit.record(
        session,
        actor=principal.actor,
        action="renumber",
        entity="community",
        key=community,
        before={"codes": [o for o, _ in changed]},
        after={"codes": [n for _, n in changed]},
    )
    return result
