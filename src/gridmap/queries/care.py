"""gridmap.queries.care: care tags, households' last visits and due dates, and the log of reads.

:func:`due_columns` writes the visit interval rule of :func:`gridmap.services.care.due_at` in
SQL, so the overdue list of a whole street is one query rather than a loop over households.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Integer,
    Subquery,
    Table,
    Text,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from gridmap.models import AuditLog, Building, CareTag, Household, Visit
from gridmap.queries import feature_collection
from gridmap.vocab.kinds import VISITS_REACHED

if TYPE_CHECKING:
    from gridmap.services.care import VisitRule

_ct = cast(Table, CareTag.__table__)
_v = cast(Table, Visit.__table__)

# The visits that count towards a household's interval (a door nobody opened does not).
REACHED = _v.c.outcome.in_(VISITS_REACHED)
_h = cast(Table, Household.__table__)
_b = cast(Table, Building.__table__)
_log = cast(Table, AuditLog.__table__)

# Whose personal data a household's is: its grid's, else its community's.
PLACE = func.coalesce(_b.c.grid_code, _b.c.community_code, "")
_TAG_FIELDS = (_ct.c.tag, _ct.c.interval_days, _ct.c.since, _ct.c.note)


def household_place(session: Session, *, household_id: int) -> Any:
    """The household's grid and ``place`` (grid, else community); None when there is none."""
    return session.execute(
        select(_h.c.id, _b.c.grid_code, PLACE.label("place"))
        .select_from(_h.join(_b, _b.c.id == _h.c.building_id))
        .where(_h.c.id == household_id)
    ).one_or_none()


def tags(session: Session, *, household_id: int) -> list[dict[str, Any]]:
    """A household's care tags (tag, interval_days, since, note, created_by), by tag."""
    return [
        dict(r)
        for r in session.execute(
            select(*_TAG_FIELDS, _ct.c.created_by)
            .where(_ct.c.household_id == household_id)
            .order_by(_ct.c.tag)
        ).mappings()
    ]


def last_visit(session: Session, *, household_id: int) -> datetime | None:
    """When the household was last reached by a visit; None when never."""
    found: datetime | None = session.execute(
        select(func.max(_v.c.at)).where(_v.c.household_id == household_id, REACHED)
    ).scalar_one()
    return found


def lock_tag(session: Session, *, household_id: int, tag: str) -> dict[str, Any] | None:
    """A household's care tag of kind ``tag``, locked; None when it has none."""
    row = (
        session.execute(
            select(*_TAG_FIELDS)
            .where(_ct.c.household_id == household_id, _ct.c.tag == tag)
            .with_for_update()
        )
        .mappings()
        .one_or_none()
    )
    return dict(row) if row is not None else None


def put_tag(
    session: Session,
    *,
    household_id: int,
    tag: str,
    values: dict[str, Any],
    new: dict[str, Any],
    by: str,
) -> dict[str, Any]:
    """Make the care tag with ``new``, or change the fields given in ``values``; the tag as
    stored."""
    stmt = pg_insert(_ct).values(household_id=household_id, tag=tag, created_by=by, **new)
    if values:
        stmt = stmt.on_conflict_do_update(
            index_elements=[_ct.c.household_id, _ct.c.tag],
            set_={k: stmt.excluded[k] for k in values},
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=[_ct.c.household_id, _ct.c.tag])
    session.execute(stmt)
    return dict(
        session.execute(
            select(*_TAG_FIELDS).where(_ct.c.household_id == household_id, _ct.c.tag == tag)
        )
        .mappings()
        .one()
    )


def delete_tag(session: Session, *, household_id: int, tag: str) -> dict[str, Any] | None:
    """Remove a care tag; what it was, or None when there was none."""
    row = (
        session.execute(
            delete(_ct)
            .where(_ct.c.household_id == household_id, _ct.c.tag == tag)
            .returning(*_TAG_FIELDS)
        )
        .mappings()
        .one_or_none()
    )
    return dict(row) if row is not None else None


