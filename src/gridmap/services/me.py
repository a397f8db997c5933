"""gridmap.services.me: who a signed-in caller is, with the names of where they act."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import Unauthorized
from gridmap.queries import org as org_queries
from gridmap.queries import tokens as q
from gridmap.vocab.codes import GRID_DIGITS
from gridmap.vocab.roles import COMMAND_CENTRES, GRID_EDITORS


def whoami(session: Session, *, principal: Principal) -> dict[str, Any]:
    """The holder, role, region (with its name), served grids and expiry of the caller's token;
    :class:`Unauthorized` for a caller who sent none."""
    if not principal.authenticated or principal.token_id is None:
        raise Unauthorized("no token was sent: sign in with 'Authorization: Bearer <token>'")
    answer: dict[str, Any] = {
        "holder": principal.holder,
        "name": principal.name,
        "role": principal.role,
        "region": principal.region,
        "department": principal.department,
        "org_id": principal.org_id,
        "member_id": principal.member_id,
        "edits_grids": principal.role in GRID_EDITORS,
        "dispatches": principal.role in COMMAND_CENTRES,
        "acts_on": _acts_on(principal),
        "expires_at": q.expires_at(session, token_id=principal.token_id),
    }
    if principal.region is not None:
        answer.update(_place(session, principal.region))
    if principal.department is not None:
        answer["department_name"] = q.department_name(session, code=principal.department)
    if principal.grids is not None:
        names = q.grid_names(session, codes=principal.grids)
        answer["grids"] = [{"code": c, "name": names.get(c)} for c in sorted(principal.grids)]
    if principal.org_id is not None:
        answer["org"] = _org(session, principal.org_id)
    if principal.member_id is not None:
        answer["member"] = _member(session, principal.member_id)
    return answer


def _org(session: Session, org_id: int | None) -> dict[str, Any] | None:
    """An organisation's id, code, kind, name and community."""
    row = org_queries.head(session, org_id=org_id) if org_id is not None else None
    if row is None:
        return None
    keys = ("id", "code", "kind", "name", "community_code")
    return {k: getattr(row, k) for k in keys}


def _member(session: Session, member_id: int) -> dict[str, Any] | None:
    """A member's own name, organisation and registration (双报到): a member's token sees its
    own name, nobody else's."""
    rows = org_queries.members(session, ids=[member_id])
    if not rows:
        return None
    m = rows[0]
    registered = m["registered_community"]
    named = org_queries.region_name(session, code=registered) if registered else None
    return {
        "id": m["id"],
        "name": m["name"],
        "org": _org(session, m["org_id"]),
        "in_service": m["in_service"],
        "registered_community": registered,
        "registered_community_name": named[0] if named else None,
        "hours_served": m["hours_served"],
    }


def _place(session: Session, code: str) -> dict[str, Any]:
    """The name and level of a token's region code (a region, or a grid for a viewer)."""
    if len(code) in GRID_DIGITS:
        name = q.grid_names(session, codes=[code]).get(code)
        return {"region_name": name, "region_level": "grid"}
    found = q.region_named(session, code=code)
    if found is None:
        return {"region_name": None, "region_level": None}
    return {"region_name": found[0], "region_level": found[1]}


def _acts_on(principal: Principal) -> str:
    """Where a token acts: a department's only on the sub-tasks whistled to it."""
    if principal.role == "admin":
        return "everywhere"
    if principal.role == "department":
        return "tasks"
    return "grids" if principal.grids is not None else "region"
