"""gridmap.main: assembles the app — lifespan, middleware, error handlers, routers, the map."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from gridmap import __version__, openapi
from gridmap.api import api_router, root_router
from gridmap.api.open311 import open311_errors
from gridmap.database import (
    database_gone,
    database_url,
    make_engine,
    make_sessionmaker,
    read_database_url,
)
from gridmap.errors import (
    RETRY_AFTER_SECONDS,
    DatabaseUnavailable,
    GridmapError,
    PreconditionFailed,
    PreconditionRequired,
    TryAgain,
    Unauthorized,
    error_body,
    lost_a_race,
    status_for,
)
from gridmap.fastpath import LookupFastPath
from gridmap.guard import InputGuard
from gridmap.head import HeadAsGet
from gridmap.live import LiveGrids
from gridmap.middleware import BodyLimit
from gridmap.ogc.errors import ogc_error
from gridmap.ogc.fast import OgcFastPath
from gridmap.ogc.fast import Pool as OgcPool
from gridmap.replica import ReadRouter, WrittenLsn
from gridmap.scheduler import PoolWindow
from gridmap.services.partitions import ensure_months
from gridmap.settings import Settings, get_settings

log = logging.getLogger("gridmap")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    422: "invalid_input",
    428: "precondition_required",
}


DATABASE_AWAY = "the database is not answering; try again shortly"


def _validation_message(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def _is_ogc(request: Request) -> bool:
    path = request.url.path
    return path == "/ogc" or path.startswith("/ogc/")


def add_exception_handlers(app: FastAPI) -> None:
    """Every error answers ``{"detail": ..., "code": ...}``."""

    async def domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GridmapError)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        if isinstance(exc, PreconditionFailed | PreconditionRequired) and "etag" in exc.extra:
            headers = {"ETag": exc.extra["etag"]}
        if isinstance(exc, DatabaseUnavailable):
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if isinstance(exc, TryAgain):
            headers = {"Retry-After": "1"}
        if "retry_after" in exc.extra:
            headers = {"Retry-After": str(exc.extra["retry_after"])}
        if request.url.path.startswith("/open311/"):
            return open311_errors(request, status_for(exc), exc.message, headers)
        if _is_ogc(request):
            return ogc_error(status_for(exc), exc.code, exc.message, headers, **exc.extra)
        return JSONResponse(status_code=status_for(exc), content=error_body(exc), headers=headers)

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        raw = exc.errors()
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in raw
        ]
        if request.url.path.startswith("/open311/"):
            return open311_errors(request, 422, _validation_message(errors))
        if _is_ogc(request):
            return ogc_error(422, "invalid_input", _validation_message(errors), errors=errors)
        broken = next((e for e in raw if e.get("type") == "json_invalid"), None)
        if broken is not None:
            reason = (broken.get("ctx") or {}).get("error", "not JSON")
            where = broken.get("loc", ("body", 0))[-1]
            return JSONResponse(
                status_code=422,
                content={
                    "detail": f"the body is not valid JSON: {reason} at character {where}",
                    "code": "invalid_json",
                    "errors": errors,
                },
            )
        return JSONResponse(
            status_code=422,
            content={
                "detail": _validation_message(errors),
                "code": "invalid_input",
                "errors": errors,
            },
        )

    async def database(request: Request, exc: Exception) -> Response:
        # A deadlock or serialization failure: this writer lost a race and was rolled back.
        if lost_a_race(exc):
            return await domain(
                request,
                TryAgain("another change was being written at the same time; send it again"),
            )
        # Only a lost or unreachable database is a 503; any other database error is a fault of
        # ours and stays a 500 with its traceback in the log.
        if not database_gone(exc):
            raise exc
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return await domain(request, DatabaseUnavailable(DATABASE_AWAY))

    async def unexpected(_request: Request, _exc: Exception) -> Response:
        # Starlette still logs and re-raises the exception after this answer is sent; the
        # client gets the same JSON shape as every other error instead of plain text.
        return JSONResponse(
            status_code=500,
            content={"detail": "internal error; it has been logged", "code": "internal_error"},
        )

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if request.url.path.startswith("/open311/"):
            return open311_errors(request, exc.status_code, str(exc.detail))
        if _is_ogc(request):
            code = _HTTP_CODES.get(exc.status_code, "error")
            return ogc_error(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": exc.detail, "code": _HTTP_CODES.get(exc.status_code, "error")},
            headers=getattr(exc, "headers", None),
        )

    app.add_exception_handler(GridmapError, domain)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(DBAPIError, database)
    app.add_exception_handler(psycopg.Error, database)
    app.add_exception_handler(PoolTimeout, database)
    app.add_exception_handler(Exception, unexpected)


def _ensure_months(sessions: Any) -> None:
    # This month's incident partition and the next two exist before the first report; a
    # database that is away now is answered for by /health, and the next start makes them.
    try:
        with sessions() as session, session.begin():
            ensure_months(session)
    except DBAPIError:
        return


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gridmap app for ``settings`` (read from the environment when not given)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = database_url(settings.db)
        engine = make_engine(url, pool_size=settings.db.pool_size)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        _ensure_months(app.state.sessionmaker)
        # Reads of GET routes go to the standby when there is one (gridmap.replica).
        read_url = read_database_url(settings.db)
        reads = ReadRouter(
            make_engine(read_url, pool_size=settings.db.pool_size) if read_url else None
        )
        app.state.reads = reads
        index_dir = settings.api.index_dir
        live = LiveGrids(
            url if settings.api.live_lookup else None,
            poll_url=read_url,
            poll_seconds=settings.db.replica_poll_seconds,
            index_dir=index_dir / str(make_url(url).database) if index_dir else None,
        )
        if read_url:
            reads.seen_lsn = live.seen_lsn
        app.state.live = live
        live.start()
        api = settings.api
        pool = PoolWindow(
            url,
            tick_seconds=api.pool_tick_seconds,
            auto_dispatch=api.pool_auto_dispatch,
            timezone=api.timezone,
            day_start=api.working_day_start,
            day_end=api.working_day_end,
        )
        app.state.pool_window = pool
        pool.start()
        if settings.api.ogc_fast_path:
            app.state.ogc_pool = OgcPool(read_url or url, size=settings.db.pool_size)
        try:
            yield
        finally:
            if settings.api.ogc_fast_path:
                await app.state.ogc_pool.close()
            # A run in progress ends within the connect timeout; the thread is a daemon anyway.
            pool.stop(timeout=10)
            live.stop()
            engine.dispose()
            if reads.engine is not None:
                reads.engine.dispose()

    app = FastAPI(
        title="gridmap",
        version=__version__,
        summary="Grids, lookup, incidents and coverage for grid-based urban governance.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    openapi.install(app)
    app.state.settings = settings
    add_exception_handlers(app)

    # Outermost last: HEAD becomes GET, the body is capped, text inputs are checked, and only
    # then may the anonymous lookup be answered from memory. The guard runs before the fast path
    # so a control character gets the same 422 there as on every route (float() would take
    # "116.3\x1f" as 116.3); on a lookup it costs one regex search of the query string. The
    # OGC fast path sits innermost, behind the same guard.
    if settings.api.ogc_fast_path:
        app.add_middleware(OgcFastPath)
    if settings.api.live_lookup:
        app.add_middleware(LookupFastPath)
    app.add_middleware(InputGuard)
    app.add_middleware(
        BodyLimit,
        limit=settings.api.max_body_bytes,
        upload_limit=settings.api.max_upload_bytes,
    )
    app.add_middleware(HeadAsGet)
    app.add_middleware(WrittenLsn)

    app.include_router(api_router)
    app.include_router(root_router)

    @app.get("/api/v1/map-config", tags=["map"], summary="What the browser map needs to start")
    def map_config() -> dict[str, Any]:
        return {
            "tile_url": settings.api.tile_url,
            "tile_attribution": settings.api.tile_attribution,
            "tile_crs": settings.api.tile_crs,
            "start_region": settings.api.start_region,
        }

    web = settings.api.web_dir
    if web.is_dir():
        app.mount("/", StaticFiles(directory=web, html=True), name="web")
    return app
