"""gridmap.queries.households: households, designated households (党员中心户) and whom they serve.

A household's point is its building's (a point on the building's surface). Contact names and
phones are masked unless the caller may see personal data of the household's grid. A household
served by a designated household of another grid is flagged ``cross_grid``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, text
from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import Conflict, InvalidInput, NotFound
from gridmap.models import Building, Household
from gridmap.privacy import mask_name, mask_phone
from gridmap.queries import audit, feature_collection, feature_page
from gridmap.vocab.roles import GRID_EDITORS

MAX_SERVED = 200

_h = Household.__table__
_b = Building.__table__
_sh = _h.alias("sh")
_sb = _b.alias("sb")
_s = _h.alias("s")

# A household as a feature: its building's address and grid, and whom it is served by.
_ROW = select(
    _h.c.id,
    _h.c.building_id,
    _b.c.code.label("building_code"),
    _b.c.address,
    _h.c.unit,
    _h.c.room,
    _h.c.designated,
    _h.c.party_members,
    _h.c.served_by,
    _b.c.grid_code,
    _b.c.community_code,
    _sb.c.grid_code.label("served_by_grid"),
    and_(_h.c.served_by.is_not(None), _sb.c.grid_code.is_distinct_from(_b.c.grid_code)).label(
        "cross_grid"
    ),
    select(func.count())
    .select_from(_s)
    .where(_s.c.served_by == _h.c.id)
    .scalar_subquery()
    .label("serves"),
    _h.c.contact_name,
    _h.c.contact_phone,
    func.ST_PointOnSurface(_b.c.geom).label("geom"),
).select_from(
    _h.join(_b, _b.c.id == _h.c.building_id)
    .outerjoin(_sh, _sh.c.id == _h.c.served_by)
    .outerjoin(_sb, _sb.c.id == _sh.c.building_id)
)


def _mask(feature: dict[str, Any], principal: Principal) -> dict[str, Any]:
    props = feature["properties"]
    if not principal.sees_personal_data(
        props.get("grid_code") or props.get("community_code") or ""
    ):
        props["contact_name"] = mask_name(props.get("contact_name"))
        props["contact_phone"] = mask_phone(props.get("contact_phone"))
    return feature


def list_households(
    session: Session,
    *,
    principal: Principal,
    designated: bool | None,
    grid: str | None,
    region: str | None,
    served_by: int | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """Households as GeoJSON points, filtered."""
    where: list[ColumnElement[bool]] = []
    if designated is not None:
        where.append(_h.c.designated == designated)
    if grid is not None:
        where.append(_b.c.grid_code == grid)
    if region is not None:
        where.append(func.coalesce(_b.c.community_code, _b.c.grid_code, "").startswith(region))
    if served_by is not None:
        where.append(_h.c.served_by == served_by)
    return feature_page(
        session,
        rows=_ROW,
        count_from=_h.join(_b, _b.c.id == _h.c.building_id),
        where=where,
        order=_h.c.id,
        limit=limit,
        offset=offset,
        mask=lambda f: _mask(f, principal),
    )


def get_household(session: Session, *, household_id: int, principal: Principal) -> dict[str, Any]:
    """One household, and (for a designated one) the households it serves."""
    features = session.execute(
        feature_collection(_ROW.where(_h.c.id == household_id), order_by="id")
    ).scalar_one()
    if not features:
        raise NotFound(f"no household {household_id}")
    feature = _mask(features[0], principal)
    if feature["properties"]["designated"]:
        feature["served"] = list_households(
            session,
            principal=principal,
            designated=None,
            grid=None,
            region=None,
            served_by=household_id,
            limit=MAX_SERVED * 5,
            offset=0,
        )
    return feature


def _head(session: Session, household_id: int, principal: Principal, what: str) -> Any:
    """The household, locked, once the caller may ``what`` it."""
    head = session.execute(
        text(
            "SELECT h.designated, coalesce(b.grid_code, b.community_code, '') AS place "
            "FROM household h JOIN building b ON b.id = h.building_id WHERE h.id = :id "
            "FOR UPDATE OF h"
        ),
        {"id": household_id},
    ).one_or_none()
    if head is None:
        raise NotFound(f"no household {household_id}")
    principal.require(what, roles=GRID_EDITORS, place=head.place)
    return head


def set_served(
    session: Session, *, household_id: int, served: list[int], principal: Principal
) -> dict[str, Any]:
    """Make ``served`` exactly the households that ``household_id`` (designated) serves."""
    if len(served) > MAX_SERVED:
        raise InvalidInput(f"a designated household serves at most {MAX_SERVED} households")
    if len(set(served)) != len(served):
        raise InvalidInput("a household is listed twice")
    if household_id in served:
        raise InvalidInput("a designated household does not serve itself")
    head = _head(session, household_id, principal, "change whom a household serves")
    if not head.designated:
        raise Conflict(
            f"household {household_id} is not a designated household (党员中心户); "
            "mark it designated first"
        )
    rows = session.execute(
        text(
            "SELECT h.id, h.designated, h.served_by, coalesce(b.grid_code, b.community_code, '') "
            "AS place FROM household h JOIN building b ON b.id = h.building_id "
            "WHERE h.id = ANY(:ids) FOR UPDATE OF h"
        ),
        {"ids": served},
    ).all()
    found = {r.id: r for r in rows}
    missing = [i for i in served if i not in found]
    if missing:
        raise InvalidInput(f"no such households: {missing[:20]}", missing=missing[:200])
    designated = [i for i in served if found[i].designated]
    if designated:
        raise Conflict(f"designated households are not served by another: {designated[:20]}")
    for r in rows:
        principal.require("change whom a household serves", roles=GRID_EDITORS, place=r.place)
    before = sorted(
        session.execute(
            text("SELECT id FROM household WHERE served_by = :id"), {"id": household_id}
        ).scalars()
    )
    moved = [r.id for r in rows if r.served_by not in (None, household_id)]
    session.execute(
        text("UPDATE household SET served_by = NULL WHERE served_by = :id AND NOT id = ANY(:ids)"),
        {"id": household_id, "ids": served},
    )
    session.execute(
        text("UPDATE household SET served_by = :id WHERE id = ANY(:ids)"),
        {"id": household_id, "ids": served},
    )
    audit.record(
        session,
        actor=principal.actor,
        action="serve",
        entity="household",
        key=str(household_id),
        before={"served": before},
        after={"served": sorted(served)},
    )
    feature = get_household(session, household_id=household_id, principal=principal)
    feature["moved_from_other_designated"] = moved
    return feature


def set_designated(
    session: Session, *, household_id: int, designated: bool, principal: Principal
) -> dict[str, Any]:
    """Mark or unmark a designated household; unmarking releases the households it served."""
    head = _head(session, household_id, principal, "mark designated households")
    if head.designated != designated:
        released: list[int] = []
        if designated:
            session.execute(
                text("UPDATE household SET designated = true, served_by = NULL WHERE id = :id"),
                {"id": household_id},
            )
        else:
            released = list(
                session.execute(
                    text(
                        "UPDATE household SET served_by = NULL WHERE served_by = :id RETURNING id"
                    ),
                    {"id": household_id},
                ).scalars()
            )
            session.execute(
                text("UPDATE household SET designated = false WHERE id = :id"),
                {"id": household_id},
            )
        audit.record(
            session,
            actor=principal.actor,
            action="designate" if designated else "undesignate",
            entity="household",
            key=str(household_id),
            before={"designated": head.designated},
            after={"designated": designated, "released": sorted(released)},
        )
    return get_household(session, household_id=household_id, principal=principal)


def summary(session: Session, *, region: str | None) -> list[dict[str, Any]]:
    """Per grid: households, designated households, households served, households with none."""
    rows = session.execute(
        text(
            """
SELECT b.grid_code AS grid, count(*) AS households,
       count(*) FILTER (WHERE h.designated) AS designated,
       count(*) FILTER (WHERE h.served_by IS NOT NULL) AS served,
       count(*) FILTER (WHERE NOT h.designated AND h.served_by IS NULL) AS unserved,
       count(*) FILTER (WHERE h.served_by IS NOT NULL
                        AND sb.grid_code IS DISTINCT FROM b.grid_code) AS served_from_other_grid
FROM household h
JOIN building b ON b.id = h.building_id
LEFT JOIN household sh ON sh.id = h.served_by
LEFT JOIN building sb ON sb.id = sh.building_id
WHERE b.grid_code IS NOT NULL
  AND (CAST(:r AS text) IS NULL OR left(b.grid_code, length(:r)) = :r)
GROUP BY 1 ORDER BY 1
"""
        ),
        {"r": region},
    ).mappings()
    return [dict(r) for r in rows]
