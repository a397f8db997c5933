"""gridmap.queries.board: the SQL of the command centre's board: which incidents wait in which
queue for a caller's scope, how many in each, and whether anything changed since last asked.

Every queue but the approvals holds unfinished incidents only: they are counted and paged in
``incident_open`` (one small table kept by triggers, migrations 0018 and 0019), and the page's
rows are then read from ``incident`` by id and month, so only the page's months are planned and
read, however many months there are. Approvals are requests, pending also on an incident
finished since: they are read through ``approval``.

Queries never check permissions: :mod:`gridmap.services.board` turns the caller into a
:class:`Scope` and decides which queues it has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Table,
    and_,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from gridmap.models import Approval, Grid, Incident, IncidentOpen, IncidentTask, Region
from gridmap.vocab.states import OPEN, TASK_OPEN

_i = cast(Table, Incident.__table__)
_o = cast(Table, IncidentOpen.__table__)
_t = cast(Table, IncidentTask.__table__)
_a = cast(Table, Approval.__table__)
_g = cast(Table, Grid.__table__)
_r = cast(Table, Region.__table__)

# The queues of a command centre, in the order the board shows them; a department, community
# office or grid worker has only the sub-tasks given to it.
CENTRE_QUEUES = (
    "to_accept",
    "pool",
    "to_dispatch",
    "dispatched",
    "whistled",
    "approvals",
    "overdue",
    "to_verify",
)
TASK_QUEUES = ("mine",)
QUEUES = (*CENTRE_QUEUES, *TASK_QUEUES)


@dataclass(frozen=True)
class Scope:
    """Whose board it is: a command centre's region (``None`` with ``everywhere``: an
    administrator), or the assignee whose open sub-tasks make its ``mine`` queue."""

    region: str | None = None
    everywhere: bool = False
    department: str | None = None
    grids: frozenset[str] | None = None
    community_office: str | None = None


@dataclass(frozen=True)
class BoardFilter:
    """What the dispatcher narrowed the board to."""

    street: str | None = None
    category: str | None = None
    severity: str | None = None
    state: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def _under(column: Any, scope: Scope) -> ColumnElement[bool]:
    if scope.everywhere:
        return true()
    if scope.region is None:
        return false()
    return cast(ColumnElement[bool], column.startswith(scope.region, autoescape=True))


def _in_scope(t: Table, scope: Scope) -> list[ColumnElement[bool]]:
    """For a command centre of a region: the rows any of its queues can hold (held, or placed,
    under the region), as code ranges its indexes read; nothing to add otherwise."""
    if scope.everywhere or scope.region is None:
        return []
    lo = scope.region
    hi = lo[:-1] + chr(ord(lo[-1]) + 1)
    return [
        or_(
            *(
                and_(column >= lo, column < hi)
                for column in (t.c.owner_code, t.c.grid_code, t.c.community_code, t.c.street_code)
            )
        )
    ]


def _open_task(t: Table, kind: str | None = None) -> ColumnElement[bool]:
    q: Select[Any] = select(literal_column("1")).where(
        _t.c.incident_id == t.c.id, _t.c.state.in_(TASK_OPEN)
    )
    if kind is not None:
        q = q.where(_t.c.kind == kind)
    return exists(q)


def _mine(t: Table, scope: Scope) -> ColumnElement[bool]:
    if scope.department is not None:
        who = and_(_t.c.assignee_kind == "department", _t.c.assignee_code == scope.department)
    elif scope.grids is not None:
        who = and_(_t.c.assignee_kind == "grid", _t.c.assignee_code.in_(sorted(scope.grids)))
    elif scope.community_office is not None:
        office = scope.community_office
        who = or_(
            and_(_t.c.assignee_kind == "grid", _t.c.assignee_code.startswith(office)),
            and_(_t.c.assignee_kind == "community", _t.c.assignee_code == office),
        )
    elif scope.everywhere:
        who = true()
    else:
        return false()
    # The incidents of the scope's open sub-tasks (a few), not a probe per open incident.
    return t.c.id.in_(select(_t.c.incident_id).where(_t.c.state.in_(TASK_OPEN), who))


def _pending_approval(t: Table, scope: Scope) -> ColumnElement[bool]:
    q: Select[Any] = select(literal_column("1")).where(
        _a.c.incident_id == t.c.id, _a.c.decision == "pending"
    )
    if not scope.everywhere:
        q = q.where(_a.c.decider_code == scope.region)
    return exists(q)


def open_tasks() -> Any:
    """Per incident with open sub-tasks: whether one is a split (分单) and one a whistle (联单);
    joined once for the counts instead of probing the tasks of every incident twice."""
    return (
        select(
            _t.c.incident_id,
            func.bool_or(_t.c.kind == "split").label("split"),
            func.bool_or(_t.c.kind == "whistle").label("whistle"),
        )
        .where(_t.c.state.in_(TASK_OPEN))
        .group_by(_t.c.incident_id)
        .subquery("open_tasks")
    )


def queue_predicates(
    scope: Scope, tasks: Any = None, t: Table = _o
) -> dict[str, ColumnElement[bool]]:
    """Each queue as a condition on ``t`` (``incident_open``, or ``incident``: the same names)
    for ``scope``; with ``tasks`` (the :func:`open_tasks` joined in), sub-tasks are read from it
    rather than probed per row."""
    if tasks is None:
        split, whistle = _open_task(t, "split"), _open_task(t, "whistle")
    else:
        split, whistle = tasks.c.split.is_(True), tasks.c.whistle.is_(True)
    place = func.coalesce(t.c.grid_code, t.c.community_code, t.c.street_code)
    owned = _under(t.c.owner_code, scope)
    if scope.everywhere:
        own_exactly: ColumnElement[bool] = true()
    elif scope.region is None:
        own_exactly = false()
    else:
        own_exactly = t.c.owner_code == scope.region
    running = [s for s in OPEN if s != "parked"]
    return {
        "to_accept": and_(t.c.status == "reported", _under(place, scope)),
        "pool": and_(t.c.status == "pooled", owned),
        "to_dispatch": and_(t.c.status == "queued", owned),
        "dispatched": and_(
            owned,
            or_(
                t.c.status == "dispatched",
                and_(t.c.status == "handling", split),
            ),
        ),
        "whistled": and_(owned, t.c.status == "handling", whistle),
        "approvals": _pending_approval(t, scope),
        "overdue": and_(
            owned,
            t.c.status.in_(running),
            t.c.due_at.is_not(None),
            t.c.due_at < func.now(),
        ),
        "to_verify": and_(t.c.status == "resolved", own_exactly),
        "mine": _mine(t, scope),
    }


def _filtered(chosen: BoardFilter, t: Table = _o) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if chosen.street is not None:
        conditions.append(t.c.street_code == chosen.street)
    if chosen.category is not None:
        conditions.append(t.c.category == chosen.category)
    if chosen.severity is not None:
        conditions.append(t.c.severity == chosen.severity)
    if chosen.state is not None:
        conditions.append(t.c.status == chosen.state)
    if chosen.start is not None:
        conditions.append(t.c.reported_at >= chosen.start)
    if chosen.end is not None:
        conditions.append(t.c.reported_at < chosen.end)
    return conditions


def counts(
    session: Session, *, scope: Scope, queues: tuple[str, ...], chosen: BoardFilter
) -> dict[str, int]:
    """How many incidents wait in each of ``queues`` (approvals: how many pending requests
    the scope decides), in one statement."""
    tasks = open_tasks()
    preds = queue_predicates(scope, tasks)
    columns: list[Any] = []
    for name in queues:
        if name == "approvals":
            # The incident is read only to filter: a request needs no month otherwise.
            filters = _filtered(chosen, _i)
            pending = (
                select(func.count())
                .select_from(_a.join(_i, _i.c.id == _a.c.incident_id) if filters else _a)
                .where(_a.c.decision == "pending", *filters)
            )
            if not scope.everywhere:
                pending = pending.where(_a.c.decider_code == scope.region)
            columns.append(pending.scalar_subquery().label(name))
        else:
            columns.append(func.count().filter(preds[name]).label(name))
    # Every other queue holds open incidents only: one pass over them counts them all. A board
    # of sub-tasks only (``mine``) starts from those sub-tasks instead of every open incident.
    only_tasks = [preds[name] for name in queues if name in TASK_QUEUES]
    query = (
        select(*columns)
        .select_from(_o.outerjoin(tasks, tasks.c.incident_id == _o.c.id))
        .where(
            _o.c.status.in_(OPEN),
            *_filtered(chosen),
            *(only_tasks if len(only_tasks) == len(queues) else _in_scope(_o, scope)),
        )
    )
    row = session.execute(query).one()
    return {name: int(row._mapping[name]) for name in queues}


def rows(
    session: Session,
    *,
    scope: Scope,
    queue: str,
    chosen: BoardFilter,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """The incidents of one queue, the most pressing first: due soonest, then reported first."""
    # The page is chosen first (its ids and months), so names and sub-tasks are read, and
    # months planned, for its rows only.
    t = _i if queue == "approvals" else _o
    picked = session.execute(
        select(t.c.id, t.c.reported_at)
        .where(
            queue_predicates(scope, t=t)[queue],
            *_filtered(chosen, t),
            *([] if queue in ("approvals", *TASK_QUEUES) else _in_scope(t, scope)),
        )
        .order_by(t.c.due_at.asc().nulls_last(), t.c.reported_at.asc(), t.c.id.asc())
        .limit(limit)
        .offset(offset)
    ).all()
    if not picked:
        return []
    order = (_i.c.due_at.asc().nulls_last(), _i.c.reported_at.asc(), _i.c.id.asc())
    street = _r.alias("street")
    community = _r.alias("community")
    grid_name = (
        select(_g.c.name)
        .where(_g.c.code == _i.c.grid_code)
        .order_by(_g.c.valid_to.is_(None).desc(), _g.c.valid_from.desc())
        .limit(1)
        .scalar_subquery()
    )
    tasks = (
        select(
            func.count().filter(_t.c.state.in_(TASK_OPEN)).label("open"),
            func.count().filter(_t.c.state == "answered").label("answered"),
            func.count().filter(_t.c.state != "withdrawn").label("total"),
            func.array_agg(_t.c.assignee_name).filter(_t.c.state.in_(TASK_OPEN)).label("names"),
        )
        .where(_t.c.incident_id == _i.c.id)
        .lateral("tasks")
    )
    seconds_left = func.floor(func.extract("epoch", _i.c.due_at - func.now())).cast(Integer)
    pool_left = func.floor(func.extract("epoch", _i.c.pool_until - func.now())).cast(Integer)
    query = (
        select(
            _i.c.id,
            _i.c.category,
            _i.c.severity,
            _i.c.status,
            _i.c.street_code,
            street.c.name.label("street_name"),
            _i.c.community_code,
            community.c.name.label("community_name"),
            _i.c.grid_code,
            grid_name.label("grid_name"),
            _i.c.reported_at,
            _i.c.due_at,
            seconds_left.label("seconds_left"),
            _i.c.pool_until,
            pool_left.label("pool_seconds_left"),
            _i.c.owner_code,
            _i.c.version,
            _i.c.change_seq,
            tasks.c.open.label("tasks_open"),
            tasks.c.answered.label("tasks_answered"),
            tasks.c.total.label("tasks_total"),
            tasks.c.names.label("tasks_names"),
        )
        .select_from(
            _i.outerjoin(street, street.c.code == _i.c.street_code)
            .outerjoin(community, community.c.code == _i.c.community_code)
            .join(tasks, true())
        )
        # The months as values: each is a constant at planning.
        .where(
            _i.c.id.in_([r.id for r in picked]),
            _i.c.reported_at.in_(sorted({r.reported_at for r in picked})),
        )
        .order_by(*order)
    )
    out = []
    for r in session.execute(query).mappings():
        row = dict(r)
        row["tasks"] = {
            "open": row.pop("tasks_open"),
            "answered": row.pop("tasks_answered"),
            "total": row.pop("tasks_total"),
            "assignees": list(row.pop("tasks_names") or []),
        }
        for key in ("reported_at", "due_at", "pool_until"):
            if row[key] is not None:
                row[key] = row[key].isoformat()
        out.append(row)
    return out


# The largest change number: PostgreSQL reads max() off the end of incident_change_seq_idx.
LAST_CHANGE = select(func.coalesce(func.max(_i.c.change_seq), 0))


def last_change(session: Session) -> int:
    """The largest ``change_seq`` of any incident (0 with none): one probe of the end of
    ``incident_change_seq_idx``, however many incidents there are."""
    return int(session.execute(LAST_CHANGE).scalar_one())


def version_of(session: Session, *, incident_id: int) -> int | None:
    """The current version of an incident (None: there is none)."""
    found = session.execute(select(_i.c.version).where(_i.c.id == incident_id)).scalar()
    return None if found is None else int(found)
