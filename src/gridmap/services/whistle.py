"""gridmap.services.whistle: the whistle list (吹哨清单) and which departments it suggests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from gridmap.queries import whistle as q


@dataclass(frozen=True)
class Suggestion:
    """The whistle-list line matching an incident's category (None when none does) and the
    departments it suggests: those of the lead kind first, then the co-operating kinds, each
    of the incident's street before its district's."""

    item: dict[str, Any] | None
    departments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def codes(self) -> set[str]:
        """The codes of the suggested departments."""
        return {d["code"] for d in self.departments}


def suggest(session: Session, *, category: str, street_code: str | None) -> Suggestion:
    """What the whistle list suggests for an incident of ``category`` in ``street_code``."""
    item = q.item_for_category(session, category=category)
    if item is None or street_code is None:
        return Suggestion(item)
    kinds = [item["lead_kind"], *item["partner_kinds"]]
    found = q.departments_of_kinds(session, kinds=kinds, regions=[street_code, street_code[:6]])
    rank = {kind: n for n, kind in enumerate(kinds)}
    found.sort(key=lambda d: (rank[d["kind"]], d["region_code"] != street_code, d["code"]))
    return Suggestion(item, [{**d, "lead": d["kind"] == item["lead_kind"]} for d in found])
