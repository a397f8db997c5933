"""gridmap.queries.open311: the rows of the Open311 feed: categories and incidents with places."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.orm import Session

from gridmap.models import Grid, Incident, IncidentCategory, IncidentEvent, Region
from gridmap.vocab.states import DONE

_i = cast(Table, Incident.__table__)
_e = cast(Table, IncidentEvent.__table__).alias("e")
_c = cast(Table, IncidentCategory.__table__)
_g = cast(Table, Grid.__table__)
_cm = cast(Table, Region.__table__).alias("cm")
_s = cast(Table, Region.__table__).alias("s")

# An incident as a service request: its category's class, when it last changed and the last
# note, the place (grid, else community) and street, and its point.
_REQUEST = select(
    _i.c.id,
    _i.c.status,
    _i.c.category,
    _c.c.class_,
    _i.c.description,
    _i.c.reported_at,
    _i.c.due_at,
    func.coalesce(
        select(func.max(_e.c.at)).where(_e.c.incident_id == _i.c.id).scalar_subquery(),
        _i.c.reported_at,
    ).label("updated_at"),
    select(_e.c.note)
    .where(_e.c.incident_id == _i.c.id)
    .order_by(_e.c.seq.desc())
    .limit(1)
    .scalar_subquery()
    .label("last_note"),
    func.coalesce(_g.c.name, _cm.c.name).label("place"),
    _s.c.name.label("street_name"),
    _i.c.grid_code,
    func.ST_X(_i.c.geom).label("lon"),
    func.ST_Y(_i.c.geom).label("lat"),
).select_from(
    _i.outerjoin(_c, _c.c.code == _i.c.category)
    .outerjoin(_g, (_g.c.code == _i.c.grid_code) & _g.c.valid_to.is_(None))
    .outerjoin(_cm, _cm.c.code == _i.c.community_code)
    .outerjoin(_s, _s.c.code == _i.c.street_code)
)


def active_categories(session: Session) -> Sequence[Any]:
    """Code, class and time limit of every active category, by code."""
    return session.execute(
        select(_c.c.code, _c.c.class_, _c.c.limit_hours).where(_c.c.active).order_by(_c.c.code)
    ).all()


def requests(
    session: Session,
    *,
    ids: Sequence[int] | None = None,
    services: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    status: str | None = None,
    limit: int,
) -> Sequence[Any]:
    """Incidents not merged into another, newest first, each filter applied only when given
    (``ids`` and ``services`` match any of theirs; ``status`` is Open311's ``open`` or
    ``closed``; ``start`` and ``end`` are inclusive)."""
    where: list[ColumnElement[bool]] = [_i.c.merged_into.is_(None)]
    if ids is not None:
        where.append(_i.c.id.in_(ids))
    if services is not None:
        where.append(_i.c.category.in_(services))
    if start is not None:
        where.append(_i.c.reported_at >= start)
    if end is not None:
        where.append(_i.c.reported_at <= end)
    if status is not None:
        where.append(_i.c.status.not_in(DONE) if status == "open" else _i.c.status.in_(DONE))
    return session.execute(
        _REQUEST.where(*where).order_by(_i.c.reported_at.desc(), _i.c.id.desc()).limit(limit)
    ).all()
