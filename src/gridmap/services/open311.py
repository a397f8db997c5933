"""gridmap.services.open311: incidents and categories as Open311 GeoReport v2 services and requests.

Services are the incident categories (service_code ``市容环境/暴露垃圾``, group ``市容环境``);
requests are incidents, ``open`` until finished (:data:`gridmap.vocab.states.DONE`). Reporters
never appear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gridmap.errors import NotFound
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


def requests(
    session: Session,
    *,
    service_code: str | None,
    start: datetime | None,
    end: datetime | None,
    status: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Incidents as service requests, newest first."""
    rows = q.requests(
        session, service=service_code, start=start, end=end, status=status, limit=limit
    )
    return [_request(r) for r in rows]


def one_request(session: Session, *, request_id: int) -> list[dict[str, Any]]:
    """One incident as a one-element list (as GeoReport v2 has it)."""
    rows = q.requests(session, incident_id=request_id, limit=1)
    if not rows:
        raise NotFound(f"no service request {request_id}")
    return [_request(rows[0])]
