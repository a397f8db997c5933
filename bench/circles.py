"""15-minute service circles of 50 centres on the demo walking network: pgRouting against networkx.

Run: ``.venv/bin/python bench/circles.py`` (needs the dev extras: ``pip install -e '.[dev]'``).

It loads the demo data set into a database of its own, picks 50 reproducible centres 20 m off
randomly chosen walkable streets, and draws each one's circle twice, with the same rules and the
same polygon step (:mod:`gridmap.geo.isochrone`):

- gridmap: ``gridmap.services.circles.reach_many`` — the nearest streets of all centres in one
  query, the walkable edges around them read once into memory (a ``WalkGraph``) and walked from
  every centre with scipy's Dijkstra, then the walked pieces and the polygon;
- gridmap before: ``gridmap.queries.circles.pgrouting_reach`` per centre — nearest street and
  ``pgr_drivingDistance`` in PostGIS (which reads and builds its graph for every call);
- networkx: the walking graph read from the same table once, the nearest street found with a
  shapely ``STRtree``, then per centre the junctions within the walk with their costs from
  ``single_source_dijkstra_path_length`` (the search ``nx.ego_graph(distance="length")`` runs;
  ``ego_graph`` itself returns only the reached subgraph, not the costs the partly walked
  streets need, so it is timed on its own line), then the same walked pieces and polygon.

The answers are compared (area of the symmetric difference; the junctions reached); the times
are totals over the 50, the fastest of 3 rounds. Then the network part alone: the in-memory
walk against one ``pgr_drivingDistance`` call with all 50 starts; and a single centre's circle
(what an edit through the API computes), median over the 50, new against before.
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
from gridmap.queries.circles import (  # noqa: E402
    nearest_streets,
    pgrouting_reach,
    pgrouting_reached,
    walk_box,
    walkable,
)
from gridmap.services.circles import reach, reach_many, reached  # noqa: E402
from gridmap.settings import Settings  # noqa: E402

NAME = "gridmap_bench_circles"
CENTRES = 50
ROUNDS = 3


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

            points = [back.transform(c.x, c.y) for c in centres]
            same_nodes = sum(
                _same(a, b)
                for a, b in zip(
                    reached(session, points=points, rules=rules),
                    [pgrouting_reached(session, lon=x, lat=y, rules=rules) for x, y in points],
                    strict=True,
                )
            )
            walk_seconds, pgr_one_call = _network_only(session, points, rules)

            single_new, single_old = [], []
            for x, y in points:
                t = time.perf_counter()
                reach(session, lon=x, lat=y, rules=rules)
                single_new.append(time.perf_counter() - t)
                t = time.perf_counter()
                pgrouting_reach(session, lon=x, lat=y, rules=rules)
                single_old.append(time.perf_counter() - t)

            t = time.perf_counter()
            graph = nx.Graph()
            lines = []
            for e in edges:
                graph.add_edge(e.source, e.target, length=e.length_m)
                lines.append(_project(there.transform, shapely.from_wkb(bytes(e.wkb))))
            tree = shapely.STRtree(lines)
            load_seconds = time.perf_counter() - t

            # The three take turns, ROUNDS times; the fastest round of each counts (the machine
            # is shared, and a slow round says more about the neighbours than about the code).
            pg_times, before_times, nx_times = [], [], []
            for _ in range(ROUNDS):
                t = time.perf_counter()
                ours = reach_many(session, points=points, rules=rules)
                pg_times.append(time.perf_counter() - t)
                t = time.perf_counter()
                before = [pgrouting_reach(session, lon=x, lat=y, rules=rules) for x, y in points]
                before_times.append(time.perf_counter() - t)
                t = time.perf_counter()
                theirs, ego_nodes, ego_seconds = _networkx(
                    graph, tree, edges, lines, centres, rules
                )
                nx_times.append(time.perf_counter() - t - ego_seconds)
            pg_seconds, before_seconds, nx_seconds = min(pg_times), min(before_times), min(nx_times)
        engine.dispose()

    network = sum(1 for o in ours if o["method"] == "network")
    diffs = _differences(ours, theirs, there)
    old_diffs = _differences(
        ours, [_project(there.transform, b["geom"]) for b in before], there, methods=before
    )
    print(
        f"{CENTRES} centres on the demo walking network ({len(edges):,} edges), "
        f"{rules.minutes} min at {rules.speed_kmh} km/h ({budget:.0f} m); {network} drawn over the "
        f"network, {CENTRES - network} as buffers (street fragments)"
    )
    print(
        f"  gridmap against networkx: area difference median {float(np.median(diffs)):.4%}, "
        f"largest {max(diffs, default=0):.4%} of a circle"
    )
    print(
        f"  gridmap against before:   area difference median {float(np.median(old_diffs)):.4%}, "
        f"largest {max(old_diffs, default=0):.4%}; same methods: "
        f"{all(o['method'] == b['method'] for o, b in zip(ours, before, strict=True))}; "
        f"same junctions reached: {same_nodes} of {CENTRES}"
    )
    print(f"  gridmap (one walk of all centres + polygon)  {pg_seconds:7.3f} s")
    print(f"  gridmap before (pgRouting per centre)        {before_seconds:7.3f} s")
    print(f"  networkx Dijkstra + the same polygon         {nx_seconds:7.3f} s")
    print(f"  networkx: reading the graph once             {load_seconds:7.3f} s")
    total = nx_seconds + load_seconds
    print(f"  ratio (networkx incl. reading / gridmap)     {total / pg_seconds:7.2f}x")
    print(f"  ratio (before / gridmap)                     {before_seconds / pg_seconds:7.2f}x")
    print(
        f"  networkx ego_graph alone (reached set only)  {ego_seconds:7.3f} s "
        f"({ego_nodes:,} junctions in all)"
    )
    print("network part only (junctions and costs of all 50 walks):")
    print(f"  in-memory walk (read edges, graph, Dijkstra) {walk_seconds:7.3f} s")
    print(f"  pgr_drivingDistance, one call, 50 starts     {pgr_one_call:7.3f} s")
    print("a single centre's circle (an edit through the API), median of 50:")
    new_ms, old_ms = 1000 * float(np.median(single_new)), 1000 * float(np.median(single_old))
    print(f"  gridmap                                      {new_ms:7.1f} ms")
    print(f"  gridmap before (pgRouting)                   {old_ms:7.1f} ms")
    print(f"  ratio (before / gridmap)                     {old_ms / new_ms:7.2f}x")


def _networkx(graph, tree, edges, lines, centres, rules):  # type: ignore[no-untyped-def]
    """Each centre's circle with networkx: its nearest street, the Dijkstra, the same polygon."""
    import networkx as nx

    budget = rules.budget_m
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
        theirs.append(street_polygon(pieces, street_m=rules.street_m, hole_m2=rules.hole_m2))
    return theirs, ego_nodes, ego_seconds


