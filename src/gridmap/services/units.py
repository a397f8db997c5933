"""gridmap.services.units: resident units (驻区单位): who may change them, where they lie, and
their membership of their community's big Party committee (共驻共建).

A unit's grid and community follow from its point; it joins only a committee of its own
community. Offices covering the community change units; contacts are shown only to the staff
and the organisations of the unit's place. Every change lands with its audit row.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import Conflict, NotFound, OutsideCommunity, UnitCommitteeElsewhere
from gridmap.queries import audit
from gridmap.queries import org as org_queries
from gridmap.queries import units as q
from gridmap.services.access import require_role
from gridmap.services.org import unit_out
from gridmap.vocab.roles import ORG_EDITORS


def list_units(
    session: Session,
    *,
    principal: Principal,
    community: str | None,
    grid: str | None,
    committee: bool | None,
    bbox: tuple[float, float, float, float] | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """A page of units as GeoJSON; contacts masked unless the caller may see them."""
    page = q.units(
        session,
        community=community,
        grid=grid,
        committee=committee,
        bbox=bbox,
        limit=limit,
        offset=offset,
    )
    page["features"] = [unit_out(f, principal) for f in page["features"]]
    return page


def get_unit(session: Session, *, unit_id: int, principal: Principal) -> dict[str, Any]:
    """One unit as a GeoJSON Feature."""
    feature = q.unit_feature(session, unit_id=unit_id)
    if feature is None:
        raise NotFound(f"no resident unit {unit_id}")
    return unit_out(feature, principal)


def _place(session: Session, lon: float, lat: float) -> tuple[str | None, str]:
    grid, community = q.place_at(session, lon=lon, lat=lat)
    if community is None:
        raise OutsideCommunity(f"the point ({lon}, {lat}) lies in no community")
    return grid, community


def _check_committee(session: Session, committee: int | None, community: str) -> None:
    """Raise unless ``committee`` (when set) is a committee of ``community``."""
    if committee is None:
        return
    row = org_queries.head(session, org_id=committee)
    if row is None or row.kind != "committee" or row.community_code != community:
        raise UnitCommitteeElsewhere(
            f"organisation {committee} is not a big Party committee of community {community}",
            committee_id=committee,
        )


def create_unit(
    session: Session,
    *,
    values: dict[str, Any],
    lon: float,
    lat: float,
    principal: Principal,
    today: date,
) -> dict[str, Any]:
    """Write a new unit at a WGS84 point; its grid and community are those holding it."""
    what = "add resident units"
    require_role(principal, what, roles=ORG_EDITORS)
    grid, community = _place(session, lon, lat)
    principal.require(what, roles=ORG_EDITORS, place=community)
    _check_committee(session, values.get("committee_id"), community)
    if values.get("committee_id") is not None:
        values["joined_at"] = values.get("joined_at") or today
    else:
        values["joined_at"] = None
    code = values.get("code")
    if code is not None and q.code_taken(session, code=code):
        raise Conflict(f"a resident unit is already coded {code}", field="code")
    unit_id = q.insert_unit(
        session,
        values={**values, "grid_code": grid, "community_code": community},
        lon=lon,
        lat=lat,
    )
    if unit_id is None:
        raise Conflict(f"a resident unit is already coded {code}", field="code")
    audit.record(
        session,
        principal.actor,
        "create",
        "resident_unit",
        str(unit_id),
        after=q.stored(session, unit_id=unit_id),
    )
    return get_unit(session, unit_id=unit_id, principal=principal)


def _locked(session: Session, unit_id: int) -> Any:
    row = q.head(session, unit_id=unit_id, lock=True)
    if row is None:
        raise NotFound(f"no resident unit {unit_id}")
    return row


def update_unit(
    session: Session,
    *,
    unit_id: int,
    values: dict[str, Any],
    point: tuple[float, float] | None,
    principal: Principal,
    today: date,
) -> dict[str, Any]:
    """Change a unit's fields and point; ``committee_id`` joins (``joined_at`` today unless
    given) or, null, leaves its community's big committee."""
    what = "change resident units"
    require_role(principal, what, roles=ORG_EDITORS)
    row = _locked(session, unit_id)
    principal.require(what, roles=ORG_EDITORS, place=row.community_code)
    changes = dict(values)
    community = row.community_code
    if point is not None:
        grid, community = _place(session, *point)
        principal.require(what, roles=ORG_EDITORS, place=community)
        changes.update(grid_code=grid, community_code=community)
    committee = changes["committee_id"] if "committee_id" in changes else row.committee_id
    _check_committee(session, committee, community)
    if "committee_id" in changes:
        if committee is None:
            changes["joined_at"] = None
        elif committee != row.committee_id:
            changes["joined_at"] = changes.get("joined_at") or today
    if "code" in changes and q.code_taken(session, code=changes["code"], other_than=unit_id):
        raise Conflict(f"a resident unit is already coded {changes['code']}", field="code")
    before = q.stored(session, unit_id=unit_id)
    q.update_unit(session, unit_id=unit_id, values=changes, point=point)
    after = q.stored(session, unit_id=unit_id)
    if after != before:
        action = "update"
        if before["committee_id"] != after["committee_id"]:
            action = "join" if after["committee_id"] is not None else "leave"
        audit.record(
            session,
            principal.actor,
            action,
            "resident_unit",
            str(unit_id),
            before=before,
            after=after,
        )
    return get_unit(session, unit_id=unit_id, principal=principal)


def delete_unit(session: Session, *, unit_id: int, principal: Principal) -> None:
    """Remove a unit (its list items and members keep no link to it)."""
    what = "remove resident units"
    require_role(principal, what, roles=ORG_EDITORS)
    row = _locked(session, unit_id)
    principal.require(what, roles=ORG_EDITORS, place=row.community_code)
    before = q.stored(session, unit_id=unit_id)
    q.delete_unit(session, unit_id=unit_id)
    audit.record(session, principal.actor, "delete", "resident_unit", str(unit_id), before=before)
