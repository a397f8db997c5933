"""Small Party organisations for tests: a committee, branches on grids, groups in buildings,
members (generated names), resident units, and the tokens of a branch and of a member."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.auth import Holder, create_token


def add_person(db: Session, name: str, phone: str | None = None) -> int:
    """A new person (generated)."""
    return int(
        db.execute(
            text("INSERT INTO person (name, phone) VALUES (:n, :p) RETURNING id"),
            {"n": name, "p": phone},
        ).scalar_one()
    )


def add_org(
    db: Session,
    kind: str,
    code: str,
    name: str,
    community: str,
    *,
    parent: int | None = None,
    grids: tuple[str, ...] = (),
    buildings: tuple[int, ...] = (),
    secretary: int | None = None,
) -> int:
    """A committee, branch (linked to ``grids``) or group (linked to ``buildings``)."""
    org = int(
        db.execute(
            text(
                "INSERT INTO party_org (code, kind, name, parent_id, community_code, secretary_id) "
                "VALUES (:c, :k, :n, :p, :cc, :s) RETURNING id"
            ),
            {"c": code, "k": kind, "n": name, "p": parent, "cc": community, "s": secretary},
        ).scalar_one()
    )
    for grid in grids:
        db.execute(
            text("INSERT INTO party_org_grid (org_id, grid_code) VALUES (:o, :g)"),
            {"o": org, "g": grid},
        )
    for building in buildings:
        db.execute(
            text("INSERT INTO party_org_building (org_id, building_id) VALUES (:o, :b)"),
            {"o": org, "b": building},
        )
    return org


def add_member(
    db: Session,
    name: str,
    phone: str | None = None,
    *,
    org: int | None = None,
    registered: str | None = None,
    in_service: bool = False,
    employer: str | None = None,
    hours: float = 0,
) -> int:
    """A Party member (a new person); ``registered``: the community they registered with."""
    person = add_person(db, name, phone)
    return int(
        db.execute(
            text(
                "INSERT INTO party_member (person_id, org_id, in_service, employer, "
                "registered_community, registered_at, hours_served) VALUES (:p, :o, :i, :e, :r, "
                ":at, :h) RETURNING id"
            ),
            {
                "p": person,
                "o": org,
                "i": in_service,
                "e": employer,
                "r": registered,
                "at": datetime.now(UTC) if registered else None,
                "h": hours,
            },
        ).scalar_one()
    )


def person_of(db: Session, member: int) -> int:
    """The person a member is."""
    return int(
        db.execute(
            text("SELECT person_id FROM party_member WHERE id = :m"), {"m": member}
        ).scalar_one()
    )


def add_unit(
    db: Session,
    code: str,
    name: str,
    lon: float,
    lat: float,
    *,
    kind: str = "enterprise",
    committee: int | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
) -> int:
    """A resident unit at a point; its grid and community are the ones holding the point."""
    return int(
        db.execute(
            text(
                "INSERT INTO resident_unit (code, name, kind, committee_id, contact_name, "
                "contact_phone, geom, grid_code, community_code) "
                "SELECT :c, :n, :k, :cm, :cn, :cp, p.g, "
                "(SELECT code FROM grid WHERE valid_to IS NULL AND ST_Covers(geom, p.g) "
                "ORDER BY code LIMIT 1), "
                "(SELECT community_code FROM grid WHERE valid_to IS NULL AND ST_Covers(geom, p.g) "
                "ORDER BY code LIMIT 1) "
                "FROM (SELECT ST_SetSRID(ST_MakePoint(:x, :y), 4326) AS g) p RETURNING id"
            ),
            {
                "c": code,
                "n": name,
                "k": kind,
                "cm": committee,
                "cn": contact_name,
                "cp": contact_phone,
                "x": lon,
                "y": lat,
            },
        ).scalar_one()
    )


def branch_bearer(db: Session, org: int, name: str | None = None) -> dict[str, str]:
    """Authorization headers of a fresh token of a Party organisation (its secretary's)."""
    secret, _ = create_token(db, holder=Holder("party_org", org=org), name=name)
    db.flush()
    return {"Authorization": f"Bearer {secret}"}


def member_bearer(db: Session, member: int) -> dict[str, str]:
    """Authorization headers of a fresh token of a Party member."""
    secret, _ = create_token(db, holder=Holder("party_member", person=person_of(db, member)))
    db.flush()
    return {"Authorization": f"Bearer {secret}"}


def org_row(db: Session, org: int) -> Any:
    """The party_org row of ``org``."""
    return db.execute(text("SELECT * FROM party_org WHERE id = :o"), {"o": org}).one()
