"""gridmap.queries.org: Party organisations, their grid and building links, members, the tree.

Queries return rows as stored, names and phones included; the service masks them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from gridmap.models import (
    ApiToken,
    Building,
    Grid,
    GridStaff,
    Household,
    ListItem,
    PartyMember,
    PartyOrg,
    PartyOrgBuilding,
    PartyOrgGrid,
    PartyPost,
    Person,
    Region,
)

_o = cast(Table, PartyOrg.__table__)
_og = cast(Table, PartyOrgGrid.__table__)
_ob = cast(Table, PartyOrgBuilding.__table__)
_p = cast(Table, Person.__table__)
_m = cast(Table, PartyMember.__table__)
_g = cast(Table, Grid.__table__)
_b = cast(Table, Building.__table__)
_h = cast(Table, Household.__table__)
_s = cast(Table, GridStaff.__table__)
_r = cast(Table, Region.__table__)
_tok = cast(Table, ApiToken.__table__)
_li = cast(Table, ListItem.__table__)
_post = cast(Table, PartyPost.__table__)
_served = _h.alias("served")

# The households of a building that has any: what an organisation's area counts.
_HAS_HOUSEHOLDS = exists().where(_h.c.building_id == _b.c.id)

_GRID_CODES = (
    select(func.coalesce(func.array_agg(aggregate_order_by(_og.c.grid_code, _og.c.grid_code)), []))
    .where(_og.c.org_id == _o.c.id)
    .scalar_subquery()
)
_BUILDING_IDS = (
    select(
        func.coalesce(func.array_agg(aggregate_order_by(_ob.c.building_id, _ob.c.building_id)), [])
    )
    .where(_ob.c.org_id == _o.c.id)
    .scalar_subquery()
)
_MEMBERS_N = select(func.count()).where(_m.c.org_id == _o.c.id).scalar_subquery()
# The households of an organisation's own area: a committee's community, a branch's grids, a
# group's buildings.
_HOUSEHOLDS_N = (
    select(func.count())
    .select_from(_h.join(_b, _b.c.id == _h.c.building_id))
    .where(
        or_(
            and_(_o.c.kind == "committee", _b.c.community_code == _o.c.community_code),
            and_(
                _o.c.kind == "branch",
                _b.c.grid_code.in_(
                    select(_og.c.grid_code).where(_og.c.org_id == _o.c.id).correlate(_o)
                ),
            ),
            and_(
                _o.c.kind == "group",
                _b.c.id.in_(select(_ob.c.building_id).where(_ob.c.org_id == _o.c.id).correlate(_o)),
            ),
        )
    )
    .scalar_subquery()
)

_ORG = select(
    _o.c.id,
    _o.c.code,
    _o.c.kind,
    _o.c.name,
    _o.c.parent_id,
    _o.c.community_code,
    _o.c.secretary_id,
    _p.c.name.label("secretary_name"),
    _p.c.phone.label("secretary_phone"),
    _GRID_CODES.label("grid_codes"),
    _BUILDING_IDS.label("building_ids"),
    _MEMBERS_N.label("members_n"),
    _HOUSEHOLDS_N.label("households_n"),
    _o.c.created_at,
).select_from(_o.outerjoin(_p, _p.c.id == _o.c.secretary_id))


def orgs(
    session: Session,
    *,
    ids: Sequence[int] | None = None,
    community: str | None = None,
    kind: str | None = None,
    parent: int | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Organisations with their links, secretary (as stored) and counts, by kind and code."""
    where: list[ColumnElement[bool]] = []
    if ids is not None:
        where.append(_o.c.id.in_(ids))
    if community is not None:
        where.append(_o.c.community_code.startswith(community))
    if kind is not None:
        where.append(_o.c.kind == kind)
    if parent is not None:
        where.append(_o.c.parent_id == parent)
    stmt = _ORG.where(*where).order_by(_o.c.community_code, _o.c.code).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [dict(r._mapping) for r in session.execute(stmt)]


def count_orgs(
    session: Session, *, community: str | None, kind: str | None, parent: int | None
) -> int:
    """How many organisations :func:`orgs` lists with these filters (without paging)."""
    where: list[ColumnElement[bool]] = []
    if community is not None:
        where.append(_o.c.community_code.startswith(community))
    if kind is not None:
        where.append(_o.c.kind == kind)
    if parent is not None:
        where.append(_o.c.parent_id == parent)
    return int(session.execute(select(func.count()).select_from(_o).where(*where)).scalar_one())


