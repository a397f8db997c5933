"""gridmap.services.departments: the departments that answer whistles and hold tokens, and who
may register and change them."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import Conflict, InvalidInput, NotFound
from gridmap.queries import audit
from gridmap.queries import departments as q
from gridmap.services.access import require_role
from gridmap.vocab.codes import DEPARTMENT
from gridmap.vocab.kinds import DEPARTMENT_LEVELS

# A district's command centre keeps the departments of the district and its streets; a
# street's keeps its own.
DEPARTMENT_KEEPERS = ("admin", "district", "street")


def add_department(
    session: Session, *, code: str, name: str, region: str, kind: str | None = None
) -> str:
    """Add a department of the district or street ``region`` (of ``kind``: by default its
    name); returns its level."""
    if not re.fullmatch(DEPARTMENT, code):
        raise InvalidInput(f"a department code is 2–32 letters, digits, - or _; got {code!r}")
    if not name.strip():
        raise InvalidInput("a department needs a name")
    if kind is not None and not kind.strip():
        raise InvalidInput("a department's kind cannot be blank")
    level = q.region_level(session, region)
    if level is None:
        raise InvalidInput(f"no region {region!r}")
    if level not in DEPARTMENT_LEVELS:
        raise InvalidInput(f"a department belongs to a district or a street; {region} is a {level}")
    if not q.add(
        session,
        code=code,
        name=name.strip(),
        level=level,
        region=region,
        kind=kind.strip() if kind else None,
    ):
        raise Conflict(f"department {code} exists already", department=code)
    return level


def list_departments(
    session: Session,
    *,
    region: str | None,
    kind: str | None,
    active: bool | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """A page of departments; their names are no one's personal data, so anyone may read."""
    rows, total = q.list_departments(
        session, region=region, kind=kind, active=active, limit=limit, offset=offset
    )
    return {"departments": rows, "numberMatched": total}


def get_department(session: Session, *, code: str) -> dict[str, Any]:
    """One department, or :class:`NotFound`."""
    row = q.head(session, code=code)
    if row is None:
        raise NotFound(f"no department {code}")
    return row


def create_department(
    session: Session, *, values: dict[str, Any], principal: Principal
) -> dict[str, Any]:
    """Register a department of a region the caller keeps."""
    require_role(principal, "register departments", roles=DEPARTMENT_KEEPERS)
    principal.require("register departments", roles=DEPARTMENT_KEEPERS, place=values["region"])
    add_department(
        session,
        code=values["code"],
        name=values["name"],
        region=values["region"],
        kind=values["kind"],
    )
    row = get_department(session, code=values["code"])
    audit.record(session, principal.actor, "create", "department", row["code"], after=row)
    return row


def update_department(
    session: Session, *, code: str, changes: dict[str, Any], principal: Principal
) -> dict[str, Any]:
    """Change a department's name, kind or whether it is active (an inactive one is no longer
    suggested nor whistled; its tasks and tokens stay)."""
    require_role(principal, "change departments", roles=DEPARTMENT_KEEPERS)
    before = q.head(session, code=code, lock=True)
    if before is None:
        raise NotFound(f"no department {code}")
    principal.require("change departments", roles=DEPARTMENT_KEEPERS, place=before["region_code"])
    q.update(session, code=code, changes=changes)
    after = get_department(session, code=code)
    audit.record(session, principal.actor, "update", "department", code, before=before, after=after)
    return after
