"""gridmap.queries.places: what a code given on the command line names, if anything."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from gridmap.models import Grid, Region

_r = cast(Table, Region.__table__)
_g = cast(Table, Grid.__table__)


def place_kind(session: Session, code: str) -> str | None:
    """The level of region ``code`` (district, street, community), ``"grid"`` for a grid code
    (any version, retired ones too), or None when no such place exists."""
    level = session.execute(select(_r.c.level).where(_r.c.code == code)).scalar_one_or_none()
    if level is not None:
        return str(level)
    grid = session.execute(select(_g.c.code).where(_g.c.code == code).limit(1)).first()
    return "grid" if grid is not None else None
