"""gridmap.queries.events: an incident's history, one event per step."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from gridmap.models import IncidentEvent

_e = cast(Table, IncidentEvent.__table__)


def add_event(
    session: Session,
    *,
    incident_id: int,
    action: str,
    source: str | None,
    target: str,
    actor: str,
    note: str | None,
    task_id: int | None = None,
) -> None:
    """Append an event (the next ``seq``) to an incident's history, stamped now; ``task_id``
    names the sub-task it concerns."""
    seq = (
        select(func.coalesce(func.max(_e.c.seq), 0) + 1)
        .where(_e.c.incident_id == incident_id)
        .scalar_subquery()
    )
    session.execute(
        insert(_e).values(
            incident_id=incident_id,
            seq=seq,
            action=action,
            from_status=source,
            to_status=target,
            actor=actor,
            at=func.clock_timestamp(),
            note=note,
            task_id=task_id,
        )
    )
