"""gridmap.schemas.households: households as request bodies and as the answers sent back."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridmap.schemas import kept
from gridmap.schemas.geojson import PageLinks

# A designated household (党员中心户) looks after 10–20 neighbours; far more is a data error.
MAX_SERVED = 200


class ServedIn(BaseModel):
    """The households a designated household serves (the whole list, replacing the old one)."""

    model_config = ConfigDict(extra="forbid")

    households: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(max_length=MAX_SERVED)


class HouseholdPatch(BaseModel):
    """Mark or unmark a designated household, or put it in a building's Party group
    (``group_id``; null takes it out)."""

    model_config = ConfigDict(extra="forbid")

    designated: bool | None = None
    group_id: int | None = Field(default=None, ge=1, le=2**62)

    @model_validator(mode="before")
    @classmethod
    def _something_to_change(cls, data: Any) -> Any:
        if isinstance(data, dict) and not ({"designated", "group_id"} & data.keys()):
            raise ValueError("give designated or group_id")
        return kept(data, "designated")


class HouseholdProperties(BaseModel):
    """A household's properties: its building, whom it is served by, how many it serves;
    contact name and phone are masked for who may not see them, care tags and visits left out."""

    id: int
    building_id: int
    building_code: str | None
    address: str | None
    unit: str
    room: str
    designated: bool
    party_members: int
    served_by: int | None
    group_id: int | None = Field(default=None, description="its building's Party group")
    grid_code: str | None
    community_code: str | None
    served_by_grid: str | None
    cross_grid: bool
    serves: int
    contact_name: str | None
    contact_phone: str | None
    care_tags: list[dict[str, Any]] | None = Field(
        default=None, description="its care tags (tag, interval_days, since, note); null: masked"
    )
    last_visit_at: str | None = None
    next_visit_due: str | None = Field(
        default=None, description="when its care tags want the next visit; null without tags"
    )
    masked: bool = Field(
        default=False, description="true: contacts, care tags and visits hidden from this caller"
    )


class HouseholdFeature(BaseModel):
    """A household as a GeoJSON Feature (a point on its building)."""

    type: Literal["Feature"]
    geometry: dict[str, Any] | None
    properties: HouseholdProperties


class HouseholdsPage(BaseModel):
    """A page of households: a GeoJSON FeatureCollection with its counts."""

    type: Literal["FeatureCollection"]
    numberMatched: int
    numberReturned: int
    features: list[HouseholdFeature]
    links: PageLinks


class HouseholdDetail(HouseholdFeature):
    """One household; a designated one comes with the households it serves (``served``) and,
    after its list was set, those taken from another designated household."""

    served: HouseholdsPage | None = None
    moved_from_other_designated: list[int] | None = None


class GridHouseholds(BaseModel):
    """One grid's households: designated, served, unserved, served from another grid."""

    grid: str
    households: int
    designated: int
    served: int
    unserved: int
    served_from_other_grid: int


class HouseholdsSummary(BaseModel):
    """The figures of every grid of a region (of all grids without one)."""

    region: str | None
    grids: list[GridHouseholds]
