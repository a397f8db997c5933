"""gridmap.schemas.departments: departments that answer whistles, as bodies and answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridmap.schemas import kept
from gridmap.schemas.geojson import PageLinks
from gridmap.schemas.whistle import Kind
from gridmap.vocab import codes


class DepartmentIn(BaseModel):
    """A new department of a district or a street."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(pattern=codes.DEPARTMENT, description="e.g. hd-cgzf, 110108010-pcs")
    name: str = Field(min_length=1, max_length=100, pattern=codes.CELL_TEXT)
    kind: Kind = Field(description="城管执法, 住建, 市场监管 … (the whistle list names kinds)")
    region: str = Field(pattern=codes.PARENT, description="the district or street it belongs to")


class DepartmentPatch(BaseModel):
    """Fields of a department to change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=100, pattern=codes.CELL_TEXT)
    kind: Kind | None = None
    active: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_emptied_fields(cls, data: Any) -> Any:
        return kept(data, "name", "kind", "active")


class DepartmentPublic(BaseModel):
    """A department: no personal data, anyone may read it."""

    code: str
    name: str
    kind: str
    level: str
    region_code: str
    active: bool


class DepartmentsPage(BaseModel):
    """A page of departments, by level (district first) and code."""

    departments: list[DepartmentPublic]
    numberMatched: int  # noqa: N815
    links: PageLinks
