"""gridmap.services.teams: who may change a grid's team (网格团队), and what each change writes.

A team is the posts of a grid (``grid_staff``): 网格长, 专职网格员, 网格指导员,
网格警务员, 网格调解员, 网格安全员, and the members of N: teams (党员先锋队, 志愿服务队,
named by ``team``). The offices covering a grid (``ORG_EDITORS``) add, change, move and retire
its posts; a move needs both grids covered. Each change lands with its audit row (a retired
post's row keeps it). Names and phones are shown to the organisation's readers of the grid
(``ORG_READERS``), null and ``masked`` to anyone else.

A grid leader's or worker's token acts in the grids of their posts: callers of these functions
tell the in-memory grids (and with them the token cache) that staff changed.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import (
    GridNotFound,
    InvalidInput,
    StaffExists,
    StaffNotFound,
    StaffPersonUnknown,
    StaffTeamRole,
)
from gridmap.queries import audit
from gridmap.queries import teams as q
from gridmap.services.access import require_role
from gridmap.services.org import may_name
from gridmap.vocab.roles import ORG_EDITORS, ORG_READERS

# The roles whose holders belong to an N: team (``grid_staff.team`` names it).
TEAM_ROLES = ("vanguard", "volunteer")
# A term may be recorded from this day on, and at most a year ahead.
EARLIEST_TERM = date(1990, 1, 1)


def sees_team(principal: Principal, grid_code: str) -> bool:
    """Whether ``principal`` sees the names and phones of ``grid_code``'s team."""
    return principal.role in ORG_READERS and principal.covers(grid_code)


def post_answer(post: Any, shown: bool) -> dict[str, Any]:
    """A post as answered: the person's id, name and phone null unless ``shown``."""
    return {
        "id": int(post.id),
        "grid_code": post.grid_code,
        "role": post.role,
        "team": post.team,
        "since": post.since.isoformat() if post.since else None,
        "person_id": int(post.person_id) if shown else None,
        "name": post.name if shown else None,
        "phone": post.phone if shown else None,
        "masked": not shown,
    }


def _grid(session: Session, code: str) -> Any:
    grid = q.current_grid(session, code)
    if grid is None:
        raise GridNotFound(f"no current grid {code}", grid=code)
    return grid


def read_team(session: Session, *, code: str, principal: Principal) -> dict[str, Any]:
    """A current grid and its team, leader first, masked unless the caller may see it."""
    grid = _grid(session, code)
    shown = sees_team(principal, code)
    return {
        "grid": {
            "code": grid.code,
            "name": grid.name,
            "kind": grid.kind,
            "community_code": grid.community_code,
        },
        "team": [post_answer(p, shown) for p in q.team(session, code)],
    }


def _check_term(role: str, team: str | None, since: date | None) -> None:
    if team is not None and role not in TEAM_ROLES:
        raise StaffTeamRole(
            f"only {' and '.join(TEAM_ROLES)} posts belong to an N: team; a {role} has none",
            role=role,
        )
    if since is not None and not EARLIEST_TERM <= since <= date.today() + timedelta(days=366):
        raise InvalidInput(
            f"since={since.isoformat()}: a term begins between {EARLIEST_TERM.isoformat()} and "
            "a year from today",
            parameter="since",
        )


def add_post(
    session: Session,
    *,
    code: str,
    person_id: int | None,
    person: dict[str, Any] | None,
    role: str,
    team: str | None,
    since: date | None,
    principal: Principal,
) -> dict[str, Any]:
    """Give a person (by id, or a new one by name and phone) a post in grid ``code``."""
    what = "change grid teams"
    require_role(principal, what, roles=ORG_EDITORS)
    principal.require(what, roles=ORG_EDITORS, place=code)
    _grid(session, code)
    _check_term(role, team, since)
    if person_id is not None:
        if not q.person_exists(session, person_id):
            raise StaffPersonUnknown(f"no person {person_id}", person_id=person_id)
        may_name(session, principal, person_id, "person_id")
    else:
        assert person is not None
        person_id = q.person_for(session, name=person["name"].strip(), phone=person.get("phone"))
    staff_id = q.add_post(
        session, grid_code=code, role=role, person_id=person_id, team=team, since=since
    )
    if staff_id is None:
        raise StaffExists(
            f"person {person_id} already holds the post {role} in grid {code}",
            grid=code,
            role=role,
        )
    made = q.post(session, staff_id)
    audit.record(
        session, principal.actor, "create", "grid_staff", str(staff_id), after=q.as_row(made)
    )
    return post_answer(made, True)


def _locked(session: Session, staff_id: int, principal: Principal, what: str) -> Any:
    """The post, locked, once the caller may change its grid's team."""
    require_role(principal, what, roles=ORG_EDITORS)
    post = q.post(session, staff_id, lock=True)
    if post is None:
        raise StaffNotFound(f"no grid staff post {staff_id}", staff_id=staff_id)
    principal.require(what, roles=ORG_EDITORS, place=post.grid_code)
    return post


def _write(
    session: Session, post: Any, values: dict[str, Any], principal: Principal, action: str
) -> dict[str, Any]:
    """Change ``post`` to ``values`` (refused when the person would hold a role of a grid
    twice), with its audit row; the post as it is now."""
    grid_code = values.get("grid_code", post.grid_code)
    role = values.get("role", post.role)
    clash = StaffExists(
        f"person {post.person_id} already holds the post {role} in grid {grid_code}",
        grid=grid_code,
        role=role,
    )
    if q.holds(
        session, grid_code=grid_code, role=role, person_id=post.person_id, other_than=post.id
    ):
        raise clash
    if not q.change_post(session, post.id, values):
        raise clash
    after = q.post(session, post.id)
    audit.record(
        session,
        principal.actor,
        action,
        "grid_staff",
        str(post.id),
        before=q.as_row(post),
        after=q.as_row(after),
    )
    return post_answer(after, True)


def change_post(
    session: Session, *, staff_id: int, patch: dict[str, Any], principal: Principal
) -> dict[str, Any]:
    """Change a post's role, N: team or term start (the fields in ``patch``)."""
    post = _locked(session, staff_id, principal, "change grid teams")
    role = patch.get("role") or post.role
    team = patch["team"] if "team" in patch else post.team
    if "role" in patch and patch["role"] is None:
        raise InvalidInput("a post needs a role; retire it instead", parameter="role")
    if "team" not in patch and role not in TEAM_ROLES:
        team = None  # a vanguard or volunteer who takes another role leaves the N: team
    since = patch["since"] if "since" in patch else post.since
    _check_term(role, team, since)
    return _write(session, post, {"role": role, "team": team, "since": since}, principal, "update")


def move_post(
    session: Session, *, staff_id: int, grid_code: str, principal: Principal
) -> dict[str, Any]:
    """Move a post to another current grid; the caller must cover both."""
    what = "move grid staff"
    post = _locked(session, staff_id, principal, what)
    principal.require(what, roles=ORG_EDITORS, place=grid_code)
    _grid(session, grid_code)
    if grid_code == post.grid_code:
        return post_answer(post, True)
    return _write(session, post, {"grid_code": grid_code}, principal, "move")


def retire_post(session: Session, *, staff_id: int, principal: Principal) -> dict[str, Any]:
    """Give up a post: the row goes, its audit row keeps what it was."""
    post = _locked(session, staff_id, principal, "change grid teams")
    q.delete_post(session, post.id)
    audit.record(
        session, principal.actor, "retire", "grid_staff", str(post.id), before=q.as_row(post)
    )
    return {"id": int(post.id), "grid_code": post.grid_code, "role": post.role, "retired": True}
