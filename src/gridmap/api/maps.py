"""gridmap.api.maps: folium report maps of a street or community, one self-contained HTML file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from gridmap import reports
from gridmap.dependencies import RulesDep, SessionDep
from gridmap.vocab import codes

router = APIRouter(prefix="/maps", tags=["maps"])


@router.get("/{region}.html", response_class=HTMLResponse, summary="A report map to keep or mail")
def report_map(
    request: Request,
    session: SessionDep,
    rules: RulesDep,
    region: Annotated[str, Path(pattern=codes.STREET_OR_COMMUNITY)],
    minutes: Annotated[int, Query(ge=1, le=120)] = 15,
) -> HTMLResponse:
    """Grids (households, designated households, coverage, list counts), gaps and overlaps,
    circles, uncovered buildings and designated households of a street or community; opens
    offline."""
    api = request.app.state.settings.api
    m = reports.build_map(
        session,
        region=region,
        rules=rules,
        minutes=minutes,
        tile_url=api.tile_url,
        tile_attribution=api.tile_attribution,
    )
    return HTMLResponse(
        reports.render(m, api.web_dir),
        headers={"Content-Disposition": f'inline; filename="gridmap-{region}.html"'},
    )
