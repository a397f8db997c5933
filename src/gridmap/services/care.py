"""gridmap.services.care: care tags (关爱对象), when each household is next due a visit, who
sees them.

The visit interval rule lives here once, as a pure function (:func:`due_at`); the overdue query
(:func:`gridmap.queries.care.overdue`) writes the same rule in SQL and a test checks the two agree.
Care tags and visit notes are personal data: :func:`sees_care` is the one place that decides who
sees them, and every read of them by a token is logged (:func:`log_reads`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import Forbidden, InvalidInput, NotFound
from gridmap.queries import audit
from gridmap.queries import care as q
from gridmap.services.access import require_role
from gridmap.settings import ApiSettings
from gridmap.vocab.kinds import CARE_TAGS
from gridmap.vocab.roles import PERSONAL_DATA_ROLES, STAFF

# Who may set and remove care tags: the offices of the household's region and its grid's team.
CARE_WRITERS = STAFF
DAY = timedelta(days=1)


@dataclass(frozen=True)
class VisitRule:
    """How often a household with care tags is visited: per tag (``intervals``), else every
    ``default_days``; a tag's own ``interval_days`` wins. ``timezone`` is where a tag's
    ``since`` day starts."""

    intervals: Mapping[str, int] = field(default_factory=lambda: {"elderly_alone": 7})
    default_days: int = 30
    timezone: str = "Asia/Shanghai"

    @classmethod
    def from_settings(cls, api: ApiSettings) -> VisitRule:
        """The rule of this deployment."""
        return cls(dict(api.visit_interval_days), api.visit_default_days, api.timezone)

    def interval(self, tag: str, own: int | None = None) -> int:
        """Days between visits for one tag: its own interval, else the configured one.

        Examples
        --------
        >>> rule = VisitRule({"elderly_alone": 7}, 30)
        >>> rule.interval("elderly_alone"), rule.interval("hardship"), rule.interval("hardship", 14)
        (7, 30, 14)
        """
        if own is not None:
            return own
        return self.intervals.get(tag, self.default_days)

    def day_start(self, day: date) -> datetime:
        """The first instant of ``day`` in the rule's time zone."""
        return datetime.combine(day, time(0), tzinfo=ZoneInfo(self.timezone))


@dataclass(frozen=True)
class Tag:
    """What the rule reads of one care tag."""

    tag: str
    since: date
    interval_days: int | None = None


def due_at(rule: VisitRule, tags: Sequence[Tag], last_visit: datetime | None) -> datetime | None:
    """When a household with ``tags`` is next due a visit: the shortest of its tags' intervals
    after its last visit that reached it (not ``not_home``: see ``VISITS_REACHED``), or (never
    reached) after the earliest tag's ``since``; None without tags (no visit is required).

    Examples
    --------
    >>> rule = VisitRule({"elderly_alone": 7}, 30, "Asia/Shanghai")
    >>> tags = [Tag("elderly_alone", date(2026, 5, 1)), Tag("hardship", date(2026, 4, 1))]
    >>> due_at(rule, tags, None).isoformat()
    '2026-04-08T00:00:00+08:00'
    >>> due_at(rule, tags[1:], datetime.fromisoformat("2026-05-03T10:00+08:00")).isoformat()
    '2026-06-02T10:00:00+08:00'
    >>> due_at(rule, [], None) is None
    True
    """
    if not tags:
        return None
    days = min(rule.interval(t.tag, t.interval_days) for t in tags)
    start = last_visit if last_visit is not None else rule.day_start(min(t.since for t in tags))
    return start + timedelta(days=days)


def overdue_days(due: datetime | None, at: datetime) -> int | None:
    """Whole days a visit due at ``due`` is late at ``at``; None when it is not late.

    Examples
    --------
    >>> due = datetime.fromisoformat("2026-05-01T08:00+08:00")
    >>> overdue_days(due, due + timedelta(days=1, hours=2)), overdue_days(due, due)
    (1, None)
    """
    if due is None or at <= due:
        return None
    return (at - due) // DAY


def tags_of(rows: Iterable[Mapping[str, Any]]) -> list[Tag]:
    """:class:`Tag` of care tags as the queries give them (``since`` a date or ISO text)."""
    return [
        Tag(
            r["tag"],
            r["since"] if isinstance(r["since"], date) else date.fromisoformat(r["since"]),
            r.get("interval_days"),
        )
        for r in rows
    ]


def sees_care(principal: Principal, place: str | None) -> bool:
    """Whether ``principal`` sees the care tags and visit notes of a household of ``place`` (its
    grid, else its community): the grid's own team and the offices of its region."""
    return principal.sees_personal_data(place or "")


def log_reads(
    session: Session,
    principal: Principal,
    household_ids: Iterable[int],
    *,
    fields: Sequence[str],
    route: str,
) -> None:
    """Log that ``principal`` was shown ``fields`` (``care_tags``, ``visit_notes``) of each of
    ``household_ids``: one audit row per household, all in one statement; nothing for none."""
    ids = sorted(set(household_ids))
    if ids and principal.authenticated:
        q.log_reads(
            session,
            actor=principal.actor,
            household_ids=ids,
            after={"fields": list(fields), "route": route},
        )


