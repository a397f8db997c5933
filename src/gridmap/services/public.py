"""gridmap.services.public: a resident's need without a token (群众点单), and the lists in public.

The form is open to anyone, so it is limited per client: at most ``public_needs_per_hour`` needs
an hour. The client is known only by an HMAC-SHA256 of its address under a key an outsider does
not know (derived from the database server's own identity, read once per database), so
``public_submission`` never holds an address. Its submissions are counted under a transaction
advisory lock keyed by that hash: two at once queue, and the second sees the first. What the
public sees of a community is chosen column by column in :mod:`gridmap.queries.public`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import threading
from typing import Any

from sqlalchemy.orm import Session

from gridmap.errors import (
    NoGridHere,
    NotACommunity,
    OutsideChina,
    OutsideCommunity,
    RegionNotFound,
    TooManyRequests,
)
from gridmap.geo.chinacrs import CHINA_BOUNDS
from gridmap.queries import audit
from gridmap.queries import lists as lists_q
from gridmap.queries import public as q
from gridmap.vocab.lists import PUBLIC_CATEGORIES

# Who the audit log names for a need sent through the public form.
PUBLIC_ACTOR = "public form"

_keys: dict[str, bytes] = {}
_keys_lock = threading.Lock()


def _key(session: Session) -> bytes:
    """The HMAC key of this database's clients, read once per database."""
    where = str(session.get_bind().engine.url)
    with _keys_lock:
        found = _keys.get(where)
    if found is None:
        found = hashlib.sha256(b"gridmap public form\0" + q.server_key(session).encode()).digest()
        with _keys_lock:
            _keys[where] = found
    return found


def client_hash(session: Session, address: str) -> str:
    """The keyed hash a client's address is counted under (never the address itself)."""
    return hmac.new(_key(session), address.encode(), hashlib.sha256).hexdigest()


def client_key(address: str) -> str:
    """What a client is counted under: an IPv4 address as it is, an IPv6 address by its /64 (one
    subscriber's line hands out a whole /64, so every address in it is one client); anything
    that is not an address as given."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def client_address(host: str | None, forwarded_for: str | None, *, trust_forwarded: bool) -> str:
    """The client's key (:func:`client_key`): behind a proxy trusted to set ``X-Forwarded-For``,
    the last address of it (the one that proxy appended; those before it are whatever the
    client sent), else the address the connection came from."""
    if trust_forwarded and forwarded_for:
        last = forwarded_for.split(",")[-1].strip()
        if last:
            return client_key(last[:100])
    return client_key(host) if host else "unknown"


def _community(session: Session, code: str) -> Any:
    if len(code) != 12:
        raise NotACommunity(
            f"{code} is not a community's code: a community has 12 digits (a street 9, a grid "
            "14 or 15)",
            community=code,
        )
    row = q.community(session, code=code)
    if row is None:
        raise RegionNotFound(f"no community {code}")
    return row


def submit_need(
    session: Session,
    *,
    community: str,
    values: dict[str, Any],
    address: str,
    per_hour: int,
) -> dict[str, Any]:
    """Write a resident's need at its point in ``community``: its grid, the grid's branch,
    source ``public``; at most ``per_hour`` from one client an hour (then
    :class:`TooManyRequests` with ``retry_after`` seconds, and nothing written)."""
    _community(session, community)
    lon, lat = values["lon"], values["lat"]
    west, south, east, north = CHINA_BOUNDS
    if not (west <= lon <= east and south <= lat <= north):
        raise OutsideChina(
            f"{lon}, {lat} lies outside China: give lon and lat in WGS84 degrees", lon=lon, lat=lat
        )
    if not q.covers(session, community=community, lon=lon, lat=lat):
        raise OutsideCommunity(f"the point lies outside community {community}")
    grid = lists_q.grid_at(session, lon=lon, lat=lat)
    if grid is None or not grid.startswith(community):
        raise NoGridHere(f"the point lies in no grid of community {community}")
    client = client_hash(session, address)
    q.hold_client(session, client=client)
    sent, oldest_in = q.recent(session, client=client)
    if sent >= per_hour:
        wait = max(1, math.ceil(oldest_in))
        raise TooManyRequests(
            f"at most {per_hour} needs an hour from one place; try again in {wait} seconds",
            retry_after=wait,
        )
    q.note_submission(session, client=client)
    item_id = lists_q.insert_item(
        session,
        values={
            "list": "need",
            "wish": values["wish"],
            "category": values["category"],
            "title": values["title"],
            "description": values["description"] or None,
            "owner_kind": "resident",
            "contact_name": values.get("contact_name") or None,
            "contact_phone": values.get("contact_phone") or None,
            "source": "public",
            "grid_code": grid,
            "org_id": lists_q.branch_of(session, grid=grid),
        },
        lon=lon,
        lat=lat,
    )
    record = lists_q.item_feature(session, item_id=item_id)
    assert record is not None
    props = record["properties"]
    # The audit log is the record offices read: the contact is kept there, never logged.
    audit.record(session, PUBLIC_ACTOR, "create", "list_item", props["code"], after=props)
    return {
        "code": props["code"],
        "status": props["status"],
        "grid_code": grid,
        "grid_name": q.grid_name(session, grid=grid),
    }


_ITEM = (
    "code",
    "title",
    "category",
    "status",
    "grid_code",
    "grid_name",
    "created_at",
    "assigned_at",
    "taken_at",
    "done_at",
)
_SHEET = ("service_content", "service_standard", "due_date", "responsible_unit")


def community_lists(session: Session, *, community: str) -> dict[str, Any]:
    """What anyone may see of a community's three lists and posts, and their progress."""
    row = _community(session, community)
    lists: dict[str, list[dict[str, Any]]] = {
        "needs": [],
        "wishes": [],
        "projects": [],
        "resources": [],
    }
    for item in q.items(session, community=community):
        if item["list"] == "project":
            lists["projects"].append({k: item[k] for k in (*_ITEM, *_SHEET)})
            continue
        kind = "resources" if item["list"] == "resource" else "wishes" if item["wish"] else "needs"
        lists[kind].append({k: item[k] for k in _ITEM})
    return {
        "community": {
            "code": row.code,
            "name": row.name,
            "street": {"code": row.street_code, "name": row.street_name},
            "bbox": [row.west, row.south, row.east, row.north],
        },
        "categories": list(PUBLIC_CATEGORIES),
        "counts": q.counts(session, community=community),
        **lists,
        "posts": q.posts(session, community=community),
    }
