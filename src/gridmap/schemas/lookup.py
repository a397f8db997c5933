"""gridmap.schemas.lookup: the point lookup's request body and answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gridmap.schemas.geojson import Named
from gridmap.vocab.address import AddressMatch
from gridmap.vocab.kinds import GridKind

MAX_POINTS = 10_000


class LookupBatch(BaseModel):
    """Points to look up, in order."""

    model_config = ConfigDict(extra="forbid")

    points: list[tuple[float, float]] = Field(
        max_length=MAX_POINTS, description=f"[x, y] pairs, at most {MAX_POINTS}"
    )
    crs: str | None = Field(default=None, max_length=64)


class FoundGrid(BaseModel):
    """The grid a point is in."""

    code: str
    name: str
    kind: GridKind
    subtype: str | None = None
    version: int


class Member(BaseModel):
    """One member of a grid team (masked unless the caller may see personal data)."""

    role: str
    name: str | None
    phone: str | None


class InputPoint(BaseModel):
    """The point as it was given."""

    x: float
    y: float
    crs: str


class LookupPoint(BaseModel):
    """The point in WGS 84, and as given."""

    lon: float
    lat: float
    crs: Literal["EPSG:4326"] = "EPSG:4326"
    input: InputPoint


class LookupAnswer(BaseModel):
    """The grid, community, street, district and team at a point."""

    point: LookupPoint
    at: str | None = Field(default=None, description="only when asked about a past instant")
    grid: FoundGrid
    community: Named | None
    street: Named | None
    district: Named | None
    team: list[Member]
    personal_data: Literal["shown", "masked"]


class BatchPoint(BaseModel):
    """A point of a batch in WGS 84."""

    lon: float
    lat: float


class BatchResult(BaseModel):
    """One point of a batch: its grid and regions, ``grid: null``, or an ``error``."""

    index: int
    point: BatchPoint | None = None
    grid: FoundGrid | None
    community: Named | None = None
    street: Named | None = None
    district: Named | None = None
    error: dict[str, str] | None = None


class LookupBatchAnswer(BaseModel):
    """Each point's grid in the order given, and the teams of the grids found."""

    crs: str
    at: str | None = Field(default=None, description="only when asked about a past instant")
    numberOfPoints: int  # noqa: N815 (as answered)
    found: int
    results: list[BatchResult]
    teams: dict[str, list[Member]]


class AddressCandidate(BaseModel):
    """A building an address may mean, with its score, what matched and why."""

    score: float = Field(ge=0, le=1)
    weak: bool = Field(description="score below the answer's weak_below: check before trusting")
    matched: AddressMatch
    why: list[str]
    building: dict[str, Any]
    grid: Named | None
    community_code: str | None
    street: Named | None


class AddressAnswer(BaseModel):
    """Buildings matching a typed address, best first."""

    q: str
    understood: dict[str, Any] = Field(
        description="how the address was read: key, street office, road and door number, "
        "unit, floor, room"
    )
    weak: bool = Field(description="the best candidate is weak (false when there is none)")
    weak_below: float
    candidates: list[AddressCandidate]
