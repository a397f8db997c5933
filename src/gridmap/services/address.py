"""gridmap.services.address: standard-address search — what people type → building → grid.

The typed address is read (:func:`gridmap.address.parse`) in each way it may mean — 学院路 as the
street office 学院路街道 or as the road of that name, a leading 北京 as the city or as part of a
name —, the buildings sharing enough trigrams with each reading are scored
(:func:`gridmap.address.score`) and the best reading of each building is kept. Below
:data:`gridmap.vocab.address.MIN_SCORE` nothing is answered: a dispatcher is better served by
"not found" than by a confident wrong building; below :data:`gridmap.vocab.address.WEAK_BELOW` a
candidate is answered but marked weak.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from gridmap.address import (
    MUNICIPALITIES,
    Parsed,
    Places,
    digits_as_numerals,
    parse,
    score,
    street_short_name,
)
from gridmap.errors import InvalidInput
from gridmap.queries import address as q
from gridmap.vocab.address import MIN_SCORE, WEAK_BELOW


def readings(typed: str, known: Places) -> list[Parsed]:
    """The ways ``typed`` may be read: as it is; without a street's short name it starts with
    (学院路 for 学院路街道), unless a door number follows (学院路18号 is a road); and without a
    leading city name the first reading kept (北京北京大学校医院); and with the digits of a
    name as the Chinese numerals names are written with (第2教学楼 for 第二教学楼)."""
    first = parse(typed, known)
    out = [first]
    for name in known.streets:
        short = street_short_name(name)
        if not short or not first.key.startswith(short) or len(first.key) <= len(short):
            continue
        if first.key[len(short)].isdigit():
            continue
        out.append(replace(first, key=first.key[len(short) :], street=name, road=None, door=None))
    stripped = typed.strip()
    spelled = digits_as_numerals(unicodedata.normalize("NFKC", stripped))
    if spelled != unicodedata.normalize("NFKC", stripped):
        again = parse(spelled, known)
        out.append(replace(again, notes=[*again.notes, "digits read as the name's numerals"]))
    for city in MUNICIPALITIES:
        if stripped.startswith(city) and first.key.startswith(city):
            again = parse(stripped[len(city) :], known)
            out.append(replace(again, notes=[*again.notes, f"dropped {city}"]))
    return out


def _candidate(row: Any, match: Any) -> dict[str, Any]:
    return {
        "score": match.score,
        "weak": match.weak,
        "matched": match.matched,
        "why": match.why,
        "building": {
            "code": row.code,
            "address": row.address,
            "name": row.name,
            "lon": round(row.lon, 7),
            "lat": round(row.lat, 7),
        },
        "grid": {"code": row.grid_code, "name": row.grid_name} if row.grid_code else None,
        "community_code": row.community_code,
        "street": {"code": row.street_code, "name": row.street_name} if row.street_code else None,
    }


def search(session: Session, *, q_text: str, limit: int = 5) -> dict[str, Any]:
    """Buildings whose standard address matches ``q_text``, best first, each with its grid,
    score, what matched and whether the match is weak; ``weak`` on the answer when the best is.

    Ties go to the building whose address adds least to what was typed (北京大学 → 北京大学校医院
    before 北京大学燕东园4号楼), then to the lowest code.
    """
    if not q_text.strip():
        raise InvalidInput("q is empty: type an address")
    known = q.places(session)
    ways = readings(q_text, known)
    best: dict[str, tuple[float, int, str, dict[str, Any]]] = {}
    for parsed in ways:
        if len(parsed.key) < 2:
            continue
        for row in q.candidates(session, key=parsed.key):
            match = score(parsed, row.address_key or "", row.street_name)
            if match.score < MIN_SCORE:
                continue
            if row.code in best and best[row.code][0] <= -match.score:
                continue
            rank = (-match.score, len(row.address_key or ""), row.code)
            best[row.code] = (*rank, _candidate(row, match))
    ranked = [entry[3] for entry in sorted(best.values(), key=lambda e: e[:3])][:limit]
    first = ways[0]
    return {
        "q": q_text,
        "understood": {
            "key": first.key,
            "street": first.street,
            "road": first.road,
            "door": first.door,
            "unit": first.unit,
            "floor": first.floor,
            "room": first.room,
        },
        "weak": bool(ranked) and ranked[0]["weak"],
        "weak_below": WEAK_BELOW,
        "candidates": ranked,
    }
