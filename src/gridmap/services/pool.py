"""gridmap.services.pool: the street pool's window (抢单) closing by itself.

An accepted incident waits in its street's pool until ``pool_until``; the street may claim it
meanwhile. When the window closes without a claim the incident enters the district's dispatch
queue (派单), owned by the district, pre-filled with the street holding it; with automatic
dispatch (setting ``pool_auto_dispatch``) the district's platform dispatches it to that street
at once, with the due time of its category. :mod:`gridmap.scheduler` runs this every few
seconds in the server; ``gridmap pool close`` runs it once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gridmap.queries import events
from gridmap.queries import pool as q
from gridmap.services import workflow as wf
from gridmap.services.incidents import working_hours

ACTOR = "system (pool window)"


def close_windows(
    session: Session,
    *,
    now: datetime,
    auto_dispatch: bool,
    timezone: str = "Asia/Shanghai",
    day_start: int = 9,
    day_end: int = 18,
    limit: int = 1000,
) -> int:
    """Move every pooled incident whose window closed at or before ``now`` (at most ``limit``):
    to ``queued`` for the district above its street, or with ``auto_dispatch`` to
    ``dispatched`` to that street (``dispatch_mode`` auto, ``dispatched_at`` = ``now``, due time
    from the category's limit in working hours ``day_start``–``day_end`` of ``timezone`` where
    the category counts them). One event each, by :data:`ACTOR`. Returns how many moved.

    An incident being claimed at the same moment is left to the claim (its row is locked and
    skipped), so it moves once, either way.
    """
    rows = q.closed_windows(session, now=now, limit=limit)
    if not rows:
        return 0
    hours = (
        working_hours(session, timezone=timezone, start=day_start, end=day_end)
        if auto_dispatch
        else None
    )
    changes: list[dict[str, Any]] = []
    for r in rows:
        street = r.owner_code or r.street_code
        change: dict[str, Any] = {"key": r.id, "mode": None, "at": None, "due": None}
        if auto_dispatch and street is not None:
            change |= {"status": "dispatched", "owner": street, "mode": "auto", "at": now}
            if r.limit_hours and hours is not None:
                change["due"] = wf.due_at(now, r.limit_hours, r.working_time, hours)
            action, note = "dispatch", f"the pool window closed: dispatched to {street}"
        else:
            district = wf.parent_of(street)
            change |= {"status": "queued", "owner": district}
            action = "pool_close"
            note = f"the pool window closed: queued for {district or 'an administrator'}"
            note += f" to dispatch, to street {street} by default" if street else ""
        changes.append(change)
        events.add_event(
            session,
            incident_id=r.id,
            action=action,
            source=r.status,
            target=change["status"],
            actor=ACTOR,
            note=note,
        )
    q.move(session, changes)
    return len(changes)
