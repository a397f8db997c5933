"""gridmap.queries.visits: household visits (走访), written once per idempotency key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from gridmap.models import Building, Household, Person, Visit

_v = cast(Table, Visit.__table__)
_h = cast(Table, Household.__table__)
_b = cast(Table, Building.__table__)
_p = cast(Table, Person.__table__)

# A visit with its visitor's name and, for whose personal data its note is, the household's
# community (for a household in no grid).
ROW = select(
    _v.c.id,
    _v.c.household_id,
    _v.c.grid_code,
    _v.c.person_id,
    _p.c.name.label("person_name"),
    _v.c.at,
    _v.c.outcome,
    _v.c.note,
    _v.c.created_by,
    _v.c.created_at,
    _b.c.community_code,
).select_from(
    _v.outerjoin(_p, _p.c.id == _v.c.person_id)
    .join(_h, _h.c.id == _v.c.household_id)
    .join(_b, _b.c.id == _h.c.building_id)
)


@dataclass(frozen=True)
class VisitFilter:
    """Which visits to list: each given field narrows the list."""

    household: int | None = None
    grid: str | None = None
    region: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def insert_visit(session: Session, *, idempotency_key: str | None, **values: Any) -> int | None:
    """Record a visit; its id, or None when a visit with ``idempotency_key`` exists already."""
    stmt = pg_insert(_v).values(idempotency_key=idempotency_key, **values)
    if idempotency_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=[_v.c.idempotency_key])
    found: int | None = session.execute(stmt.returning(_v.c.id)).scalar_one_or_none()
    return found


def by_key(session: Session, *, idempotency_key: str) -> dict[str, Any] | None:
    """The visit recorded with ``idempotency_key``; None when there is none."""
    row = session.execute(ROW.where(_v.c.idempotency_key == idempotency_key)).mappings().first()
    return dict(row) if row is not None else None


def visit(session: Session, *, visit_id: int) -> dict[str, Any]:
    """One visit."""
    return dict(session.execute(ROW.where(_v.c.id == visit_id)).mappings().one())


def list_visits(
    session: Session, *, chosen: VisitFilter, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """How many visits match, and a page of them, newest first."""
    where: list[ColumnElement[bool]] = []
    if chosen.household is not None:
        where.append(_v.c.household_id == chosen.household)
    if chosen.grid is not None:
        where.append(_v.c.grid_code == chosen.grid)
    if chosen.region is not None:
        place = func.coalesce(_v.c.grid_code, _b.c.community_code, "")
        where.append(place.startswith(chosen.region))
    if chosen.start is not None:
        where.append(_v.c.at >= chosen.start)
    if chosen.end is not None:
        where.append(_v.c.at < chosen.end)
    matched: int = session.execute(
        select(func.count()).select_from(ROW.where(*where).subquery())
    ).scalar_one()
    rows = session.execute(
        ROW.where(*where).order_by(_v.c.at.desc(), _v.c.id.desc()).limit(limit).offset(offset)
    ).mappings()
    return matched, [dict(r) for r in rows]
