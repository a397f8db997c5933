"""Households with care tags and visits, and a token for every role, for the visit tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    COMMUNITY,
    DISTRICT,
    EAST_GRID,
    STREET,
    WEST_GRID,
    add_staff,
    two_grids,
)
from tests.utils.homes import add_building

from gridmap.auth import Holder, create_token

# A building in each grid: households 0..2 in the west grid, 3..4 in the east one.
WEST_XY = (116.342, 40.005)
EAST_XY = (116.348, 40.005)


@dataclass
class Place:
    """The two grids with their buildings and households, and the people serving them."""

    west_building: int
    east_building: int
    west: list[int]
    east: list[int]
    west_worker: int  # the person 李静 of two_grids, worker of the west grid
    east_worker: int  # a person serving the east grid only
    both_worker: int  # a person serving both grids


def households(db: Session, building: int) -> list[int]:
    return [
        int(i)
        for i in db.execute(
            text("SELECT id FROM household WHERE building_id = :b ORDER BY id"), {"b": building}
        ).scalars()
    ]


def place(db: Session) -> Place:
    """:func:`two_grids` with 3 households in the west grid, 2 in the east one and three workers."""
    two_grids(db)
    west_b = add_building(db, "W001", WEST_GRID, WEST_XY, 3)
    east_b = add_building(db, "E001", EAST_GRID, EAST_XY, 2)
    west_worker = int(db.execute(text("SELECT id FROM person WHERE name = '李静'")).scalar_one())
    east_worker = add_staff(db, EAST_GRID, "worker", "孙东", "13700002222")
    both = add_staff(db, WEST_GRID, "worker", "周两格", "13700003333")
    add_staff(db, EAST_GRID, "leader", "周两格", "13700003333")
    db.flush()
    return Place(
        west_b,
        east_b,
        households(db, west_b),
        households(db, east_b),
        west_worker,
        east_worker,
        both,
    )


def tag(
    db: Session,
    household: int,
    care: str,
    *,
    since: date | None = None,
    interval_days: int | None = None,
    note: str | None = None,
) -> None:
    db.execute(
        text(
            "INSERT INTO care_tag (household_id, tag, since, interval_days, note) "
            "VALUES (:h, :t, coalesce(:s, current_date), :i, :n)"
        ),
        {"h": household, "t": care, "s": since, "i": interval_days, "n": note},
    )


def visit(
    db: Session,
    household: int,
    at: datetime,
    *,
    note: str | None = None,
    outcome: str = "met",
    grid: str | None = None,
) -> int:
    return int(
        db.execute(
            text(
                "INSERT INTO visit (household_id, grid_code, at, outcome, note) "
                "VALUES (:h, coalesce(:g, (SELECT b.grid_code FROM household h "
                "JOIN building b ON b.id = h.building_id WHERE h.id = :h)), :at, :o, :n) "
                "RETURNING id"
            ),
            {"h": household, "g": grid, "at": at, "o": outcome, "n": note},
        ).scalar_one()
    )


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def tokens(db: Session, p: Place) -> dict[str, dict[str, str]]:
    """Headers of a token for each caller the masks are checked for."""

    made = {
        "viewer": create_token(db, name="看图", role="viewer", region=STREET)[0],
        "department": None,
        "worker_other": create_token(db, holder=Holder("staff", person=p.east_worker))[0],
        "worker": create_token(db, holder=Holder("staff", person=p.west_worker))[0],
        "both": create_token(db, holder=Holder("staff", person=p.both_worker))[0],
        "community": create_token(db, name="社区办", role="community", region=COMMUNITY)[0],
        "street": create_token(db, name="街道办", role="street", region=STREET)[0],
        "district": create_token(db, name="区指挥中心", role="district", region=DISTRICT)[0],
        "admin": create_token(db, name="管理员", role="admin", region=None)[0],
        "other_street": create_token(db, name="别的街道", role="street", region="110108015")[0],
    }
    db.execute(
        text(
            "INSERT INTO department (code, name, level, region_code, kind) "
            "VALUES ('cgj', '城管局', 'district', :d, '城管执法')"
        ),
        {"d": DISTRICT},
    )
    made["department"] = create_token(db, holder=Holder("department", department="cgj"))[0]
    db.flush()
    return {k: auth(v) for k, v in made.items() if v is not None}


def reads(db: Session) -> list[tuple[str, str, list[str]]]:
    """The logged reads: (actor, household id, fields), oldest first."""
    return [
        (r.actor, r.entity_key, r.after["fields"])
        for r in db.execute(
            text(
                "SELECT actor, entity_key, after FROM audit_log "
                "WHERE action = 'read' AND entity = 'household' ORDER BY id"
            )
        )
    ]
