"""gridmap.api.me: who the bearer token sent is (for a sign-in that checks at once), and a grid
worker's field pack."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from gridmap.dependencies import PrincipalDep, SessionDep
from gridmap.schemas.me import MePublic
from gridmap.services import field_pack as field_service
from gridmap.services import me as service

router = APIRouter(prefix="/me", tags=["tokens"])


@router.get("", response_model=MePublic, summary="Who this token is")
def me(session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """The token's holder, role, region and its name, a staff member's grids, and its expiry;
    401 for no token, or one that is unknown, revoked or expired."""
    return service.whoami(session, principal=principal)


@router.get(
    "/field",
    summary="The field pack of a grid worker's phone",
    responses={200: {"description": "the pack"}, 304: {"description": "the phone's copy holds"}},
)
def field(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    if_none_match: Annotated[str | None, Header(max_length=400)] = None,
) -> Response:
    """All the phone keeps to work offline: the worker's person, grids, their buildings and
    households (contacts, care tags, last visit, when each is due, whether overdue), the incident
    categories and the limits it applies. A grid worker's own token only (403 for others).
    Send the ``ETag`` back as ``If-None-Match``: 304 while nothing changed."""
    pack = field_service.field_pack(
        session,
        principal=principal,
        api=request.app.state.settings.api,
        if_none_match=if_none_match,
    )
    headers = {"ETag": pack.etag, "Cache-Control": "private, no-cache"}
    if pack.body is None:
        return Response(status_code=304, headers=headers)
    return Response(pack.body, media_type="application/json", headers=headers)
