"""gridmap.api.org_checks: the organisation's checks (warnings on the map) and its figures."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request

from gridmap.dependencies import RegionQuery, SessionDep
from gridmap.responses import GeoJSONResponse, documented
from gridmap.schemas.org_checks import ChecksPublic, OrgFiguresPublic
from gridmap.services import org_checks as service

checks_router = APIRouter(prefix="/org", tags=["organisation"])
stats_router = APIRouter(prefix="/stats", tags=["stats"])


@checks_router.get(
    "/checks",
    response_class=GeoJSONResponse,
    **documented(ChecksPublic),
    summary="The organisation's checks: warnings as GeoJSON",
)
def org_checks(request: Request, session: SessionDep, region: RegionQuery = None) -> Any:
    """One Feature per warning (``properties.check``): grids without a leader, worker or Party
    branch, leaders of too many grids, basic grids with too few or too many households,
    buildings with households and no Party group, designated households serving too few or too
    many, and posts or designated households a redraw left to reassign. Warnings only: nothing
    is refused for them. The thresholds are the deployment's settings."""
    limits = service.Thresholds.from_settings(request.app.state.settings.api)
    return GeoJSONResponse(service.warnings(session, region=region, limits=limits))


@stats_router.get(
    "/org",
    **documented(OrgFiguresPublic),
    summary="The organisation's figures per community or street",
)
def org_figures(
    session: SessionDep,
    region: RegionQuery = None,
    group: Literal["community", "street"] = "community",
) -> dict[str, Any]:
    """Per community or street: grids and those with a Party branch, branches, buildings with
    households and those with a Party group (and the share), designated households and the
    households they serve, Party members, in-service members registered there, hours served."""
    return service.figures(session, region=region, group=group)
