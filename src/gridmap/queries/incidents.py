"""gridmap.queries.incidents: intake with automatic grid, the workflow, lists and figures."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap import workflow as wf
from gridmap.auth import Principal
from gridmap.errors import Conflict, Forbidden, InvalidInput, NotFound
from gridmap.privacy import mask_name, mask_phone
from gridmap.queries import feature_collection_sql, feature_page_sql
from gridmap.vocab.roles import HANDLERS

# At report time: the grid holding the point (lowest code on a border); failing that, the
# community holding it, or the nearest one — and how far the nearest grid is.
_PLACE = """
SELECT g.code AS grid_code, g.community_code,
       c_in.code AS community_in, c_near.code AS community_near,
       (SELECT ST_Distance(n.geom::geography, pt.geom::geography) FROM grid n
        WHERE n.valid_to IS NULL ORDER BY n.geom <-> pt.geom LIMIT 1) AS distance_m
FROM (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom) pt
LEFT JOIN LATERAL (SELECT g.code, g.community_code FROM grid_piece p JOIN grid g ON g.id = p.grid_id
                   WHERE g.valid_to IS NULL AND ST_Intersects(p.geom, pt.geom)
                   ORDER BY g.code LIMIT 1) g ON true
LEFT JOIN LATERAL (SELECT r.code FROM region r WHERE r.level = 'community'
                   AND ST_Intersects(r.geom, pt.geom) ORDER BY r.code LIMIT 1) c_in ON true
LEFT JOIN LATERAL (SELECT r.code FROM region r WHERE r.level = 'community' AND r.geom IS NOT NULL
                   ORDER BY r.geom <-> pt.geom LIMIT 1) c_near ON true
"""

_DUPLICATES = """
SELECT i.id, i.category, i.status, i.reported_at,
       round(ST_Distance(i.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)
             ::numeric, 1)::float8 AS distance_m
FROM incident i
WHERE i.category = :category AND i.id <> :id AND i.merged_into IS NULL
  AND i.status NOT IN ('closed', 'evaluated', 'cancelled')
  AND i.reported_at > now() - make_interval(secs => CAST(:hours AS float8) * 3600)
  AND ST_DWithin(i.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :metres)
ORDER BY distance_m, i.id
LIMIT 10
"""

_ROW = """
SELECT i.id, i.category, i.severity, i.description, i.status, i.grid_code, i.community_code,
       i.street_code, i.distance_to_grid_m, i.reported_at, i.dispatched_at, i.due_at, i.closed_at,
       i.score, i.dispatch_mode, i.assignees, i.merged_into, i.returned_count, i.crs_in,
       i.photos,
       i.reporter_name, i.reporter_phone, i.version,
       (i.due_at IS NOT NULL AND i.status NOT IN ('closed', 'evaluated', 'cancelled')
        AND i.due_at < now()) AS overdue,
       i.geom
