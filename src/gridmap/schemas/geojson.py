"""gridmap.schemas.geojson: the shapes every GeoJSON answer shares (RFC 7946, OGC API paging)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field


class Named(BaseModel):
    """A code and its name."""

    code: str
    name: str


class FeatureOut(BaseModel):
    """A GeoJSON Feature as answered (``geometry`` null when there is none or none was asked)."""

    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] | None


class PageLink(BaseModel):
    """Where another page of a list is (also sent as an RFC 8288 ``Link`` header)."""

    rel: Literal["next", "prev"]
    href: str
    type: str


PageLinks = Annotated[
    list[PageLink],
    Field(
        default_factory=list,
        description="``next`` when more rows follow this page, ``prev`` when rows come before it",
    ),
]


class CollectionOut(BaseModel):
    """A GeoJSON FeatureCollection with the OGC API counts."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    numberMatched: int  # noqa: N815 (OGC API name)
    numberReturned: int  # noqa: N815 (OGC API name)
    links: PageLinks
