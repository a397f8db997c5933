"""gridmap.schemas.centres: service centres, their circles and coverage, in and out."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridmap.schemas import kept
from gridmap.schemas.geojson import PageLinks
from gridmap.vocab import codes
from gridmap.vocab.kinds import CenterKind

Kind = CenterKind


class CenterIn(BaseModel):
    """A new centre: its code, kind, name, hours, address and point (``x``/``y`` in ``crs``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(pattern=codes.CENTER)
    kind: Kind
    name: str = Field(min_length=1, max_length=100, pattern=codes.PARAGRAPH)
    opening_hours: str | None = Field(default=None, max_length=200, pattern=codes.PARAGRAPH)
    address: str | None = Field(default=None, max_length=200, pattern=codes.PARAGRAPH)
    x: float
    y: float
    crs: str | None = Field(default=None, max_length=64)


class CenterPatch(BaseModel):
    """Fields of a centre to change; a new point moves it (its circles are drawn again)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Kind | None = None
    name: str | None = Field(default=None, min_length=1, max_length=100, pattern=codes.PARAGRAPH)
    opening_hours: str | None = Field(default=None, max_length=200, pattern=codes.PARAGRAPH)
    address: str | None = Field(default=None, max_length=200, pattern=codes.PARAGRAPH)
    x: float | None = None
    y: float | None = None
    crs: str | None = Field(default=None, max_length=64)

    @model_validator(mode="before")
    @classmethod
    def _no_emptied_fields(cls, data: Any) -> Any:
        return kept(data, "kind", "name")


class CircleBrief(BaseModel):
    """One of a centre's circles: its minutes, how it was drawn and when."""

    minutes: int
    method: Literal["network", "buffer"]
    computed_at: datetime


class CenterProperties(BaseModel):
    """A centre's properties and the circles it has (``null`` when none)."""

    id: int
    code: str
    kind: Kind
    name: str
    opening_hours: str | None
    address: str | None
    region_code: str | None
    source: str | None
    circles: list[CircleBrief] | None


class CenterFeature(BaseModel):
    """A centre as a GeoJSON Feature (a point)."""

    type: Literal["Feature"]
    geometry: dict[str, Any]
    properties: CenterProperties


class CentersPage(BaseModel):
    """A page of centres: a GeoJSON FeatureCollection with its counts."""

    type: Literal["FeatureCollection"]
    numberMatched: int
    numberReturned: int
    features: list[CenterFeature]
    links: PageLinks


class CircleProperties(BaseModel):
    """A stored circle: its centre, minutes, method, parameters and area."""

    id: int
    center_id: int
    center_code: str
    center_name: str
    center_kind: Kind
    minutes: int
    method: Literal["network", "buffer"]
    params: dict[str, Any]
    computed_at: datetime
    area_km2: float


class CircleFeature(BaseModel):
    """A circle as a GeoJSON Feature (a MultiPolygon)."""

    type: Literal["Feature"]
    geometry: dict[str, Any]
    properties: CircleProperties


class Circles(BaseModel):
    """Stored circles as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"]
    numberReturned: int
    features: list[CircleFeature]


class Uncovered(BaseModel):
    """Buildings outside every circle (GeoJSON), each with the nearest circle's centre and
    distance (``nearest_center_id``, ``nearest_center``, ``metres_to_nearest_circle``)."""

    type: Literal["FeatureCollection"]
    minutes: int
    numberReturned: int
    features: list[dict[str, Any]]


class Figures(BaseModel):
    """Buildings and households, and how many of them lie inside a circle."""

    buildings: int
    buildings_covered: int
    households: int
    households_covered: int
    share: float | None


class AreaFigures(Figures):
    """The figures of one street, community or grid."""

    code: str
    name: str | None
    kind: str | None = None
    subtype: str | None = None


class ExclusiveFigures(BaseModel):
    """The exclusive grids' figures and their totals."""

    totals: Figures
    grids: list[AreaFigures]


class Coverage(BaseModel):
    """Homes inside the circles of ``minutes``: totals, per street, community and grid."""

    region: str | None
    minutes: int
    centres: int
    totals: Figures
    streets: list[AreaFigures]
    communities: list[AreaFigures]
    grids: list[AreaFigures]
    exclusive_grids: ExclusiveFigures
    uncovered: Uncovered
