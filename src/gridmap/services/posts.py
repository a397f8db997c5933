"""gridmap.services.posts: posts Party members hold (设岗定责), who sets them up and who holds them.

Offices of the community set up, change and remove posts; a branch may too, for posts in its
grids. A Party member's token claims a free post of a community the member serves in (one holder:
of two claims at once one wins, the other is told the post is taken), and gives it up; an office
or the branch may release it too. Hours served at a post add to the post and to the member's
total, each with its audit row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import (
    Forbidden,
    InvalidInput,
    NotAMember,
    NotFound,
    OutsideCommunity,
    PostCodeTaken,
    PostNotTaken,
    PostTaken,
    Unauthorized,
)
from gridmap.privacy import mask_name
from gridmap.queries import audit
from gridmap.queries import list_flow as flow
from gridmap.queries import posts as q
from gridmap.queries.lists import NOW
from gridmap.services.access import require_role
from gridmap.services.list_flow import member_communities
from gridmap.services.lists import sees_people
from gridmap.vocab.roles import ORG_EDITORS

# Who sets up posts: the offices, and a branch in its own grids (the place decides).
POST_EDITORS = (*ORG_EDITORS, "branch")
EDITABLE = ("title", "duty", "grid_code", "org_id")


def _place(post: dict[str, Any]) -> str:
    return str(post.get("grid_code") or post["community_code"])


def shown(post: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """A post as ``principal`` may see it: its holder as ``member`` ``{id, name}``, the name
    masked unless the caller sees the personal data of its place (or is the holder)."""
    post = dict(post)
    name = post.pop("member_name", None)
    member_id = post.pop("member_id", None)
    if member_id is None:
        post["member"] = None
        return post
    visible = sees_people(principal, _place(post)) or member_id == principal.member_id
    post["member"] = {"id": member_id, "name": name if visible else mask_name(name)}
    return post


def _record(session: Session, post_id: int) -> dict[str, Any]:
    post = q.post(session, post_id=post_id)
    if post is None:
        raise NotFound(f"no post {post_id}")
    return post


def _locked(session: Session, post_id: int) -> dict[str, Any]:
    post = q.post(session, post_id=post_id, lock=True)
    if post is None:
        raise NotFound(f"no post {post_id}")
    return post


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    key: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    audit.record(session, principal.actor, action, "party_post", key, before=before, after=after)


def list_posts(
    session: Session,
    *,
    principal: Principal,
    community: str | None,
    grid: str | None,
    org: int | None,
    member: int | None,
    claimed: bool | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """A page of posts, their holders masked unless the caller may see them."""
    n, rows = q.posts(
        session,
        community=community,
        grid=grid,
        org=org,
        member=member,
        claimed=claimed,
        limit=limit,
        offset=offset,
    )
    return {
        "numberMatched": n,
        "numberReturned": len(rows),
        "posts": [shown(r, principal) for r in rows],
    }


def get_post(session: Session, *, post_id: int, principal: Principal) -> dict[str, Any]:
    """One post."""
    return shown(_record(session, post_id), principal)


def _check_places(session: Session, community: str, grid: str | None, org: int | None) -> None:
    if grid is not None and q.grid_community(session, grid=grid) != community:
        raise OutsideCommunity(f"grid {grid} is no current grid of community {community}")
    if org is not None and q.org_community(session, org=org) != community:
        raise OutsideCommunity(
            f"Party organisation {org} is no organisation of community {community}"
        )


def create_post(
    session: Session, *, values: dict[str, Any], principal: Principal
) -> dict[str, Any]:
    """Set up a post (an office of its community, or a branch for a post in its grids)."""
    require_role(principal, "set up posts", roles=POST_EDITORS)
    community = values["community_code"]
    principal.require(
        "set up posts", roles=POST_EDITORS, place=values.get("grid_code") or community
    )
    if not q.is_community(session, code=community):
        raise InvalidInput(f"no community {community}", community=community)
    _check_places(session, community, values.get("grid_code"), values.get("org_id"))
    taken = PostCodeTaken(f"a post is already coded {values.get('code')}", field="code")
    if values.get("code") and q.code_taken(session, code=values["code"]):
        raise taken
    post_id = q.insert_post(session, values={k: v for k, v in values.items() if v is not None})
    if post_id is None:
        raise taken
    after = _record(session, post_id)
    _audit(session, principal, "create", after["code"], None, after)
    return shown(after, principal)


def update_post(
    session: Session, *, post_id: int, values: dict[str, Any], principal: Principal
) -> dict[str, Any]:
    """Change a post's title, duty, grid or organisation (where it is and where it goes must
    both be the caller's)."""
    require_role(principal, "change posts", roles=POST_EDITORS)
    before = _locked(session, post_id)
    principal.require("change posts", roles=POST_EDITORS, place=_place(before))
    changes = {k: v for k, v in values.items() if k in EDITABLE}
    moved = {**before, **changes}
    principal.require("change posts", roles=POST_EDITORS, place=_place(moved))
    _check_places(
        session, before["community_code"], changes.get("grid_code"), changes.get("org_id")
    )
    q.update_post(session, post_id=post_id, values=changes)
    after = _record(session, post_id)
    _audit(session, principal, "update", before["code"], before, after)
    return shown(after, principal)


