"""gridmap.queries.address: standard-address search — what people type → building → grid.

The query and every stored address are reduced by :func:`gridmap.address.parse` to a key;
``pg_trgm`` finds the stored keys that share enough trigrams with the query's (a typo or a
missing character costs a few), and a score then weighs in what trigrams cannot: a different
building number is a different building, however alike the names; a street named in the query
must be the building's. Below :data:`MIN_SCORE` nothing is answered — a dispatcher is better
served by "not found" than by a confident wrong building.
"""

from __future__ import annotations

import re
from typing import Any
from typing import cast as cast_type

from sqlalchemy import Connection, Table, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from gridmap.address import Parsed, Places, parse
from gridmap.errors import InvalidInput
from gridmap.models import Building, Region

_b = cast_type(Table, Building.__table__)
_r = cast_type(Table, Region.__table__)

MIN_SCORE = 0.5
# Trigram similarity a stored key needs to be considered at all (well below MIN_SCORE: the
# score may still raise it).
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


def _variants(q: str, known: Places) -> list[Parsed]:
    """The query read as is, and — if it starts with a street's short name (学院路 for
    学院路街道) — read without it too: 学院路 may be the street or a road of that name."""
    first = parse(q, known)
    out = [first]
    for name in known.streets:
        short = re.sub("(街道|镇|乡|地区)$", "", name)
        if short != name and first.key.startswith(short) and len(first.key) > len(short):
            out.append(
                Parsed(
                    **{
                        **first.__dict__,
                        "key": first.key[len(short) :],
                        "street": name,
                        "notes": [*first.notes],
                    }
                )
            )
    return out


def _score(row: Any, parsed: Parsed) -> tuple[float, list[str]]:
    q_name = re.sub(r"\d+号?", "", parsed.key)
    d_name = re.sub(r"\d+号?", "", row.address_key or "")
    name, how = name_similarity(q_name, d_name)
    why = [how]
    q_nums, d_nums = parsed.numbers, re.findall(r"\d+", row.address_key or "")
    if q_nums:
        if q_nums == d_nums:
            score = 0.85 * name + 0.15
            why.append(f"number {q_nums[-1]} matches")
        elif q_nums == d_nums[:-1] and d_nums[-1] == "1":
            # A named building's address ends in its own "1号楼" (燕东园34号楼1号楼).
            score = 0.85 * name + 0.12
            why.append(f"number {q_nums[-1]} matches")
        else:
            score = 0.4 * name
            why.append("numbers differ")
    else:
        score = name
    if parsed.street:
        if parsed.street == row.street_name:
            score += 0.05
            why.append(f"in {row.street_name}")
        else:
            score -= 0.3
            why.append(f"not in {parsed.street}")
    return min(score, 1.0), why + parsed.notes


def _trigrams(s: str) -> set[str]:
    padded = f"  {s} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def name_similarity(typed: str, stored: str) -> tuple[float, str]:
    """How alike two place names are (0–1), and how to say it.

    Trigrams (as pg_trgm counts them) reward long shared runs; edit distance forgives a typo in
    a short name, where one wrong character spoils most trigrams; a typed name found whole in
    the stored one (燕东园 in 北京大学燕东园) is a shortened name.

    Examples
    --------
    >>> name_similarity("石科院生活区", "石科院生活区")
    (1.0, 'same name')
    >>> round(name_similarity("艺海大夏", "艺海大厦")[0], 2)
    0.75
    >>> name_similarity("燕东园", "北京大学燕东园")[1]
    'name found within 北京大学燕东园'
    """
    if typed == stored:
        return 1.0, "same name"
    if not typed or not stored:
        return 0.0, "no name to compare"
    a, b = _trigrams(typed), _trigrams(stored)
    trigram = len(a & b) / len(a | b)
    edit = 1 - _edit_distance(typed, stored) / max(len(typed), len(stored))
    within = 0.85 if len(typed) >= 3 and typed in stored else 0.0
    best = max(trigram, edit, within)
    if best == within:
        return best, f"name found within {stored}"
    return best, f"similar name ({best:.2f})"


def search(session: Session, *, q: str, limit: int = 5) -> dict[str, Any]:
    """Buildings whose standard address matches ``q``, best first, each with its grid."""
    if not q.strip():
        raise InvalidInput("q is empty: type an address")
    known = places(session)
    session.execute(
        select(func.set_config("pg_trgm.similarity_threshold", str(CANDIDATE_SIMILARITY), True))
    )
    best: dict[str, dict[str, Any]] = {}
    parsed_first = None
    for parsed in _variants(q, known):
        parsed_first = parsed_first or parsed
        if len(parsed.key) < 2:
            continue
        # Kept as SQL: the trigram operator (%) must stand as written for its GIN index.
        for row in session.execute(text(_CANDIDATES), {"q": parsed.key}):
            score, why = _score(row, parsed)
            if score < MIN_SCORE or (row.code in best and best[row.code]["score"] >= score):
                continue
            best[row.code] = {
                "score": round(score, 3),
                "why": why,
                "building": {
                    "code": row.code,
                    "address": row.address,
                    "name": row.name,
                    "lon": round(row.lon, 7),
                    "lat": round(row.lat, 7),
                },
                "grid": {"code": row.grid_code, "name": row.grid_name} if row.grid_code else None,
                "community_code": row.community_code,
                "street": {"code": row.street_code, "name": row.street_name}
                if row.street_code
                else None,
            }
    ranked = sorted(best.values(), key=lambda c: (-c["score"], c["building"]["code"]))[:limit]
    assert parsed_first is not None
    return {
        "q": q,
        "understood": {
            "key": parsed_first.key,
            "street": parsed_first.street,
            "unit": parsed_first.unit,
            "floor": parsed_first.floor,
            "room": parsed_first.room,
        },
        "candidates": ranked,
    }
