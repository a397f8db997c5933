"""gridmap.services.tasks: an incident's sub-tasks — 分单 to communities and grids, 联单 (吹哨) to
departments — their steps (报到, 反馈, 撤回), photos, and what they make of the incident.

An incident is handled through its sub-tasks: it is resolved when none is open and one was
answered (一单一反馈, :func:`gridmap.services.workflow.after_tasks`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import Conflict, Forbidden, InvalidInput, NotFound
from gridmap.photos import clean_photo, refuse_too_large, sent_before, store_photo
from gridmap.privacy import mask_name
from gridmap.queries import events as q_events
from gridmap.queries import incidents as qi
from gridmap.queries import tasks as q
from gridmap.services import etags
from gridmap.services import workflow as wf
from gridmap.services.whistle import suggest

# The actor of what follows by itself from the sub-tasks (the incident resolved).
SYSTEM = "system"
# Sub-task steps served here; a request to extend one is an approval (gridmap.services.approvals).
SERVED = ("report_in", "answer", "withdraw")


def incident_view(incident: Any) -> wf.IncidentView:
    """What the flow needs of an incident (a locked or read row, or a Feature's properties)."""
    i = incident if isinstance(incident, dict) else incident._mapping
    return wf.IncidentView(
        state=i["status"],
        owner_code=i["owner_code"],
        street_code=i["street_code"],
        community_code=i["community_code"],
        grid_code=i["grid_code"],
        parked_from=i["parked_from"],
    )


def task_view(task: Any) -> wf.TaskView:
    """What the flow needs of a sub-task (a row or a dict)."""
    t = task if isinstance(task, dict) else task._mapping
    return wf.TaskView(t["kind"], t["assignee_kind"], t["assignee_code"], t["state"])


def split_tasks(
    session: Session,
    *,
    view: wf.IncidentView,
    targets: list[str] | None,
    due_at: datetime | None,
    actor: str,
) -> list[dict[str, Any]]:
    """The 分单 sub-tasks to ``targets`` (grid or community codes in the owner's region; by
    default the grid holding the incident, else its community), each due when the incident is.
    """
    chosen = list(targets or [c for c in (view.grid_code or view.community_code,) if c])
    if not chosen:
        raise InvalidInput(
            "the incident lies in no grid or community: name the targets of the split",
            field="targets",
        )
    if len(set(chosen)) != len(chosen):
        raise InvalidInput("a target is named twice", field="targets")
    # An incident no command centre holds (an administrator's, in no street) may go anywhere.
    owner = view.owner_code
    tasks = []
    for code in chosen:
        found = q.place_name(session, code=code)
        if found is None:
            raise InvalidInput(f"{code} is no current grid or community", field="targets")
        if owner is not None and not code.startswith(owner):
            raise InvalidInput(
                f"{code} lies outside {owner}, which holds the incident", field="targets"
            )
        kind, name = found
        tasks.append(
            {
                "kind": "split",
                "assignee_kind": kind,
                "assignee_code": code,
                "assignee_name": name,
                "created_by": actor,
                "due_at": due_at,
            }
        )
    return tasks


def whistle_tasks(
    session: Session,
    *,
    view: wf.IncidentView,
    category: str,
    departments: list[str],
    item_id: int | None,
    due_at: datetime | None,
    now: datetime,
    actor: str,
) -> list[dict[str, Any]]:
    """The 联单 sub-tasks to ``departments`` (active, of the owner's street or its district),
    under whistle-list line ``item_id`` (by default the one the list suggests for the category):
    due to report in and to answer in the item's hours, else when the incident is due."""
    if len(set(departments)) != len(departments):
        raise InvalidInput("a department is named twice", field="departments")
    suggestion = suggest(session, category=category, street_code=view.street_code)
    if item_id is None and suggestion.item is not None:
        item_id = int(suggestion.item["id"])
    item = None
    if item_id is not None:
        item = q.whistle_item(session, item_id=item_id)
        if item is None or not item.active:
            raise InvalidInput(f"no active whistle-list item {item_id}", field="item")
    allowed = {c for c in (view.owner_code, wf.parent_of(view.owner_code)) if c}
    found = q.departments(session, codes=departments)
    tasks = []
    for code in departments:
        dept = found.get(code)
        if dept is None or not dept.active:
            raise InvalidInput(f"no active department {code!r}", field="departments")
        if allowed and dept.region_code not in allowed:
            raise InvalidInput(
                f"department {code} belongs to {dept.region_code}; whistle departments of "
                f"{' or '.join(sorted(allowed))}",
                field="departments",
            )
        tasks.append(
            {
                "kind": "whistle",
                "assignee_kind": "department",
                "assignee_code": code,
                "assignee_name": dept.name,
                "whistle_item_id": None if item is None else item.id,
                "suggested": code in suggestion.codes,
                "created_by": actor,
                "report_due_at": None if item is None else now + timedelta(hours=item.report_hours),
                "due_at": due_at if item is None else now + timedelta(hours=item.answer_hours),
            }
        )
    return tasks


def add_tasks(session: Session, *, incident_id: int, tasks: list[dict[str, Any]]) -> list[int]:
    """Insert ``tasks``; 409 when one goes to a department or place already holding an open
    sub-task of the incident."""
    taken = q.open_assignees(session, incident_id=incident_id)
    for t in tasks:
        if (t["assignee_kind"], t["assignee_code"]) in taken:
            raise Conflict(
                f"{t['assignee_name']} ({t['assignee_code']}) already holds an open sub-task "
                f"of incident {incident_id}",
                assignee=t["assignee_code"],
            )
    return q.add_tasks(session, incident_id=incident_id, tasks=tasks)


def reopen(session: Session, *, incident_id: int, task_ids: list[int] | None) -> list[int]:
    """Send answered sub-tasks back to work (all answered ones by default); 422 naming a task
    that is not an answered one of the incident."""
    answered = q.answered_ids(session, incident_id=incident_id)
    chosen = list(task_ids) if task_ids else answered
    wrong = [t for t in chosen if t not in answered]
    if wrong:
        raise InvalidInput(
            f"sub-task {wrong[0]} is no answered sub-task of incident {incident_id}; "
            f"answered: {', '.join(map(str, answered)) or 'none'}",
            field="tasks",
        )
    if not chosen:
        raise InvalidInput(f"incident {incident_id} has no answered sub-task", field="tasks")
    q.reopen(session, incident_id=incident_id, task_ids=chosen)
    return chosen


def public_tasks(
    session: Session, *, incident_id: int, view: wf.IncidentView, principal: Principal
) -> list[dict[str, Any]]:
    """The incident's sub-tasks as a reader sees them: times in ISO 8601, the steps the reader
    may take on each, who answered masked unless the reader may see personal data there."""
    where = view.grid_code or view.community_code or ""
    sees = principal.sees_personal_data(where)
    out = []
    for t in q.tasks_of(session, incident_id=incident_id):
        shown = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in t.items()}
        # Whoever answered for a department is shown to that department as well.
        if not sees and not wf.is_assignee(principal, view, task_view(t)):
            shown["answered_by"] = mask_name(t["answered_by"])
        shown["actions"] = wf.task_steps_now(principal, view, task_view(t))
        out.append(shown)
    return out


