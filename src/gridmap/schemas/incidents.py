"""gridmap.schemas.incidents: an incident report and a workflow step as bodies, and the answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gridmap.schemas.approvals import ApprovalPublic
from gridmap.schemas.geojson import PageLinks
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


PlaceCode = Annotated[str, Field(pattern=r"^([0-9]{12}|[0-9]{14,15})$")]
DepartmentCode = Annotated[str, Field(pattern=codes.DEPARTMENT)]
TaskId = Annotated[int, Field(ge=1, le=2**62)]


class ActionIn(BaseModel):
    """What a step may take; each step reads the fields it needs (see the step's description).

    ``street``: dispatch (default: the street holding the incident); ``targets``: split (grid
    or community codes; default the grid holding it, else its community); ``departments`` and
    ``item``: whistle (default item: the whistle list's line for the category); ``tasks``:
    rework (default: every answered sub-task); ``score``: evaluate; ``reason``: return_up,
    rework, cancel.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str | None = Field(default=None, max_length=2000, pattern=codes.PARAGRAPH)
    reason: str | None = Field(default=None, max_length=500, pattern=codes.PARAGRAPH)
    score: int | None = Field(default=None, ge=0, le=100)
    street: str | None = Field(default=None, pattern=codes.STREET)
    targets: list[PlaceCode] | None = Field(default=None, min_length=1, max_length=20)
    departments: list[DepartmentCode] | None = Field(default=None, min_length=1, max_length=20)
    item: int | None = Field(default=None, ge=1, le=2**62)
    tasks: list[TaskId] | None = Field(default=None, min_length=1, max_length=20)


class TaskActionIn(BaseModel):
    """What a sub-task step may take: ``note`` (answer: the feedback), ``answered_by`` (answer:
    who answered, by default the token's holder), ``reason`` (withdraw)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str | None = Field(default=None, max_length=2000, pattern=codes.PARAGRAPH)
    reason: str | None = Field(default=None, max_length=500, pattern=codes.PARAGRAPH)
    answered_by: str | None = Field(default=None, max_length=50, pattern=codes.ONE_LINE)


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
    task_id: int | None = Field(default=None, description="the sub-task a step was taken on")


class PhotoPublic(BaseModel):
    """A stored photo of an incident, referenced by URL."""

    url: str
    type: str
    bytes: int
    sha256: str
    by: str
    key: str | None = Field(default=None, description="the Idempotency-Key it was sent with")


class TaskPublic(BaseModel):
    """A sub-task: 分单 to a grid or community, 联单 to a department."""

    id: int
    incident_id: int
    kind: str
    assignee_kind: str
    assignee_code: str | None
    assignee_name: str
    whistle_item_id: int | None
    suggested: bool | None
    state: str
    created_at: datetime
    created_by: str | None
    report_due_at: datetime | None
    due_at: datetime | None
    reported_in_at: datetime | None
    answered_at: datetime | None
    answered_by: str | None = Field(description="masked for callers without personal data")
    feedback: str | None
    photos: list[PhotoPublic]
    returned_count: int
    actions: list[str] = Field(description="the sub-task steps the caller may take now")


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
    owner_code: str | None = Field(description="the command centre holding it now")
    owner_name: str | None = Field(description="its name: a street's or a district's")
    pool_until: datetime | None = Field(description="when its street's pool window closes")
    parked_from: str | None
    parked_at: datetime | None
    change_seq: int
    overdue: bool
    events: list[IncidentEventPublic] | None = Field(
        default=None, description="one incident only: every event of its life"
    )
    actions: list[str] | None = Field(
        default=None, description="one incident only: the steps the caller may take now"
    )
    tasks: list[TaskPublic] | None = Field(
        default=None, description="one incident only: its sub-tasks"
    )
    approvals: list[ApprovalPublic] | None = Field(
        default=None, description="one incident only: requests to extend or park it"
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
    links: PageLinks


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
