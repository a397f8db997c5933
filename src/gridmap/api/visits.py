"""gridmap.api.visits: household visits (走访) and the households overdue for one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from gridmap.dependencies import (
    AtDep,
    GridQuery,
    PageDep,
    RegionQuery,
    SessionDep,
    TokenDep,
    parse_at,
)
from gridmap.queries.visits import VisitFilter
from gridmap.responses import GeoJSONResponse, documented
from gridmap.schemas.visits import OverdueCollection, VisitIn, VisitPublic, VisitsPage
from gridmap.services import care
from gridmap.services import visits as service

router = APIRouter(prefix="/visits", tags=["visits"])

TimeQuery = Annotated[
    str | None,
    Query(max_length=40, description="an ISO 8601 time; without an offset, in the configured zone"),
]


@router.post(
    "",
    status_code=201,
    **documented(VisitPublic, 200, 404, status=201),
    summary="Record a household visit",
)
def record_visit(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    visit: VisitIn,
    idempotency_key: Annotated[
        str | None, Header(min_length=8, max_length=128, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> JSONResponse:
    """Record a visit by the household's grid team or its community or street office (201);
    the same ``Idempotency-Key`` again answers the visit recorded (200) and records nothing."""
    zone = ZoneInfo(request.app.state.settings.api.timezone)
    at = visit.at if visit.at.tzinfo is not None else visit.at.replace(tzinfo=zone)
    found, new = service.record_visit(
        session,
        visit=service.NewVisit(
            visit.household_id, at, visit.outcome, visit.note, idempotency_key=idempotency_key
        ),
        principal=principal,
        now=datetime.now(zone),
    )
    return JSONResponse(jsonable_encoder(found), status_code=201 if new else 200)


@router.get("", **documented(VisitsPage, 403, 404), summary="Household visits")
def list_visits(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    page: PageDep,
    household: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    grid: GridQuery = None,
    region: RegionQuery = None,
    start: Annotated[TimeQuery, Query(alias="from")] = None,
    end: Annotated[TimeQuery, Query(alias="to")] = None,
) -> JSONResponse:
    """Visits of a household, grid or region, from ``from`` up to ``to``, newest first, for a
    token of the grid's team or an office of its region (others 403: when and how often a
    household is visited tells its care tags); every note read is logged."""
    zone = request.app.state.settings.api.timezone
    chosen = VisitFilter(
        household=household,
        grid=grid,
        region=region,
        start=parse_at(start, zone, name="from"),
        end=parse_at(end, zone, name="to"),
    )
    return page.answer(
        jsonable_encoder(
            service.list_visits(
                session, chosen=chosen, principal=principal, limit=page.limit, offset=page.offset
            )
        )
    )


@router.get(
    "/overdue",
    response_class=GeoJSONResponse,
    **documented(OverdueCollection),
    summary="Households overdue for a visit",
)
def overdue(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    at: AtDep,
    region: RegionQuery = None,
    grid: GridQuery = None,
) -> Any:
    """Households of a region or grid whose care tags' visit interval has passed at ``at``
    (default now) since their last visit (or since the earliest tag, never visited), as points
    on their building, most overdue first. Needs a token covering the region or grid; care
    tags are masked for who may not see them."""
    return GeoJSONResponse(
        jsonable_encoder(
            care.overdue(
                session,
                principal=principal,
                region=region,
                grid=grid,
                at=at,
                rule=care.VisitRule.from_settings(request.app.state.settings.api),
                route="GET /api/v1/visits/overdue",
            )
        )
    )
