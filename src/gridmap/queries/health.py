"""gridmap.queries.health: is the database there, which PostGIS, how much data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, column, func, select, table
from sqlalchemy.orm import Session

from gridmap.models import (
    Base,
    Building,
    Grid,
    Household,
    Incident,
    ListItem,
    Region,
    RoadEdge,
    ServiceCenter,
)

# The tables counted, each with the rows that count (grids: their current versions only).
COUNTED: dict[str, tuple[type[Base], list[ColumnElement[bool]]]] = {
    "region": (Region, []),
    "grid": (Grid, [Grid.valid_to.is_(None)]),
    "building": (Building, []),
    "household": (Household, []),
    "service_center": (ServiceCenter, []),
    "road_edge": (RoadEdge, []),
    "list_item": (ListItem, []),
    "incident": (Incident, []),
}
_extension = table("pg_extension", column("extname"), column("extversion"))


def health(session: Session) -> dict[str, Any]:
    """Versions and row counts (current grids only)."""
    pgrouting = (
        select(_extension.c.extversion).where(_extension.c.extname == "pgrouting").scalar_subquery()
    )
    row = session.execute(
        select(func.current_setting("server_version"), func.postgis_lib_version(), pgrouting)
    ).one()
    # One statement for all counts.
    counts = session.execute(
        select(
            *(
                select(func.count()).select_from(model).where(*where).scalar_subquery().label(name)
                for name, (model, where) in COUNTED.items()
            )
        )
    ).one()
    return {
        "postgres": row[0],
        "postgis": row[1],
        "pgrouting": row[2],
        "counts": dict(counts._mapping),
    }
