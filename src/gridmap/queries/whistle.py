"""gridmap.queries.whistle: the whistle list (吹哨清单) and departments by kind."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, delete, exists, func, insert, select, update
from sqlalchemy.orm import Session

from gridmap.models import (
    Department,
    Incident,
    IncidentCategory,
    IncidentTask,
    WhistleClass,
    WhistleItem,
)

_w = cast(Table, WhistleItem.__table__)
_c = cast(Table, WhistleClass.__table__)
_d = cast(Table, Department.__table__)
_t = cast(Table, IncidentTask.__table__)
_i = cast(Table, Incident.__table__)
_cat = cast(Table, IncidentCategory.__table__)

ITEM_COLUMNS = (
    _w.c.id,
    _w.c.code,
    _w.c.class_code,
    _w.c.matter,
    _w.c.category,
    _w.c.lead_kind,
    _w.c.partner_kinds,
    _w.c.report_hours,
    _w.c.answer_hours,
    _w.c.active,
)


def item_for_category(session: Session, *, category: str) -> dict[str, Any] | None:
    """The active whistle-list line for ``category`` (the lowest code when several are)."""
    row = session.execute(
        select(*ITEM_COLUMNS)
        .where(_w.c.category == category, _w.c.active)
        .order_by(_w.c.code)
        .limit(1)
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


def classes(session: Session) -> dict[str, str]:
    """Every class's name by its code."""
    return {r.code: r.name for r in session.execute(select(_c.c.code, _c.c.name))}


def items(
    session: Session, *, category: str | None = None, active: bool | None = None
) -> list[dict[str, Any]]:
    """The lines of the list (of ``category``; active or not), by code."""
    where = []
    if category is not None:
        where.append(_w.c.category == category)
    if active is not None:
        where.append(_w.c.active.is_(active))
    rows = session.execute(select(*ITEM_COLUMNS).where(*where).order_by(_w.c.code))
    return [dict(r._mapping) for r in rows]


def item(
    session: Session, *, item_id: int | None = None, code: str | None = None, lock: bool = False
) -> dict[str, Any] | None:
    """One line by id or by code, locked for an update when ``lock``; None when there is none."""
    query = select(*ITEM_COLUMNS).where(
        _w.c.id == item_id if item_id is not None else _w.c.code == code
    )
    row = session.execute(query.with_for_update() if lock else query).first()
    return None if row is None else dict(row._mapping)


def lock_list(session: Session) -> None:
    """Take the list for one writer at a time until the transaction ends: an import compares
    the whole list with its file, and another change in between would make its report wrong."""
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext("gridmap.whistle_list"))))


def insert_class(session: Session, *, code: str, name: str) -> None:
    """Add a class."""
    session.execute(insert(_c).values(code=code, name=name))


def rename_class(session: Session, *, code: str, name: str) -> None:
    """Give a class another name."""
    session.execute(update(_c).where(_c.c.code == code).values(name=name))


def insert_item(session: Session, *, values: dict[str, Any]) -> int:
    """Add a line; its id."""
    return int(session.execute(insert(_w).values(**values).returning(_w.c.id)).scalar_one())


def update_item(session: Session, *, item_id: int, changes: dict[str, Any]) -> None:
    """Change a line's fields."""
    if changes:
        session.execute(update(_w).where(_w.c.id == item_id).values(**changes))


def delete_item(session: Session, *, item_id: int) -> None:
    """Remove a line."""
    session.execute(delete(_w).where(_w.c.id == item_id))


def item_in_use(session: Session, *, item_id: int) -> bool:
    """Whether a sub-task refers to the line."""
    return bool(session.execute(select(exists().where(_t.c.whistle_item_id == item_id))).scalar())


def category_codes(session: Session) -> set[str]:
    """The codes of the incident categories."""
    return set(session.execute(select(_cat.c.code)).scalars())


def incident_place(session: Session, *, incident_id: int) -> Any:
    """An incident's category and street; None when there is no such incident."""
    return session.execute(
        select(_i.c.category, _i.c.street_code).where(_i.c.id == incident_id)
    ).first()
