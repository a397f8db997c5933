"""gridmap.queries.org_checks: the SQL of the organisation's checks (warnings, never errors).

Each function reads one family of checks for every grid, building or household of a region in a
single statement (a region is a code prefix: '' is everywhere) and returns rows with the
object's GeoJSON geometry. The rules — which rows are warnings, with which figures — are
:mod:`gridmap.services.org_checks`'. The statements are written as SQL text: they are grouped
aggregates over CTEs shared within one statement, which read more plainly as SQL than as
expression trees, with every value bound.

A building's households are the ``household`` rows recorded for it, or the number on the
building where none are (as the service-coverage figures count them), and a grid's households
the sum over the buildings whose derived grid it is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

# The current grids of a region.
_GRIDS = """
g AS (
    SELECT code, name, kind, community_code, geom FROM grid
    WHERE valid_to IS NULL AND left(code, length(:r)) = :r
)"""
# Every building's households (recorded rows, else the building's own number).
_BUILDING_HOUSEHOLDS = """
hh AS (SELECT building_id, count(*) AS n FROM household GROUP BY building_id),
bh AS (
    SELECT b.id, b.grid_code, coalesce(b.community_code, left(b.grid_code, 12)) AS community_code,
           coalesce(nullif(hh.n, 0), b.households, 0) AS n, b.geom, b.address
    FROM building b LEFT JOIN hh ON hh.building_id = b.id
)"""

_TEAMS = text(
    f"""
WITH {_GRIDS}
SELECT g.code, g.community_code, ST_AsGeoJSON(g.geom, 7) AS geometry,
       NOT EXISTS (SELECT FROM grid_staff s WHERE s.grid_code = g.code AND s.role = 'leader')
           AS no_leader,
       NOT EXISTS (SELECT FROM grid_staff s WHERE s.grid_code = g.code AND s.role = 'worker')
           AS no_worker,
       NOT EXISTS (SELECT FROM party_org_grid pg WHERE pg.grid_code = g.code) AS no_branch
FROM g
ORDER BY g.code
"""
)


def grid_teams(session: Session, *, region: str) -> list[Any]:
    """Per current grid of ``region``: whether it lacks a leader, a worker, a Party branch."""
    return list(session.execute(_TEAMS, {"r": region}))


_LEADERS = text(
    f"""
WITH {_GRIDS},
led AS (
    SELECT s.person_id, s.grid_code
    FROM grid_staff s JOIN grid cg ON cg.code = s.grid_code AND cg.valid_to IS NULL
    WHERE s.role = 'leader'
),
many AS (SELECT person_id, count(*) AS n FROM led GROUP BY person_id HAVING count(*) > :max)
SELECT g.code, g.community_code, ST_AsGeoJSON(g.geom, 7) AS geometry, many.person_id, many.n
FROM many JOIN led ON led.person_id = many.person_id JOIN g ON g.code = led.grid_code
ORDER BY many.person_id, g.code
"""
)


def busy_leaders(session: Session, *, region: str, most: int) -> list[Any]:
    """The grids of ``region`` led by a person who leads more than ``most`` current grids
    (anywhere), with the person and how many."""
    return list(session.execute(_LEADERS, {"r": region, "max": most}))


_SIZES = text(
    f"""
WITH {_GRIDS}, {_BUILDING_HOUSEHOLDS}
SELECT g.code, g.community_code, ST_AsGeoJSON(g.geom, 7) AS geometry,
       coalesce(sum(bh.n), 0)::int AS n
FROM g LEFT JOIN bh ON bh.grid_code = g.code
WHERE g.kind = 'basic'
GROUP BY g.code, g.community_code, g.geom
HAVING coalesce(sum(bh.n), 0) < :min OR coalesce(sum(bh.n), 0) > :max
ORDER BY g.code
"""
)


def grid_sizes(session: Session, *, region: str, least: int, most: int) -> list[Any]:
    """The basic grids of ``region`` holding fewer than ``least`` or more than ``most``
    households, with how many."""
    return list(session.execute(_SIZES, {"r": region, "min": least, "max": most}))


_UNGROUPED = text(
    f"""
WITH {_BUILDING_HOUSEHOLDS}
SELECT bh.id, bh.grid_code, bh.community_code, bh.address, bh.n,
       ST_AsGeoJSON(ST_PointOnSurface(bh.geom), 7) AS geometry
FROM bh
WHERE bh.n > 0 AND left(coalesce(bh.grid_code, bh.community_code, ''), length(:r)) = :r
  AND NOT EXISTS (SELECT FROM party_org_building pb WHERE pb.building_id = bh.id)
ORDER BY bh.grid_code, bh.id
"""
)


def ungrouped_buildings(session: Session, *, region: str) -> list[Any]:
    """The buildings of ``region`` with households and no Party group."""
    return list(session.execute(_UNGROUPED, {"r": region}))


_CENTRAL = text(
    """
WITH served AS (
    SELECT served_by AS id, count(*) AS n FROM household
    WHERE served_by IS NOT NULL GROUP BY served_by
)
SELECT h.id, h.group_id, b.grid_code,
       coalesce(b.community_code, left(b.grid_code, 12)) AS community_code,
       coalesce(served.n, 0)::int AS n,
       ST_AsGeoJSON(ST_PointOnSurface(b.geom), 7) AS geometry
FROM household h JOIN building b ON b.id = h.building_id
LEFT JOIN served ON served.id = h.id
WHERE h.designated
  AND left(coalesce(b.grid_code, b.community_code, ''), length(:r)) = :r
  AND (coalesce(served.n, 0) < :min OR coalesce(served.n, 0) > :max)
