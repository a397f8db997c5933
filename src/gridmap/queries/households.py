"""gridmap.queries.households: households, designated households (党员中心户) and whom they serve.

A household's point is its building's (a point on the building's surface). A household served by
a designated household of another grid is flagged ``cross_grid``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, and_, func, select, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from gridmap.models import Building, CareTag, Household, Visit
from gridmap.queries import feature_page, one_feature
from gridmap.queries.care import REACHED

_h = cast(Table, Household.__table__)
_b = cast(Table, Building.__table__)
_sh = _h.alias("sh")
_sb = _b.alias("sb")
_s = _h.alias("s")
_ct = cast(Table, CareTag.__table__)
_v = cast(Table, Visit.__table__)

# A household's care tags as stored (personal data: the service masks them) and its last visit.
_CARE_TAGS = (
    select(
        func.jsonb_agg(
            aggregate_order_by(
                func.jsonb_build_object(
                    "tag",
                    _ct.c.tag,
                    "interval_days",
                    _ct.c.interval_days,
                    "since",
                    _ct.c.since,
                    "note",
                    _ct.c.note,
                ),
                _ct.c.tag,
            )
        )
    )
    .where(_ct.c.household_id == _h.c.id)
    .scalar_subquery()
)
_LAST_VISIT = (
    select(func.max(_v.c.at)).where(_v.c.household_id == _h.c.id, REACHED).scalar_subquery()
)

# A household as a feature: its building's address and grid, and whom it is served by.
ROW = select(
    _h.c.id,
    _h.c.building_id,
    _b.c.code.label("building_code"),
    _b.c.address,
    _h.c.unit,
    _h.c.room,
    _h.c.designated,
    _h.c.party_members,
    _h.c.served_by,
    _h.c.group_id,
    _b.c.grid_code,
    _b.c.community_code,
    _sb.c.grid_code.label("served_by_grid"),
    and_(_h.c.served_by.is_not(None), _sb.c.grid_code.is_distinct_from(_b.c.grid_code)).label(
        "cross_grid"
    ),
    select(func.count())
    .select_from(_s)
    .where(_s.c.served_by == _h.c.id)
    .scalar_subquery()
    .label("serves"),
    _h.c.contact_name,
    _h.c.contact_phone,
    _CARE_TAGS.label("care_tags"),
    _LAST_VISIT.label("last_visit_at"),
    func.ST_PointOnSurface(_b.c.geom).label("geom"),
).select_from(
    _h.join(_b, _b.c.id == _h.c.building_id)
    .outerjoin(_sh, _sh.c.id == _h.c.served_by)
    .outerjoin(_sb, _sb.c.id == _sh.c.building_id)
)


# Whose personal data a household's is: its grid's, else its community's.
_PLACE_CODE = func.coalesce(_b.c.grid_code, _b.c.community_code, "")
_PLACE = _PLACE_CODE.label("place")
_WITH_BUILDING = _h.join(_b, _b.c.id == _h.c.building_id)


@dataclass(frozen=True)
class HouseholdFilter:
    """Which households to list: each given field narrows the list."""

    designated: bool | None = None
    grid: str | None = None
    region: str | None = None
    served_by: int | None = None
    # west, south, east, north in WGS84: the households whose building lies in a map view.
    bbox: tuple[float, float, float, float] | None = None


def list_households(
    session: Session, *, chosen: HouseholdFilter, limit: int, offset: int
) -> dict[str, Any]:
    """Households as GeoJSON points, filtered; contacts as stored."""
    where: list[ColumnElement[bool]] = []
    if chosen.designated is not None:
        where.append(_h.c.designated == chosen.designated)
    if chosen.grid is not None:
        where.append(_b.c.grid_code == chosen.grid)
    if chosen.region is not None:
        region = func.coalesce(_b.c.community_code, _b.c.grid_code, "")
        where.append(region.startswith(chosen.region))
    if chosen.served_by is not None:
        where.append(_h.c.served_by == chosen.served_by)
    if chosen.bbox is not None:
        where.append(_b.c.geom.op("&&")(func.ST_MakeEnvelope(*chosen.bbox, 4326)))
    return feature_page(
        session,
        rows=ROW,
        count_from=_WITH_BUILDING,
        where=where,
        order=_h.c.id,
        limit=limit,
        offset=offset,
    )


def household_feature(session: Session, *, household_id: int) -> dict[str, Any] | None:
    """One household as a GeoJSON Feature, contacts as stored; ``None`` when there is none."""
    return one_feature(session, ROW.where(_h.c.id == household_id))


def locked(session: Session, *, household_ids: Sequence[int]) -> list[Any]:
    """The households of ``household_ids`` (id, designated, served_by and ``place``, the code
    of their grid or community), locked for update."""
    return list(
        session.execute(
            select(
                _h.c.id, _h.c.designated, _h.c.served_by, _h.c.group_id, _h.c.building_id, _PLACE
            )
            .select_from(_WITH_BUILDING)
            .where(_h.c.id.in_(household_ids))
            .with_for_update(of=_h)
        ).all()
    )


def served(session: Session, *, household_id: int) -> list[int]:
    """The ids of the households ``household_id`` serves, in order."""
    return list(
        session.execute(
            select(_h.c.id).where(_h.c.served_by == household_id).order_by(_h.c.id)
        ).scalars()
    )


def set_served(session: Session, *, household_id: int, served: Sequence[int]) -> None:
    """Make ``served`` exactly the households ``household_id`` serves."""
    session.execute(
        update(_h)
        .where(_h.c.served_by == household_id, _h.c.id.not_in(served))
        .values(served_by=None)
    )
    if served:
        session.execute(update(_h).where(_h.c.id.in_(served)).values(served_by=household_id))


def set_designated(session: Session, *, household_id: int, designated: bool) -> list[int]:
    """Mark or unmark a designated household; unmarking releases whom it served (their ids)."""
    if designated:
        session.execute(
            update(_h).where(_h.c.id == household_id).values(designated=True, served_by=None)
        )
        return []
    released = session.execute(
        update(_h).where(_h.c.served_by == household_id).values(served_by=None).returning(_h.c.id)
    ).scalars()
    ids = list(released)
    session.execute(update(_h).where(_h.c.id == household_id).values(designated=False))
    return ids


def summary(session: Session, *, region: str | None) -> list[dict[str, Any]]:
    """Per grid: households, designated households, households served, households with none."""
    served_by = _h.c.served_by.is_not(None)
    where: list[ColumnElement[bool]] = [_b.c.grid_code.is_not(None)]
    if region is not None:
        where.append(_b.c.grid_code.startswith(region))
    grid = _b.c.grid_code.label("grid")
    rows = session.execute(
        select(
            grid,
            func.count().label("households"),
            func.count().filter(_h.c.designated).label("designated"),
            func.count().filter(served_by).label("served"),
            func.count().filter(~_h.c.designated, ~served_by).label("unserved"),
            func.count()
            .filter(served_by, _sb.c.grid_code.is_distinct_from(_b.c.grid_code))
            .label("served_from_other_grid"),
        )
        .select_from(
            _WITH_BUILDING.outerjoin(_sh, _sh.c.id == _h.c.served_by).outerjoin(
                _sb, _sb.c.id == _sh.c.building_id
            )
        )
        .where(*where)
        .group_by(_b.c.grid_code)
        .order_by(_b.c.grid_code)
    ).mappings()
    return [dict(r) for r in rows]


def designated_points(*, region: str) -> Select[Any]:
    """The designated households of ``region`` (id, address, grid, how many they serve and a
    point on their building), a SELECT for a feature collection."""
    return ROW.with_only_columns(
        _h.c.id,
        _b.c.address,
        _b.c.grid_code,
        ROW.selected_columns.serves,
        ROW.selected_columns.geom,
    ).where(_h.c.designated, _PLACE_CODE.startswith(region))


def set_group(session: Session, *, household_id: int, group_id: int | None) -> None:
    """Put a household in a Party group (None: in none)."""
    session.execute(update(_h).where(_h.c.id == household_id).values(group_id=group_id))
