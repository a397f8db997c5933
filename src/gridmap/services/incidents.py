"""gridmap.services.incidents: who may report and act on incidents, and what each step writes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import (
    Conflict,
    Forbidden,
    IncidentArchived,
    InvalidInput,
    NotFound,
    TryAgain,
)
from gridmap.photos import clean_photo, refuse_too_large, sent_before, store_photo
from gridmap.privacy import mask_actor, mask_name, mask_phone
from gridmap.queries import approvals as q_approvals
from gridmap.queries import events as q_events
from gridmap.queries import incidents as q
from gridmap.queries import tasks as q_tasks
from gridmap.services import approvals, tasks
from gridmap.services import workflow as wf
from gridmap.services.access import require_role
from gridmap.services.etags import incident_etag, lock_incident
from gridmap.vocab.roles import COMMAND_CENTRES, HANDLERS
from gridmap.vocab.states import INCIDENT_STATES

# Months of incidents are China's months (the partitions' bounds).
CHINA = ZoneInfo("Asia/Shanghai")


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
    session: Session,
    *,
    incident_id: int,
    principal: Principal,
    events: bool = True,
    reported_at: datetime | None = None,
    new: bool = False,
) -> dict[str, Any]:
    """One incident as a Feature: with its events, the steps ``principal`` may take now
    (``actions``), its sub-tasks (each with its own ``actions``) and its approvals (each with
    whether ``principal`` may decide it). ``reported_at``, when the caller knows it, names the
    incident's month without reading it; a ``new`` incident (reported in this transaction) has
    no sub-tasks and no approvals yet, so they are not read."""
    found = q.incident_feature(session, incident_id=incident_id, reported_at=reported_at)
    if found is None:
        raise NotFound(f"no incident {incident_id}", incident=incident_id)
    feature = mask(found, principal)
    props = feature["properties"]
    if events:
        view = tasks.incident_view(props)
        props["events"] = q.events(session, incident_id=incident_id)
        props["actions"] = wf.steps_now(principal, view)
        props["tasks"] = (
            []
            if new
            else tasks.public_tasks(
                session, incident_id=incident_id, view=view, principal=principal
            )
        )
        props["approvals"] = (
            []
            if new
            else approvals.approvals_of(session, incident_id=incident_id, principal=principal)
        )
        if not principal.sees_personal_data(view.place or ""):
            # Who acted is personal data when a person did (a grid worker): masked as the
            # reporter is, in the history and in the requests alike.
            for e in props["events"]:
                e["actor"] = mask_actor(e["actor"])
            for a in props["approvals"]:
                a["requested_by"] = mask_actor(a["requested_by"])
                a["decided_by"] = mask_actor(a["decided_by"])
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
    if principal.role == "branch" or principal.holder == "party_member":
        raise Forbidden(
            "reporting incidents needs a token of a worker, office or admin; a Party "
            "organisation's or member's token does not report them (it assigns and takes the "
            "needs on the lists)",
            role=principal.role,
        )
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
    made = q.insert_incident(
        session,
        **asdict(report),
        grid_code=place.grid_code,
        community_code=community,
        street_code=community[:9] if community else None,
        distance_to_grid_m=None if place.grid_code else place.distance_m,
    )
    if made is None:
        existing = q.id_by_key(session, idempotency_key=report.idempotency_key)
        if not existing.stored:
            month = existing.reported_at.astimezone(CHINA).strftime("%Y-%m")
            raise IncidentArchived(
                f"the report with Idempotency-Key {key} was recorded as incident {existing.id} "
                f"of {month}, a month archived since: it is not recorded again",
                incident_id=existing.id,
                month=month,
            )
        return get_incident(session, incident_id=existing.id, principal=principal), False
    incident_id = made.id
    q_events.add_event(
        session,
        incident_id=incident_id,
        action="report",
        source=None,
        target="reported",
        actor=principal.actor,
        note=None if place.grid_code else "in no grid: queued to the nearest community",
    )
    feature = get_incident(
        session,
        incident_id=incident_id,
        principal=principal,
        reported_at=made.reported_at,
        new=True,
    )
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


# Steps taken here; the two requests are approvals (gridmap.services.approvals).
SERVED = tuple(name for name in wf.STEPS if not name.startswith("request_"))


def _refuse_wrong_state(
    principal: Principal, view: wf.IncidentView, *, step: str, incident_id: int
) -> NoReturn:
    allowed = wf.steps_now(principal, view)
    raise Conflict(
        f"cannot {step} incident {incident_id}: it is {view.state}; you may now: "
        + (", ".join(allowed) or "nothing"),
        state=view.state,
        steps_now=allowed,
    )


def act(
    session: Session,
    *,
    incident_id: int,
    step: str,
    principal: Principal,
    body: dict[str, Any],
    if_match: str | None,
    hours: wf.WorkingHours,
    pool_minutes: float,
) -> dict[str, Any]:
    """Take one step of the flow (:data:`gridmap.services.workflow.STEPS`) on an incident.

    In this order: the incident is locked; ``If-Match`` must name its version (428/412); the
    caller must be a command centre of its place or its owner (403); its state must allow the
    step (409 listing the steps the caller may take now); the caller must be the one the step
    is for (403); the body must hold what the step needs (422). Only then is anything written,
    together: the state, owner and times, sub-tasks, one event and the next version.
    """
    spec = wf.STEPS.get(step)
    if spec is None or step not in SERVED:
        raise NotFound(f"no step {step!r}; steps are {', '.join(SERVED)}")
    if not principal.authenticated:
        raise Forbidden("workflow steps need a token")
    row = lock_incident(session, incident_id=incident_id, if_match=if_match)
    view = tasks.incident_view(row)
    if not (wf.of_place(principal, view) or wf.is_owner(principal, view)):
        raise Forbidden(
            f"a {principal.role} token for {principal.acts_in} may not {step} incident "
            f"{incident_id} (in {view.place or 'no region'}, held by "
            f"{view.owner_code or 'no one yet'})",
            role=principal.role,
        )
    to = wf.target(step, view)
    if to is None:
        _refuse_wrong_state(principal, view, step=step, incident_id=incident_id)
    if not spec.who(principal, view):
        raise Forbidden(
            f"a {principal.role} token for {principal.acts_in} may not {step} incident "
            f"{incident_id}: it is held by {view.owner_code or 'no one yet'}",
            role=principal.role,
        )
    for need in spec.needs:
        if body.get(need) in (None, "", []):
            raise InvalidInput(f"{step} needs {need}", field=need)
    now = q.clock(session)
    changes: dict[str, Any] = {"status": to}
    push_due: timedelta | None = None
    note = body.get("note") or body.get("reason")

    def limit_from(start: datetime) -> datetime | None:
        if not row.limit_hours:
            return None
        return wf.due_at(start, row.limit_hours, row.working_time, hours)

    if step == "accept":
        changes["owner_code"] = wf.owner_after(step, view)
        if to == "pooled":
            changes["pool_until"] = now + timedelta(minutes=pool_minutes)
    elif step in ("claim", "dispatch"):
        # The window is the server's to close (gridmap.services.pool); a claim that comes after
        # it, before the next tick moved the incident, is too late all the same.
        if step == "claim" and row.pool_until is not None and row.pool_until <= now:
            raise Conflict(
                f"the street pool's window for incident {incident_id} closed at "
                f"{row.pool_until.isoformat()}: it goes to the district to dispatch",
                status=view.state,
                pool_until=row.pool_until.isoformat(),
            )
        if step == "dispatch":
            street = _dispatch_street(
                session, view=view, street=body.get("street") or view.street_code
            )
            changes["owner_code"] = street
            note = f"to {street}" + (f"; {note}" if note else "")
        changes |= {"dispatch_mode": step, "dispatched_at": now, "due_at": limit_from(now)}
    elif step == "return_up":
        changes["owner_code"] = wf.owner_after(step, view)
    elif step in ("split", "whistle"):
        due = row.due_at
        if row.dispatched_at is None:
            changes["dispatched_at"] = now
        if due is None:
            due = limit_from(now)
            changes["due_at"] = due
        if step == "split":
            made = tasks.split_tasks(
                session, view=view, targets=body.get("targets"), due_at=due, actor=principal.actor
            )
        else:
            made = tasks.whistle_tasks(
                session,
                view=view,
                category=row.category,
                departments=list(body["departments"]),
                item_id=body.get("item"),
                due_at=due,
                now=now,
                actor=principal.actor,
            )
        ids = tasks.add_tasks(session, incident_id=incident_id, tasks=made)
        named = ", ".join(f"{t['assignee_name']} ({t['assignee_code']})" for t in made)
        note = f"sub-tasks {', '.join(map(str, ids))} to {named}" + (f"; {note}" if note else "")
    elif step == "resume":
        parked = now - row.parked_at if row.parked_at is not None else timedelta(0)
        changes |= {"parked_from": None, "parked_at": None}
        if row.due_at is not None:
            push_due = parked
        q_tasks.push_due(session, incident_id=incident_id, by=parked)
    elif step == "rework":
        reopened = tasks.reopen(session, incident_id=incident_id, task_ids=body.get("tasks"))
        note = f"sub-tasks {', '.join(map(str, reopened))} reopened; {note}"
    elif step == "close":
        changes["closed_at"] = now
    elif step == "evaluate":
        changes["score"] = int(body["score"])
    if changes.get("owner_code", view.owner_code) != view.owner_code and view.owner_code:
        # What the former holder asked for (more time, parking) is not the new holder's request.
        refused = q_approvals.refuse_pending(
            session,
            incident_id=incident_id,
            by=principal.actor,
            note=f"the incident went from {view.owner_code} to {changes['owner_code']}",
        )
        if refused:
            note = (note + "; " if note else "") + (
                f"pending requests {', '.join(map(str, refused))} refused: it changed hands"
            )
    q.apply_step(
        session,
        incident_id=incident_id,
        changes=changes,
        push_due=push_due,
        returned=step == "rework",
    )
    q_events.add_event(
        session,
        incident_id=incident_id,
        action=step,
        source=view.state,
        target=to,
        actor=principal.actor,
        note=note,
    )
    return get_incident(session, incident_id=incident_id, principal=principal)


def _dispatch_street(session: Session, *, view: wf.IncidentView, street: str | None) -> str:
    """The street a district dispatches to: one of the owner district's streets."""
    if street is None:
        raise InvalidInput("the incident lies in no street: name the street", field="street")
    owner = view.owner_code
    if not q_tasks.street_exists(session, code=street) or (
        owner is not None and not street.startswith(owner)
    ):
        raise InvalidInput(
            f"{street} is no street of {owner or 'any district'}", field="street", street=street
        )
    return street


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
    if (
        not principal.authenticated
        or principal.role not in COMMAND_CENTRES
        or not (principal.covers(duplicate.where or ""))
    ):
        raise Forbidden(
            f"a {principal.role} token for {principal.acts_in} may not merge incident "
            f"{incident_id} (in {duplicate.where or 'no region'})"
        )
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
    # Both rows are locked: the duplicate's version read now is the one the cancel checks.
    act(
        session,
        incident_id=incident_id,
        step="cancel",
        principal=principal,
        body={"reason": f"duplicate of incident {into}"},
        if_match=incident_etag(incident_id, duplicate.version),
        # Cancelling sets no due time: neither the calendar nor the pool window is needed.
        hours=wf.WorkingHours(),
        pool_minutes=0,
    )
    q.set_merged_into(session, incident_id=incident_id, into=into)
    return get_incident(session, incident_id=incident_id, principal=principal)


