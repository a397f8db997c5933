"""Bulk assignment of points to grids: gridmap against geopandas, shapely and PostGIS.

Run: ``.venv/bin/python bench/assign.py [--grids 10000] [--points 1000000] [--no-postgis]``

A reproducible city (seeded): ``--grids`` Voronoi grids of about 60 vertices each over a
30 × 30 km square near Beijing, in lon/lat, and ``--points`` uniform random points over it.
Every method answers, for every point, the lowest-numbered grid it lies in or on (the border
rule), and the run checks that all answers agree. Times are wall clock on this machine:

- gridmap: ``PointIndex`` built from the grids (told how many points, as ``gridmap assign``
  tells it), then ``locate`` (both timed, and the query alone); it runs first, so its build is
  the first in the process (cold memory), as in ``gridmap assign``;
- geopandas ``sjoin`` (predicate ``intersects``), keeping the lowest grid per point; its spatial
  index is built inside the timed join (the frames themselves are made beforehand);
- shapely ``STRtree.query`` (predicate ``intersects``), likewise;
- PostGIS: one ``SELECT`` joining the points to the grids through a GiST index (the tables are
  loaded and indexed first, untimed).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import geopandas as gpd  # noqa: E402
import shapely  # noqa: E402
from shapely.geometry import MultiPoint, box  # noqa: E402

from gridmap.geo.metric import transformer  # noqa: E402
from gridmap.geo.pip import PointIndex  # noqa: E402

SIDE_M = 30_000.0
ORIGIN = (116.15, 39.85)  # south-west corner of the city, lon/lat


def make_city(grids: int, points: int, seed: int) -> tuple[list[object], np.ndarray]:
    """Grids (lon/lat polygons, ~60 vertices) and points (n × 2 lon/lat), reproducibly."""
    rng = np.random.default_rng(seed)
    frame = box(0, 0, SIDE_M, SIDE_M)
    seeds = rng.uniform(0, SIDE_M, (grids, 2))
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=frame, ordered=True)
    metric = [shapely.segmentize(c.intersection(frame), c.length / 60) for c in cells.geoms]
    fwd = transformer(4326, 32650)
    x0, y0 = fwd.transform(*ORIGIN)
    back = transformer(32650, 4326)

    def to_lonlat(g: object) -> object:
        return shapely.transform(
            g, lambda xy: np.column_stack(back.transform(xy[:, 0] + x0, xy[:, 1] + y0))
        )

    polys = [to_lonlat(g) for g in metric]
    pts_m = rng.uniform(0, SIDE_M, (points, 2))
    lon, lat = back.transform(pts_m[:, 0] + x0, pts_m[:, 1] + y0)
    return polys, np.column_stack([lon, lat])


def lowest(n_points: int, pts: np.ndarray, polys: np.ndarray, n_polys: int) -> np.ndarray:
    """For each point, the lowest polygon index among its hits (-1 for none)."""
    best = np.full(n_points, n_polys, dtype=np.int64)
    np.minimum.at(best, pts, polys)
    return np.where(best < n_polys, best, -1)


def run_postgis(polys: list[object], pts: np.ndarray) -> tuple[float, np.ndarray]:
    """Time the join in a database of its own; return (seconds, answers)."""
    from sqlalchemy import text

    from gridmap.database import make_engine, scratch_database
    from gridmap.settings import Settings

    with scratch_database(Settings().db, "gridmap_bench_assign", migrated=False) as url:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            conn.execute(text("CREATE TABLE g (i int PRIMARY KEY, geom geometry(Polygon, 4326))"))
            conn.execute(text("CREATE TABLE p (i int PRIMARY KEY, geom geometry(Point, 4326))"))
            raw = conn.connection.dbapi_connection
            with raw.cursor() as cur:  # type: ignore[union-attr]
                buf = io.StringIO()
                for i, wkb in enumerate(
                    shapely.to_wkb(
                        shapely.set_srid(np.array(polys), 4326), hex=True, include_srid=True
                    )
                ):
                    buf.write(f"{i}\t{wkb}\n")
                with cur.copy("COPY g (i, geom) FROM STDIN") as cp:
                    cp.write(buf.getvalue())
                with cur.copy("COPY p (i, geom) FROM STDIN") as cp:
                    for start in range(0, len(pts), 100_000):
                        chunk = pts[start : start + 100_000]
                        cp.write(
                            "".join(
                                f"{start + k}\tSRID=4326;POINT({float(x)!r} {float(y)!r})\n"
                                for k, (x, y) in enumerate(chunk)
                            )
                        )
            conn.execute(text("CREATE INDEX ON g USING gist (geom)"))
            conn.execute(text("ANALYZE g; ANALYZE p"))
        with engine.connect() as conn:
            t = time.perf_counter()
            rows = conn.execute(
                text(
                    "SELECT p.i, (SELECT min(g.i) FROM g WHERE ST_Intersects(g.geom, p.geom)) "
                    "FROM p ORDER BY p.i"
                )
            ).all()
            took = time.perf_counter() - t
        engine.dispose()
        found = np.array([-1 if r[1] is None else r[1] for r in rows], dtype=np.int64)
        return took, found


def main() -> None:
    """Build the city, run every method, check they agree, print throughput and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grids", type=int, default=10_000)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--no-postgis", action="store_true")
    args = ap.parse_args()

    polys, pts = make_city(args.grids, args.points, args.seed)
    n = len(pts)
    vertices = float(np.mean(shapely.get_num_coordinates(np.array(polys))))
    print(
        f"city: {len(polys):,} grids ({vertices:.0f} vertices each on average), "
        f"{n:,} points, seed {args.seed}"
    )
    results: dict[str, tuple[float, np.ndarray]] = {}

    t = time.perf_counter()
    index = PointIndex(polys, points=n)  # as `gridmap assign` builds it: sized for the points
    built = time.perf_counter() - t
    t = time.perf_counter()
    ours = index.locate(pts[:, 0], pts[:, 1])
    queried = time.perf_counter() - t
    results["gridmap PointIndex (build + query)"] = (built + queried, ours)
    results["gridmap PointIndex (query, index built)"] = (queried, ours)

    grid_frame = gpd.GeoDataFrame({"i": np.arange(len(polys))}, geometry=polys, crs=4326)
    point_frame = gpd.GeoDataFrame(geometry=gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs=4326)
    t = time.perf_counter()
    joined = gpd.sjoin(point_frame, grid_frame, predicate="intersects", how="inner")
    sj = lowest(n, joined.index.to_numpy(), joined["i"].to_numpy(), len(polys))
    results["geopandas sjoin"] = (time.perf_counter() - t, sj)

    t = time.perf_counter()
    tree = shapely.STRtree(np.array(polys))
    a, b = tree.query(shapely.points(pts), predicate="intersects")
    st = lowest(n, a, b, len(polys))
    results["shapely STRtree"] = (time.perf_counter() - t, st)

    if not args.no_postgis:
        results["PostGIS join (GiST)"] = run_postgis(polys, pts)

    reference = results["shapely STRtree"][1]
    agree = all(np.array_equal(found, reference) for _s, found in results.values())
    inside = int((reference >= 0).sum())
    print(f"answers agree: {'yes' if agree else 'NO'} ({inside:,} points in a grid)")
    base = results["geopandas sjoin"][0]
    print(f"{'method':42} {'seconds':>9} {'points/s':>12} {'vs sjoin':>9}")
    for name, (secs, _found) in results.items():
        print(f"{name:42} {secs:9.3f} {n / secs:12,.0f} {base / secs:8.1f}x")
    ratio = base / results["gridmap PointIndex (build + query)"][0]
    print(
        f"goal (build + query at least 10x sjoin, both in this fresh process): {ratio:.1f}x, "
        f"{'met' if ratio >= 10 else 'not met'}"
    )
    if not agree:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
