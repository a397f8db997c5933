"""gridmap.dependencies: reusable request parameters and the database session."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import psycopg
from fastapi import Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL

from gridmap.auth import (
    ANONYMOUS,
    Principal,
    authenticate_cached,
    cached_principal,
    note_use,
)
from gridmap.database import database_gone
from gridmap.errors import InvalidInput, Unauthorized
from gridmap.geo.chinacrs import CHINA_BOUNDS
from gridmap.geo.crs import normalize_crs
from gridmap.geo.rules import GridRules
from gridmap.replica import ReadRouter, parse_lsn
from gridmap.vocab import codes


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session in one transaction for the length of the request, committed at its end.

    The session connects only when first used, and its database work runs in the threadpool
    with the (sync) handler; a request answered from memory never touches the database or the
    threadpool on its account.
    """
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    except BaseException:
        await _end(session, commit=False)
        raise
    await _end(session, commit=True, request=request)


_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _end(session: Session, *, commit: bool, request: Request | None = None) -> None:
    if not session.in_transaction():
        session.close()  # never connected: nothing to send
        return
    reads: ReadRouter | None = None
    if request is not None and request.method not in _READ_METHODS:
        reads = getattr(request.app.state, "reads", None)

    def finish() -> None:
        try:
            if commit:
                wrote = reads is not None and reads.enabled and _wrote(session)
                session.commit()
                if wrote and reads is not None:
                    # Where the write ended in the WAL: this caller reads the primary until the
                    # standby has replayed it.
                    lsn = parse_lsn(
                        session.execute(text("SELECT pg_current_wal_insert_lsn()::text")).scalar()
                    )
                    session.commit()
                    if lsn is not None and request is not None:
                        reads.remember(request.headers.get("authorization"), lsn)
                        request.state.gridmap_lsn = lsn
            else:
                session.rollback()
        finally:
            session.close()

    await run_in_threadpool(finish)


def _wrote(session: Session) -> bool:
    """Whether the session's transaction changed anything (it has a transaction id)."""
    return bool(session.execute(text("SELECT txid_current_if_assigned() IS NOT NULL")).scalar())


async def get_read_session(request: Request, primary: SessionDep) -> AsyncIterator[Session]:
    """A session for a read-only request: on the read replica when there is one, it answers,
    and it has replayed the caller's own last write; else the request's primary session (see
    gridmap.replica)."""
    async for session in _reads(request, primary):
        yield session


async def get_stream_read_session(
    request: Request, primary: StreamSessionDep
) -> AsyncIterator[Session]:
    """:func:`get_read_session` for an answer streamed from the database (an export)."""
    async for session in _reads(request, primary):
        yield session


async def _reads(request: Request, primary: Session) -> AsyncIterator[Session]:
    session = await _read_session(request)
    if session is None:
        request.state.gridmap_read = "primary"
        yield primary
        return
    request.state.gridmap_read = "replica"
    try:
        yield session
    except BaseException:
        await _end(session, commit=False)
        raise
    await _end(session, commit=False)


async def _read_session(request: Request) -> Session | None:
    """A session on the standby, or None when the primary is to answer."""
    reads: ReadRouter | None = getattr(request.app.state, "reads", None)
    if reads is None or reads.sessionmaker is None or reads.down():
        return None
    required = reads.required(request.headers.raw)
    if required is not None:
        fresh, replay = reads.fresh_replay()
        if not fresh:
            replay = await run_in_threadpool(reads.replay_lsn)
        if not reads.caught_up(required, replay):
            reads.on_primary += 1
            return None
    session = reads.sessionmaker()

    def connect() -> None:
        session.connection()

    try:
        # Connected here, so a standby that went away sends this request to the primary
        # rather than failing it.
        await run_in_threadpool(connect)
    except (SQLAlchemyError, psycopg.Error) as exc:
        session.close()
        if not database_gone(exc):
            raise
        reads.mark_down()
        reads.on_primary += 1
        return None
    session.info["replica"] = True
    reads.on_replica += 1
    return session


# Read-only GET routes (lookup, tiles, /ogc, exports): the read replica when there is one.
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
StreamReadSessionDep = Annotated[Session, Depends(get_stream_read_session, scope="request")]


def on_replica(session: Session) -> bool:
    """Whether ``session`` reads the standby."""
    return bool(session.info.get("replica"))