ORDER BY b.grid_code, h.id
"""
)


def central_sizes(session: Session, *, region: str, least: int, most: int) -> list[Any]:
    """The designated households (党员中心户) of ``region`` serving fewer than ``least`` or more
    than ``most`` households, with how many."""
    return list(session.execute(_CENTRAL, {"r": region, "min": least, "max": most}))


_ORPHAN_POSTS = text(
    """
SELECT s.id, s.grid_code, left(s.grid_code, 12) AS community_code, s.role,
       ST_AsGeoJSON(last.geom, 7) AS geometry
FROM grid_staff s
LEFT JOIN LATERAL (
    SELECT geom FROM grid WHERE grid.code = s.grid_code ORDER BY version DESC LIMIT 1
) last ON true
WHERE left(s.grid_code, length(:r)) = :r
  AND NOT EXISTS (SELECT FROM grid g WHERE g.code = s.grid_code AND g.valid_to IS NULL)
ORDER BY s.grid_code, s.id
"""
)


def orphan_posts(session: Session, *, region: str) -> list[Any]:
    """The posts of ``region`` on grid codes with no current grid (retired by a redraw), with
    the last area of that grid."""
    return list(session.execute(_ORPHAN_POSTS, {"r": region}))


# A designated household is astray when its building's grid is not one its group's branch (the
# group's parent; or the organisation itself, if it is given a branch) is set up in.
_ASTRAY = """
SELECT h.id, h.group_id, h.unit, h.room, b.id AS building_id, b.address, b.grid_code,
       coalesce(b.community_code, left(b.grid_code, 12)) AS community_code,
       o.name AS group_name, ST_AsGeoJSON(ST_PointOnSurface(b.geom), 7) AS geometry
FROM household h
JOIN building b ON b.id = h.building_id
JOIN party_org o ON o.id = h.group_id
WHERE h.designated
  AND NOT EXISTS (
      SELECT FROM party_org_grid pg
      WHERE pg.grid_code = b.grid_code AND pg.org_id IN (o.id, o.parent_id)
  )
  AND {where}
ORDER BY b.grid_code, h.id
"""
_IN_REGION = "left(coalesce(b.grid_code, b.community_code, ''), length(:r)) = :r"


def astray_households(session: Session, *, region: str) -> list[Any]:
    """The designated households of ``region`` whose building lies in a grid that is not among
    their group's branch grids."""
    return list(session.execute(text(_ASTRAY.format(where=_IN_REGION)), {"r": region}))


def astray_in_grid(session: Session, *, grid_code: str) -> list[Any]:
    """:func:`astray_households` whose building lies in grid ``grid_code``."""
    return list(session.execute(text(_ASTRAY.format(where="b.grid_code = :g")), {"g": grid_code}))


_TARGETS = text(
    """
SELECT h.id AS household_id, b.grid_code,
       (SELECT o.id FROM party_org_building pb JOIN party_org o ON o.id = pb.org_id
        WHERE pb.building_id = b.id AND o.kind = 'group' AND o.parent_id = br.id) AS own_group,
       br.id AS branch_id, br.name AS branch_name
FROM household h
JOIN building b ON b.id = h.building_id
LEFT JOIN party_org_grid pg ON pg.grid_code = b.grid_code
LEFT JOIN party_org br ON br.id = pg.org_id
WHERE h.id = ANY(:ids)
"""
)


def targets(session: Session, household_ids: list[int]) -> dict[int, Any]:
    """For each household: its building's grid, the branch of that grid, and the group under
    that branch set up in its building (None when there is none)."""
    return {int(r.household_id): r for r in session.execute(_TARGETS, {"ids": household_ids})}


_GROUP_FITS = text(
    """
SELECT o.id, o.name, o.kind, o.community_code,
       EXISTS (
           SELECT FROM party_org_grid pg
           WHERE pg.grid_code = :grid AND pg.org_id IN (o.id, o.parent_id)
       ) AS fits,
       EXISTS (
           SELECT FROM party_org_building pb WHERE pb.org_id = o.id AND pb.building_id = :building
       ) AS holds
FROM party_org o WHERE o.id = :group
"""
)


def group_fit(session: Session, *, group_id: int, grid_code: str | None, building_id: int) -> Any:
    """A Party organisation, whether its branch is set up in ``grid_code`` (``fits``) and
    whether it holds building ``building_id`` (``holds``); None when no such organisation."""
    return session.execute(
        _GROUP_FITS, {"group": group_id, "grid": grid_code, "building": building_id}
    ).one_or_none()


def names(session: Session, org_ids: list[int]) -> dict[int, str]:
    """The names of Party organisations, by id."""
    rows = session.execute(
        text("SELECT id, name FROM party_org WHERE id = ANY(:ids)"), {"ids": org_ids}
    )
    return {int(r.id): r.name for r in rows}


def lock_households(session: Session, ids: list[int]) -> dict[int, Any]:
    """The households of ``ids`` (id, designated, group_id), locked, by id."""
    rows = session.execute(
        text(
            "SELECT id, designated, group_id FROM household WHERE id = ANY(:ids) "
            "ORDER BY id FOR UPDATE"
        ),
        {"ids": ids},
    )
    return {int(r.id): r for r in rows}


def set_group(session: Session, *, household_id: int, group_id: int) -> None:
    """Put a household in a group."""
    session.execute(
        text("UPDATE household SET group_id = :g WHERE id = :h"),
        {"g": group_id, "h": household_id},
    )
