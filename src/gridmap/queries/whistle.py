"""gridmap.queries.whistle: the whistle list (吹哨清单) and departments by kind."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from gridmap.models import Department, WhistleItem

_w = cast(Table, WhistleItem.__table__)
_d = cast(Table, Department.__table__)


def item_for_category(session: Session, *, category: str) -> dict[str, Any] | None:
    """The active whistle-list line for ``category`` (the lowest code when several are)."""
    row = session.execute(
        select(_w).where(_w.c.category == category, _w.c.active).order_by(_w.c.code).limit(1)
    ).first()
    return None if row is None else dict(row._mapping)


def departments_of_kinds(
    session: Session, *, kinds: list[str], regions: list[str]
) -> list[dict[str, Any]]:
    """The active departments of any of ``kinds`` belonging to any of ``regions``."""
    rows = session.execute(
        select(_d.c.code, _d.c.name, _d.c.kind, _d.c.level, _d.c.region_code).where(
            _d.c.kind.in_(kinds), _d.c.region_code.in_(regions), _d.c.active
        )
    )
    return [dict(r._mapping) for r in rows]
