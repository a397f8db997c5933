"""gridmap.services.incidents: who may report and act on incidents, and what each step writes."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import Conflict, Forbidden, InvalidInput, NotFound, TryAgain
from gridmap.photos import clean_photo
from gridmap.privacy import mask_name, mask_phone
from gridmap.queries import incidents as q
from gridmap.services import workflow as wf
from gridmap.services.access import require_role
from gridmap.vocab.roles import HANDLERS


def working_hours(
    conn: Any, *, timezone: str = "Asia/Shanghai", start: int = 9, end: int = 18
) -> wf.WorkingHours:
    """Working hours (``start``–``end`` in ``timezone``) with the public holidays and adjusted
    working days of the calendar."""
    holidays, workdays = q.calendar(conn)
    return wf.WorkingHours(timezone, start, end, holidays=holidays, workdays=workdays)


def derive_times(conn: Any, hours: wf.WorkingHours) -> int:
    """Fill ``dispatched_at``, ``closed_at`` and ``due_at`` of incidents that lack them from
    their events (loaded history); never rewrites a value already there. Returns how many."""
    changes = []
    for r in q.missing_times(conn):
        dispatched = r.dispatched_at or r.dispatched
        due = r.due_at
        if due is None and dispatched is not None and r.limit_hours:
            due = wf.due_at(dispatched, r.limit_hours, r.working_time, hours)
        changes.append({"key": r.id, "d": dispatched, "c": r.closed_at or r.closed, "due": due})
    q.set_times(conn, changes)
    return len(changes)


def mask(feature: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """``feature`` with the reporter's name and phone masked unless ``principal`` may see them."""
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
    found = q.incident_feature(session, incident_id=incident_id)
    if found is None:
        raise NotFound(f"no incident {incident_id}", incident=incident_id)
    feature = mask(found, principal)
    if events:
        feature["properties"]["events"] = q.events(session, incident_id=incident_id)
    return feature


@dataclass(frozen=True)
class Report:
    """What a reporter says: where (a WGS84 point, and the CRS it was given in), what, and the
    key that makes sending it twice one incident."""

    lon: float
    lat: float
    crs_in: str
    category: str
    severity: str
    description: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    idempotency_key: str | None = None


def create_incident(
    session: Session,
    *,
    report: Report,
    principal: Principal,
    duplicate_metres: float,
    duplicate_hours: float,
) -> tuple[dict[str, Any], bool]:
    """Record an incident at a WGS84 point; returns it and whether it was created now."""
    lon, lat, category = report.lon, report.lat, report.category
    if principal.role == "viewer" or not principal.authenticated:
        raise Forbidden("reporting incidents needs a token of a worker, office or admin")
    place = q.place(session, lon=lon, lat=lat)
    community = place.community_code or place.community_in or place.community_near
    where = place.grid_code or community
    if where is not None and not principal.covers(where):
        outside = "region" if principal.region else principal.area
        raise Forbidden(f"the point lies in {where}, outside this token's {outside}")
    # A second sender of the same key is answered at once instead of waiting (pool connection
    # in hand) for the first one's row to commit: a burst of retries must not starve the pool.
    key = report.idempotency_key
    if key is not None and not q.try_lock_key(session, idempotency_key=key):
        raise TryAgain(
            f"the same report (Idempotency-Key {key}) is being recorded right now; "
            "send it again in a second to get the incident",
            idempotency_key=key,
        )
    if not q.category_active(session, code=category):
        raise InvalidInput(
            f"unknown category {category!r}", categories=q.active_categories(session)
        )
    incident_id = q.insert_incident(
        session,
        **asdict(report),
        grid_code=place.grid_code,
        community_code=community,
        street_code=community[:9] if community else None,
        distance_to_grid_m=None if place.grid_code else place.distance_m,
    )
    if incident_id is None:
        existing = q.id_by_key(session, idempotency_key=report.idempotency_key)
        return get_incident(session, incident_id=existing, principal=principal), False
    q.add_event(
        session,
        incident_id=incident_id,
        action="report",
        source=None,
        target="reported",
        actor=principal.actor,
        note=None if place.grid_code else "in no grid: queued to the nearest community",
    )
    feature = get_incident(session, incident_id=incident_id, principal=principal)
    feature["duplicates"] = q.duplicates(
        session,
        incident_id=incident_id,
        lon=lon,
        lat=lat,
        category=category,
        hours=duplicate_hours,
        metres=duplicate_metres,
    )
    return feature, True


