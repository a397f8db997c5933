"""gridmap.services.grid_versions: create, change, retire and renumber grids, keeping the rules.

Every write runs in the caller's transaction and either lands whole or raises having written
nothing. Writes to one community's grids are serialised by a transaction-scoped advisory lock,
so two editors can never both pass the overlap check against a state the other is changing.
A change never overwrites a row: the current version is retired (``valid_to``) and the next one
inserted, so history and ``?at=`` stay exact. The editor's routes and the file import both write
through the public functions here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
from gridmap.geo.noding import metres_per_degree, node
from gridmap.geo.reading_order import reading_order
from gridmap.geo.rules import GridRules
from gridmap.geo.shapes import as_multipolygon, geojson_in, parse_polygonal, to_metric
from gridmap.queries import audit
from gridmap.queries import grids as q
from gridmap.queries.assign import rederive_grids
from gridmap.schemas.grids import GridFeature
from gridmap.services.access import require_role
from gridmap.vocab.roles import GRID_EDITORS

__all__ = [
    "GridRules",
    "WriteResult",
    "add_version",
    "check_if_match",
    "check_kind",
    "check_rules",
    "community_geom",
    "create_grid",
    "current_grids",
    "current_version",
    "etag",
    "fit",
    "lock_community",
    "next_code",
    "reading_codes",
    "noded",
    "now",
    "patched_props",
    "rederive_around",
    "renumber",
    "retire",
    "retire_grid",
    "snapshot",
    "update_grid",
    "write_noded",
]


@dataclass
class WriteResult:
    """What a write did: the grid as it now is, its ETag, and what ``?fix=true`` changed."""

    feature: dict[str, Any]
    etag: str
    changed: bool = True
    fixed: dict[str, Any] | None = None
    noded: list[dict[str, Any]] = field(default_factory=list)


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
    # "*" matches any version, so it would let an edit overwrite one made meanwhile: it is
    # answered as if no If-Match had been sent.
    if "*" in tags:
        raise PreconditionRequired(
            "If-Match: * (any version) does not protect the grid from a lost update: send the "
            f"grid's ETag ({current}) in If-Match (GET the grid first)",
            etag=current,
        )
    if current in tags:
        return
    raise PreconditionFailed(
        f"the grid has changed since you read it: it is now at {current}, you sent "
        f"{if_match.strip()[:80]}; reload it, reapply your change and send the new ETag",
        etag=current,
    )


def lock_community(session: Session, community: str) -> None:
    """Serialise writes to ``community``'s grids until the transaction ends."""
    q.lock_community(session, community)


def community_geom(session: Session, code: str) -> BaseGeometry:
    """The boundary of community ``code``; 422 when it is unknown or has none."""
    row = q.community_shape(session, code)
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


def current_grids(
    session: Session, community: str, *, exclude: str | None = None
) -> dict[str, tuple[str, BaseGeometry]]:
    """Code → (name, shape) of the community's current grids, but ``exclude``."""
    return {
        r.code: (r.name, shapely.from_wkb(bytes(r.wkb)))
        for r in q.current_shapes(session, community, exclude=exclude)
    }


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
    area = community_geom(session, community)
    siblings = current_grids(session, community, exclude=exclude)
    frame = cov.Frame.around(area)
    geoms = {code: g for code, (_name, g) in siblings.items()}
    fixed = None
    if fix:
        geom, fixed = fit(geom, area=area, siblings=geoms, rules=rules, frame=frame)
    check_rules(
        geom,
        community=community,
        area=area,
        siblings=siblings,
        rules=rules,
        frame=frame,
        hint=("send ?fix=true to clip it", "send ?fix=true to give way to them"),
    )
    return geom, fixed


