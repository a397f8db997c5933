"""gridmap.responses: response classes with the right media types."""

from __future__ import annotations

from fastapi.responses import JSONResponse


class GeoJSONResponse(JSONResponse):
    """GeoJSON (RFC 7946)."""

    media_type = "application/geo+json"
