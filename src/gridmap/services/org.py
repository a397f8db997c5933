"""gridmap.services.org: Party organisations and members: who may change them, the kind and
place rules, the tree with its warnings, and whose names and phones a caller sees.

A community's big Party committee (社区大党委) has no parent; a grid branch (网格党支部) sits under
a committee of its community and links its grids (one branch a grid); a building or yard group
(楼栋(院落)党小组) sits under a branch and links its buildings (one group a building). Offices
covering the community build all of it; an organisation's own token (its secretary's, role
``branch``) adds and changes the groups under it and its own members. Secretaries' and members'
names and phones are shown only to the staff and the organisations of their place; everyone else
gets them null with ``masked`` true. Every change lands with its audit row; a refusal writes
nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from gridmap.auth import Principal, forget_org_tokens
from gridmap.errors import (
    BuildingHasGroup,
    Conflict,
    Forbidden,
    GridHasBranch,
    GridNotFound,
    GroupOutsideBranch,
    InvalidInput,
    MemberHasWork,
    NotFound,
    OrgHasChildren,
    OrgHasMembers,
    OrgHasTokens,
    OrgOutsideCommunity,
    OrgParentKind,
    PersonElsewhere,
    PersonIsMember,
    RegionNotFound,
)
from gridmap.queries import audit
from gridmap.queries import org as q
from gridmap.queries import units as unit_queries
from gridmap.services.access import require_role
from gridmap.settings import ApiSettings
from gridmap.vocab.roles import ORG_EDITORS, ORG_READERS

# Who writes the organisation at all: offices, and an organisation's own token (for its subtree).
ORG_WRITERS = (*ORG_EDITORS, "branch")
# The parent kind each kind sits under.
PARENT_KIND = {"committee": None, "branch": "committee", "group": "branch"}


# -- who sees names and phones ------------------------------------------------------------


def sees(principal: Principal, *places: str | None) -> bool:
    """Whether ``principal`` sees the organisation's personal data of a place: it is one of
    ``ORG_READERS`` and covers one of ``places`` (community or grid codes; for a branch token,
    one of its grids)."""
    return principal.role in ORG_READERS and any(p and principal.covers(p) for p in places)


def contact(
    principal: Principal,
    person_id: int | None,
    name: str | None,
    phone: str | None,
    *places: str | None,
) -> dict[str, Any]:
    """A person's contact as shown to ``principal``: as stored, or null with ``masked``."""
    own = person_id is not None and principal.person_id == person_id
    if own or sees(principal, *places):
        return {"person_id": person_id, "name": name, "phone": phone, "masked": False}
    return {"person_id": None, "name": None, "phone": None, "masked": True}


def outside_branch(principal: Principal, org_id: int | None, mine: Collection[int]) -> bool:
    """Whether an organisation's token looks at the people of an organisation other than its
    own or one under it (``mine``): a committee's or another branch's secretary and members
    stay masked for it, although their area reaches into its grids."""
    return principal.role == "branch" and (org_id is None or org_id not in mine)


def org_out(
    row: dict[str, Any],
    principal: Principal,
    area: Iterable[str],
    mine: Collection[int] = frozenset(),
) -> dict[str, Any]:
    """An organisation as answered, its secretary masked unless the caller may see it (for an
    organisation's token: a secretary of ``mine``, its own organisation and those under it)."""
    secretary = None
    if row["secretary_id"] is not None:
        places = (
            () if outside_branch(principal, row["id"], mine) else (row["community_code"], *area)
        )
        secretary = contact(
            principal,
            row["secretary_id"],
            row["secretary_name"],
            row["secretary_phone"],
            *places,
        )
    return {
        "id": row["id"],
        "code": row["code"],
        "kind": row["kind"],
        "name": row["name"],
        "parent_id": row["parent_id"],
        "community_code": row["community_code"],
        "grid_codes": list(row["grid_codes"]),
        "building_ids": [int(b) for b in row["building_ids"]],
        "secretary": secretary,
        "members_n": row["members_n"],
        "households_n": row["households_n"],
    }


def member_out(
    row: dict[str, Any],
    principal: Principal,
    area: Iterable[str],
    mine: Collection[int] = frozenset(),
) -> dict[str, Any]:
    """A member as answered: name, phone, person and household masked unless the caller may
    see them (a member's own token sees its own; an organisation's token the members of
    ``mine``, its own organisation and those under it)."""
    own = principal.member_id is not None and principal.member_id == row["id"]
    shown = own or (
        not outside_branch(principal, row["org_id"], mine)
        and sees(principal, row["community_code"], row["registered_community"], *area)
    )
    out = dict(row)
    out["masked"] = not shown
    if not shown:
        out.update(person_id=None, name=None, phone=None, household_id=None)
    return out


