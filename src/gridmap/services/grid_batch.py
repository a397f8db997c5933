"""gridmap.services.grid_batch: many grid changes in one transaction, all or nothing.

A batch changes, adds and retires grids of one or more communities together. Each grid is held
to the rules of single writes (inside its community, no overlap beyond the tolerance), but
against the state its community will be in *after* the whole batch, so two neighbours moving
their shared border together never overlap each other half-way. Merge and split are batches
too: they compute the new shapes and write them here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from gridmap.auth import Principal
from gridmap.errors import (
    Conflict,
    GridmapError,
    GridNotFound,
    InvalidGeometry,
    InvalidInput,
    PreconditionFailed,
    PreconditionRequired,
)
from gridmap.geo import coverage as cov
from gridmap.geo.edits import cut, merged
from gridmap.geo.noding import metres_per_degree, node
from gridmap.geo.partition import polygonal
from gridmap.geo.rules import GridRules
from gridmap.geo.shapes import as_multipolygon, parse_line, parse_polygonal
from gridmap.queries import audit
from gridmap.queries import grids as q
from gridmap.queries.coverage import community_coverage
from gridmap.services import grid_versions as w
from gridmap.services.access import require_role
from gridmap.vocab.roles import GRID_EDITORS

__all__ = ["Change", "change_from", "merge_grids", "split_grid", "write_batch"]

# The properties a batch entry may give; the rest of a grid's row is gridmap's.
_PROPS = ("name", "kind", "subtype", "households")


@dataclass
class Change:
    """One entry of a batch: change grid ``code``, retire it, or (no ``code``) add a grid.

    ``geom`` is already in WGS84; ``props`` holds only the properties given (PATCH semantics).
    """

    index: int
    code: str | None = None
    if_match: str | None = None
    geom: BaseGeometry | None = None
    props: dict[str, Any] = field(default_factory=dict)
    community: str | None = None
    retire: bool = False
    fix: bool = False
    fill: bool = False
    note: str | None = None


@dataclass
class _Plan:
    """What the batch will do to one grid."""

    change: Change
    key: str
    community: str
    row: Any = None
    props: dict[str, Any] = field(default_factory=dict)
    geom: BaseGeometry | None = None
    reshaped: bool = False
    fixed: dict[str, Any] | None = None
    noded_by: set[str] = field(default_factory=set)
    vertices: int = 0


@contextmanager
def _about(change: Change) -> Iterator[None]:
    """Name the entry (and its grid) in any refusal raised inside."""
    try:
        yield
    except GridmapError as exc:
        exc.extra.setdefault("index", change.index)
        if change.code is not None:
            exc.extra.setdefault("grid", change.code)
        raise


def _community_of(change: Change) -> str:
    if change.code is not None:
        if change.community is not None and change.community != change.code[:12]:
            raise InvalidInput(
                f"a grid cannot move to another community ({change.code[:12]} → "
                f"{change.community}): retire it and add a grid there",
                field="community_code",
            )
        return change.code[:12]
    if change.retire:
        raise InvalidInput("retiring needs the code of the grid to retire", field="code")
    if change.community is None:
        raise InvalidInput("a new grid needs properties.community_code", field="community_code")
    if not change.props.get("name"):
        raise InvalidInput("a new grid needs properties.name", field="name")
    if change.geom is None:
        raise InvalidGeometry("a new grid needs a geometry (Polygon or MultiPolygon)")
    return change.community


def _check_shape(change: Change) -> None:
    if change.retire and (change.geom is not None or change.props or change.fix or change.fill):
        raise InvalidInput(
            "an entry that retires a grid gives nothing else (no geometry, properties, fix or "
            "fill)",
            field="retire",
        )


def _current(session: Session, community: str) -> dict[str, Any]:
    return {r.code: r for r in q.current_versions(session, community)}


def _precondition(plan: _Plan) -> None:
    """428 when the entry names a grid without its ETag, 412 when the ETag is stale."""
    current = w.etag(plan.key, plan.row.version)
    sent = plan.change.if_match
    if sent is None or not sent.strip():
        raise PreconditionRequired(
            f"grid {plan.key} is named without if_match: send the ETag you read it with, so an "
            "edit made meanwhile by someone else is not overwritten",
            etag=current,
        )
    tags = [t.strip() for t in sent.split(",")]
    # "*" (any version) is no precondition at all: a batch moves borders several grids share,
    # so each must be the version its editor read.
    if "*" in tags:
        raise PreconditionRequired(
            f"grid {plan.key}: if_match * (any version) does not guard against a lost update; "
            f"send the ETag you read it with (like {current})",
            etag=current,
            grid=plan.key,
        )
    if current not in tags:
        raise PreconditionFailed(
            f"grid {plan.key} has changed since you read it: it is now at {current}, you sent "
            f"{sent.strip()[:80]}; reload it, reapply your change and send the new ETag",
            etag=current,
        )


def _fill(
    plan: _Plan, shapes: dict[str, BaseGeometry], area: BaseGeometry, frame: cov.Frame
) -> None:
    """Extend ``plan``'s grid into the gaps of its community that run along it: not those that
    touch it at a point only, nor those an earlier entry of the batch has filled already."""
    assert plan.geom is not None
    free = polygonal(shapely.difference(area, shapely.union_all(list(shapes.values()))))
    mine = [
        part
        for part in getattr(free, "geoms", [free])
        if not part.is_empty
        and frame.to_metric(shapely.intersection(part.boundary, plan.geom.boundary)).length > 1e-3
    ]
    done = (plan.fixed or {}).get("filled_gap_m2", 0.0)
    if mine:
        done += sum(cov.area_m2(p, frame) for p in mine)
        plan.geom = as_multipolygon(shapely.make_valid(shapely.union_all([plan.geom, *mine])))
    plan.fixed = {**(plan.fixed or {}), "filled_gap_m2": round(done, 1)}


def _coverage(session: Session, community: str, rules: GridRules) -> dict[str, Any]:
    """The coverage answer of one community: the figures and the gaps and overlaps drawn."""
    report = community_coverage(session, community=community, rules=rules)
    return {
        "share": report["covered_share"],
        "exact": report["exact"],
        "gaps_m2": round(sum(f["properties"]["area_m2"] for f in report["gaps"]["features"]), 1),
        "overlaps_m2": round(
            sum(f["properties"]["area_m2"] for f in report["overlaps"]["features"]), 1
        ),
        "invalid_edges": len(report["invalid_edges"]["features"]),
        "gaps": report["gaps"],
        "overlaps": report["overlaps"],
    }


def write_batch(
    session: Session,
    *,
    changes: list[Change],
    principal: Principal,
    rules: GridRules,
    note: str | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Check every change against the final state of its community and write them all, or
    raise having written nothing. On a dry run everything is computed and answered, and rolled
    back. Returns the answer of ``POST /grids/batch``."""
    require_role(principal, "edit grids", roles=GRID_EDITORS)
    # Where before what: the community of every grid changed (or of every grid added) must be
    # the caller's before any entry's content is judged.
    named = {c for ch in changes if (c := ch.code[:12] if ch.code else ch.community)}
    for community in sorted(named):
        principal.require_grid_editor(community)
    plans: list[_Plan] = []
    for change in changes:
        with _about(change):
            _check_shape(change)
            community = _community_of(change)
            plans.append(
                _Plan(change, change.code or f"#{change.index}", community, geom=change.geom)
            )
    communities = sorted({p.community for p in plans})
    for community in communities:
        principal.require_grid_editor(community)
    for community in communities:
        w.lock_community(session, community)
    areas: dict[str, BaseGeometry] = {}
    rows: dict[str, dict[str, Any]] = {}
    for community in communities:
        with _about(next(p.change for p in plans if p.community == community)):
            areas[community] = w.community_geom(session, community)
        rows[community] = _current(session, community)
    for plan in plans:
        with _about(plan.change):
            _prepare(session, plan, rows[plan.community])
    noded: list[_Plan] = []
    for community in communities:
        noded += _settle(
            community,
            [p for p in plans if p.community == community],
            rows[community],
            areas[community],
            rules,
        )
    nested = session.begin_nested()
    if dry_run:
        q.mark_dry_run(session)
    try:
        answer = _write(
            session,
            plans=plans,
            noded=noded,
            principal=principal,
            rules=rules,
            note=note,
            communities=communities,
        )
    except BaseException:
        nested.rollback()
        raise
    answer["dry_run"] = dry_run
    if dry_run:
        nested.rollback()
    else:
        nested.commit()
    return answer


