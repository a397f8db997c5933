"""gridmap.services.visits: household visits (走访) — who may record one, and who sees notes.

A visit is recorded by the household's grid team (its workers' and leader's tokens), by the
community or street office of its region, or by an administrator; a visit sent again with the
same ``Idempotency-Key`` (the phone resends after a lost answer) is the visit already recorded.
Notes are personal data: shown only to who :func:`gridmap.services.care.sees_care`, and every
note shown is logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import Conflict, InvalidInput, NotFound, VisitTimeOutOfRange
from gridmap.privacy import mask_actor, mask_name
from gridmap.queries import audit
from gridmap.queries import care as q_care
from gridmap.queries import visits as q
from gridmap.services.access import require_role
from gridmap.services.care import log_reads, sees_care
from gridmap.vocab.roles import PERSONAL_DATA_ROLES

# Who records visits: the grid's team and the community and street offices of its region (and
# an administrator, who may every write).
VISITORS = ("admin", "street", "community", "worker")
# A visit is recorded on the day, or from the phone's queue within days; the clocks of phones
# run a little ahead.
AHEAD = timedelta(minutes=5)
BEHIND = timedelta(days=30)
ROUTE = "GET /api/v1/visits"


@dataclass(frozen=True)
class NewVisit:
    """A visit as sent."""

    household_id: int
    at: datetime
    outcome: str
    note: str | None = None
    idempotency_key: str | None = None


def public(row: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """A visit as the API shows it to ``principal``: the note (and the visitor's full name)
    only for who may see the household's personal data."""
    out = {k: v for k, v in row.items() if k != "community_code"}
    shown = sees_care(principal, row["grid_code"] or row.get("community_code"))
    out["masked"] = not shown
    if not shown:
        out["note"] = None
        out["person_name"] = mask_name(out["person_name"])
        out["created_by"] = mask_actor(out["created_by"])
    return out


def record_visit(
    session: Session, *, visit: NewVisit, principal: Principal, now: datetime
) -> tuple[dict[str, Any], bool]:
    """Record a visit; the visit and whether it is new (False: the same key was sent before)."""
    what = "record household visits"
    require_role(principal, what, roles=VISITORS)
    home = q_care.household_place(session, household_id=visit.household_id)
    if home is None:
        raise NotFound(f"no household {visit.household_id}", household=visit.household_id)
    principal.require(what, roles=VISITORS, place=home.place)
    key = visit.idempotency_key
    if key is not None:
        earlier = q.by_key(session, idempotency_key=key)
        if earlier is not None:
            return _same(earlier, visit, principal), False
    if visit.at > now + AHEAD:
        raise VisitTimeOutOfRange(
            f"at={visit.at.isoformat()} is in the future (the server's time is "
            f"{now.isoformat(timespec='seconds')}); check the phone's clock",
            field="at",
        )
    if visit.at < now - BEHIND:
        raise VisitTimeOutOfRange(
            f"at={visit.at.isoformat()} is more than {BEHIND.days} days ago; "
            "a visit is recorded within a month",
            field="at",
        )
    visit_id = q.insert_visit(
        session,
        idempotency_key=key,
        household_id=visit.household_id,
        grid_code=home.grid_code,
        person_id=principal.person_id,
        at=visit.at,
        outcome=visit.outcome,
        note=visit.note,
        created_by=principal.actor,
    )
    if visit_id is None and key is not None:
        # Another request with the same key committed between the look-up and the insert.
        earlier = q.by_key(session, idempotency_key=key)
        assert earlier is not None
        return _same(earlier, visit, principal), False
    assert visit_id is not None
    audit.record(
        session,
        principal.actor,
        "visit",
        "household",
        str(visit.household_id),
        after={"visit": visit_id, "at": visit.at, "outcome": visit.outcome},
    )
    return public(q.visit(session, visit_id=visit_id), principal), True


def _same(earlier: dict[str, Any], visit: NewVisit, principal: Principal) -> dict[str, Any]:
    """The visit recorded before under the same key, when it is of the same household."""
    if earlier["household_id"] != visit.household_id:
        raise Conflict(
            f"Idempotency-Key {visit.idempotency_key} was used for a visit to household "
            f"{earlier['household_id']}, not {visit.household_id}; send a new key",
            idempotency_key=visit.idempotency_key,
        )
    return public(earlier, principal)


def list_visits(
    session: Session, *, chosen: q.VisitFilter, principal: Principal, limit: int, offset: int
) -> dict[str, Any]:
    """A page of visits of a household, grid or region, newest first, for a token that may see
    the personal data of that place (when and how often a household is visited tells its care
    tags); the reading of each household's notes is logged."""
    place = chosen.grid or chosen.region
    if chosen.household is not None:
        found = q_care.household_place(session, household_id=chosen.household)
        if found is None:
            raise NotFound(f"no household {chosen.household}", household=chosen.household)
        place = place or found.place
    if place is None:
        raise InvalidInput("give household=, grid= or region=", field="region")
    principal.require("list household visits", roles=PERSONAL_DATA_ROLES, place=place)
    matched, rows = q.list_visits(session, chosen=chosen, limit=limit, offset=offset)
    visits = [public(r, principal) for r in rows]
    log_reads(
        session,
        principal,
        (v["household_id"] for v in visits if not v["masked"] and v["note"] is not None),
        fields=["visit_notes"],
        route=ROUTE,
    )
    return {"numberMatched": matched, "numberReturned": len(visits), "visits": visits}
