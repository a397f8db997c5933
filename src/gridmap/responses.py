"""gridmap.responses: response classes with the right media types."""

from __future__ import annotations

from fastapi.responses import JSONResponse, Response


class GeoJSONResponse(JSONResponse):
    """GeoJSON (RFC 7946)."""

    media_type = "application/geo+json"


class MVTResponse(Response):
    """A Mapbox Vector Tile."""

    media_type = "application/vnd.mapbox-vector-tile"