def _prepare(session: Session, plan: _Plan, current: dict[str, Any]) -> None:
    """Find the grid an entry names, check its ETag, and work out its properties."""
    change = plan.change
    given = {k: v for k, v in change.props.items() if k in _PROPS}
    if change.code is None:
        plan.props = {
            "name": given.get("name"),
            "kind": given.get("kind") or "basic",
            "subtype": given.get("subtype"),
            "households": given.get("households"),
        }
        w.check_kind(plan.props)
        plan.reshaped = True
        return
    plan.row = current.get(change.code)
    if plan.row is None:
        w.current_version(session, change.code)  # 404, saying when it was retired
        raise GridNotFound(f"no grid with code {change.code!r}", grid=change.code)
    _precondition(plan)
    if change.retire:
        return
    plan.props = w.patched_props(plan.row, given)
    old = shapely.from_wkb(bytes(plan.row.wkb))
    if plan.geom is None or plan.geom.equals(old):
        plan.geom = old
    else:
        plan.reshaped = True


def _settle(
    community: str,
    plans: list[_Plan],
    current: dict[str, Any],
    area: BaseGeometry,
    rules: GridRules,
) -> list[_Plan]:
    """Fit, fill, node and check the community's changed grids against its state after the
    batch; returns the plans of the neighbours outside the batch that noding gives a vertex."""
    frame = cov.Frame.around(area)
    shapes = {code: shapely.from_wkb(bytes(r.wkb)) for code, r in current.items()}
    names = {code: r.name for code, r in current.items()}
    for plan in plans:
        if plan.change.retire:
            shapes.pop(plan.key, None)
            continue
        assert plan.geom is not None
        shapes[plan.key] = plan.geom
        names[plan.key] = plan.props["name"]
    for plan in plans:
        if plan.change.fix and not plan.change.retire:
            with _about(plan.change):
                others = {k: g for k, g in shapes.items() if k != plan.key}
                assert plan.geom is not None
                plan.geom, plan.fixed = w.fit(
                    plan.geom, area=area, siblings=others, rules=rules, frame=frame
                )
            shapes[plan.key] = plan.geom
            plan.reshaped = True
    for plan in plans:
        if plan.change.fill and not plan.change.retire:
            _fill(plan, shapes, area, frame)
            assert plan.geom is not None
            shapes[plan.key] = plan.geom
            plan.reshaped = True
    for plan in plans:
        if plan.reshaped and plan.row is not None:
            plan.reshaped = not plan.geom.equals(shapely.from_wkb(bytes(plan.row.wkb)))  # type: ignore[union-attr]
    siblings = _node(community, plans, current, shapes, area, rules)
    for plan in plans:
        if not plan.reshaped:
            continue
        assert plan.geom is not None
        with _about(plan.change):
            if plan.geom.is_empty or not plan.geom.is_valid:
                raise InvalidGeometry("the grid's shape is not a valid polygon")
            w.check_rules(
                plan.geom,
                community=community,
                area=area,
                siblings={k: (names[k], g) for k, g in shapes.items() if k != plan.key},
                rules=rules,
                frame=frame,
            )
    return siblings


