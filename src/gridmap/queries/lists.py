"""gridmap.queries.lists: the three lists (资源清单, 需求清单, 项目清单) and their matches, as SQL.

Every item has a point and gets the grid holding it when written. A need's candidates are the open
resources of its category, each with its tier (same grid, community, service circle, elsewhere),
its straight-line distance and, where both lie near the road network, its walking distance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from gridmap.models import (
    Grid,
    GridPiece,
    ListItem,
    PartyMember,
    PartyOrgGrid,
    Person,
    ResidentUnit,
)
from gridmap.queries import feature_page, one_feature
from gridmap.queries.circles import walkable

_i = cast(Table, ListItem.__table__)
_g = cast(Table, Grid.__table__)
_p = cast(Table, GridPiece.__table__)
_m = cast(Table, PartyMember.__table__)
_person = cast(Table, Person.__table__)
_og = cast(Table, PartyOrgGrid.__table__)
_u = cast(Table, ResidentUnit.__table__)

# The name of the member who took an item on (personal data: masked by the services).
_MEMBER_NAME = (
    select(_person.c.name)
    .select_from(_m.join(_person, _person.c.id == _m.c.person_id))
    .where(_m.c.id == _i.c.member_id)
    .scalar_subquery()
)

# The name of the unit an item was assigned to or offered by (a public body, not personal data).
_UNIT_NAME = select(_u.c.name).where(_u.c.id == _i.c.unit_id).scalar_subquery()

# An item as a feature: every column, and the community holding its grid.
ROW = select(
    _i.c.id,
    _i.c.code,
    _i.c.list,
    _i.c.category,
    _i.c.title,
    _i.c.description,
    _i.c.owner_kind,
    _i.c.owner_name,
    _i.c.contact_name,
    _i.c.contact_phone,
    _i.c.status,
    _i.c.need_id,
    _i.c.resource_id,
    _i.c.grid_code,
    func.left(_i.c.grid_code, 12).label("community_code"),
    _i.c.created_at,
    _i.c.wish,
    _i.c.source,
    _i.c.org_id,
    _i.c.unit_id,
    _UNIT_NAME.label("unit_name"),
    _i.c.assignee_kind,
    _i.c.member_id,
    _MEMBER_NAME.label("member_name"),
    _i.c.assigned_by,
    _i.c.assigned_at,
    _i.c.taken_by,
    _i.c.taken_at,
    _i.c.done_at,
    _i.c.report,
    _i.c.hours,
    _i.c.service_content,
    _i.c.service_standard,
    _i.c.due_date,
    _i.c.responsible_unit,
    _i.c.responsible_person,
    _i.c.geom,
)


def _point(lon: float, lat: float) -> ColumnElement[Any]:
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


@dataclass(frozen=True)
class ItemFilter:
    """Which items to list: each given field narrows the list."""

    kind: str | None = None
    category: str | None = None
    grid: str | None = None
    region: str | None = None
    status: str | None = None
    # west, south, east, north in WGS84: the items inside a map view.
    bbox: tuple[float, float, float, float] | None = None
    wish: bool | None = None
    # The member who took the items on.
    member: int | None = None
    # Items in these grids only (a branch's ``mine``).
    grids: frozenset[str] | None = None


def list_items(session: Session, *, chosen: ItemFilter, limit: int, offset: int) -> dict[str, Any]:
    """A page of list items as GeoJSON, contacts as stored."""
    where: list[ColumnElement[bool]] = []
    if chosen.kind is not None:
        where.append(_i.c.list == chosen.kind)
    if chosen.category is not None:
        where.append(_i.c.category == chosen.category)
    if chosen.grid is not None:
        where.append(_i.c.grid_code == chosen.grid)
    if chosen.region is not None:
        where.append(func.coalesce(_i.c.grid_code, "").startswith(chosen.region))
    if chosen.status is not None:
        where.append(_i.c.status == chosen.status)
    if chosen.bbox is not None:
        where.append(_i.c.geom.op("&&")(func.ST_MakeEnvelope(*chosen.bbox, 4326)))
    if chosen.wish is not None:
        where.append(_i.c.wish.is_(chosen.wish))
    if chosen.member is not None:
        where.append(_i.c.member_id == chosen.member)
    if chosen.grids is not None:
        where.append(_i.c.grid_code.in_(sorted(chosen.grids)))
    return feature_page(
        session,
        rows=ROW,
        count_from=_i,
        where=where,
        order=_i.c.code,
        limit=limit,
        offset=offset,
    )


def item_feature(session: Session, *, item_id: int) -> dict[str, Any] | None:
    """One list item as a GeoJSON Feature, contacts as stored; ``None`` when there is none."""
    return one_feature(session, ROW.where(_i.c.id == item_id))


def grid_at(session: Session, *, lon: float, lat: float) -> str | None:
    """The code of the current grid holding a WGS84 point (the first by code)."""
    code: str | None = session.execute(
        select(_g.c.code)
        .select_from(_p.join(_g, _g.c.id == _p.c.grid_id))
        .where(_g.c.valid_to.is_(None), func.ST_Intersects(_p.c.geom, _point(lon, lat)))
        .order_by(_g.c.code)
        .limit(1)
    ).scalar_one_or_none()
    return code


def _new_code(session: Session, item_id: int) -> str:
    code = f"L{item_id:04d}"
    n = 1
    while session.execute(select(1).where(_i.c.code == code)).first():
        n += 1
        code = f"L{item_id:04d}-{n}"
    return code


def insert_item(session: Session, *, values: dict[str, Any], lon: float, lat: float) -> int:
    """Write a new item (``values`` by column) at a WGS84 point, coded ``L0001`` after its id;
    returns its id."""
    item_id: int = session.execute(
        select(func.nextval(func.pg_get_serial_sequence("list_item", "id")))
    ).scalar_one()
    defaults = dict.fromkeys(("description", "owner_name", "contact_name", "contact_phone"))
    session.execute(
        insert(_i).values(
            {
                **defaults,
                "status": "open",
                **values,
                "id": item_id,
                "code": _new_code(session, item_id),
                "geom": _point(lon, lat),
            }
        )
    )
    return item_id


def head(session: Session, *, item_id: int, lock: bool = False) -> Any:
    """The item's kind, category, status, grid and community, title, owner, whom it is assigned
    to or taken by, and point (locked for update with ``lock``); ``None`` when there is no such
    item."""
    chosen = select(
        _i.c.id,
        _i.c.code,
        _i.c.list,
        _i.c.category,
        _i.c.status,
        _i.c.grid_code,
        _i.c.title,
        _i.c.owner_kind,
        _i.c.owner_name,
        _i.c.assignee_kind,
        _i.c.member_id,
        _i.c.unit_id,
        func.left(_i.c.grid_code, 12).label("community_code"),
        func.ST_X(_i.c.geom).label("lon"),
        func.ST_Y(_i.c.geom).label("lat"),
    ).where(_i.c.id == item_id)
    return session.execute(chosen.with_for_update() if lock else chosen).one_or_none()


def update_item(
    session: Session,
    *,
    item_id: int,
    changes: dict[str, Any],
    lon: float | None = None,
    lat: float | None = None,
    grid: str | None = None,
) -> None:
    """Change an item's columns; with a point, move it (and set its grid to ``grid``)."""
    values = dict(changes)
    if lon is not None and lat is not None:
        values.update(geom=_point(lon, lat), grid_code=grid)
    if values:
        session.execute(update(_i).where(_i.c.id == item_id).values(**values))


