"""gridmap.api: one router per resource, gathered into one."""

from __future__ import annotations

from fastapi import APIRouter

from gridmap.api import (
    approvals,
    board,
    departments,
    exchange,
    grids,
    health,
    households,
    incidents,
    lists,
    lookup,
    maps,
    me,
    ogc,
    ogc_write,
    open311,
    org,
    org_checks,
    patrols,
    posts,
    public,
    public_page,
    regions,
    services,
    stats,
    teams,
    tiles,
    view3d,
    visits,
    whistle,
)

api_router = APIRouter(prefix="/api/v1")
# Lookups are by far the most frequent requests: their routes are matched first.
api_router.include_router(lookup.router)
api_router.include_router(regions.router)
api_router.include_router(grids.router)
api_router.include_router(teams.grid_router)
api_router.include_router(teams.staff_router)
api_router.include_router(org.grid_router)
api_router.include_router(exchange.router)
# Before incidents: /incidents/bulk/{step} would otherwise read "bulk" as an incident id.
api_router.include_router(board.router)
# Before incidents: /incidents/{id}/approvals and /whistle-suggestions are not steps of
# /incidents/{id}/{step}.
api_router.include_router(approvals.router)
api_router.include_router(whistle.incident_router)
api_router.include_router(incidents.router)
api_router.include_router(stats.router)
api_router.include_router(org_checks.stats_router)
api_router.include_router(org_checks.checks_router)
api_router.include_router(services.router)
api_router.include_router(households.router)
api_router.include_router(visits.router)
api_router.include_router(lists.router)
api_router.include_router(public.router)
api_router.include_router(posts.router)
api_router.include_router(patrols.router)
api_router.include_router(me.router)
api_router.include_router(departments.router)
api_router.include_router(whistle.router)
api_router.include_router(org.router)
api_router.include_router(org.member_router)
api_router.include_router(org.unit_router)

root_router = APIRouter()
root_router.include_router(health.router)
root_router.include_router(open311.router)
root_router.include_router(tiles.router)
root_router.include_router(maps.router)
root_router.include_router(ogc.router)
root_router.include_router(ogc_write.router)
root_router.include_router(board.page_router)
root_router.include_router(public_page.page_router)
root_router.include_router(view3d.page_router)
root_router.include_router(view3d.router)
