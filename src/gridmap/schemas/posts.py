"""gridmap.schemas.posts: posts Party members hold (设岗定责), in and out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridmap.schemas import kept
from gridmap.schemas.geojson import PageLinks
from gridmap.schemas.lists import Hours, MemberRef
from gridmap.vocab import codes

Title = Annotated[str, Field(min_length=1, max_length=100, pattern=codes.ONE_LINE)]
Duty = Annotated[str, Field(max_length=2000, pattern=codes.PARAGRAPH)]
PostCode = Annotated[str, Field(pattern=r"^[A-Za-z][0-9A-Za-z-]{1,31}$")]
Id = Annotated[int, Field(ge=1, le=2**62)]


class PostIn(BaseModel):
    """A new post in a community (and one of its grids), under an organisation."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title
    duty: Duty | None = None
    community_code: str = Field(pattern=codes.COMMUNITY)
    grid_code: str | None = Field(default=None, pattern=codes.GRID)
    org_id: Id | None = None
    code: PostCode | None = None


class PostPatch(BaseModel):
    """Fields of a post to change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title | None = None
    duty: Duty | None = None
    grid_code: str | None = Field(default=None, pattern=codes.GRID)
    org_id: Id | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_emptied_fields(cls, data: Any) -> Any:
        return kept(data, "title")


class HoursIn(BaseModel):
    """Hours served at a post, with what was done."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    hours: Annotated[Hours, Field(gt=0)]
    note: str | None = Field(default=None, max_length=500, pattern=codes.PARAGRAPH)


class PostOut(BaseModel):
    """A post; its holder's name masked for who may not see it."""

    id: int
    code: str
    title: str
    duty: str | None
    community_code: str
    grid_code: str | None
    org_id: int | None
    member: MemberRef | None
    claimed_at: datetime | None
    hours: float
    created_at: datetime


class PostsPage(BaseModel):
    """A page of posts."""

    numberMatched: int
    numberReturned: int
    posts: list[PostOut]
    links: PageLinks
