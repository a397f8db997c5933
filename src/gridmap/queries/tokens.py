"""gridmap.queries.tokens: a token's expiry and last use, and the names of places it shows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Table, or_, select, update
from sqlalchemy.orm import Session

from gridmap.models import ApiToken, Department, Grid, Region

_tok = cast(Table, ApiToken.__table__)
_r = cast(Table, Region.__table__)
_g = cast(Table, Grid.__table__)
_d = cast(Table, Department.__table__)


def expires_at(session: Session, *, token_id: int) -> datetime | None:
    """When token ``token_id`` stops working (``None``: it does not expire)."""
    value: datetime | None = session.execute(
        select(_tok.c.expires_at).where(_tok.c.id == token_id)
    ).scalar_one_or_none()
    return value


def region_named(session: Session, *, code: str) -> tuple[str, str] | None:
    """The name and level of region ``code``, or ``None`` when there is no such region."""
    row = session.execute(select(_r.c.name, _r.c.level).where(_r.c.code == code)).first()
    return (str(row.name), str(row.level)) if row is not None else None


def grid_names(session: Session, *, codes: Iterable[str]) -> dict[str, str]:
    """The names of the current grids among ``codes``, by code."""
    wanted = list(codes)
    if not wanted:
        return {}
    rows = session.execute(
        select(_g.c.code, _g.c.name).where(_g.c.code.in_(wanted), _g.c.valid_to.is_(None))
    )
    return {str(r.code): str(r.name) for r in rows}


def department_name(session: Session, *, code: str) -> str | None:
    """The name of department ``code``, or ``None`` when there is none."""
    name: str | None = session.execute(
        select(_d.c.name).where(_d.c.code == code)
    ).scalar_one_or_none()
    return name


def mark_used(conn: Connection, *, token_id: int, at: datetime) -> None:
    """Note that token ``token_id`` was used at ``at`` (never moving its last use back)."""
    # Never wait for the row: while another transaction holds it (a revocation), this use is
    # simply not noted, and the next one a minute later is.
    unlocked = (
        select(_tok.c.id)
        .where(
            _tok.c.id == token_id,
            or_(_tok.c.last_used_at.is_(None), _tok.c.last_used_at < at),
        )
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    conn.execute(update(_tok).where(_tok.c.id == unlocked).values(last_used_at=at))
