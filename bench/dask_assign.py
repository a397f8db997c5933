"""Bulk assignment on Dask: gridmap's distributed assign against dask-geopandas ``sjoin``.

Run: ``.venv/bin/python bench/dask_assign.py [--points 10000000] [--parts 20] [--grids 10000]``

The reproducible city of ``bench/assign.py`` (seeded Voronoi grids of ~60 vertices over 30 × 30
km near Beijing) and ``--points`` uniform random points over it, written as ``--parts`` GeoParquet
parts (EPSG:4326) under /tmp. On one LocalCluster (``--workers`` processes, one thread each),
each method reads the parts, answers for every point the lowest-coded grid it lies in or on (the
border rule) and writes the points with their grid code as GeoParquet parts:

- gridmap: :func:`gridmap.assign_dask.run` (the grids' index built once by the client and
  scattered to the workers; the build is timed with it);
- dask-geopandas: ``read_parquet`` → ``sjoin(predicate="intersects", how="left")`` with the grids
  as one partition → per partition the lowest grid per point → ``to_parquet``.

Also, for reference, the same per-part gridmap code in one process, part after part. The
answers of all three are checked equal.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import dask_geopandas  # noqa: E402
from assign import SIDE_M, make_city  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import geopandas as gpd  # noqa: E402
import shapely  # noqa: E402

from gridmap import assign_dask  # noqa: E402
from gridmap.assign import GridSet  # noqa: E402
from gridmap.geo.metric import transformer  # noqa: E402
from gridmap.geo.pip import PointIndex  # noqa: E402

ORIGIN = (116.15, 39.85)
WORK = Path("/tmp/gridmap-bench-dask")


def write_points(n: int, parts: int, seed: int, folder: Path) -> None:
    """``n`` uniform points over the city as ``parts`` GeoParquet parts (id, geometry)."""
    rng = np.random.default_rng(seed + 1)
    fwd, back = transformer(4326, 32650), transformer(32650, 4326)
    x0, y0 = fwd.transform(*ORIGIN)
    folder.mkdir(parents=True)
    start = 0
    for i, size in enumerate(np.diff(np.linspace(0, n, parts + 1).astype(int))):
        xy = rng.uniform(0, SIDE_M, (size, 2))
        lon, lat = back.transform(xy[:, 0] + x0, xy[:, 1] + y0)
        gdf = gpd.GeoDataFrame(
            {"id": np.arange(start, start + size, dtype=np.int64)},
            geometry=shapely.points(lon, lat),
            crs="EPSG:4326",
        )
        gdf.to_parquet(folder / f"part.{i:03d}.parquet")
        start += size


def grid_codes(n: int) -> np.ndarray:
    """Grid codes in the order of the grids (the border rule picks the lowest)."""
    return np.array([f"1101080{i:08d}" for i in range(n)], dtype=str)


def gridmap_distributed(
    client: Client, polys: list[object], src: Path, out: Path, shared: Path | None
) -> float:
    """Seconds of :func:`gridmap.assign_dask.run`, the index built first (and saved in
    ``shared`` for the workers to memory-map, else scattered)."""
    started = time.perf_counter()
    codes = grid_codes(len(polys))
    grids = GridSet(
        codes=codes,
        communities=np.array([c[:12] for c in codes]),
        streets=np.array([c[:9] for c in codes]),
        index=PointIndex(polys),
    )
    parts = assign_dask.inspect(assign_dask.find_parts([src]))
    assign_dask.run(client, parts, grids, out, shared=shared)
    return time.perf_counter() - started


def gridmap_one_process(polys: list[object], src: Path, out: Path) -> float:
    """Seconds of the same per-part code in this process, part after part."""
    started = time.perf_counter()
    codes = grid_codes(len(polys))
    grids = GridSet(
        codes=codes,
        communities=np.array([c[:12] for c in codes]),
        streets=np.array([c[:9] for c in codes]),
        index=PointIndex(polys),
    )
    parts = assign_dask.inspect(assign_dask.find_parts([src]))
    out.mkdir()
    for i, f in enumerate(parts.files):
        frame = pq.read_table(f).to_pandas()
        assign_dask.assign_part(frame, grids, parts, str(out / f"part.{i:05d}.parquet"), i, True)
    return time.perf_counter() - started


def dask_geopandas_sjoin(polys: list[object], src: Path, out: Path) -> float:
    """Seconds of dask-geopandas' sjoin on the default client, deduplicated and written."""
    started = time.perf_counter()
    codes = grid_codes(len(polys))
    right = gpd.GeoDataFrame({"grid_code": codes}, geometry=list(polys), crs="EPSG:4326")
    points = dask_geopandas.read_parquet(str(src))
    # dask-geopandas joins inner only: points in no grid are left out of its output.
    joined = dask_geopandas.sjoin(points, dask_geopandas.from_geopandas(right, npartitions=1))

    def lowest(df: pd.DataFrame) -> pd.DataFrame:
        """The border rule: a point on a shared border keeps the lowest grid code."""
        df = df.sort_values(["id", "grid_code"], kind="stable")
        return df[~df["id"].duplicated()].drop(columns=["index_right"])

    joined.map_partitions(lowest).to_parquet(str(out))
    return time.perf_counter() - started


