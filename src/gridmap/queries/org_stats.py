"""gridmap.queries.org_stats: the organisation's figures per community or street.

Grids and the branches set up in them, buildings with households and those with a Party group,
designated households (党员中心户) and the households they serve, Party members (by their
organisation's community or the community they registered with, 双报到), in-service members
registered, and hours served. Counted per community, then summed up to the rows asked for, in
one statement (SQL text: a chain of grouped CTEs, every value bound); a member counts once per
row however many of its communities they belong to.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

# ``:r`` the region asked for (a code prefix), ``:level`` the level of the rows.
_FIGURES = text(
    """
WITH rows AS (
    SELECT code, name FROM region
    WHERE level = :level
      AND (left(code, length(:r)) = :r OR left(:r, length(code)) = code)
),
grids AS (
    SELECT g.community_code AS c, count(*) AS grids,
           count(*) FILTER (WHERE EXISTS (
               SELECT FROM party_org_grid pg JOIN party_org o ON o.id = pg.org_id
               WHERE pg.grid_code = g.code AND o.kind = 'branch'
           )) AS grids_with_branch
    FROM grid g WHERE g.valid_to IS NULL AND left(g.code, length(:r)) = :r
    GROUP BY g.community_code
),
branches AS (
    SELECT community_code AS c, count(*) AS branches FROM party_org
    WHERE kind = 'branch' AND left(community_code, length(:r)) = :r
    GROUP BY community_code
),
hh AS (SELECT building_id, count(*) AS n FROM household GROUP BY building_id),
bh AS (
    SELECT b.id, coalesce(b.community_code, left(b.grid_code, 12)) AS c,
           coalesce(nullif(hh.n, 0), b.households, 0) AS n
    FROM building b LEFT JOIN hh ON hh.building_id = b.id
    WHERE left(coalesce(b.community_code, b.grid_code, ''), length(:r)) = :r
),
buildings AS (
    SELECT c, count(*) FILTER (WHERE n > 0) AS with_households,
           count(*) FILTER (WHERE n > 0 AND EXISTS (
               SELECT FROM party_org_building pb WHERE pb.building_id = bh.id
           )) AS with_group
    FROM bh GROUP BY c
),
central AS (
    SELECT coalesce(b.community_code, left(b.grid_code, 12)) AS c,
           count(*) FILTER (WHERE h.designated) AS central,
           count(*) FILTER (WHERE h.served_by IS NOT NULL) AS served
    FROM household h JOIN building b ON b.id = h.building_id
    WHERE left(coalesce(b.community_code, b.grid_code, ''), length(:r)) = :r
    GROUP BY 1
),
per_community AS (
    SELECT c FROM grids UNION SELECT c FROM branches UNION SELECT c FROM buildings
    UNION SELECT c FROM central
),
summed AS (
    SELECT rows.code,
           coalesce(sum(grids.grids), 0) AS grids,
           coalesce(sum(grids.grids_with_branch), 0) AS grids_with_branch,
           coalesce(sum(branches.branches), 0) AS branches,
           coalesce(sum(buildings.with_households), 0) AS buildings_with_households,
           coalesce(sum(buildings.with_group), 0) AS buildings_with_group,
           coalesce(sum(central.central), 0) AS central_households,
           coalesce(sum(central.served), 0) AS households_served
    FROM rows
    LEFT JOIN per_community pc ON left(pc.c, length(rows.code)) = rows.code
    LEFT JOIN grids ON grids.c = pc.c
    LEFT JOIN branches ON branches.c = pc.c
    LEFT JOIN buildings ON buildings.c = pc.c
    LEFT JOIN central ON central.c = pc.c
    GROUP BY rows.code
),
members AS (
    SELECT m.id, m.in_service, m.hours_served, m.registered_community AS rc,
           o.community_code AS oc
    FROM party_member m LEFT JOIN party_org o ON o.id = m.org_id
)
SELECT rows.code, rows.name, s.grids, s.grids_with_branch, s.branches,
       s.buildings_with_households, s.buildings_with_group, s.central_households,
       s.households_served, mem.members, mem.in_service_registered, mem.hours_served
FROM rows JOIN summed s ON s.code = rows.code
LEFT JOIN LATERAL (
    SELECT count(*) AS members,
           count(*) FILTER (
               WHERE m.in_service AND left(m.rc, length(rows.code)) = rows.code
                 AND left(m.rc, length(:r)) = :r
           ) AS in_service_registered,
           coalesce(sum(m.hours_served), 0) AS hours_served
    FROM members m
    WHERE (left(m.oc, length(rows.code)) = rows.code AND left(m.oc, length(:r)) = :r)
       OR (left(m.rc, length(rows.code)) = rows.code AND left(m.rc, length(:r)) = :r)
) mem ON true
ORDER BY rows.code
"""
)


def figures(session: Session, *, region: str, level: str) -> list[Any]:
    """The figures of each region of ``level`` (community or street) in or around ``region``
    (a code prefix; '' for all), counting only what lies in ``region``."""
    return list(session.execute(_FIGURES, {"r": region, "level": level}))
