"""A saved, opened and patched PointIndex answers exactly what a fresh build does, on random
polygons with shared borders (the border rule) and on the demo's real grids."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import shapely
from shapely.geometry import MultiPoint, Polygon, box

from gridmap.geo.pip import PointIndex, read_header


def city(n: int, seed: int, vertices: int = 30) -> list[Polygon]:
    rng = np.random.default_rng(seed)
    seeds = rng.uniform(0, 1000, (n, 2))
    frame = box(0, 0, 1000, 1000)
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=frame, ordered=True)
    return [shapely.segmentize(c.intersection(frame), c.length / vertices) for c in cells.geoms]


def probes(polygons: list[object], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random points, every vertex and every edge midpoint (the shared borders)."""
    rng = np.random.default_rng(seed)
    arr = np.array([p for p in polygons if p is not None], dtype=object)
    rand = rng.uniform(-5, 1005, (20_000, 2))
    coords = shapely.get_coordinates(arr)
    mids = (coords[1:] + coords[:-1]) / 2
    pts = np.vstack([rand, coords, mids])
    return pts[:, 0], pts[:, 1]


def reference(polygons: list[object], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The lowest polygon each point intersects (STRtree), -1 for none; None stands for gone."""
    shapes = [p if p is not None else Polygon() for p in polygons]
    tree = shapely.STRtree(shapes)
    pts, polys = tree.query(shapely.points(x, y), predicate="intersects")
    best = np.full(len(x), len(shapes))
    np.minimum.at(best, pts, polys)
    return np.where(best < len(shapes), best, -1)


@pytest.mark.parametrize("seed", [11, 12])
def test_saved_and_opened_answers_as_built(tmp_path: Path, seed: int) -> None:
    polygons = city(250, seed)
    built = PointIndex(polygons)
    built.save(tmp_path / "idx", seq=41, grids="abc")
    opened = PointIndex.open(tmp_path / "idx")
    x, y = probes(polygons, seed)
    want = reference(polygons, x, y)
    np.testing.assert_array_equal(built.locate(x, y), want)
    np.testing.assert_array_equal(opened.locate(x, y), want)
    # Single points take the array path too and agree.
    for k in range(0, len(x), 997):
        assert opened.locate_one(float(x[k]), float(y[k])) == want[k]
    assert isinstance(opened.labels, np.memmap)
    assert read_header(tmp_path / "idx")["meta"] == {"seq": 41, "grids": "abc"}
    # The polygons rebuilt from the stored edges are the polygons.
    for i in (0, 17, 249):
        assert opened.polygon(i).equals(polygons[i])


def _moved(polygons: list[Polygon], i: int, dx: float) -> list[Polygon | None]:
    """Polygon ``i`` grown into its neighbours by ``dx`` and every neighbour cut back, so the
    borders stay shared."""
    out: list[Polygon | None] = list(polygons)
    grown = polygons[i].buffer(dx, join_style="mitre").intersection(box(0, 0, 1000, 1000))
    out[i] = grown
    for j, p in enumerate(polygons):
        if j != i and p.intersects(grown):
            rest = p.difference(grown)
            out[j] = rest if not rest.is_empty else None
    return out


@pytest.mark.parametrize("opened", [False, True])
def test_patch_equals_a_fresh_build(tmp_path: Path, opened: bool) -> None:
    polygons = city(200, 21)
    index = PointIndex(polygons)
    if opened:
        index.save(tmp_path / "idx")
        index = PointIndex.open(tmp_path / "idx")
    after = _moved(polygons, 57, 9.0)
    changed = {j: after[j] for j in range(len(after)) if after[j] is not polygons[j]}
    assert 2 < len(changed) < 20
    assert index.patch(changed)
    x, y = probes(polygons + [g for g in after if g is not None], 21)
    want = reference(after, x, y)
    np.testing.assert_array_equal(index.locate(x, y), want)
    assert index.patches == 1
    # A second edit on top of the first, then a grid removed altogether.
    again = _moved([g if g is not None else Polygon() for g in after], 120, 5.0)
    changed2 = {j: again[j] for j in range(len(again)) if again[j] is not after[j]}
    changed2[3] = None
    again[3] = None
    assert index.patch(changed2)
    np.testing.assert_array_equal(index.locate(x, y), reference(again, x, y))
    # Saved after patching, opened again: the same answers.
    index.save(tmp_path / "again")
    np.testing.assert_array_equal(
        PointIndex.open(tmp_path / "again").locate(x, y), reference(again, x, y)
    )


def test_patch_outside_the_raster_asks_for_a_rebuild() -> None:
    polygons = [box(0, 0, 1, 1), box(1, 0, 2, 1)]
    index = PointIndex(polygons)
    assert not index.patch({1: box(1, 0, 50, 1)})
    assert index.locate([1.5], [0.5]).tolist() == [1]
    with pytest.raises(IndexError):
        index.patch({5: box(0, 0, 1, 1)})


def test_patched_grid_overlapping_a_neighbour_stays_exact() -> None:
    polygons = city(120, 31)
    index = PointIndex(polygons)
    after: list[Polygon | None] = list(polygons)
    after[40] = polygons[40].buffer(25.0)  # now overlaps its neighbours widely
    assert index.patch({40: after[40]})
    x, y = probes(polygons + [after[40]], 31)
    np.testing.assert_array_equal(index.locate(x, y), reference(after, x, y))


def test_demo_grids_saved_opened_patched(tmp_path: Path) -> None:
    demo = Path(__file__).resolve().parents[1] / "data" / "boundaries"
    features = json.loads((demo / "grids.geojson").read_text())["features"]
    features.sort(key=lambda f: f["properties"].get("code", ""))
    polygons = [shapely.geometry.shape(f["geometry"]) for f in features]
    index = PointIndex(polygons)
    index.save(tmp_path / "demo")
    opened = PointIndex.open(tmp_path / "demo")
    x, y = probes(polygons, 5)
    west, south, east, north = shapely.total_bounds(np.array(polygons, dtype=object))
    rng = np.random.default_rng(5)
    x = np.r_[x, rng.uniform(west - 0.001, east + 0.001, 30_000)]
    y = np.r_[y, rng.uniform(south - 0.001, north + 0.001, 30_000)]
    want = reference(polygons, x, y)
    np.testing.assert_array_equal(opened.locate(x, y), want)
    after: list[Polygon | None] = list(polygons)
    after[0] = shapely.affinity.scale(polygons[0], 0.8, 0.8)
    assert opened.patch({0: after[0]})
    np.testing.assert_array_equal(opened.locate(x, y), reference(after, x, y))


def test_removing_a_polygon_that_fills_its_window() -> None:
    index = PointIndex([box(0, 0, 5, 10), box(7, 0, 10, 10)])
    assert index.locate_one(8.0, 5.0) == 1
    assert index.patch({1: None})
    assert index.locate_one(8.0, 5.0) == -1
    assert index.locate([8.0, 7.0, 2.0], [5.0, 5.0, 5.0]).tolist() == [-1, -1, 0]
    assert index.patch({1: box(6, 0, 10, 10)})
    assert index.locate([8.0, 6.0, 5.5], [5.0, 5.0, 5.0]).tolist() == [1, 1, -1]


@pytest.mark.parametrize("cell", [None, 0.25, 3.0])
def test_single_points_answer_as_the_batch(cell: float | None) -> None:
    # Unit squares (borders on raster lines when the cell is 0.25), and a raster so coarse that
    # almost every cell is a boundary cell.
    squares = [box(i, j, i + 1, j + 1) for j in range(6) for i in range(6)]
    index = PointIndex(squares, cell=cell)
    grid = np.linspace(-0.5, 6.5, 57)
    gx, gy = (a.ravel() for a in np.meshgrid(grid, grid))
    want = reference(squares, gx, gy)
    got = [index.locate_one(float(a), float(b)) for a, b in zip(gx, gy, strict=True)]
    np.testing.assert_array_equal(got, want)
    polygons = city(150, 41)
    index = PointIndex(polygons, cell=cell and cell * 40)
    x, y = probes(polygons, 41)
    sample = np.r_[0 : len(x) : 13]
    got = [index.locate_one(float(x[k]), float(y[k])) for k in sample]
    np.testing.assert_array_equal(got, reference(polygons, x[sample], y[sample]))