# The transaction commits when the handler returns and before the answer is sent, so a client
# that reads right after a write sees it, and a commit that fails is the answer, not a 200.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
# For an answer streamed from the database (a GeoJSON export), the session lives until the last
# byte is sent; only reads use it.
StreamSessionDep = Annotated[Session, Depends(get_session, scope="request")]


CRSQuery = Annotated[
    str | None,
    Query(max_length=64, description="EPSG:4326 (default), EPSG:4490, EPSG:3857, GCJ-02, BD-09"),
]


async def crs_query(crs: CRSQuery = None) -> str:
    """The ``crs=`` parameter, normalised."""
    return normalize_crs(crs)


CRSDep = Annotated[str, Depends(crs_query)]


async def bbox_query(
    bbox: Annotated[
        str | None,
        Query(max_length=200, description="west,south,east,north in WGS84 degrees"),
    ] = None,
) -> tuple[float, float, float, float] | None:
    """The ``bbox=`` parameter as four finite numbers in order."""
    if bbox is None:
        return None
    try:
        values = [float(v) for v in bbox.split(",")]
    except ValueError:
        raise InvalidInput("bbox must be four numbers: west,south,east,north") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInput("bbox must be four finite numbers: west,south,east,north")
    west, south, east, north = values
    if not (
        -180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90
    ):
        raise InvalidInput("bbox out of range: lon in [-180, 180], lat in [-90, 90]")
    if west > east or south > north:
        raise InvalidInput("bbox must be west,south,east,north with west <= east, south <= north")
    return west, south, east, north


BBoxDep = Annotated[tuple[float, float, float, float] | None, Depends(bbox_query)]


class Page:
    """``limit`` and ``offset`` of a list, and the answer that says where its other pages are."""

    def __init__(self, limit: int, offset: int, url: URL | None = None) -> None:
        self.limit = limit
        self.offset = offset
        self.url = url

    def links(self, matched: int, media_type: str) -> list[dict[str, str]]:
        """``next`` (when rows lie beyond this page) and ``prev`` (when it does not start at the
        first row) as ``{"rel", "href", "type"}``; each ``href`` is this request's URL with
        every other parameter kept and only ``offset`` (and ``limit``) changed."""
        if self.url is None:
            return []
        found = []
        if self.offset + self.limit < matched:
            found.append(("next", self.offset + self.limit))
        if self.offset > 0:
            found.append(("prev", max(0, min(self.offset, matched) - self.limit)))
        return [
            {
                "rel": rel,
                "href": str(self.url.include_query_params(limit=self.limit, offset=at)),
                "type": media_type,
            }
            for rel, at in found
        ]

    def answer(
        self,
        body: dict[str, Any],
        *,
        response_class: type[JSONResponse] = JSONResponse,
        headers: dict[str, str] | None = None,
    ) -> JSONResponse:
        """``body`` (a page with ``numberMatched``) with its ``links`` member and the same links
        as an RFC 8288 ``Link`` header, as ``response_class``."""
        media_type = str(response_class.media_type)
        links = self.links(int(body["numberMatched"]), media_type)
        out = dict(headers or {})
        if links:
            out["Link"] = ", ".join(
                f'<{link["href"]}>; rel="{link["rel"]}"; type="{media_type}"' for link in links
            )
        return response_class({**body, "links": links}, headers=out)


