"""gridmap.queries.posts: the posts Party members hold (设岗定责), as SQL."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from gridmap.models import Grid, PartyMember, PartyOrg, PartyPost, Person, Region
from gridmap.queries.lists import NOW

_post = cast(Table, PartyPost.__table__)
_g = cast(Table, Grid.__table__)
_m = cast(Table, PartyMember.__table__)
_person = cast(Table, Person.__table__)
_o = cast(Table, PartyOrg.__table__)
_r = cast(Table, Region.__table__)

# A post with its holder's name (personal data: masked by the services).
_ROW = select(
    _post.c.id,
    _post.c.code,
    _post.c.title,
    _post.c.duty,
    _post.c.community_code,
    _post.c.grid_code,
    _post.c.org_id,
    _post.c.member_id,
    _person.c.name.label("member_name"),
    _post.c.claimed_at,
    _post.c.hours,
    _post.c.created_at,
).select_from(
    _post.outerjoin(_m, _m.c.id == _post.c.member_id).outerjoin(
        _person, _person.c.id == _m.c.person_id
    )
)


def posts(
    session: Session,
    *,
    community: str | None,
    grid: str | None,
    org: int | None,
    member: int | None,
    claimed: bool | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """How many posts match, and a page of them by code."""
    where: list[ColumnElement[bool]] = []
    if community is not None:
        where.append(_post.c.community_code == community)
    if grid is not None:
        where.append(_post.c.grid_code == grid)
    if org is not None:
        where.append(_post.c.org_id == org)
    if member is not None:
        where.append(_post.c.member_id == member)
    if claimed is not None:
        where.append(_post.c.member_id.is_not(None) if claimed else _post.c.member_id.is_(None))
    n = session.execute(select(func.count()).select_from(_post).where(*where)).scalar_one()
    rows = session.execute(
        _ROW.where(*where).order_by(_post.c.code).limit(limit).offset(offset)
    ).all()
    return int(n), [dict(r._mapping) for r in rows]


def post(session: Session, *, post_id: int, lock: bool = False) -> dict[str, Any] | None:
    """One post with its holder's name (the post's row locked for update with ``lock``)."""
    chosen = _ROW.where(_post.c.id == post_id)
    if lock:
        chosen = chosen.with_for_update(of=_post)
    row = session.execute(chosen).one_or_none()
    return dict(row._mapping) if row is not None else None


def grid_community(session: Session, *, grid: str) -> str | None:
    """The community of a current grid; None when there is no such grid."""
    found: str | None = session.execute(
        select(_g.c.community_code).where(_g.c.code == grid, _g.c.valid_to.is_(None))
    ).scalar_one_or_none()
    return found


def org_community(session: Session, *, org: int) -> str | None:
    """The community of a Party organisation; None when there is none."""
    found: str | None = session.execute(
        select(_o.c.community_code).where(_o.c.id == org)
    ).scalar_one_or_none()
    return found


def is_community(session: Session, *, code: str) -> bool:
    """Whether a community of this code exists."""
    return (
        session.execute(select(1).where(_r.c.code == code, _r.c.level == "community")).first()
        is not None
    )


def code_taken(session: Session, *, code: str) -> bool:
    """Whether a post already has this code."""
    return session.execute(select(1).where(_post.c.code == code)).first() is not None


def insert_post(session: Session, *, values: dict[str, Any]) -> int | None:
    """Write a new post; coded ``P0001`` after its id unless ``values`` gives a code (an
    automatic code taken by a given one becomes ``P0001-2``); its id, or ``None`` when a given
    code is taken (also by a concurrent write)."""
    post_id: int = session.execute(
        select(func.nextval(func.pg_get_serial_sequence("party_post", "id")))
    ).scalar_one()
    code = values.get("code")
    if not code:
        code = f"P{post_id:04d}"
        n = 1
        while code_taken(session, code=code):
            n += 1
            code = f"P{post_id:04d}-{n}"
    found = session.execute(
        pg_insert(_post)
        .values({**values, "id": post_id, "code": code})
        .on_conflict_do_nothing()
        .returning(_post.c.id)
    ).scalar_one_or_none()
    return int(found) if found is not None else None


def update_post(session: Session, *, post_id: int, values: dict[str, Any]) -> None:
    """Change a post's columns (:data:`~gridmap.queries.lists.NOW`: the transaction's time)."""
    if not values:
        return
    session.execute(
        update(_post)
        .where(_post.c.id == post_id)
        .values({k: func.now() if v is NOW else v for k, v in values.items()})
    )


def add_hours(session: Session, *, post_id: int, hours: float) -> None:
    """Add hours served at a post."""
    session.execute(update(_post).where(_post.c.id == post_id).values(hours=_post.c.hours + hours))


def delete_post(session: Session, *, post_id: int) -> None:
    """Remove a post."""
    session.execute(delete(_post).where(_post.c.id == post_id))
