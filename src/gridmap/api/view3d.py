"""gridmap.api.view3d: the 2.5-D view's page (web/3d.html) at /3d and its label glyphs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from gridmap import glyphs as g
from gridmap.errors import NotFound

page_router = APIRouter(include_in_schema=False)
router = APIRouter(prefix="/fonts", tags=["map"])

# The glyph files change only with a new release of the page.
_GLYPH_CACHE = "public, max-age=86400"


@page_router.get("/3d")
def view3d_page(request: Request) -> FileResponse:
    """The 2.5-D view's page (web/3d.html)."""
    page = request.app.state.settings.api.web_dir / "3d.html"
    if not page.is_file():
        raise NotFound("the 2.5-D view is not installed (web/3d.html)")
    return FileResponse(page, media_type="text/html")


@router.get(
    "/{fontstack}/{glyph_range}.pbf",
    summary="Label glyphs (signed distance fields) for MapLibre GL, one 256-code-point range",
    response_class=Response,
    responses={200: {"content": {"application/x-protobuf": {}}}},
)
def glyph_range(request: Request, fontstack: str, glyph_range: str) -> Response:
    """``glyphs`` of the 2.5-D view's style: ``/fonts/{fontstack}/{range}.pbf``."""
    folder = request.app.state.settings.api.web_dir / "fonts"
    data = g.glyphs(folder, fontstack, glyph_range)
    return Response(
        data, media_type="application/x-protobuf", headers={"Cache-Control": _GLYPH_CACHE}
    )
