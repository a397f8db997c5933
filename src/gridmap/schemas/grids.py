"""gridmap.schemas.grids: a grid as a request body (a GeoJSON Feature) and its properties."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gridmap.vocab import codes
from gridmap.vocab.kinds import EXCLUSIVE_SUBTYPES


class GridProperties(BaseModel):
    """Properties of a grid Feature; unknown properties (area, labels …) are ignored."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    code: str | None = Field(default=None, pattern=codes.GRID)
    community_code: str | None = Field(default=None, pattern=codes.COMMUNITY)
    name: str | None = Field(default=None, min_length=1, max_length=100, pattern=codes.ONE_LINE)
    kind: Literal["basic", "exclusive"] | None = None
    subtype: str | None = None
    households: int | None = Field(default=None, ge=0, le=100_000)

    @field_validator("subtype")
    @classmethod
    def _known_subtype(cls, value: str | None) -> str | None:
        if value is not None and value not in EXCLUSIVE_SUBTYPES:
            raise ValueError(f"subtype must be one of {', '.join(EXCLUSIVE_SUBTYPES)}")
        return value


class GridFeature(BaseModel):
    """A grid as a GeoJSON Feature (RFC 7946); the geometry is checked by gridmap.geo.shapes."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["Feature"]
    geometry: dict[str, Any] | None = None
    properties: GridProperties = Field(default_factory=GridProperties)
