"""gridmap.queries.stats: the SQL of the assessment (考评) figures of incidents and sub-tasks.

Incident groups (grid, community, street, category) read only columns the incident table has had
since the first loop, so the same figures can be computed before and after a migration.
Department and worker figures come from the sub-tasks (``incident_task``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    and_,
    distinct,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from gridmap.models import Department, Grid, Incident, IncidentTask, Person, Region
from gridmap.vocab.states import DONE, INCIDENT_STATES, LEGACY_STATES, TASK_OPEN

_i = cast(Table, Incident.__table__)
_t = cast(Table, IncidentTask.__table__)
_d = cast(Table, Department.__table__)
_p = cast(Table, Person.__table__)
_g = cast(Table, Grid.__table__)
_r = cast(Table, Region.__table__)

INCIDENT_GROUPS = {
    "grid": _i.c.grid_code,
    "community": _i.c.community_code,
    "street": _i.c.street_code,
    "category": _i.c.category,
}
TASK_GROUPS = ("department", "worker")
# The states counted: today's, and the first loop's words a database before migration 0010 has
# (so the figures can be compared across it).
COUNTED_STATES = (*INCIDENT_STATES, *LEGACY_STATES)


def _hours(since: Any, until: Any) -> ColumnElement[Any]:
    # numeric division, as the figures were always computed
    return func.extract("epoch", until - since) / literal_column("3600.0")


def _in_region(region: str | None) -> list[ColumnElement[bool]]:
    if region is None:
        return []
    return [func.left(_i.c.community_code, len(region)) == region]


def incident_figures(
    session: Session,
    *,
    group_by: str,
    region: str | None,
    start: datetime | None,
    end: datetime | None,
) -> tuple[Sequence[Row[Any]], Sequence[Any]]:
    """Per group of incidents reported in [start, end): closure, time to close, rework, score,
    overdue now; and the counts by state. Merged duplicates are left out."""
    key = INCIDENT_GROUPS[group_by]
    where = [*_in_region(region), _i.c.merged_into.is_(None)]
    if start is not None:
        where.append(_i.c.reported_at >= start)
    if end is not None:
        where.append(_i.c.reported_at < end)
    closed = _i.c.closed_at.is_not(None)
    with_limit = and_(closed, _i.c.due_at.is_not(None))
    hours = _hours(_i.c.reported_at, _i.c.closed_at)
    figures = session.execute(
        select(
            key.label("key"),
            func.count().label("incidents"),
            func.count().filter(closed).label("closed"),
            func.count().filter(and_(with_limit, _i.c.closed_at <= _i.c.due_at)).label("on_time"),
            func.count().filter(with_limit).label("with_limit"),
            # Of the closed incidents, those sent back for rework at least once (the rate's
            # denominator is the closed ones).
            func.count().filter(and_(closed, _i.c.returned_count > 0)).label("reworked"),
            func.avg(_i.c.score).label("satisfaction"),
            func.count(_i.c.score).label("scored"),
            func.avg(hours).filter(closed).label("mean_hours"),
            func.percentile_cont(literal(0.9))
            .within_group(hours)
            .filter(closed)
            .label("p90_hours"),
            func.count()
            .filter(
                and_(
                    _i.c.due_at < func.now(),
                    _i.c.status.not_in(DONE),
                    # a parked incident's clock stands still
                    _i.c.status != "parked",
                )
            )
            .label("overdue_now"),
            *(
                func.count().filter(_i.c.status == state).label(f"state_{state}")
                for state in COUNTED_STATES
            ),
        )
        .where(*where)
        .group_by(key)
    ).all()
    # the counts by state in the same scan: one count per state, the zeros left out
    states = [
        _StateCount(r.key, state, int(getattr(r, f"state_{state}")))
        for r in figures
        for state in COUNTED_STATES
        if getattr(r, f"state_{state}")
    ]
    return figures, states


def task_figures(
    session: Session,
    *,
    group_by: str,
    region: str | None,
    start: datetime | None,
    end: datetime | None,
) -> tuple[Sequence[Row[Any]], Sequence[Any]]:
    """Per department (the sub-tasks whistled to it) or per worker (the sub-tasks the person
    answered) of the incidents reported in [start, end): on time = answered by the task's due
    time, rework = the task was returned, hours = created → answered, satisfaction = mean score
    of the incidents.

    Each row has ``key``, ``name`` and ``places`` (the grids or communities the tasks were
    about, so a caller can tell whether it may see a worker's name). Withdrawn tasks count only
    in the counts by state."""
    if group_by == "department":
        key: Any = _t.c.assignee_code
        only = [_t.c.assignee_kind == "department"]
    else:
        key = _t.c.answered_by_person
        only = [_t.c.answered_by_person.is_not(None)]
    where = [*only, *_in_region(region), _i.c.merged_into.is_(None)]
    # The period is the incidents' report time, as for every other group: an assessment of a
    # month covers the same incidents whichever way it is grouped (and the report time's index
    # finds them; the tasks follow by their incident).
    if start is not None:
        where.append(_i.c.reported_at >= start)
    if end is not None:
        where.append(_i.c.reported_at < end)
    # The period's tasks are read once (MATERIALIZED) for the figures, the satisfaction and the
    # counts by state: each would otherwise scan the tasks again.
    picked = (
        select(
            key.label("key"),
            _t.c.incident_id,
            _t.c.state,
            _t.c.assignee_name,
            _t.c.returned_count,
            _t.c.due_at,
            _t.c.answered_at,
            _hours(_t.c.created_at, _t.c.answered_at).label("hours"),
            _i.c.score,
            _i.c.status.label("incident_state"),
            func.coalesce(_i.c.grid_code, _i.c.community_code, literal("")).label("place"),
        )
        .select_from(_t.join(_i, _i.c.id == _t.c.incident_id))
        .where(*where)
        .cte("picked")
        .prefix_with("MATERIALIZED")
    )
    p = picked.c
    live = p.state != "withdrawn"
    answered = and_(live, p.answered_at.is_not(None))
    with_limit = and_(answered, p.due_at.is_not(None))
    figures_q = (
        select(
            p.key,
            func.count(distinct(p.incident_id)).filter(live).label("incidents"),
            func.count().filter(live).label("tasks"),
            func.count().filter(answered).label("closed"),
            func.count().filter(and_(with_limit, p.answered_at <= p.due_at)).label("on_time"),
            func.count().filter(with_limit).label("with_limit"),
            func.count().filter(and_(answered, p.returned_count > 0)).label("reworked"),
            func.avg(p.hours).filter(answered).label("mean_hours"),
            func.percentile_cont(literal(0.9))
            .within_group(p.hours)
            .filter(answered)
            .label("p90_hours"),
            func.count()
            .filter(
                and_(p.state.in_(TASK_OPEN), p.due_at < func.now(), p.incident_state != "parked")
            )
            .label("overdue_now"),
            func.min(p.assignee_name).label("assignee_name"),
            func.array_agg(distinct(p.place)).label("places"),
        )
        .group_by(p.key)
        .subquery()
    )
    # One score per incident, however many of its tasks the group had.
    scores = (
        select(p.key, p.incident_id, p.score)
        .where(live, p.score.is_not(None))
        .distinct()
        .subquery()
    )
    satisfaction = (
        select(scores.c.key, func.avg(scores.c.score).label("satisfaction"))
        .group_by(scores.c.key)
        .subquery()
    )
    counted = select(p.key, p.state, func.count().label("n")).group_by(p.key, p.state).subquery()
    by_state = (
        select(counted.c.key, func.jsonb_object_agg(counted.c.state, counted.c.n).label("by_state"))
        .group_by(counted.c.key)
        .subquery()
    )
    if group_by == "department":
        # the register's name; the name the tasks were given when it is not registered
        name: Any = func.coalesce(_d.c.name, figures_q.c.assignee_name, figures_q.c.key)
        named = figures_q.outerjoin(_d, _d.c.code == figures_q.c.key)
    else:
        name = _p.c.name
        named = figures_q.outerjoin(_p, _p.c.id == figures_q.c.key)
    figures = session.execute(
        select(
            figures_q,
            name.label("name"),
            satisfaction.c.satisfaction,
            by_state.c.by_state,
        ).select_from(
            named.outerjoin(satisfaction, satisfaction.c.key == figures_q.c.key).outerjoin(
                by_state, by_state.c.key == figures_q.c.key
            )
        )
    ).all()
    states = [
        _StateCount(r.key, state, n) for r in figures for state, n in (r.by_state or {}).items()
    ]
    return figures, states


@dataclass(frozen=True)
class _StateCount:
    key: Any
    state: str
    n: int


def names(session: Session, *, group_by: str, keys: list[str]) -> dict[str, str]:
    """The names of grids (current version), regions or categories with these codes."""
    if not keys:
        return {}
    if group_by == "grid":
        rows = session.execute(
            select(_g.c.code, _g.c.name).where(_g.c.code.in_(keys)).order_by(_g.c.valid_from)
        ).all()
    elif group_by in ("community", "street"):
        rows = session.execute(select(_r.c.code, _r.c.name).where(_r.c.code.in_(keys))).all()
    else:
        return {k: k for k in keys}
    # for a grid, its latest version's name wins
    return {str(r.code): str(r.name) for r in rows}