def may_act(principal: Principal, action: str, *, incident_id: int, where: str | None) -> None:
    """Raise unless ``principal``'s role may take ``action`` on an incident placed in ``where``."""
    if not principal.authenticated:
        raise Forbidden("workflow actions need a token")
    if principal.role not in wf.ACTIONS[action].roles or not principal.covers(where or ""):
        raise Forbidden(
            f"a {principal.role} token for {principal.acts_in} may not "
            f"{action} incident {incident_id} (in {where or 'no region'})"
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
    """Take a workflow action; 409 (changing nothing) when the current state does not allow it.

    The step writes together: the incident's new state and times (and version), and one event.
    """
    spec = wf.ACTIONS.get(action)
    if spec is None:
        raise NotFound(f"no action {action!r}; actions are {', '.join(wf.ACTIONS)}")
    row = q.lock_for_action(session, incident_id=incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}", incident=incident_id)
    may_act(principal, action, incident_id=incident_id, where=row.grid_code or row.community_code)
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
    changes: dict[str, Any] = {"status": target}
    if action == "dispatch":
        now = q.clock(session)
        changes["dispatched_at"] = now
        changes["dispatch_mode"] = body["mode"]
        chosen = wf.assignees_for(
            body["mode"], body.get("assignees"), grid=row.grid_code, claimant=principal.name
        )
        body = {**body, "assignees": chosen}
        changes["assignees"] = chosen
        if row.limit_hours:
            changes["due_at"] = wf.due_at(now, row.limit_hours, row.working_time, hours)
    elif action == "close":
        changes["closed_at"] = q.clock(session)
    elif action == "evaluate":
        changes["score"] = int(body["score"])
    q.apply_step(
        session,
        incident_id=incident_id,
        changes=changes,
        extend_hours=int(body["hours"]) if action == "extend" else None,
        returned=action == "return",
    )
    note = body.get("note") or body.get("reason")
    if action == "dispatch":
        note = f"{body['mode']}: {', '.join(map(str, body.get('assignees') or [])) or '—'}" + (
            f"; {note}" if note else ""
        )
    q.add_event(
        session,
        incident_id=incident_id,
        action=action,
        source=row.status,
        target=target,
        actor=principal.actor,
        note=note,
    )
    return get_incident(session, incident_id=incident_id, principal=principal)


def merge(
    session: Session,
    *,
    incident_id: int,
    into: int,
    principal: Principal,
) -> dict[str, Any]:
    """Link a duplicate to its original and cancel it.

    Both incidents are locked (lowest id first) before anything is read, so two merges of the
    same pair at once queue: the second sees what the first wrote and is refused, never a
    deadlock, and never two incidents merged into each other.
    """
    if incident_id == into:
        raise InvalidInput("an incident cannot be merged into itself")
    rows = q.lock_pair(session, ids=(incident_id, into))
    if incident_id not in rows:
        raise NotFound(f"no incident {incident_id}", incident=incident_id)
    duplicate = rows[incident_id]
    may_act(principal, "cancel", incident_id=incident_id, where=duplicate.where)
    if into not in rows:
        raise NotFound(f"no incident {into}", incident=into)
    original = rows[into]
    if original.merged_into is not None:
        chain = q.merge_chain(session, incident_id=into)
        if incident_id in chain:
            raise Conflict(
                f"incident {into} was merged into {original.merged_into}, which leads back to "
                f"incident {incident_id}: merging {incident_id} into {into} would make a loop",
                incident=incident_id,
                into=into,
            )
        raise Conflict(
            f"incident {into} was itself merged into {original.merged_into}: merge into "
            f"{original.merged_into} instead",
            incident=incident_id,
            into=into,
        )
    act(
        session,
        incident_id=incident_id,
        action="cancel",
        principal=principal,
        body={"reason": f"duplicate of incident {into}"},
        # Cancelling sets no due time: the working calendar is not needed.
        hours=wf.WorkingHours(),
    )
    q.set_merged_into(session, incident_id=incident_id, into=into)
    return get_incident(session, incident_id=incident_id, principal=principal)


def list_incidents(
    session: Session, *, principal: Principal, chosen: q.IncidentFilter, limit: int, offset: int
) -> dict[str, Any]:
    """A page of incidents as GeoJSON, reporters masked for whoever may not see them."""
    return q.list_incidents(
        session, chosen=chosen, limit=limit, offset=offset, mask=lambda f: mask(f, principal)
    )


def add_photo(
    session: Session,
    *,
    incident_id: int,
    data: bytes,
    principal: Principal,
    folder: Path,
    max_bytes: int,
    max_photos: int,
    max_pixels: int,
    keep_location: bool = False,
) -> dict[str, Any]:
    """Store a photo of an incident on disk and reference it from the incident.

    What is stored is the image decoded and encoded again (see :func:`gridmap.photos.
    clean_photo`): upright, without metadata, so without the place the camera wrote into it
    unless ``keep_location`` keeps its EXIF. A file that is not a whole JPEG, PNG or WebP image
    of at most ``max_pixels`` is refused and nothing is written.
    """
    require_role(principal, "add photos to incidents", roles=HANDLERS)
    if len(data) > max_bytes:
        raise InvalidInput(
            f"the photo is larger than {max_bytes // (1024 * 1024)} MiB", field="file"
        )
    # Decoded and encoded again before the incident is locked: that takes up to a second for a
    # large photo, and every other step on the incident would wait for its row meanwhile.
    photo_file = clean_photo(data, max_pixels=max_pixels, keep_exif=keep_location)
    row = q.lock_photos(session, incident_id=incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}", incident=incident_id)
    if not principal.covers(row.grid_code or row.community_code or ""):
        raise Forbidden(f"this token may not add photos to incident {incident_id}")
    if row.n >= max_photos:
        raise Conflict(f"incident {incident_id} already has {row.n} photos (at most {max_photos})")
    digest = hashlib.sha256(photo_file.data).hexdigest()
    name = f"{digest[:32]}{photo_file.suffix}"
    target = folder / str(incident_id)
    target.mkdir(parents=True, exist_ok=True)
    (target / name).write_bytes(photo_file.data)
    photo = {
        "url": f"/api/v1/incidents/{incident_id}/photos/{name}",
        "type": photo_file.media_type,
        "bytes": len(photo_file.data),
        "sha256": digest,
        "by": principal.actor,
    }
    q.append_photo(session, incident_id=incident_id, photo=photo)
    return photo
