"""Time the coverage check of a 50-grid community against the same check as a plain PostGIS query.

Run: ``.venv/bin/python bench/coverage.py`` (uses the embedded cluster, or DATABASE_URL's server).

It loads the demo data set into a database of its own, cuts a real community boundary (the one
with the most vertices among those of 1–6 km²) into 50 grids, spoils a few of them (a gap, an
overlap, a spill) so both checks have findings to report, and then times, each the median of
several runs with a warm cache:

- gridmap: ``gridmap.queries.coverage.community_coverage`` — the whole report the API returns:
  gaps, overlaps, spills, invalid shared edges (GEOS coverage functions), buildings in gaps;
- PostGIS: one SQL query doing the same findings with ``ST_Union`` / ``ST_Difference`` /
  ``ST_Intersection`` on geography areas, as one would write it by hand.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

import shapely
from shapely.geometry import Point

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gridmap.database import make_engine, scratch_database  # noqa: E402
from gridmap.geo.partition import voronoi_cells  # noqa: E402
from gridmap.geo.rules import GridRules  # noqa: E402
from gridmap.geo.shapes import as_multipolygon, to_metric  # noqa: E402
from gridmap.loader import load_dataset  # noqa: E402
from gridmap.queries.coverage import community_coverage  # noqa: E402
from gridmap.settings import Settings  # noqa: E402

NAME = "gridmap_bench_coverage"
GRIDS = 50
RUNS = 15

PLAIN_POSTGIS = """
WITH c AS (SELECT geom FROM region WHERE code = :c),
g AS (SELECT code, geom FROM grid WHERE community_code = :c AND valid_to IS NULL),
u AS (SELECT ST_Union(geom) AS geom FROM g),
gaps AS (
    SELECT d.geom FROM c, u, LATERAL ST_Dump(ST_Difference(c.geom, u.geom)) d
    WHERE ST_Area(d.geom::geography) > 1),
pairs AS (
    SELECT a.code AS a, b.code AS b, ST_Intersection(a.geom, b.geom) AS geom
    FROM g a JOIN g b ON a.code < b.code AND ST_Intersects(a.geom, b.geom)),
spills AS (
    SELECT g.code, ST_Difference(g.geom, c.geom) AS geom FROM g, c
    WHERE NOT ST_CoveredBy(g.geom, c.geom))
SELECT
  (SELECT ST_Area(ST_Intersection(c.geom, u.geom)::geography) / ST_Area(c.geom::geography)
   FROM c, u) AS covered_share,
  (SELECT count(*) FROM gaps) AS gaps,
  (SELECT coalesce(sum(ST_Area(geom::geography)), 0) FROM gaps) AS gap_m2,
  (SELECT count(*) FROM pairs WHERE ST_Area(geom::geography) > 1) AS overlaps,
  (SELECT count(*) FROM spills WHERE ST_Area(geom::geography) > 1) AS spills,
  (SELECT count(*) FROM building b, gaps WHERE ST_Intersects(gaps.geom, ST_PointOnSurface(b.geom)))
      AS buildings_in_gaps
"""


def median_time(fn: Callable[[], object]) -> float:
    """Median wall time of ``fn`` over RUNS runs, after one warm-up."""
    fn()
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def pick_community(session: Session) -> str:
    """The demo community of 1–6 km² with the most boundary vertices."""
    return str(
        session.execute(
            text(
                "SELECT code FROM region WHERE level = 'community' AND geom IS NOT NULL "
                "AND ST_Area(geom::geography) BETWEEN 1e6 AND 6e6 "
                "ORDER BY ST_NPoints(geom) DESC, code LIMIT 1"
            )
        ).scalar_one()
    )


def cut_into_grids(session: Session, community: str) -> None:
    """Replace the community's grids with GRIDS Voronoi cells, three of them spoilt."""
    wkb = session.execute(
        text("SELECT ST_AsBinary(geom) FROM region WHERE code = :c"), {"c": community}
    ).scalar_one()
    area = shapely.from_wkb(bytes(wkb))
    [metric], back = to_metric([area])
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = metric.bounds
    points: list[Point] = []
    while len(points) < GRIDS:
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if metric.contains(p):
            points.append(p)
    cells = [back(c) for c in voronoi_cells(metric, points)]
    # Spoil three grids: one shrinks (a gap), one grows into its neighbours (overlaps), one
    # reaches out of the community (a spill).
    cells[0] = cells[0].buffer(-0.0002)
    cells[1] = cells[1].buffer(0.0002)
    edge = next(i for i in range(2, GRIDS) if cells[i].intersects(area.boundary))
    cells[edge] = shapely.union(cells[edge], cells[edge].buffer(0.0005).difference(area))
    session.execute(
        text(
            "UPDATE grid SET valid_to = clock_timestamp() "
            "WHERE community_code = :c AND valid_to IS NULL"
        ),
        {"c": community},
    )
    for i, cell in enumerate(cells, 1):
        session.execute(
            text(
                "INSERT INTO grid (code, community_code, name, geom, valid_from) VALUES "
                "(:code, :c, :name, ST_Multi(ST_GeomFromWKB(:wkb, 4326)), clock_timestamp())"
            ),
            {
                "code": f"{community}{900 - GRIDS + i:03d}",
                "c": community,
                "name": f"bench {i}",
                "wkb": shapely.to_wkb(as_multipolygon(shapely.make_valid(cell))),
            },
        )


def main() -> None:
    """Build the bench database, time both checks, print them and their ratio."""
    settings = Settings()
    with scratch_database(settings.db, NAME) as url:
        engine = make_engine(url)
        load_dataset(engine, settings.api.data_dir, commit=True)
        with Session(engine) as session, session.begin():
            community = pick_community(session)
            cut_into_grids(session, community)
        with Session(engine) as session:
            vertices = session.execute(
                text("SELECT ST_NPoints(geom) FROM region WHERE code = :c"), {"c": community}
            ).scalar_one()
            rules = GridRules()
            ours = community_coverage(session, community=community, rules=rules)
            plain = session.execute(text(PLAIN_POSTGIS), {"c": community}).one()
            t_ours = median_time(
                lambda: community_coverage(session, community=community, rules=rules)
            )
            t_plain = median_time(
                lambda: session.execute(text(PLAIN_POSTGIS), {"c": community}).one()
            )
        engine.dispose()
    print(
        f"community {community}: {GRIDS} grids, boundary of {vertices} vertices, "
        f"median of {RUNS} runs"
    )
    print(
        f"  findings   gridmap: {len(ours['gaps']['features'])} gaps, "
        f"{len(ours['overlaps']['features'])} overlaps, {len(ours['outside']['features'])} "
        f"spills, {len(ours['invalid_edges']['features'])} grids with bad edges, "
        f"covered {ours['covered_share']:.4%}"
    )
    print(
        f"             PostGIS: {plain.gaps} gaps, {plain.overlaps} overlaps, {plain.spills} "
        f"spills, covered {plain.covered_share:.4%}"
    )
    print(f"  gridmap coverage check   {t_ours * 1000:8.1f} ms")
    print(f"  plain PostGIS query      {t_plain * 1000:8.1f} ms")
    print(f"  ratio (PostGIS / gridmap) {t_plain / t_ours:7.2f}x")


if __name__ == "__main__":
    main()