def head(session: Session, *, org_id: int, lock: bool = False) -> Any:
    """The organisation's own columns (locked for update with ``lock``), or ``None``."""
    stmt = select(_o).where(_o.c.id == org_id)
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).one_or_none()


def subtree(session: Session, *, org_id: int) -> set[int]:
    """The ids of ``org_id`` and every organisation under it."""
    tree = select(_o.c.id).where(_o.c.id == org_id).cte("tree", recursive=True)
    tree = tree.union_all(select(_o.c.id).where(_o.c.parent_id == tree.c.id))
    return {int(i) for i in session.execute(select(tree.c.id)).scalars()}


def areas(session: Session, *, org_ids: Iterable[int]) -> dict[int, set[str]]:
    """For each of ``org_ids``: the grids of its area (its own grids, its buildings' grids, and
    those of every organisation under it)."""
    roots = sorted(set(org_ids))
    out: dict[int, set[str]] = {i: set() for i in roots}
    if not roots:
        return out
    tree = (
        select(_o.c.id.label("root"), _o.c.id.label("id"))
        .where(_o.c.id.in_(roots))
        .cte("tree", recursive=True)
    )
    tree = tree.union_all(
        select(tree.c.root, _o.c.id).select_from(_o.join(tree, _o.c.parent_id == tree.c.id))
    )
    linked = select(tree.c.root, _og.c.grid_code.label("grid")).join(_og, _og.c.org_id == tree.c.id)
    built = (
        select(tree.c.root, _b.c.grid_code.label("grid"))
        .select_from(
            tree.join(_ob, _ob.c.org_id == tree.c.id).join(_b, _b.c.id == _ob.c.building_id)
        )
        .where(_b.c.grid_code.is_not(None))
    )
    for root, grid in session.execute(linked.union(built)):
        out[int(root)].add(str(grid))
    return out


def region_name(session: Session, *, code: str) -> tuple[str, str] | None:
    """The name and level of a region, or ``None``."""
    row = session.execute(select(_r.c.name, _r.c.level).where(_r.c.code == code)).one_or_none()
    return (str(row.name), str(row.level)) if row is not None else None


def current_grids(
    session: Session, *, codes: Iterable[str] | None = None, community: str | None = None
) -> list[Any]:
    """Current grids (code, name, kind, community_code), by code."""
    where: list[ColumnElement[bool]] = [_g.c.valid_to.is_(None)]
    if codes is not None:
        where.append(_g.c.code.in_(sorted(set(codes))))
    if community is not None:
        where.append(_g.c.community_code == community)
    return list(
        session.execute(
            select(_g.c.code, _g.c.name, _g.c.kind, _g.c.community_code)
            .where(*where)
            .order_by(_g.c.code)
        )
    )


def buildings(session: Session, *, ids: Iterable[int]) -> list[Any]:
    """Buildings (id, code, grid_code, community_code) of ``ids``."""
    return list(
        session.execute(
            select(_b.c.id, _b.c.code, _b.c.grid_code, _b.c.community_code).where(
                _b.c.id.in_(sorted(set(ids)))
            )
        )
    )


def linked_grids(session: Session, *, org_id: int) -> set[str]:
    """The grids an organisation links itself (a branch's own grids)."""
    return {
        str(g)
        for g in session.execute(select(_og.c.grid_code).where(_og.c.org_id == org_id)).scalars()
    }


def head_by_code(session: Session, *, code: str) -> Any:
    """The organisation coded ``code`` (id, kind), or ``None``."""
    return session.execute(select(_o.c.id, _o.c.kind).where(_o.c.code == code)).one_or_none()


def insert_org(session: Session, *, values: dict[str, Any]) -> int | None:
    """Write a new organisation (``values`` by column; without a code it is coded ``PO00012``
    after its id); its id, or ``None`` when its code is taken (also by a concurrent write)."""
    org_id = int(
        session.execute(
            select(func.nextval(func.pg_get_serial_sequence("party_org", "id")))
        ).scalar_one()
    )
    code = values.get("code")
    if code is None:
        code = f"PO{org_id:05d}"
        n = 1
        while head_by_code(session, code=code) is not None:
            n += 1
            code = f"PO{org_id:05d}-{n}"
    found = session.execute(
        pg_insert(_o)
        .values({**values, "id": org_id, "code": code})
        .on_conflict_do_nothing()
        .returning(_o.c.id)
    ).scalar_one_or_none()
    return int(found) if found is not None else None


