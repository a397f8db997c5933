"""gridmap.queries.list_flow: who a need, wish or project may go to, and the hours members serve.

The rules (who may assign, claim, complete) live in :mod:`gridmap.services.list_flow`; these
read the members, units and teams an item may be assigned to, and add served hours to a member.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from gridmap.models import GridStaff, PartyMember, PartyOrg, Person, ResidentUnit

_m = cast(Table, PartyMember.__table__)
_o = cast(Table, PartyOrg.__table__)
_person = cast(Table, Person.__table__)
_u = cast(Table, ResidentUnit.__table__)
_staff = cast(Table, GridStaff.__table__)


def member(session: Session, *, member_id: int) -> Any:
    """A member's id, name, the community of their organisation (``org_community``) and the
    community they registered with (``registered_community``); None when there is none."""
    return session.execute(
        select(
            _m.c.id,
            _person.c.name,
            _o.c.community_code.label("org_community"),
            _m.c.registered_community,
            _m.c.hours_served,
        )
        .select_from(
            _m.join(_person, _person.c.id == _m.c.person_id).outerjoin(_o, _o.c.id == _m.c.org_id)
        )
        .where(_m.c.id == member_id)
    ).one_or_none()


def unit_community(session: Session, *, unit_id: int) -> str | None:
    """The community a resident unit lies in; None when there is no such unit (or it lies in
    no community)."""
    found: str | None = session.execute(
        select(_u.c.community_code).where(_u.c.id == unit_id)
    ).scalar_one_or_none()
    return found


def team_size(session: Session, *, grid: str) -> int:
    """How many people the grid's team (grid_staff) has."""
    return int(
        session.execute(
            select(func.count()).select_from(_staff).where(_staff.c.grid_code == grid)
        ).scalar_one()
    )


def add_hours(session: Session, *, member_id: int, hours: float) -> tuple[float, float]:
    """Add ``hours`` to a member's running total under the row's lock; the total before and
    after."""
    after = session.execute(
        update(_m)
        .where(_m.c.id == member_id)
        .values(hours_served=_m.c.hours_served + hours)
        .returning(_m.c.hours_served)
    ).scalar_one()
    return round(float(after) - hours, 1), float(after)
