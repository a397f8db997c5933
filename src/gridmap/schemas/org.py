"""gridmap.schemas.org: Party organisations and members as request bodies and answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridmap.schemas import kept
from gridmap.schemas.geojson import PageLinks
from gridmap.vocab import codes
from gridmap.vocab.kinds import OrgKind, UnitKind

# An organisation links at most so many grids (a branch) or buildings (a group).
MAX_LINKS = 200
OrgCode = Annotated[str, Field(pattern=r"^[A-Za-z][0-9A-Za-z-]{1,31}$")]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=codes.ONE_LINE)]
Phone = Annotated[str, Field(pattern=codes.PHONE)]
Id = Annotated[int, Field(ge=1, le=2**62)]
GridCode = Annotated[str, Field(pattern=codes.GRID)]
CommunityCode = Annotated[str, Field(pattern=codes.COMMUNITY)]


class PersonIn(BaseModel):
    """A new person: a name and maybe a phone (personal data)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    phone: Phone | None = None


class PersonPatch(BaseModel):
    """A person's name or phone to change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name | None = None
    phone: Phone | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_emptied_fields(cls, data: Any) -> Any:
        return kept(data, "name")


class OrgIn(BaseModel):
    """A new organisation: a committee (no parent) of a community, a branch (parent a committee)
    linking its grids, or a group (parent a branch) linking its buildings; the secretary an
    existing person or a new one."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: OrgKind
    name: Name
    code: OrgCode | None = None
    parent_id: Id | None = None
    community_code: CommunityCode
    grid_codes: list[GridCode] = Field(default_factory=list, max_length=MAX_LINKS)
    building_ids: list[Id] = Field(default_factory=list, max_length=MAX_LINKS)
    secretary_person_id: Id | None = None
    secretary: PersonIn | None = None


class OrgPatch(BaseModel):
    """Fields of an organisation to change; ``grid_codes``/``building_ids`` replace the links,
    ``secretary_person_id`` null removes the secretary."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name | None = None
    code: OrgCode | None = None
    parent_id: Id | None = None
    grid_codes: list[GridCode] | None = Field(default=None, max_length=MAX_LINKS)
    building_ids: list[Id] | None = Field(default=None, max_length=MAX_LINKS)
    secretary_person_id: Id | None = None
    secretary: PersonIn | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_emptied_fields(cls, data: Any) -> Any:
        return kept(data, "name", "code", "grid_codes", "building_ids", "secretary")


class Contact(BaseModel):
    """A person's name and phone, or all null with ``masked`` true for who may not see them."""

    person_id: int | None
    name: str | None
    phone: str | None
    masked: bool


class OrgPublic(BaseModel):
    """An organisation as answered."""

    id: int
    code: str
    kind: OrgKind
    name: str
    parent_id: int | None
    community_code: str
    grid_codes: list[str]
    building_ids: list[int]
    secretary: Contact | None
    members_n: int = Field(description="members of this organisation itself")
    households_n: int = Field(
        description="households of its area: a committee's community, a branch's grids, a "
        "group's buildings"
    )


class OrgsPage(BaseModel):
    """A page of organisations."""

    numberMatched: int  # noqa: N815 (OGC API name)
    numberReturned: int  # noqa: N815 (OGC API name)
    orgs: list[OrgPublic]
    links: PageLinks


class Warning(BaseModel):
    """One check that fails (a warning, never an error): ``check`` names it, the rest are its
    figures (``grids``, ``buildings``, ``household_id``, ``serves_n``, ``min``, ``max`` …)."""

    model_config = ConfigDict(extra="allow")

    check: str


class CentralHousehold(BaseModel):
    """A designated household (党员中心户) and how many households it serves."""

    id: int
    building_id: int
    building: str | None
    unit: str
    room: str
    group_id: int | None
    grid_code: str | None
    serves_n: int


class OrgNode(OrgPublic):
    """An organisation in the tree, with those under it and its warnings."""

    children: list[OrgNode] = Field(default_factory=list)
    warnings: list[Warning] = Field(default_factory=list)
    central_households: list[CentralHousehold] | None = Field(
        default=None, description="a group's designated households"
    )


class CommunityNode(BaseModel):
    """The community of a tree: its name, grids and the warnings of the whole community."""

    code: str
    name: str
    grids_n: int
    warnings: list[Warning]


class OrgTree(BaseModel):
    """A community's organisation: its big committee(s) → branches → groups → households."""

    community: CommunityNode
    committees: list[OrgNode]


