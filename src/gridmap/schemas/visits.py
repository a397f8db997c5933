"""gridmap.schemas.visits: household visits (走访) and care tags, as bodies and answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gridmap.schemas.geojson import PageLinks
from gridmap.vocab import codes
from gridmap.vocab.kinds import CareTag, VisitOutcome

NOTE_MAX = 2000


class VisitIn(BaseModel):
    """A visit: which household, when (at most 5 minutes ahead, at most 30 days ago), what came
    of it, a note."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    household_id: Annotated[int, Field(ge=1, le=2**62)]
    at: datetime
    outcome: VisitOutcome
    note: str | None = Field(default=None, max_length=NOTE_MAX, pattern=codes.PARAGRAPH)


class VisitPublic(BaseModel):
    """A recorded visit; ``note`` is null and ``masked`` true for who may not see it, and the
    visitor's name keeps only the family name."""

    id: int
    household_id: int
    grid_code: str | None
    person_id: int | None
    person_name: str | None
    at: datetime
    outcome: VisitOutcome
    note: str | None
    masked: bool
    created_by: str | None
    created_at: datetime


class VisitsPage(BaseModel):
    """A page of visits, newest first."""

    numberMatched: int
    numberReturned: int
    visits: list[VisitPublic]
    links: PageLinks


class CareTagIn(BaseModel):
    """A care tag's fields; those left out keep their value (or their default, for a new tag)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    interval_days: int | None = Field(
        default=None, ge=1, le=366, description="this household's own interval (null: configured)"
    )
    since: date | None = Field(
        default=None,
        ge=date(1900, 1, 1),
        le=date(2100, 12, 31),
        description="when the need began (default: today)",
    )
    note: str | None = Field(default=None, max_length=NOTE_MAX, pattern=codes.PARAGRAPH)


class CareTagPublic(BaseModel):
    """One care tag of a household."""

    tag: CareTag
    interval_days: int | None = Field(description="the household's own interval, if any")
    since: date
    note: str | None
    interval: int | None = Field(default=None, description="the interval applied, in days")
    created_by: str | None = None


class HouseholdCare(BaseModel):
    """A household's care tags, its last visit and when the next is due."""

    household_id: int
    grid_code: str | None
    care_tags: list[CareTagPublic]
    last_visit_at: datetime | None
    next_visit_due: datetime | None


class OverdueProperties(BaseModel):
    """A household past its visit interval; ``care_tags`` null and ``masked`` for who may not
    see them."""

    household_id: int
    building_id: int
    address: str | None
    unit: str
    room: str
    grid_code: str | None
    last_visit_at: datetime | None
    due_at: datetime
    days_overdue: int
    care_tags: list[dict[str, Any]] | None
    masked: bool


class OverdueFeature(BaseModel):
    """An overdue household as a point on its building."""

    type: Literal["Feature"]
    geometry: dict[str, Any] | None
    properties: OverdueProperties


class OverdueCollection(BaseModel):
    """The households overdue for a visit at ``at``, most overdue first."""

    type: Literal["FeatureCollection"]
    at: datetime
    numberReturned: int
    features: list[OverdueFeature]
