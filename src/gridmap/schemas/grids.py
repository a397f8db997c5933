"""gridmap.schemas.grids: a grid as a request body (a GeoJSON Feature), and the grid answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gridmap.schemas.geojson import CollectionOut, FeatureOut
from gridmap.vocab import codes
from gridmap.vocab.kinds import EXCLUSIVE_SUBTYPES, GridKind


class GridProperties(BaseModel):
    """Properties of a grid Feature; unknown properties (area, labels …) are ignored."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    code: str | None = Field(default=None, pattern=codes.GRID)
    community_code: str | None = Field(default=None, pattern=codes.COMMUNITY)
    name: str | None = Field(default=None, min_length=1, max_length=100, pattern=codes.ONE_LINE)
    kind: GridKind | None = None
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


# --- answers (they document /docs; the handlers send PostGIS's GeoJSON as it is) -------------


class GridVersionOut(BaseModel):
    """The properties of one version of a grid: who made it, when, and its area."""

    code: str
    version: int
    name: str
    kind: GridKind
    subtype: str | None = None
    community_code: str
    households: int | None = None
    valid_from: datetime
    valid_to: datetime | None = None
    changed_by: str | None = None
    note: str | None = None
    source: str | None = None
    area_m2: float


class GridOut(GridVersionOut):
    """The properties of a grid as answered: a version, its community and street, its label."""

    community_name: str
    street_code: str
    street_name: str | None = None
    label_lon: float
    label_lat: float


class GridFeatureOut(FeatureOut):
    """One grid as a GeoJSON Feature (after a write, also ``changed`` and maybe ``fixed``)."""

    properties: GridOut
    changed: bool | None = Field(default=None, description="after a write: whether it changed")
    fixed: dict[str, Any] | None = Field(
        default=None, description="after a write with ?fix=true: what fitting changed"
    )


class GridsPublic(CollectionOut):
    """A page of grids as a GeoJSON FeatureCollection."""

    features: list[GridFeatureOut]


class GridVersionFeature(FeatureOut):
    """One version of a grid as a Feature (``geometry`` null when asked without)."""

    properties: GridVersionOut


class GridHistory(CollectionOut):
    """Every version of a grid, oldest first."""

    code: str
    features: list[GridVersionFeature]


class GridRetired(BaseModel):
    """What retiring a grid did."""

    code: str
    version: int
    retired_at: datetime
    community_code: str


class Renumbered(BaseModel):
    """One code a renumbering changed."""

    old: str
    new: str


class RenumberReport(BaseModel):
    """What renumbering a community's grids did (or would do, on a dry run)."""

    community: str
    dry_run: bool
    renumbered: list[Renumbered]
    unchanged: list[str]


class ImportLine(BaseModel):
    """One feature of an imported file, and why it was rejected if it was."""

    index: int
    code: str | None
    name: str | None = None
    reason: str | None = None
    error: str | None = None


class ImportReport(BaseModel):
    """What importing a file created, updated, left and rejected."""

    committed: bool
    features: int
    created: list[ImportLine]
    updated: list[ImportLine]
    unchanged: list[ImportLine]
    rejected: list[ImportLine]
    crs: str
