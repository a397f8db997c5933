"""gridmap.schemas.whistle: the whistle list (吹哨清单) as request bodies and answers."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from gridmap.schemas import kept
from gridmap.vocab import codes

Kind = Annotated[str, Field(min_length=1, max_length=32, pattern=codes.CELL_TEXT)]
Hours = Annotated[int, Field(ge=1, le=8760, description="hours, 1 to 8760 (a year)")]
# The most co-operating kinds one line names.
MAX_PARTNERS = 10


def report_first(report: int | None, answer: int | None) -> None:
    """Refuse a line whose time to report in is longer than its time to answer."""
    if report is not None and answer is not None and report > answer:
        raise ValueError(
            f"answer_hours ({answer}) is shorter than report_hours ({report}): a department "
            "reports in before it answers"
        )


def distinct_partners(lead: str | None, partners: list[str] | None) -> None:
    """Refuse a co-operating kind named twice, or the lead kind named again as a partner."""
    if partners is None:
        return
    if len(set(partners)) != len(partners):
        raise ValueError("partner_kinds names a kind twice")
    if lead is not None and lead in partners:
        raise ValueError(f"{lead} leads; it is not also a co-operating kind")


class _LineRules(BaseModel):
    """The rules between the fields of a line, for a new line and for the fields changed."""

    # Field validators, not a model validator, so a fault is named by its column (an import
    # says which cell of which row); the fields they compare with come earlier in the model.
    # The fields are the subclass's, hence check_fields=False.
    @field_validator("answer_hours", check_fields=False)
    @classmethod
    def _report_first(cls, answer: int | None, info: ValidationInfo) -> int | None:
        report_first(info.data.get("report_hours"), answer)
        return answer

    @field_validator("partner_kinds", check_fields=False)
    @classmethod
    def _distinct(cls, partners: list[str] | None, info: ValidationInfo) -> list[str] | None:
        distinct_partners(info.data.get("lead_kind"), partners)
        return partners


class WhistleItemIn(_LineRules):
    """A new line of the whistle list. A class that does not exist yet is made when
    ``class_name`` is given."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(pattern=codes.WHISTLE_ITEM, description="e.g. 01-001")
    class_code: str = Field(pattern=codes.WHISTLE_CLASS, description="e.g. 01")
    class_name: str | None = Field(
        default=None, min_length=1, max_length=50, pattern=codes.CELL_TEXT
    )
    matter: str = Field(min_length=1, max_length=200, pattern=codes.CELL_TEXT)
    category: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=codes.CELL_TEXT,
        description="the incident category it answers (major/minor), if one fits",
    )
    lead_kind: Kind
    partner_kinds: list[Kind] = Field(default_factory=list, max_length=MAX_PARTNERS)
    report_hours: Hours
    answer_hours: Hours
    active: bool = True


class WhistleItemPatch(_LineRules):
    """Fields of a line to change; the others stay."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str | None = Field(default=None, pattern=codes.WHISTLE_ITEM)
    class_code: str | None = Field(default=None, pattern=codes.WHISTLE_CLASS)
    matter: str | None = Field(default=None, min_length=1, max_length=200, pattern=codes.CELL_TEXT)
    category: str | None = Field(default=None, min_length=1, max_length=64, pattern=codes.CELL_TEXT)
    lead_kind: Kind | None = None
    partner_kinds: list[Kind] | None = Field(default=None, max_length=MAX_PARTNERS)
    report_hours: Hours | None = None
    answer_hours: Hours | None = None
    active: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_emptied_fields(cls, data: Any) -> Any:
        return kept(
            data,
            "code",
            "class_code",
            "matter",
            "lead_kind",
            "partner_kinds",
            "report_hours",
            "answer_hours",
            "active",
        )


class WhistleItemPublic(BaseModel):
    """A line of the whistle list."""

    id: int
    code: str
    class_code: str
    matter: str
    category: str | None
    lead_kind: str
    partner_kinds: list[str]
    report_hours: int
    answer_hours: int
    active: bool


class WhistleClassPublic(BaseModel):
    """A class of the list with its lines, by code."""

    code: str
    name: str
    items: list[WhistleItemPublic]


class WhistleList(BaseModel):
    """The whistle list: its classes, each with its lines."""

    classes: list[WhistleClassPublic]
    numberMatched: int = Field(description="how many lines are listed")  # noqa: N815


class ItemRemoved(BaseModel):
    """A line that tasks refer to is kept, inactive, so their record stays whole."""

    deleted: bool
    detail: str
    item: WhistleItemPublic


class RowFault(BaseModel):
    """One cell of an imported file that cannot be stored."""

    row: int = Field(description="the row as a spreadsheet numbers it: the header is row 1")
    column: str
    detail: str


class WhistleImportReport(BaseModel):
    """What an import wrote (``committed``) or would write (a dry run)."""

    committed: bool
    source: str
    rows: int
    created: list[str]
    updated: list[str]
    unchanged: int
    classes_created: list[str]
    classes_renamed: list[str]


class SuggestedDepartment(BaseModel):
    """A department the whistle list suggests: the lead kind first, the street's before the
    district's."""

    code: str
    name: str
    kind: str
    level: str
    region_code: str
    lead: bool


class WhistleSuggestion(BaseModel):
    """The line matching an incident's category (null when none does) and its departments."""

    item: WhistleItemPublic | None
    departments: list[SuggestedDepartment]