def update_org(session: Session, *, org_id: int, values: dict[str, Any]) -> None:
    """Change an organisation's columns."""
    if values:
        session.execute(update(_o).where(_o.c.id == org_id).values(values))


def link_grids(session: Session, *, org_id: int, grids: Sequence[str]) -> dict[str, int]:
    """Make ``grids`` exactly the grids linked to ``org_id``; a grid another organisation holds
    stays with it. Returns the owner of each of ``grids`` afterwards (``org_id`` when linked).

    The insert skips a grid held elsewhere instead of failing on the unique grid: a link made
    by a concurrent request waits for it to end and is then found held (never an error)."""
    session.execute(delete(_og).where(_og.c.org_id == org_id, _og.c.grid_code.not_in(grids)))
    if grids:
        session.execute(
            pg_insert(_og)
            .values([{"org_id": org_id, "grid_code": g} for g in grids])
            .on_conflict_do_nothing()
        )
    rows = session.execute(select(_og.c.grid_code, _og.c.org_id).where(_og.c.grid_code.in_(grids)))
    return {str(g): int(o) for g, o in rows}


def link_buildings(session: Session, *, org_id: int, buildings: Sequence[int]) -> dict[int, int]:
    """Make ``buildings`` exactly the buildings linked to ``org_id`` (as :func:`link_grids`)."""
    session.execute(delete(_ob).where(_ob.c.org_id == org_id, _ob.c.building_id.not_in(buildings)))
    if buildings:
        session.execute(
            pg_insert(_ob)
            .values([{"org_id": org_id, "building_id": b} for b in buildings])
            .on_conflict_do_nothing()
        )
    rows = session.execute(
        select(_ob.c.building_id, _ob.c.org_id).where(_ob.c.building_id.in_(buildings))
    )
    return {int(b): int(o) for b, o in rows}


