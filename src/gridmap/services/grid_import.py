"""gridmap.services.grid_import: load grids from a GIS file, all or nothing.

The plan is made against the state the file would leave behind: every community the file
touches is checked as a whole (its untouched grids plus the file's), so two grids that swap
land between them pass, and a file whose grids overlap each other does not. A plan with any
rejection writes nothing; a plan is written only when asked to commit. It writes through
:mod:`gridmap.services.grid_versions`, as the editor does.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

import shapely
from shapely.geometry.base import BaseGeometry

from gridmap import files
from gridmap.auth import Principal
from gridmap.errors import Forbidden, GridmapError, InvalidInput
from gridmap.geo import coverage as cov
from gridmap.geo.rules import GridRules
from gridmap.geo.shapes import parse_polygonal
from gridmap.queries import grids as q
from gridmap.schemas.grids import GridProperties
from gridmap.services import grid_versions as versions
from gridmap.services.access import require_role
from gridmap.vocab.roles import GRID_EDITORS

# Two shapes closer than this (in degrees, about 5 cm) are the same grid: files round
# coordinates, and GCJ-02 round trips move them by millimetres.
SAME_SHAPE_DEG = 5e-7
_PROPS = ("name", "kind", "subtype", "households")


@dataclass
class Planned:
    """One feature of the file and what the import does with it."""

    index: int
    action: str  # create, update, unchanged, reject
    code: str | None
    community: str | None
    props: dict[str, Any] = field(default_factory=dict)
    geom: BaseGeometry | None = None
    reason: str | None = None
    error: str | None = None
    current_id: int | None = None
    current_geom: BaseGeometry | None = None

    def public(self) -> dict[str, Any]:
        """The line of the report about this feature."""
        out: dict[str, Any] = {"index": self.index, "code": self.code}
        if self.props.get("name"):
            out["name"] = self.props["name"]
        if self.action == "reject":
            out.update(reason=self.reason, error=self.error)
        return out


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def plan_import(
    session: Session,
    records: list[tuple[dict[str, Any], dict[str, Any] | None]],
    *,
    crs: str,
    principal: Principal,
    rules: GridRules,
) -> list[Planned]:
    """What importing ``records`` (properties, GeoJSON geometry in ``crs``) would do."""
    plans: list[Planned] = []
    for i, (raw, geometry) in enumerate(records):
        props = {k: _clean(v) for k, v in raw.items()}
        for key in ("code", "community_code"):
            if props.get(key) is not None:
                props[key] = str(props[key])
        plan = Planned(index=i, action="reject", code=props.get("code"), community=None)
        plans.append(plan)
        try:
            p = GridProperties.model_validate(props)
            community = p.community_code or (p.code[:12] if p.code else None)
            plan.community = community
            if community is None:
                raise GridmapError("no community_code and no code to take it from")
            if p.code is not None and p.code[:12] != community:
                raise GridmapError(f"code {p.code} is not in community {community}")
            if p.code is not None and len(p.code) != 12 + rules.code_width:
                raise GridmapError(f"grid codes here have {12 + rules.code_width} digits")
            principal.require_grid_editor(community)
            versions.community_geom(session, community)
            if geometry is None:
                raise GridmapError("the feature has no geometry")
            plan.geom = parse_polygonal(geometry, crs=crs)
            given = p.model_dump(exclude_unset=True)
            plan.props = {k: given[k] for k in _PROPS if k in given}
        except ValidationError as exc:
            first = exc.errors()[0]
            plan.reason = f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
            plan.error = "invalid_input"
            continue
        except GridmapError as exc:
            plan.reason, plan.error = (
                exc.message,
                exc.code if exc.code != "error" else "invalid_input",
            )
            continue
        _classify(session, plan)
    _check_communities(session, plans, rules)
    return plans


def _classify(session: Session, plan: Planned) -> None:
    if plan.code is None:
        plan.action = "create"
    else:
        row = q.latest_version(session, plan.code)
        if row is None:
            plan.action = "create"
        elif not row.current:
            plan.action, plan.error = "reject", "conflict"
            plan.reason = f"code {plan.code} belonged to a retired grid; codes are not reused"
            return
        else:
            plan.current_id = row.id
            plan.current_geom = shapely.from_wkb(bytes(row.wkb))
            merged = {k: plan.props.get(k, getattr(row, k)) for k in _PROPS}
            if plan.props.get("kind") == "basic" and "subtype" not in plan.props:
                merged["subtype"] = None
            plan.props = merged
            assert plan.geom is not None
            same_shape = shapely.hausdorff_distance(plan.geom, plan.current_geom) < SAME_SHAPE_DEG
            same = same_shape and all(merged[k] == getattr(row, k) for k in _PROPS)
            plan.action = "unchanged" if same else "update"
            if same_shape:
                plan.geom = plan.current_geom
    props = plan.props
    props.setdefault("kind", "basic")
    if not props.get("name"):
        plan.action, plan.error, plan.reason = "reject", "invalid_input", "the grid has no name"
    elif props["kind"] == "exclusive" and not props.get("subtype"):
        plan.action, plan.error = "reject", "invalid_input"
        plan.reason = "an exclusive grid needs a subtype"
    elif props["kind"] == "basic" and props.get("subtype"):
        plan.action, plan.error = "reject", "invalid_input"
        plan.reason = "a basic grid has no subtype"


def _check_communities(session: Session, plans: list[Planned], rules: GridRules) -> None:
    live = [p for p in plans if p.action in ("create", "update", "unchanged")]
    codes = [p.code for p in live if p.code]
    for dup in sorted({c for c in codes if codes.count(c) > 1}):
        for p in live:
            if p.code == dup:
                p.action, p.error = "reject", "conflict"
                p.reason = f"code {dup} appears more than once in the file"
    for community in sorted({p.community for p in live if p.community}):
        mine = [p for p in live if p.community == community and p.action != "reject"]
        area = versions.community_geom(session, community)
        frame = cov.Frame.around(area)
        touched = {p.code for p in mine if p.code}
        final: dict[str, tuple[Planned | None, BaseGeometry]] = {
            code: (None, geom)
            for code, (_name, geom) in versions.current_grids(session, community).items()
            if code not in touched
        }
        for p in mine:
            assert p.geom is not None
            final[p.code or f"new #{p.index}"] = (p, p.geom)
        for owner, geom in final.values():
            if owner is None or owner.action == "unchanged":
                continue
            out = rules.spill(geom, area, frame)
            if out is not None:
                owner.action, owner.error = "reject", "outside_community"
                owner.reason = f"{cov.area_m2(out, frame):.1f} m² lie outside community {community}"
        overlaps = cov.overlaps_among(
            {k: g for k, (_p, g) in final.items()},
            tolerance_m2=rules.tolerance_m2,
            sliver_m=rules.sliver_m,
            frame=frame,
        )
        for o in overlaps:
            for me, other in ((o.a, o.b), (o.b, o.a)):
                hit = final[me][0]
                if hit is not None and hit.action in ("create", "update"):
                    hit.action, hit.error = "reject", "grid_overlap"
                    hit.reason = f"overlaps {other} by {o.area_m2:.1f} m²"


def apply_import(
    session: Session,
    plans: list[Planned],
    *,
    principal: Principal,
    rules: GridRules,
    source: str,
) -> None:
    """Write a plan that has no rejection (the caller checks), in the caller's transaction."""
    for community in sorted({p.community for p in plans if p.community}):
        versions.lock_community(session, community)
    at = versions.now(session)
    note = f"imported from {source}"
    touched: list[BaseGeometry] = []
    for p in plans:
        if p.action not in ("create", "update"):
            continue
        assert p.community is not None and p.geom is not None
        before = None
        if p.action == "update":
            assert p.current_id is not None and p.current_geom is not None
            before = versions.snapshot(session, p.current_id)
            versions.retire(session, [p.current_id], at)
            touched.append(p.current_geom)
        else:
            p.code = p.code or versions.next_code(session, p.community, rules.code_width)
        versions.add_version(
            session,
            code=p.code or "",
            community=p.community,
            props=p.props,
            geom=p.geom,
            at=at,
            actor=principal.actor,
            note=note,
            action=f"import_{p.action}",
            before=before,
            source=source,
        )
        touched.append(p.geom)
    if touched:
        versions.rederive_around(session, *touched)


