"""gridmap.schemas.me: who a bearer token is, as the sign-in form shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from gridmap.vocab.kinds import RegionLevel

HolderKind = Literal["office", "staff", "party_member", "party_org", "department"]
Role = Literal[
    "admin", "district", "street", "community", "worker", "department", "branch", "viewer"
]


class ServedGrid(BaseModel):
    """A grid a staff member leads or works in."""

    code: str
    name: str | None = None


class MeOrg(BaseModel):
    """The Party organisation a token acts for, or a member belongs to."""

    id: int
    code: str
    kind: str
    name: str
    community_code: str


class MeMember(BaseModel):
    """The Party member a token acts as: their name, organisation and registration (双报到)."""

    id: int
    name: str
    org: MeOrg | None
    in_service: bool
    registered_community: str | None
    registered_community_name: str | None
    hours_served: float


class MePublic(BaseModel):
    """The holder of the token sent: whom it is issued to, its role, where it acts, when it ends."""

    holder: HolderKind = Field(description="whom the token is issued to")
    name: str = Field(description="the holder's name (an office, a person, a department)")
    role: Role
    region: str | None = Field(default=None, description="the region (or grid) code it acts in")
    region_name: str | None = None
    region_level: RegionLevel | Literal["grid"] | None = None
    department: str | None = None
    department_name: str | None = None
    grids: list[ServedGrid] | None = Field(
        default=None, description="for a staff member: the grids they lead or work in"
    )
    org_id: int | None = Field(
        default=None, description="a Party organisation's token: the organisation it acts for"
    )
    member_id: int | None = Field(
        default=None, description="a Party member's token: the member it acts as"
    )
    org: MeOrg | None = Field(default=None, description="a Party organisation's token: it")
    member: MeMember | None = Field(default=None, description="a Party member's token: them")
    edits_grids: bool = Field(description="whether this token may draw and change grids")
    dispatches: bool = Field(
        default=False,
        description="a command centre: accepts, claims, dispatches, whistles and closes incidents",
    )
    acts_on: Literal["region", "grids", "tasks", "everywhere"] = Field(
        default="region",
        description="where it acts: its region, the grids it serves, or (a department) only "
        "the sub-tasks whistled to it",
    )
    expires_at: datetime | None = Field(default=None, description="None: it does not expire")
