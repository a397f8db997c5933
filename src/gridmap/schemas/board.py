"""gridmap.schemas.board: the command centre's board as an answer, and a bulk step as a body."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gridmap.schemas.geojson import PageLinks
from gridmap.vocab import codes


class BoardTasks(BaseModel):
    """The sub-tasks of a row: how many are open, answered and given, and to whom open ones."""

    open: int
    answered: int
    total: int
    assignees: list[str]


class BoardRow(BaseModel):
    """One incident waiting in a queue."""

    id: int
    category: str
    severity: str
    status: str
    street_code: str | None
    street_name: str | None
    community_code: str | None
    community_name: str | None
    grid_code: str | None
    grid_name: str | None
    reported_at: str
    due_at: str | None
    seconds_left: int | None = Field(description="seconds until due (negative: overdue)")
    pool_until: str | None
    pool_seconds_left: int | None = Field(description="seconds until the street pool closes")
    owner_code: str | None
    version: int
    change_seq: int
    tasks: BoardTasks


class BoardPublic(BaseModel):
    """The board of the caller: each queue's count, the rows of the chosen queue, the largest
    change number seen (the ``ETag`` holds it)."""

    queue: str
    queues: list[str]
    counts: dict[str, int]
    rows: list[BoardRow]
    numberMatched: int
    change: int
    links: PageLinks


class BulkItem(BaseModel):
    """An incident and the version the dispatcher saw."""

    model_config = ConfigDict(extra="forbid")

    id: int = Field(ge=1, le=2**62)
    version: int = Field(ge=1, le=2**31 - 1)


class BulkIn(BaseModel):
    """The incidents to take one step on, and the step's fields (the same for each)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    items: list[BulkItem] = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=500, pattern=codes.PARAGRAPH)
    note: str | None = Field(default=None, max_length=2000, pattern=codes.PARAGRAPH)
    street: str | None = Field(default=None, pattern=codes.STREET)


class BulkResult(BaseModel):
    """What became of one incident: 200 with its new version, or the error it met."""

    id: int
    status: int
    code: str | None
    detail: str | None
    version: int | None


class BulkPublic(BaseModel):
    """One result per item, in the order sent."""

    results: list[BulkResult]