def answers(folder: Path, ids: int) -> pd.DataFrame:
    """Every point's grid code ("" for none) from the parts in ``folder``, by id."""
    frame = pd.concat(
        [
            pq.read_table(f, columns=["id", "grid_code"]).to_pandas()
            for f in sorted(folder.iterdir())
            if f.suffix == ".parquet"
        ],
        ignore_index=True,
    )
    every = pd.DataFrame({"id": np.arange(ids, dtype=np.int64)})
    frame = every.merge(frame, on="id", how="left", validate="one_to_one")
    return frame.fillna({"grid_code": ""}).astype({"grid_code": str})


def main() -> None:
    """Write the points, run the three, check the answers, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000_000)
    ap.add_argument("--parts", type=int, default=20)
    ap.add_argument("--grids", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20261122)
    args = ap.parse_args()

    shutil.rmtree(WORK, ignore_errors=True)
    src = WORK / "points"
    polys, _ = make_city(args.grids, 0, args.seed)
    t = time.perf_counter()
    write_points(args.points, args.parts, args.seed, src)
    print(
        f"city: {args.grids:,} grids, {args.points:,} points in {args.parts} GeoParquet parts "
        f"(written in {time.perf_counter() - t:.1f} s); LocalCluster of {args.workers} "
        "worker processes, one thread each"
    )
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        # Every worker imports what the methods use before anything is timed.
        client.run(lambda: [__import__(m) for m in ("gridmap.assign_dask", "dask_geopandas")])
        (WORK / "index").mkdir()
        times = {
            "gridmap on Dask, index memory-mapped": gridmap_distributed(
                client, polys, src, WORK / "gridmap", WORK / "index"
            ),
            "gridmap on Dask, index scattered": gridmap_distributed(
                client, polys, src, WORK / "scattered", None
            ),
            "dask-geopandas sjoin (+ border rule + write)": dask_geopandas_sjoin(
                polys, src, WORK / "sjoin"
            ),
        }
    times["gridmap, one process, part after part"] = gridmap_one_process(
        polys, src, WORK / "single"
    )
    mine = answers(WORK / "gridmap", args.points)
    scattered = answers(WORK / "scattered", args.points)
    theirs = answers(WORK / "sjoin", args.points)
    single = answers(WORK / "single", args.points)
    agree = (
        mine.equals(theirs)
        and mine.equals(single)
        and mine.equals(scattered)
        and len(mine) == args.points
    )
    hits = int((mine["grid_code"] != "").sum())
    print(f"answers agree: {'yes' if agree else 'NO'} ({hits:,} of {len(mine):,} points in a grid)")
    base = times["dask-geopandas sjoin (+ border rule + write)"]
    print(f"{'method':<46} {'seconds':>9} {'points/s':>12} {'vs sjoin':>9}")
    for name, s in times.items():
        print(f"{name:<46} {s:9.2f} {args.points / s:12,.0f} {base / s:8.1f}x")
    shutil.rmtree(WORK, ignore_errors=True)
    if not agree:
        sys.exit(1)


if __name__ == "__main__":
    main()
