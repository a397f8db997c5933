"""gridmap.schemas.stats: the assessment figures as the API answers them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class IncidentFiguresGroup(BaseModel):
    """The figures of one group; it also carries its key under the group's name (``grid``,
    ``street``, ``department`` …), and incident groups the older names ``total``,
    ``mean_hours_to_close``, ``p90_hours_to_close``."""

    model_config = ConfigDict(extra="allow")

    rank: int
    key: str | int | None
    name: str | None
    incidents: int
    closed: int
    on_time_rate: float | None
    rework_rate: float | None
    satisfaction: float | None
    mean_hours: float | None
    p90_hours: float | None
    overdue_now: int
    by_state: dict[str, int]
    tasks: int | None = None


class IncidentFigures(BaseModel):
    """Ranked figures per group for a period."""

    model_config = ConfigDict(populate_by_name=True)

    region: str | None
    group_by: Literal["grid", "community", "street", "category", "department", "worker"]
    from_: str | None = Field(default=None, alias="from")
    to: str | None
    ranked_by: list[str]
    groups: list[IncidentFiguresGroup]