def _node(
    community: str,
    plans: list[_Plan],
    current: dict[str, Any],
    shapes: dict[str, BaseGeometry],
    area: BaseGeometry,
    rules: GridRules,
) -> list[_Plan]:
    """Node the reshaped grids to their neighbours and the community boundary (no T-junctions);
    returns the plans of the neighbours outside the batch that gain a vertex."""
    by_key = {p.key: p for p in plans if not p.change.retire}
    written = {k: p.geom for k, p in by_key.items() if p.reshaped and p.geom is not None}
    if not written or rules.node_m <= 0:
        return []
    done = node(
        written,
        {k: g for k, g in shapes.items() if k not in written},
        area,
        tolerance_m=rules.node_m,
        scale=metres_per_degree(area.centroid.y),
    )
    siblings: list[_Plan] = []
    for key, geom in done.shapes.items():
        shapes[key] = geom
        plan = by_key.get(key)
        if plan is None:
            row = current[key]
            plan = _Plan(Change(10_000 + len(siblings), code=key), key, community, row=row)
            plan.props = w.patched_props(row, {})
            siblings.append(plan)
        plan.geom, plan.reshaped = geom, True
        plan.noded_by = done.sources.get(key, set())
        plan.vertices = done.inserted.get(key, 0)
    for plan in siblings:
        if not plan.geom.is_valid:  # type: ignore[union-attr]
            raise InvalidGeometry(
                f"grid {plan.key} would not stay a valid polygon with the vertices where the "
                "batch meets it; move the vertices near its edge a few centimetres away",
                grid=plan.key,
            )
    return siblings