def _locked(
    session: Session, *, incident_id: int, task_id: int, principal: Principal, if_match: str | None
) -> tuple[Any, Any, wf.IncidentView]:
    if not principal.authenticated:
        raise Forbidden("steps on sub-tasks need a token")
    row = etags.lock_incident(session, incident_id=incident_id, if_match=if_match)
    view = incident_view(row)
    task = q.lock_task(session, incident_id=incident_id, task_id=task_id)
    if task is None:
        raise NotFound(f"incident {incident_id} has no sub-task {task_id}", task=task_id)
    if not (wf.is_owner(principal, view) or wf.is_assignee(principal, view, task_view(task))):
        raise Forbidden(
            f"a {principal.role} token for {principal.acts_in} may not act on sub-task "
            f"{task_id} of incident {incident_id}"
        )
    return row, task, view


def act_on_task(
    session: Session,
    *,
    incident_id: int,
    task_id: int,
    step: str,
    principal: Principal,
    body: dict[str, Any],
    if_match: str | None,
) -> None:
    """Take a step on a sub-task: report in (报到), answer (反馈) or withdraw it (撤回, the
    owner); then the incident's state follows from its sub-tasks.

    In this order: the incident is locked; ``If-Match`` must name its version (428/412); the
    task must be one of the incident's (404); the caller must be the incident's owner or the
    task's assignee (403); the incident must be handling and the task in a state the step is
    taken from (409 listing the steps allowed now); the step must be the caller's (403); the
    body must hold what it needs (422). Nothing is written unless the step is taken.
    """
    spec = wf.TASK_STEPS.get(step)
    if spec is None or step not in SERVED:
        raise NotFound(f"no sub-task step {step!r}; steps are {', '.join(SERVED)}")
    _row, task, view = _locked(
        session, incident_id=incident_id, task_id=task_id, principal=principal, if_match=if_match
    )
    tv = task_view(task)
    if view.state != "handling" or task.state not in spec.sources:
        allowed = wf.task_steps_now(principal, view, tv)
        raise Conflict(
            f"cannot {step} sub-task {task_id}: it is {task.state} and the incident is "
            f"{view.state}; you may now: {', '.join(allowed) or 'nothing'}",
            state=task.state,
            incident_state=view.state,
            steps_now=allowed,
        )
    may = wf.is_owner(principal, view) if spec.by_owner else wf.is_assignee(principal, view, tv)
    if not may:
        who = "the incident's owner" if spec.by_owner else "the sub-task's assignee"
        raise Forbidden(f"only {who} may {step} sub-task {task_id}")
    for need in spec.needs:
        if body.get(need) in (None, ""):
            raise InvalidInput(f"{step} needs {need}", field=need)
    now = q.now(session)
    changes: dict[str, Any] = {"state": spec.target}
    if step == "report_in":
        changes["reported_in_at"] = now
    elif step == "answer":
        changes |= {
            "feedback": body["note"],
            "answered_at": now,
            "answered_by": body.get("answered_by") or principal.name,
            "answered_by_person": principal.person_id,
            "reported_in_at": task.reported_in_at or now,
        }
    q.update_task(session, task_id=task_id, changes=changes)
    after = wf.after_tasks(q.task_states(session, incident_id=incident_id))
    qi.apply_step(session, incident_id=incident_id, changes={"status": after})
    # A withdrawal that leaves nothing open hands the incident back to its owner on the same
    # event; the resolution is the system's, on an event of its own.
    q_events.add_event(
        session,
        incident_id=incident_id,
        action=step,
        source=view.state,
        target="dispatched" if after == "dispatched" else view.state,
        actor=principal.actor,
        note=body.get("note") or body.get("reason"),
        task_id=task_id,
    )
    if after == "resolved":
        q_events.add_event(
            session,
            incident_id=incident_id,
            action="resolve",
            source=view.state,
            target="resolved",
            actor=SYSTEM,
            note="every sub-task answered",
        )


