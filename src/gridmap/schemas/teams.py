"""gridmap.schemas.teams: grid teams (网格团队) and reassignment after a redraw, in and out."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridmap.vocab import codes

# gridmap.vocab.roles.STAFF_ROLES, spelled out for the OpenAPI document (a test keeps them equal).
StaffRole = Literal[
    "leader", "worker", "guide", "police", "mediator", "safety", "vanguard", "volunteer"
]
TeamName = Annotated[str, Field(min_length=1, max_length=60, pattern=r"\S")]
RowId = Annotated[int, Field(ge=1, le=2**62)]
# A person sent for reassignment, or a post, at most this many in one request.
MAX_REASSIGN = 500


class PersonIn(BaseModel):
    """A new person: a name and, optionally, a phone (personal data)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=40, pattern=r"\S")
    phone: str | None = Field(default=None, pattern=codes.PHONE)


class StaffIn(BaseModel):
    """A post in a grid team: who (a person's id, or a new person), in which role, in which N:
    team (for vanguards and volunteers), since when."""

    model_config = ConfigDict(extra="forbid")

    person_id: RowId | None = None
    person: PersonIn | None = None
    role: StaffRole
    team: TeamName | None = None
    since: date | None = None

    @model_validator(mode="after")
    def _one_person(self) -> StaffIn:
        if (self.person_id is None) == (self.person is None):
            raise ValueError("give either person_id or person {name, phone}")
        return self


class StaffPatch(BaseModel):
    """A post's role, N: team or term start; the fields sent are changed (null clears team or
    since)."""

    model_config = ConfigDict(extra="forbid")

    role: StaffRole | None = None
    team: TeamName | None = None
    since: date | None = None


class StaffMove(BaseModel):
    """Move a post to another grid."""

    model_config = ConfigDict(extra="forbid")

    grid_code: str = Field(pattern=codes.GRID)


class StaffPublic(BaseModel):
    """A post of a grid team; the person's id, name and phone are null (and ``masked`` true) for
    a caller who may not see the grid's personal data."""

    id: int
    grid_code: str
    role: str
    team: str | None
    since: date | None
    person_id: int | None
    name: str | None
    phone: str | None
    masked: bool


class TeamGrid(BaseModel):
    """The grid a team serves."""

    code: str
    name: str
    kind: str
    community_code: str


class TeamPublic(BaseModel):
    """A grid and its team, leader first."""

    grid: TeamGrid
    team: list[StaffPublic]


class StaffRetired(BaseModel):
    """A post that was given up: the row is gone, the audit log keeps it."""

    id: int
    grid_code: str
    role: str
    retired: Literal[True]


class StaffTarget(BaseModel):
    """Where a post of a retired grid may go: the share of the old grid's area it covers."""

    grid_code: str
    name: str
    share: float


class StaffToReassign(StaffPublic):
    """A post left on a grid that no longer exists, with suggested grids (most area first)."""

    suggested: list[StaffTarget]


class GroupTarget(BaseModel):
    """A group a designated household may join."""

    id: int
    name: str


class HouseholdToReassign(BaseModel):
    """A designated household whose building now lies outside its group's branch grids."""

    id: int
    building_id: int
    address: str | None
    unit: str
    room: str
    grid_code: str | None
    group_id: int
    group_name: str
    suggested: GroupTarget | None
    branch: GroupTarget | None = Field(
        description="the branch of the building's grid, when no group there can take it"
    )


class ReassignPublic(BaseModel):
    """What a redraw left to reassign at a grid code."""

    grid_code: str
    current: bool
    staff: list[StaffToReassign]
    households: list[HouseholdToReassign]


class StaffTo(BaseModel):
    """A post and the grid it goes to."""

    model_config = ConfigDict(extra="forbid")

    id: RowId
    grid_code: str = Field(pattern=codes.GRID)


class HouseholdTo(BaseModel):
    """A designated household and the group it goes to."""

    model_config = ConfigDict(extra="forbid")

    id: RowId
    group_id: RowId


class ReassignIn(BaseModel):
    """Reassignments, all made or none."""

    model_config = ConfigDict(extra="forbid")

    staff: list[StaffTo] = Field(default_factory=list, max_length=MAX_REASSIGN)
    households: list[HouseholdTo] = Field(default_factory=list, max_length=MAX_REASSIGN)

    @model_validator(mode="after")
    def _something(self) -> ReassignIn:
        if not self.staff and not self.households:
            raise ValueError("send at least one post or household to reassign")
        return self


class ReassignDone(BaseModel):
    """What was reassigned."""

    grid_code: str
    staff: list[dict[str, Any]]
    households: list[dict[str, Any]]
