"""gridmap.schemas.grids: a grid as a request body (a GeoJSON Feature), and the grid answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

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


# --- the batch write, merge and split ----------------------------------------------------------

MAX_BATCH = 200


class GridChange(BaseModel):
    """One entry of a batch: change the grid ``code``, retire it, or (no code) add a grid."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, pattern=codes.GRID)
    if_match: str | None = Field(
        default=None, max_length=400, description="the ETag read (required with a code)"
    )
    geometry: dict[str, Any] | None = None
    properties: GridProperties = Field(default_factory=GridProperties)
    retire: StrictBool = False
    fix: StrictBool = Field(default=False, description="give way: clip to community, neighbours")
    fill: StrictBool = Field(default=False, description="also take the gaps along this grid")


class GridBatch(BaseModel):
    """A batch of grid changes, written in one transaction or not at all."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str | None = Field(default=None, max_length=200, pattern=codes.ONE_LINE)
    changes: list[GridChange] = Field(min_length=1, max_length=MAX_BATCH)

    @field_validator("changes")
    @classmethod
    def _one_entry_per_code(cls, value: list[GridChange]) -> list[GridChange]:
        seen: set[str] = set()
        for change in value:
            if change.code is None:
                continue
            if change.code in seen:
                raise ValueError(f"grid {change.code} appears twice; give one entry per grid")
            seen.add(change.code)
        return value


class GridMerge(BaseModel):
    """Merge grid ``code`` with the grid ``with``: the lower code keeps the union."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)

    other: str = Field(alias="with", pattern=codes.GRID)
    if_match: dict[
        Annotated[str, Field(pattern=codes.GRID)], Annotated[str, Field(max_length=400)]
    ] = Field(default_factory=dict, max_length=2, description="code → the ETag read, for both")
    name: str | None = Field(default=None, min_length=1, max_length=100, pattern=codes.ONE_LINE)
    note: str | None = Field(default=None, max_length=200, pattern=codes.ONE_LINE)


class GridSplit(BaseModel):
    """Split grid ``code`` in two along ``line`` (a GeoJSON LineString)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    line: dict[str, Any]
    if_match: str | None = Field(default=None, max_length=400)
    name: str | None = Field(default=None, min_length=1, max_length=100, pattern=codes.ONE_LINE)
    note: str | None = Field(default=None, max_length=200, pattern=codes.ONE_LINE)


class BatchGridOut(GridFeatureOut):
    """A grid a batch wrote (or named), with its ETag."""

    etag: str


class Noded(BaseModel):
    """A neighbour that got vertices where a written grid meets it."""

    code: str
    vertices: int


class CommunityCoverage(BaseModel):
    """A community's coverage as it is after the batch (or would be)."""

    share: float
    exact: bool
    gaps_m2: float
    overlaps_m2: float
    invalid_edges: int
    gaps: dict[str, Any]
    overlaps: dict[str, Any]


class BatchResult(BaseModel):
    """What a batch (or merge, or split) wrote, or would write on a dry run."""

    dry_run: bool
    grids: list[BatchGridOut]
    retired: list[str]
    noded: list[Noded]
    coverage: dict[str, CommunityCoverage]