def _household(session: Session, household_id: int) -> Any:
    row = q.household_place(session, household_id=household_id)
    if row is None:
        raise NotFound(f"no household {household_id}", household=household_id)
    return row


def _check_tag(tag: str) -> None:
    if tag not in CARE_TAGS:
        raise InvalidInput(
            f"unknown care tag {tag!r}; the tags are {', '.join(CARE_TAGS)}", field="tag"
        )


def care_tags(
    session: Session, *, household_id: int, principal: Principal, rule: VisitRule, route: str
) -> dict[str, Any]:
    """A household's care tags with its last visit and next due date; only for who may see
    them (403 otherwise), and the read is logged."""
    require_role(principal, "read care tags", roles=PERSONAL_DATA_ROLES)
    row = _household(session, household_id)
    if not sees_care(principal, row.place):
        raise Forbidden(
            f"the care tags of household {household_id} are personal data of {row.place}, "
            f"outside this token's {principal.area}",
            role=principal.role,
        )
    tags = q.tags(session, household_id=household_id)
    last = q.last_visit(session, household_id=household_id)
    due = due_at(rule, tags_of(tags), last)
    if tags:
        log_reads(session, principal, [household_id], fields=["care_tags"], route=route)
    return {
        "household_id": household_id,
        "grid_code": row.grid_code,
        "care_tags": [{**t, "interval": rule.interval(t["tag"], t["interval_days"])} for t in tags],
        "last_visit_at": last,
        "next_visit_due": due,
    }


def today(rule: VisitRule) -> date:
    """Today where the households are."""
    return datetime.now(ZoneInfo(rule.timezone)).date()


def put_tag(
    session: Session,
    *,
    household_id: int,
    tag: str,
    values: dict[str, Any],
    principal: Principal,
    today: date,
) -> tuple[dict[str, Any], bool]:
    """Set a care tag of a household (made, since ``today`` unless told, or its given fields
    changed); the tag and whether it is new. Audited."""
    what = "set care tags"
    require_role(principal, what, roles=CARE_WRITERS)
    row = _household(session, household_id)
    principal.require(what, roles=CARE_WRITERS, place=row.place)
    _check_tag(tag)
    before = q.lock_tag(session, household_id=household_id, tag=tag)
    if values.get("since") is None:
        # A new tag starts today unless told; a stored one keeps its day.
        values = {k: v for k, v in values.items() if k != "since"}
    after = q.put_tag(
        session,
        household_id=household_id,
        tag=tag,
        values=values,
        new={"since": today, **values},
        by=principal.actor,
    )
    audit.record(
        session,
        principal.actor,
        "care_tag",
        "household",
        str(household_id),
        before={"care_tag": before} if before else None,
        after={"care_tag": after},
    )
    return after, before is None


def delete_tag(session: Session, *, household_id: int, tag: str, principal: Principal) -> None:
    """Remove a care tag of a household; 404 when it has none of that kind. Audited."""
    what = "remove care tags"
    require_role(principal, what, roles=CARE_WRITERS)
    row = _household(session, household_id)
    principal.require(what, roles=CARE_WRITERS, place=row.place)
    _check_tag(tag)
    before = q.delete_tag(session, household_id=household_id, tag=tag)
    if before is None:
        raise NotFound(f"household {household_id} has no care tag {tag}", tag=tag)
    audit.record(
        session,
        principal.actor,
        "care_tag_remove",
        "household",
        str(household_id),
        before={"care_tag": before},
        after=None,
    )


def overdue(
    session: Session,
    *,
    principal: Principal,
    region: str | None,
    grid: str | None,
    at: datetime | None,
    rule: VisitRule,
    route: str,
) -> dict[str, Any]:
    """Households past their visit interval at ``at`` (now by default) in a region or grid, as
    GeoJSON points; care tags masked for who may not see them, read logged for who may."""
    place = grid or region
    if place is None:
        raise InvalidInput("give region= or grid=", field="region")
    # Who is overdue is personal in itself: every household listed has a care tag, and its due
    # date less its last visit is the tag's interval.
    principal.require("list overdue visits", roles=PERSONAL_DATA_ROLES, place=place)
    when = at or datetime.now(ZoneInfo(rule.timezone))
    features = q.overdue(session, region=region, grid=grid, at=when, rule=rule)
    shown: list[int] = []
    for f in features:
        props = f["properties"]
        community = props.pop("community_code", None)
        if sees_care(principal, props["grid_code"] or community):
            props["masked"] = False
            shown.append(props["household_id"])
        else:
            props["care_tags"] = None
            props["masked"] = True
    log_reads(session, principal, shown, fields=["care_tags"], route=route)
    return {
        "type": "FeatureCollection",
        "at": when.isoformat(),
        "numberReturned": len(features),
        "features": features,
    }