def list_incidents(
    session: Session, *, principal: Principal, chosen: q.IncidentFilter, limit: int, offset: int
) -> dict[str, Any]:
    """A page of incidents as GeoJSON, reporters masked for whoever may not see them."""
    if chosen.state is not None and chosen.state not in INCIDENT_STATES:
        raise InvalidInput(
            f"unknown state {chosen.state!r}; states are {', '.join(INCIDENT_STATES)}",
            field="state",
        )
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
    idempotency_key: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Store a photo of an incident on disk and reference it from the incident; the photo and
    whether it is new (False: the same ``idempotency_key`` or the same image was stored before,
    and nothing was added).

    What is stored is the image decoded and encoded again (see :func:`gridmap.photos.
    clean_photo`): upright, without metadata, so without the place the camera wrote into it
    unless ``keep_location`` keeps its EXIF. A file that is not a whole JPEG, PNG or WebP image
    of at most ``max_pixels`` is refused and nothing is written.
    """
    require_role(principal, "add photos to incidents", roles=HANDLERS)
    refuse_too_large(data, max_bytes=max_bytes)
    # Decoded and encoded again before the incident is locked: that takes up to a second for a
    # large photo, and every other step on the incident would wait for its row meanwhile.
    photo_file = clean_photo(data, max_pixels=max_pixels, keep_exif=keep_location)
    row = q.lock_photos(session, incident_id=incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}", incident=incident_id)
    if not principal.covers(row.grid_code or row.community_code or ""):
        raise Forbidden(f"this token may not add photos to incident {incident_id}")
    earlier = sent_before(row.photos, photo=photo_file, key=idempotency_key)
    if earlier is not None:
        return earlier, False
    if row.n >= max_photos:
        raise Conflict(f"incident {incident_id} already has {row.n} photos (at most {max_photos})")
    photo = store_photo(
        photo_file,
        folder=folder / str(incident_id),
        url=f"/api/v1/incidents/{incident_id}/photos",
        by=principal.actor,
        key=idempotency_key,
    )
    q.append_photo(session, incident_id=incident_id, photo=photo)
    return photo, True