class MemberIn(BaseModel):
    """A new member: an existing person (``person_id``) or a new one (``person``), in an
    organisation and/or registered with a community (双报到)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    person_id: Id | None = None
    person: PersonIn | None = None
    org_id: Id | None = None
    in_service: bool = False
    employer: str | None = Field(default=None, max_length=200, pattern=codes.ONE_LINE)
    employer_unit_id: Id | None = None
    registered_community: CommunityCode | None = None
    household_id: Id | None = None


class MemberPatch(BaseModel):
    """Fields of a member to change (``person``: the member's name or phone)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    org_id: Id | None = None
    in_service: bool | None = None
    employer: str | None = Field(default=None, max_length=200, pattern=codes.ONE_LINE)
    employer_unit_id: Id | None = None
    household_id: Id | None = None
    person: PersonPatch | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_emptied_fields(cls, data: Any) -> Any:
        return kept(data, "in_service", "person")


class RegisterIn(BaseModel):
    """The community an (in-service) member registers with (双报到)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    community_code: CommunityCode


class MemberPublic(BaseModel):
    """A member as answered; ``person_id``, name, phone and household null with ``masked`` true
    for who may not see them."""

    id: int
    person_id: int | None
    name: str | None
    phone: str | None
    masked: bool
    org_id: int | None
    org_code: str | None
    org_name: str | None
    org_kind: OrgKind | None
    community_code: str | None = Field(description="its organisation's community")
    in_service: bool
    employer: str | None
    employer_unit_id: int | None
    registered_community: str | None
    registered_at: datetime | None
    household_id: int | None
    hours_served: float
    created_at: datetime


class MembersPage(BaseModel):
    """A page of members."""

    numberMatched: int  # noqa: N815 (OGC API name)
    numberReturned: int  # noqa: N815 (OGC API name)
    members: list[MemberPublic]
    links: PageLinks


class TeamMember(BaseModel):
    """One of a grid's team, name and phone masked for who may not see them."""

    id: int
    person_id: int | None
    role: str
    team: str | None
    since: str | None
    name: str | None
    phone: str | None
    masked: bool


class GridOrgGrid(BaseModel):
    """The grid of a grid panel."""

    code: str
    name: str
    kind: str
    community_code: str


class GridOrg(BaseModel):
    """What a click on a grid shows of the organisation: its branch, the groups of its
    buildings, their members, the grid's team, resident units, designated households and the
    warnings."""

    grid: GridOrgGrid
    branch: OrgPublic | None
    groups: list[OrgPublic]
    members: list[MemberPublic]
    team: list[TeamMember]
    units: list[dict[str, Any]]
    central_households: list[CentralHousehold]
    warnings: list[Warning]


class PointIn(BaseModel):
    """A GeoJSON Point (in the ``crs=`` of the request, WGS84 by default)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Point"]
    coordinates: tuple[
        Annotated[float, Field(allow_inf_nan=False)], Annotated[float, Field(allow_inf_nan=False)]
    ]


class UnitProperties(BaseModel):
    """A resident unit's fields; the contact is personal data."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: OrgCode | None = None
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=codes.ONE_LINE)]
    kind: UnitKind = "other"
    address: str | None = Field(default=None, max_length=300, pattern=codes.ONE_LINE)
    contact_name: Name | None = None
    contact_phone: Phone | None = None
    committee_id: Id | None = None
    joined_at: date | None = None


class UnitIn(BaseModel):
    """A new resident unit as a GeoJSON Feature (a point)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Feature"]
    geometry: PointIn
    properties: UnitProperties


class UnitPropertiesPatch(BaseModel):
    """A resident unit's fields to change; ``committee_id`` null leaves the big committee."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: OrgCode | None = None
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=codes.ONE_LINE)] | None = None
    kind: UnitKind | None = None
    address: str | None = Field(default=None, max_length=300, pattern=codes.ONE_LINE)
    contact_name: Name | None = None
    contact_phone: Phone | None = None
    committee_id: Id | None = None
    joined_at: date | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_emptied_fields(cls, data: Any) -> Any:
        return kept(data, "code", "name", "kind")


class UnitPatch(BaseModel):
    """A change of a resident unit: a Feature with the fields to change and maybe a new point."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Feature"] = "Feature"
    geometry: PointIn | None = None
    properties: UnitPropertiesPatch = Field(default_factory=UnitPropertiesPatch)


class UnitPublicProperties(BaseModel):
    """A resident unit as answered; its contact null with ``masked`` true for who may not see
    it."""

    id: int
    code: str
    name: str
    kind: UnitKind
    address: str | None
    grid_code: str | None
    community_code: str | None
    committee_id: int | None
    joined_at: date | None
    contact_name: str | None
    contact_phone: str | None
    masked: bool


class UnitFeature(BaseModel):
    """A resident unit as a GeoJSON Feature."""

    type: Literal["Feature"]
    geometry: dict[str, Any]
    properties: UnitPublicProperties


class UnitsPage(BaseModel):
    """A page of resident units: a GeoJSON FeatureCollection with its counts."""

    type: Literal["FeatureCollection"]
    numberMatched: int  # noqa: N815 (OGC API name)
    numberReturned: int  # noqa: N815 (OGC API name)
    features: list[UnitFeature]
    links: PageLinks
