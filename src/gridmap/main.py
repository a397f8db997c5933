"""gridmap.main: assembles the app — lifespan, middleware, error handlers, routers, the map."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from gridmap import __version__, openapi
from gridmap.api import api_router, root_router
from gridmap.database import database_url, make_engine, make_sessionmaker
from gridmap.errors import (
    GridmapError,
    PreconditionFailed,
    PreconditionRequired,
    Unauthorized,
    error_body,
    status_for,
)
from gridmap.fastpath import LookupFastPath
from gridmap.live import LiveGrids
from gridmap.middleware import BodyLimit
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


def _validation_message(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def add_exception_handlers(app: FastAPI) -> None:
    """Every error answers ``{"detail": ..., "code": ...}``."""

    async def domain(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GridmapError)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        if isinstance(exc, PreconditionFailed | PreconditionRequired) and "etag" in exc.extra:
            headers = {"ETag": exc.extra["etag"]}
        return JSONResponse(status_code=status_for(exc), content=error_body(exc), headers=headers)

    async def validation(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return JSONResponse(
            status_code=422,
            content={
                "detail": _validation_message(errors),
                "code": "invalid_input",
                "errors": errors,
            },
        )

    async def http(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": exc.detail, "code": _HTTP_CODES.get(exc.status_code, "error")},
            headers=getattr(exc, "headers", None),
        )

    app.add_exception_handler(GridmapError, domain)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gridmap app for ``settings`` (read from the environment when not given)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = database_url(settings.db)
        engine = make_engine(url, pool_size=settings.db.pool_size)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        live = LiveGrids(url if settings.api.live_lookup else None)
        app.state.live = live
        live.start()
        try:
            yield
        finally:
            live.stop()
            engine.dispose()

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

    if settings.api.live_lookup:
        app.add_middleware(LookupFastPath)
    app.add_middleware(
        BodyLimit,
        limit=settings.api.max_body_bytes,
        upload_limit=settings.api.max_upload_bytes,
    )

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