def org_names(session: Session, *, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """The code and name of each organisation of ``ids``."""
    rows = session.execute(
        select(_o.c.id, _o.c.code, _o.c.name).where(_o.c.id.in_(sorted(set(ids))))
    )
    return {int(r.id): (str(r.code), str(r.name)) for r in rows}


def what_holds(session: Session, *, org_id: int) -> dict[str, Any]:
    """What keeps an organisation from being deleted: organisations under it, members, the
    designated households of a group, resident units of a committee, live tokens."""

    def n(stmt: Any) -> int:
        return int(session.execute(stmt).scalar_one())

    live = and_(
        _tok.c.org_id == org_id,
        _tok.c.revoked_at.is_(None),
        or_(_tok.c.expires_at.is_(None), _tok.c.expires_at > func.now()),
    )
    return {
        "children": list(
            session.execute(
                select(_o.c.code).where(_o.c.parent_id == org_id).order_by(_o.c.code)
            ).scalars()
        ),
        "members": n(select(func.count()).where(_m.c.org_id == org_id)),
        "households": n(select(func.count()).where(_h.c.group_id == org_id)),
        "tokens": list(
            session.execute(select(_tok.c.id).where(live).order_by(_tok.c.id)).scalars()
        ),
    }


def delete_org(session: Session, *, org_id: int) -> list[int]:
    """Remove an organisation (its links go with it) and its ended tokens; the ids of those
    tokens."""
    ended = list(
        session.execute(delete(_tok).where(_tok.c.org_id == org_id).returning(_tok.c.id)).scalars()
    )
    session.execute(delete(_o).where(_o.c.id == org_id))
    return [int(t) for t in ended]


def add_person(session: Session, *, name: str, phone: str | None) -> int:
    """A new person; its id."""
    return int(
        session.execute(insert(_p).values(name=name, phone=phone).returning(_p.c.id)).scalar_one()
    )


def person_exists(session: Session, *, person_id: int) -> bool:
    """Whether there is a person ``person_id``."""
    return session.execute(select(_p.c.id).where(_p.c.id == person_id)).first() is not None


def person_places(session: Session, *, person_id: int) -> dict[str, Any]:
    """Where a person's data shows: the grids of their staff posts (``grids``), the
    organisation they are a member of (``member_org``) and the community they registered with
    (``registered``), and the organisations they are secretary of (``secretary_of``)."""
    grids = session.execute(
        select(_s.c.grid_code).where(_s.c.person_id == person_id).distinct()
    ).scalars()
    member = session.execute(
        select(_m.c.org_id, _m.c.registered_community).where(_m.c.person_id == person_id)
    ).one_or_none()
    secretary_of = session.execute(select(_o.c.id).where(_o.c.secretary_id == person_id)).scalars()
    return {
        "grids": sorted(str(g) for g in grids),
        "member_org": member.org_id if member is not None else None,
        "registered": member.registered_community if member is not None else None,
        "secretary_of": sorted(int(i) for i in secretary_of),
    }


def update_person(session: Session, *, person_id: int, values: dict[str, Any]) -> None:
    """Change a person's name or phone."""
    if values:
        session.execute(update(_p).where(_p.c.id == person_id).values(values))


# -- the tree's and the grid panel's figures ------------------------------------------------


def central_households(
    session: Session, *, group_ids: Sequence[int] | None = None, grid: str | None = None
) -> list[dict[str, Any]]:
    """Designated households (党员中心户) of ``group_ids`` or in ``grid``: id, building, unit,
    room, group and how many households each serves (``serves_n``)."""
    where: list[ColumnElement[bool]] = [_h.c.designated]
    if group_ids is not None:
        where.append(_h.c.group_id.in_(group_ids))
    if grid is not None:
        where.append(_b.c.grid_code == grid)
    serves = select(func.count()).where(_served.c.served_by == _h.c.id).scalar_subquery()
    rows = session.execute(
        select(
            _h.c.id,
            _h.c.building_id,
            func.coalesce(_b.c.code, _b.c.address).label("building"),
            _h.c.unit,
            _h.c.room,
            _h.c.group_id,
            _b.c.grid_code,
            serves.label("serves_n"),
        )
        .select_from(_h.join(_b, _b.c.id == _h.c.building_id))
        .where(*where)
        .order_by(_b.c.code, _h.c.unit, _h.c.room, _h.c.id)
    )
    return [dict(r._mapping) for r in rows]


def buildings_without_group(session: Session, *, grids: Sequence[str]) -> list[dict[str, Any]]:
    """Buildings of ``grids`` with households but no group: id, code, grid, households."""
    if not grids:
        return []
    n = select(func.count()).where(_h.c.building_id == _b.c.id).scalar_subquery()
    rows = session.execute(
        select(_b.c.id, _b.c.code, _b.c.grid_code, n.label("households"))
        .where(
            _b.c.grid_code.in_(grids),
            _HAS_HOUSEHOLDS,
            ~exists().where(_ob.c.building_id == _b.c.id),
        )
        .order_by(_b.c.grid_code, _b.c.code)
    )
    return [dict(r._mapping) for r in rows]


def branch_of_grid(session: Session, *, grid: str) -> int | None:
    """The branch linked to ``grid``, or ``None``."""
    found = session.execute(select(_og.c.org_id).where(_og.c.grid_code == grid)).scalar()
    return int(found) if found is not None else None


def groups_in_grid(session: Session, *, grid: str) -> list[int]:
    """The groups with a building in ``grid``."""
    return [
        int(i)
        for i in session.execute(
            select(_ob.c.org_id)
            .join(_b, _b.c.id == _ob.c.building_id)
            .where(_b.c.grid_code == grid)
            .distinct()
        ).scalars()
    ]


def team(session: Session, *, grid: str) -> list[dict[str, Any]]:
    """The grid's team (grid_staff with the person's name and phone), by role."""
    order = func.array_position(
        literal(
            ["leader", "worker", "guide", "police", "mediator", "safety", "vanguard", "volunteer"]
        ),
        _s.c.role,
    )
    rows = session.execute(
        select(
            _s.c.id,
            _s.c.person_id,
            _s.c.role,
            _s.c.team,
            _s.c.since,
            _p.c.name,
            _p.c.phone,
        )
        .join(_p, _p.c.id == _s.c.person_id)
        .where(_s.c.grid_code == grid)
        .order_by(order, _p.c.name, _s.c.id)
    )
    return [dict(r._mapping) for r in rows]


# -- members -----------------------------------------------------------------------------

_MEMBER = select(
    _m.c.id,
    _m.c.person_id,
    _p.c.name,
    _p.c.phone,
    _m.c.org_id,
    _o.c.code.label("org_code"),
    _o.c.name.label("org_name"),
    _o.c.kind.label("org_kind"),
    _o.c.community_code,
    _m.c.in_service,
    _m.c.employer,
    _m.c.employer_unit_id,
    _m.c.registered_community,
    _m.c.registered_at,
    _m.c.household_id,
    _m.c.hours_served,
    _m.c.created_at,
).select_from(_m.join(_p, _p.c.id == _m.c.person_id).outerjoin(_o, _o.c.id == _m.c.org_id))


def _member_where(
    *, org_ids: Sequence[int] | None, community: str | None, in_service: bool | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if org_ids is not None:
        where.append(_m.c.org_id.in_(org_ids))
    if community is not None:
        where.append(
            or_(
                _o.c.community_code.startswith(community),
                _m.c.registered_community.startswith(community),
            )
        )
    if in_service is not None:
        where.append(_m.c.in_service == in_service)
    return where


def members(
    session: Session,
    *,
    ids: Sequence[int] | None = None,
    org_ids: Sequence[int] | None = None,
    community: str | None = None,
    in_service: bool | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Members with their person (as stored) and organisation, by id."""
    where = _member_where(org_ids=org_ids, community=community, in_service=in_service)
    if ids is not None:
        where.append(_m.c.id.in_(ids))
    stmt = _MEMBER.where(*where).order_by(_m.c.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [dict(r._mapping) for r in session.execute(stmt)]


def count_members(
    session: Session,
    *,
    org_ids: Sequence[int] | None = None,
    community: str | None = None,
    in_service: bool | None = None,
) -> int:
    """How many members :func:`members` lists with these filters (without paging)."""
    where = _member_where(org_ids=org_ids, community=community, in_service=in_service)
    return int(
        session.execute(
            select(func.count()).select_from(_m.outerjoin(_o, _o.c.id == _m.c.org_id)).where(*where)
        ).scalar_one()
    )


def member_head(session: Session, *, member_id: int, lock: bool = False) -> Any:
    """The member's own columns with its organisation's community (the member row locked for
    update with ``lock``), or ``None``."""
    stmt = (
        select(_m, _o.c.community_code.label("org_community"))
        .select_from(_m.outerjoin(_o, _o.c.id == _m.c.org_id))
        .where(_m.c.id == member_id)
    )
    if lock:
        stmt = stmt.with_for_update(of=_m)
    return session.execute(stmt).one_or_none()


def member_of_person(session: Session, *, person_id: int) -> int | None:
    """The member a person is, or ``None``."""
    found = session.execute(select(_m.c.id).where(_m.c.person_id == person_id)).scalar()
    return int(found) if found is not None else None


def insert_member(session: Session, *, values: dict[str, Any]) -> int | None:
    """Write a new member; its id, or ``None`` when the person is a member already (also by a
    concurrent write)."""
    found = session.execute(
        pg_insert(_m).values(values).on_conflict_do_nothing().returning(_m.c.id)
    ).scalar_one_or_none()
    return int(found) if found is not None else None


def update_member(session: Session, *, member_id: int, values: dict[str, Any]) -> None:
    """Change a member's columns."""
    if values:
        session.execute(update(_m).where(_m.c.id == member_id).values(values))


def register(session: Session, *, member_id: int, community: str) -> None:
    """Register a member with a community (双报到), now."""
    session.execute(
        update(_m)
        .where(_m.c.id == member_id)
        .values(registered_community=community, registered_at=func.now())
    )


def member_work(session: Session, *, member_id: int) -> dict[str, list[str]]:
    """The codes of the list items a member took and of the posts they hold."""
    items = session.execute(
        select(_li.c.code).where(_li.c.member_id == member_id).order_by(_li.c.code)
    ).scalars()
    posts = session.execute(
        select(_post.c.code).where(_post.c.member_id == member_id).order_by(_post.c.code)
    ).scalars()
    return {"list_items": [str(c) for c in items], "posts": [str(c) for c in posts]}


def delete_member(session: Session, *, member_id: int) -> None:
    """Remove a member (the person stays)."""
    session.execute(delete(_m).where(_m.c.id == member_id))


def household_exists(session: Session, *, household_id: int) -> bool:
    """Whether there is a household ``household_id``."""
    return session.execute(select(_h.c.id).where(_h.c.id == household_id)).first() is not None
