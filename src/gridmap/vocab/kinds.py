"""gridmap.vocab.kinds: the kinds of regions, grids, staff, centres, list items and incidents.

Each is a ``Literal`` type (for request and answer models, so ``/docs`` lists the words) and the
tuple of its words (for checks and constraints), the one made from the other.
"""

from __future__ import annotations

from typing import Literal, get_args

RegionLevel = Literal["district", "street", "community"]
REGION_LEVELS: tuple[str, ...] = get_args(RegionLevel)
GridKind = Literal["basic", "exclusive"]
GRID_KINDS: tuple[str, ...] = get_args(GridKind)
EXCLUSIVE_SUBTYPES = ("campus", "hospital", "market", "office", "park", "school", "other")
CenterKind = Literal["party_mass_center", "red_station", "convenience_station"]
CENTER_KINDS: tuple[str, ...] = get_args(CenterKind)
ListKind = Literal["resource", "need", "project"]
LIST_KINDS: tuple[str, ...] = get_args(ListKind)
OwnerKind = Literal["unit", "resident", "branch"]
OWNER_KINDS: tuple[str, ...] = get_args(OwnerKind)
Severity = Literal["general", "important", "urgent"]
SEVERITIES: tuple[str, ...] = get_args(Severity)
DispatchMode = Literal["team", "claim", "split", "joint", "escalate"]
DISPATCH_MODES: tuple[str, ...] = get_args(DispatchMode)
CATEGORY_CLASSES = ("city_management", "social_governance")
DEPARTMENT_LEVELS = ("district", "street")
# calendar_day: a public holiday, or a weekend day worked in exchange (调休).
CalendarKind = Literal["holiday", "workday"]
CALENDAR_KINDS: tuple[str, ...] = get_args(CalendarKind)