def delete_post(session: Session, *, post_id: int, principal: Principal) -> None:
    """Remove a post (the hours its holders served stay in their totals and the audit log)."""
    require_role(principal, "remove posts", roles=POST_EDITORS)
    before = _locked(session, post_id)
    principal.require("remove posts", roles=POST_EDITORS, place=_place(before))
    q.delete_post(session, post_id=post_id)
    _audit(session, principal, "delete", before["code"], before, None)


def claim_post(session: Session, *, post_id: int, principal: Principal) -> dict[str, Any]:
    """A member's token takes up a free post of a community the member serves in."""
    if not principal.authenticated:
        raise Unauthorized("claiming a post needs a bearer token (Authorization: Bearer …)")
    me = principal.member_id
    if me is None:
        raise NotAMember(
            f"only a Party member's token may claim a post; this token is a {principal.role}'s",
            role=principal.role,
        )
    before = _locked(session, post_id)
    member = flow.member(session, member_id=me)
    if member is None or before["community_code"] not in member_communities(member):
        raise NotAMember(
            f"post {before['code']} is in community {before['community_code']}, where this "
            "member does not serve",
            community=before["community_code"],
        )
    if before["member_id"] == me:
        return shown(before, principal)
    if before["member_id"] is not None:
        raise PostTaken(f"post {before['code']} is held by another member")
    q.update_post(session, post_id=post_id, values={"member_id": me, "claimed_at": NOW})
    after = _record(session, post_id)
    _audit(session, principal, "claim", before["code"], before, after)
    return shown(after, principal)


def _holder_or_editor(principal: Principal, post: dict[str, Any], what: str) -> None:
    if not principal.authenticated:
        raise Unauthorized(f"{what} needs a bearer token (Authorization: Bearer …)")
    if principal.member_id is not None and principal.member_id == post["member_id"]:
        return
    if principal.member_id is not None and principal.role not in POST_EDITORS:
        raise Forbidden(f"post {post['code']} is held by another member", role=principal.role)
    principal.require(what, roles=POST_EDITORS, place=_place(post))


def release_post(session: Session, *, post_id: int, principal: Principal) -> dict[str, Any]:
    """Free a post: its holder gives it up, or an office or the branch releases it."""
    before = _locked(session, post_id)
    _holder_or_editor(principal, before, "release posts")
    if before["member_id"] is None:
        raise PostNotTaken(f"post {before['code']} is held by nobody")
    q.update_post(session, post_id=post_id, values={"member_id": None, "claimed_at": None})
    after = _record(session, post_id)
    _audit(session, principal, "release", before["code"], before, after)
    return shown(after, principal)


def log_hours(
    session: Session, *, post_id: int, hours: float, note: str | None, principal: Principal
) -> dict[str, Any]:
    """Hours served at a post by its holder (entered by the holder, an office or the branch):
    they add to the post and to the member's total."""
    before = _locked(session, post_id)
    _holder_or_editor(principal, before, "log hours at posts")
    member_id = before["member_id"]
    if member_id is None:
        raise PostNotTaken(f"post {before['code']} is held by nobody: no one to log hours for")
    hours = round(hours, 1)
    q.add_hours(session, post_id=post_id, hours=hours)
    after = _record(session, post_id)
    _audit(session, principal, "hours", before["code"], before, {**after, "note": note})
    total_before, total_after = flow.add_hours(session, member_id=member_id, hours=hours)
    audit.record(
        session,
        principal.actor,
        "hours",
        "party_member",
        str(member_id),
        before={"hours_served": total_before},
        after={"hours_served": total_after, "party_post": before["code"], "hours": hours},
    )
    return shown(after, principal)
