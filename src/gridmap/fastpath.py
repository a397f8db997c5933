"""gridmap.fastpath: answer the commonest request — a point lookup — before FastAPI.

``GET /api/v1/lookup?lon=&lat=[&crs=]`` without ``at``, anonymous or with a token this process
holds in its token cache (:data:`gridmap.auth.TOKENS`), is answered here, straight from the
in-memory grids of :mod:`gridmap.live`, when they are current: the same functions build the same
answer as the FastAPI route, for the same principal, without its routing and dependency
machinery, which on a small machine costs several times the lookup itself. Anything else (a
token not in the cache or refused, ``at``, an unparsable parameter, grids not yet loaded) passes
through to FastAPI, which gives the canonical answer or error.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from gridmap.auth import ANONYMOUS, Principal, cached_principal, note_use
from gridmap.dependencies import bearer_secret, grid_generation
from gridmap.errors import GridmapError, error_body, status_for
from gridmap.geo.crs import normalize_crs, to_wgs84
from gridmap.services.lookup import answer_from_memory

PATH = "/api/v1/lookup"
_ALLOWED = {"lon", "lat", "crs"}


class LookupFastPath:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a plain anonymous lookup from memory, or pass the request on."""
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        answer = self.answer(scope)
        if answer is None:
            await self.app(scope, receive, send)
            return
        status, body = answer
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    @staticmethod
    def answer(scope: Scope) -> tuple[int, dict[str, Any]] | None:
        """The status and body of the answer to the request of ``scope``, or None when FastAPI
        is to answer it."""
        state = getattr(scope.get("app"), "state", None)
        live = getattr(state, "live", None)
        snap = live.fresh() if live is not None else None
        if snap is None:
            return None
        reads = getattr(state, "reads", None)
        if reads is not None and reads.pinned(scope.get("headers", ())):
            # The caller's own write is not in the standby's grids yet: the route reads the
            # primary.
            return None
        principal = _principal(scope, state)
        if principal is None:
            return None
        try:
            pairs = parse_qsl(scope.get("query_string", b"").decode(), strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            return None
        params = dict(pairs)
        if len(params) != len(pairs) or set(params) - _ALLOWED or not {"lon", "lat"} <= set(params):
            return None
        if "_" in params["lon"] or "_" in params["lat"]:  # float() takes 1_000; the API does not
            return None
        try:
            lon, lat = float(params["lon"]), float(params["lat"])
            crs_in = params.get("crs")
            if crs_in is not None and (len(crs_in) > 64 or not crs_in):
                return None
            if not (math.isfinite(lon) and math.isfinite(lat)):
                return None
            crs = normalize_crs(crs_in)
            wlon, wlat = to_wgs84(lon, lat, crs)
        except (ValueError, GridmapError):
            return None
        try:
            return 200, answer_from_memory(
                snap, x=lon, y=lat, crs=crs, lon=wlon, lat=wlat, principal=principal
            )
        except GridmapError as exc:
            return status_for(exc), error_body(exc)


def _principal(scope: Scope, state: Any) -> Principal | None:
    """The caller when known without the database: anonymous, or a token in the cache."""
    sent = [value for name, value in scope.get("headers", ()) if name == b"authorization"]
    if not sent:
        return ANONYMOUS
    if len(sent) > 1:
        return None
    try:
        secret = bearer_secret(sent[0].decode("latin-1"))
        principal = cached_principal(secret, generation=grid_generation(state))
    except GridmapError:
        return None
    if principal is not None:
        note_use(state.engine, principal)
    return principal