def fit(
    geom: BaseGeometry,
    *,
    area: BaseGeometry,
    siblings: dict[str, BaseGeometry],
    rules: GridRules,
    frame: cov.Frame,
) -> tuple[BaseGeometry, dict[str, Any]]:
    """``geom`` given way: clipped to its community ``area`` and out of its ``siblings``; 422
    when nothing is left. Returns the fitted shape and what fitting changed."""
    fitted = rules.fit(geom, area, siblings, frame)
    if fitted.geom.is_empty:
        raise InvalidGeometry(
            "nothing is left of the grid once fitted: it lies outside its community or "
            "inside its neighbours",
            fixed=fitted.changes(),
        )
    return as_multipolygon(shapely.make_valid(fitted.geom)), fitted.changes()


def check_rules(
    geom: BaseGeometry,
    *,
    community: str,
    area: BaseGeometry,
    siblings: dict[str, tuple[str, BaseGeometry]],
    rules: GridRules,
    frame: cov.Frame,
    hint: tuple[str, str] = ("give way to clip it", "give way to them"),
) -> None:
    """Raise the 422 when ``geom`` reaches out of its community ``area``, or the 409 naming
    each of its ``siblings`` (key → (name, shape)) it overlaps beyond the tolerance."""
    out = rules.spill(geom, area, frame)
    if out is not None:
        outside_m2 = cov.area_m2(out, frame)
        raise OutsideCommunity(
            f"the grid reaches more than {rules.edge_m:g} m outside community {community}: "
            f"{outside_m2:.1f} m² lie outside it ({hint[0]})",
            outside_area_m2=round(outside_m2, 1),
            outside=geojson_in(out, "EPSG:4326"),
        )
    clashes = []
    for code in sorted(siblings):
        name, other = siblings[code]
        shared = rules.significant(shapely.intersection(geom, other), frame)
        if shared:
            piece = shapely.union_all(shared)
            clashes.append(
                {
                    "code": code,
                    "name": name,
                    "area_m2": round(cov.area_m2(piece, frame), 1),
                    "geometry": geojson_in(piece, "EPSG:4326"),
                }
            )
    if clashes:
        names = ", ".join(f"{c['code']} {c['name']} ({c['area_m2']} m²)" for c in clashes)
        raise GridOverlap(
            f"the grid overlaps {len(clashes)} neighbouring grid(s) by more than "
            f"{rules.tolerance_m2:g} m²: {names} ({hint[1]})",
            overlaps=clashes,
        )


def noded(
    session: Session, *, community: str, key: str, geom: BaseGeometry, rules: GridRules
) -> tuple[BaseGeometry, list[tuple[Any, BaseGeometry]]]:
    """``geom`` (of grid ``key``, about to be written) noded to its siblings and community: its
    shape, and each sibling version that gains a vertex with its new shape. When noding would
    leave any of them invalid, nothing is noded."""
    area = community_geom(session, community)
    rows = {r.code: r for r in q.current_versions(session, community) if r.code != key}
    done = node(
        {key: geom},
        {c: shapely.from_wkb(bytes(r.wkb)) for c, r in rows.items()},
        area,
        tolerance_m=rules.node_m,
        scale=metres_per_degree(area.centroid.y),
    )
    if rules.node_m <= 0 or not all(g.is_valid for g in done.shapes.values()):
        return geom, []
    siblings = [(rows[c], g) for c, g in done.shapes.items() if c != key]
    return done.shapes.get(key, geom), siblings


def write_noded(
    session: Session,
    siblings: list[tuple[Any, BaseGeometry]],
    *,
    by: str,
    at: datetime,
    actor: str,
) -> list[dict[str, Any]]:
    """Write the next version of each sibling that gained vertices where grid ``by`` meets it;
    returns ``code`` and ``vertices`` of each."""
    out = []
    for row, geom in siblings:
        added = len(shapely.get_coordinates(geom)) - len(
            shapely.get_coordinates(shapely.from_wkb(bytes(row.wkb)))
        )
        before = snapshot(session, row.id)
        retire(session, [row.id], at)
        add_version(
            session,
            code=row.code,
            community=row.community_code,
            props={k: getattr(row, k) for k in ("name", "kind", "subtype", "households")},
            geom=geom,
            at=at,
            actor=actor,
            note=f"{'vertex' if added == 1 else 'vertices'} added where {by} meets it",
            action="update",
            before=before,
        )
        out.append({"code": row.code, "vertices": added})
    return out


