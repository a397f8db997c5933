"""gridmap.queries.patrols: patrols, their track pieces, the street pieces of each grid and how
much of them the period's tracks walked (巡查覆盖率)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, func, insert, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from gridmap.geo.chinacrs import CHINA_BOUNDS
from gridmap.geo.isochrone import NOT_WALKABLE
from gridmap.models import Patrol, PatrolPiece

_p = cast(Table, Patrol.__table__)
_pp = cast(Table, PatrolPiece.__table__)

# The streets of patrol coverage: road edges a grid worker walks along. Besides what nobody walks
# (motorways, building sites), trunk roads (urban expressways, mostly closed to people on foot)
# and platforms (railway and bus platforms, not streets) are left out.
NOT_STREET = (*NOT_WALKABLE, "trunk", "trunk_link", "platform")
# Street pieces are cut at most this long, so a piece is walked or not as a whole.
PIECE_M = 25.0


def street_edge(alias: str) -> str:
    """SQL condition: the ``road_edge`` row ``alias`` belongs to the streets of coverage."""
    values = ", ".join(f"'{h}'" for h in NOT_STREET)
    return f"({alias}.highway IS NULL OR {alias}.highway NOT IN ({values}))"


def degrees_for(metres: float) -> float:
    """A distance in degrees that is at least ``metres`` in every direction anywhere in China
    (a longitude degree is shortest at the northern bound): the margin of an index probe."""
    return metres / (111_320.0 * math.cos(math.radians(CHINA_BOUNDS[3])))


# ---------------------------------------------------------------- patrols and their pieces

_SUMMARY = select(
    _p,
    select(func.count()).where(_pp.c.patrol_id == _p.c.id).scalar_subquery().label("pieces"),
    select(func.max(_pp.c.last_at))
    .where(_pp.c.patrol_id == _p.c.id)
    .scalar_subquery()
    .label("last_at"),
)


def insert_patrol(
    session: Session, *, key: UUID, person_id: int, started_at: datetime, created_by: str
) -> bool:
    """Make the patrol ``key`` unless it exists; whether it was made now. A second writer of the
    same key waits for the first one's commit and then makes nothing."""
    made = session.execute(
        pg_insert(_p)
        .values(key=key, person_id=person_id, started_at=started_at, created_by=created_by)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(_p.c.id)
    ).first()
    return made is not None


def patrol(session: Session, *, key: UUID, lock: bool = False) -> dict[str, Any] | None:
    """The patrol ``key`` with its number of pieces and last point time, or None; ``lock`` takes
    its row lock for the rest of the transaction (writes to one patrol run one at a time)."""
    if lock:
        session.execute(select(_p.c.id).where(_p.c.key == key).with_for_update())
    row = session.execute(_SUMMARY.where(_p.c.key == key)).first()
    return dict(row._mapping) if row is not None else None


def piece_digest(session: Session, *, patrol_id: int, seq: int) -> str | None:
    """The digest of piece ``seq`` of a patrol, or None when it is not stored."""
    return session.execute(
        select(_pp.c.digest).where(_pp.c.patrol_id == patrol_id, _pp.c.seq == seq)
    ).scalar_one_or_none()


