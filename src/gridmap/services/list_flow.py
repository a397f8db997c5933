"""gridmap.services.list_flow: a need, wish or project run by the people it names.

群众点单、支部派单、党员接单: ``open`` → ``assigned`` (a branch or an office assigns it to a Party
member, a resident unit or the grid's team) → ``in_progress`` (a member's token claims it while
open, or takes what was assigned to that member) → ``done`` (a completion report and the hours
served, which add to the member's total) → ``closed``. Each step takes the item's row lock first,
so two steps on one item queue and the second sees the first's result (two members claiming at
once: one has it, the other is told it is taken). Every step writes its audit row; a refusal
writes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import (
    AssigneeOutside,
    Forbidden,
    InvalidInput,
    ListItemTaken,
    ListWrongState,
    NotAMember,
    NotFound,
    Unauthorized,
)
from gridmap.queries import audit
from gridmap.queries import list_flow as flow
from gridmap.queries import lists as q
from gridmap.services.access import require_role
from gridmap.services.lists import get_item, record_of
from gridmap.vocab.roles import LIST_ASSIGNERS

# The lists whose items run the flow (resources are offered, not done).
FLOWING = ("need", "project")


def _locked(session: Session, item_id: int) -> Any:
    row = q.head(session, item_id=item_id, lock=True)
    if row is None:
        raise NotFound(f"no list item {item_id}")
    return row


def _flowing(row: Any) -> None:
    if row.list not in FLOWING:
        raise InvalidInput(
            f"item {row.code} is a {row.list}: only needs, wishes and projects are assigned, "
            "claimed and completed"
        )


def _wrong_state(row: Any, step: str, allowed: tuple[str, ...]) -> ListWrongState:
    return ListWrongState(
        f"item {row.code} is {row.status}; {step} needs it {' or '.join(allowed)}",
        status=row.status,
    )


def _step(
    session: Session,
    principal: Principal,
    row: Any,
    action: str,
    values: dict[str, Any],
    note: str | None = None,
) -> dict[str, Any]:
    """Write a step and its audit row; the item as the caller sees it."""
    before = record_of(session, item_id=row.id)
    q.set_flow(session, item_id=row.id, values=values)
    after = record_of(session, item_id=row.id)
    if note:
        after = {**after, "note": note}
    audit.record(
        session, principal.actor, action, "list_item", row.code, before=before, after=after
    )
    return get_item(session, item_id=row.id, principal=principal)


def member_communities(member: Any) -> set[str]:
    """The communities a member serves in: their organisation's and the one they registered
    with (双报到)."""
    return {c for c in (member.org_community, member.registered_community) if c}


def assign(
    session: Session,
    *,
    item_id: int,
    member_id: int | None,
    unit_id: int | None,
    team: bool,
    note: str | None,
    principal: Principal,
) -> dict[str, Any]:
    """支部派单: give an open (or already assigned) need, wish or project to a member serving in
    its community, a resident unit of its community, or its grid's team."""
    require_role(principal, "assign list items", roles=LIST_ASSIGNERS)
    row = _locked(session, item_id)
    principal.require("assign list items", roles=LIST_ASSIGNERS, place=row.grid_code)
    _flowing(row)
    if row.status not in ("open", "assigned"):
        raise _wrong_state(row, "assigning", ("open", "assigned"))
    community = row.community_code
    values: dict[str, Any] = {
        "status": "assigned",
        "member_id": None,
        "unit_id": None,
        "assigned_by": principal.actor,
        "assigned_at": q.NOW,
    }
    if member_id is not None:
        member = flow.member(session, member_id=member_id)
        if member is None or community not in member_communities(member):
            raise AssigneeOutside(
                f"member {member_id} is no Party member serving in community {community} (a "
                "member of one of its organisations, or registered with it)",
                member_id=member_id,
            )
        values.update(assignee_kind="member", member_id=member_id)
    elif unit_id is not None:
        if community is None or flow.unit_community(session, unit_id=unit_id) != community:
            raise AssigneeOutside(
                f"resident unit {unit_id} is no unit of community {community}", unit_id=unit_id
            )
        values.update(assignee_kind="unit", unit_id=unit_id)
    elif team:
        if row.grid_code is None or flow.team_size(session, grid=row.grid_code) == 0:
            raise AssigneeOutside(f"grid {row.grid_code} has no team to assign item {row.code} to")
        values.update(assignee_kind="team")
    return _step(session, principal, row, "assign", values, note)