def _write(
    session: Session,
    *,
    plans: list[_Plan],
    noded: list[_Plan],
    principal: Principal,
    rules: GridRules,
    note: str | None,
    communities: list[str],
) -> dict[str, Any]:
    """Write the settled plans: one version and one audit entry per grid that changes."""
    at = w.now(session)
    touched: list[BaseGeometry] = []
    retired: list[str] = []
    for plan in plans:
        if plan.change.retire:
            before = w.snapshot(session, plan.row.id)
            w.retire(session, [plan.row.id], at)
            audit.record(session, principal.actor, "retire", "grid", plan.key, before=before)
            touched.append(shapely.from_wkb(bytes(plan.row.wkb)))
            retired.append(plan.key)
    codes: dict[str, str] = {}
    written: list[tuple[_Plan, str, int, bool]] = []
    for plan in plans:
        if plan.change.code is not None:
            continue
        assert plan.geom is not None
        code = codes[plan.key] = w.next_code(session, plan.community, rules.code_width)
        w.add_version(
            session,
            code=code,
            community=plan.community,
            props=plan.props,
            geom=plan.geom,
            at=at,
            actor=principal.actor,
            note=plan.change.note or note or "created",
            action="create",
        )
        touched.append(plan.geom)
        written.append((plan, code, 1, True))
    for plan in [*plans, *noded]:
        if plan.change.retire or plan.change.code is None:
            continue
        assert plan.geom is not None
        same = all(plan.props[k] == getattr(plan.row, k) for k in _PROPS)
        if same and not plan.reshaped:
            written.append((plan, plan.key, plan.row.version, False))
            continue
        if plan in noded:
            by = sorted(codes.get(k, k) for k in plan.noded_by)
            why = (
                f"{'vertex' if plan.vertices == 1 else 'vertices'} added where "
                f"{' and '.join(by)} {'meets' if len(by) == 1 else 'meet'} it"
            )
        else:
            why = plan.change.note or note or "edited"
        before = w.snapshot(session, plan.row.id)
        w.retire(session, [plan.row.id], at)
        w.add_version(
            session,
            code=plan.key,
            community=plan.community,
            props=plan.props,
            geom=plan.geom,
            at=at,
            actor=principal.actor,
            note=why,
            action="update",
            before=before,
        )
        touched.extend([shapely.from_wkb(bytes(plan.row.wkb)), plan.geom])
        written.append((plan, plan.key, plan.row.version + 1, True))
    if touched:
        w.rederive_around(session, *touched)
    written.sort(key=lambda t: t[0].change.index)
    grids = []
    for plan, code, version, changed in written:
        feature = q.get_grid(session, code=code)
        grids.append(
            {**feature, "etag": w.etag(code, version), "changed": changed, "fixed": plan.fixed}
        )
    return {
        "dry_run": False,
        "grids": grids,
        "retired": retired,
        "noded": [{"code": p.key, "vertices": p.vertices} for p in noded],
        "coverage": {c: _coverage(session, c, rules) for c in communities},
    }


def change_from(
    index: int,
    *,
    code: str | None,
    if_match: str | None,
    geometry: Any,
    properties: dict[str, Any],
    crs: str,
    retire: bool = False,
    fix: bool = False,
    fill: bool = False,
) -> Change:
    """One batch entry as it arrived (``properties`` as given), its geometry read in ``crs``."""
    change = Change(index, code=code, if_match=if_match, retire=retire, fix=fix, fill=fill)
    with _about(change):
        named = properties.pop("code", None)
        if named is not None and named != code:
            raise InvalidInput(
                f"properties.code {named} is not the entry's code ({code or 'none: a new grid'}); "
                "a new grid gets the next free code, and renumbering is "
                "POST /api/v1/regions/{community}/renumber",
                field="code",
            )
        change.community = properties.pop("community_code", None)
        change.props = properties
        if geometry is not None:
            change.geom = parse_polygonal(geometry, crs=crs)
    return change


