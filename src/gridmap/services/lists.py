"""gridmap.services.lists: who may write the three lists, matching needs, what a change writes.

A need is matched with open resources of its category: first those in the need's grid, then its
community, then those sharing a service circle with it, then the rest; within each tier nearest
first, by walking distance over the road network where both lie near it, else in a straight line.
A chosen match becomes a project linking both (群众点单、支部派单、党员接单). Every write lands
with its audit row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import Conflict, InvalidInput, NotFound
from gridmap.geo.isochrone import CircleRules
from gridmap.queries import audit
from gridmap.queries import lists as q
from gridmap.queries.circles import start_edges
from gridmap.services.access import require_role
from gridmap.services.contacts import masked, masked_page
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
TIERS = ("same grid", "same community", "same service circle", "elsewhere")


def list_items(
    session: Session, *, principal: Principal, chosen: q.ItemFilter, limit: int, offset: int
) -> dict[str, Any]:
    """A page of list items as GeoJSON; contacts masked unless the caller may see them."""
    page = q.list_items(session, chosen=chosen, limit=limit, offset=offset)
    return masked_page(page, principal, "grid_code")


def get_item(session: Session, *, item_id: int, principal: Principal) -> dict[str, Any]:
    """One list item as a GeoJSON Feature, contacts masked unless the caller may see them."""
    feature = q.item_feature(session, item_id=item_id)
    if feature is None:
        raise NotFound(f"no list item {item_id}")
    return masked(feature, principal, "grid_code")


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    key: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    audit.record(session, principal.actor, action, "list_item", key, before=before, after=after)


def _locked(session: Session, item_id: int) -> Any:
    row = q.head(session, item_id=item_id, lock=True)
    if row is None:
        raise NotFound(f"no list item {item_id}")
    return row


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
    grid = q.grid_at(session, lon=lon, lat=lat)
    principal.require("add list items", roles=WRITERS, place=grid)
    links = {"need_id": need_id, "resource_id": resource_id, "grid_code": grid}
    item_id = q.insert_item(session, values={**values, **links}, lon=lon, lat=lat)
    feature = get_item(session, item_id=item_id, principal=principal)
    _audit(session, principal, "create", feature["properties"]["code"], None, feature["properties"])
    return feature


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
    require_role(principal, "change list items", roles=WRITERS)
    row = _locked(session, item_id)
    principal.require("change list items", roles=WRITERS, place=row.grid_code)
    before = get_item(session, item_id=item_id, principal=principal)["properties"]
    grid = None
    if lon is not None and lat is not None:
        grid = q.grid_at(session, lon=lon, lat=lat)
        principal.require("move list items", roles=WRITERS, place=grid)
    q.update_item(
        session,
        item_id=item_id,
        changes={k: v for k, v in values.items() if k in EDITABLE},
        lon=lon,
        lat=lat,
        grid=grid,
    )
    feature = get_item(session, item_id=item_id, principal=principal)
    _audit(session, principal, "update", row.code, before, feature["properties"])
    return feature


def delete_item(session: Session, *, item_id: int, principal: Principal) -> None:
    """Remove an item (projects that pointed at it keep their record, unlinked)."""
    require_role(principal, "delete list items", roles=WRITERS)
    row = _locked(session, item_id)
    principal.require("delete list items", roles=WRITERS, place=row.grid_code)
    before = get_item(session, item_id=item_id, principal=principal)["properties"]
    q.delete_item(session, item_id=item_id)
    _audit(session, principal, "delete", row.code, before, None)


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
    need = q.head(session, item_id=need_id)
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
    rows = q.candidates(
        session, need_id=need_id, edges=edges, budget_m=MATCH_WALK_M, snap_m=rules.snap_m
    )
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
                "tier": TIERS[r.tier],
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
    # Locked lowest id first, so two matches of the same pair from either end queue.
    rows = {i: _locked(session, i) for i in sorted({need_id, resource_id})}
    need, resource = rows[need_id], rows[resource_id]
    # Who and where before anything else: both items change, so both must be the caller's.
    for item in (need, resource):
        principal.require("match needs with resources", roles=WRITERS, place=item.grid_code)
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
    q.set_status(session, item_ids=(need_id, resource_id), status="matched")
    return project