def log_reads(
    session: Session, *, actor: str, household_ids: Sequence[int], after: dict[str, Any]
) -> None:
    """One audit row ``read`` per household of ``household_ids``, all in one INSERT … SELECT."""
    ids = func.unnest(literal(list(household_ids), ARRAY(BigInteger))).column_valued("id")
    session.execute(
        insert(_log).from_select(
            ["at", "actor", "action", "entity", "entity_key", "after"],
            select(
                func.clock_timestamp(),
                literal(actor, Text),
                literal("read", Text),
                literal("household", Text),
                sql_cast(ids, Text),
                sql_cast(literal(json.dumps(after), Text), JSONB),
            ),
        )
    )


def tag_interval(rule: VisitRule) -> ColumnElement[int]:
    """Days between visits for one care tag: its own interval, else the configured one (SQL of
    :meth:`gridmap.services.care.VisitRule.interval`)."""
    configured: ColumnElement[int] = (
        case(dict(rule.intervals), value=_ct.c.tag, else_=rule.default_days)
        if rule.intervals
        else literal(rule.default_days, Integer)
    )
    return func.coalesce(_ct.c.interval_days, configured)


def household_care(rule: VisitRule, *, at: datetime | None) -> Subquery:
    """Per household with care tags: its tags (tag, interval_days as applied), the shortest
    interval, the earliest ``since``, its last visit (up to ``at``) and when it is due next —
    :func:`gridmap.services.care.due_at` in SQL."""
    interval = tag_interval(rule)
    per_household = (
        select(
            _ct.c.household_id,
            func.jsonb_agg(
                aggregate_order_by(
                    func.jsonb_build_object("tag", _ct.c.tag, "interval_days", interval),
                    _ct.c.tag,
                ),
                type_=JSONB,
            ).label("care_tags"),
            func.min(interval).label("interval_days"),
            func.min(_ct.c.since).label("since"),
        )
        .group_by(_ct.c.household_id)
        .subquery("tags")
    )
    visits = select(func.max(_v.c.at).label("at")).where(
        _v.c.household_id == per_household.c.household_id, REACHED
    )
    if at is not None:
        visits = visits.where(_v.c.at <= at)
    # A lateral join reads each household's last visit once (one index probe); a scalar subquery
    # would be probed again for every expression that names it.
    last = visits.lateral("last_visit")
    # since is a day: it starts at midnight where the households are.
    since_start = func.timezone(rule.timezone, sql_cast(per_household.c.since, DateTime))
    due = func.coalesce(last.c.at, since_start) + func.make_interval(
        0, 0, 0, per_household.c.interval_days
    )
    return (
        select(
            per_household.c.household_id,
            per_household.c.care_tags,
            last.c.at.label("last_visit_at"),
            due.label("due_at"),
        )
        .select_from(per_household.join(last, true()))
        .subquery("care")
    )


def overdue(
    session: Session, *, region: str | None, grid: str | None, at: datetime, rule: VisitRule
) -> list[dict[str, Any]]:
    """Households of ``region`` or ``grid`` whose visit was due before ``at``, most overdue
    first, as GeoJSON points on their building (``community_code`` for where none has a grid)."""
    care = household_care(rule, at=at)
    late = literal(at, DateTime(timezone=True)) - care.c.due_at
    where: list[ColumnElement[bool]] = [care.c.due_at < at]
    if grid is not None:
        where.append(_b.c.grid_code == grid)
    if region is not None:
        # PLACE.startswith(region), written on the columns so the planner reads their statistics
        # (a street holds most buildings: it then starts from the tagged households).
        where.append(
            or_(
                _b.c.grid_code.startswith(region),
                and_(_b.c.grid_code.is_(None), _b.c.community_code.startswith(region)),
            )
        )
    rows = (
        select(
            care.c.household_id,
            _h.c.building_id,
            _b.c.address,
            _h.c.unit,
            _h.c.room,
            _b.c.grid_code,
            _b.c.community_code,
            care.c.last_visit_at,
            care.c.due_at,
            sql_cast(func.floor(func.extract("epoch", late) / 86400), Integer).label(
                "days_overdue"
            ),
            care.c.care_tags,
            func.ST_PointOnSurface(_b.c.geom).label("geom"),
        )
        .select_from(
            care.join(_h, _h.c.id == care.c.household_id).join(_b, _b.c.id == _h.c.building_id)
        )
        .where(*where)
    )
    features: list[dict[str, Any]] = session.execute(
        feature_collection(rows, order_by="due_at")
    ).scalar_one()
    return features