def set_status(session: Session, *, item_ids: Sequence[int], status: str) -> None:
    """Give every item of ``item_ids`` the status ``status``."""
    session.execute(update(_i).where(_i.c.id.in_(item_ids)).values(status=status))


def delete_item(session: Session, *, item_id: int) -> None:
    """Remove an item (projects that pointed at it keep their row, unlinked by the foreign key)."""
    session.execute(delete(_i).where(_i.c.id == item_id))


_CANDIDATES = """
WITH need AS (SELECT id, category, grid_code, geom FROM list_item WHERE id = :need),
dd AS ({dd}),
r AS (
    SELECT i.id, i.code, i.title, i.category, i.owner_kind, i.owner_name, i.grid_code,
           CASE WHEN i.grid_code = n.grid_code THEN 0
                WHEN left(i.grid_code, 12) = left(n.grid_code, 12) THEN 1
                WHEN EXISTS (SELECT FROM service_circle c WHERE ST_Intersects(c.geom, n.geom)
                             AND ST_Intersects(c.geom, i.geom)) THEN 2
                ELSE 3 END AS tier,
           ST_Distance(i.geom::geography, n.geom::geography) AS straight_m,
           i.geom
    FROM list_item i, need n
    WHERE i.list = 'resource' AND i.category = n.category AND i.status = 'open'
)
SELECT r.id, r.code, r.title, r.category, r.owner_kind, r.owner_name, r.grid_code, r.tier,
       round(r.straight_m::numeric, 1)::float8 AS straight_m,
       round(w.walk_m::numeric, 1)::float8 AS walk_m
FROM r
LEFT JOIN LATERAL (
    SELECT min(e.d + least(s.agg_cost + e.f * e.length_m, t.agg_cost + (1 - e.f) * e.length_m))
               AS walk_m
    FROM (SELECT x.source, x.target, x.length_m, ST_LineLocatePoint(x.geom, r.geom) AS f,
                 ST_Distance(x.geom::geography, r.geom::geography) AS d
          FROM road_edge x WHERE x.length_m > 0 AND {walkable}
          ORDER BY x.geom <-> r.geom LIMIT 4) e
    LEFT JOIN dd s ON s.node = e.source LEFT JOIN dd t ON t.node = e.target
    WHERE e.d <= :snap AND (s.node IS NOT NULL OR t.node IS NOT NULL)
) w ON true
"""