def last_piece(session: Session, *, patrol_id: int) -> tuple[int, list[float]] | None:
    """The number of a patrol's last piece and its last point ``[lon, lat, t]``, or None."""
    end = func.ST_EndPoint(_pp.c.geom)
    row = session.execute(
        select(_pp.c.seq, func.ST_X(end), func.ST_Y(end), func.ST_M(end))
        .where(_pp.c.patrol_id == patrol_id)
        .order_by(_pp.c.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return int(row[0]), [float(row[1]), float(row[2]), float(row[3])]


def insert_piece(
    session: Session,
    *,
    patrol_id: int,
    seq: int,
    points: int,
    first_at: datetime,
    last_at: datetime,
    length_m: float,
    digest: str,
    ewkt: str,
) -> None:
    """Store one piece of a patrol's track (``ewkt`` a LINESTRING M in EPSG:4326)."""
    session.execute(
        insert(_pp).values(
            patrol_id=patrol_id,
            seq=seq,
            points=points,
            first_at=first_at,
            last_at=last_at,
            length_m=length_m,
            digest=digest,
            geom=func.ST_GeomFromEWKT(ewkt),
        )
    )


def grids_crossed(session: Session, *, ewkt: str, codes: Sequence[str]) -> list[str]:
    """Those of the current grids ``codes`` the line ``ewkt`` passes through."""
    if not codes:
        return []
    # Kept as SQL: the line is read once and probed against each grid through its index.
    return list(
        session.execute(
            text(
                "SELECT g.code FROM grid g, (SELECT ST_Force2D(ST_GeomFromEWKT(:line)) AS geom) l "
                "WHERE g.valid_to IS NULL AND g.code = ANY(:codes) "
                "AND ST_Intersects(g.geom, l.geom) ORDER BY g.code"
            ),
            {"line": ewkt, "codes": list(codes)},
        ).scalars()
    )


def add_to_patrol(
    session: Session, *, patrol_id: int, points: int, length_m: float, grid_codes: Sequence[str]
) -> None:
    """Add a stored piece's points, length and grids to its patrol's totals."""
    merged = func.array(
        select(func.unnest(func.array_cat(_p.c.grid_codes, list(grid_codes))))
        .distinct()
        .order_by(literal_column("1"))
        .scalar_subquery()
    )
    session.execute(
        update(_p)
        .where(_p.c.id == patrol_id)
        .values(
            points=_p.c.points + points,
            length_m=_p.c.length_m + length_m,
            grid_codes=merged if grid_codes else _p.c.grid_codes,
        )
    )


def end_patrol(session: Session, *, patrol_id: int, ended_at: datetime) -> None:
    """Mark a patrol ended at ``ended_at``."""
    session.execute(update(_p).where(_p.c.id == patrol_id).values(ended_at=ended_at))


def tracks(
    session: Session,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    person_id: int | None = None,
    grid: str | None = None,
    region: str | None = None,
    key: UUID | None = None,
) -> list[dict[str, Any]]:
    """Patrols started in [start, end) (or the one ``key``), of a person, through a grid or
    through grids of a region, each with its track as GeoJSON (``geometry``, a MultiLineString
    of its pieces in order, without times) or None before its first piece."""
    summary = _SUMMARY.subquery("p")
    line = (
        select(
            func.ST_AsGeoJSON(
                func.ST_Force2D(
                    func.ST_Multi(func.ST_Collect(aggregate_order_by(_pp.c.geom, _pp.c.seq))),
                ),
                7,
            )
        )
        .where(_pp.c.patrol_id == summary.c.id)
        .scalar_subquery()
    )
    query = select(summary, line.label("geometry"))
    if key is not None:
        query = query.where(summary.c.key == key)
    if start is not None and end is not None:
        query = query.where(summary.c.started_at >= start, summary.c.started_at < end)
    if person_id is not None:
        query = query.where(summary.c.person_id == person_id)
    if grid is not None:
        query = query.where(summary.c.grid_codes.contains([grid]))
    if region is not None:
        query = query.where(
            text(
                "EXISTS (SELECT 1 FROM unnest(p.grid_codes) c WHERE c LIKE :region || '%')"
            ).bindparams(region=region)
        )
    return [dict(r._mapping) for r in session.execute(query.order_by(summary.c.started_at))]


def open_patrol(session: Session, *, person_id: int) -> UUID | None:
    """The key of the person's latest patrol that has not ended, or None."""
    return session.execute(
        select(_p.c.key)
        .where(_p.c.person_id == person_id, _p.c.ended_at.is_(None))
        .order_by(_p.c.started_at.desc())
        .limit(1)
    ).scalar_one_or_none()


# Kept as SQL: per person, the patrols started in the period with their length and duration
# (to the end, or the last point while still walking).
_FIGURES = """
SELECT p.person_id, count(*) AS patrols, coalesce(sum(p.length_m), 0) AS length_m,
       coalesce(sum(extract(epoch FROM coalesce(p.ended_at, l.last_at, p.started_at)
                                   - p.started_at)), 0) AS duration_s
FROM patrol p
LEFT JOIN LATERAL (SELECT max(last_at) AS last_at FROM patrol_piece WHERE patrol_id = p.id) l
    ON true
WHERE p.started_at >= :start AND p.started_at < :end AND {where}
GROUP BY p.person_id ORDER BY p.person_id
"""


def figures(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    person_ids: Sequence[int] | None = None,
    region: str | None = None,
) -> list[dict[str, Any]]:
    """Patrols, metres and seconds patrolled per person, of ``person_ids`` or of the people
    serving grids of ``region`` (every person without either)."""
    where = "true"
    params: dict[str, Any] = {"start": start, "end": end}
    if person_ids is not None:
        where = "p.person_id = ANY(:people)"
        params["people"] = list(person_ids)
    elif region is not None:
        where = (
            "p.person_id IN (SELECT person_id FROM grid_staff WHERE grid_code LIKE :region || '%')"
        )
        params["region"] = region
    rows = session.execute(text(_FIGURES.format(where=where)), params)
    return [dict(r._mapping) for r in rows]


# ------------------------------------------------------------------- streets and coverage


def current_grids(
    session: Session, *, codes: Sequence[str] | None = None, region: str | None = None
) -> list[dict[str, Any]]:
    """The current grids (id, code, name) of ``codes``, or of a region, or all, by code."""
    where = ["valid_to IS NULL"]
    params: dict[str, Any] = {}
    if codes is not None:
        where.append("code = ANY(:codes)")
        params["codes"] = list(codes)
    if region is not None:
        where.append("code LIKE :region || '%'")
        params["region"] = region
    rows = session.execute(
        text(f"SELECT id, code, name FROM grid WHERE {' AND '.join(where)} ORDER BY code"), params
    )
    return [dict(r._mapping) for r in rows]


# Kept as SQL: a grid needs its streets (re)built when pieces of an older version of it remain,
# or when it has none of its current version although a street crosses it (probed through the
# road index, so a grid with no street costs one index probe and no write).
_STALE = f"""
SELECT g.id, g.code FROM grid g
WHERE g.id = ANY(:ids) AND (
    EXISTS (SELECT 1 FROM street_piece s WHERE s.grid_code = g.code AND s.grid_id <> g.id)
    OR (NOT EXISTS (SELECT 1 FROM street_piece s WHERE s.grid_id = g.id)
        AND EXISTS (SELECT 1 FROM road_edge e WHERE e.geom && g.geom AND {street_edge("e")}
                    AND ST_Intersects(e.geom, g.geom))))
ORDER BY g.code
"""


def stale_grids(session: Session, *, grid_ids: Sequence[int]) -> list[tuple[int, str]]:
    """Those of the (current) grids ``grid_ids`` whose street pieces must be built again."""
    rows = session.execute(text(_STALE), {"ids": list(grid_ids)})
    return [(int(r.id), str(r.code)) for r in rows]


# Kept as SQL: clipping and cutting happen in the grid's UTM zone, so "25 m" is 25 m along the
# street whatever its direction; ST_LineSubstring cuts by share of length, and in a metric CRS
# that share is a share of metres.
_BUILD = f"""
WITH g AS (
    SELECT id, code, geom,
           32600 + floor((ST_X(ST_Centroid(geom)) + 180) / 6)::int + 1 AS utm
    FROM grid WHERE id = :grid_id),
part AS (
    SELECT g.id AS grid_id, g.code, e.id AS edge_id,
           ST_Transform((ST_Dump(ST_CollectionExtract(ST_Intersection(e.geom, g.geom), 2))).geom,
                        g.utm) AS geom
    FROM g JOIN road_edge e ON e.geom && g.geom AND ST_Intersects(e.geom, g.geom)
    WHERE {street_edge("e")}),
cut AS (
    SELECT part.*, ceil(ST_Length(part.geom) / :piece_m)::int AS n FROM part
    WHERE ST_Length(part.geom) > 0.01)
INSERT INTO street_piece (grid_id, grid_code, road_edge_id, length_m, geom)
SELECT grid_id, code, edge_id, ST_Length(s.geom), ST_Transform(s.geom, 4326)
FROM cut, LATERAL generate_series(0, cut.n - 1) i,
     LATERAL (SELECT ST_LineSubstring(cut.geom, i::float8 / cut.n,
                                      least(1.0, (i + 1)::float8 / cut.n)) AS geom) s
WHERE ST_Length(s.geom) > 0
"""


def without_jit(session: Session) -> None:
    """Turn PostgreSQL's JIT compiler off for the rest of the transaction. The street and
    coverage statements are estimated costly (a row per street piece times the track pieces
    near it) though they run in milliseconds, and compiling them (about half a second) would
    cost more than running them."""
    session.execute(text("SET LOCAL jit = off"))


def rebuild_streets(session: Session, *, grid_id: int, grid_code: str) -> int:
    """Replace the street pieces of a grid (every version) by those of its version
    ``grid_id``; how many pieces it now has."""
    session.execute(text("DELETE FROM street_piece WHERE grid_code = :code"), {"code": grid_code})
    made = session.execute(text(_BUILD), {"grid_id": grid_id, "piece_m": PIECE_M})
    return int(made.rowcount)  # type: ignore[attr-defined]


def lock_grid_streets(session: Session, *, grid_code: str) -> None:
    """Take this transaction's lock on building a grid's street pieces (two readers that find
    them missing build them once: the second waits, then finds them built)."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('street_piece'), hashtext(:code))"),
        {"code": grid_code},
    )


def _walked(alias: str) -> str:
    """SQL condition: the street piece ``alias`` lies within :cover of a patrol piece of
    [:start, :end). Only the part of a piece inside the period counts (its M is the time)."""
    return f"""EXISTS (
        SELECT 1 FROM patrol_piece pp
        WHERE pp.geom && ST_Expand({alias}.geom, :deg)
          AND pp.first_at < :end AND pp.last_at >= :start
          AND ST_DWithin(
                (CASE WHEN pp.first_at >= :start AND pp.last_at < :end THEN ST_Force2D(pp.geom)
                      ELSE ST_Force2D(ST_LocateBetween(pp.geom, :t0, :t1)) END)::geography,
                {alias}.geom::geography, :cover, false))"""


# Kept as SQL: the walked test is an EXISTS per street piece through the GiST index of the
# track pieces, in metres on the sphere (ST_DWithin on geography without the spheroid: within
# centimetres at 20 m, and several times cheaper); the planner needs it written this way to
# stop at the first track piece near each street piece.
_COVERAGE = f"""
WITH g AS (SELECT id, code, name, geom FROM grid WHERE id = ANY(:ids)),
s AS (
    SELECT sp.grid_id, sp.length_m, {_walked("sp")} AS walked
    FROM street_piece sp WHERE sp.grid_id = ANY(:ids)),
per AS (
    SELECT grid_id, sum(length_m) AS street_m,
           coalesce(sum(length_m) FILTER (WHERE walked), 0) AS walked_m
    FROM s GROUP BY grid_id),
seen AS (
    SELECT g.id, count(DISTINCT pp.patrol_id) AS patrols
    FROM g JOIN patrol_piece pp ON pp.geom && g.geom
        AND pp.first_at < :end AND pp.last_at >= :start AND ST_Intersects(pp.geom, g.geom)
    GROUP BY g.id)
SELECT g.id, g.code, g.name, coalesce(per.street_m, 0) AS street_m,
       coalesce(per.walked_m, 0) AS walked_m, coalesce(seen.patrols, 0) AS patrols
FROM g LEFT JOIN per ON per.grid_id = g.id LEFT JOIN seen ON seen.id = g.id
ORDER BY g.code
"""


def _period(start: datetime, end: datetime, cover_m: float) -> dict[str, Any]:
    return {
        "start": start,
        "end": end,
        "t0": start.timestamp(),
        "t1": end.timestamp(),
        "cover": cover_m,
        "deg": degrees_for(cover_m),
    }


def coverage(
    session: Session, *, grid_ids: Sequence[int], start: datetime, end: datetime, cover_m: float
) -> list[dict[str, Any]]:
    """Per grid of ``grid_ids``: street metres, metres walked within ``cover_m`` of a track of
    [start, end), and the number of patrols that passed through it."""
    rows = session.execute(text(_COVERAGE), {"ids": list(grid_ids), **_period(start, end, cover_m)})
    return [dict(r._mapping) for r in rows]


# Kept as SQL: the same walked test, answering the pieces themselves as GeoJSON Features.
_PIECES = f"""
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
    json_build_object('type', 'Feature', 'id', sp.id,
        'geometry', ST_AsGeoJSON(sp.geom, 7)::json,
        'properties', json_build_object('id', sp.id, 'road_edge_id', sp.road_edge_id,
                                        'length_m', round(sp.length_m::numeric, 2)))
    ORDER BY sp.id) FILTER (WHERE sp.walked = :walked), '[]'::json))
FROM (SELECT sp.*, {_walked("sp")} AS walked FROM street_piece sp WHERE sp.grid_id = :grid_id) sp
"""


def street_pieces(
    session: Session,
    *,
    grid_id: int,
    start: datetime,
    end: datetime,
    cover_m: float,
    walked: bool,
) -> dict[str, Any]:
    """The walked (or unwalked) street pieces of a grid version as a FeatureCollection."""
    value = session.execute(
        text(_PIECES), {"grid_id": grid_id, "walked": walked, **_period(start, end, cover_m)}
    ).scalar_one()
    return cast(dict[str, Any], value)
