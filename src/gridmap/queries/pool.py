"""gridmap.queries.pool: the SQL of the street pool's window (抢单): incidents whose window has
closed, and their move to the district's queue or straight to the street."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from gridmap.models import Incident, IncidentCategory

_i = cast(Table, Incident.__table__)
_c = cast(Table, IncidentCategory.__table__)


def closed_windows(session: Session, *, now: datetime, limit: int) -> list[Any]:
    """Pooled incidents whose window closed at or before ``now``, oldest window first, locked,
    with their street and category limit (at most ``limit``).

    Rows another transaction holds (a street claiming one right now, another server's window
    job) are skipped, not waited for: this run leaves them, the next one sees what they became.
    """
    return list(
        session.execute(
            select(
                _i.c.id,
                _i.c.status,
                _i.c.owner_code,
                _i.c.street_code,
                _i.c.pool_until,
                _c.c.limit_hours,
                _c.c.working_time,
            )
            .select_from(_i.outerjoin(_c, _c.c.code == _i.c.category))
            .where(_i.c.status == "pooled", _i.c.pool_until <= now)
            .order_by(_i.c.pool_until, _i.c.id)
            .limit(limit)
            .with_for_update(of=_i, skip_locked=True)
        ).all()
    )


def move(session: Session, changes: list[dict[str, Any]]) -> None:
    """Write each incident ``key``'s new ``status``, ``owner``, ``mode``, ``at`` (dispatched)
    and ``due`` (None: as it was), with its next version."""
    if changes:
        session.execute(
            update(_i)
            .where(_i.c.id == bindparam("key"))
            .values(
                status=bindparam("status"),
                owner_code=bindparam("owner"),
                dispatch_mode=func.coalesce(bindparam("mode"), _i.c.dispatch_mode),
                dispatched_at=func.coalesce(bindparam("at"), _i.c.dispatched_at),
                due_at=func.coalesce(bindparam("due"), _i.c.due_at),
                version=_i.c.version + 1,
            ),
            changes,
        )
