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
    counts = {
        name: session.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
        for name in COUNTED
        if name != "grid"
    }
    counts["grid"] = session.execute(
        text("SELECT count(*) FROM grid WHERE valid_to IS NULL")
    ).scalar_one()
    return {"postgres": row[0], "postgis": row[1], "pgrouting": row[2], "counts": counts}
