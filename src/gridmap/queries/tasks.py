"""gridmap.queries.tasks: the SQL of an incident's sub-tasks (分单, 联单), the places and
departments they may go to, and the approvals asked on an incident.

Reads and writes return rows and never check permissions; :mod:`gridmap.services.tasks` decides.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from gridmap.models import Department, Grid, IncidentTask, Region, WhistleItem
from gridmap.vocab.states import TASK_OPEN

_t = cast(Table, IncidentTask.__table__)
_d = cast(Table, Department.__table__)
_g = cast(Table, Grid.__table__)
_r = cast(Table, Region.__table__)
_w = cast(Table, WhistleItem.__table__)

# Every column a reader sees; who answered in person is kept for figures only.
_SHOWN = [c for c in _t.c if c.name != "answered_by_person"]


def tasks_of(session: Session, *, incident_id: int) -> list[dict[str, Any]]:
    """The sub-tasks of an incident in the order they were given."""
    rows = session.execute(select(*_SHOWN).where(_t.c.incident_id == incident_id).order_by(_t.c.id))
    return [dict(r._mapping) for r in rows]


def lock_task(session: Session, *, incident_id: int, task_id: int) -> Any:
    """A sub-task of ``incident_id``, locked; None when the incident has no such task."""
    return session.execute(
        select(_t).where(_t.c.id == task_id, _t.c.incident_id == incident_id).with_for_update()
    ).one_or_none()


def task_states(session: Session, *, incident_id: int) -> list[str]:
    """The state of every sub-task of an incident."""
    found = session.execute(select(_t.c.state).where(_t.c.incident_id == incident_id))
    return list(found.scalars())


def open_assignees(session: Session, *, incident_id: int) -> set[tuple[str, str | None]]:
    """``(assignee_kind, assignee_code)`` of the incident's open sub-tasks."""
    rows = session.execute(
        select(_t.c.assignee_kind, _t.c.assignee_code).where(
            _t.c.incident_id == incident_id, _t.c.state.in_(TASK_OPEN)
        )
    )
    return {(r.assignee_kind, r.assignee_code) for r in rows}


def add_tasks(session: Session, *, incident_id: int, tasks: list[dict[str, Any]]) -> list[int]:
    """Insert sub-tasks of an incident; returns their ids in order."""
    return [
        int(
            session.execute(
                insert(_t).values(incident_id=incident_id, **task).returning(_t.c.id)
            ).scalar_one()
        )
        for task in tasks
    ]


def update_task(session: Session, *, task_id: int, changes: dict[str, Any]) -> None:
    """Write ``changes`` to one sub-task."""
    session.execute(update(_t).where(_t.c.id == task_id).values(**changes))


def reopen(session: Session, *, incident_id: int, task_ids: list[int]) -> None:
    """Send answered sub-tasks back to work (退回重办): working again, one more rework each."""
    session.execute(
        update(_t)
        .where(_t.c.incident_id == incident_id, _t.c.id.in_(task_ids))
        .values(state="working", answered_at=None, returned_count=_t.c.returned_count + 1)
    )


def answered_ids(session: Session, *, incident_id: int) -> list[int]:
    """The ids of the incident's answered sub-tasks."""
    return list(
        session.execute(
            select(_t.c.id)
            .where(_t.c.incident_id == incident_id, _t.c.state == "answered")
            .order_by(_t.c.id)
        ).scalars()
    )


def push_due(session: Session, *, incident_id: int, by: timedelta) -> None:
    """Move the due times (to report in and to answer) of the incident's open sub-tasks."""
    session.execute(
        update(_t)
        .where(_t.c.incident_id == incident_id, _t.c.state.in_(TASK_OPEN))
        .values(
            due_at=_t.c.due_at + by,
            report_due_at=_t.c.report_due_at + by,
        )
    )


def append_photo(session: Session, *, task_id: int, photo: dict[str, Any]) -> None:
    """Reference one more photo from a sub-task."""
    session.execute(
        update(_t)
        .where(_t.c.id == task_id)
        .values(photos=_t.c.photos.op("||", return_type=JSONB)(literal([photo], JSONB)))
    )


def place_name(session: Session, *, code: str) -> tuple[str, str] | None:
    """``(kind, name)`` of a current grid or a community with ``code``; None when neither."""
    grid = session.execute(
        select(_g.c.name).where(_g.c.code == code, _g.c.valid_to.is_(None))
    ).first()
    if grid is not None:
        return "grid", grid.name or code
    community = session.execute(
        select(_r.c.name).where(_r.c.code == code, _r.c.level == "community")
    ).first()
    if community is not None:
        return "community", community.name or code
    return None


def street_exists(session: Session, *, code: str) -> bool:
    """Whether ``code`` is a street."""
    return (
        session.execute(select(_r.c.code).where(_r.c.code == code, _r.c.level == "street")).first()
        is not None
    )


def departments(session: Session, *, codes: list[str]) -> dict[str, Any]:
    """The departments named by ``codes`` (code, name, region, active), by code."""
    rows = session.execute(
        select(_d.c.code, _d.c.name, _d.c.region_code, _d.c.active).where(_d.c.code.in_(codes))
    )
    return {r.code: r for r in rows}


def whistle_item(session: Session, *, item_id: int) -> Any:
    """One line of the whistle list, or None."""
    return session.execute(
        select(_w.c.id, _w.c.report_hours, _w.c.answer_hours, _w.c.active).where(_w.c.id == item_id)
    ).one_or_none()


def now(session: Session) -> datetime:
    """The database's clock now."""
    at: datetime = session.execute(select(func.clock_timestamp())).scalar_one()
    return at
