"""gridmap.queries.audit: the audit log — who changed what, when, the row before and after."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    key: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Append one entry, in the caller's transaction (so it lands exactly when the change does)."""
    session.execute(
        text(
            "INSERT INTO audit_log (at, actor, action, entity, entity_key, before, after) "
            "VALUES (clock_timestamp(), :actor, :action, :entity, :key, "
            "CAST(:before AS jsonb), CAST(:after AS jsonb))"
        ),
        {
            "actor": actor,
            "action": action,
            "entity": entity,
            "key": key,
            "before": None if before is None else json.dumps(before, default=str),
            "after": None if after is None else json.dumps(after, default=str),
        },
    )


def entries(
    session: Session, *, entity: str, key: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest entries about an entity (and key), newest first."""
    return [
        dict(r._mapping)
        for r in session.execute(
            text(
                "SELECT id, at, actor, action, entity, entity_key, before, after FROM audit_log "
                "WHERE entity = :entity AND (CAST(:key AS text) IS NULL OR entity_key = :key) "
                "ORDER BY id DESC LIMIT :limit"
            ),
            {"entity": entity, "key": key, "limit": limit},
        )
    ]
