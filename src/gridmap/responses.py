"""gridmap.responses: response classes with the right media types; how answers are documented."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, Response


class GeoJSONResponse(JSONResponse):
    """GeoJSON (RFC 7946)."""

    media_type = "application/geo+json"


class MVTResponse(Response):
    """A Mapbox Vector Tile."""

    media_type = "application/vnd.mapbox-vector-tile"


def created(feature: dict[str, Any], location: str, *, new: bool = True) -> GeoJSONResponse:
    """The answer to a write that made ``feature`` (201 with its ``Location``), or found it made
    already (``new`` False: 200, the same ``Location``)."""
    return GeoJSONResponse(feature, status_code=201 if new else 200, headers={"Location": location})


def documented(model: Any, *statuses: int, status: int = 200) -> dict[str, Any]:
    """Route keywords that show ``model`` in ``/docs`` as the answer with ``status`` (and
    ``statuses`` as other answers) while what the handler returns, a dict or a Response, is sent
    as it is: no validation and no second serialisation, so answers stay as the handler built
    them."""
    return {
        "response_model": None,
        "responses": {status: {"model": model}, **{other: {} for other in statuses}},
    }
