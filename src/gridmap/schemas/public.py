"""gridmap.schemas.public: the public need form and what a community shows the public."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from gridmap.vocab import codes
from gridmap.vocab.lists import PublicCategory
from gridmap.vocab.states import ListStatus

Coordinate = Annotated[float, Field(allow_inf_nan=False)]


class NeedIn(BaseModel):
    """A resident's need (群众点单) at a WGS84 point of the community; the contact is optional
    and never shown back."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=60, pattern=codes.ONE_LINE)
    description: str = Field(default="", max_length=1000, pattern=codes.PARAGRAPH)
    category: PublicCategory
    wish: bool = False
    lon: Coordinate
    lat: Coordinate
    contact_name: str | None = Field(default=None, max_length=50, pattern=codes.ONE_LINE)
    contact_phone: str | None = Field(default=None, pattern=codes.PHONE)


class NeedReceipt(BaseModel):
    """What the form answers: the need's code, status and grid; never its contact or point."""

    code: str
    status: ListStatus
    grid_code: str
    grid_name: str | None


class StreetRef(BaseModel):
    """A street by code and name."""

    code: str | None
    name: str | None


class CommunityRef(BaseModel):
    """The community, its street and its bounding box (west, south, east, north)."""

    code: str
    name: str
    street: StreetRef
    bbox: list[float]


class PublicItem(BaseModel):
    """A list item as anyone may see it: no names, phones, points, reports or member ids."""

    code: str
    title: str
    category: str
    status: ListStatus
    grid_code: str | None
    grid_name: str | None
    created_at: datetime
    assigned_at: datetime | None
    taken_at: datetime | None
    done_at: datetime | None


class PublicProject(PublicItem):
    """A project with its sheet, without its responsible person."""

    service_content: str | None
    service_standard: str | None
    due_date: date | None
    responsible_unit: str | None


class PublicPost(BaseModel):
    """A post (设岗定责): whether a member holds it and the hours served, not who."""

    code: str
    title: str
    duty: str | None
    grid_code: str | None
    grid_name: str | None
    claimed: bool
    claimed_at: datetime | None
    hours: float


class PublicLists(BaseModel):
    """A community's lists and their progress (公开)."""

    community: CommunityRef
    categories: list[str]
    counts: dict[str, int]
    needs: list[PublicItem]
    wishes: list[PublicItem]
    projects: list[PublicProject]
    resources: list[PublicItem]
    posts: list[PublicPost]
