"""gridmap.services.centres: who may place service centres, and what moving one writes with it.

A centre is placed, changed or removed by an office covering its community; whenever a centre is
written its circles are computed again from the walking network.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import Conflict, InvalidInput, NotFound
from gridmap.geo.isochrone import CircleRules
from gridmap.queries import circles as q
from gridmap.services.access import require_role
from gridmap.services.circles import store_circle
from gridmap.vocab.roles import GRID_EDITORS


def save_center(
    session: Session,
    *,
    principal: Principal,
    center_id: int | None,
    values: dict[str, Any],
    lon: float | None,
    lat: float | None,
    rules: list[CircleRules],
) -> int:
    """Create (``center_id`` None) or change a centre; its circles are computed again."""
    require_role(principal, "place service centres", roles=GRID_EDITORS)
    if center_id is not None:
        _require(session, center_id, principal, "change service centres")
    if lon is not None and lat is not None:
        values = {**values, "region_code": q.community_at(session, lon=lon, lat=lat)}
        principal.require("place service centres", roles=GRID_EDITORS, place=values["region_code"])
    if center_id is None:
        if lon is None or lat is None:
            raise InvalidInput("a new service centre needs a point (x, y)")
        if q.code_taken(session, code=values["code"]):
            raise Conflict(f"service centre code {values['code']!r} is taken")
        center_id = q.insert_center(session, values=values, lon=lon, lat=lat)
    else:
        q.update_center(session, center_id=center_id, changes=values, lon=lon, lat=lat)
    for r in rules:
        store_circle(session, center_id=center_id, rules=r)
    return int(center_id)


def _require(session: Session, center_id: int, principal: Principal, what: str) -> None:
    """Lock the centre, once the caller may ``what`` it."""
    region = q.locked_region(session, center_id=center_id)
    if region is None:
        raise NotFound(f"no service centre {center_id}")
    principal.require(what, roles=GRID_EDITORS, place=region[0])


def delete_center(session: Session, *, center_id: int, principal: Principal) -> None:
    """Remove a centre and its circles."""
    _require(session, center_id, principal, "remove service centres")
    q.delete_center(session, center_id=center_id)