def now(session: Session) -> datetime:
    """The instant a write is stamped with."""
    # clock_timestamp, not now(): several versions may be written in one transaction.
    return q.clock(session)


def snapshot(session: Session, grid_id: int) -> dict[str, Any] | None:
    """One grid version as a GeoJSON Feature, as the audit log keeps it."""
    return q.snapshot(session, grid_id)


def retire(session: Session, ids: list[int], at: datetime) -> None:
    """End the grid versions ``ids`` at ``at`` (the caller logs why)."""
    q.retire(session, ids, at)


def add_version(
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
    grid_id = q.insert_version(
        session,
        code=code,
        community=community,
        props=props,
        wkb=shapely.to_wkb(geom),
        at=at,
        actor=actor,
        note=note,
        source=source,
    )
    audit.record(
        session, actor, action, "grid", code, before=before, after=snapshot(session, grid_id)
    )
    return grid_id


def rederive_around(session: Session, *geoms: BaseGeometry) -> None:
    """Re-derive the grid of buildings and list items around the shapes a write touched."""
    box = shapely.envelope(shapely.union_all([g for g in geoms if g is not None]))
    rederive_grids(session, area_ewkt="SRID=4326;" + box.wkt)


def next_code(session: Session, community: str, width: int) -> str:
    """The next unused code of ``community``: codes of retired grids are never reused."""
    seq = (q.last_sequence(session, community, width) or 0) + 1
    if seq >= 10**width:
        raise Conflict(
            f"community {community} has used all {10**width - 1} grid codes of {width} digits",
            community=community,
        )
    return f"{community}{seq:0{width}d}"


def reading_codes(
    order: list[str], *, community: str, width: int, used: set[int]
) -> dict[str, str]:
    """New codes for grids in reading order: rising along the order, each either the grid's own
    code or a number no grid of the community ever had, the smaller of the two.

    A code names one grid for good: incidents and history keep the code they were written
    under, so a code once used (retired, or another grid's) is never handed to a different grid.

    Examples
    --------
    >>> reading_codes(["C004", "C001", "C003"], community="C", width=3, used={1, 2, 3, 4})
    {'C004': 'C004', 'C001': 'C005', 'C003': 'C006'}
    >>> reading_codes(["C002", "C003"], community="C", width=3, used={1, 2, 3})
    {'C002': 'C002', 'C003': 'C003'}
    """
    mapping: dict[str, str] = {}
    last = 0
    for old in order:
        own = int(old[len(community) :])
        fresh = last + 1
        while fresh in used:
            fresh += 1
        seq = own if last < own < fresh else fresh
        if seq >= 10**width:
            raise Conflict(
                f"community {community} has no unused {width}-digit grid code left to renumber "
                f"{old} into reading order; codes once used are never reissued",
                community=community,
            )
        mapping[old] = f"{community}{seq:0{width}d}"
        last = seq
    return mapping


def _props(feature: GridFeature) -> dict[str, Any]:
    """The stored properties of a grid given whole (a new grid, or PUT), checked."""
    p = feature.properties
    props = {
        "name": p.name,
        "kind": p.kind or "basic",
        "subtype": p.subtype,
        "households": p.households,
    }
    check_kind(props)
    return props


def check_kind(props: dict[str, Any]) -> None:
    """422 unless a grid's kind and subtype go together (only exclusive grids have one)."""
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
    require_role(principal, "edit grids", roles=GRID_EDITORS)
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
    lock_community(session, community)
    community_geom(session, community)
    if p.code is not None:
        used = q.code_in_use(session, p.code)
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
    final, siblings = noded(session, community=community, key=code, geom=final, rules=rules)
    at = now(session)
    add_version(
        session,
        code=code,
        community=community,
        props=props,
        geom=final,
        at=at,
        actor=principal.actor,
        note=note,
        action="create",
        source=source,
    )
    gained = write_noded(session, siblings, by=code, at=at, actor=principal.actor)
    rederive_around(session, final, *(g for _r, g in siblings))
    return WriteResult(
        feature=q.get_grid(session, code=code), etag=etag(code, 1), fixed=fixed, noded=gained
    )


def current_version(session: Session, code: str) -> Any:
    """The current version of grid ``code``; 404 saying when it was retired, if it was."""
    row = q.current_version(session, code)
    if row is None:
        retired = q.retired_at(session, code)
        if retired is not None:
            raise GridNotFound(
                f"grid {code} was retired at {retired.isoformat()}",
                grid=code,
                retired_at=retired.isoformat(),
            )
        raise GridNotFound(f"no grid with code {code!r}", grid=code)
    return row


def patched_props(row: Any, given: dict[str, Any]) -> dict[str, Any]:
    """The stored properties of version ``row`` with those ``given`` changed (PATCH), checked."""
    props = {k: given.get(k, getattr(row, k)) for k in ("name", "kind", "subtype", "households")}
    if given.get("kind") == "basic" and "subtype" not in given:
        props["subtype"] = None
    check_kind(props)
    return props


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
    lock_community(session, community)
    row = current_version(session, code)
    check_if_match(if_match, etag(code, row.version))
    old_geom = shapely.from_wkb(bytes(row.wkb))
    given = p.model_dump(exclude_unset=True)
    if partial:
        props = patched_props(row, given)
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
    siblings: list[tuple[Any, BaseGeometry]] = []
    if geom_changed:
        new_geom, siblings = noded(
            session, community=community, key=code, geom=new_geom, rules=rules
        )
    if same_props and not geom_changed:
        return WriteResult(
            feature=q.get_grid(session, code=code),
            etag=etag(code, row.version),
            changed=False,
            fixed=fixed,
        )
    before = snapshot(session, row.id)
    at = now(session)
    retire(session, [row.id], at)
    add_version(
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
    gained = write_noded(session, siblings, by=code, at=at, actor=principal.actor)
    rederive_around(session, old_geom, new_geom, *(g for _r, g in siblings))
    return WriteResult(
        feature=q.get_grid(session, code=code),
        etag=etag(code, row.version + 1),
        fixed=fixed,
        noded=gained,
    )


def retire_grid(
    session: Session, *, code: str, principal: Principal, if_match: str | None
) -> dict[str, Any]:
    """Retire a grid: it stays in history (``?at=``) but is no longer current."""
    community = code[:12]
    principal.require_grid_editor(community)
    lock_community(session, community)
    row = current_version(session, code)
    check_if_match(if_match, etag(code, row.version))
    before = snapshot(session, row.id)
    at = now(session)
    retire(session, [row.id], at)
    rederive_around(session, shapely.from_wkb(bytes(row.wkb)))
    audit.record(session, principal.actor, "retire", "grid", code, before=before)
    return {
        "code": code,
        "version": row.version,
        "retired_at": at.isoformat(),
        "community_code": community,
    }


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
    its staff follow it. Incidents keep the code they were reported under, and so a new code is
    one no grid of the community ever had (see :func:`reading_codes`).
    """
    principal.require_grid_editor(community)
    community_geom(session, community)
    lock_community(session, community)
    rows = q.current_with_labels(session, community)
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
    mapping = reading_codes(
        order,
        community=community,
        width=rules.code_width,
        used=q.used_sequences(session, community, rules.code_width),
    )
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
    at = now(session)
    befores = {o: snapshot(session, by_code[o].id) for o, _n in changed}
    # Retire every moving grid first, so a new code never meets a current one (swaps included).
    retire(session, [by_code[o].id for o, _n in changed], at)
    for old, new in changed:
        r = by_code[old]
        add_version(
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
    q.move_staff(session, dict(changed))
    rederive_around(session, *geoms)
    audit.record(
        session,
        principal.actor,
        "renumber",
        "community",
        community,
        before={"codes": [o for o, _ in changed]},
        after={"codes": [n for _, n in changed]},
    )
    return result
