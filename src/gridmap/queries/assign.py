"""gridmap.queries.assign: derive the grid of buildings and list items from where they are.

The border rule of :mod:`gridmap.queries.lookup` applies: the lowest grid code wins.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, CursorResult, text
from sqlalchemy.orm import Session

_BUILDINGS = """
UPDATE building b SET grid_code = x.grid_code, community_code = x.community_code
FROM (SELECT b2.id, g.code AS grid_code, g.community_code FROM building b2
      LEFT JOIN LATERAL (SELECT g.code, g.community_code FROM grid_piece gp
        JOIN grid g ON g.id = gp.grid_id
        WHERE g.valid_to IS NULL AND ST_Intersects(gp.geom, ST_PointOnSurface(b2.geom))
        ORDER BY g.code LIMIT 1) g ON true
      {where}) x
WHERE b.id = x.id
  AND (b.grid_code, b.community_code) IS DISTINCT FROM (x.grid_code, x.community_code)
"""

_ITEMS = """
UPDATE list_item i SET grid_code = x.grid_code
FROM (SELECT i2.id, (SELECT g.code FROM grid_piece gp JOIN grid g ON g.id = gp.grid_id
                     WHERE g.valid_to IS NULL AND ST_Intersects(gp.geom, i2.geom)
                     ORDER BY g.code LIMIT 1) AS grid_code
      FROM list_item i2
      {where}) x
WHERE i.id = x.id AND i.grid_code IS DISTINCT FROM x.grid_code
"""


def rederive_grids(conn: Connection | Session, *, area_ewkt: str | None = None) -> int:
    """Set the grid of buildings and list items (within ``area_ewkt``'s box, or everywhere).

    Returns how many rows changed.
    """
    changed = 0
    for sql, alias in ((_BUILDINGS, "b2"), (_ITEMS, "i2")):
        where = "" if area_ewkt is None else f"WHERE {alias}.geom && ST_GeomFromEWKT(:area)"
        # Kept as SQL: an UPDATE … FROM a lateral point-in-polygon over the subdivided grids.
        result: CursorResult[Any] = conn.execute(  # type: ignore[assignment]
            text(sql.format(where=where)), {"area": area_ewkt}
        )
        changed += result.rowcount
    return changed