def _member_token(principal: Principal, what: str) -> int:
    if not principal.authenticated:
        raise Unauthorized(f"{what} needs a bearer token (Authorization: Bearer …)")
    if principal.member_id is None:
        raise NotAMember(
            f"only a Party member's token may {what} (党员接单); "
            f"this token is a {principal.role}'s",
            role=principal.role,
        )
    return principal.member_id


def claim(session: Session, *, item_id: int, principal: Principal) -> dict[str, Any]:
    """党员接单: a member's token takes an open need, wish or project of a community the member
    serves in, or one assigned to that member; it is then in progress, theirs."""
    me = _member_token(principal, "claim list items")
    row = _locked(session, item_id)
    _flowing(row)
    member = flow.member(session, member_id=me)
    if member is None:
        raise NotAMember("this token's person is no longer a Party member")
    if row.community_code not in member_communities(member):
        raise NotAMember(
            f"item {row.code} lies in community {row.community_code}, where this member does "
            "not serve (their organisation's or registered community)",
            community=row.community_code,
        )
    if row.status == "in_progress" and row.member_id == me:
        return get_item(session, item_id=item_id, principal=principal)
    if row.status == "in_progress" or (
        row.status == "assigned" and not (row.assignee_kind == "member" and row.member_id == me)
    ):
        raise ListItemTaken(
            f"item {row.code} is taken: {row.status}"
            + (" to another" if row.status == "assigned" else " by another member"),
            status=row.status,
        )
    if row.status not in ("open", "assigned"):
        raise _wrong_state(row, "claiming", ("open", "assigned to you"))
    values = {
        "status": "in_progress",
        "member_id": me,
        "taken_by": principal.actor,
        "taken_at": q.NOW,
    }
    return _step(session, principal, row, "claim", values)


def complete(
    session: Session, *, item_id: int, report: str, hours: float, principal: Principal
) -> dict[str, Any]:
    """Report a need, wish or project done: by the member who took it, or by a branch or an
    office of its grid on their behalf (or on a unit's or the team's, for what was assigned to
    them). The hours add to the member's total, with an audit row of their own."""
    if not principal.authenticated:
        raise Unauthorized("completing list items needs a bearer token (Authorization: Bearer …)")
    row = _locked(session, item_id)
    mine = principal.member_id is not None and row.member_id == principal.member_id
    if not mine:
        if principal.member_id is not None and principal.role not in LIST_ASSIGNERS:
            raise Forbidden(
                f"item {row.code} was not taken by this member: a member completes only what "
                "they took",
                role=principal.role,
            )
        principal.require("complete list items", roles=LIST_ASSIGNERS, place=row.grid_code)
    _flowing(row)
    by_others = row.status == "assigned" and row.assignee_kind in ("unit", "team") and not mine
    if row.status != "in_progress" and not by_others:
        raise _wrong_state(row, "completing", ("in_progress",))
    values = {"status": "done", "done_at": q.NOW, "report": report, "hours": round(hours, 1)}
    feature = _step(session, principal, row, "complete", values)
    if row.member_id is not None and hours > 0:
        before, after = flow.add_hours(session, member_id=row.member_id, hours=round(hours, 1))
        audit.record(
            session,
            principal.actor,
            "hours",
            "party_member",
            str(row.member_id),
            before={"hours_served": before},
            after={"hours_served": after, "list_item": row.code, "hours": round(hours, 1)},
        )
    return feature


def close(
    session: Session, *, item_id: int, note: str | None, principal: Principal
) -> dict[str, Any]:
    """Close a need, wish or project: done (checked and closed), or withdrawn while open or
    assigned; by a branch or an office of its grid. One in progress is finished first."""
    require_role(principal, "close list items", roles=LIST_ASSIGNERS)
    row = _locked(session, item_id)
    principal.require("close list items", roles=LIST_ASSIGNERS, place=row.grid_code)
    _flowing(row)
    if row.status not in ("open", "assigned", "done"):
        raise _wrong_state(row, "closing", ("done", "open", "assigned"))
    return _step(session, principal, row, "close", {"status": "closed"}, note)
