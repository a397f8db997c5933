"""gridmap.queries.address: the SQL of standard-address search and of the stored address keys.

The query and every stored address are reduced by :func:`gridmap.address.parse` to a key;
``pg_trgm`` finds the stored keys that share enough trigrams with the query's (a typo or a
missing character costs a few); :mod:`gridmap.services.address` scores them.
"""

from __future__ import annotations

from typing import Any
from typing import cast as cast_type

from sqlalchemy import Connection, Table, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from gridmap.address import Places, parse
from gridmap.models import Building, Region

_b = cast_type(Table, Building.__table__)
_r = cast_type(Table, Region.__table__)

# Trigram similarity a stored key needs to be considered at all (well below the lowest score
# answered: the score may still raise it).
CANDIDATE_SIMILARITY = 0.2


def places(conn: Connection | Session) -> Places:
    """The district and street names addresses may start with."""
    return Places.of((r.level, r.name) for r in conn.execute(select(_r.c.level, _r.c.name)))


def refresh_address_keys(conn: Connection | Session) -> int:
    """Recompute the matching key of every building whose key is stale; returns how many."""
    known = places(conn)
    rows = conn.execute(select(_b.c.id, _b.c.address, _b.c.address_key)).all()
    changed = [
        {"id": r.id, "key": key}
        for r in rows
        if (key := parse(r.address, known).key if r.address else None) != r.address_key
    ]
    if changed:
        conn.execute(
            update(_b).where(_b.c.id == bindparam("b_id")).values(address_key=bindparam("b_key")),
            [{"b_id": c["id"], "b_key": c["key"]} for c in changed],
        )
    return len(changed)


_CANDIDATES = """
SELECT b.code, b.address, b.name, b.address_key, b.grid_code, b.community_code,
       s.code AS street_code, s.name AS street_name, g.name AS grid_name,
       similarity(b.address_key, :q) AS sim,
       ST_X(ST_PointOnSurface(b.geom)) AS lon, ST_Y(ST_PointOnSurface(b.geom)) AS lat
FROM building b
LEFT JOIN region s ON s.code = left(b.community_code, 9)
LEFT JOIN grid g ON g.code = b.grid_code AND g.valid_to IS NULL
WHERE b.address_key % :q
ORDER BY sim DESC, b.code
LIMIT 40
"""


def candidates(session: Session, *, key: str) -> list[Any]:
    """Buildings whose address key shares enough trigrams with ``key``, most alike first (40 at
    most), each with its street, grid and a point on it."""
    session.execute(
        select(func.set_config("pg_trgm.similarity_threshold", str(CANDIDATE_SIMILARITY), True))
    )
    # Kept as SQL: the trigram operator (%) must stand as written for its GIN index.
    return list(session.execute(text(_CANDIDATES), {"q": key}))
