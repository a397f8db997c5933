"""gridmap.api.open311: incidents as an Open311 GeoReport v2 feed (JSON), read-only.

Services are the incident categories (service_code ``市容环境/暴露垃圾``, group ``市容环境``);
requests are incidents, ``open`` until closed, evaluated or cancelled. Reporters never appear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import text

from gridmap.dependencies import SessionDep, parse_at
from gridmap.errors import NotFound

router = APIRouter(prefix="/open311/v2", tags=["open311"])

_REQUESTS = """
SELECT i.id, i.status, i.category, c.class_, i.description, i.reported_at, i.due_at,
       coalesce((SELECT max(e.at) FROM incident_event e WHERE e.incident_id = i.id),
                i.reported_at) AS updated_at,
       (SELECT e.note FROM incident_event e WHERE e.incident_id = i.id ORDER BY e.seq DESC
        LIMIT 1) AS last_note,
       coalesce(g.name, cm.name) AS place, s.name AS street_name, i.grid_code,
       ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat
FROM incident i
LEFT JOIN incident_category c ON c.code = i.category
LEFT JOIN grid g ON g.code = i.grid_code AND g.valid_to IS NULL
LEFT JOIN region cm ON cm.code = i.community_code
LEFT JOIN region s ON s.code = i.street_code
WHERE i.merged_into IS NULL
  AND (CAST(:id AS bigint) IS NULL OR i.id = :id)
  AND (CAST(:service AS text) IS NULL OR i.category = :service)
  AND (CAST(:start AS timestamptz) IS NULL OR i.reported_at >= :start)
  AND (CAST(:end AS timestamptz) IS NULL OR i.reported_at < :end)
  AND (CAST(:status AS text) IS NULL
       OR (:status = 'open') = (i.status NOT IN ('closed', 'evaluated', 'cancelled')))
ORDER BY i.reported_at DESC, i.id DESC
LIMIT :limit
"""


def _iso(t: datetime | None) -> str | None:
    return t.isoformat(timespec="seconds") if t else None


def _request(r: Any) -> dict[str, Any]:
    closed = r.status in ("closed", "evaluated", "cancelled")
    major, _, minor = r.category.partition("/")
    return {
        "service_request_id": str(r.id),
        "status": "closed" if closed else "open",
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


@router.get("/services.json", summary="Open311: the incident categories")
def services(session: SessionDep) -> list[dict[str, Any]]:
    """Every active category as an Open311 service."""
    rows = session.execute(
        text("SELECT code, class_, limit_hours FROM incident_category WHERE active ORDER BY code")
    )
    out = []
    for r in rows:
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


@router.get("/requests.json", summary="Open311: incidents")
def requests(
    request: Request,
    session: SessionDep,
    service_code: Annotated[str | None, Query(max_length=64)] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Literal["open", "closed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> list[dict[str, Any]]:
    """Incidents, newest first (GeoReport v2 returns at most 1000)."""
    tz = request.app.state.settings.api.timezone
    rows = session.execute(
        text(_REQUESTS),
        {
            "id": None,
            "service": service_code,
            "start": parse_at(start_date, tz),
            "end": parse_at(end_date, tz),
            "status": status,
            "limit": limit,
        },
    )
    return [_request(r) for r in rows]


@router.get("/requests/{request_id}.json", summary="Open311: one incident")
def one_request(
    session: SessionDep, request_id: Annotated[int, Path(ge=1)]
) -> list[dict[str, Any]]:
    """One incident, as a one-element list (as GeoReport v2 has it)."""
    rows = session.execute(
        text(_REQUESTS),
        {
            "id": request_id,
            "service": None,
            "start": None,
            "end": None,
            "status": None,
            "limit": 1,
        },
    ).all()
    if not rows:
        raise NotFound(f"no service request {request_id}")
    return [_request(rows[0])]
