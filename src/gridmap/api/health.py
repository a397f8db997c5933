"""gridmap.api.health: ``GET /health``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from gridmap.errors import RETRY_AFTER_SECONDS
from gridmap.queries.health import health as health_query

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    responses={503: {"description": "The database is not usable, and why"}},
    summary="Database reachable, PostGIS version, data counts, read replica lag",
)
def health(request: Request) -> Any:
    """``200`` with versions and counts, or ``503`` saying why the database is not usable."""
    try:
        with request.app.state.sessionmaker() as session:
            info = health_query(session)
            reads = getattr(request.app.state, "reads", None)
            # The read replica's state and lag (null without one); it never fails /health.
            info["replica"] = reads.status(session) if reads is not None else None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return JSONResponse(
            status_code=503,
            content={
                "status": "unavailable",
                "detail": f"database not usable: {reason}",
                "code": "database_unavailable",
            },
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return {"status": "ok", "database": "ok", **info}
