"""gridmap.services.households: designated households (党员中心户), whom they serve, who may say so.

Contact names and phones are masked unless the caller may see personal data of the household's
grid (or community). Every change lands with its audit row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import Conflict, InvalidInput, NotFound
from gridmap.queries import audit
from gridmap.queries import households as q
from gridmap.schemas.households import MAX_SERVED
from gridmap.services.access import require_role
from gridmap.services.contacts import masked, masked_page
from gridmap.vocab.roles import GRID_EDITORS

_PLACES = ("grid_code", "community_code")


def list_households(
    session: Session, *, principal: Principal, chosen: q.HouseholdFilter, limit: int, offset: int
) -> dict[str, Any]:
    """Households as GeoJSON points, filtered; contacts masked unless the caller may see them."""
    page = q.list_households(session, chosen=chosen, limit=limit, offset=offset)
    return masked_page(page, principal, *_PLACES)


def get_household(session: Session, *, household_id: int, principal: Principal) -> dict[str, Any]:
    """One household, and (for a designated one) the households it serves."""
    feature = q.household_feature(session, household_id=household_id)
    if feature is None:
        raise NotFound(f"no household {household_id}")
    feature = masked(feature, principal, *_PLACES)
    if feature["properties"]["designated"]:
        feature["served"] = list_households(
            session,
            principal=principal,
            chosen=q.HouseholdFilter(served_by=household_id),
            limit=MAX_SERVED * 5,
            offset=0,
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
    session: Session, *, household_id: int, served: list[int], principal: Principal
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
    feature = get_household(session, household_id=household_id, principal=principal)
    feature["moved_from_other_designated"] = moved
    return feature


def set_designated(
    session: Session, *, household_id: int, designated: bool, principal: Principal
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
    return get_household(session, household_id=household_id, principal=principal)


def summary(session: Session, *, region: str | None) -> list[dict[str, Any]]:
    """Per grid: households, designated households, households served, households with none."""
    return q.summary(session, region=region)
