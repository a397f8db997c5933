"""gridmap.queries.incidents: the SQL of incidents: place at report time, rows, events, figures.

Reads and writes return rows and never check permissions; :mod:`gridmap.services.incidents`
decides who may do what and what a change writes together.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    and_,
    bindparam,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from gridmap.models import (
    CalendarDay,
    Incident,
    IncidentCategory,
    IncidentEvent,
    IncidentKey,
    IncidentOpen,
    Region,
)
from gridmap.queries import feature_collection, feature_page
from gridmap.vocab.states import DONE, OPEN, sql_list

# Tables (not FromClauses) for the type checker: they are written to as well as read.
_i = cast(Table, Incident.__table__)
_k = cast(Table, IncidentKey.__table__)
_o = cast(Table, IncidentOpen.__table__)
_e = cast(Table, IncidentEvent.__table__)
_c = cast(Table, IncidentCategory.__table__)
_region = cast(Table, Region.__table__)

# At report time: the grid holding the point (lowest code on a border); failing that, the
# community holding it, or the nearest one — and how far the nearest grid is.
# Kept as SQL: three LATERAL lookups by point (GiST `&&` and KNN `<->`) the planner must see whole.
_PLACE = text("""
SELECT g.code AS grid_code, g.community_code,
       c_in.code AS community_in, c_near.code AS community_near,
       (SELECT ST_Distance(n.geom::geography, pt.geom::geography) FROM grid n
        WHERE n.valid_to IS NULL ORDER BY n.geom <-> pt.geom LIMIT 1) AS distance_m
FROM (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom) pt
LEFT JOIN LATERAL (SELECT g.code, g.community_code FROM grid_piece p JOIN grid g ON g.id = p.grid_id
                   WHERE g.valid_to IS NULL AND ST_Intersects(p.geom, pt.geom)
                   ORDER BY g.code LIMIT 1) g ON true
LEFT JOIN LATERAL (SELECT r.code FROM region r WHERE r.level = 'community'
                   AND ST_Intersects(r.geom, pt.geom) ORDER BY r.code LIMIT 1) c_in ON true
LEFT JOIN LATERAL (SELECT r.code FROM region r WHERE r.level = 'community' AND r.geom IS NOT NULL
                   ORDER BY r.geom <-> pt.geom LIMIT 1) c_near ON true
""")

# Kept as SQL: a geography distance and ST_DWithin around a point, written so the GiST index is
# used. It reads ``incident_open`` (the unfinished incidents, one small table kept by triggers)
# rather than the month partitions of ``incident``: a merged incident is cancelled, so none of
# those rows is merged into another. The box ``&&`` (a little wider than ``metres``) reads the
# GiST index (the geography test alone is costed so high that it was planned with parallel
# workers).
_DUPLICATES = text(f"""
SELECT o.id, o.category, o.status, o.reported_at,
       round(ST_Distance(o.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)
             ::numeric, 1)::float8 AS distance_m
FROM incident_open o
WHERE o.category = :category AND o.id <> :id
  AND o.status NOT IN {sql_list(DONE)}
  AND o.reported_at > now() - make_interval(secs => CAST(:hours AS float8) * 3600)
  AND o.geom && ST_Expand(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :degrees)
  AND ST_DWithin(o.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :metres)