def members_out(
    session: Session, rows: list[dict[str, Any]], principal: Principal
) -> list[dict[str, Any]]:
    """Members as answered (:func:`member_out`), with their organisations' areas read once."""
    areas = q.areas(session, org_ids=[r["org_id"] for r in rows if r["org_id"] is not None])
    mine = _branch_subtree(session, principal)
    return [member_out(r, principal, areas.get(r["org_id"], set()), mine) for r in rows]


def orgs_out(
    session: Session, rows: list[dict[str, Any]], principal: Principal
) -> list[dict[str, Any]]:
    """Organisations as answered (:func:`org_out`), with their areas read once."""
    areas = q.areas(session, org_ids=[r["id"] for r in rows])
    mine = _branch_subtree(session, principal)
    return [org_out(r, principal, areas[r["id"]], mine) for r in rows]


# -- reads --------------------------------------------------------------------------------


def list_orgs(
    session: Session,
    *,
    principal: Principal,
    community: str | None,
    kind: str | None,
    parent: int | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """A page of organisations, secretaries masked unless the caller may see them."""
    rows = q.orgs(
        session, community=community, kind=kind, parent=parent, limit=limit, offset=offset
    )
    return {
        "numberMatched": q.count_orgs(session, community=community, kind=kind, parent=parent),
        "numberReturned": len(rows),
        "orgs": orgs_out(session, rows, principal),
    }


def get_org(session: Session, *, org_id: int, principal: Principal) -> dict[str, Any]:
    """One organisation."""
    rows = q.orgs(session, ids=[org_id])
    if not rows:
        raise NotFound(f"no Party organisation {org_id}")
    return orgs_out(session, rows, principal)[0]


def _central_warnings(households: list[dict[str, Any]], api: ApiSettings) -> list[dict[str, Any]]:
    """``central_too_few``/``central_too_many`` for designated households serving fewer or more
    households than configured."""
    out = []
    low, high = api.central_serves_min, api.central_serves_max
    for h in households:
        check = (
            "central_too_few"
            if h["serves_n"] < low
            else "central_too_many"
            if h["serves_n"] > high
            else None
        )
        if check:
            out.append(
                {
                    "check": check,
                    "household_id": h["id"],
                    "grid_code": h["grid_code"],
                    "serves_n": h["serves_n"],
                    "min": low,
                    "max": high,
                }
            )
    return out


def _building_warning(buildings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not buildings:
        return []
    return [{"check": "building_no_group", "n": len(buildings), "buildings": buildings}]


def tree(
    session: Session, *, community: str, principal: Principal, api: ApiSettings
) -> dict[str, Any]:
    """A community's organisation: committee(s) → branches → groups (with their designated
    households), each node with its counts and warnings; the community's own warnings list the
    grids without a branch."""
    region = q.region_name(session, code=community)
    if region is None or region[1] != "community":
        raise RegionNotFound(f"no community {community}")
    rows = q.orgs(session, community=community)
    areas = q.areas(session, org_ids=[r["id"] for r in rows])
    own = _branch_subtree(session, principal)
    nodes = {
        r["id"]: {**org_out(r, principal, areas[r["id"]], own), "children": [], "warnings": []}
        for r in rows
    }
    groups = [i for i, n in nodes.items() if n["kind"] == "group"]
    central = q.central_households(session, group_ids=groups)
    for i in groups:
        mine = [h for h in central if h["group_id"] == i]
        nodes[i]["central_households"] = mine
        nodes[i]["warnings"] = _central_warnings(mine, api)
    for node in nodes.values():
        if node["kind"] == "branch":
            node["warnings"] = _building_warning(
                q.buildings_without_group(session, grids=node["grid_codes"])
            )
    committees = []
    for node in sorted(nodes.values(), key=lambda n: n["code"]):
        parent = nodes.get(node["parent_id"]) if node["parent_id"] else None
        if parent is not None:
            parent["children"].append(node)
        elif node["kind"] == "committee":
            committees.append(node)
    grids = q.current_grids(session, community=community)
    linked = {g for n in nodes.values() if n["kind"] == "branch" for g in n["grid_codes"]}
    missing = [g.code for g in grids if g.code not in linked]
    warnings: list[dict[str, Any]] = []
    if missing:
        warnings.append({"check": "grid_no_branch", "n": len(missing), "grids": missing})
    return {
        "community": {
            "code": community,
            "name": region[0],
            "grids_n": len(grids),
            "warnings": warnings,
        },
        "committees": committees,
    }


def grid_org(
    session: Session, *, grid: str, principal: Principal, api: ApiSettings
) -> dict[str, Any]:
    """What a click on a grid shows: its branch, the groups of its buildings (and under its
    branch), their members, the grid's team, resident units, designated households, warnings."""
    found = q.current_grids(session, codes=[grid])
    if not found:
        raise GridNotFound(f"no current grid {grid}")
    g = found[0]
    branch = q.branch_of_grid(session, grid=grid)
    group_ids = set(q.groups_in_grid(session, grid=grid))
    if branch is not None:
        group_ids |= {r["id"] for r in q.orgs(session, parent=branch, kind="group")}
    ids = ([branch] if branch is not None else []) + sorted(group_ids)
    shown = {r["id"]: r for r in orgs_out(session, q.orgs(session, ids=ids), principal)}
    members = members_out(session, q.members(session, org_ids=ids), principal) if ids else []
    # The grid's team is masked as everywhere else (lookup, the team panel): for the staff of
    # the grid's place only.
    staff_seen = principal.sees_personal_data(grid)
    team = [
        {
            "id": t["id"],
            "role": t["role"],
            "team": t["team"],
            "since": t["since"].isoformat() if t["since"] else None,
            **(
                {"person_id": t["person_id"], "name": t["name"], "phone": t["phone"]}
                if staff_seen
                else {"person_id": None, "name": None, "phone": None}
            ),
            "masked": not staff_seen,
        }
        for t in q.team(session, grid=grid)
    ]
    units = [
        unit_out(u, principal)
        for u in unit_queries.units(session, grid=grid, limit=500, offset=0)["features"]
    ]
    central = q.central_households(session, grid=grid)
    warnings: list[dict[str, Any]] = []
    if branch is None:
        warnings.append({"check": "grid_no_branch", "n": 1, "grids": [grid]})
    warnings += _building_warning(q.buildings_without_group(session, grids=[grid]))
    warnings += _central_warnings(central, api)
    return {
        "grid": {
            "code": g.code,
            "name": g.name,
            "kind": g.kind,
            "community_code": g.community_code,
        },
        "branch": shown.get(branch) if branch is not None else None,
        "groups": [shown[i] for i in sorted(group_ids, key=lambda i: shown[i]["code"])],
        "members": members,
        "team": team,
        "units": units,
        "central_households": central,
        "warnings": warnings,
    }


def unit_out(feature: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """A resident unit's Feature with its contact masked unless the caller may see it."""
    props = feature["properties"]
    if sees(principal, props.get("grid_code"), props.get("community_code")):
        props["masked"] = False
    else:
        props.update(contact_name=None, contact_phone=None, masked=True)
    return feature


# -- who may write ------------------------------------------------------------------------


def _branch_subtree(session: Session, principal: Principal) -> set[int]:
    """The organisations an organisation's token writes under: its own and those below."""
    if principal.org_id is None:
        return set()
    return q.subtree(session, org_id=principal.org_id)


def _may_write_org(
    session: Session,
    principal: Principal,
    what: str,
    *,
    kind: str,
    community: str,
    parent_id: int | None,
    org_id: int | None = None,
) -> None:
    """Raise unless ``principal`` may ``what`` an organisation of ``kind`` in ``community``
    under ``parent_id``: an office covering the community, or an organisation's token for a
    group under it."""
    if principal.role == "branch":
        mine = _branch_subtree(session, principal)
        if kind != "group" or parent_id not in mine or (org_id is not None and org_id not in mine):
            raise Forbidden(
                f"an organisation's token may {what} only the groups under its own "
                f"organisation ({principal.acts_in})",
                role=principal.role,
            )
        return
    principal.require(what, roles=ORG_EDITORS, place=community)


def _require_community(session: Session, code: str) -> None:
    found = q.region_name(session, code=code)
    if found is None or found[1] != "community":
        raise InvalidInput(f"no community {code}", field="community_code")


def _check_parent(
    session: Session, *, kind: str, parent_id: int | None, community: str, org_id: int | None
) -> Any:
    """The parent row, once ``kind`` may sit under it in ``community``."""
    wanted = PARENT_KIND[kind]
    if wanted is None:
        if parent_id is not None:
            raise OrgParentKind("a committee (社区大党委) has no parent", kind=kind)
        return None
    if parent_id is None:
        raise OrgParentKind(f"a {kind} sits under a {wanted}: give parent_id", kind=kind)
    if org_id is not None and parent_id == org_id:
        raise OrgParentKind("an organisation cannot sit under itself", kind=kind)
    parent = q.head(session, org_id=parent_id)
    if parent is None:
        raise OrgParentKind(f"no Party organisation {parent_id} to sit under", kind=kind)
    if parent.kind != wanted:
        raise OrgParentKind(
            f"a {kind} sits under a {wanted}, not under a {parent.kind}",
            kind=kind,
            parent_kind=parent.kind,
        )
    if parent.community_code != community:
        raise OrgOutsideCommunity(
            f"the parent {parent.code} belongs to community {parent.community_code}, "
            f"not {community}",
            parent_id=parent_id,
        )
    return parent


def _check_links(
    session: Session,
    principal: Principal,
    *,
    kind: str,
    community: str,
    grids: list[str],
    buildings: list[int],
) -> None:
    """Raise unless a ``kind`` may link ``grids`` and ``buildings``, all current and in
    ``community`` (for an organisation's token, the buildings in its grids)."""
    if grids and kind != "branch":
        raise InvalidInput(f"a {kind} links no grids (a branch does)", field="grid_codes")
    if buildings and kind != "group":
        raise InvalidInput(f"a {kind} links no buildings (a group does)", field="building_ids")
    if len(set(grids)) != len(grids) or len(set(buildings)) != len(buildings):
        raise InvalidInput("a grid or building is listed twice")
    if grids:
        found = {g.code: g.community_code for g in q.current_grids(session, codes=grids)}
        unknown = [g for g in grids if g not in found]
        if unknown:
            raise InvalidInput(f"no current grids {unknown[:20]}", grids=unknown[:200])
        outside = [g for g in grids if found[g] != community]
        if outside:
            raise OrgOutsideCommunity(
                f"grids {outside[:20]} lie outside community {community}", grids=outside[:200]
            )
    if buildings:
        found_b = {int(b.id): b for b in q.buildings(session, ids=buildings)}
        unknown_b = [b for b in buildings if b not in found_b]
        if unknown_b:
            raise InvalidInput(f"no buildings {unknown_b[:20]}", buildings=unknown_b[:200])
        outside_b = [b for b in buildings if found_b[b].community_code != community]
        if outside_b:
            raise OrgOutsideCommunity(
                f"buildings {outside_b[:20]} lie outside community {community}",
                buildings=outside_b[:200],
            )
        if principal.role == "branch":
            theirs = principal.grids or frozenset()
            foreign = [b for b in buildings if found_b[b].grid_code not in theirs]
            if foreign:
                raise Forbidden(
                    f"buildings {foreign[:20]} lie outside this token's grids",
                    role=principal.role,
                )


def _check_group_buildings(session: Session, *, parent_id: int, buildings: list[int]) -> None:
    """Raise unless every building of a group lies in a grid of the branch it sits under (a
    group never widens its branch's area)."""
    if not buildings:
        return
    grids = q.linked_grids(session, org_id=parent_id)
    found = {int(b.id): b.grid_code for b in q.buildings(session, ids=buildings)}
    outside = [b for b in buildings if found.get(b) not in grids]
    if outside:
        raise GroupOutsideBranch(
            f"buildings {outside[:20]} lie outside the grids of the branch this group sits "
            f"under ({', '.join(sorted(grids)) or 'it has none'})",
            buildings=outside[:200],
            branch_grids=sorted(grids),
        )


def _link(
    session: Session,
    *,
    org_id: int,
    grids: list[str] | None,
    buildings: list[int] | None,
) -> None:
    """Write the links; a grid or building held by another organisation is a 409."""
    if grids is not None:
        owners = q.link_grids(session, org_id=org_id, grids=grids)
        held = {g: o for g, o in owners.items() if o != org_id}
        if held:
            grid, other = sorted(held.items())[0]
            code, name = q.org_names(session, ids=[other])[other]
            raise GridHasBranch(
                f"grid {grid} already has its branch {name} ({code})",
                grid_code=grid,
                branch={"id": other, "code": code, "name": name},
            )
    if buildings is not None:
        owners_b = q.link_buildings(session, org_id=org_id, buildings=buildings)
        held_b = {b: o for b, o in owners_b.items() if o != org_id}
        if held_b:
            building, other = sorted(held_b.items())[0]
            code, name = q.org_names(session, ids=[other])[other]
            raise BuildingHasGroup(
                f"building {building} already has its group {name} ({code})",
                building_id=building,
                group={"id": other, "code": code, "name": name},
            )


def _sees_org(session: Session, principal: Principal, org_ids: list[int]) -> dict[int, bool]:
    """For each organisation: whether ``principal`` sees the data of its people (its secretary
    and members), as :func:`org_out` and :func:`member_out` show them."""
    if not org_ids:
        return {}
    areas = q.areas(session, org_ids=org_ids)
    mine = _branch_subtree(session, principal)
    return {
        int(r["id"]): not outside_branch(principal, r["id"], mine)
        and sees(principal, r["community_code"], *areas[r["id"]])
        for r in q.orgs(session, ids=org_ids)
    }


def may_name(session: Session, principal: Principal, person_id: int, field: str) -> None:
    """Raise :class:`PersonElsewhere` unless ``principal`` may already see the data of the
    existing person ``person_id``: staff of a grid it covers, a member or secretary of an
    organisation whose people it sees, or a member registered in its area (admin: anyone)."""
    if principal.role == "admin" or principal.person_id == person_id:
        return
    places = q.person_places(session, person_id=person_id)
    orgs = [o for o in (places["member_org"], *places["secretary_of"]) if o is not None]
    seen = (
        any(principal.role in ORG_READERS and principal.covers(g) for g in places["grids"])
        or any(_sees_org(session, principal, orgs).values())
        or (principal.role != "branch" and sees(principal, places["registered"]))
    )
    if not seen:
        raise PersonElsewhere(
            f"person {person_id} is no staff, member or secretary in this token's area "
            f"({principal.acts_in}): name a person you already see, or give a new person's "
            "name and phone",
            field=field,
            person_id=person_id,
        )


def _may_rename(session: Session, principal: Principal, person_id: int) -> None:
    """Raise :class:`PersonElsewhere` unless ``principal`` covers every post and secretaryship
    of a person whose name or phone it changes (the person row is shared by all of them)."""
    if principal.role == "admin":
        return
    places = q.person_places(session, person_id=person_id)
    grids = [g for g in places["grids"] if not principal.covers(g)]
    sees_org = _sees_org(session, principal, places["secretary_of"])
    orgs = [o for o, shown in sees_org.items() if not shown]
    if grids or orgs:
        raise PersonElsewhere(
            f"person {person_id} also serves outside this token's area ({principal.acts_in}): "
            f"grid posts {grids[:20]}, secretary of organisations {orgs[:20]}; an office "
            "covering all of them changes their name or phone",
            field="person",
            person_id=person_id,
            grids=grids[:200],
            secretary_of=orgs[:200],
        )


def _secretary(session: Session, principal: Principal, values: dict[str, Any]) -> int | None:
    """The secretary's person id: an existing person, or a new one."""
    person = values.get("secretary")
    if person is not None:
        if values.get("secretary_person_id") is not None:
            raise InvalidInput("give secretary_person_id or secretary, not both")
        return q.add_person(session, name=person["name"], phone=person.get("phone"))
    pid = values.get("secretary_person_id")
    if pid is not None:
        if not q.person_exists(session, person_id=pid):
            raise InvalidInput(f"no person {pid}", field="secretary_person_id")
        may_name(session, principal, pid, "secretary_person_id")
    return pid


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    entity: str,
    key: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    audit.record(session, principal.actor, action, entity, key, before=before, after=after)


def _stored(session: Session, org_id: int) -> dict[str, Any]:
    """An organisation as the audit log keeps it (the secretary as a person id)."""
    row = q.orgs(session, ids=[org_id])[0]
    return {
        k: row[k]
        for k in (
            "code",
            "kind",
            "name",
            "parent_id",
            "community_code",
            "secretary_id",
            "grid_codes",
            "building_ids",
        )
    }


# -- writes -------------------------------------------------------------------------------


def create_org(session: Session, *, values: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """Write a new organisation with its links and secretary."""
    what = "add Party organisations"
    require_role(principal, what, roles=ORG_WRITERS)
    kind, community = values["kind"], values["community_code"]
    _may_write_org(
        session, principal, what, kind=kind, community=community, parent_id=values["parent_id"]
    )
    _require_community(session, community)
    _check_parent(
        session, kind=kind, parent_id=values["parent_id"], community=community, org_id=None
    )
    grids, buildings = values["grid_codes"], values["building_ids"]
    _check_links(
        session, principal, kind=kind, community=community, grids=grids, buildings=buildings
    )
    if kind == "group":
        _check_group_buildings(session, parent_id=values["parent_id"], buildings=buildings)
    secretary = _secretary(session, principal, values)
    code = values.get("code")
    if code is not None and q.head_by_code(session, code=code) is not None:
        raise Conflict(f"an organisation is already coded {code}", field="code")
    org_id = q.insert_org(
        session,
        values={
            "code": code,
            "kind": kind,
            "name": values["name"],
            "parent_id": values["parent_id"],
            "community_code": community,
            "secretary_id": secretary,
        },
    )
    if org_id is None:
        raise Conflict(f"an organisation is already coded {code}", field="code")
    _link(session, org_id=org_id, grids=grids, buildings=buildings)
    forget_org_tokens(session, {org_id})
    _audit(session, principal, "create", "party_org", str(org_id), None, _stored(session, org_id))
    return get_org(session, org_id=org_id, principal=principal)


def _locked_org(session: Session, org_id: int) -> Any:
    row = q.head(session, org_id=org_id, lock=True)
    if row is None:
        raise NotFound(f"no Party organisation {org_id}")
    return row


def update_org(
    session: Session, *, org_id: int, values: dict[str, Any], principal: Principal
) -> dict[str, Any]:
    """Change an organisation: name, code, parent (of the same kind, in the same community),
    links (replaced as a whole), secretary."""
    what = "change Party organisations"
    require_role(principal, what, roles=ORG_WRITERS)
    row = _locked_org(session, org_id)
    _may_write_org(
        session,
        principal,
        what,
        kind=row.kind,
        community=row.community_code,
        parent_id=row.parent_id,
        org_id=org_id,
    )
    parent_id = values["parent_id"] if "parent_id" in values else row.parent_id
    if "parent_id" in values:
        _may_write_org(
            session,
            principal,
            what,
            kind=row.kind,
            community=row.community_code,
            parent_id=parent_id,
            org_id=org_id,
        )
        _check_parent(
            session,
            kind=row.kind,
            parent_id=parent_id,
            community=row.community_code,
            org_id=org_id,
        )
    grids, buildings = values.get("grid_codes"), values.get("building_ids")
    _check_links(
        session,
        principal,
        kind=row.kind,
        community=row.community_code,
        grids=grids or [],
        buildings=buildings or [],
    )
    if row.kind == "group" and (buildings is not None or "parent_id" in values):
        kept = (
            buildings if buildings is not None else q.orgs(session, ids=[org_id])[0]["building_ids"]
        )
        _check_group_buildings(session, parent_id=parent_id, buildings=[int(b) for b in kept])
    before = _stored(session, org_id)
    changes: dict[str, Any] = {}
    if "name" in values:
        changes["name"] = values["name"]
    if "code" in values and values["code"] != row.code:
        if q.head_by_code(session, code=values["code"]) is not None:
            raise Conflict(f"an organisation is already coded {values['code']}", field="code")
        changes["code"] = values["code"]
    if "parent_id" in values:
        changes["parent_id"] = parent_id
    if "secretary" in values or "secretary_person_id" in values:
        changes["secretary_id"] = _secretary(session, principal, values)
    q.update_org(session, org_id=org_id, values=changes)
    _link(session, org_id=org_id, grids=grids, buildings=buildings)
    moved = {org_id} | ({row.parent_id} if row.parent_id is not None else set())
    forget_org_tokens(session, moved)
    after = _stored(session, org_id)
    if after != before:
        _audit(session, principal, "update", "party_org", str(org_id), before, after)
    return get_org(session, org_id=org_id, principal=principal)


def delete_org(session: Session, *, org_id: int, principal: Principal) -> None:
    """Remove an organisation with no organisations, members, designated households or live
    tokens left (its ended tokens go with it)."""
    what = "remove Party organisations"
    require_role(principal, what, roles=ORG_WRITERS)
    row = _locked_org(session, org_id)
    _may_write_org(
        session,
        principal,
        what,
        kind=row.kind,
        community=row.community_code,
        parent_id=row.parent_id,
        org_id=org_id,
    )
    held = q.what_holds(session, org_id=org_id)
    if held["children"]:
        raise OrgHasChildren(
            f"{row.name} still has {len(held['children'])} organisations under it: "
            "move or remove them first",
            children=held["children"][:200],
        )
    if held["members"] or held["households"]:
        raise OrgHasMembers(
            f"{row.name} still has {held['members']} members and {held['households']} "
            "designated households: move them first",
            members=held["members"],
            households=held["households"],
        )
    if held["tokens"]:
        raise OrgHasTokens(
            f"{row.name}'s secretary still holds live tokens {held['tokens'][:20]}: revoke "
            "them first (gridmap token revoke)",
            tokens=held["tokens"][:200],
        )
    before = _stored(session, org_id)
    forget_org_tokens(session, {org_id})
    ended = q.delete_org(session, org_id=org_id)
    _audit(
        session,
        principal,
        "delete",
        "party_org",
        str(org_id),
        {**before, "ended_tokens": ended},
        None,
    )


# -- members ------------------------------------------------------------------------------


def list_members(
    session: Session,
    *,
    principal: Principal,
    org: int | None,
    community: str | None,
    in_service: bool | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """A page of members (``org``: of that organisation and those under it), names and phones
    masked unless the caller may see them."""
    org_ids = sorted(q.subtree(session, org_id=org)) if org is not None else None
    rows = q.members(
        session,
        org_ids=org_ids,
        community=community,
        in_service=in_service,
        limit=limit,
        offset=offset,
    )
    return {
        "numberMatched": q.count_members(
            session, org_ids=org_ids, community=community, in_service=in_service
        ),
        "numberReturned": len(rows),
        "members": members_out(session, rows, principal),
    }


def get_member(session: Session, *, member_id: int, principal: Principal) -> dict[str, Any]:
    """One member."""
    rows = q.members(session, ids=[member_id])
    if not rows:
        raise NotFound(f"no Party member {member_id}")
    return members_out(session, rows, principal)[0]


def _may_write_member(
    session: Session,
    principal: Principal,
    what: str,
    *,
    org: Any,
    registered: str | None,
) -> None:
    """Raise unless ``principal`` may ``what`` a member of ``org`` (a row or None) registered
    with ``registered``: an office covering both places, or an organisation's token for a
    member of its own organisations (registered nowhere else)."""
    if principal.role == "branch":
        mine = _branch_subtree(session, principal)
        if org is None or org.id not in mine or registered not in (None, org.community_code):
            raise Forbidden(
                f"an organisation's token may {what} only the members of its own "
                f"organisations ({principal.acts_in})",
                role=principal.role,
            )
        return
    for place in (org.community_code if org is not None else None, registered):
        if place is not None:
            principal.require(what, roles=ORG_EDITORS, place=place)


def _org_for_member(session: Session, org_id: int | None) -> Any:
    if org_id is None:
        return None
    org = q.head(session, org_id=org_id, lock=True)
    if org is None:
        raise InvalidInput(f"no Party organisation {org_id}", field="org_id")
    return org


def _check_member_refs(session: Session, values: dict[str, Any]) -> None:
    unit = values.get("employer_unit_id")
    if unit is not None and not unit_queries.exists(session, unit_id=unit):
        raise InvalidInput(f"no resident unit {unit}", field="employer_unit_id")
    household = values.get("household_id")
    if household is not None and not q.household_exists(session, household_id=household):
        raise InvalidInput(f"no household {household}", field="household_id")


def create_member(
    session: Session, *, values: dict[str, Any], principal: Principal
) -> dict[str, Any]:
    """Write a new member: an existing person or a new one, in an organisation and/or
    registered with a community (双报到)."""
    what = "add Party members"
    require_role(principal, what, roles=ORG_WRITERS)
    registered = values.get("registered_community")
    if values.get("org_id") is None and registered is None:
        raise InvalidInput(
            "a member belongs to an organisation (org_id) or registers with a "
            "community (registered_community)"
        )
    if (values.get("person_id") is None) == (values.get("person") is None):
        raise InvalidInput("give the member's person_id or a new person {name, phone}")
    org = _org_for_member(session, values.get("org_id"))
    _may_write_member(session, principal, what, org=org, registered=registered)
    if registered is not None:
        _require_community(session, registered)
    _check_member_refs(session, values)
    person = values.get("person_id")
    if person is None:
        person = q.add_person(
            session, name=values["person"]["name"], phone=values["person"].get("phone")
        )
    elif not q.person_exists(session, person_id=person):
        raise InvalidInput(f"no person {person}", field="person_id")
    else:
        may_name(session, principal, person, "person_id")
        held = q.member_of_person(session, person_id=person)
        if held is not None:
            raise PersonIsMember(f"person {person} is already member {held}", member_id=held)
    member_id = q.insert_member(
        session,
        values={
            "person_id": person,
            "org_id": values.get("org_id"),
            "in_service": values.get("in_service", False),
            "employer": values.get("employer"),
            "employer_unit_id": values.get("employer_unit_id"),
            "household_id": values.get("household_id"),
            "registered_community": registered,
            "registered_at": func.now() if registered is not None else None,
        },
    )
    if member_id is None:
        raise PersonIsMember(f"person {person} is already a member")
    after = q.members(session, ids=[member_id])[0]
    _audit(session, principal, "create", "party_member", str(member_id), None, after)
    return get_member(session, member_id=member_id, principal=principal)


def _locked_member(session: Session, member_id: int) -> Any:
    row = q.member_head(session, member_id=member_id, lock=True)
    if row is None:
        raise NotFound(f"no Party member {member_id}")
    return row


def update_member(
    session: Session, *, member_id: int, values: dict[str, Any], principal: Principal
) -> dict[str, Any]:
    """Change a member: organisation, in service, employer, household, name or phone."""
    what = "change Party members"
    require_role(principal, what, roles=ORG_WRITERS)
    row = _locked_member(session, member_id)
    _may_write_member(
        session,
        principal,
        what,
        org=_org_for_member(session, row.org_id),
        registered=row.registered_community,
    )
    if "org_id" in values:
        if values["org_id"] is None and row.registered_community is None:
            raise InvalidInput("a member registered with no community keeps an organisation")
        _may_write_member(
            session,
            principal,
            what,
            org=_org_for_member(session, values["org_id"]),
            registered=row.registered_community,
        )
    _check_member_refs(session, values)
    before = q.members(session, ids=[member_id])[0]
    person = values.pop("person", None)
    if person:
        _may_rename(session, principal, row.person_id)
        q.update_person(session, person_id=row.person_id, values=person)
    q.update_member(session, member_id=member_id, values=values)
    after = q.members(session, ids=[member_id])[0]
    if after != before:
        _audit(session, principal, "update", "party_member", str(member_id), before, after)
    return get_member(session, member_id=member_id, principal=principal)


def register_member(
    session: Session, *, member_id: int, community: str, principal: Principal
) -> dict[str, Any]:
    """Register a member with a community (双报到), now; registering with another community
    moves the registration there. A member registers itself with its own token; an office
    covers the community and the member's own places (its organisation's community and the
    community it is registered with), so no office takes another community's member."""
    what = "register Party members with a community"
    itself = principal.member_id is not None and principal.member_id == member_id
    if not itself:
        require_role(principal, what, roles=ORG_EDITORS)
        principal.require(what, roles=ORG_EDITORS, place=community)
    row = _locked_member(session, member_id)
    if not itself:
        org = _org_for_member(session, row.org_id)
        for place in (org.community_code if org is not None else None, row.registered_community):
            if place is not None and place != community:
                principal.require(what, roles=ORG_EDITORS, place=place)
    _require_community(session, community)
    if row.registered_community != community:
        before = {
            "registered_community": row.registered_community,
            "registered_at": row.registered_at,
        }
        q.register(session, member_id=member_id, community=community)
        after = q.members(session, ids=[member_id])[0]
        _audit(
            session,
            principal,
            "register",
            "party_member",
            str(member_id),
            before,
            {"registered_community": community, "registered_at": after["registered_at"]},
        )
    return get_member(session, member_id=member_id, principal=principal)


def delete_member(session: Session, *, member_id: int, principal: Principal) -> None:
    """Remove a member with no list items taken and no post held (the person stays)."""
    what = "remove Party members"
    require_role(principal, what, roles=ORG_WRITERS)
    row = _locked_member(session, member_id)
    _may_write_member(
        session,
        principal,
        what,
        org=_org_for_member(session, row.org_id),
        registered=row.registered_community,
    )
    work = q.member_work(session, member_id=member_id)
    if work["list_items"] or work["posts"]:
        raise MemberHasWork(
            f"member {member_id} took {len(work['list_items'])} list items and holds "
            f"{len(work['posts'])} posts: hand them on first",
            list_items=work["list_items"][:200],
            posts=work["posts"][:200],
        )
    before = q.members(session, ids=[member_id])[0]
    q.delete_member(session, member_id=member_id)
    _audit(session, principal, "delete", "party_member", str(member_id), before, None)
