"""gridmap.queries.lists: the three lists (资源清单, 需求清单, 项目清单) and matching them.

Every item has a point and gets the grid holding it when written. A need is matched with open
resources of its category: first those in the need's grid, then its community, then those sharing
a service circle with it, then the rest; within each tier nearest first, by walking distance over
the road network where both lie near it, else in a straight line. A chosen match becomes a project
linking both (群众点单、支部派单、党员接单).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import Conflict, InvalidInput, NotFound
from gridmap.geo.isochrone import CircleRules
from gridmap.privacy import mask_name, mask_phone
from gridmap.queries import audit, feature_collection_sql, feature_page_sql
from gridmap.queries.circles import start_edges, walkable
from gridmap.vocab.roles import WRITERS

# How far a walk is followed when ranking matches; farther resources rank by straight line.
MATCH_WALK_M = 5000.0
EDITABLE = (
    "category",
    "title",
    "description",
    "owner_kind",
    "owner_name",
    "contact_name",
    "contact_phone",
    "status",
)

_ROW = """
SELECT i.id, i.code, i.list, i.category, i.title, i.description, i.owner_kind, i.owner_name,
       i.contact_name, i.contact_phone, i.status, i.need_id, i.resource_id, i.grid_code,
       left(i.grid_code, 12) AS community_code, i.created_at, i.geom
FROM list_item i
"""

_GRID_AT = """
SELECT g.code FROM grid_piece p JOIN grid g ON g.id = p.grid_id
WHERE g.valid_to IS NULL AND ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
ORDER BY g.code LIMIT 1
"""


def _mask(feature: dict[str, Any], principal: Principal) -> dict[str, Any]:
    props = feature["properties"]
    if not principal.sees_personal_data(props.get("grid_code") or ""):
        props["contact_name"] = mask_name(props.get("contact_name"))
        props["contact_phone"] = mask_phone(props.get("contact_phone"))
    return feature


def list_items(
    session: Session,
    *,
    principal: Principal,
    kind: str | None,
    category: str | None,
    grid: str | None,
    region: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """A page of list items as GeoJSON."""
    where = """
WHERE (CAST(:kind AS text) IS NULL OR i.list = :kind)
  AND (CAST(:category AS text) IS NULL OR i.category = :category)
  AND (CAST(:grid AS text) IS NULL OR i.grid_code = :grid)
  AND (CAST(:region AS text) IS NULL OR left(coalesce(i.grid_code, ''), length(:region)) = :region)
  AND (CAST(:status AS text) IS NULL OR i.status = :status)
"""
    params = {
        "kind": kind,
        "category": category,
        "grid": grid,
        "region": region,
        "status": status,
        "limit": limit,
        "offset": offset,
    }
    return feature_page_sql(
        session,
        rows=_ROW,
        count="list_item i",
        where=where,
        params=params,
        order="i.code",
        mask=lambda f: _mask(f, principal),
    )


def get_item(session: Session, *, item_id: int, principal: Principal) -> dict[str, Any]:
    """One list item as a GeoJSON Feature."""
    features = session.execute(
        text(feature_collection_sql(f"{_ROW} WHERE i.id = :id", order_by="code")), {"id": item_id}
    ).scalar_one()
    if not features:
        raise NotFound(f"no list item {item_id}")
    return _mask(features[0], principal)


def _require_writer(principal: Principal, place: str | None, what: str) -> None:
    principal.require(what, roles=WRITERS, place=place)


def _grid_at(session: Session, lon: float, lat: float) -> str | None:
    code: str | None = session.execute(
        text(_GRID_AT), {"lon": lon, "lat": lat}
    ).scalar_one_or_none()
    return code


def _new_code(session: Session, item_id: int) -> str:
    code = f"L{item_id:04d}"
    n = 1
    while session.execute(text("SELECT 1 FROM list_item WHERE code = :c"), {"c": code}).first():
        n += 1
        code = f"L{item_id:04d}-{n}"
    return code


def create_item(
    session: Session,
    *,
    values: dict[str, Any],
    lon: float,
    lat: float,
    principal: Principal,
    need_id: int | None = None,
    resource_id: int | None = None,
) -> dict[str, Any]:
    """Write a new item at a WGS84 point; its grid is the one holding the point."""
    grid = _grid_at(session, lon, lat)
    _require_writer(principal, grid, "add list items")
    item_id = session.execute(
        text("SELECT nextval(pg_get_serial_sequence('list_item', 'id'))")
    ).scalar_one()
    session.execute(
        text(
            "INSERT INTO list_item (id, code, list, category, title, description, owner_kind, "
            "owner_name, contact_name, contact_phone, status, need_id, resource_id, grid_code, "
            "geom) VALUES (:id, :code, :list, :category, :title, :description, :owner_kind, "
            ":owner_name, :contact_name, :contact_phone, :status, :need_id, :resource_id, :grid, "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
        ),
        {
            "description": None,
            "owner_name": None,
            "contact_name": None,
            "contact_phone": None,
            "status": "open",
            **values,
            "id": item_id,
            "code": _new_code(session, item_id),
            "need_id": need_id,
            "resource_id": resource_id,
            "grid": grid,
            "lon": lon,
            "lat": lat,
        },
    )
    feature = get_item(session, item_id=item_id, principal=principal)
    audit.record(
        session,
        actor=principal.actor,
        action="create",
        entity="list_item",
        key=feature["properties"]["code"],
        before=None,
        after=feature["properties"],
    )
    return feature


def _locked(session: Session, item_id: int) -> Any:
    row = session.execute(
        text(
            "SELECT id, code, list, category, status, grid_code, title, owner_kind, owner_name, "
            "ST_X(geom) AS lon, ST_Y(geom) AS lat FROM list_item WHERE id = :id FOR UPDATE"
        ),
        {"id": item_id},
    ).one_or_none()
    if row is None:
        raise NotFound(f"no list item {item_id}")
    return row


def update_item(
    session: Session,
    *,
    item_id: int,
    values: dict[str, Any],
    lon: float | None,
    lat: float | None,
    principal: Principal,
) -> dict[str, Any]:
    """Change an item's fields (and point: its grid follows)."""
    row = _locked(session, item_id)
    _require_writer(principal, row.grid_code, "change list items")
    before = get_item(session, item_id=item_id, principal=principal)["properties"]
    sets = [f"{k} = :{k}" for k in values if k in EDITABLE]
    params: dict[str, Any] = {**values, "id": item_id}
    if lon is not None and lat is not None:
        grid = _grid_at(session, lon, lat)
        _require_writer(principal, grid, "move list items")
        sets += ["geom = ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)", "grid_code = :grid"]
        params.update(lon=lon, lat=lat, grid=grid)
    if sets:
        session.execute(text(f"UPDATE list_item SET {', '.join(sets)} WHERE id = :id"), params)
    feature = get_item(session, item_id=item_id, principal=principal)
    audit.record(
        session,
        actor=principal.actor,
        action="update",
        entity="list_item",
        key=row.code,
        before=before,
        after=feature["properties"],
    )
    return feature