ORDER BY distance_m, o.id
LIMIT 10
""")


def _overdue() -> ColumnElement[bool]:
    return and_(_i.c.due_at.is_not(None), _i.c.status.not_in(DONE), _i.c.due_at < func.now())


# An incident as a feature: every column a property, and whether it is overdue now.
ROW = select(
    _i.c.id,
    _i.c.category,
    _i.c.severity,
    _i.c.description,
    _i.c.status,
    _i.c.grid_code,
    _i.c.community_code,
    _i.c.street_code,
    _i.c.distance_to_grid_m,
    _i.c.reported_at,
    _i.c.dispatched_at,
    _i.c.due_at,
    _i.c.closed_at,
    _i.c.score,
    _i.c.dispatch_mode,
    _i.c.assignees,
    _i.c.merged_into,
    _i.c.returned_count,
    _i.c.crs_in,
    _i.c.photos,
    _i.c.reporter_name,
    _i.c.reporter_phone,
    _i.c.version,
    _i.c.owner_code,
    # Who holds it, by name (学院路街道, 海淀区): one primary-key probe of region.
    select(_region.c.name)
    .where(_region.c.code == _i.c.owner_code)
    .scalar_subquery()
    .label("owner_name"),
    _i.c.pool_until,
    _i.c.parked_from,
    _i.c.parked_at,
    _i.c.change_seq,
    _overdue().label("overdue"),
    _i.c.geom,
)


def calendar(conn: Any) -> tuple[frozenset[date], frozenset[date]]:
    """The public holidays and the adjusted working days (调休) of ``calendar_day``."""
    days = conn.execute(select(CalendarDay.day, CalendarDay.kind)).all()
    return (
        frozenset(d for d, kind in days if kind == "holiday"),
        frozenset(d for d, kind in days if kind == "workday"),
    )


def by_id(
    session: Session, incident_id: int, reported_at: datetime | None = None
) -> ColumnElement[bool]:
    """``incident.id = incident_id`` and its ``reported_at`` (read first from ``incident_key``
    unless the caller knows it) sent as a value: the planner then plans one month's partition
    instead of all of them (a subquery would be pruned only when the plan runs, after planning
    every month)."""
    at = reported_at
    if at is None:
        at = session.execute(
            select(_k.c.reported_at).where(_k.c.id == incident_id)
        ).scalar_one_or_none()
    if at is None:
        return false()
    return and_(_i.c.id == incident_id, _i.c.reported_at == at)


def incident_feature(
    session: Session, *, incident_id: int, reported_at: datetime | None = None
) -> dict[str, Any] | None:
    """One incident as a GeoJSON Feature (unmasked), or None; ``reported_at``, when known,
    spares reading it from ``incident_key``."""
    features = session.execute(
        feature_collection(ROW.where(by_id(session, incident_id, reported_at)), order_by="id")
    ).scalar_one()
    return features[0] if features else None


def events(session: Session, *, incident_id: int) -> list[dict[str, Any]]:
    """The events of an incident in order, times in ISO 8601."""
    rows = session.execute(
        select(
            _e.c.seq,
            _e.c.action,
            _e.c.from_status,
            _e.c.to_status,
            _e.c.actor,
            _e.c.at,
            _e.c.note,
            _e.c.task_id,
        )
        .where(_e.c.incident_id == incident_id)
        .order_by(_e.c.seq)
    )
    return [{**r._mapping, "at": r.at.isoformat()} for r in rows]


def category_active(session: Session, *, code: str) -> bool | None:
    """Whether category ``code`` is active; None when there is no such category."""
    return session.execute(select(_c.c.active).where(_c.c.code == code)).scalar_one_or_none()


def active_categories(session: Session) -> list[str]:
    """The codes of the active categories, in order."""
    return list(session.execute(select(_c.c.code).where(_c.c.active).order_by(_c.c.code)).scalars())


def place(session: Session, *, lon: float, lat: float) -> Row[Any]:
    """Grid, community (holding or nearest) and distance to the nearest grid of a point."""
    return session.execute(_PLACE, {"lon": lon, "lat": lat}).one()


def insert_incident(
    session: Session, *, idempotency_key: str | None, lon: float, lat: float, **values: Any
) -> Row[Any] | None:
    """Insert an incident at a WGS84 point: its ``id`` and ``reported_at``; None when
    ``idempotency_key`` is already used.

    The key is unique in ``incident_key``, not in the partitioned ``incident``: its insert
    trigger skips the row (no row returned) when the key names another incident.
    """
    return session.execute(
        insert(_i)
        .values(
            idempotency_key=idempotency_key,
            geom=func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326),
            **values,
        )
        .returning(_i.c.id, _i.c.reported_at)
    ).one_or_none()


def try_lock_key(session: Session, *, idempotency_key: str) -> bool:
    """Take the transaction's lock on an idempotency key, without waiting; False when another
    transaction holds it (is recording a report with that key right now)."""
    taken: bool = session.execute(
        select(func.pg_try_advisory_xact_lock(func.hashtextextended(idempotency_key, 0)))
    ).scalar_one()
    return taken


def id_by_key(session: Session, *, idempotency_key: str | None) -> Row[Any]:
    """The incident reported with ``idempotency_key``, its month archived or not: ``id``,
    ``reported_at`` and ``stored`` (False when its month is archived)."""
    return session.execute(
        select(
            _k.c.id,
            _k.c.reported_at,
            exists()
            .where(_i.c.id == _k.c.id, _i.c.reported_at == _k.c.reported_at)
            .label("stored"),
        ).where(_k.c.idempotency_key == idempotency_key)
    ).one()


def duplicates(
    session: Session,
    *,
    incident_id: int,
    lon: float,
    lat: float,
    category: str,
    hours: float,
    metres: float,
) -> list[dict[str, Any]]:
    """Open incidents of ``category`` reported within ``hours`` and ``metres`` of a point."""
    # Degrees of longitude shrink with latitude: the box is as wide as the circle at ``lat``.
    degrees = 1.1 * metres / (111_000.0 * max(math.cos(math.radians(min(abs(lat), 89.0))), 0.01))
    rows = session.execute(
        _DUPLICATES,
        {
            "degrees": degrees,
            "lon": lon,
            "lat": lat,
            "category": category,
            "id": incident_id,
            "hours": hours,
            "metres": metres,
        },
    )
    return [{**r._mapping, "reported_at": r.reported_at.isoformat()} for r in rows]


def lock_for_action(session: Session, *, incident_id: int) -> Any:
    """The incident's state, version, owner, place, times and category limit, locked for a
    workflow step."""
    return session.execute(
        select(
            _i.c.id,
            _i.c.status,
            _i.c.version,
            _i.c.owner_code,
            _i.c.grid_code,
            _i.c.community_code,
            _i.c.street_code,
            _i.c.parked_from,
            _i.c.parked_at,
            _i.c.pool_until,
            _i.c.dispatched_at,
            _i.c.due_at,
            _i.c.category,
            _c.c.limit_hours,
            _c.c.working_time,
        )
        .select_from(_i.outerjoin(_c, _c.c.code == _i.c.category))
        .where(by_id(session, incident_id))
        .with_for_update(of=_i)
    ).one_or_none()


def clock(session: Session) -> datetime:
    """The database's clock now (``clock_timestamp()``, not the transaction's start)."""
    now: datetime = session.execute(select(func.clock_timestamp())).scalar_one()
    return now


def apply_step(
    session: Session,
    *,
    incident_id: int,
    changes: dict[str, Any],
    push_due: timedelta | None = None,
    returned: bool = False,
) -> None:
    """Write a workflow step: ``changes``, a due time pushed by ``push_due`` (when there is
    one), one more rework when ``returned``, and the next version."""
    values: dict[str, Any] = dict(changes)
    if push_due is not None:
        values["due_at"] = _i.c.due_at + push_due
    if returned:
        values["returned_count"] = _i.c.returned_count + 1
    where = by_id(session, incident_id)
    session.execute(update(_i).where(where).values(**values, version=_i.c.version + 1))


def lock_pair(session: Session, *, ids: tuple[int, int]) -> dict[int, Any]:
    """Lock two incidents, lowest id first, and return their ``merged_into``, ``status``,
    ``version`` and ``where`` (grid, else community) by id; an id with no incident is missing
    from the answer.

    Two writers locking the same pair from opposite ends then queue instead of deadlocking.
    """
    rows: dict[int, Any] = {}
    for incident_id in sorted(ids):
        row = session.execute(
            select(
                _i.c.id,
                _i.c.merged_into,
                _i.c.status,
                _i.c.version,
                func.coalesce(_i.c.grid_code, _i.c.community_code).label("where"),
            )
            .where(_i.c.id == incident_id)
            .with_for_update()
        ).one_or_none()
        if row is not None:
            rows[incident_id] = row
    return rows


def merge_chain(session: Session, *, incident_id: int) -> list[int]:
    """Every incident the chain of merges from ``incident_id`` leads to (empty when it was never
    merged)."""
    chain = (
        select(_i.c.merged_into.label("id"))
        .where(_i.c.id == incident_id, _i.c.merged_into.is_not(None))
        .cte("chain", recursive=True)
    )
    # UNION (not UNION ALL) stops at a loop that older data may hold.
    chain = chain.union(
        select(_i.c.merged_into).where(_i.c.id == chain.c.id, _i.c.merged_into.is_not(None))
    )
    return list(session.execute(select(chain.c.id)).scalars())


def set_merged_into(session: Session, *, incident_id: int, into: int) -> None:
    """Link a duplicate to its original."""
    session.execute(update(_i).where(_i.c.id == incident_id).values(merged_into=into))


@dataclass(frozen=True)
class IncidentFilter:
    """Which incidents to list: each given field narrows the list (``start``/``end`` bound the
    report time, ``bbox`` is west, south, east, north in WGS84)."""

    bbox: tuple[float, float, float, float] | None = None
    state: str | None = None
    category: str | None = None
    grid: str | None = None
    region: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def list_incidents(
    session: Session,
    *,
    chosen: IncidentFilter,
    limit: int,
    offset: int,
    mask: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """A page of incidents as GeoJSON, newest first, each filter applied only when given.

    A list of one open state reads ``incident_open`` (the few unfinished incidents) for the page's
    ids and months and the total, then the page's rows by id and month: the planner plans only
    the months on the page instead of every month's partition."""
    if chosen.state in OPEN:
        return _open_page(session, chosen=chosen, limit=limit, offset=offset, mask=mask)
    return feature_page(
        session,
        rows=ROW,
        count_from=_i,
        where=_filters(_i, chosen),
        order=_i.c.id,
        descending=True,
        limit=limit,
        offset=offset,
        mask=mask,
    )


