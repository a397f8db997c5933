"""gridmap.vocab.kinds: the kinds of regions, grids, staff, centres, list items and incidents."""

from __future__ import annotations

REGION_LEVELS = ("district", "street", "community")
GRID_KINDS = ("basic", "exclusive")
EXCLUSIVE_SUBTYPES = ("campus", "hospital", "market", "office", "park", "school", "other")
CENTER_KINDS = ("party_mass_center", "red_station", "convenience_station")
LIST_KINDS = ("resource", "need", "project")
OWNER_KINDS = ("unit", "resident", "branch")
SEVERITIES = ("general", "important", "urgent")
DISPATCH_MODES = ("team", "claim", "split", "joint", "escalate")
CATEGORY_CLASSES = ("city_management", "social_governance")
DEPARTMENT_LEVELS = ("district", "street")
