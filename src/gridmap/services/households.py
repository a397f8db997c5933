"""gridmap.services.households: designated households (党员中心户), whom they serve, who may say so.

Contact names and phones are masked unless the caller may see personal data of the household's
grid (or community); so are its care tags, last visit and next due visit, and each read of care
tags is logged. Every change lands with its audit row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import Conflict, Forbidden, HouseholdOutsideGroup, InvalidInput, NotFound
from gridmap.queries import audit
from gridmap.queries import households as q
from gridmap.queries import org as org_queries
from gridmap.schemas.households import MAX_SERVED
from gridmap.services.access import require_role
from gridmap.services.care import VisitRule, due_at, log_reads, sees_care, tags_of
from gridmap.services.contacts import masked, masked_page
from gridmap.vocab.roles import GRID_EDITORS, ORG_EDITORS

_PLACES = ("grid_code", "community_code")


ROUTE = "GET /api/v1/households"


def _care(feature: dict[str, Any], principal: Principal, rule: VisitRule) -> dict[str, Any]:
    """``feature`` with its care tags, last visit and next due visit, or these null and
    ``masked`` true for a caller who may not see the household's personal data."""
    props = feature["properties"]
    place = next((props[p] for p in _PLACES if props.get(p)), "")
    if sees_care(principal, place):
        tags = props.get("care_tags") or []
        last = props.get("last_visit_at")
        due = due_at(rule, tags_of(tags), datetime.fromisoformat(last) if last else None)
        props.update(care_tags=tags, next_visit_due=due.isoformat() if due else None, masked=False)
    else:
        props.update(care_tags=None, last_visit_at=None, next_visit_due=None, masked=True)
    return feature


def _shown(session: Session, principal: Principal, features: list[dict[str, Any]]) -> None:
    """Log the care tags the caller was shown: one row per household that has some."""
    log_reads(
        session,
        principal,
        (f["properties"]["id"] for f in features if f["properties"]["care_tags"]),
        fields=["care_tags"],
        route=ROUTE,
    )


def list_households(
    session: Session,
    *,
    principal: Principal,
    chosen: q.HouseholdFilter,
    limit: int,
    offset: int,
    rule: VisitRule,
) -> dict[str, Any]:
    """Households as GeoJSON points, filtered; contacts and care masked unless the caller may
    see them."""
    page = masked_page(
        q.list_households(session, chosen=chosen, limit=limit, offset=offset),
        principal,
        *_PLACES,
    )
    page["features"] = [_care(f, principal, rule) for f in page["features"]]
    _shown(session, principal, page["features"])
    return page


def get_household(
    session: Session, *, household_id: int, principal: Principal, rule: VisitRule
) -> dict[str, Any]:
    """One household, and (for a designated one) the households it serves."""
    feature = q.household_feature(session, household_id=household_id)
    if feature is None:
        raise NotFound(f"no household {household_id}")
    feature = _care(masked(feature, principal, *_PLACES), principal, rule)
    _shown(session, principal, [feature])
    if feature["properties"]["designated"]:
        feature["served"] = list_households(
            session,
            principal=principal,
            chosen=q.HouseholdFilter(served_by=household_id),
            limit=MAX_SERVED * 5,
            offset=0,
            rule=rule,
        )
    return feature


def _head(session: Session, household_id: int, principal: Principal, what: str) -> Any:
    """The household, locked, once the caller may ``what`` it."""
    rows = q.locked(session, household_ids=[household_id])
    if not rows:
        raise NotFound(f"no household {household_id}")
    principal.require(what, roles=GRID_EDITORS, place=rows[0].place)
    return rows[0]


