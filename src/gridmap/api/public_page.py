"""gridmap.api.public_page: the public page of a community (web/public.html) at /public/{code}."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from gridmap.dependencies import SessionDep
from gridmap.errors import NotFound
from gridmap.queries import regions as q
from gridmap.vocab import codes

page_router = APIRouter(include_in_schema=False)

# A resident may keep the page open for long; its lists are read fresh by the page itself.
_PAGE_CACHE = "public, max-age=300"


@page_router.get("/public/{community}")
@page_router.get("/public/{community}/")
def public_page(request: Request, session: SessionDep, community: str) -> FileResponse:
    """The page of a community's lists and need form; for a code that names no community the
    same page answers 404, and says so in words once it has read the lists' answer."""
    page = request.app.state.settings.api.web_dir / "public.html"
    if not page.is_file():
        raise NotFound("the public page is not installed (web/public.html)")
    known = re.fullmatch(codes.COMMUNITY, community) is not None and q.is_community(
        session, code=community
    )
    return FileResponse(
        page,
        status_code=200 if known else 404,
        media_type="text/html",
        headers={"Cache-Control": _PAGE_CACHE},
    )