def add_photo(
    session: Session,
    *,
    incident_id: int,
    task_id: int,
    data: bytes,
    principal: Principal,
    folder: Path,
    max_bytes: int,
    max_photos: int,
    max_pixels: int,
    keep_location: bool = False,
    idempotency_key: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Store a photo of a sub-task, by its assignee (see :func:`gridmap.services.incidents.
    add_photo` for what is stored, and when a photo sent again is the one stored before);
    under ``folder/<incident>/tasks/<task>/``."""
    if not principal.authenticated:
        raise Forbidden("adding photos needs a token")
    refuse_too_large(data, max_bytes=max_bytes)
    photo_file = clean_photo(data, max_pixels=max_pixels, keep_exif=keep_location)
    row = qi.lock_for_action(session, incident_id=incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}", incident=incident_id)
    view = incident_view(row)
    task = q.lock_task(session, incident_id=incident_id, task_id=task_id)
    if task is None or not wf.is_assignee(principal, view, task_view(task)):
        if task is not None or not wf.is_owner(principal, view):
            raise Forbidden(f"only its assignee adds photos to sub-task {task_id}")
        raise NotFound(f"incident {incident_id} has no sub-task {task_id}", task=task_id)
    earlier = sent_before(task.photos, photo=photo_file, key=idempotency_key)
    if earlier is not None:
        return earlier, False
    if len(task.photos) >= max_photos:
        raise Conflict(f"sub-task {task_id} already has {len(task.photos)} photos")
    photo = store_photo(
        photo_file,
        folder=folder / str(incident_id) / "tasks" / str(task_id),
        url=f"/api/v1/incidents/{incident_id}/tasks/{task_id}/photos",
        by=principal.actor,
        key=idempotency_key,
    )
    q.append_photo(session, task_id=task_id, photo=photo)
    return photo, True
