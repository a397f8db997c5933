"""gridmap.services.reassign: what a redraw left behind, and putting it right in one go.

A merge, split or delete retires grid codes; the posts of a retired grid stay on its code until
someone moves them, and a designated household whose building a redraw put in another grid may
end up outside its group's branch grids. For a grid code this lists both with suggested targets
(for a post, the current grids covering most of the old grid's area; for a household, the group
holding its building under the branch of its grid, none when there is no such group) and applies
a set of reassignments all together or not at all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import (
    GridNotFound,
    HouseholdOutsideGroup,
    InvalidInput,
    NotFound,
    ReassignNotPending,
    StaffExists,
    StaffNotFound,
)
from gridmap.queries import audit
from gridmap.queries import org_checks as checks
from gridmap.queries import teams as q
from gridmap.services.access import require_role
from gridmap.services.teams import post_answer, sees_team
from gridmap.vocab.roles import ORG_EDITORS


def _household(row: Any, target: Any, names: dict[int, str]) -> dict[str, Any]:
    suggested = None
    branch = None
    if target is not None:
        group = target.own_group
        if group is not None:
            suggested = {"id": int(group), "name": names.get(int(group), "")}
        if target.branch_id is not None:
            branch = {"id": int(target.branch_id), "name": target.branch_name}
    return {
        "id": int(row.id),
        "building_id": int(row.building_id),
        "address": row.address,
        "unit": row.unit,
        "room": row.room,
        "grid_code": row.grid_code,
        "group_id": int(row.group_id),
        "group_name": row.group_name,
        "suggested": suggested,
        "branch": branch,
    }


def pending(session: Session, *, code: str, principal: Principal) -> dict[str, Any]:
    """What to reassign at grid ``code``: the posts left on it if it was retired, the designated
    households astray in it if it is current; each with a suggested target."""
    current = q.current_grid(session, code) is not None
    posts = [] if current else q.orphan_posts(session, code)
    if not current and not posts and not q.ever_existed(session, code):
        raise GridNotFound(f"no grid {code}", grid=code)
    shown = sees_team(principal, code)
    suggested = q.suggested_grids(session, code) if posts else []
    staff = [{**post_answer(p, shown), "suggested": suggested} for p in posts]
    households: list[dict[str, Any]] = []
    if current:
        rows = checks.astray_in_grid(session, grid_code=code)
        found = checks.targets(session, [int(r.id) for r in rows])
        groups = [int(t.own_group) for t in found.values() if t.own_group is not None]
        names = checks.names(session, groups)
        households = [_household(r, found.get(int(r.id)), names) for r in rows]
    return {"grid_code": code, "current": current, "staff": staff, "households": households}


def _no_repeats(ids: list[int], what: str) -> None:
    if len(set(ids)) != len(ids):
        raise InvalidInput(f"a {what} is listed twice")


def apply(
    session: Session,
    *,
    code: str,
    staff: list[tuple[int, str]],
    households: list[tuple[int, int]],
    principal: Principal,
) -> dict[str, Any]:
    """Move each post ``(id, grid_code)`` left on retired grid ``code`` to its current grid and
    put each designated household ``(id, group_id)`` astray in grid ``code`` in its group; every
    one is checked before any is written."""
    what = "reassign grid staff and designated households"
    require_role(principal, what, roles=ORG_EDITORS)
    principal.require(what, roles=ORG_EDITORS, place=code)
    _no_repeats([s for s, _g in staff], "post")
    _no_repeats([h for h, _g in households], "household")
    posts = q.posts_locked(session, [s for s, _g in staff]) if staff else {}
    current = q.current_grid(session, code) is not None
    targets = q.code_of_current(session, sorted({g for _s, g in staff})) if staff else {}
    taken: set[tuple[str, str, int]] = set()
    for staff_id, target in staff:
        post = posts.get(staff_id)
        if post is None:
            raise StaffNotFound(f"no grid staff post {staff_id}", staff_id=staff_id)
        if post.grid_code != code or current:
            raise ReassignNotPending(
                f"post {staff_id} is on grid {post.grid_code}, not left on retired grid {code}",
                staff_id=staff_id,
            )
        principal.require(what, roles=ORG_EDITORS, place=target)
        if target not in targets:
            raise GridNotFound(f"no current grid {target}", grid=target)
        key = (target, post.role, int(post.person_id))
        if key in taken or q.holds(
            session, grid_code=target, role=post.role, person_id=post.person_id, other_than=post.id
        ):
            raise StaffExists(
                f"person {post.person_id} already holds the post {post.role} in grid {target}",
                grid=target,
                role=post.role,
            )
        taken.add(key)
    astray = {int(r.id): r for r in checks.astray_in_grid(session, grid_code=code)}
    locked = checks.lock_households(session, [h for h, _g in households]) if households else {}
    for household_id, group_id in households:
        if household_id not in locked:
            raise NotFound(f"no household {household_id}", household_id=household_id)
        row = astray.get(household_id)
        if row is None:
            raise ReassignNotPending(
                f"household {household_id} is not a designated household astray in grid {code}",
                household_id=household_id,
            )
        group = checks.group_fit(
            session, group_id=group_id, grid_code=row.grid_code, building_id=row.building_id
        )
        if group is None or group.kind != "group":
            raise InvalidInput(f"no Party group {group_id}", group_id=group_id)
        principal.require(what, roles=ORG_EDITORS, place=group.community_code)
        if not group.fits:
            raise HouseholdOutsideGroup(
                f"group {group_id}'s branch is not set up in grid {row.grid_code}, where "
                f"household {household_id}'s building lies",
                household_id=household_id,
                group_id=group_id,
            )
        if not group.holds:
            raise HouseholdOutsideGroup(
                f"household {household_id}'s building is not one of group {group_id}'s buildings",
                household_id=household_id,
                group_id=group_id,
                building_id=int(row.building_id),
            )
    moved = []
    for staff_id, target in staff:
        post = posts[staff_id]
        if not q.change_post(session, staff_id, {"grid_code": target}):
            raise StaffExists(
                f"person {post.person_id} already holds the post {post.role} in grid {target}",
                grid=target,
                role=post.role,
            )
        after = q.post(session, staff_id)
        audit.record(
            session,
            principal.actor,
            "reassign",
            "grid_staff",
            str(staff_id),
            before=q.as_row(post),
            after=q.as_row(after),
        )
        moved.append(post_answer(after, True))
    placed = []
    for household_id, group_id in households:
        before = locked[household_id].group_id
        checks.set_group(session, household_id=household_id, group_id=group_id)
        audit.record(
            session,
            principal.actor,
            "reassign",
            "household",
            str(household_id),
            before={"group_id": before},
            after={"group_id": group_id},
        )
        placed.append({"id": household_id, "group_id": group_id})
    return {"grid_code": code, "staff": moved, "households": placed}
