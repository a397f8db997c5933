"""gridmap.queries.health: is the database there, which PostGIS, how much data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

COUNTED = (
    "region",
    "grid",
    "building",
    "household",
    "service_center",
    "road_edge",
    "list_item",
    "incident",
)


def health(session: Session) -> dict[str, Any]:
    """Versions and row counts (current grids only)."""
    row = session.execute(
        text(
            "SELECT current_setting('server_version'), postgis_lib_version(), "
            "(SELECT extversion FROM pg_extension WHERE extname = 'pgrouting')"
        )
    ).one()
    # One statement for all counts; grids count their current versions only.
    counts_sql = ", ".join(
        f"(SELECT count(*) FROM {name}"
        + (" WHERE valid_to IS NULL" if name == "grid" else "")
        + f") AS {name}"
        for name in COUNTED
    )
    counts = dict(session.execute(text(f"SELECT {counts_sql}")).one()._mapping)
    return {"postgres": row[0], "postgis": row[1], "pgrouting": row[2], "counts": counts}
