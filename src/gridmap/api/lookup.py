"""gridmap.api.lookup: which grid is this point in — one point, or up to 10,000 at once."""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from gridmap.dependencies import (
    AtDep,
    AtQuery,
    AuthorizationHeader,
    CRSQuery,
    PrincipalDep,
    ReadSessionDep,
    SessionDep,
    on_replica,
    parse_at,
    principal_for,
)
from gridmap.errors import GridmapError, InvalidInput
from gridmap.geo.crs import check_lonlat, normalize_crs, to_wgs84, to_wgs84_array
from gridmap.live import LiveGrids, Snapshot
from gridmap.queries import lookup as q
from gridmap.responses import documented
from gridmap.schemas.lookup import AddressAnswer, LookupAnswer, LookupBatch, LookupBatchAnswer
from gridmap.services import address
from gridmap.services import lookup as service
from gridmap.vocab.codes import ONE_LINE

router = APIRouter(prefix="/lookup", tags=["lookup"])


def _snapshot(request: Request, session: Any, at: Any) -> Snapshot | None:
    live = getattr(request.app.state, "live", None)
    if at is not None or live is None or _pinned(request, session):
        return None
    return live.snapshot(session)  # type: ignore[no-any-return]


def _pinned(request: Request, session: Any) -> bool:
    """Whether a read replica is in use but this caller reads the primary (its own write is
    not in the standby's grids yet): the grids in memory, loaded from the standby, may not
    show it."""
    reads = getattr(request.app.state, "reads", None)
    return bool(reads is not None and reads.enabled and not on_replica(session))


async def _snapshot_async(request: Request, session: Any, at: Any) -> Snapshot | None:
    """The snapshot without leaving the event loop when it is current (the common case)."""
    live: LiveGrids | None = getattr(request.app.state, "live", None)
    if at is not None or live is None or _pinned(request, session):
        return None
    snap = live.fresh()
    if snap is not None:
        return snap
    return await run_in_threadpool(live.snapshot, session)


@router.get(
    "",
    response_model=LookupAnswer,
    responses={404: {"description": "The point lies in no grid; the nearest grid comes back"}},
    summary="The grid, community, street and team at a point",
)
async def lookup(
    request: Request,
    session: SessionDep,
    reads: ReadSessionDep,
    lon: Annotated[float, Query(description="longitude (or x in EPSG:3857)")],
    lat: Annotated[float, Query(description="latitude (or y in EPSG:3857)")],
    crs: CRSQuery = None,
    at: AtQuery = None,
    authorization: AuthorizationHeader = None,
) -> Any:
    """Answer with the grid at the point; ``404`` with the nearest grid when it lies in none.

    A point on the border of two grids belongs to the one with the lowest code. The team's names
    and phones are shown to a token whose role and region cover the grid, masked to others.
    ``at`` answers with the grids as they were then.
    """
    # The hottest path: parameters are parsed here rather than by dependencies, whose
    # machinery costs more than the lookup itself.
    crs = normalize_crs(crs)
    when = parse_at(at, request.app.state.settings.api.timezone)
    principal = await principal_for(request, session, authorization)
    wlon, wlat = to_wgs84(lon, lat, crs)
    # Answered in the event loop from memory (microseconds); PostGIS in the threadpool.
    snap = await _snapshot_async(request, reads, when)
    if snap is not None:
        answer = service.from_memory(snap, wlon, wlat, principal)
    else:
        answer = await run_in_threadpool(
            lambda: q.lookup_point(
                reads, lon=wlon, lat=wlat, at=when, show_personal=principal.sees_personal_data
            )
        )
    # Plain JSON types already: skip FastAPI's encoder walk on the hot path.
    return JSONResponse(
        service.point_body(x=lon, y=lat, crs=crs, lon=wlon, lat=wlat, answer=answer, at=when)
    )


@router.post(
    "",
    summary="Look up to 10,000 points at once, answered in order",
    **documented(LookupBatchAnswer),
)
def lookup_many(
    request: Request,
    session: ReadSessionDep,
    principal: PrincipalDep,
    at: AtDep,
    batch: LookupBatch,
) -> Any:
    """Each point's grid, community and street, in the order given; a point in no grid gets
    ``grid: null``, and a point that is not a usable coordinate gets ``error``. The teams of the
    grids found come once each under ``teams``, masked unless the caller may see them."""
    crs = normalize_crs(batch.crs)
    n = len(batch.points)
    xy = np.asarray(batch.points, dtype=float).reshape(n, 2)
    lon, lat = to_wgs84_array(xy[:, 0], xy[:, 1], crs)
    errors: dict[int, dict[str, str]] = {}
    for i in range(n):
        try:
            if not (math.isfinite(xy[i, 0]) and math.isfinite(xy[i, 1])):
                raise InvalidInput("coordinates must be finite numbers")
            check_lonlat(float(lon[i]), float(lat[i]))
        except GridmapError as exc:
            errors[i] = {"code": exc.code, "detail": exc.message}
    good = [i for i in range(n) if i not in errors]
    answers: dict[int, dict[str, Any] | None] = {}
    snap = _snapshot(request, session, at)
    if snap is not None:
        found = snap.index.locate(lon[good], lat[good])
        for i, g in zip(good, found.tolist(), strict=True):
            answers[i] = q.grid_answer(snap.grids[g]) if g >= 0 else None
    else:
        found_rows = q.lookup_points(
            session, lons=lon[good].tolist(), lats=lat[good].tolist(), at=at
        )
        answers = dict(zip(good, found_rows, strict=True))
    results: list[dict[str, Any]] = []
    codes: set[str] = set()
    for i in range(n):
        if i in errors:
            results.append({"index": i, "grid": None, "error": errors[i]})
            continue
        a = answers[i]
        point = {"lon": round(float(lon[i]), 8), "lat": round(float(lat[i]), 8)}
        if a is None:
            results.append({"index": i, "point": point, "grid": None})
        else:
            codes.add(a["grid"]["code"])
            results.append({"index": i, "point": point, **a})
    teams = {}
    for code in sorted(codes):
        rows = snap.teams.get(code, []) if snap is not None else q.team_rows(session, code)
        teams[code] = q.team_answer(rows, principal.sees_personal_data(code))
    return {
        "crs": crs,
        **({"at": at.isoformat()} if at else {}),
        "numberOfPoints": n,
        "found": sum(1 for r in results if r.get("grid")),
        "results": results,
        "teams": teams,
    }


@router.get(
    "/address",
    summary="Find a building and its grid by its standard address",
    **documented(AddressAnswer),
)
def lookup_address(
    session: ReadSessionDep,
    q: Annotated[
        str,
        Query(min_length=1, max_length=200, pattern=ONE_LINE, description="an address, as typed"),
    ],
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
) -> Any:
    """Candidates, best first, each with a score (0–1), what part of the address matched and
    why; a candidate below ``weak_below`` (0.8) is ``weak``, and so is the answer when its best
    is; none when nothing is close enough to be worth a dispatcher's trust."""
    return address.search(session, q_text=q, limit=limit)
