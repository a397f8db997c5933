"""gridmap.geo.pip.PointIndex answers exactly what a shapely STRtree ``intersects`` query does,
keeping the first polygon hit (the border rule), on random points and on every vertex and edge."""

from __future__ import annotations

import numpy as np
import pytest

import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Polygon, box

from gridmap.geo.pip import PointIndex


def reference(polygons: list[object], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    tree = shapely.STRtree(polygons)
    pts, polys = tree.query(shapely.points(x, y), predicate="intersects")
    best = np.full(len(x), len(polygons))
    np.minimum.at(best, pts, polys)
    return np.where(best < len(polygons), best, -1)


def city(n: int, seed: int, vertices: int = 60) -> list[Polygon]:
    rng = np.random.default_rng(seed)
    seeds = rng.uniform(0, 1000, (n, 2))
    frame = box(0, 0, 1000, 1000)
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=frame, ordered=True)
    return [shapely.segmentize(c.intersection(frame), c.length / vertices) for c in cells.geoms]


def probes(polygons: list[object], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random points over (and beyond) the polygons, every vertex, every edge midpoint."""
    rng = np.random.default_rng(seed)
    west, south, east, north = shapely.total_bounds(np.array(polygons, dtype=object))
    rand = rng.uniform([west - 5, south - 5], [east + 5, north + 5], (50_000, 2))
    coords = shapely.get_coordinates(np.array(polygons, dtype=object))
    mids = (coords[1:] + coords[:-1]) / 2
    pts = np.vstack([rand, coords, mids])
    return pts[:, 0], pts[:, 1]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_voronoi_city_matches_strtree(seed: int) -> None:
    polygons = city(300, seed)
    x, y = probes(polygons, seed)
    index = PointIndex(polygons)
    assert not index.overlapping
    np.testing.assert_array_equal(index.locate(x, y), reference(polygons, x, y))


def test_shared_borders_and_corners_go_to_the_first() -> None:
    # A 4×4 grid of unit squares on round coordinates: borders lie on raster lines.
    squares = [box(i, j, i + 1, j + 1) for j in range(4) for i in range(4)]
    index = PointIndex(squares, cell=0.25)
    got = index.locate([1.0, 1.0, 2.0, 0.5, 4.0, 4.0001, 0.0], [0.5, 1.0, 2.0, 1.0, 4.0, 2, 0.0])
    assert got.tolist() == [0, 0, 5, 0, 15, -1, 0]
    grid = np.linspace(-0.5, 4.5, 81)
    gx, gy = np.meshgrid(grid, grid)
    np.testing.assert_array_equal(
        index.locate(gx.ravel(), gy.ravel()), reference(squares, gx.ravel(), gy.ravel())
    )


def test_holes_multipolygons_and_priority() -> None:
    ring = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(3, 3), (7, 3), (7, 7), (3, 7)]])
    islands = MultiPolygon([box(4, 4, 6, 6), box(20, 0, 22, 2)])
    polygons = [islands, ring]  # the islands come first: they win on shared borders
    x, y = probes(polygons, 7)
    index = PointIndex(polygons, cell=0.7)
    np.testing.assert_array_equal(index.locate(x, y), reference(polygons, x, y))
    assert index.locate([5, 1, 21, 15], [5, 1, 1, 5]).tolist() == [0, 1, 0, -1]


@pytest.mark.parametrize("shift", [3.0, 0.0004])
def test_overlapping_polygons_stay_exact(shift: float) -> None:
    # Wide overlaps (a clean cell inside two polygons) and hairline ones.
    polygons = city(80, 5)
    polygons[10] = shapely.affinity.translate(polygons[10], shift, shift)
    polygons[40] = polygons[40].buffer(shift)
    x, y = probes(polygons, 5)
    index = PointIndex(polygons)
    np.testing.assert_array_equal(index.locate(x, y), reference(polygons, x, y))


def test_empty_nan_and_far_points() -> None:
    assert PointIndex([]).locate([1.0], [2.0]).tolist() == [-1]
    index = PointIndex([box(0, 0, 1, 1)])
    assert index.locate([np.nan, 1e9, -1e9, 0.5], [0.5, 0.5, 0.5, np.nan]).tolist() == [-1] * 4
    assert index.locate([], []).tolist() == []
    with pytest.raises(ValueError, match="length"):
        index.locate([1.0, 2.0], [1.0])


def test_large_inputs_are_chunked_the_same() -> None:
    polygons = city(200, 9)
    rng = np.random.default_rng(9)
    pts = rng.uniform(0, 1000, (120_000, 2))
    index = PointIndex(polygons)
    np.testing.assert_array_equal(
        index.locate(pts[:, 0], pts[:, 1]), reference(polygons, pts[:, 0], pts[:, 1])
    )
