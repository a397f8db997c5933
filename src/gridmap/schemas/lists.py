"""gridmap.schemas.lists: list items as request bodies and as the answers sent back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridmap.schemas import kept
from gridmap.vocab import codes
from gridmap.vocab.kinds import ListKind, OwnerKind
from gridmap.vocab.states import ListStatus

Status = ListStatus
Phone = Annotated[str, Field(pattern=codes.PHONE)]


class ItemIn(BaseModel):
    """A new list item at a point (``x``/``y`` in ``crs``); its grid is found from the point."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    list: Literal["resource", "need"]
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


class ItemPatch(BaseModel):
    """Fields of an item to change; a new point moves it to the grid holding it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: str | None = Field(default=None, min_length=1, max_length=50, pattern=codes.PARAGRAPH)
    title: str | None = Field(default=None, min_length=1, max_length=200, pattern=codes.PARAGRAPH)
    description: str | None = Field(default=None, max_length=2000, pattern=codes.PARAGRAPH)
    owner_kind: OwnerKind | None = None
    owner_name: str | None = Field(default=None, max_length=200, pattern=codes.PARAGRAPH)
    contact_name: str | None = Field(default=None, max_length=50, pattern=codes.PARAGRAPH)
    contact_phone: Phone | None = None
    status: Status | None = None
    x: float | None = None
    y: float | None = None
    crs: str | None = Field(default=None, max_length=64)

    @model_validator(mode="before")
    @classmethod
    def _no_emptied_fields(cls, data: Any) -> Any:
        return kept(data, "category", "title", "owner_kind", "status")


class MatchIn(BaseModel):
    """The need and the resource chosen for it; the project's title is optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    need: int = Field(ge=1, le=2**62)
    resource: int = Field(ge=1, le=2**62)
    title: str | None = Field(default=None, min_length=1, max_length=200, pattern=codes.PARAGRAPH)


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
