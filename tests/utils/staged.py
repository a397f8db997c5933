"""Incidents and sub-tasks put straight into a state of the flow by SQL, for tests of what
follows a state (approvals, the pool window) without taking every step before it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import STREET, WEST_GRID

CATEGORY = "市容环境/暴露垃圾"  # 24 h, counted in calendar time
WEST_POINT = (116.342, 40.005)


def staged_incident(
    db: Session,
    *,
    status: str = "handling",
    owner: str | None = STREET,
    due_at: datetime | None = None,
    dispatched_at: datetime | None = None,
    pool_until: datetime | None = None,
    category: str = CATEGORY,
    grid: str = WEST_GRID,
) -> int:
    """An incident in ``grid`` (its community and street from the code), in ``status``."""
    incident_id = db.execute(
        text(
            "INSERT INTO incident (category, grid_code, community_code, street_code, status, "
            "owner_code, due_at, dispatched_at, pool_until, geom) "
            "VALUES (:cat, :g, :c, :s, :st, :o, :due, :d, :p, "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) RETURNING id"
        ),
        {
            "cat": category,
            "g": grid,
            "c": grid[:12],
            "s": grid[:9],
            "st": status,
            "o": owner,
            "due": due_at,
            "d": dispatched_at,
            "p": pool_until,
            "lon": WEST_POINT[0],
            "lat": WEST_POINT[1],
        },
    ).scalar_one()
    db.execute(
        text(
            "INSERT INTO incident_event (incident_id, seq, action, from_status, to_status, actor) "
            "VALUES (:i, 1, 'report', NULL, 'reported', 'test')"
        ),
        {"i": incident_id},
    )
    db.flush()
    return int(incident_id)


def staged_task(
    db: Session,
    incident_id: int,
    *,
    assignee_kind: str = "grid",
    code: str = WEST_GRID,
    name: str = "西网格",
    state: str = "working",
    due_at: datetime | None = None,
) -> int:
    """A sub-task of an incident: 分单 to a grid or community, 联单 to a department."""
    kind = "whistle" if assignee_kind == "department" else "split"
    task_id = db.execute(
        text(
            "INSERT INTO incident_task (incident_id, kind, assignee_kind, assignee_code, "
            "assignee_name, state, due_at) VALUES (:i, :k, :ak, :c, :n, :s, :due) RETURNING id"
        ),
        {
            "i": incident_id,
            "k": kind,
            "ak": assignee_kind,
            "c": code,
            "n": name,
            "s": state,
            "due": due_at,
        },
    ).scalar_one()
    db.flush()
    return int(task_id)


def version(db: Session, incident_id: int) -> int:
    """The incident's version now."""
    return int(
        db.execute(
            text("SELECT version FROM incident WHERE id = :i"), {"i": incident_id}
        ).scalar_one()
    )


def if_match(db: Session, incident_id: int) -> dict[str, str]:
    """An ``If-Match`` header with the incident's current ETag."""
    return {"If-Match": f'"{incident_id}.v{version(db, incident_id)}"'}
