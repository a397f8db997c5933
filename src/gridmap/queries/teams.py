"""gridmap.queries.teams: grid staff posts (网格团队) — read, add, change, move, retire; and what a
redraw left behind (posts on retired grids, designated households outside their group's grids)."""

from __future__ import annotations

from datetime import date
from typing import Any
from typing import cast as cast_type

from sqlalchemy import Table, delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridmap.models import Grid, GridStaff, Person
from gridmap.queries.lookup import staff_order

_g = cast_type(Table, Grid.__table__)
_staff = cast_type(Table, GridStaff.__table__)
_person = cast_type(Table, Person.__table__)

_POST = select(
    _staff.c.id,
    _staff.c.grid_code,
    _staff.c.role,
    _staff.c.team,
    _staff.c.since,
    _staff.c.person_id,
    _person.c.name,
    _person.c.phone,
).join(_person, _person.c.id == _staff.c.person_id)


def current_grid(session: Session, code: str) -> Any:
    """The current version of grid ``code`` (code, name, kind, community_code), or None."""
    return session.execute(
        select(_g.c.code, _g.c.name, _g.c.kind, _g.c.community_code).where(
            _g.c.code == code, _g.c.valid_to.is_(None)
        )
    ).one_or_none()


def ever_existed(session: Session, code: str) -> bool:
    """Whether grid ``code`` had any version (current or retired)."""
    return session.execute(select(_g.c.id).where(_g.c.code == code).limit(1)).first() is not None


def team(session: Session, code: str) -> list[Any]:
    """The posts of grid ``code`` with their person, leader first."""
    return list(
        session.execute(
            _POST.where(_staff.c.grid_code == code).order_by(
                staff_order(_staff.c.role), _staff.c.id
            )
        )
    )


def post(session: Session, staff_id: int, *, lock: bool = False) -> Any:
    """One post with its person (locked for the transaction when ``lock``), or None."""
    query = _POST.where(_staff.c.id == staff_id)
    if lock:
        query = query.with_for_update(of=_staff)
    return session.execute(query).one_or_none()


def person_exists(session: Session, person_id: int) -> bool:
    """Whether a person with that id exists."""
    found = session.execute(select(_person.c.id).where(_person.c.id == person_id)).first()
    return found is not None


def person_for(session: Session, *, name: str, phone: str | None) -> int:
    """The person of that name and phone when one already exists (the same name with the same
    phone is the same person), else a new person."""
    if phone is not None:
        found = session.execute(
            select(_person.c.id)
            .where(_person.c.name == name, _person.c.phone == phone)
            .order_by(_person.c.id)
            .limit(1)
        ).scalar_one_or_none()
        if found is not None:
            return int(found)
    made = session.execute(
        insert(_person).values(name=name, phone=phone).returning(_person.c.id)
    ).scalar_one()
    return int(made)


def add_post(
    session: Session,
    *,
    grid_code: str,
    role: str,
    person_id: int,
    team: str | None,
    since: date | None,
) -> int | None:
    """Add a post; None when the person already holds that role in that grid."""
    made = session.execute(
        pg_insert(_staff)
        .values(grid_code=grid_code, role=role, person_id=person_id, team=team, since=since)
        .on_conflict_do_nothing(constraint="grid_staff_unique")
        .returning(_staff.c.id)
    ).scalar_one_or_none()
    return int(made) if made is not None else None


def holds(session: Session, *, grid_code: str, role: str, person_id: int, other_than: int) -> bool:
    """Whether the person holds ``role`` in ``grid_code`` in a post other than ``other_than``."""
    found = session.execute(
        select(_staff.c.id).where(
            _staff.c.grid_code == grid_code,
            _staff.c.role == role,
            _staff.c.person_id == person_id,
            _staff.c.id != other_than,
        )
    ).first()
    return found is not None


def change_post(session: Session, staff_id: int, values: dict[str, Any]) -> bool:
    """Change a post's columns; False when that would give the person the same role in the same
    grid twice (a concurrent write got there first: nothing is changed)."""
    try:
        with session.begin_nested():
            session.execute(update(_staff).where(_staff.c.id == staff_id).values(**values))
    except IntegrityError:
        return False
    return True


def delete_post(session: Session, staff_id: int) -> None:
    """Remove a post."""
    session.execute(delete(_staff).where(_staff.c.id == staff_id))


def as_row(post: Any) -> dict[str, Any]:
    """A post as the audit log keeps it (the person by id only)."""
    return {
        "id": post.id,
        "grid_code": post.grid_code,
        "role": post.role,
        "team": post.team,
        "since": post.since.isoformat() if post.since else None,
        "person_id": post.person_id,
    }


# For each post of a retired grid (by a merge, a split or a delete), the current grids of the same
# community that overlap its last version, by the share of that area they hold.
_SUGGEST = """
WITH last AS (
    SELECT geom FROM grid WHERE code = :code ORDER BY version DESC LIMIT 1
)
SELECT g.code, g.name,
       ST_Area(ST_Intersection(g.geom, last.geom)::geography)
           / nullif(ST_Area(last.geom::geography), 0) AS share
FROM grid g, last
WHERE g.valid_to IS NULL AND g.geom && last.geom AND ST_Intersects(g.geom, last.geom)
  AND g.community_code = left(:code, 12)
ORDER BY share DESC NULLS LAST, g.code
LIMIT 3
"""


def orphan_posts(session: Session, code: str) -> list[Any]:
    """The posts still on grid ``code`` when it has no current version, leader first."""
    live = select(_g.c.id).where(_g.c.code == code, _g.c.valid_to.is_(None)).exists()
    return list(
        session.execute(
            _POST.where(_staff.c.grid_code == code, ~live).order_by(
                staff_order(_staff.c.role), _staff.c.id
            )
        )
    )


def suggested_grids(session: Session, code: str) -> list[dict[str, Any]]:
    """The current grids of the same community covering most of retired grid ``code``'s last
    area (at most three, with the share of that area each holds)."""
    return [
        {"grid_code": r.code, "name": r.name, "share": round(float(r.share or 0), 4)}
        for r in session.execute(text(_SUGGEST), {"code": code})
        if (r.share or 0) > 0.0001
    ]


def code_of_current(session: Session, codes: list[str]) -> dict[str, Any]:
    """The current grids among ``codes``, by code."""
    rows = session.execute(
        select(_g.c.code, _g.c.name, _g.c.community_code).where(
            _g.c.code.in_(codes), _g.c.valid_to.is_(None)
        )
    )
    return {r.code: r for r in rows}


def posts_locked(session: Session, ids: list[int]) -> dict[int, Any]:
    """The posts of ``ids``, locked, by id."""
    rows = session.execute(
        _POST.where(_staff.c.id.in_(ids)).order_by(_staff.c.id).with_for_update(of=_staff)
    )
    return {int(r.id): r for r in rows}
