"""gridmap.schemas.approvals: requests to extend or park, decisions, and approvals as shown."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridmap.schemas.geojson import PageLinks
from gridmap.vocab import codes

# The longest extension one request may ask for: 30 days.
EXTEND_HOURS_MAX = 720


class ApprovalIn(BaseModel):
    """A request: to extend (``hours``, 1–720) the incident's or a sub-task's (``task_id``) time
    limit, or to park the incident, with a reason."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["extend", "park"]
    reason: str = Field(min_length=1, max_length=500, pattern=codes.PARAGRAPH)
    hours: int | None = Field(default=None, ge=1, le=EXTEND_HOURS_MAX)
    task_id: int | None = Field(default=None, ge=1, le=2**62)

    @model_validator(mode="after")
    def _hours_for_extend(self) -> ApprovalIn:
        if self.kind == "extend" and self.hours is None:
            raise ValueError(f"an extension needs hours (1–{EXTEND_HOURS_MAX})")
        if self.kind == "park" and self.hours is not None:
            raise ValueError("a parking takes no hours: it lasts until the incident is resumed")
        return self


class DecisionIn(BaseModel):
    """A decision's note (optional)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str | None = Field(default=None, max_length=2000, pattern=codes.PARAGRAPH)


class ApprovalPublic(BaseModel):
    """A request to extend (延期) or park (挂账) and its decision, times in ISO 8601;
    ``may_decide``: whether the caller may decide it now."""

    id: int
    incident_id: int
    task_id: int | None
    kind: str
    reason: str
    hours: int | None
    requested_by: str
    requested_at: datetime
    decider_code: str | None
    decision: str
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    may_decide: bool


class ApprovalMade(ApprovalPublic):
    """A request just made, with the incident's version after it (its new ETag)."""

    version: int


class ApprovalPage(BaseModel):
    """A page of approvals, newest first."""

    numberMatched: int  # noqa: N815 (the OGC name every list of the API uses)
    numberReturned: int  # noqa: N815
    approvals: list[ApprovalPublic]
    links: PageLinks