FROM incident i
"""


def working_hours(
    conn: Any, *, timezone: str = "Asia/Shanghai", start: int = 9, end: int = 18
) -> wf.WorkingHours:
    """Working hours with the public holidays and adjusted working days of ``calendar_day``."""
    days = conn.execute(text("SELECT day, kind FROM calendar_day")).all()
    return wf.WorkingHours(
        timezone,
        start,
        end,
        holidays=frozenset(d for d, kind in days if kind == "holiday"),
        workdays=frozenset(d for d, kind in days if kind == "workday"),
    )


def _mask(feature: dict[str, Any], principal: Principal) -> dict[str, Any]:
    props = feature["properties"]
    where = props.get("grid_code") or props.get("community_code") or ""
    if not principal.sees_personal_data(where):
        props["reporter_name"] = mask_name(props.get("reporter_name"))
        props["reporter_phone"] = mask_phone(props.get("reporter_phone"))
    return feature


def get_incident(
    session: Session, *, incident_id: int, principal: Principal, events: bool = True
) -> dict[str, Any]:
    """One incident as a Feature, with its events."""
    features = session.execute(
        text(feature_collection_sql(f"{_ROW} WHERE i.id = :id", order_by="id")),
        {"id": incident_id},
    ).scalar_one()
    if not features:
        raise NotFound(f"no incident {incident_id}", incident=incident_id)
    feature = _mask(features[0], principal)
    if events:
        feature["properties"]["events"] = [
            {**r._mapping, "at": r.at.isoformat()}
            for r in session.execute(
                text(
                    "SELECT seq, action, from_status, to_status, actor, at, note "
                    "FROM incident_event WHERE incident_id = :id ORDER BY seq"
                ),
                {"id": incident_id},
            )
        ]
    return feature


def create_incident(
    session: Session,
    *,
    lon: float,
    lat: float,
    crs_in: str,
    category: str,
    severity: str,
    description: str | None,
    reporter_name: str | None,
    reporter_phone: str | None,
    idempotency_key: str | None,
    principal: Principal,
    duplicate_metres: float,
    duplicate_hours: float,
) -> tuple[dict[str, Any], bool]:
    """Record an incident at a WGS84 point; returns it and whether it was created now."""
    if principal.role == "viewer" or not principal.authenticated:
        raise Forbidden("reporting incidents needs a token of a worker, office or admin")
    known = session.execute(
        text("SELECT active FROM incident_category WHERE code = :c"), {"c": category}
    ).scalar_one_or_none()
    if not known:
        choices = (
            session.execute(text("SELECT code FROM incident_category WHERE active ORDER BY code"))
            .scalars()
            .all()
        )
        raise InvalidInput(f"unknown category {category!r}", categories=list(choices))
    place = session.execute(text(_PLACE), {"lon": lon, "lat": lat}).one()
    community = place.community_code or place.community_in or place.community_near
    where = place.grid_code or community
    if where is not None and not principal.covers(where):
        raise Forbidden(f"the point lies in {where}, outside this token's region")
    row = session.execute(
        text(
            "INSERT INTO incident (idempotency_key, category, severity, description, "
            "reporter_name, reporter_phone, crs_in, grid_code, community_code, street_code, "
            "distance_to_grid_m, geom) VALUES (:key, :category, :severity, :description, "
            ":rname, :rphone, :crs, :grid, :community, :street, :distance, "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) "
            "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
        ),
        {
            "key": idempotency_key,
            "category": category,
            "severity": severity,
            "description": description,
            "rname": reporter_name,
            "rphone": reporter_phone,
            "crs": crs_in,
            "grid": place.grid_code,
            "community": community,
            "street": community[:9] if community else None,
            "distance": None if place.grid_code else place.distance_m,
            "lon": lon,
            "lat": lat,
        },
    ).scalar_one_or_none()
    if row is None:
        existing = session.execute(
            text("SELECT id FROM incident WHERE idempotency_key = :k"), {"k": idempotency_key}
        ).scalar_one()
        return get_incident(session, incident_id=existing, principal=principal), False
    _event(
        session,
        row,
        "report",
        None,
        "reported",
        principal.actor,
        None if place.grid_code else "in no grid: queued to the nearest community",
    )
    feature = get_incident(session, incident_id=row, principal=principal)
    feature["duplicates"] = [
        {**r._mapping, "reported_at": r.reported_at.isoformat()}
        for r in session.execute(
            text(_DUPLICATES),
            {
                "lon": lon,
                "lat": lat,
                "category": category,
                "id": row,
                "hours": duplicate_hours,
                "metres": duplicate_metres,
            },
        )
    ]
    return feature, True


def _event(
    session: Session,
    incident_id: int,
    action: str,
    source: str | None,
    target: str,
    actor: str,
    note: str | None,
) -> None:
    session.execute(
        text(
            "INSERT INTO incident_event (incident_id, seq, action, from_status, to_status, "
            "actor, at, note) VALUES (:id, coalesce((SELECT max(seq) FROM incident_event "
            "WHERE incident_id = :id), 0) + 1, :action, :source, :target, :actor, "
            "clock_timestamp(), :note)"
        ),
        {
            "id": incident_id,
            "action": action,
            "source": source,
            "target": target,
            "actor": actor,
            "note": note,
        },
    )


def act(
    session: Session,
    *,
    incident_id: int,
    action: str,
    principal: Principal,
    body: dict[str, Any],
    hours: wf.WorkingHours,
) -> dict[str, Any]:
    """Take a workflow action; 409 (changing nothing) when the current state does not allow it."""
    spec = wf.ACTIONS.get(action)
    if spec is None:
        raise NotFound(f"no action {action!r}; actions are {', '.join(wf.ACTIONS)}")
    row = session.execute(
        text(
            "SELECT i.id, i.status, i.grid_code, i.community_code, i.category, "
            "c.limit_hours, c.working_time FROM incident i "
            "LEFT JOIN incident_category c ON c.code = i.category WHERE i.id = :id FOR UPDATE OF i"
        ),
        {"id": incident_id},
    ).one_or_none()
    if row is None:
        raise NotFound(f"no incident {incident_id}", incident=incident_id)
    where = row.grid_code or row.community_code or ""
    if not principal.authenticated:
        raise Forbidden("workflow actions need a token")
    if principal.role not in spec.roles or not principal.covers(where):
        raise Forbidden(
            f"a {principal.role} token for {principal.region or 'everywhere'} may not "
            f"{action} incident {incident_id} (in {where or 'no region'})"
        )
    target = wf.next_state(action, row.status)
    if target is None:
        raise Conflict(
            f"cannot {action} incident {incident_id}: it is {row.status}; from there: "
            + (
                ", ".join(a.name for a in wf.ACTIONS.values() if row.status in a.sources)
                or "nothing (it is finished)"
            ),
            status=row.status,
        )
    for need in spec.needs:
        if body.get(need) in (None, ""):
            raise InvalidInput(f"{action} needs {need}", field=need)
    sets: dict[str, Any] = {"status": target}
    if action == "dispatch":
        now = session.execute(text("SELECT clock_timestamp()")).scalar_one()
        sets["dispatched_at"] = now
        sets["dispatch_mode"] = body["mode"]
        chosen = wf.assignees_for(
            body["mode"], body.get("assignees"), grid=row.grid_code, claimant=principal.name
        )
        body = {**body, "assignees": chosen}
        sets["assignees"] = json.dumps(chosen, ensure_ascii=False)
        if row.limit_hours:
            sets["due_at"] = wf.due_at(now, row.limit_hours, row.working_time, hours)
    elif action == "extend":
        session.execute(
            text(
                "UPDATE incident SET due_at = due_at + make_interval(hours => :h) "
                "WHERE id = :id AND due_at IS NOT NULL"
            ),
            {"h": int(body["hours"]), "id": incident_id},
        )
    elif action == "return":
        session.execute(
            text("UPDATE incident SET returned_count = returned_count + 1 WHERE id = :id"),
            {"id": incident_id},
        )
    elif action == "close":
        sets["closed_at"] = session.execute(text("SELECT clock_timestamp()")).scalar_one()
    elif action == "evaluate":
        sets["score"] = int(body["score"])
    assignments = ", ".join(
        f"{k} = CAST(:{k} AS jsonb)" if k == "assignees" else f"{k} = :{k}" for k in sets
    )
    session.execute(
        text(f"UPDATE incident SET {assignments}, version = version + 1 WHERE id = :id"),
        {**sets, "id": incident_id},
    )
    note = body.get("note") or body.get("reason")
    if action == "dispatch":
        note = f"{body['mode']}: {', '.join(map(str, body.get('assignees') or [])) or '—'}" + (
            f"; {note}" if note else ""
        )
    _event(session, incident_id, action, row.status, target, principal.actor, note)
    return get_incident(session, incident_id=incident_id, principal=principal)


def merge(session: Session, *, incident_id: int, into: int, principal: Principal) -> dict[str, Any]:
    """Link a duplicate to its original and cancel it."""
    if incident_id == into:
        raise InvalidInput("an incident cannot be merged into itself")
    original = session.execute(
        text("SELECT merged_into FROM incident WHERE id = :id"), {"id": into}
    ).one_or_none()
    if original is None:
        raise NotFound(f"no incident {into}", incident=into)
    if original.merged_into is not None:
        raise Conflict(f"incident {into} was itself merged into {original.merged_into}")
    act(
        session,
        incident_id=incident_id,
        action="cancel",
        principal=principal,
        body={"reason": f"duplicate of incident {into}"},
        hours=working_hours(session),
    )
    session.execute(
        text("UPDATE incident SET merged_into = :into WHERE id = :id"),
        {"into": into, "id": incident_id},
    )
    return get_incident(session, incident_id=incident_id, principal=principal)


def list_incidents(
    session: Session,
    *,
    principal: Principal,
    bbox: tuple[float, float, float, float] | None,
    state: str | None,
    category: str | None,
    grid: str | None,
    region: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """A page of incidents as GeoJSON."""
    west, south, east, north = bbox if bbox else (None, None, None, None)
    where = """
