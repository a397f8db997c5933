"""gridmap.services.whistle: the whistle list (吹哨清单), who may change it, and which
departments it suggests for an incident."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import Conflict, InvalidInput, NotFound
from gridmap.queries import audit
from gridmap.queries import departments as dq
from gridmap.queries import whistle as q
from gridmap.services.access import require_role
from gridmap.vocab.departments import DEPARTMENT_KINDS

# The list is the district's: its command centre (or an administrator) keeps it.
WHISTLE_EDITORS = ("admin", "district")
FIELDS = (
    "code",
    "class_code",
    "matter",
    "category",
    "lead_kind",
    "partner_kinds",
    "report_hours",
    "answer_hours",
    "active",
)


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


def suggestions(session: Session, *, incident_id: int) -> dict[str, Any]:
    """The suggestion for an incident, as the API answers it."""
    place = q.incident_place(session, incident_id=incident_id)
    if place is None:
        raise NotFound(f"no incident {incident_id}", incident=incident_id)
    found = suggest(session, category=place.category, street_code=place.street_code)
    return {
        "item": None if found.item is None else public(found.item),
        "departments": found.departments,
    }


def public(item: dict[str, Any]) -> dict[str, Any]:
    """A line as the API answers it."""
    return {
        "id": item["id"],
        **{k: item[k] for k in FIELDS},
        "partner_kinds": list(item["partner_kinds"] or []),
    }


def known_kinds(session: Session) -> set[str]:
    """The department kinds a line may name: the vocabulary's, and those of registered
    departments (a district with a department of another kind registers it first)."""
    return set(DEPARTMENT_KINDS) | dq.kinds(session)


def whistle_list(
    session: Session, *, category: str | None = None, active: bool | None = None
) -> dict[str, Any]:
    """The classes with their lines (of ``category``, active or not); a class without a
    matching line is left out when filtering."""
    names = q.classes(session)
    lines = q.items(session, category=category, active=active)
    grouped: dict[str, list[dict[str, Any]]] = {code: [] for code in sorted(names)}
    for line in lines:
        grouped[line["class_code"]].append(public(line))
    filtered = category is not None or active is not None
    return {
        "classes": [
            {"code": code, "name": names[code], "items": found}
            for code, found in grouped.items()
            if found or not filtered
        ],
        "numberMatched": len(lines),
    }


@dataclass(frozen=True)
class Known:
    """What a line is checked against: kinds, categories and classes as they are."""

    kinds: set[str]
    categories: set[str]
    classes: dict[str, str]

    @classmethod
    def read(cls, session: Session) -> Known:
        """Read them."""
        return cls(known_kinds(session), q.category_codes(session), q.classes(session))


def faults(line: dict[str, Any], known: Known, *, new_class: bool = False) -> list[dict[str, str]]:
    """What in a line (its fields after the body's own checks) does not fit the data: unknown
    kinds, category or class. ``new_class``: a class missing is made, not a fault."""
    found = []
    kinds = [line.get("lead_kind"), *(line.get("partner_kinds") or [])]
    for column, kind in zip(
        ["lead_kind"] + ["partner_kinds"] * (len(kinds) - 1), kinds, strict=True
    ):
        if kind is not None and kind not in known.kinds:
            found.append(
                {
                    "column": column,
                    "detail": f"{kind!r} is not a department kind; known kinds: "
                    f"{', '.join(sorted(known.kinds))}",
                }
            )
    category = line.get("category")
    if category is not None and category not in known.categories:
        found.append({"column": "category", "detail": f"{category!r} is not an incident category"})
    klass = line.get("class_code")
    if klass is not None and klass not in known.classes and not new_class:
        found.append(
            {
                "column": "class_code",
                "detail": f"no whistle class {klass!r}; give class_name to make it",
            }
        )
    return found


def _refuse(found: list[dict[str, str]]) -> None:
    if found:
        raise InvalidInput("; ".join(f"{f['column']}: {f['detail']}" for f in found), faults=found)


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    key: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    audit.record(session, principal.actor, action, "whistle_item", key, before=before, after=after)


def require_editor(principal: Principal) -> None:
    """Raise unless the caller may change the whistle list (before its file is even read)."""
    require_role(principal, "change the whistle list", roles=WHISTLE_EDITORS)


def create_item(
    session: Session, *, values: dict[str, Any], principal: Principal
) -> dict[str, Any]:
    """Add a line (and its class, when it is new and named)."""
    require_role(principal, "change the whistle list", roles=WHISTLE_EDITORS)
    q.lock_list(session)
    class_name = values.pop("class_name", None)
    known = Known.read(session)
    _refuse(faults(values, known, new_class=class_name is not None))
    if q.item(session, code=values["code"]) is not None:
        raise Conflict(f"whistle item {values['code']} exists already", item=values["code"])
    klass = values["class_code"]
    if klass not in known.classes:
        if class_name in known.classes.values():
            raise Conflict(f"another class is named {class_name!r} already")
        q.insert_class(session, code=klass, name=class_name)
        audit.record(
            session, principal.actor, "create", "whistle_class", klass, after={"name": class_name}
        )
    item_id = q.insert_item(session, values=values)
    line = public(_existing(session, item_id))
    _audit(session, principal, "create", line["code"], None, line)
    return line


def _existing(session: Session, item_id: int, *, lock: bool = False) -> dict[str, Any]:
    line = q.item(session, item_id=item_id, lock=lock)
    if line is None:
        raise NotFound(f"no whistle item {item_id}")
    return line


def update_item(
    session: Session, *, item_id: int, changes: dict[str, Any], principal: Principal
) -> dict[str, Any]:
    """Change a line's fields; the line as it is then."""
    require_role(principal, "change the whistle list", roles=WHISTLE_EDITORS)
    q.lock_list(session)
    before = public(_existing(session, item_id, lock=True))
    after = {**before, **changes}
    if after["report_hours"] > after["answer_hours"]:
        raise InvalidInput(
            f"answer_hours ({after['answer_hours']}) would be shorter than report_hours "
            f"({after['report_hours']}): a department reports in before it answers"
        )
    if after["lead_kind"] in after["partner_kinds"]:
        raise InvalidInput(f"{after['lead_kind']} leads; it is not also a co-operating kind")
    _refuse(faults(changes, Known.read(session)))
    if after["code"] != before["code"] and q.item(session, code=after["code"]) is not None:
        raise Conflict(f"whistle item {after['code']} exists already", item=after["code"])
    q.update_item(session, item_id=item_id, changes=changes)
    line = public(_existing(session, item_id))
    _audit(session, principal, "update", line["code"], before, line)
    return line


def delete_item(session: Session, *, item_id: int, principal: Principal) -> dict[str, Any] | None:
    """Remove a line; one that sub-tasks refer to is made inactive instead (their record keeps
    what was whistled for), and that is said in the answer (None: removed)."""
    require_role(principal, "change the whistle list", roles=WHISTLE_EDITORS)
    q.lock_list(session)
    before = public(_existing(session, item_id, lock=True))
    if q.item_in_use(session, item_id=item_id):
        q.update_item(session, item_id=item_id, changes={"active": False})
        line = public(_existing(session, item_id))
        _audit(session, principal, "deactivate", line["code"], before, line)
        return {
            "deleted": False,
            "detail": f"whistle item {line['code']} is what sub-tasks were whistled for: it is "
            "kept, inactive (no longer suggested), so their record stays whole",
            "item": line,
        }
    q.delete_item(session, item_id=item_id)
    _audit(session, principal, "delete", before["code"], before, None)
    return None
