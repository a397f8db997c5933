"""gridmap.queries.public: what a community shows the public, and the public form's limit.

The public read selects only what may be shown to anyone (codes, titles, categories, states and
their times, grid names, a project's sheet without its responsible person): no names, phones,
points, reports or member ids leave these queries. The form's limit counts the keyed hashes of
its clients in ``public_submission``.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.orm import Session

from gridmap.models import Grid, ListItem, PartyPost, PublicSubmission, Region

_i = cast(Table, ListItem.__table__)
_g = cast(Table, Grid.__table__)
_r = cast(Table, Region.__table__)
_post = cast(Table, PartyPost.__table__)
_sub = cast(Table, PublicSubmission.__table__)

# How many items of each list, and posts, the public page shows (newest first).
SHOWN = 200


def server_key(session: Session) -> str:
    """A value an outsider cannot know and every server of this database shares: the cluster's
    system identifier, or where the role may not read it (a managed server), the database's oid
    and the time its server started."""
    try:
        with session.begin_nested():
            found = session.execute(
                text("SELECT system_identifier::text FROM pg_control_system()")
            ).scalar_one()
    except Exception:  # a role without the right to read the control file
        found = session.execute(
            text(
                "SELECT (SELECT oid FROM pg_database WHERE datname = current_database())::text "
                "|| '/' || pg_postmaster_start_time()::text"
            )
        ).scalar_one()
    return str(found)


def community(session: Session, *, code: str) -> Any:
    """A community's code, name, its street's code and name, and its bounding box (west,
    south, east, north); None when there is no community of that code."""
    street = _r.alias("street")
    return session.execute(
        select(
            _r.c.code,
            _r.c.name,
            street.c.code.label("street_code"),
            street.c.name.label("street_name"),
            func.ST_XMin(_r.c.geom).label("west"),
            func.ST_YMin(_r.c.geom).label("south"),
            func.ST_XMax(_r.c.geom).label("east"),
            func.ST_YMax(_r.c.geom).label("north"),
        )
        .select_from(_r.outerjoin(street, street.c.code == _r.c.parent_code))
        .where(_r.c.code == code, _r.c.level == "community")
    ).one_or_none()


def covers(session: Session, *, community: str, lon: float, lat: float) -> bool:
    """Whether the community's boundary holds a WGS84 point."""
    return bool(
        session.execute(
            select(
                func.ST_Covers(_r.c.geom, func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326))
            ).where(_r.c.code == community)
        ).scalar_one_or_none()
    )


def grid_name(session: Session, *, grid: str) -> str | None:
    """The current name of a grid."""
    name: str | None = session.execute(
        select(_g.c.name).where(_g.c.code == grid, _g.c.valid_to.is_(None))
    ).scalar_one_or_none()
    return name


def hold_client(session: Session, *, client: str) -> None:
    """Take the transaction's advisory lock of a client, so its submissions are counted and
    written one at a time (two at once cannot both pass the limit)."""
    session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(client, 18))))


def recent(session: Session, *, client: str) -> tuple[int, float]:
    """How many submissions the client made in the last hour, and in how many seconds the
    oldest of them is an hour old."""
    row = session.execute(
        select(
            func.count(),
            func.extract("epoch", func.min(_sub.c.at) + text("interval '1 hour'") - func.now()),
        ).where(_sub.c.client == client, _sub.c.at > func.now() - text("interval '1 hour'"))
    ).one()
    return int(row[0]), float(row[1] or 0)


def note_submission(session: Session, *, client: str) -> None:
    """Count a submission of the client, and forget those older than a day."""
    session.execute(delete(_sub).where(_sub.c.at < func.now() - text("interval '1 day'")))
    session.execute(insert(_sub).values(client=client))


def items(session: Session, *, community: str) -> list[dict[str, Any]]:
    """The community's list items, newest first per list: what may be shown to anyone, with
    ``list`` and ``wish`` to sort them by, at most :data:`SHOWN` of each kind."""
    ranked = (
        select(
            _i.c.code,
            _i.c.list,
            _i.c.wish,
            _i.c.title,
            _i.c.category,
            _i.c.status,
            _i.c.grid_code,
            _g.c.name.label("grid_name"),
            _i.c.created_at,
            _i.c.assigned_at,
            _i.c.taken_at,
            _i.c.done_at,
            _i.c.service_content,
            _i.c.service_standard,
            _i.c.due_date,
            _i.c.responsible_unit,
            func.row_number()
            .over(partition_by=(_i.c.list, _i.c.wish), order_by=(_i.c.created_at.desc(), _i.c.id))
            .label("n"),
        )
        .select_from(_i.outerjoin(_g, (_g.c.code == _i.c.grid_code) & _g.c.valid_to.is_(None)))
        .where(func.left(_i.c.grid_code, 12) == community)
        .subquery()
    )
    return [
        dict(r._mapping)
        for r in session.execute(
            select(ranked).where(ranked.c.n <= SHOWN).order_by(ranked.c.created_at.desc())
        )
    ]


def counts(session: Session, *, community: str) -> dict[str, int]:
    """How many of the community's needs, wishes and projects are in each status."""
    rows = session.execute(
        select(_i.c.status, func.count())
        .where(func.left(_i.c.grid_code, 12) == community, _i.c.list.in_(("need", "project")))
        .group_by(_i.c.status)
    ).all()
    return {str(status): int(n) for status, n in rows}


def posts(session: Session, *, community: str) -> list[dict[str, Any]]:
    """The community's posts: title, duty, grid, whether one holds it and the hours served."""
    return [
        dict(r._mapping)
        for r in session.execute(
            select(
                _post.c.code,
                _post.c.title,
                _post.c.duty,
                _post.c.grid_code,
                _g.c.name.label("grid_name"),
                _post.c.member_id.is_not(None).label("claimed"),
                _post.c.claimed_at,
                _post.c.hours,
            )
            .select_from(
                _post.outerjoin(_g, (_g.c.code == _post.c.grid_code) & _g.c.valid_to.is_(None))
            )
            .where(_post.c.community_code == community)
            .order_by(_post.c.code)
            .limit(SHOWN)
        )
    ]