WHERE (CAST(:state AS text) IS NULL OR i.status = :state)
  AND (CAST(:category AS text) IS NULL OR i.category = :category)
  AND (CAST(:grid AS text) IS NULL OR i.grid_code = :grid)
  AND (CAST(:region AS text) IS NULL OR left(i.community_code, length(:region)) = :region)
  AND (CAST(:start AS timestamptz) IS NULL OR i.reported_at >= :start)
  AND (CAST(:end AS timestamptz) IS NULL OR i.reported_at < :end)
  AND (CAST(:west AS float8) IS NULL
       OR i.geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326))
"""
    params = {
        "state": state,
        "category": category,
        "grid": grid,
        "region": region,
        "start": start,
        "end": end,
        "west": west,
        "south": south,
        "east": east,
        "north": north,
        "limit": limit,
        "offset": offset,
    }
    return feature_page_sql(
        session,
        rows=_ROW,
        count="incident i",
        where=where,
        params=params,
        order="i.id DESC",
        mask=lambda f: _mask(f, principal),
    )


_GROUPS = {
    "grid": "i.grid_code",
    "community": "i.community_code",
    "street": "i.street_code",
    "category": "i.category",
}


def stats(
    session: Session,
    *,
    region: str | None,
    start: datetime | None,
    end: datetime | None,
    group_by: str,
) -> dict[str, Any]:
    """Workflow figures per group: counts by state, on-time closure, rework, time to close."""
    key = _GROUPS[group_by]
    rows = session.execute(
        text(f"""
