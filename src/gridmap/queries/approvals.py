"""gridmap.queries.approvals: the SQL of requests to extend (延期) and park (挂账) and their
decisions.

Reads and writes return rows and never check permissions; :mod:`gridmap.services.approvals`
decides who may do what and what a decision writes together.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from gridmap.models import Approval, Incident, IncidentTask

_i = cast(Table, Incident.__table__)
_t = cast(Table, IncidentTask.__table__)
_a = cast(Table, Approval.__table__)

_APPROVAL = select(
    _a.c.id,
    _a.c.incident_id,
    _a.c.task_id,
    _a.c.kind,
    _a.c.reason,
    _a.c.hours,
    _a.c.requested_by,
    _a.c.requested_at,
    _a.c.decider_code,
    _a.c.decision,
    _a.c.decided_by,
    _a.c.decided_at,
    _a.c.decision_note,
)


def task(session: Session, *, incident_id: int, task_id: int) -> Any:
    """A sub-task of the incident (its assignee, state and due time); None when the incident
    has no such sub-task. Read under the incident's lock, which every task step takes first."""
    return session.execute(
        select(
            _t.c.id,
            _t.c.kind,
            _t.c.assignee_kind,
            _t.c.assignee_code,
            _t.c.assignee_name,
            _t.c.state,
            _t.c.due_at,
        ).where(_t.c.id == task_id, _t.c.incident_id == incident_id)
    ).one_or_none()


def insert_approval(session: Session, **values: Any) -> int | None:
    """Record a pending request; None when one of the same kind is pending on the same incident
    or sub-task already (the unique index ``approval_one_pending`` decides, also between two
    requests sent at the same moment)."""
    return session.execute(
        pg_insert(_a).values(**values).on_conflict_do_nothing().returning(_a.c.id)
    ).scalar_one_or_none()


def pending(session: Session, *, incident_id: int, kind: str, task_id: int | None) -> Any:
    """The pending request of ``kind`` on the incident (or its sub-task ``task_id``), or None."""
    on_task = _a.c.task_id.is_(None) if task_id is None else _a.c.task_id == task_id
    return session.execute(
        _APPROVAL.where(
            _a.c.incident_id == incident_id,
            _a.c.kind == kind,
            on_task,
            _a.c.decision == "pending",
        )
    ).one_or_none()


def approval(session: Session, *, approval_id: int, lock: bool = False) -> Any:
    """One approval, or None; locked when ``lock`` (take the incident's lock first)."""
    query = _APPROVAL.where(_a.c.id == approval_id)
    return session.execute(query.with_for_update() if lock else query).one_or_none()


def incident_of(session: Session, *, approval_id: int) -> int | None:
    """The incident an approval belongs to."""
    return session.execute(
        select(_a.c.incident_id).where(_a.c.id == approval_id)
    ).scalar_one_or_none()


def decide(
    session: Session, *, approval_id: int, decision: str, decided_by: str, note: str | None
) -> None:
    """Record the decision on a request, stamped now."""
    session.execute(
        update(_a)
        .where(_a.c.id == approval_id)
        .values(
            decision=decision,
            decided_by=decided_by,
            decided_at=func.clock_timestamp(),
            decision_note=note,
        )
    )


def push_task_due(session: Session, *, task_id: int, hours: int) -> None:
    """Move a sub-task's due time ``hours`` later."""
    session.execute(
        update(_t).where(_t.c.id == task_id).values(due_at=_t.c.due_at + timedelta(hours=hours))
    )


def change_incident(
    session: Session, *, incident_id: int, push_due_hours: int | None = None, **values: Any
) -> None:
    """Write ``values`` to the incident with its next version, its due time moved
    ``push_due_hours`` later when given."""
    if push_due_hours is not None:
        values["due_at"] = _i.c.due_at + timedelta(hours=push_due_hours)
    session.execute(
        update(_i).where(_i.c.id == incident_id).values(**values, version=_i.c.version + 1)
    )


def approvals_of(session: Session, *, incident_id: int) -> list[Any]:
    """Every approval of an incident, oldest first."""
    return list(
        session.execute(_APPROVAL.where(_a.c.incident_id == incident_id).order_by(_a.c.id)).all()
    )


def list_approvals(
    session: Session,
    *,
    deciders: list[str] | None,
    decision: str | None,
    incident_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[Any], int]:
    """A page of approvals addressed to one of ``deciders`` (region codes; None: to anyone),
    newest first, and how many match in all."""
    where: list[ColumnElement[bool]] = []
    if deciders is not None:
        where.append(_a.c.decider_code.in_(deciders))
    if decision is not None:
        where.append(_a.c.decision == decision)
    if incident_id is not None:
        where.append(_a.c.incident_id == incident_id)
    rows = session.execute(
        _APPROVAL.where(*where).order_by(_a.c.id.desc()).limit(limit).offset(offset)
    ).all()
    matched = session.execute(select(func.count()).select_from(_a).where(*where)).scalar_one()
    return list(rows), int(matched)


def refuse_pending(session: Session, *, incident_id: int, by: str, note: str) -> list[int]:
    """Refuse every pending request on an incident (it changed hands: what its former holder
    asked for is no longer theirs to ask); the ids refused."""
    return list(
        session.execute(
            update(_a)
            .where(_a.c.incident_id == incident_id, _a.c.decision == "pending")
            .values(decision="refused", decided_by=by, decided_at=func.now(), decision_note=note)
            .returning(_a.c.id)
        ).scalars()
    )
