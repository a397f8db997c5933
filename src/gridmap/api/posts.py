"""gridmap.api.posts: posts Party members hold (设岗定责): set up, claimed, released, hours."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from gridmap.dependencies import GridQuery, PageDep, PrincipalDep, RowId, SessionDep, TokenDep
from gridmap.responses import documented
from gridmap.schemas.posts import HoursIn, PostIn, PostOut, PostPatch, PostsPage
from gridmap.services import posts as service
from gridmap.vocab import codes

router = APIRouter(prefix="/party-posts", tags=["party posts"])


@router.get("", **documented(PostsPage), summary="Posts (设岗定责)")
def list_posts(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    community: Annotated[str | None, Query(pattern=codes.COMMUNITY)] = None,
    grid: GridQuery = None,
    org: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    member: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    claimed: Annotated[bool | None, Query(description="true: held; false: free")] = None,
) -> JSONResponse:
    """Posts by code, filtered; holders' names masked unless the token may see them."""
    return page.answer(
        jsonable_encoder(
            service.list_posts(
                session,
                principal=principal,
                community=community,
                grid=grid,
                org=org,
                member=member,
                claimed=claimed,
                limit=page.limit,
                offset=page.offset,
            )
        )
    )


@router.post("", status_code=201, **documented(PostOut, status=201), summary="Set up a post")
def create_post(session: SessionDep, principal: TokenDep, post: PostIn) -> Response:
    """A new post of a community (an office of it, or a branch for a post in its grids)."""
    made = service.create_post(session, values=post.model_dump(), principal=principal)
    return JSONResponse(
        jsonable_encoder(made),
        status_code=201,
        headers={"Location": f"/api/v1/party-posts/{made['id']}"},
    )


@router.get("/{post_id}", **documented(PostOut, 404), summary="One post")
def get_post(session: SessionDep, principal: PrincipalDep, post_id: RowId) -> dict[str, Any]:
    """One post."""
    return service.get_post(session, post_id=post_id, principal=principal)


@router.patch("/{post_id}", **documented(PostOut, 404), summary="Change a post")
def patch_post(
    session: SessionDep, principal: TokenDep, post_id: RowId, patch: PostPatch
) -> dict[str, Any]:
    """Change a post's title, duty, grid or organisation."""
    return service.update_post(
        session,
        post_id=post_id,
        values=patch.model_dump(exclude_unset=True),
        principal=principal,
    )


@router.delete("/{post_id}", status_code=204, summary="Remove a post")
def delete_post(session: SessionDep, principal: TokenDep, post_id: RowId) -> Response:
    """Remove a post."""
    service.delete_post(session, post_id=post_id, principal=principal)
    return Response(status_code=204)


@router.post("/{post_id}/claim", **documented(PostOut, 404, 409), summary="Claim a post")
def claim_post(session: SessionDep, principal: TokenDep, post_id: RowId) -> dict[str, Any]:
    """A Party member's token takes up a free post of a community the member serves in."""
    return service.claim_post(session, post_id=post_id, principal=principal)


@router.post("/{post_id}/release", **documented(PostOut, 404, 409), summary="Release a post")
def release_post(session: SessionDep, principal: TokenDep, post_id: RowId) -> dict[str, Any]:
    """Its holder gives the post up, or an office or the branch releases it."""
    return service.release_post(session, post_id=post_id, principal=principal)


@router.post(
    "/{post_id}/hours", **documented(PostOut, 404, 409), summary="Log hours served at a post"
)
def log_hours(
    session: SessionDep, principal: TokenDep, post_id: RowId, body: HoursIn
) -> dict[str, Any]:
    """Hours the holder served (by the holder, an office or the branch); they add to the post
    and to the member's total."""
    return service.log_hours(
        session, post_id=post_id, hours=body.hours, note=body.note, principal=principal
    )