SELECT {key} AS key, count(*) AS total,
       count(*) FILTER (WHERE i.closed_at IS NOT NULL) AS closed,
       count(*) FILTER (WHERE i.closed_at IS NOT NULL AND i.due_at IS NOT NULL
                        AND i.closed_at <= i.due_at) AS closed_on_time,
       count(*) FILTER (WHERE i.closed_at IS NOT NULL AND i.due_at IS NOT NULL)
           AS closed_with_limit,
       count(*) FILTER (WHERE i.returned_count > 0) AS reworked,
       avg(EXTRACT(epoch FROM i.closed_at - i.reported_at) / 3600.0)
           FILTER (WHERE i.closed_at IS NOT NULL) AS mean_hours_to_close,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY EXTRACT(epoch FROM i.closed_at - i.reported_at)
           / 3600.0) FILTER (WHERE i.closed_at IS NOT NULL) AS p90_hours_to_close,
       count(*) FILTER (WHERE i.due_at < now()
                        AND i.status NOT IN ('closed', 'evaluated', 'cancelled')) AS overdue_now
FROM incident i
WHERE (CAST(:region AS text) IS NULL OR left(i.community_code, length(:region)) = :region)
  AND (CAST(:start AS timestamptz) IS NULL OR i.reported_at >= :start)
  AND (CAST(:end AS timestamptz) IS NULL OR i.reported_at < :end)
  AND i.merged_into IS NULL
GROUP BY {key}
ORDER BY {key} NULLS LAST
"""),
        {"region": region, "start": start, "end": end},
    ).all()
    states = session.execute(
        text(f"""
SELECT {key} AS key, i.status, count(*) AS n FROM incident i
WHERE (CAST(:region AS text) IS NULL OR left(i.community_code, length(:region)) = :region)
  AND (CAST(:start AS timestamptz) IS NULL OR i.reported_at >= :start)
  AND (CAST(:end AS timestamptz) IS NULL OR i.reported_at < :end)
  AND i.merged_into IS NULL
