"""gridmap.ogc.errors: errors on ``/ogc/…`` as OGC API exceptions."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


def ogc_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """An OGC exception (``code``, ``description``), with gridmap's stable ``code`` word and
    ``detail`` as on every other answer. Bad parameters are 400 in OGC, where the rest of
    gridmap says 422."""
    status = 400 if status == 422 else status
    body = {"code": code, "description": message, "detail": message, **extra}
    return JSONResponse(body, status_code=status, headers=headers)
