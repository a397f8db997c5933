"""gridmap.schemas.org_checks: the organisation's checks (warnings) and figures, as answered."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class CheckProperties(BaseModel):
    """What a warning is about: the check's code, the grid and community, and its figures
    (``n``, ``min``, ``max``, ``person``, ``serves_n``, the building, household or post)."""

    model_config = ConfigDict(extra="allow")

    check: str
    grid_code: str | None
    community_code: str | None


class CheckFeature(BaseModel):
    """One warning: the grid's shape, or a point on the building."""

    type: Literal["Feature"]
    geometry: dict[str, Any] | None
    properties: CheckProperties


class ChecksPublic(BaseModel):
    """The warnings of a region, one Feature each, with how many of each check."""

    type: Literal["FeatureCollection"]
    region: str | None
    counts: dict[str, int]
    numberReturned: int
    features: list[CheckFeature]


class OrgFigures(BaseModel):
    """The organisation's figures of one community or street."""

    code: str
    name: str
    grids: int
    grids_with_branch: int
    branches: int
    buildings_with_households: int
    buildings_with_group: int
    group_share: float | None = Field(
        description="buildings with a group / buildings with households; null without any"
    )
    central_households: int
    households_served: int
    members: int
    in_service_registered: int
    hours_served: float


class OrgFiguresPublic(BaseModel):
    """Figures per community or street of a region."""

    region: str | None
    group: Literal["community", "street"]
    rows: list[OrgFigures]
