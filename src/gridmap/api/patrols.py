"""gridmap.api.patrols: a grid worker's patrols (巡查), their tracks and patrol coverage."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from gridmap.dependencies import GridQuery, PrincipalDep, RegionQuery, SessionDep
from gridmap.responses import GeoJSONResponse, documented
from gridmap.schemas.patrols import (
    CoveragePublic,
    GridCoveragePublic,
    MyPatrols,
    PatrolEnd,
    PatrolPieceIn,
    PatrolPublic,
    PatrolStart,
)
from gridmap.services import patrols as service
from gridmap.settings import ApiSettings
from gridmap.vocab import codes

router = APIRouter(tags=["patrols"])

PatrolKey = Annotated[UUID, Path(description="the patrol's key, a UUID chosen by the phone")]
DayQuery = Annotated[
    str | None,
    Query(max_length=10, description="a day, YYYY-MM-DD, in the configured time zone"),
]
WeekQuery = Annotated[
    str | None, Query(max_length=8, description="an ISO week, YYYY-Www (Monday to Sunday)")
]
PersonQuery = Annotated[int | None, Query(ge=1, le=2**62, description="a person's id")]


def _api(request: Request) -> ApiSettings:
    api: ApiSettings = request.app.state.settings.api
    return api


def _aware(when: datetime, timezone: str) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=ZoneInfo(timezone))


def _answer(patrol: dict[str, Any], *, new: bool) -> JSONResponse:
    return JSONResponse(
        patrol,
        status_code=201 if new else 200,
        headers={"Location": f"/api/v1/patrols/{patrol['key']}"},
    )


@router.put(
    "/patrols/{key}",
    **documented(PatrolPublic, 200, 401, 403, 409, 422, status=201),
    summary="Start a patrol (again: the same patrol)",
)
def start_patrol(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    key: PatrolKey,
    body: PatrolStart,
) -> Any:
    """A grid staff member starts a patrol under a key their phone chose: 201 when new, 200
    when the same person started it before; a key of another person's patrol is 409."""
    patrol, new = service.start(
        session,
        principal=principal,
        key=key,
        started_at=_aware(body.started_at, _api(request).timezone),
    )
    return _answer(patrol, new=new)


@router.put(
    "/patrols/{key}/pieces/{seq}",
    **documented(PatrolPublic, 200, 401, 403, 404, 409, 413, 422, status=201),
    summary="Upload the next piece of a patrol's track",
)
def put_piece(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    key: PatrolKey,
    seq: Annotated[int, Path(ge=0, le=1_000_000, description="the piece's number, from 0")],
    body: PatrolPieceIn,
) -> Any:
    """Piece ``seq`` of the caller's patrol: 201 stored, 200 the same piece again, 409 when the
    number is taken by other points, is not the next one, or the patrol has ended, 422 for a
    track nobody walks (each case with its ``code`` and the point's ``index``)."""
    patrol, new = service.add_piece(
        session, principal=principal, key=key, seq=seq, points=body.points, settings=_api(request)
    )
    return _answer(patrol, new=new)


@router.post(
    "/patrols/{key}/end",
    **documented(PatrolPublic, 401, 403, 404, 422),
    summary="End a patrol",
)
def end_patrol(
    request: Request, session: SessionDep, principal: PrincipalDep, key: PatrolKey, body: PatrolEnd
) -> Any:
    """End the caller's patrol; ending it again answers the same patrol."""
    return service.end(
        session,
        principal=principal,
        key=key,
        ended_at=_aware(body.ended_at, _api(request).timezone),
    )


@router.get(
    "/patrols",
    response_class=GeoJSONResponse,
    **documented(dict[str, Any], 401, 403, 422),
    summary="Patrol tracks of a day or a week",
)
def list_tracks(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    grid: GridQuery = None,
    region: RegionQuery = None,
    day: DayQuery = None,
    week: WeekQuery = None,
    person: PersonQuery = None,
) -> Any:
    """Tracks of patrols started in the period (today without ``day``/``week``): a worker's own,
    a grid's for its team and the offices of its region, a region's for its offices."""
    start, end, _ = service.period(session, day=day, week=week, timezone=_api(request).timezone)
    return GeoJSONResponse(
        service.tracks(
            session,
            principal=principal,
            grid=grid,
            region=region,
            person=person,
            start=start,
            end=end,
        )
    )


@router.get(
    "/patrols/{key}",
    response_class=GeoJSONResponse,
    **documented(dict[str, Any], 401, 403, 404),
    summary="One patrol's track",
)
def get_track(session: SessionDep, principal: PrincipalDep, key: PatrolKey) -> Any:
    """One patrol as a Feature (a MultiLineString of its pieces, the patrol as properties)."""
    return GeoJSONResponse(service.track_of(session, principal=principal, key=key))


@router.get(
    "/patrol-coverage",
    **documented(CoveragePublic, 404, 422),
    summary="Patrol coverage per grid of a region",
)
def coverage(
    request: Request,
    session: SessionDep,
    region: RegionQuery = None,
    grid: GridQuery = None,
    day: DayQuery = None,
    week: WeekQuery = None,
) -> Any:
    """The share of each current grid's street length within ``patrol_cover_m`` of a track of
    the day or week (today without either). No personal data: open to every caller."""
    api = _api(request)
    start, end, label = service.period(session, day=day, week=week, timezone=api.timezone)
    return service.region_coverage(
        session,
        region=region,
        grid=grid,
        start=start,
        end=end,
        label=label,
        cover_m=api.patrol_cover_m,
    )


@router.get(
    "/patrol-coverage/{grid}",
    **documented(GridCoveragePublic, 404, 422),
    summary="One grid's patrol coverage and its streets walked and not",
)
def grid_coverage(
    request: Request,
    session: SessionDep,
    grid: Annotated[str, Path(pattern=codes.GRID, description="a grid code")],
    day: DayQuery = None,
    week: WeekQuery = None,
) -> Any:
    """One grid's coverage, with ``walked`` and ``unwalked``: its street pieces (≤ 25 m) as
    GeoJSON FeatureCollections."""
    api = _api(request)
    start, end, label = service.period(session, day=day, week=week, timezone=api.timezone)
    return service.grid_coverage(
        session, grid=grid, start=start, end=end, label=label, cover_m=api.patrol_cover_m
    )


@router.get(
    "/me/patrols",
    **documented(MyPatrols, 401, 403, 422),
    summary="My patrol day: figures, the open patrol, my grids' coverage",
)
def my_patrols(
    request: Request, session: SessionDep, principal: PrincipalDep, day: DayQuery = None
) -> Any:
    """For the phone's home: the caller's patrols of the day (today by default), the patrol
    still open, and the day's coverage of each of the caller's grids."""
    return service.my_day(session, principal=principal, day=day, settings=_api(request))
