"""gridmap.services.board: whose board it is, which queues it has, when it has changed, and
one step taken on many incidents at once.

A command centre (district, street, administrator) works from the queues of its region; a
department, a community office or a grid worker from the sub-tasks given to it (``mine``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import Forbidden, GridmapError, InvalidInput, NotFound, Unauthorized, status_for
from gridmap.queries import board as q
from gridmap.services import incidents as incidents_svc
from gridmap.services import workflow as wf
from gridmap.services.etags import incident_etag
from gridmap.vocab.kinds import SEVERITIES
from gridmap.vocab.roles import COMMAND_CENTRES
from gridmap.vocab.states import INCIDENT_STATES

# The steps a dispatcher takes on many rows at once (受理, 抢单, 派单).
BULK_STEPS = ("accept", "claim", "dispatch")
# How long an unchanged board may be answered "not modified": time alone moves rows into
# ``overdue`` and counts down what is left, so the tag changes with the minute as well.
FRESH_SECONDS = 60


@dataclass(frozen=True)
class BoardQuery:
    """What the caller asked for: a queue (None: the first of its own), filters, a page."""

    queue: str | None
    chosen: q.BoardFilter
    limit: int
    offset: int


def scope_of(principal: Principal) -> tuple[q.Scope, tuple[str, ...]]:
    """The caller's scope and its queues; 401 without a token, 403 for a role with no board."""
    if not principal.authenticated:
        raise Unauthorized("the board needs a bearer token (Authorization: Bearer …)")
    if principal.role in COMMAND_CENTRES:
        everywhere = principal.role == "admin"
        return q.Scope(region=principal.region, everywhere=everywhere), q.CENTRE_QUEUES
    if principal.role == "department" and principal.department is not None:
        return q.Scope(department=principal.department), q.TASK_QUEUES
    if principal.role == "worker" and principal.grids is not None:
        return q.Scope(grids=principal.grids), q.TASK_QUEUES
    if principal.role == "worker" and principal.region is not None:
        # A grid post's office token: a worker in the one grid it was issued for.
        return q.Scope(grids=frozenset({principal.region})), q.TASK_QUEUES
    if principal.role == "community" and principal.region is not None:
        return q.Scope(community_office=principal.region), q.TASK_QUEUES
    raise Forbidden(
        f"a {principal.role} token has no board: the board is for command centres "
        f"({', '.join(COMMAND_CENTRES)}) and for whoever sub-tasks are given to",
        role=principal.role,
    )


def _check(query: BoardQuery, queues: tuple[str, ...]) -> str:
    if query.queue is not None and query.queue not in queues:
        raise InvalidInput(
            f"queue={query.queue!r} is not one of this token's queues: {', '.join(queues)}",
            parameter="queue",
        )
    chosen = query.chosen
    if chosen.severity is not None and chosen.severity not in SEVERITIES:
        raise InvalidInput(
            f"severity={chosen.severity!r}; severities are {', '.join(SEVERITIES)}",
            parameter="severity",
        )
    if chosen.state is not None and chosen.state not in INCIDENT_STATES:
        raise InvalidInput(
            f"state={chosen.state!r}; states are {', '.join(INCIDENT_STATES)}", parameter="state"
        )
    if chosen.start and chosen.end and chosen.start >= chosen.end:
        raise InvalidInput("from must be before to", parameter="from")
    return query.queue or queues[0]


def etag(session: Session, *, principal: Principal, query: BoardQuery) -> tuple[str, int]:
    """The board's ETag for this caller and query, and the largest change number: any write to
    any incident, another scope, another query or the next minute gives another tag."""
    scope, queues = scope_of(principal)
    queue = _check(query, queues)
    change = q.last_change(session)
    minute = int(datetime.now(UTC).timestamp()) // FRESH_SECONDS
    asked = repr((scope, queue, query.chosen, query.limit, query.offset, minute))
    digest = hashlib.sha256(asked.encode()).hexdigest()[:16]
    return f'"board.{change}.{digest}"', change


def board(
    session: Session, *, principal: Principal, query: BoardQuery, change: int
) -> dict[str, Any]:
    """Every queue's count and the rows of the chosen one."""
    scope, queues = scope_of(principal)
    queue = _check(query, queues)
    counts = q.counts(session, scope=scope, queues=queues, chosen=query.chosen)
    rows = q.rows(
        session,
        scope=scope,
        queue=queue,
        chosen=query.chosen,
        limit=query.limit,
        offset=query.offset,
    )
    return {
        "queue": queue,
        "queues": list(queues),
        "counts": counts,
        "rows": rows,
        "numberMatched": counts[queue],
        "change": change,
    }


def bulk(
    session: Session,
    *,
    step: str,
    items: list[tuple[int, int]],
    fields: dict[str, Any],
    principal: Principal,
    hours: wf.WorkingHours,
    pool_minutes: float,
) -> list[dict[str, Any]]:
    """Take ``step`` on each ``(id, version)`` in a savepoint of its own: a row someone else
    changed meanwhile (412), or one this caller may not act on, is refused alone while the
    others land."""
    if step not in BULK_STEPS:
        raise NotFound(f"no bulk step {step!r}; bulk steps are {', '.join(BULK_STEPS)}", step=step)
    if not principal.authenticated:
        raise Unauthorized("a bulk step needs a bearer token (Authorization: Bearer …)")
    if principal.role not in COMMAND_CENTRES:
        raise Forbidden(
            f"a {principal.role} token may not {step} incidents; command centres "
            f"({', '.join(COMMAND_CENTRES)}) do",
            role=principal.role,
        )
    ids = [incident_id for incident_id, _ in items]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise InvalidInput(
            f"incident {', '.join(map(str, twice))} named twice; name each once",
            field="items",
        )
    results: list[dict[str, Any]] = []
    for incident_id, version in items:
        try:
            with session.begin_nested():
                feature = incidents_svc.act(
                    session,
                    incident_id=incident_id,
                    step=step,
                    principal=principal,
                    body=dict(fields),
                    if_match=incident_etag(incident_id, version),
                    hours=hours,
                    pool_minutes=pool_minutes,
                )
        except GridmapError as exc:
            current = exc.extra.get("version")
            if current is None:
                current = q.version_of(session, incident_id=incident_id)
            results.append(
                {
                    "id": incident_id,
                    "status": status_for(exc),
                    "code": exc.code,
                    "detail": exc.message,
                    "version": current,
                }
            )
            continue
        results.append(
            {
                "id": incident_id,
                "status": 200,
                "code": None,
                "detail": None,
                "version": feature["properties"]["version"],
            }
        )
    return results
