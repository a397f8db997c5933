"""gridmap.queries.field_stats: the SQL of the assessment's patrol and visit figures (per grid and
per grid worker): patrols, kilometres and hours walked, visits made, households overdue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, func, literal_column, or_, select
from sqlalchemy.orm import Session

from gridmap.models import Building, Grid, GridStaff, Household, Patrol, PatrolPiece, Person, Visit
from gridmap.queries.care import household_care
from gridmap.services.care import VisitRule

_pa = cast(Table, Patrol.__table__)
_pp = cast(Table, PatrolPiece.__table__)
_v = cast(Table, Visit.__table__)
_g = cast(Table, Grid.__table__)
_s = cast(Table, GridStaff.__table__)
_p = cast(Table, Person.__table__)
_h = cast(Table, Household.__table__)
_b = cast(Table, Building.__table__)

# The posts whose holders patrol and visit (a grid's leader walks it too).
FIELD_ROLES = ("worker", "leader")


def _period(column: Any, start: datetime | None, end: datetime | None) -> list[ColumnElement[bool]]:
    where = []
    if start is not None:
        where.append(column >= start)
    if end is not None:
        where.append(column < end)
    return where


def _patrol_hours() -> ColumnElement[Any]:
    # A patrol not ended (yet) lasts until its last uploaded point.
    last_point = (
        select(func.max(_pp.c.last_at)).where(_pp.c.patrol_id == _pa.c.id).scalar_subquery()
    )
    until = func.coalesce(_pa.c.ended_at, last_point, _pa.c.started_at)
    return func.extract("epoch", until - _pa.c.started_at) / literal_column("3600.0")


def grids(session: Session, *, region: str | None) -> list[Any]:
    """The current grids of ``region`` (every one when None): code, name, by code."""
    where: list[ColumnElement[bool]] = [_g.c.valid_to.is_(None)]
    if region is not None:
        where.append(or_(_g.c.code.startswith(region), _g.c.community_code.startswith(region)))
    return list(session.execute(select(_g.c.code, _g.c.name).where(*where).order_by(_g.c.code)))


def patrols_per_grid(
    session: Session, *, codes: Sequence[str], start: datetime | None, end: datetime | None
) -> dict[str, Any]:
    """Per grid of ``codes``: patrols started in the period that passed through it, their km
    and hours (a patrol through two grids counts in both)."""
    grid = func.unnest(_pa.c.grid_codes).label("grid")
    per = (
        select(grid, _pa.c.length_m, _patrol_hours().label("hours"))
        .where(*_period(_pa.c.started_at, start, end))
        .subquery()
    )
    rows = session.execute(
        select(
            per.c.grid,
            func.count().label("patrols"),
            func.sum(per.c.length_m).label("length_m"),
            func.sum(per.c.hours).label("hours"),
        )
        .where(per.c.grid.in_(list(codes)))
        .group_by(per.c.grid)
    )
    return {r.grid: r for r in rows}


def visits_per_grid(
    session: Session, *, codes: Sequence[str], start: datetime | None, end: datetime | None
) -> dict[str, int]:
    """Visits made in the period to households of each grid of ``codes``."""
    rows = session.execute(
        select(_v.c.grid_code, func.count())
        .where(_v.c.grid_code.in_(list(codes)), *_period(_v.c.at, start, end))
        .group_by(_v.c.grid_code)
    )
    return {str(code): int(n) for code, n in rows}


def overdue_per_grid(
    session: Session, *, codes: Sequence[str], at: datetime, rule: VisitRule
) -> dict[str, int]:
    """Households of each grid of ``codes`` whose visit was due before ``at``."""
    care = household_care(rule, at=at)
    rows = session.execute(
        select(_b.c.grid_code, func.count())
        .select_from(
            care.join(_h, _h.c.id == care.c.household_id).join(_b, _b.c.id == _h.c.building_id)
        )
        .where(care.c.due_at < at, _b.c.grid_code.in_(list(codes)))
        .group_by(_b.c.grid_code)
    )
    return {str(code): int(n) for code, n in rows}


def field_people(session: Session, *, codes: Sequence[str]) -> list[Any]:
    """The workers and leaders of the grids ``codes``: person id, name, their grids there."""
    return list(
        session.execute(
            select(_p.c.id, _p.c.name, func.array_agg(func.distinct(_s.c.grid_code)).label("grids"))
            .select_from(_s.join(_p, _p.c.id == _s.c.person_id))
            .where(_s.c.grid_code.in_(list(codes)), _s.c.role.in_(FIELD_ROLES))
            .group_by(_p.c.id, _p.c.name)
            .order_by(_p.c.id)
        )
    )


def visits_per_person(
    session: Session, *, person_ids: Sequence[int], start: datetime | None, end: datetime | None
) -> dict[int, int]:
    """The visits each person of ``person_ids`` made in the period."""
    rows = session.execute(
        select(_v.c.person_id, func.count())
        .where(and_(_v.c.person_id.in_(list(person_ids)), *_period(_v.c.at, start, end)))
        .group_by(_v.c.person_id)
    )
    return {int(p): int(n) for p, n in rows}
