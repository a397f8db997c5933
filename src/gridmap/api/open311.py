"""gridmap.api.open311: incidents as an Open311 GeoReport v2 feed (JSON), read-only."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from gridmap.dependencies import SessionDep, parse_at
from gridmap.responses import documented
from gridmap.schemas.open311 import Open311Request, Open311Service
from gridmap.services import open311 as svc

router = APIRouter(prefix="/open311/v2", tags=["open311"])


@router.get(
    "/services.json",
    **documented(list[Open311Service]),
    summary="Open311: the incident categories",
)
def services(session: SessionDep) -> list[dict[str, Any]]:
    """Every active category as an Open311 service."""
    return svc.services(session)


@router.get(
    "/requests.json",
    **documented(list[Open311Request]),
    summary="Open311: incidents",
)
def requests(
    request: Request,
    session: SessionDep,
    service_code: Annotated[str | None, Query(max_length=64)] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Literal["open", "closed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> list[dict[str, Any]]:
    """Incidents, newest first (GeoReport v2 returns at most 1000)."""
    tz = request.app.state.settings.api.timezone
    return svc.requests(
        session,
        service_code=service_code,
        start=parse_at(start_date, tz),
        end=parse_at(end_date, tz),
        status=status,
        limit=limit,
    )


@router.get(
    "/requests/{request_id}.json",
    **documented(list[Open311Request]),
    summary="Open311: one incident",
)
def one_request(
    session: SessionDep, request_id: Annotated[int, Path(ge=1)]
) -> list[dict[str, Any]]:
    """One incident, as a one-element list (as GeoReport v2 has it)."""
    return svc.one_request(session, request_id=request_id)