def _read(session: Session, code: str, if_match: str | None) -> Any:
    """The current version of ``code``, its ETag checked against ``if_match`` (404/428/412)."""
    row = w.current_version(session, code)
    plan = _Plan(Change(0, code=code, if_match=if_match), code, code[:12], row=row)
    with _about(plan.change):
        _precondition(plan)
    return row


def merge_grids(
    session: Session,
    *,
    code: str,
    other: str,
    if_match: dict[str, str],
    principal: Principal,
    rules: GridRules,
    name: str | None = None,
    note: str | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Make two adjacent grids of one community one: the lower code keeps its code and gets the
    union (a new version), the other is retired (its code never reissued). A batch answer."""
    community = code[:12]
    principal.require_grid_editor(community)
    if other == code:
        raise InvalidInput("a grid cannot be merged with itself", field="with", grid=code)
    if other[:12] != code[:12]:
        raise InvalidInput(
            f"grids {code} and {other} belong to different communities; only grids of one "
            "community can be merged",
            field="with",
        )
    unknown = sorted(set(if_match) - {code, other})
    if unknown:
        raise InvalidInput(
            f"if_match names {', '.join(unknown)}, which is not one of the grids merged",
            field="if_match",
        )
    w.lock_community(session, community)
    keep, gone = sorted((code, other))
    rows = {c: _read(session, c, if_match.get(c)) for c in (keep, gone)}
    area = w.community_geom(session, community)
    shapes = {c: shapely.from_wkb(bytes(r.wkb)) for c, r in rows.items()}
    try:
        union = merged(
            shapes[keep],
            shapes[gone],
            tolerance_m2=rules.tolerance_m2,
            sliver_m=rules.sliver_m,
            frame=cov.Frame.around(area),
        )
    except Conflict as exc:
        raise Conflict(
            f"grids {keep} and {gone} do not share a border (they meet at a point at most); "
            "only neighbours can be merged",
            grid=gone,
        ) from exc
    props: dict[str, Any] = {"name": name} if name else {}
    if rows[keep].households is not None and rows[gone].households is not None:
        props["households"] = rows[keep].households + rows[gone].households
    changes = [
        Change(
            0,
            code=keep,
            if_match=if_match.get(keep),
            geom=union,
            props=props,
            note=note or f"merged with {gone}",
        ),
        Change(1, code=gone, if_match=if_match.get(gone), retire=True),
    ]
    return write_batch(
        session, changes=changes, principal=principal, rules=rules, note=note, dry_run=dry_run
    )


def split_grid(
    session: Session,
    *,
    code: str,
    line: Any,
    crs: str,
    if_match: str | None,
    principal: Principal,
    rules: GridRules,
    name: str | None = None,
    note: str | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Cut a grid in two along ``line``: the larger part keeps the code (a new version), the
    other becomes a new grid of the same kind (next free code, ``name`` or "<name>（分）"). Both
    share the cut vertex for vertex. A batch answer."""
    community = code[:12]
    principal.require_grid_editor(community)
    cut_line = parse_line(line, crs=crs)
    w.lock_community(session, community)
    row = _read(session, code, if_match)
    frame = cov.Frame.around(w.community_geom(session, community))
    try:
        big, small = cut(
            shapely.from_wkb(bytes(row.wkb)), cut_line, reach=frame.units(rules.node_m), frame=frame
        )
    except InvalidGeometry as exc:
        exc.extra.setdefault("grid", code)
        raise
    changes = [
        Change(
            0,
            code=code,
            if_match=if_match,
            geom=MultiPolygon([big]),
            note=note or "split; the cut-off part is a new grid",
        ),
        Change(
            1,
            community=community,
            geom=MultiPolygon([small]),
            props={
                "name": name or f"{row.name[:97]}（分）",
                "kind": row.kind,
                "subtype": row.subtype,
            },
            note=note or f"split from {code}",
        ),
    ]
    return write_batch(
        session, changes=changes, principal=principal, rules=rules, note=note, dry_run=dry_run
    )
