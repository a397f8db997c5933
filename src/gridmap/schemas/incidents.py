"""gridmap.schemas.incidents: an incident report and a workflow step as bodies, and the answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gridmap.vocab import codes
from gridmap.vocab.kinds import DispatchMode, Severity


class IncidentIn(BaseModel):
    """A report: where (``x``/``y`` in ``crs``), what, how serious, by whom."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    x: float
    y: float
    crs: str | None = Field(default=None, max_length=64)
    category: str = Field(min_length=3, max_length=64)
    severity: Severity = "general"
    description: str | None = Field(default=None, max_length=2000, pattern=codes.PARAGRAPH)
    reporter_name: str | None = Field(default=None, max_length=50, pattern=codes.PARAGRAPH)
    reporter_phone: str | None = Field(default=None, pattern=codes.PHONE)


class ActionIn(BaseModel):
    """What an action needs: a note, a reason, a dispatch mode and assignees, hours, a score."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str | None = Field(default=None, max_length=2000, pattern=codes.PARAGRAPH)
    reason: str | None = Field(default=None, max_length=500, pattern=codes.PARAGRAPH)
    mode: DispatchMode | None = None
    assignees: list[Annotated[str, Field(max_length=100)]] | None = Field(
        default=None, max_length=20
    )
    hours: int | None = Field(default=None, ge=1, le=720)
    score: int | None = Field(default=None, ge=0, le=100)


class MergeIn(BaseModel):
    """The original a duplicate belongs to."""

    model_config = ConfigDict(extra="forbid")

    into: int = Field(ge=1, le=2**62)


class IncidentEventPublic(BaseModel):
    """One step of an incident's life."""

    seq: int
    action: str
    from_status: str | None
    to_status: str
    actor: str | None
    at: datetime
    note: str | None


class PhotoPublic(BaseModel):
    """A stored photo of an incident, referenced by URL."""

    url: str
    type: str
    bytes: int
    sha256: str
    by: str


class IncidentProperties(BaseModel):
    """An incident's properties; reporters are masked for callers who may not see them."""

    id: int
    category: str
    severity: Severity
    description: str | None
    status: str
    grid_code: str | None
    community_code: str | None
    street_code: str | None
    distance_to_grid_m: float | None = Field(description="in no grid: metres to the nearest")
    reported_at: datetime
    dispatched_at: datetime | None
    due_at: datetime | None
    closed_at: datetime | None
    score: int | None
    dispatch_mode: DispatchMode | None
    assignees: list[str]
    merged_into: int | None
    returned_count: int
    crs_in: str
    photos: list[PhotoPublic]
    reporter_name: str | None
    reporter_phone: str | None
    version: int
    overdue: bool
    events: list[IncidentEventPublic] | None = Field(
        default=None, description="one incident only: every event of its life"
    )


class DuplicateCandidate(BaseModel):
    """An open incident of the same category reported nearby, recently."""

    id: int
    category: str
    status: str
    reported_at: datetime
    distance_m: float


class IncidentFeature(BaseModel):
    """An incident as a GeoJSON Feature (a point in EPSG:4326)."""

    type: Literal["Feature"]
    geometry: dict[str, Any]
    properties: IncidentProperties
    duplicates: list[DuplicateCandidate] | None = Field(
        default=None, description="a new report only: possible duplicates nearby"
    )


class IncidentPage(BaseModel):
    """A page of incidents as a GeoJSON FeatureCollection, newest first."""

    model_config = ConfigDict(populate_by_name=True)

    type: Literal["FeatureCollection"]
    number_matched: int = Field(alias="numberMatched")
    number_returned: int = Field(alias="numberReturned")
    features: list[IncidentFeature]


class ImportRowError(BaseModel):
    """A row of an import file and what is wrong with it."""

    row: int
    problems: list[str]


class ImportReport(BaseModel):
    """What an import found and (when committed) wrote."""

    source: str
    rows: int
    crs: str
    committed: bool
    errors: list[ImportRowError] | None = None
    rows_with_errors: int | None = None
    in_grid: int | None = None
    outside_grids: int | None = None
    inserted: int | None = None
    skipped_existing: int | None = None
