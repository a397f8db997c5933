"""gridmap.api.me: who the bearer token sent is (for a sign-in that checks at once)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gridmap.dependencies import PrincipalDep, SessionDep
from gridmap.schemas.me import MePublic
from gridmap.services import me as service

router = APIRouter(prefix="/me", tags=["tokens"])


@router.get("", response_model=MePublic, summary="Who this token is")
def me(session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """The token's holder, role, region and its name, a staff member's grids, and its expiry;
    401 for no token, or one that is unknown, revoked or expired."""
    return service.whoami(session, principal=principal)
