"""gridmap.schemas.patrols: a patrol's start, pieces and end as sent, and patrols and patrol
coverage as answered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PatrolStart(BaseModel):
    """The start of a patrol (a time without an offset is read in the configured time zone)."""

    model_config = ConfigDict(extra="forbid")

    started_at: datetime


class PatrolPieceIn(BaseModel):
    """One piece of the track: ``[[lon, lat, t], …]``, WGS84 degrees and Unix seconds, times
    strictly increasing and after the previous piece's last point (which the server joins the
    piece to: a piece does not repeat it)."""

    model_config = ConfigDict(extra="forbid")

    # Checked point by point in gridmap.geo.track, which names the point that is wrong.
    points: list[Any] = Field(description="[[lon, lat, t], …]")


class PatrolEnd(BaseModel):
    """The end of a patrol."""

    model_config = ConfigDict(extra="forbid")

    ended_at: datetime


class PatrolPublic(BaseModel):
    """A patrol: its grids (of those its walker serves) the track passed through, totals so far,
    ``duration_s`` to its end (or its last point while still walking)."""

    key: str
    id: int
    person_id: int
    grid_codes: list[str]
    started_at: datetime
    ended_at: datetime | None
    points: int
    length_m: float
    duration_s: int
    pieces: int


class GridCoverage(BaseModel):
    """One grid's patrol coverage: street metres, metres within ``cover_m`` of a track of the
    period, their share (null when the grid has no street) and the patrols through it."""

    grid: str
    name: str
    street_m: float
    walked_m: float
    share: float | None
    patrols: int


class CoveragePublic(BaseModel):
    """Patrol coverage (巡查覆盖率) of a day or an ISO week, per current grid."""

    period: str
    from_: datetime = Field(alias="from")
    to: datetime
    cover_m: float
    grids: list[GridCoverage]


class GridCoveragePublic(GridCoverage):
    """One grid's coverage with its street pieces walked and not walked (FeatureCollections)."""

    period: str
    from_: datetime = Field(alias="from")
    to: datetime
    cover_m: float
    walked: dict[str, Any]
    unwalked: dict[str, Any]


class MyGridShare(BaseModel):
    """The day's coverage of one of the caller's grids."""

    grid: str
    share: float | None


class MyPatrols(BaseModel):
    """The caller's patrol day: patrols started, metres, seconds, the patrol still open, and the
    coverage of each of the caller's grids."""

    day: str
    patrols: int
    length_m: float
    duration_s: int
    open: str | None
    grids: list[MyGridShare]
