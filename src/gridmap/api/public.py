"""gridmap.api.public: a community's lists in public, and the resident's need form (no token)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from gridmap.dependencies import SessionDep
from gridmap.responses import documented
from gridmap.schemas.public import NeedIn, NeedReceipt, PublicLists
from gridmap.services import public as service

router = APIRouter(prefix="/public", tags=["public"])

# A community's code (12 digits); a street's or a grid's is refused in words by the service.
CommunityPath = Annotated[
    str, Path(pattern=r"^[0-9]{6,15}$", description="a community's code (12 digits)")
]
# The public page is read by many and changes slowly: caches may keep it a minute.
PUBLIC_CACHE = "public, max-age=60"


@router.get(
    "/{community}",
    **documented(PublicLists, 404, 422),
    summary="A community's three lists and posts in public (公开)",
)
def community_lists(session: SessionDep, community: CommunityPath) -> Response:
    """The community's needs, wishes, projects (with their sheet), resources and posts, and how
    many are in each state: titles, categories, grids and the times of each step; no names,
    phones, points, reports or member ids."""
    body = service.community_lists(session, community=community)
    return JSONResponse(jsonable_encoder(body), headers={"Cache-Control": PUBLIC_CACHE})


@router.post(
    "/{community}/needs",
    status_code=201,
    **documented(NeedReceipt, 404, 422, 429, status=201),
    summary="A resident's need (群众点单), no token",
)
def submit_need(
    request: Request,
    session: SessionDep,
    community: CommunityPath,
    need: NeedIn,
    x_forwarded_for: Annotated[str | None, Header(max_length=2000)] = None,
) -> Any:
    """Enter a need at a point of the community; it goes to the grid holding the point and its
    Party branch. A few an hour from one client (then 429 with ``Retry-After``). The answer
    never repeats the contact or the point."""
    api = request.app.state.settings.api
    address = service.client_address(
        request.client.host if request.client else None,
        x_forwarded_for,
        trust_forwarded=api.trust_forwarded_for,
    )
    receipt = service.submit_need(
        session,
        community=community,
        values=need.model_dump(),
        address=address,
        per_hour=api.public_needs_per_hour,
    )
    return JSONResponse(receipt, status_code=201, headers={"Cache-Control": "no-store"})