def _open_page(
    session: Session,
    *,
    chosen: IncidentFilter,
    limit: int,
    offset: int,
    mask: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    where = _filters(_o, chosen)
    page = session.execute(
        select(_o.c.id, _o.c.reported_at)
        .where(*where)
        .order_by(_o.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    matched = session.execute(select(func.count()).select_from(_o).where(*where)).scalar_one()
    features: list[dict[str, Any]] = []
    if page:
        # The months as values: each is a constant at planning, so only their partitions are
        # planned and read.
        at = sorted({r.reported_at for r in page})
        features = session.execute(
            feature_collection(
                ROW.where(_i.c.id.in_([r.id for r in page]), _i.c.reported_at.in_(at)),
                order_by="id",
                descending=True,
            )
        ).scalar_one()
    return {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(features),
        "features": [mask(f) for f in features],
    }


def _filters(t: Table, chosen: IncidentFilter) -> list[ColumnElement[bool]]:
    """``chosen`` as conditions on ``t`` (``incident`` or ``incident_open``: the same names)."""
    where = _period(t, region=chosen.region, start=chosen.start, end=chosen.end)
    if chosen.state is not None:
        where.append(t.c.status == chosen.state)
    if chosen.category is not None:
        where.append(t.c.category == chosen.category)
    if chosen.grid is not None:
        where.append(t.c.grid_code == chosen.grid)
    if chosen.bbox is not None:
        where.append(t.c.geom.op("&&")(func.ST_MakeEnvelope(*chosen.bbox, 4326)))
    return where


def _period(
    t: Table, *, region: str | None, start: datetime | None, end: datetime | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if region is not None:
        where.append(func.left(t.c.community_code, len(region)) == region)
    if start is not None:
        where.append(t.c.reported_at >= start)
    if end is not None:
        where.append(t.c.reported_at < end)
    return where


def lock_photos(session: Session, *, incident_id: int) -> Any:
    """The incident's place, photos and number of photos, locked; None when there is no such
    incident."""
    return session.execute(
        select(
            _i.c.grid_code,
            _i.c.community_code,
            _i.c.photos,
            func.jsonb_array_length(_i.c.photos).label("n"),
        )
        .where(_i.c.id == incident_id)
        .with_for_update()
    ).one_or_none()


def append_photo(session: Session, *, incident_id: int, photo: dict[str, Any]) -> None:
    """Reference one more photo from an incident."""
    session.execute(
        update(_i)
        .where(_i.c.id == incident_id)
        .values(photos=_i.c.photos.op("||", return_type=JSONB)(literal([photo], JSONB)))
    )


def missing_times(conn: Any) -> list[Any]:
    """Incidents lacking ``dispatched_at``, ``closed_at`` or ``due_at`` that their events (or
    category limit) can give: each with its first dispatch, last closing, limit and the times
    it has."""
    firsts = (
        select(
            _e.c.incident_id,
            func.min(_e.c.at).filter(_e.c.to_status == "dispatched").label("dispatched"),
            func.max(_e.c.at).filter(_e.c.to_status == "closed").label("closed"),
        )
        .group_by(_e.c.incident_id)
        .subquery("e")
    )
    rows: list[Any] = conn.execute(
        select(
            _i.c.id,
            firsts.c.dispatched,
            firsts.c.closed,
            _c.c.limit_hours,
            _c.c.working_time,
            _i.c.dispatched_at,
            _i.c.closed_at,
            _i.c.due_at,
        )
        .select_from(
            _i.join(firsts, firsts.c.incident_id == _i.c.id).outerjoin(
                _c, _c.c.code == _i.c.category
            )
        )
        .where(
            or_(
                and_(_i.c.dispatched_at.is_(None), firsts.c.dispatched.is_not(None)),
                and_(_i.c.closed_at.is_(None), firsts.c.closed.is_not(None)),
                and_(
                    _i.c.due_at.is_(None),
                    firsts.c.dispatched.is_not(None),
                    _c.c.limit_hours.is_not(None),
                ),
            )
        )
    ).all()
    return rows


def set_times(conn: Any, changes: list[dict[str, Any]]) -> None:
    """Write ``dispatched_at`` (``d``), ``closed_at`` (``c``) and ``due_at`` (``due``) of the
    incidents ``key``."""
    if changes:
        conn.execute(
            update(_i)
            .where(_i.c.id == bindparam("key"))
            .values(
                dispatched_at=bindparam("d"), closed_at=bindparam("c"), due_at=bindparam("due")
            ),
            changes,
        )