def _same(a: dict[int, float], b: dict[int, float]) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-6 for k in a)


def _differences(ours, theirs, there, methods=None):  # type: ignore[no-untyped-def]
    out = []
    for i, (o, poly) in enumerate(zip(ours, theirs, strict=True)):
        if o["method"] != "network" or (methods and methods[i]["method"] != "network"):
            continue
        mine = _project(there.transform, o["geom"])
        out.append(mine.symmetric_difference(poly).area / max(poly.area, 1.0))
    return out


def _network_only(session, points, rules):  # type: ignore[no-untyped-def]
    """The junctions and costs of every walk: in memory, and by one pgRouting call."""
    t = time.perf_counter()
    reached(session, points=points, rules=rules)
    walk_seconds = time.perf_counter() - t
    t = time.perf_counter()
    nearest = nearest_streets(session, points=points, snap_m=rules.snap_m)
    boxes = np.array([walk_box(x, y, rules.budget_m) for x, y in points])
    w, s = float(boxes[:, 0].min()), float(boxes[:, 1].min())
    e, n = float(boxes[:, 2].max()), float(boxes[:, 3].max())
    parts = [
        "SELECT id, source, target, length_m AS cost, length_m AS reverse_cost FROM road_edge "
        f"WHERE {walkable()} AND length_m > 0 AND geom && ST_MakeEnvelope({w!r}, {s!r}, {e!r}, "
        f"{n!r}, 4326)"
    ]
    starts = []
    for k, near in enumerate(nearest, start=1):
        if near is None:
            continue
        along = near.f * near.length_m
        to_s, to_t = near.d + along, near.d + near.length_m - along
        parts.append(f"SELECT {-2 * k}, {-k}, {int(near.source)}, {to_s!r}, {to_s!r}")
        parts.append(f"SELECT {-2 * k - 1}, {-k}, {int(near.target)}, {to_t!r}, {to_t!r}")
        starts.append(-k)
    session.execute(
        text("SELECT count(*) FROM pgr_drivingDistance(:edges, :starts, :budget, false)"),
        {"edges": " UNION ALL ".join(parts), "starts": starts, "budget": rules.budget_m},
    ).scalar_one()
    return walk_seconds, time.perf_counter() - t


if __name__ == "__main__":
    main()