def candidates(
    session: Session, *, need_id: int, edges: str, budget_m: float, snap_m: float
) -> list[Any]:
    """Open resources of the need's category: tier (0 grid … 3 elsewhere), ``straight_m`` and
    ``walk_m`` (over pgRouting's ``edges`` query from the need; ``None`` without ``edges``)."""
    dd = (
        "SELECT node, agg_cost FROM pgr_drivingDistance(:edges, -1, :budget, false)"
        if edges
        else "SELECT NULL::bigint AS node, NULL::float8 AS agg_cost WHERE false"
    )
    # Kept as SQL: pgr_drivingDistance, a LATERAL nearest-edges scan (KNN ``<->``) per resource
    # and the tiers' spatial tests, written out as the planner runs them.
    rows = session.execute(
        text(_CANDIDATES.format(dd=dd, walkable=walkable("x"))),
        {"need": need_id, "edges": edges, "budget": budget_m, "snap": snap_m},
    ).all()
    return list(rows)


def branch_of(session: Session, *, grid: str | None) -> int | None:
    """The Party branch set up in ``grid`` (网格党支部), or None."""
    if grid is None:
        return None
    found = session.execute(
        select(_og.c.org_id).where(_og.c.grid_code == grid)
    ).scalar_one_or_none()
    return int(found) if found is not None else None


class _Now:
    """Stands for the transaction's time in :func:`set_flow`'s values."""


NOW = _Now()


def set_flow(session: Session, *, item_id: int, values: dict[str, Any]) -> None:
    """Write a step of an item's flow: its status and the flow columns of ``values`` (:data:`NOW`
    for a time column stands for the transaction's time)."""
    session.execute(
        update(_i)
        .where(_i.c.id == item_id)
        .values({k: func.now() if v is NOW else v for k, v in values.items()})
    )