def report(plans: list[Planned], *, committed: bool) -> dict[str, Any]:
    """The import report: what was (or would be) created, updated, left, and rejected why."""
    by = {
        a: [p.public() for p in plans if p.action == a]
        for a in ("create", "update", "unchanged", "reject")
    }
    return {
        "committed": committed,
        "features": len(plans),
        "created": by["create"],
        "updated": by["update"],
        "unchanged": by["unchanged"],
        "rejected": by["reject"],
    }


def records_from_frame(gdf: Any) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(properties, geometry) of each row of a GeoDataFrame."""
    cols = [c for c in gdf.columns if c != "geometry"]
    out = []
    for row in gdf.itertuples(index=False):
        d = row._asdict()
        geom = d.get("geometry")
        out.append(
            (
                {c: d[c] for c in cols},
                None if geom is None or geom.is_empty else json.loads(shapely.to_geojson(geom)),
            )
        )
    return out


def run_import(
    session: Session,
    path: Path,
    *,
    crs: str | None,
    principal: Principal,
    rules: GridRules,
    commit: bool,
    source: str,
) -> dict[str, Any]:
    """Read a file, plan the import, and write it when asked and nothing is rejected."""
    require_role(principal, "import grids", roles=GRID_EDITORS)
    gdf, file_crs = files.read_file(path, crs=crs)
    files.check_readable_crs(gdf, file_crs)
    plans = plan_import(
        session, records_from_frame(gdf), crs=file_crs, principal=principal, rules=rules
    )
    rejected = any(p.action == "reject" for p in plans)
    if commit and not rejected:
        apply_import(session, plans, principal=principal, rules=rules, source=source)
    result = report(plans, committed=commit and not rejected)
    result["crs"] = file_crs
    outside = [p for p in plans if p.error == "forbidden"]
    if commit and outside:
        # Where before what: a file reaching outside the token's region is refused as such.
        raise Forbidden(
            f"nothing was written: {len(outside)} of {len(plans)} features lie outside this "
            f"token's {principal.area} (first: {outside[0].reason})",
            **result,
        )
    if commit and rejected:
        raise InvalidInput(
            f"nothing was written: {len(result['rejected'])} of {len(plans)} features are "
            "rejected; fix them and import again",
            **result,
        )
    return result
