"""gridmap.queries.units: resident units (驻区单位) at their points, as GeoJSON.

A unit's grid and community are those holding its point (the grid's community, or the community
region holding the point when it lies in no grid). Contacts are returned as stored; the service
masks them.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from gridmap.models import Grid, Region, ResidentUnit
from gridmap.queries import feature_page, one_feature
from gridmap.queries.lists import grid_at

_u = cast(Table, ResidentUnit.__table__)
_g = cast(Table, Grid.__table__)
_r = cast(Table, Region.__table__)

ROW = select(
    _u.c.id,
    _u.c.code,
    _u.c.name,
    _u.c.kind,
    _u.c.address,
    _u.c.grid_code,
    _u.c.community_code,
    _u.c.committee_id,
    _u.c.joined_at,
    _u.c.contact_name,
    _u.c.contact_phone,
    _u.c.geom,
)


def _point(lon: float, lat: float) -> ColumnElement[Any]:
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


def units(
    session: Session,
    *,
    community: str | None = None,
    grid: str | None = None,
    committee: bool | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """Resident units as a page of GeoJSON points, contacts as stored."""
    where: list[ColumnElement[bool]] = []
    if community is not None:
        where.append(_u.c.community_code.startswith(community))
    if grid is not None:
        where.append(_u.c.grid_code == grid)
    if committee is not None:
        where.append(_u.c.committee_id.is_not(None) if committee else _u.c.committee_id.is_(None))
    if bbox is not None:
        where.append(_u.c.geom.op("&&")(func.ST_MakeEnvelope(*bbox, 4326)))
    return feature_page(
        session,
        rows=ROW,
        count_from=_u,
        where=where,
        order=_u.c.id,
        limit=limit,
        offset=offset,
    )


def unit_feature(session: Session, *, unit_id: int) -> dict[str, Any] | None:
    """One unit as a GeoJSON Feature, or ``None``."""
    return one_feature(session, ROW.where(_u.c.id == unit_id))


def exists(session: Session, *, unit_id: int) -> bool:
    """Whether there is a unit ``unit_id``."""
    return session.execute(select(_u.c.id).where(_u.c.id == unit_id)).first() is not None


def head(session: Session, *, unit_id: int, lock: bool = False) -> Any:
    """The unit's own columns but its point (locked for update with ``lock``), or ``None``."""
    stmt = select(*(c for c in _u.c if c.name != "geom")).where(_u.c.id == unit_id)
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).one_or_none()


def place_at(session: Session, *, lon: float, lat: float) -> tuple[str | None, str | None]:
    """The grid and community holding a WGS84 point (the community region when in no grid)."""
    grid = grid_at(session, lon=lon, lat=lat)
    if grid is not None:
        return grid, grid[:12]
    community = session.execute(
        select(_r.c.code)
        .where(_r.c.level == "community", func.ST_Covers(_r.c.geom, _point(lon, lat)))
        .order_by(_r.c.code)
        .limit(1)
    ).scalar_one_or_none()
    return None, community


def insert_unit(session: Session, *, values: dict[str, Any], lon: float, lat: float) -> int | None:
    """Write a new unit at a point (coded ``U00012`` after its id without a code); its id, or
    ``None`` when its code is taken."""
    unit_id = int(
        session.execute(
            select(func.nextval(func.pg_get_serial_sequence("resident_unit", "id")))
        ).scalar_one()
    )
    code = values.get("code") or f"U{unit_id:05d}"
    found = session.execute(
        pg_insert(_u)
        .values({**values, "id": unit_id, "code": code, "geom": _point(lon, lat)})
        .on_conflict_do_nothing()
        .returning(_u.c.id)
    ).scalar_one_or_none()
    return int(found) if found is not None else None


def code_taken(session: Session, *, code: str, other_than: int | None = None) -> bool:
    """Whether another unit is coded ``code``."""
    where = [_u.c.code == code]
    if other_than is not None:
        where.append(_u.c.id != other_than)
    return session.execute(select(_u.c.id).where(*where)).first() is not None


def update_unit(
    session: Session,
    *,
    unit_id: int,
    values: dict[str, Any],
    point: tuple[float, float] | None = None,
) -> None:
    """Change a unit's columns (and point)."""
    changes = dict(values)
    if point is not None:
        changes["geom"] = _point(*point)
    if changes:
        session.execute(update(_u).where(_u.c.id == unit_id).values(changes))


def delete_unit(session: Session, *, unit_id: int) -> None:
    """Remove a unit (list items and members naming it keep no link)."""
    session.execute(delete(_u).where(_u.c.id == unit_id))


def stored(session: Session, *, unit_id: int) -> dict[str, Any]:
    """A unit as the audit log keeps it (its point as lon/lat)."""
    row = session.execute(
        select(
            *(c for c in _u.c if c.name != "geom"),
            func.ST_X(_u.c.geom).label("lon"),
            func.ST_Y(_u.c.geom).label("lat"),
        ).where(_u.c.id == unit_id)
    ).one()
    return dict(row._mapping)
