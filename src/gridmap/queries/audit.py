"""gridmap.queries.audit: the audit log — who changed what, when, the row before and after."""

from __future__ import annotations

import json
from typing import Any
from typing import cast as cast_type

from sqlalchemy import Table, Text, cast, func, insert, literal, null, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from gridmap.models import AuditLog

_log = cast_type(Table, AuditLog.__table__)


def _jsonb(value: dict[str, Any] | None) -> Any:
    # Serialised here (dates and decimals as strings), as the log has always kept them.
    if value is None:
        return null()  # SQL NULL; None would be stored as JSON 'null'
    return cast(literal(json.dumps(value, default=str), Text), JSONB)


def record(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    key: str | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append one entry: ``actor`` took ``action`` on ``entity`` ``key`` (``before`` and
    ``after`` the row, None where it did not or no longer exists), in the caller's transaction
    (so it lands exactly when the change does)."""
    session.execute(
        insert(_log).values(
            at=func.clock_timestamp(),
            actor=actor,
            action=action,
            entity=entity,
            entity_key=key,
            before=_jsonb(before),
            after=_jsonb(after),
        )
    )


def entries(
    session: Session, *, entity: str, key: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest entries about an entity (and key), newest first."""
    where = [_log.c.entity == entity]
    if key is not None:
        where.append(_log.c.entity_key == key)
    return [
        dict(r._mapping)
        for r in session.execute(select(_log).where(*where).order_by(_log.c.id.desc()).limit(limit))
    ]
