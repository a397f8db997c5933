"""gridmap.schemas.geojson: the shapes every GeoJSON answer shares (RFC 7946, OGC API paging)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class Named(BaseModel):
    """A code and its name."""

    code: str
    name: str


class FeatureOut(BaseModel):
    """A GeoJSON Feature as answered (``geometry`` null when there is none or none was asked)."""

    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] | None


class CollectionOut(BaseModel):
    """A GeoJSON FeatureCollection with the OGC API counts."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    numberMatched: int  # noqa: N815 (OGC API name)
    numberReturned: int  # noqa: N815 (OGC API name)
