"""gridmap.services.org_checks: the organisation's checks — warnings on the map and in
``gridmap validate``, never errors.

Every grid has a leader (网格长) and a worker (专职网格员); a leader leads at most
``leader_max_grids`` grids; a basic grid holds ``grid_households_min``–``grid_households_max``
households; every grid has a Party branch and every building with households a Party group; a
designated household (党员中心户) serves ``central_serves_min``–``central_serves_max`` households;
and after a redraw, posts left on a retired grid and designated households outside their group's
branch grids are offered for reassignment. Each warning is a GeoJSON Feature: the grid's shape,
or a point on the building (of the household).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gridmap.queries import org_checks as q
from gridmap.queries import org_stats

# The checks, in the order they are listed.
CHECKS = (
    "grid_no_leader",
    "grid_no_worker",
    "leader_too_many_grids",
    "grid_too_few_households",
    "grid_too_many_households",
    "grid_no_branch",
    "building_no_group",
    "central_too_few",
    "central_too_many",
    "reassign_after_redraw",
)

# Each check in words, for the command line (the web has its own words, in both languages).
CHECK_WORDS = {
    "grid_no_leader": "grids without a leader (网格长)",
    "grid_no_worker": "grids without a grid worker (专职网格员)",
    "leader_too_many_grids": "grids whose leader leads too many grids",
    "grid_too_few_households": "basic grids with too few households",
    "grid_too_many_households": "basic grids with too many households",
    "grid_no_branch": "grids without a Party branch (网格党支部)",
    "building_no_group": "buildings with households and no Party group (党小组)",
    "central_too_few": "designated households (党员中心户) serving too few households",
    "central_too_many": "designated households (党员中心户) serving too many households",
    "reassign_after_redraw": "posts and designated households to reassign after a redraw",
}


@dataclass(frozen=True)
class Thresholds:
    """The figures the checks hold grids, leaders and designated households to."""

    grid_households_min: int = 300
    grid_households_max: int = 500
    leader_max_grids: int = 3
    central_serves_min: int = 10
    central_serves_max: int = 20

    @classmethod
    def from_settings(cls, api: Any) -> Thresholds:
        """The thresholds of a deployment's API settings."""
        return cls(
            grid_households_min=api.grid_households_min,
            grid_households_max=api.grid_households_max,
            leader_max_grids=api.leader_max_grids,
            central_serves_min=api.central_serves_min,
            central_serves_max=api.central_serves_max,
        )


def _feature(check: str, row: Any, **figures: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": json.loads(row.geometry) if row.geometry else None,
        "properties": {
            "check": check,
            "grid_code": row.grid_code if hasattr(row, "grid_code") else row.code,
            "community_code": row.community_code,
            **figures,
        },
    }


def warnings(session: Session, *, region: str | None, limits: Thresholds) -> dict[str, Any]:
    """Every warning of ``region`` (a district, street or community code; None: everywhere) as
    a FeatureCollection, with the number of each check beside it."""
    r = region or ""
    found: dict[str, list[dict[str, Any]]] = {c: [] for c in CHECKS}
    for g in q.grid_teams(session, region=r):
        for check, flagged in (
            ("grid_no_leader", g.no_leader),
            ("grid_no_worker", g.no_worker),
            ("grid_no_branch", g.no_branch),
        ):
            if flagged:
                found[check].append(_feature(check, g))
    for g in q.busy_leaders(session, region=r, most=limits.leader_max_grids):
        found["leader_too_many_grids"].append(
            _feature(
                "leader_too_many_grids",
                g,
                person=int(g.person_id),
                n=int(g.n),
                max=limits.leader_max_grids,
            )
        )
    least, most = limits.grid_households_min, limits.grid_households_max
    for g in q.grid_sizes(session, region=r, least=least, most=most):
        check = "grid_too_few_households" if g.n < least else "grid_too_many_households"
        found[check].append(_feature(check, g, n=int(g.n), min=least, max=most))
    for b in q.ungrouped_buildings(session, region=r):
        found["building_no_group"].append(
            _feature("building_no_group", b, building_id=int(b.id), address=b.address, n=int(b.n))
        )
    least, most = limits.central_serves_min, limits.central_serves_max
    for h in q.central_sizes(session, region=r, least=least, most=most):
        check = "central_too_few" if h.n < least else "central_too_many"
        found[check].append(
            _feature(
                check,
                h,
                household_id=int(h.id),
                group_id=h.group_id,
                serves_n=int(h.n),
                min=least,
                max=most,
            )
        )
    for s in q.orphan_posts(session, region=r):
        found["reassign_after_redraw"].append(
            _feature("reassign_after_redraw", s, what="staff", staff_id=int(s.id), role=s.role)
        )
    for h in q.astray_households(session, region=r):
        found["reassign_after_redraw"].append(
            _feature(
                "reassign_after_redraw",
                h,
                what="household",
                household_id=int(h.id),
                group_id=int(h.group_id),
            )
        )
    features = [f for c in CHECKS for f in found[c]]
    return {
        "type": "FeatureCollection",
        "region": region,
        "counts": {c: len(found[c]) for c in CHECKS},
        "numberReturned": len(features),
        "features": features,
    }


def figures(session: Session, *, region: str | None, group: str) -> dict[str, Any]:
    """The organisation's figures per ``group`` (community or street) of ``region``, with the
    share of buildings with households that have a Party group (null where none have
    households)."""
    rows = []
    for r in org_stats.figures(session, region=region or "", level=group):
        row = {
            k: int(v) if isinstance(v, int | float) and k != "hours_served" else v
            for k, v in r._mapping.items()
        }
        row["hours_served"] = round(float(r.hours_served or 0), 1)
        row["group_share"] = (
            round(r.buildings_with_group / r.buildings_with_households, 4)
            if r.buildings_with_households
            else None
        )
        rows.append(row)
    return {"region": region, "group": group, "rows": rows}
