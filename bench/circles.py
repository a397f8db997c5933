"""15-minute service circles of 50 centres on the demo walking network: pgRouting against networkx.

Run: ``.venv/bin/python bench/circles.py`` (needs the dev extras: ``pip install -e '.[dev]'``).

It loads the demo data set into a database of its own, picks 50 reproducible centres 20 m off
randomly chosen walkable streets, and draws each one's circle twice, with the same rules and the
same polygon step (:mod:`gridmap.geo.isochrone`):

- gridmap: ``gridmap.queries.circles.reach`` — nearest street and ``pgr_drivingDistance`` in
  PostGIS, then the walked pieces and the polygon;
- networkx: the walking graph read from the same table once, the nearest street found with a
  shapely ``STRtree``, then per centre the junctions within the walk with their costs from
  ``single_source_dijkstra_path_length`` (the search ``nx.ego_graph(distance="length")`` runs;
  ``ego_graph`` itself returns only the reached subgraph, not the costs the partly walked
  streets need, so it is timed on its own line), then the same walked pieces and polygon.

Both answers are compared (area of the symmetric difference); the times are totals over the 50.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

import shapely
from shapely.geometry import LineString, Point

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gridmap.database import make_engine, scratch_database  # noqa: E402
from gridmap.geo.isochrone import (  # noqa: E402
    CircleRules,
    around_point,
    street_polygon,
    walked_pieces,
)
from gridmap.geo.metric import transformer, utm_epsg  # noqa: E402
from gridmap.loader import load_dataset  # noqa: E402
from gridmap.queries.circles import reach, walkable  # noqa: E402
from gridmap.settings import Settings  # noqa: E402

NAME = "gridmap_bench_circles"
CENTRES = 50


def _project(fn, geom):  # type: ignore[no-untyped-def]
    return shapely.transform(geom, lambda xy: np.column_stack(fn(xy[:, 0], xy[:, 1])))


def main() -> None:
    """Load the demo, draw 50 circles both ways, print times, the ratio and the agreement."""
    import networkx as nx

    settings = Settings()
    rules = CircleRules()
    budget = rules.budget_m
    with scratch_database(settings.db, NAME) as url:
        engine = make_engine(url)
        load_dataset(engine, settings.api.data_dir, commit=True)
        with Session(engine) as session:
            edges = session.execute(
                text(
                    "SELECT id, source, target, length_m, ST_AsBinary(geom) AS wkb FROM road_edge "
                    f"WHERE {walkable()} AND length_m > 0 "
                    "ORDER BY id"
                )
            ).all()
            lon0, lat0 = session.execute(
                text(
                    "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)) c "
                    "FROM road_edge) x"
                )
            ).one()
            epsg = utm_epsg(lon0, lat0)
            there, back = transformer(4326, epsg), transformer(epsg, 4326)
            rng = np.random.default_rng(20261122)
            centres = []
            for i in rng.choice(len(edges), CENTRES, replace=False):
                line = _project(there.transform, shapely.from_wkb(bytes(edges[i].wkb)))
                mid = line.interpolate(0.5, normalized=True)
                centres.append(Point(mid.x, mid.y + 20.0))

            t = time.perf_counter()
            ours = []
            for c in centres:
                lon, lat = back.transform(c.x, c.y)
                ours.append(reach(session, lon=lon, lat=lat, rules=rules))
            pg_seconds = time.perf_counter() - t

            t = time.perf_counter()
            graph = nx.Graph()
            lines = []
            for e in edges:
                graph.add_edge(e.source, e.target, length=e.length_m)
                lines.append(_project(there.transform, shapely.from_wkb(bytes(e.wkb))))
            tree = shapely.STRtree(lines)
            load_seconds = time.perf_counter() - t

            t = time.perf_counter()
            theirs = []
            ego_nodes = 0
            ego_seconds = 0.0
            for c in centres:
                k = int(tree.query_nearest(c, all_matches=False)[0])
                e, line = edges[k], lines[k]
                along = line.project(c) / line.length * e.length_m
                d = line.distance(c)
                g = graph
                g.add_edge(-1, e.source, length=d + along)
                g.add_edge(-1, e.target, length=d + e.length_m - along)
                t_ego = time.perf_counter()
                ego_nodes += nx.ego_graph(g, -1, radius=budget, distance="length").number_of_nodes()
                ego_seconds += time.perf_counter() - t_ego
                cost = nx.single_source_dijkstra_path_length(g, -1, cutoff=budget, weight="length")
                g.remove_node(-1)
                touched = []
                for j, other in enumerate(edges):
                    cs, ct = cost.get(other.source), cost.get(other.target)
                    if cs is None and ct is None:
                        continue
                    a = 0.0 if cs is None else max(0.0, min(1.0, (budget - cs) / other.length_m))
                    b = 0.0 if ct is None else max(0.0, min(1.0, (budget - ct) / other.length_m))
                    touched.append((lines[j], a, b))
                pieces = walked_pieces(touched)
                foot = line.interpolate(line.project(c))
                if d > 0:
                    pieces.append(LineString([c, foot]))
                both = around_point(line, foot, budget - d)
                if both is not None:
                    pieces.append(both)
                theirs.append(
                    street_polygon(pieces, street_m=rules.street_m, hole_m2=rules.hole_m2)
                )
            nx_seconds = time.perf_counter() - t - ego_seconds
        engine.dispose()

    network = sum(1 for o in ours if o["method"] == "network")
    diffs = []
    for o, poly in zip(ours, theirs, strict=True):
        if o["method"] != "network":
            continue
        mine = _project(there.transform, o["geom"])
        diffs.append(mine.symmetric_difference(poly).area / max(poly.area, 1.0))
    print(
        f"{CENTRES} centres on the demo walking network ({len(edges):,} edges), "
        f"{rules.minutes} min at {rules.speed_kmh} km/h ({budget:.0f} m); {network} drawn over the "
        f"network, {CENTRES - network} as buffers (street fragments)"
    )
    print(
        f"  answers agree: area difference median {float(np.median(diffs)):.4%}, "
        f"largest {max(diffs, default=0):.4%} of a circle"
    )
    print(f"  gridmap (pgRouting in PostGIS + polygon)   {pg_seconds:7.3f} s")
    print(f"  networkx Dijkstra + the same polygon       {nx_seconds:7.3f} s")
    print(f"  networkx: reading the graph once           {load_seconds:7.3f} s")
    total = nx_seconds + load_seconds
    print(f"  ratio (networkx incl. reading / gridmap)   {total / pg_seconds:7.2f}x")
    print(
        f"  networkx ego_graph alone (reached set only) {ego_seconds:7.3f} s "
        f"({ego_nodes:,} junctions in all)"
    )


if __name__ == "__main__":
    main()
