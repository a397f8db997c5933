"""gridmap.queries.field_pack: what a grid worker's phone keeps for working offline.

Each part is one statement over the worker's grids; PostGIS writes the GeoJSON.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from gridmap.models import Building, Grid, Household, IncidentCategory, Person, Visit
from gridmap.queries import care as q_care
from gridmap.queries import feature_collection

if TYPE_CHECKING:
    from gridmap.services.care import VisitRule

_g = cast(Table, Grid.__table__)
_b = cast(Table, Building.__table__)
_h = cast(Table, Household.__table__)
_c = cast(Table, IncidentCategory.__table__)
_p = cast(Table, Person.__table__)
_v = cast(Table, Visit.__table__)

# Coordinates to about 1 cm: enough to tell which grid a point falls in, and a smaller pack.
DIGITS = 7


def person(session: Session, *, person_id: int) -> dict[str, Any]:
    """The worker's id and name."""
    row = session.execute(select(_p.c.id, _p.c.name).where(_p.c.id == person_id)).mappings().one()
    return dict(row)


def grids(session: Session, *, codes: Collection[str]) -> list[dict[str, Any]]:
    """The current versions of the grids ``codes`` as GeoJSON Features."""
    rows = select(_g.c.code, _g.c.name, _g.c.community_code, _g.c.geom).where(
        _g.c.code.in_(sorted(codes)), _g.c.valid_to.is_(None)
    )
    found: list[dict[str, Any]] = session.execute(
        feature_collection(rows, order_by="code", digits=DIGITS)
    ).scalar_one()
    return found


def buildings(session: Session, *, codes: Collection[str]) -> list[dict[str, Any]]:
    """The buildings of the grids ``codes`` as GeoJSON Features (their polygons)."""
    rows = select(
        _b.c.id,
        _b.c.code,
        _b.c.address,
        _b.c.name,
        _b.c.grid_code,
        _b.c.households,
        _b.c.geom,
    ).where(_b.c.grid_code.in_(sorted(codes)))
    found: list[dict[str, Any]] = session.execute(
        feature_collection(rows, order_by="id", digits=DIGITS)
    ).scalar_one()
    return found


def households(
    session: Session, *, codes: Collection[str], rule: VisitRule, at: datetime
) -> list[dict[str, Any]]:
    """The households of the buildings of the grids ``codes``, with their contacts, care tags
    (tag and the interval applied), last visit and when they are next due."""
    care = q_care.household_care(rule, at=None)
    last = (
        select(func.max(_v.c.at))
        .where(_v.c.household_id == _h.c.id, q_care.REACHED)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            _h.c.id,
            _h.c.building_id,
            _h.c.unit,
            _h.c.room,
            _h.c.designated,
            _h.c.contact_name,
            _h.c.contact_phone,
            func.coalesce(care.c.care_tags, func.jsonb_build_array()).label("care_tags"),
            last.label("last_visit_at"),
            care.c.due_at,
            func.coalesce(care.c.due_at < at, False).label("overdue"),
        )
        .select_from(
            _h.join(_b, _b.c.id == _h.c.building_id).outerjoin(care, care.c.household_id == _h.c.id)
        )
        .where(_b.c.grid_code.in_(sorted(codes)))
        .order_by(_h.c.building_id, _h.c.unit, _h.c.room, _h.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def categories(session: Session) -> list[dict[str, Any]]:
    """The active incident categories: code, name (the minor class) and class."""
    rows = session.execute(
        select(_c.c.code, _c.c.class_).where(_c.c.active).order_by(_c.c.code)
    ).all()
    return [{"code": r.code, "name": r.code.split("/")[-1], "class": r.class_} for r in rows]
