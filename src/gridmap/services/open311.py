"""gridmap.services.open311: incidents and categories as Open311 GeoReport v2 services and requests.

Services are the incident categories (service_code ``市容环境/暴露垃圾``, group ``市容环境``);
requests are incidents, ``open`` until finished (:data:`gridmap.vocab.states.DONE`). Reporters
never appear.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from gridmap.errors import InvalidInput, NotFound
from gridmap.queries import open311 as q
from gridmap.vocab.states import DONE


def _iso(t: datetime | None) -> str | None:
    return t.isoformat(timespec="seconds") if t else None


def _request(r: Any) -> dict[str, Any]:
    major, _, minor = r.category.partition("/")
    return {
        "service_request_id": str(r.id),
        "status": "closed" if r.status in DONE else "open",
        "status_notes": r.last_note,
        "service_name": minor or r.category,
        "service_code": r.category,
        "description": r.description,
        "agency_responsible": r.street_name,
        "service_notice": None,
        "requested_datetime": _iso(r.reported_at),
        "updated_datetime": _iso(r.updated_at),
        "expected_datetime": _iso(r.due_at),
        "address": r.place,
        "address_id": r.grid_code,
        "zipcode": None,
        "lat": round(float(r.lat), 7),
        "long": round(float(r.lon), 7),
        "media_url": None,
    }


def services(session: Session) -> list[dict[str, Any]]:
    """Every active category as an Open311 service."""
    out = []
    for r in q.active_categories(session):
        major, _, minor = r.code.partition("/")
        out.append(
            {
                "service_code": r.code,
                "service_name": minor,
                "description": f"{r.code}: within {r.limit_hours} h of dispatch",
                "metadata": False,
                "type": "realtime",
                "keywords": ",".join([major, minor, r.class_]),
                "group": major,
            }
        )
    return out


# GeoReport v2: a search spans at most 90 days, and without dates it is the last 90 days.
WINDOW = timedelta(days=90)
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this endpoint's answers last changed shape (the discovery document's changeset).
CHANGESET = "2026-12-04T00:00:00Z"
FORMATS = ("application/json", "text/xml")


def window(
    start: datetime | None, end: datetime | None, *, now: datetime
) -> tuple[datetime, datetime]:
    """The span of ``requested_datetime`` a search covers: the last 90 days when no date is
    given, 90 days after ``start`` or before ``end`` when only one is; both at most 90 days
    apart."""
    try:
        if start is None:
            last = now if end is None else end
            return last - WINDOW, last
        if end is None:
            return start, start + WINDOW
    except OverflowError:
        raise InvalidInput("start_date or end_date is too far in the past or future") from None
    if end < start:
        raise InvalidInput(
            f"end_date {_iso(end)} is before start_date {_iso(start)}: nothing can match"
        )
    if end - start > WINDOW:
        raise InvalidInput(
            f"start_date {_iso(start)} and end_date {_iso(end)} are {(end - start).days} days "
            "apart; a search may span at most 90 days (GeoReport v2)"
        )
    return start, end


def request_ids(value: str) -> list[int]:
    """The ids of ``service_request_id=1,2``: numbers separated by commas."""
    parts = [p.strip() for p in value.split(",")]
    if not all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts):
        raise InvalidInput(
            f"service_request_id={value!r} must be request ids separated by commas, e.g. 12,15"
        )
    return list(dict.fromkeys(int(p) for p in parts))


def requests(
    session: Session,
    *,
    ids: list[int] | None = None,
    service_codes: list[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    status: str | None = None,
    limit: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """Incidents as service requests, newest first: those of ``ids`` whatever the other
    filters say (as GeoReport v2 has it), else those of the search window."""
    if ids is not None:
        rows = q.requests(session, ids=ids, limit=len(ids))
    else:
        first, last = window(start, end, now=now)
        rows = q.requests(
            session, services=service_codes, start=first, end=last, status=status, limit=limit
        )
    return [_request(r) for r in rows]


def one_request(session: Session, *, request_id: int) -> list[dict[str, Any]]:
    """One incident as a one-element list (as GeoReport v2 has it)."""
    rows = q.requests(session, ids=[request_id], limit=1)
    if not rows:
        raise NotFound(f"no service request {request_id}")
    return [_request(rows[0])]


def discovery(base_url: str) -> dict[str, Any]:
    """The service discovery document of the GeoReport v2 endpoint under ``base_url``."""
    return {
        "changeset": CHANGESET,
        "contact": "The district's grid management office (网格化管理中心) runs this service.",
        "key_service": "No key is needed: this endpoint only reads service requests.",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": f"{base_url.rstrip('/')}/open311/v2",
                "changeset": CHANGESET,
                "type": "production",
                "formats": list(FORMATS),
            }
        ],
    }
