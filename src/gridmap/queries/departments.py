"""gridmap.queries.departments: departments that answer whistles (吹哨)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, func, literal, or_, select
from sqlalchemy import update as sa_update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gridmap.models import Department, Region

_d = cast(Table, Department.__table__)
_r = cast(Table, Region.__table__)


def region_level(session: Session, code: str) -> str | None:
    """The level of region ``code``, or None when there is no such region."""
    level: str | None = session.execute(
        select(_r.c.level).where(_r.c.code == code)
    ).scalar_one_or_none()
    return level


def add(
    session: Session, *, code: str, name: str, level: str, region: str, kind: str | None = None
) -> bool:
    """Insert a department (of ``kind``, by default its name); False when its code is taken."""
    made = session.execute(
        insert(_d)
        .values(code=code, name=name, level=level, region_code=region, kind=kind or name)
        .on_conflict_do_nothing(index_elements=[_d.c.code])
        .returning(_d.c.code)
    ).first()
    return made is not None


def all_departments(session: Session) -> list[dict[str, Any]]:
    """Every department, by code."""
    return [dict(r._mapping) for r in session.execute(select(_d).order_by(_d.c.code))]


def list_departments(
    session: Session,
    *,
    region: str | None,
    kind: str | None,
    active: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """A page of departments (district ones first, then by code) and how many match.

    ``region``: those serving it, i.e. of the region itself, of the regions it lies in and of
    the regions inside it (a street: its own and its district's)."""
    where = []
    if region is not None:
        where.append(
            or_(
                _d.c.region_code.startswith(region, autoescape=True),
                literal(region).startswith(_d.c.region_code),
            )
        )
    if kind is not None:
        where.append(_d.c.kind == kind)
    if active is not None:
        where.append(_d.c.active.is_(active))
    total = session.execute(select(func.count()).select_from(_d).where(*where)).scalar_one()
    rows = session.execute(
        select(_d.c.code, _d.c.name, _d.c.kind, _d.c.level, _d.c.region_code, _d.c.active)
        .where(*where)
        .order_by(_d.c.level, _d.c.region_code, _d.c.code)
        .limit(limit)
        .offset(offset)
    )
    return [dict(r._mapping) for r in rows], int(total)


def head(session: Session, *, code: str, lock: bool = False) -> dict[str, Any] | None:
    """One department, locked for an update when ``lock``; None when there is none."""
    query = select(
        _d.c.code, _d.c.name, _d.c.kind, _d.c.level, _d.c.region_code, _d.c.active
    ).where(_d.c.code == code)
    row = session.execute(query.with_for_update() if lock else query).first()
    return None if row is None else dict(row._mapping)


def update(session: Session, *, code: str, changes: dict[str, Any]) -> None:
    """Change a department's name, kind or whether it is active."""
    if changes:
        session.execute(sa_update(_d).where(_d.c.code == code).values(**changes))


def kinds(session: Session) -> set[str]:
    """The kinds of the registered departments."""
    return set(session.execute(select(_d.c.kind).distinct()).scalars())
