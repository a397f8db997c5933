"""gridmap.services.approvals: requests to extend a time limit (延期) or park an incident (挂账),
and their approval or refusal a level up.

Who asks: for the incident, the command centre holding it (the steps ``request_extend`` and
``request_park`` of :data:`gridmap.services.workflow.STEPS`); for a sub-task's time, its
assignee. Who decides: :func:`gridmap.services.workflow.decider_of`. The time moves, or the
incident parks, only on approval. Every request and decision needs the incident's version in
``If-Match``, writes one event and bumps the version.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import Conflict, Forbidden, InvalidInput, NotFound
from gridmap.queries import approvals as q
from gridmap.queries import events
from gridmap.services import workflow as wf
from gridmap.services.etags import lock_incident
from gridmap.services.tasks import incident_view, task_view
from gridmap.vocab.roles import COMMAND_CENTRES

KINDS = {"extend": "request_extend", "park": "request_park"}


def public(row: Any, principal: Principal) -> dict[str, Any]:
    """An approval as the API shows it, times in ISO 8601, with whether ``principal`` may
    decide it now."""
    out = dict(row._mapping)
    for key in ("requested_at", "decided_at"):
        if out[key] is not None:
            out[key] = out[key].isoformat()
    out["may_decide"] = out["decision"] == "pending" and wf.may_decide(principal, row.decider_code)
    return out


def approvals_of(session: Session, *, incident_id: int, principal: Principal) -> list[Any]:
    """Every approval of an incident, oldest first, each with ``may_decide`` for the caller."""
    return [public(r, principal) for r in q.approvals_of(session, incident_id=incident_id)]


def request(
    session: Session,
    *,
    incident_id: int,
    principal: Principal,
    kind: str,
    reason: str,
    hours: int | None,
    task_id: int | None,
    if_match: str | None,
) -> dict[str, Any]:
    """Ask the level above to extend the incident's (or its sub-task's) time limit by
    ``hours``, or to park the incident. Returns the pending approval and the incident's new
    ``version``.

    In this order: the incident is locked; ``If-Match`` must name its version (428/412); the
    caller must be the one who may ask (403); the incident (and sub-task) must be in a state
    the request fits, and no request of the same kind may be pending on it (409).
    """
    if not principal.authenticated:
        raise Forbidden("requests need a token")
    step = KINDS[kind]
    row = lock_incident(session, incident_id=incident_id, if_match=if_match)
    view = incident_view(row)
    if task_id is None:
        decider = _check_incident_request(principal, view, row, step=step, kind=kind)
    else:
        if kind != "extend":
            raise InvalidInput(
                "a sub-task's time may be extended; parking is asked for the whole incident "
                "(send no task_id)",
                field="task_id",
            )
        decider = _check_task_request(session, principal, view, row, task_id=task_id)
    approval_id = q.insert_approval(
        session,
        incident_id=incident_id,
        task_id=task_id,
        kind=kind,
        reason=reason,
        hours=hours,
        requested_by=principal.actor,
        decider_code=decider,
    )
    if approval_id is None:
        waiting = q.pending(session, incident_id=incident_id, kind=kind, task_id=task_id)
        on = f"sub-task {task_id} of incident" if task_id else "incident"
        raise Conflict(
            f"a request to {kind} {on} {incident_id} is pending already"
            + (f" (approval {waiting.id}, asked by {waiting.requested_by})" if waiting else "")
            + "; wait for its decision",
            approval=waiting.id if waiting else None,
        )
    events.add_event(
        session,
        incident_id=incident_id,
        action=step,
        source=row.status,
        target=row.status,
        actor=principal.actor,
        note=f"{hours} h: {reason}" if kind == "extend" else reason,
        task_id=task_id,
    )
    q.change_incident(session, incident_id=incident_id)
    made = q.approval(session, approval_id=approval_id)
    return {**public(made, principal), "version": row.version + 1}


def _check_incident_request(
    principal: Principal, view: wf.IncidentView, row: Any, *, step: str, kind: str
) -> str | None:
    spec = wf.STEPS[step]
    if not spec.who(principal, view):
        raise Forbidden(
            f"a {principal.role} token for {principal.acts_in} may not ask to {kind} incident "
            f"{row.id}: only the command centre holding it "
            f"({view.owner_code or 'no one yet'}) may",
            role=principal.role,
        )
    if row.status not in spec.sources:
        raise Conflict(
            f"cannot ask to {kind} incident {row.id}: it is {row.status}; a request is made "
            f"while it is {' or '.join(spec.sources)}",
            status=row.status,
        )
    if kind == "extend" and row.due_at is None:
        raise Conflict(
            f"incident {row.id} has no time limit to extend (its category sets none)",
            status=row.status,
        )
    return wf.decider_of(kind, view, on_task=False)


def _check_task_request(
    session: Session, principal: Principal, view: wf.IncidentView, row: Any, *, task_id: int
) -> str | None:
    found = q.task(session, incident_id=row.id, task_id=task_id)
    if found is None:
        raise NotFound(f"incident {row.id} has no sub-task {task_id}", task=task_id)
    tv = task_view(found)
    if not wf.is_assignee(principal, view, tv):
        raise Forbidden(
            f"a {principal.role} token for {principal.acts_in} may not ask to extend sub-task "
            f"{task_id}: it is assigned to {found.assignee_name}",
            role=principal.role,
        )
    if "request_extend" not in wf.task_steps_now(principal, view, tv):
        raise Conflict(
            f"cannot ask to extend sub-task {task_id}: it is {found.state} and incident "
            f"{row.id} is {row.status}; a sub-task's time is extended while it is open and "
            "the incident is handling",
            status=row.status,
            task_state=found.state,
        )
    if found.due_at is None:
        raise Conflict(f"sub-task {task_id} has no time limit to extend", task_state=found.state)
    return wf.decider_of("extend", view, on_task=True)


def decide(
    session: Session,
    *,
    approval_id: int,
    principal: Principal,
    approve: bool,
    note: str | None,
    if_match: str | None,
) -> int:
    """Approve or refuse a pending request; returns the id of its incident, as it is afterwards
    in this transaction.

    Approving an extension moves the sub-task's (or the incident's) due time by its hours;
    approving a parking parks the incident (``parked_from`` its state, ``parked_at`` now).
    409 when the request was decided already, or (approving) when the incident or sub-task is
    no longer in a state the request fits.
    """
    if not principal.authenticated:
        raise Forbidden("decisions need a token")
    incident_id = q.incident_of(session, approval_id=approval_id)
    if incident_id is None:
        raise NotFound(f"no approval {approval_id}", approval=approval_id)
    # The incident first, then the approval: the order a request takes them in, so a request
    # and a decision on the same incident queue instead of deadlocking.
    row = lock_incident(session, incident_id=incident_id, if_match=if_match)
    asked = q.approval(session, approval_id=approval_id, lock=True)
    verb = "approve" if approve else "refuse"
    if not wf.may_decide(principal, asked.decider_code):
        decider = asked.decider_code or "an administrator"
        raise Forbidden(
            f"a {principal.role} token for {principal.acts_in} may not {verb} approval "
            f"{approval_id}: it is for {decider} to decide",
            role=principal.role,
            decider_code=asked.decider_code,
        )
    if asked.decision != "pending":
        raise Conflict(
            f"approval {approval_id} was {asked.decision} already, by {asked.decided_by} at "
            f"{asked.decided_at.isoformat()}",
            decision=asked.decision,
        )
    to = row.status
    changes: dict[str, Any] = {}
    if approve:
        view = incident_view(row)
        if asked.task_id is not None:
            _task_still_fits(session, view, row, asked)
            q.push_task_due(session, task_id=asked.task_id, hours=asked.hours)
            what = f"sub-task {asked.task_id} extended by {asked.hours} h"
        else:
            spec = wf.STEPS[KINDS[asked.kind]]
            if row.status not in spec.sources:
                raise Conflict(
                    f"cannot approve approval {approval_id}: incident {incident_id} is "
                    f"{row.status} now, and a request to {asked.kind} it fits only while it is "
                    f"{' or '.join(spec.sources)}; refuse it instead",
                    status=row.status,
                )
            if asked.kind == "extend":
                changes["push_due_hours"] = asked.hours
                what = f"extended by {asked.hours} h"
            else:
                to = "parked"
                changes |= {
                    "status": to,
                    "parked_from": row.status,
                    "parked_at": func.clock_timestamp(),
                }
                what = f"parked (from {row.status})"
    else:
        what = f"request to {asked.kind} refused"
    q.decide(
        session,
        approval_id=approval_id,
        decision="approved" if approve else "refused",
        decided_by=principal.actor,
        note=note,
    )
    events.add_event(
        session,
        incident_id=incident_id,
        action=verb,
        source=row.status,
        target=to,
        actor=principal.actor,
        note=f"approval {approval_id}: {what}" + (f"; {note}" if note else ""),
        task_id=asked.task_id,
    )
    q.change_incident(session, incident_id=incident_id, **changes)
    return incident_id


def _task_still_fits(session: Session, view: wf.IncidentView, row: Any, asked: Any) -> None:
    found = q.task(session, incident_id=row.id, task_id=asked.task_id)
    if found is None or found.state not in wf.TASK_STEPS["request_extend"].sources:
        state = "gone" if found is None else found.state
        raise Conflict(
            f"cannot approve approval {asked.id}: sub-task {asked.task_id} is {state} now, and "
            "only an open sub-task's time is extended; refuse it instead",
            task_state=state,
        )
    if view.state != "handling":
        raise Conflict(
            f"cannot approve approval {asked.id}: incident {row.id} is {row.status} now, not "
            "handling; refuse it instead",
            status=row.status,
        )


def list_approvals(
    session: Session,
    *,
    principal: Principal,
    decision: str | None,
    incident_id: int | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """A page of the approvals ``principal`` decides (an administrator: all), newest first."""
    deciders: list[str] | None
    if principal.role == "admin":
        deciders = None
    elif principal.role in COMMAND_CENTRES and principal.region is not None:
        deciders = [principal.region]
    else:
        deciders = []
    rows, matched = q.list_approvals(
        session,
        deciders=deciders,
        decision=decision,
        incident_id=incident_id,
        limit=limit,
        offset=offset,
    )
    items = [public(r, principal) for r in rows]
    return {"numberMatched": matched, "numberReturned": len(items), "approvals": items}
