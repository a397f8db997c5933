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
from gridmap.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    SheetOnProjectOnly,
    StatusByFlow,
    WishOnNeedOnly,
)
from gridmap.geo.isochrone import CircleRules
from gridmap.privacy import mask_actor, mask_name, mask_phone
from gridmap.queries import audit
from gridmap.queries import lists as q
from gridmap.queries.circles import start_edges
from gridmap.services.access import require_role
from gridmap.vocab.roles import ORG_READERS, WRITERS

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
    "wish",
)
# What PATCH sets of a resource's status (a need's, wish's or project's moves only by its flow:
# assign, claim, complete, close).
RESOURCE_STATUSES = ("open", "matched", "closed")
# The project sheet (项目清单): 服务内容, 服务标准, 时限, 责任单位, 责任人.
SHEET = (
    "service_content",
    "service_standard",
    "due_date",
    "responsible_unit",
    "responsible_person",
)
TIERS = ("same grid", "same community", "same service circle", "elsewhere")


def sees_people(principal: Principal, place: str | None) -> bool:
    """Whether ``principal`` sees the personal data of the list items of ``place`` (a grid):
    the staff of the place and the Party organisation whose grid it is (``ORG_READERS``)."""
    return principal.role in ORG_READERS and principal.covers(place or "")


def shown(feature: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """A list item as ``principal`` may see it: the member who took it on as ``member``
    ``{id, name}``, its unit (a public body, named to everyone) as ``unit`` ``{id, name}``; the
    contact, that member's name, the completion report, the project's
    responsible person and who assigned or took it masked unless the caller sees the personal
    data of the item's grid (a member token sees its own name)."""
    props = feature["properties"]
    name = props.pop("member_name", None)
    member_id = props.get("member_id")
    props["member"] = {"id": member_id, "name": name} if member_id is not None else None
    unit_name = props.pop("unit_name", None)
    unit_id = props.get("unit_id")
    props["unit"] = {"id": unit_id, "name": unit_name} if unit_id is not None else None
    if sees_people(principal, props.get("grid_code")):
        return feature
    props["contact_name"] = mask_name(props.get("contact_name"))
    props["contact_phone"] = mask_phone(props.get("contact_phone"))
    props["responsible_person"] = mask_name(props.get("responsible_person"))
    props["report"] = None
    props["assigned_by"] = mask_actor(props.get("assigned_by"))
    props["taken_by"] = mask_actor(props.get("taken_by"))
    if props["member"] is not None and member_id != principal.member_id:
        props["member"]["name"] = mask_name(name)
    return feature


def list_items(
    session: Session, *, principal: Principal, chosen: q.ItemFilter, limit: int, offset: int
) -> dict[str, Any]:
    """A page of list items as GeoJSON; personal data masked unless the caller may see it."""
    page = q.list_items(session, chosen=chosen, limit=limit, offset=offset)
    page["features"] = [shown(f, principal) for f in page["features"]]
    return page


def get_item(session: Session, *, item_id: int, principal: Principal) -> dict[str, Any]:
    """One list item as a GeoJSON Feature, personal data masked unless the caller may see it."""
    feature = q.item_feature(session, item_id=item_id)
    if feature is None:
        raise NotFound(f"no list item {item_id}")
    return shown(feature, principal)


def record_of(session: Session, *, item_id: int) -> dict[str, Any]:
    """An item's properties as stored, for the audit log (which offices read)."""
    feature = q.item_feature(session, item_id=item_id)
    if feature is None:
        raise NotFound(f"no list item {item_id}")
    props: dict[str, Any] = feature["properties"]
    return props


def check_fields(kind: str, values: dict[str, Any]) -> None:
    """Refuse a wish that is not a need, and a project sheet on anything but a project."""
    if values.get("wish") and kind != "need":
        raise WishOnNeedOnly(f"a wish (微心愿) is a need; this item is a {kind}")
    given = [f for f in SHEET if values.get(f) is not None]
    if given and kind != "project":
        raise SheetOnProjectOnly(
            f"{', '.join(given)}: the project sheet is kept for projects; this item is a {kind}",
            fields=given,
        )


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
    check_fields(values["list"], values)
    links = {
        "need_id": need_id,
        "resource_id": resource_id,
        "grid_code": grid,
        # Entered by a grid worker or an office (on a resident's behalf, for a need).
        "source": "worker" if principal.role == "worker" else "office",
        "org_id": q.branch_of(session, grid=grid),
    }
    item_id = q.insert_item(session, values={**values, **links}, lon=lon, lat=lat)
    record = record_of(session, item_id=item_id)
    _audit(session, principal, "create", record["code"], None, record)
    return get_item(session, item_id=item_id, principal=principal)


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
    before = record_of(session, item_id=item_id)
    check_fields(row.list, values)
    status = values.pop("status", None)
    if status is not None and (row.list != "resource" or status not in RESOURCE_STATUSES):
        raise StatusByFlow(
            f"a {row.list}'s status moves only by its steps (assign, claim, complete, close); "
            f"a resource's may be set to {', '.join(RESOURCE_STATUSES)}"
            if row.list != "resource"
            else f"a resource's status is one of {', '.join(RESOURCE_STATUSES)}",
            status=row.status,
        )
    if status is not None:
        values["status"] = status
    grid = None
    if lon is not None and lat is not None:
        grid = q.grid_at(session, lon=lon, lat=lat)
        principal.require("move list items", roles=WRITERS, place=grid)
    q.update_item(
        session,
        item_id=item_id,
        changes={k: v for k, v in values.items() if k in EDITABLE or k in SHEET or k == "status"},
        lon=lon,
        lat=lat,
        grid=grid,
    )
    if grid is not None and grid != row.grid_code:
        q.update_item(session, item_id=item_id, changes={"org_id": q.branch_of(session, grid=grid)})
    _audit(session, principal, "update", row.code, before, record_of(session, item_id=item_id))
    return get_item(session, item_id=item_id, principal=principal)


def delete_item(session: Session, *, item_id: int, principal: Principal) -> None:
    """Remove an item (projects that pointed at it keep their record, unlinked)."""
    require_role(principal, "delete list items", roles=WRITERS)
    row = _locked(session, item_id)
    principal.require("delete list items", roles=WRITERS, place=row.grid_code)
    before = record_of(session, item_id=item_id)
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
    session: Session,
    *,
    need_id: int,
    resource_id: int,
    title: str | None,
    principal: Principal,
    sheet: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Turn a need and a resource into a project linking both; both become ``matched``. The
    project's sheet takes what is given, else what the pair says: the need as its service
    content, the resource's unit or branch as the responsible unit."""
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
            "unit_id": resource.unit_id,
            "service_content": need.title,
            "responsible_unit": (
                resource.owner_name if resource.owner_kind in ("unit", "branch") else None
            ),
            **(sheet or {}),
        },
        lon=need.lon,
        lat=need.lat,
        principal=principal,
        need_id=need_id,
        resource_id=resource_id,
    )
    q.set_status(session, item_ids=(need_id, resource_id), status="matched")
    return project
