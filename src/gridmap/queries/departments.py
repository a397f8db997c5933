"""gridmap.queries.departments: departments that answer whistles (吹哨)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, select
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