def set_served(
    session: Session,
    *,
    household_id: int,
    served: list[int],
    principal: Principal,
    rule: VisitRule,
) -> dict[str, Any]:
    """Make ``served`` exactly the households that ``household_id`` (designated) serves."""
    what = "change whom a household serves"
    require_role(principal, what, roles=GRID_EDITORS)
    # Bounded before any row is locked for it.
    if len(served) > MAX_SERVED:
        raise InvalidInput(f"a designated household serves at most {MAX_SERVED} households")
    # Who and where first: the designated household and every household it would serve.
    head = _head(session, household_id, principal, what)
    rows = q.locked(session, household_ids=sorted(set(served) - {household_id}))
    for r in rows:
        principal.require(what, roles=GRID_EDITORS, place=r.place)
    if len(set(served)) != len(served):
        raise InvalidInput("a household is listed twice")
    if household_id in served:
        raise InvalidInput("a designated household does not serve itself")
    if not head.designated:
        raise Conflict(
            f"household {household_id} is not a designated household (党员中心户); "
            "mark it designated first"
        )
    found = {r.id: r for r in rows}
    missing = [i for i in served if i not in found]
    if missing:
        raise InvalidInput(f"no such households: {missing[:20]}", missing=missing[:200])
    designated = [i for i in served if found[i].designated]
    if designated:
        raise Conflict(f"designated households are not served by another: {designated[:20]}")
    before = q.served(session, household_id=household_id)
    moved = [r.id for r in rows if r.served_by not in (None, household_id)]
    q.set_served(session, household_id=household_id, served=served)
    audit.record(
        session,
        principal.actor,
        "serve",
        "household",
        str(household_id),
        before={"served": before},
        after={"served": sorted(served)},
    )
    feature = get_household(session, household_id=household_id, principal=principal, rule=rule)
    feature["moved_from_other_designated"] = moved
    return feature


def set_designated(
    session: Session,
    *,
    household_id: int,
    designated: bool,
    principal: Principal,
    rule: VisitRule,
) -> dict[str, Any]:
    """Mark or unmark a designated household; unmarking releases the households it served."""
    head = _head(session, household_id, principal, "mark designated households")
    if head.designated != designated:
        released = q.set_designated(session, household_id=household_id, designated=designated)
        audit.record(
            session,
            principal.actor,
            "designate" if designated else "undesignate",
            "household",
            str(household_id),
            before={"designated": head.designated},
            after={"designated": designated, "released": sorted(released)},
        )
    return get_household(session, household_id=household_id, principal=principal, rule=rule)


def set_group(
    session: Session,
    *,
    household_id: int,
    group_id: int | None,
    principal: Principal,
    rule: VisitRule,
) -> dict[str, Any]:
    """Put a household in the Party group (党小组) of its building, or (None) in none: by an
    office covering it, or the token of an organisation over the group whose grids hold it."""
    what = "put households in Party groups"
    require_role(principal, what, roles=(*ORG_EDITORS, "branch"))
    rows = q.locked(session, household_ids=[household_id])
    if not rows:
        raise NotFound(f"no household {household_id}")
    head = rows[0]
    if principal.role == "branch":
        mine = org_queries.subtree(session, org_id=principal.org_id) if principal.org_id else set()
        if not principal.covers(head.place) or (group_id is not None and group_id not in mine):
            raise Forbidden(
                f"an organisation's token may {what} only in its own grids and groups",
                role=principal.role,
            )
    else:
        principal.require(what, roles=ORG_EDITORS, place=head.place)
    if group_id is not None:
        group = org_queries.head(session, org_id=group_id)
        if group is None or group.kind != "group":
            raise InvalidInput(f"no Party group {group_id}", field="group_id")
        found = org_queries.orgs(session, ids=[group_id])[0]
        if head.building_id not in found["building_ids"]:
            raise HouseholdOutsideGroup(
                f"household {household_id}'s building is not one of group {found['code']}'s "
                "buildings",
                group_id=group_id,
                building_id=head.building_id,
            )
    if head.group_id != group_id:
        q.set_group(session, household_id=household_id, group_id=group_id)
        audit.record(
            session,
            principal.actor,
            "group",
            "household",
            str(household_id),
            before={"group_id": head.group_id},
            after={"group_id": group_id},
        )
    return get_household(session, household_id=household_id, principal=principal, rule=rule)


def summary(session: Session, *, region: str | None) -> list[dict[str, Any]]:
    """Per grid: households, designated households, households served, households with none."""
    return q.summary(session, region=region)
