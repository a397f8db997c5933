"""gridmap.schemas.regions: the answers about regions and the coverage of a community."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from gridmap.schemas.geojson import CollectionOut, FeatureOut, Named
from gridmap.vocab.kinds import RegionLevel


class RegionOut(BaseModel):
    """The properties of a district, street or community."""

    code: str
    level: RegionLevel
    name: str
    official_name: str | None = None
    parent_code: str | None = None
    grid_count: int
    label_lon: float | None = None
    label_lat: float | None = None
    children: list[str] | None = None


class RegionFeature(FeatureOut):
    """One region as a GeoJSON Feature (``children`` only on a single region)."""

    properties: RegionOut


class RegionsPublic(CollectionOut):
    """A page of regions as a GeoJSON FeatureCollection."""

    features: list[RegionFeature]


class Tolerance(BaseModel):
    """What the coverage check lets pass as digitising noise."""

    area_m2: float
    sliver_m: float
    edge_m: float


class Findings(BaseModel):
    """Pieces of a coverage finding as a GeoJSON FeatureCollection, each with its size."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[dict[str, Any]]


class CoverageReport(BaseModel):
    """Whether a community's grids cover it exactly, and every gap, overlap and spill."""

    community: Named
    at: str | None
    grids: int
    exact: bool
    valid_coverage: bool
    covered_share: float
    community_area_m2: float
    covered_area_m2: float
    tolerance: Tolerance
    gaps: Findings
    overlaps: Findings
    outside: Findings
    invalid_edges: Findings
    buildings_in_gaps: list[dict[str, Any]]
    households_in_gaps: int