async def page_query(
    request: Request,
    limit: Annotated[int, Query(ge=1, description="items per page")] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Page:
    """The ``limit`` and ``offset`` parameters, the limit capped by configuration."""
    maximum = request.app.state.settings.api.page_limit_max
    if limit > maximum:
        raise HTTPException(status_code=422, detail=f"limit must be at most {maximum}")
    return Page(limit, offset, request.url)


PageDep = Annotated[Page, Depends(page_query)]


AuthorizationHeader = Annotated[str | None, Header(max_length=300)]


async def get_principal(
    request: Request, session: SessionDep, authorization: AuthorizationHeader = None
) -> Principal:
    """The caller: the holder of a bearer token, or an anonymous viewer when none is sent."""
    return await principal_for(request, session, authorization)


def bearer_secret(authorization: str) -> str:
    """The secret of an ``Authorization: Bearer …`` value, or :class:`Unauthorized`."""
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("use 'Authorization: Bearer <token>'")
    return secret.strip()


def grid_generation(state: Any) -> int:
    """The generation of the in-memory grids on an app's ``state`` (0 without them)."""
    live = getattr(state, "live", None)
    return live.generation if live is not None else 0


async def principal_for(request: Request, session: Session, authorization: str | None) -> Principal:
    """The principal of an ``Authorization`` header value (anonymous when None).

    A token seen within the cache's life is answered from memory, in the event loop; otherwise
    it is read through ``session`` in the threadpool. Its use is noted at most once a minute.
    """
    if authorization is None:
        return ANONYMOUS
    secret = bearer_secret(authorization)
    state = request.app.state
    seconds = state.settings.api.token_cache_seconds
    generation = grid_generation(state)
    principal = cached_principal(secret, generation=generation)
    if principal is None:
        principal = await run_in_threadpool(
            lambda: authenticate_cached(session, secret, seconds=seconds, generation=generation)
        )
    note_use(state.engine, principal)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def require_token(principal: PrincipalDep) -> Principal:
    """The caller, who must have sent a token (401 otherwise)."""
    if not principal.authenticated:
        raise Unauthorized(
            "this action needs a bearer token (Authorization: Bearer …); "
            "tokens are made with 'gridmap token create'"
        )
    return principal


TokenDep = Annotated[Principal, Depends(require_token)]


AtQuery = Annotated[
    str | None,
    Query(
        max_length=40,
        description="an instant in ISO 8601 (2026-05-01T08:00:00+08:00); without an offset "
        "it is read in the configured time zone",
    ),
]


async def at_query(request: Request, at: AtQuery = None) -> datetime | None:
    """The ``at=`` parameter: a past instant to answer as of."""
    return parse_at(at, request.app.state.settings.api.timezone)


def parse_at(at: str | None, timezone: str, *, name: str = "at") -> datetime | None:
    """A time parameter (``name``: ``at``, ``from``, ``to`` …) as an aware datetime (naive
    times are read in ``timezone``)."""
    if at is None:
        return None
    try:
        when = datetime.fromisoformat(at.strip().replace(" ", "T"))
    except ValueError:
        raise InvalidInput(
            f"{name}={at!r} is not an ISO 8601 time; write e.g. 2026-05-01T08:00:00+08:00",
            parameter=name,
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(timezone))
    return when


AtDep = Annotated[datetime | None, Depends(at_query)]


async def grid_rules(request: Request) -> GridRules:
    """The coverage rule and code width of this deployment."""
    return GridRules.from_settings(request.app.state.settings.api)


RulesDep = Annotated[GridRules, Depends(grid_rules)]


def grids_changed(request: Request) -> None:
    """Tell this server's in-memory grids to reload (other servers hear it from PostgreSQL)."""
    live = getattr(request.app.state, "live", None)
    if live is not None:
        live.invalidate()


RegionQuery = Annotated[
    str | None,
    Query(
        pattern=codes.REGION,
        description="a district (6 digits), street (9) or community (12) code",
    ),
]
GridQuery = Annotated[
    str | None, Query(pattern=codes.GRID, description="a grid code (14 or 15 digits)")
]

# The id of a row (a household, a list item, a centre) in a path.
RowId = Annotated[int, Path(ge=1, le=2**62, description="the row's id")]


# The largest map view the overlay lists answer for, in square degrees (about 50 km × 55 km
# around Beijing): a view of a district or smaller; a wider one asks for a whole city's points.
VIEW_MAX_DEG2 = 0.25


async def view_bbox_query(
    bbox: Annotated[
        str | None,
        Query(
            max_length=200,
            description="the map's view: west,south,east,north in WGS84 degrees, inside China, "
            f"at most {VIEW_MAX_DEG2} square degrees",
        ),
    ] = None,
) -> tuple[float, float, float, float] | None:
    """The ``bbox=`` of a map view: four numbers in order, inside China, not too large."""
    box = await bbox_query(bbox)
    if box is None:
        return None
    west, south, east, north = box
    if west == east or south == north:
        raise InvalidInput("bbox must have west < east and south < north")
    cw, cs, ce, cn = CHINA_BOUNDS
    if west < cw or east > ce or south < cs or north > cn:
        raise InvalidInput(
            f"bbox {west},{south},{east},{north} is not inside China's bounds "
            f"({cw},{cs},{ce},{cn}): lon and lat swapped?"
        )
    area = (east - west) * (north - south)
    if area > VIEW_MAX_DEG2:
        raise InvalidInput(
            f"bbox covers {area:.3f} square degrees; a view may cover at most {VIEW_MAX_DEG2}: "
            "zoom in, or ask by region"
        )
    return box


ViewBBoxDep = Annotated[tuple[float, float, float, float] | None, Depends(view_bbox_query)]
