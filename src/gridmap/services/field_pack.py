"""gridmap.services.field_pack: the field pack, all a grid worker's phone keeps to work offline.

The worker's grids, their buildings and households (contacts, care tags, last visit, when each
is due), the incident categories and the limits the phone applies before sending. Its ETag is
the digest of its content, so a phone asking again with ``If-None-Match`` gets a 304 while
nothing in its grids changed. Sending the care tags is a read of them, logged per household.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import Forbidden, Unauthorized
from gridmap.queries import field_pack as q
from gridmap.services.care import VisitRule, log_reads
from gridmap.settings import ApiSettings

ROUTE = "GET /api/v1/me/field"


@dataclass(frozen=True)
class FieldPack:
    """The pack as JSON bytes (None: the phone's copy, named by ``If-None-Match``, is
    current) and its strong ETag."""

    body: bytes | None
    etag: str


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json).encode()


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (or is ``*``)."""
    tags = [t.strip() for t in (if_none_match or "").split(",")]
    return "*" in tags or etag in tags


def field_pack(
    session: Session,
    *,
    principal: Principal,
    api: ApiSettings,
    if_none_match: str | None = None,
) -> FieldPack:
    """The field pack of the calling grid worker; a staff token only (403 for others)."""
    if not principal.authenticated:
        raise Unauthorized("the field pack needs a grid worker's token (Authorization: Bearer …)")
    if principal.holder != "staff" or principal.person_id is None or principal.grids is None:
        raise Forbidden(
            "the field pack is for a grid worker's own token (a staff member's); "
            f"this token is issued to a {principal.holder} ({principal.role})",
            role=principal.role,
        )
    rule = VisitRule.from_settings(api)
    now = datetime.now(ZoneInfo(api.timezone))
    codes = principal.grids
    households = q.households(session, codes=codes, rule=rule, at=now)
    pack: dict[str, Any] = {
        "person": q.person(session, person_id=principal.person_id),
        "grids": {"type": "FeatureCollection", "features": q.grids(session, codes=codes)},
        "buildings": {"type": "FeatureCollection", "features": q.buildings(session, codes=codes)},
        "households": households,
        "categories": q.categories(session),
        "settings": {
            "patrol_fix_accuracy_m": api.patrol_fix_accuracy_m,
            "patrol_max_speed_kmh": api.patrol_max_speed_kmh,
            "patrol_piece_points": api.patrol_piece_points,
            "max_photos": api.max_photos,
            "max_photo_bytes": api.max_photo_bytes,
        },
    }
    etag = '"' + hashlib.sha256(_dumps(pack)).hexdigest()[:40] + '"'
    if matches(if_none_match, etag):
        return FieldPack(None, etag)
    log_reads(
        session,
        principal,
        (h["id"] for h in households if h["care_tags"]),
        fields=["care_tags"],
        route=ROUTE,
    )
    pack["generated_at"] = now
    return FieldPack(_dumps(pack), etag)
