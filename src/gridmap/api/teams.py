"""gridmap.api.teams: a grid's team (网格团队) — read, add, change, move, retire — and what a redraw
left to reassign."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from sqlalchemy import event
from sqlalchemy.orm import Session

from gridmap.dependencies import PrincipalDep, RowId, SessionDep, TokenDep, grids_changed
from gridmap.responses import documented
from gridmap.schemas.teams import (
    ReassignDone,
    ReassignIn,
    ReassignPublic,
    StaffIn,
    StaffMove,
    StaffPatch,
    StaffPublic,
    StaffRetired,
    TeamPublic,
)
from gridmap.services import reassign
from gridmap.services import teams as service
from gridmap.vocab import codes

grid_router = APIRouter(prefix="/grids", tags=["teams"])
staff_router = APIRouter(prefix="/grid-staff", tags=["teams"])

CodePath = Annotated[str, Path(pattern=codes.GRID, description="grid code")]


def staff_changed(request: Request, session: Session) -> None:
    """A leader's or worker's grids changed: tell this server's in-memory grids (and with them
    the token cache) now, and again once the change commits, so a request that read the posts
    before the commit is not kept."""
    grids_changed(request)
    event.listen(session, "after_commit", lambda _s: grids_changed(request), once=True)


@grid_router.get("/{code}/team", **documented(TeamPublic, 404), summary="A grid's team")
def get_team(session: SessionDep, principal: PrincipalDep, code: CodePath) -> dict[str, Any]:
    """The grid's posts, leader first, each with its N: team and term start; names, phones and
    person ids only for the organisation's readers of the grid (its staff and offices, and its
    Party branch)."""
    return service.read_team(session, code=code, principal=principal)


@grid_router.post(
    "/{code}/team",
    status_code=201,
    **documented(StaffPublic, 404, 409, status=201),
    summary="Add a post to a grid's team",
)
def add_post(
    request: Request, session: SessionDep, principal: TokenDep, code: CodePath, body: StaffIn
) -> dict[str, Any]:
    """Give a person a post in the grid: an existing person by ``person_id``, or a new one by
    ``person: {name, phone}`` (the same name and phone name the same person). The same person
    in the same role of a grid twice is refused (409 ``staff_exists``). Offices covering the
    grid only."""
    answer = service.add_post(
        session,
        code=code,
        person_id=body.person_id,
        person=body.person.model_dump() if body.person is not None else None,
        role=body.role,
        team=body.team,
        since=body.since,
        principal=principal,
    )
    staff_changed(request, session)
    return answer


@grid_router.get(
    "/{code}/reassign",
    **documented(ReassignPublic, 404),
    summary="What a redraw left to reassign",
)
def get_reassign(session: SessionDep, principal: PrincipalDep, code: CodePath) -> dict[str, Any]:
    """For a retired grid code, its posts still on it with the current grids covering most of
    its old area; for a current grid, the designated households in it whose group's branch no
    longer holds it, each with a group that can take it (or the branch to make one under)."""
    return reassign.pending(session, code=code, principal=principal)


@grid_router.post(
    "/{code}/reassign",
    **documented(ReassignDone, 404, 409),
    summary="Reassign posts and designated households after a redraw",
)
def post_reassign(
    request: Request, session: SessionDep, principal: TokenDep, code: CodePath, body: ReassignIn
) -> dict[str, Any]:
    """Move each post to its grid and put each designated household in its group: all of them
    or, when any is refused, none."""
    answer = reassign.apply(
        session,
        code=code,
        staff=[(s.id, s.grid_code) for s in body.staff],
        households=[(h.id, h.group_id) for h in body.households],
        principal=principal,
    )
    if answer["staff"]:
        staff_changed(request, session)
    return answer


@staff_router.patch(
    "/{staff_id}", **documented(StaffPublic, 404, 409), summary="Change a post of a grid team"
)
def patch_post(
    request: Request, session: SessionDep, principal: TokenDep, staff_id: RowId, body: StaffPatch
) -> dict[str, Any]:
    """Change the post's role, N: team or term start (the fields sent; null clears team or
    since). Offices covering the grid only."""
    answer = service.change_post(
        session, staff_id=staff_id, patch=body.model_dump(exclude_unset=True), principal=principal
    )
    staff_changed(request, session)
    return answer


@staff_router.post(
    "/{staff_id}/move", **documented(StaffPublic, 404, 409), summary="Move a post to another grid"
)
def move_post(
    request: Request, session: SessionDep, principal: TokenDep, staff_id: RowId, body: StaffMove
) -> dict[str, Any]:
    """Move the post to another current grid; the token must cover both grids."""
    answer = service.move_post(
        session, staff_id=staff_id, grid_code=body.grid_code, principal=principal
    )
    staff_changed(request, session)
    return answer


@staff_router.delete(
    "/{staff_id}", **documented(StaffRetired, 404), summary="Retire a post of a grid team"
)
def retire_post(
    request: Request, session: SessionDep, principal: TokenDep, staff_id: RowId
) -> dict[str, Any]:
    """Give up the post: the row goes, the audit log keeps it. A worker or leader with no post
    left acts in no grid from the next request."""
    answer = service.retire_post(session, staff_id=staff_id, principal=principal)
    staff_changed(request, session)
    return answer
