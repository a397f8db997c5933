"""gridmap.services.etags: the version of an incident as an ETag, and the If-Match check of every
step that changes one (taken with the incident locked)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gridmap.errors import NotFound, PreconditionFailed, PreconditionRequired
from gridmap.queries import incidents as q


def incident_etag(incident_id: int, version: int) -> str:
    """The ETag of one version of an incident.

    Examples
    --------
    >>> incident_etag(42, 3)
    '"42.v3"'
    """
    return f'"{incident_id}.v{version}"'


def check_incident(if_match: str | None, *, incident_id: int, version: int) -> None:
    """Raise unless ``If-Match`` names the incident's current version: 428 when it is missing
    (or ``*``, which would let a step act on a state its sender never saw), 412 when stale."""
    current = incident_etag(incident_id, version)
    tags = [t.strip() for t in (if_match or "").split(",") if t.strip()]
    if not tags or "*" in tags:
        raise PreconditionRequired(
            f"a step on incident {incident_id} needs an If-Match header with the incident's "
            f"ETag ({current}; GET the incident first), so that a step someone else took "
            "meanwhile is not acted on blind",
            etag=current,
        )
    # W/ is accepted: the version names the state, whichever comparison the client used.
    if current in (t.removeprefix("W/") for t in tags):
        return
    raise PreconditionFailed(
        f"incident {incident_id} has changed since you read it: it is now at {current}, you "
        f"sent {(if_match or '').strip()[:80]}; reload it and decide again",
        etag=current,
        version=version,
    )


def lock_incident(session: Session, *, incident_id: int, if_match: str | None) -> Any:
    """The incident locked for a step (:func:`gridmap.queries.incidents.lock_for_action`), once
    ``If-Match`` names its version: 404 when there is no such incident, then 428/412 as
    :func:`check_incident`. Checked under the lock, so no other step can change it meanwhile."""
    row = q.lock_for_action(session, incident_id=incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}", incident=incident_id)
    check_incident(if_match, incident_id=incident_id, version=row.version)
    return row