def delete_item(session: Session, *, item_id: int, principal: Principal) -> None:
    """Remove an item (projects that pointed at it keep their record, unlinked)."""
    row = _locked(session, item_id)
    _require_writer(principal, row.grid_code, "delete list items")
    before = get_item(session, item_id=item_id, principal=principal)["properties"]
    session.execute(text("DELETE FROM list_item WHERE id = :id"), {"id": item_id})
    audit.record(
        session,
        actor=principal.actor,
        action="delete",
        entity="list_item",
        key=row.code,
        before=before,
        after=None,
    )


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

_TIERS = ("same grid", "same community", "same service circle", "elsewhere")


def match(
    session: Session,
    *,
    need_id: int,
    by: str,
    limit: int,
    rules: CircleRules,
    principal: Principal,
) -> dict[str, Any]:
    """Open resources for a need, ranked by tier (grid, community, circle) then distance."""
    need = session.execute(
        text(
            "SELECT id, list, status, category, grid_code, ST_X(geom) AS lon, ST_Y(geom) AS lat "
            "FROM list_item WHERE id = :id"
        ),
        {"id": need_id},
    ).one_or_none()
    if need is None:
        raise NotFound(f"no list item {need_id}")
    if need.list != "need":
        raise InvalidInput(f"item {need_id} is a {need.list}, not a need")
    edges = ""
    if by == "walk":
        start = start_edges(
            session, lon=need.lon, lat=need.lat, snap_m=rules.snap_m, budget_m=MATCH_WALK_M
        )
        edges = start[0] if start else ""
    dd = (
        "SELECT node, agg_cost FROM pgr_drivingDistance(:edges, -1, :budget, false)"
        if edges
        else "SELECT NULL::bigint AS node, NULL::float8 AS agg_cost WHERE false"
    )
    rows = session.execute(
        text(_CANDIDATES.format(dd=dd, walkable=walkable("x"))),
        {"need": need_id, "edges": edges, "budget": MATCH_WALK_M, "snap": rules.snap_m},
    ).all()
    ranked = sorted(
        rows,
        key=lambda r: (r.tier, r.walk_m if r.walk_m is not None else r.straight_m, r.id),
    )
    return {
        "need": get_item(session, item_id=need_id, principal=principal),
        "by": by,
        "matches": [
            {
                "resource_id": r.id,
                "code": r.code,
                "title": r.title,
                "category": r.category,
                "owner_kind": r.owner_kind,
                "owner_name": r.owner_name,
                "grid_code": r.grid_code,
                "tier": _TIERS[r.tier],
                "distance_m": r.walk_m if r.walk_m is not None else r.straight_m,
                "distance_kind": "walk" if r.walk_m is not None else "straight",
                "straight_m": r.straight_m,
            }
            for r in ranked[:limit]
        ],
    }


def take_match(
    session: Session, *, need_id: int, resource_id: int, title: str | None, principal: Principal
) -> dict[str, Any]:
    """Turn a need and a resource into a project linking both; both become ``matched``."""
    need = _locked(session, need_id)
    resource = _locked(session, resource_id)
    if need.list != "need" or resource.list != "resource":
        raise InvalidInput("a match joins a need (need) and a resource (resource)")
    if need.category != resource.category:
        raise Conflict(
            f"the need is {need.category!r} and the resource {resource.category!r}: "
            "a match joins items of one category"
        )
    for item in (need, resource):
        if item.status != "open":
            raise Conflict(f"item {item.code} is {item.status}, not open", status=item.status)
    _require_writer(principal, need.grid_code, "match needs with resources")
    project = create_item(
        session,
        values={
            "list": "project",
            "category": need.category,
            "title": title or f"{need.title} ← {resource.title}",
            "owner_kind": resource.owner_kind,
            "owner_name": resource.owner_name,
            "status": "open",
        },
        lon=need.lon,
        lat=need.lat,
        principal=principal,
        need_id=need_id,
        resource_id=resource_id,
    )
    session.execute(
        text("UPDATE list_item SET status = 'matched' WHERE id IN (:n, :r)"),
        {"n": need_id, "r": resource_id},
    )
    return project
