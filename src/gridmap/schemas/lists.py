"""gridmap.schemas.lists: list items as request bodies and as the answers sent back."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridmap.schemas import kept
from gridmap.schemas.geojson import PageLinks
from gridmap.vocab import codes
from gridmap.vocab.kinds import ListAssignee, ListKind, ListSource, OwnerKind
from gridmap.vocab.states import ListStatus

Status = ListStatus
Phone = Annotated[str, Field(pattern=codes.PHONE)]
Text = Annotated[str, Field(min_length=1, max_length=2000, pattern=codes.PARAGRAPH)]
Line = Annotated[str, Field(min_length=1, max_length=200, pattern=codes.ONE_LINE)]
# Served hours of one completion or one post's entry: up to a thousand, in tenths.
Hours = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]


class Sheet(BaseModel):
    """The project sheet (项目清单): 服务内容, 服务标准, 时限, 责任单位, 责任人 (personal data);
    for projects only."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    service_content: Text | None = None
    service_standard: Text | None = None
    due_date: date | None = None
    responsible_unit: Line | None = None
    responsible_person: (
        Annotated[str, Field(min_length=1, max_length=50, pattern=codes.ONE_LINE)] | None
    ) = None


class ItemIn(Sheet):
    """A new list item at a point (``x``/``y`` in ``crs``); its grid is found from the point.
    ``wish``: a small need members claim from a list (微心愿)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    list: Literal["resource", "need"]
    wish: bool = False
    category: str = Field(min_length=1, max_length=50, pattern=codes.PARAGRAPH)
    title: str = Field(min_length=1, max_length=200, pattern=codes.PARAGRAPH)
    description: str | None = Field(default=None, max_length=2000, pattern=codes.PARAGRAPH)
    owner_kind: OwnerKind
    owner_name: str | None = Field(default=None, max_length=200, pattern=codes.PARAGRAPH)
    contact_name: str | None = Field(default=None, max_length=50, pattern=codes.PARAGRAPH)
    contact_phone: Phone | None = None
    x: float
    y: float
    crs: str | None = Field(default=None, max_length=64)


class ItemPatch(Sheet):
    """Fields of an item to change (a project's sheet too); a new point moves it to the grid
    holding it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: str | None = Field(default=None, min_length=1, max_length=50, pattern=codes.PARAGRAPH)
    title: str | None = Field(default=None, min_length=1, max_length=200, pattern=codes.PARAGRAPH)
    description: str | None = Field(default=None, max_length=2000, pattern=codes.PARAGRAPH)
    owner_kind: OwnerKind | None = None
    owner_name: str | None = Field(default=None, max_length=200, pattern=codes.PARAGRAPH)
    contact_name: str | None = Field(default=None, max_length=50, pattern=codes.PARAGRAPH)
    contact_phone: Phone | None = None
    status: Status | None = None
    wish: bool | None = None
    x: float | None = None
    y: float | None = None
    crs: str | None = Field(default=None, max_length=64)

    @model_validator(mode="before")
    @classmethod
    def _no_emptied_fields(cls, data: Any) -> Any:
        return kept(data, "category", "title", "owner_kind", "status", "wish")


class MatchIn(Sheet):
    """The need and the resource chosen for it; the project's title and sheet are optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    need: int = Field(ge=1, le=2**62)
    resource: int = Field(ge=1, le=2**62)
    title: str | None = Field(default=None, min_length=1, max_length=200, pattern=codes.PARAGRAPH)


class MemberRef(BaseModel):
    """The member who took an item on; the name masked for who may not see it."""

    id: int
    name: str | None


class AssignIn(BaseModel):
    """To whom a branch or an office assigns an item (支部派单): one of a member, a resident
    unit, or the grid's team."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    member_id: int | None = Field(default=None, ge=1, le=2**62)
    unit_id: int | None = Field(default=None, ge=1, le=2**62)
    team: Literal[True] | None = None
    note: str | None = Field(default=None, max_length=500, pattern=codes.PARAGRAPH)

    @model_validator(mode="after")
    def _one_assignee(self) -> AssignIn:
        given = [v for v in (self.member_id, self.unit_id, self.team) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of member_id, unit_id or team: true")
        return self


class CompleteIn(BaseModel):
    """A completion report (personal data: it may name people) and the hours served."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    report: Text
    hours: Hours


class CloseIn(BaseModel):
    """Why an item is closed, optionally."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str | None = Field(default=None, max_length=500, pattern=codes.PARAGRAPH)


class ItemProperties(BaseModel):
    """A list item's properties; contact name and phone are masked for who may not see them."""

    id: int
    code: str
    list: ListKind
    category: str
    title: str
    description: str | None
    owner_kind: OwnerKind
    owner_name: str | None
    contact_name: str | None
    contact_phone: str | None
    status: Status
    need_id: int | None
    resource_id: int | None
    grid_code: str | None
    community_code: str | None
    created_at: datetime
    wish: bool
    source: ListSource | None
    org_id: int | None
    unit_id: int | None
    assignee_kind: ListAssignee | None
    member_id: int | None
    member: MemberRef | None
    assigned_by: str | None
    assigned_at: datetime | None
    taken_by: str | None
    taken_at: datetime | None
    done_at: datetime | None
    report: str | None
    hours: float | None
    service_content: str | None
    service_standard: str | None
    due_date: date | None
    responsible_unit: str | None
    responsible_person: str | None


class ItemFeature(BaseModel):
    """A list item as a GeoJSON Feature (a point)."""

    type: Literal["Feature"]
    geometry: dict[str, Any]
    properties: ItemProperties


class ItemsPage(BaseModel):
    """A page of list items: a GeoJSON FeatureCollection with its counts."""

    type: Literal["FeatureCollection"]
    numberMatched: int
    numberReturned: int
    features: list[ItemFeature]
    links: PageLinks


class MatchCandidate(BaseModel):
    """An open resource for a need, with its tier and distance."""

    resource_id: int
    code: str
    title: str
    category: str
    owner_kind: OwnerKind
    owner_name: str | None
    grid_code: str | None
    tier: Literal["same grid", "same community", "same service circle", "elsewhere"]
    distance_m: float
    distance_kind: Literal["walk", "straight"]
    straight_m: float


class Matches(BaseModel):
    """A need and its candidate resources, best first."""

    need: ItemFeature
    by: Literal["walk", "straight"]
    matches: list[MatchCandidate]