GROUP BY 1, 2
"""),
        {"region": region, "start": start, "end": end},
    ).all()
    by_state: dict[Any, dict[str, int]] = {}
    for r in states:
        by_state.setdefault(r.key, {})[r.status] = int(r.n)
    groups = []
    for r in rows:
        groups.append(
            {
                group_by: r.key,
                "total": int(r.total),
                "by_state": by_state.get(r.key, {}),
                "closed": int(r.closed),
                "on_time_rate": round(r.closed_on_time / r.closed_with_limit, 4)
                if r.closed_with_limit
                else None,
                "rework_rate": round(r.reworked / r.closed, 4) if r.closed else None,
                "mean_hours_to_close": None
                if r.mean_hours_to_close is None
                else round(float(r.mean_hours_to_close), 2),
                "p90_hours_to_close": None
                if r.p90_hours_to_close is None
                else round(float(r.p90_hours_to_close), 2),
                "overdue_now": int(r.overdue_now),
            }
        )
    return {"region": region, "group_by": group_by, "groups": groups}


PHOTO_TYPES = {b"\xff\xd8\xff": ("image/jpeg", ".jpg"), b"\x89PNG\r\n\x1a\n": ("image/png", ".png")}


def photo_type(head: bytes) -> tuple[str, str] | None:
    """The media type and suffix of an image by its first bytes (JPEG, PNG, WebP), or None."""
    for magic, kind in PHOTO_TYPES.items():
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def add_photo(
    session: Session,
    *,
    incident_id: int,
    data: bytes,
    principal: Principal,
    folder: Any,
    max_bytes: int,
    max_photos: int,
) -> dict[str, Any]:
    """Store a photo of an incident on disk and reference it from the incident."""
    import hashlib

    row = session.execute(
        text(
            "SELECT grid_code, community_code, jsonb_array_length(photos) AS n FROM incident "
            "WHERE id = :id FOR UPDATE"
        ),
        {"id": incident_id},
    ).one_or_none()
    if row is None:
        raise NotFound(f"no incident {incident_id}", incident=incident_id)
    if principal.role not in HANDLERS or not principal.covers(
        row.grid_code or row.community_code or ""
    ):
        raise Forbidden(f"this token may not add photos to incident {incident_id}")
    if len(data) > max_bytes:
        raise InvalidInput(f"the photo is larger than {max_bytes // (1024 * 1024)} MiB")
    kind = photo_type(data[:16])
    if kind is None:
        raise InvalidInput("a photo must be a JPEG, PNG or WebP image")
    if row.n >= max_photos:
        raise Conflict(f"incident {incident_id} already has {row.n} photos (at most {max_photos})")
    digest = hashlib.sha256(data).hexdigest()
    name = f"{digest[:32]}{kind[1]}"
    target = folder / str(incident_id)
    target.mkdir(parents=True, exist_ok=True)
    (target / name).write_bytes(data)
    photo = {
        "url": f"/api/v1/incidents/{incident_id}/photos/{name}",
        "type": kind[0],
        "bytes": len(data),
        "sha256": digest,
        "by": principal.actor,
    }
    session.execute(
        text("UPDATE incident SET photos = photos || CAST(:p AS jsonb) WHERE id = :id"),
        {"p": json.dumps([photo], ensure_ascii=False), "id": incident_id},
    )
    return photo


def derive_times(conn: Any, hours: wf.WorkingHours) -> int:
    """Fill ``dispatched_at``, ``closed_at`` and ``due_at`` of incidents that lack them from
    their events (loaded history); never rewrites a value already there. Returns how many."""
    rows = conn.execute(
        text(
            "SELECT i.id, e.dispatched, e.closed, c.limit_hours, c.working_time, "
            "i.dispatched_at, i.closed_at, i.due_at FROM incident i "
            "JOIN (SELECT incident_id, "
            "min(at) FILTER (WHERE to_status = 'dispatched') AS dispatched, "
            "max(at) FILTER (WHERE to_status = 'closed') AS closed FROM incident_event "
            "GROUP BY incident_id) e ON e.incident_id = i.id "
            "LEFT JOIN incident_category c ON c.code = i.category "
            "WHERE (i.dispatched_at IS NULL AND e.dispatched IS NOT NULL) "
            "OR (i.closed_at IS NULL AND e.closed IS NOT NULL) "
            "OR (i.due_at IS NULL AND e.dispatched IS NOT NULL AND c.limit_hours IS NOT NULL)"
        )
    ).all()
    changes = []
    for r in rows:
        dispatched = r.dispatched_at or r.dispatched
        due = r.due_at
        if due is None and dispatched is not None and r.limit_hours:
            due = wf.due_at(dispatched, r.limit_hours, r.working_time, hours)
        changes.append({"id": r.id, "d": dispatched, "c": r.closed_at or r.closed, "due": due})
    if changes:
        conn.execute(
            text(
                "UPDATE incident SET dispatched_at = :d, closed_at = :c, due_at = :due "
                "WHERE id = :id"
            ),
            changes,
        )
    return len(changes)
