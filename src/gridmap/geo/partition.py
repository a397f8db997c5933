"""gridmap.geo.partition: cut a polygon into a gapless, non-overlapping set of parts.

Used to derive community polygons from community points (Voronoi cells clipped to their street)
and grids from buildings (recursive weighted bisection). All inputs are in a metric CRS.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

import shapely
from shapely.geometry import MultiPoint, Point, Polygon, box
from shapely.geometry.base import BaseGeometry


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Only the polygon parts of ``geom`` (an intersection may add stray lines and points)."""
    if geom.is_empty:
        return geom
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [
        g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")
    ]
    return shapely.union_all(parts) if parts else Polygon()


def voronoi_cells(area: BaseGeometry, points: Sequence[Point]) -> list[BaseGeometry]:
    """Split ``area`` into one cell per point: the part of ``area`` nearer it than any other point.

    Examples
    --------
    >>> cells = voronoi_cells(box(0, 0, 10, 10), [Point(2, 5), Point(8, 5)])
    >>> [round(c.area) for c in cells]
    [50, 50]
    >>> round(cells[0].bounds[2], 6)
    5.0
    """
    if not points:
        return []
    if len(points) == 1:
        return [area]
    minx, miny, maxx, maxy = area.bounds
    pad = max(maxx - minx, maxy - miny)
    envelope = box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    diagram = shapely.voronoi_polygons(MultiPoint(list(points)), extend_to=envelope, ordered=True)
    return [polygonal(cell.intersection(area)) for cell in diagram.geoms]


def _cut(geom: BaseGeometry, axis: int, at: float) -> tuple[BaseGeometry, BaseGeometry]:
    minx, miny, maxx, maxy = geom.bounds
    pad = 1.0 + max(maxx - minx, maxy - miny)
    if axis == 0:
        low = box(minx - pad, miny - pad, at, maxy + pad)
        high = box(at, miny - pad, maxx + pad, maxy + pad)
    else:
        low = box(minx - pad, miny - pad, maxx + pad, at)
        high = box(minx - pad, at, maxx + pad, maxy + pad)
    return polygonal(geom.intersection(low)), polygonal(geom.intersection(high))


def _longer_axis(geom: BaseGeometry) -> int:
    minx, miny, maxx, maxy = geom.bounds
    return 0 if (maxx - minx) >= (maxy - miny) else 1


def bisect_by_weight(
    area: BaseGeometry,
    xy: NDArray[np.float64],
    weights: NDArray[np.float64],
    *,
    target: float = 400.0,
    maximum: float = 500.0,
) -> list[BaseGeometry]:
    """Cut ``area`` recursively across its longer side until no part holds more than ``maximum``.

    Each cut goes between two weighted points (buildings with their households), at the place
    that gives the two sides their fair share of the ``round(total / target)`` parts to come, so
    parts end up close to ``target``. A part whose points cannot be separated is left whole.

    Examples
    --------
    >>> xy = np.array([[1.0, 1.0], [2.0, 1.0], [8.0, 1.0], [9.0, 1.0]])
    >>> parts = bisect_by_weight(box(0, 0, 10, 2), xy, np.array([200.0, 200, 200, 200]))
    >>> sorted(round(p.area, 1) for p in parts)
    [10.0, 10.0]
    """
    total = float(weights.sum())
    if total <= maximum or len(weights) < 2:
        return [area]
    parts = max(2, round(total / target))
    while total / parts > maximum:
        parts += 1
    low_parts = parts // 2
    axis = _longer_axis(area)
    order = np.argsort(xy[:, axis], kind="stable")
    coords = xy[order, axis]
    cumulative = np.cumsum(weights[order])
    share = total * low_parts / parts
    index = int(np.searchsorted(cumulative, share))
    index = min(max(index, 0), len(coords) - 2)
    # Move the cut to the nearest gap between distinct coordinates.
    while index < len(coords) - 1 and coords[index + 1] == coords[index]:
        index += 1
    if index >= len(coords) - 1:
        return [area]
    at = (coords[index] + coords[index + 1]) / 2.0
    low, high = _cut(area, axis, at)
    on_low = xy[:, axis] <= at
    result: list[BaseGeometry] = []
    for half, mask in ((low, on_low), (high, ~on_low)):
        if half.is_empty:
            continue
        result += bisect_by_weight(half, xy[mask], weights[mask], target=target, maximum=maximum)
    return result


def bisect_by_area(area: BaseGeometry, *, maximum: float) -> list[BaseGeometry]:
    """Cut ``area`` recursively across its longer side into parts of at most ``maximum`` m².

    Examples
    --------
    >>> sorted(round(p.area) for p in bisect_by_area(box(0, 0, 30, 10), maximum=100))
    [100, 100, 100]
    """
    if area.area <= maximum * (1 + 1e-9):
        return [area]
    parts = math.ceil(area.area / maximum - 1e-9)
    low_parts = parts // 2
    axis = _longer_axis(area)
    lo, hi = area.bounds[axis], area.bounds[axis + 2]
    goal = area.area * low_parts / parts
    for _ in range(40):
        mid = (lo + hi) / 2.0
        if _cut(area, axis, mid)[0].area < goal:
            lo = mid
        else:
            hi = mid
    low, high = _cut(area, axis, (lo + hi) / 2.0)
    return [
        p
        for half in (low, high)
        if not half.is_empty
        for p in bisect_by_area(half, maximum=maximum)
    ]


def absorb_slivers(parts: list[BaseGeometry], *, min_area: float) -> list[BaseGeometry]:
    """Merge each polygon piece under ``min_area`` into the neighbour sharing most edge with it.

    Parts keep their order; a part that loses all its pieces is dropped.
    """
    pieces: list[list[Polygon]] = [
        [g for g in getattr(p, "geoms", [p]) if g.geom_type == "Polygon"] for p in parts
    ]
    changed = True
    while changed:
        changed = False
        for i, own in enumerate(pieces):
            for piece in list(own):
                if piece.area >= min_area:
                    continue
                best, best_len = -1, 0.0
                for j, other in enumerate(pieces):
                    if j == i or not other:
                        continue
                    shared = piece.boundary.intersection(shapely.union_all(other).boundary).length
                    if shared > best_len:
                        best, best_len = j, shared
                if best < 0:
                    # Alone in the world (or only touching itself): keep it if it is the whole part.
                    continue
                own.remove(piece)
                merged = shapely.union_all([*pieces[best], piece])
                pieces[best] = list(getattr(merged, "geoms", [merged]))
                changed = True
    return [shapely.union_all(p) for p in pieces if p]


def node_partition(
    container: BaseGeometry, parts: list[BaseGeometry], *, min_face: float = 0.0
) -> list[BaseGeometry]:
    """Rebuild ``parts`` from one shared set of edges, so neighbours share edges vertex for vertex.

    Parts cut separately disagree at the last bit of their shared edges and at cut ends (a T
    without the vertex on the other side). Here every boundary is noded together and polygonised;
    each face goes to the part that contains it, faces in no part but inside ``container`` (tiny
    gaps) go to the neighbour sharing the longest edge, and each part becomes the union of its
    faces. The result is a valid coverage of ``container`` (``shapely.coverage_is_valid``).

    Examples
    --------
    >>> a, b = box(0, 0, 1, 1), box(1, 0, 2, 1)
    >>> out = node_partition(box(0, 0, 2, 1), [a, b])
    >>> [round(p.area, 6) for p in out], bool(shapely.coverage_is_valid(out))
    ([1.0, 1.0], True)
    """
    lines = shapely.union_all([p.boundary for p in parts] + [container.boundary])
    faces = [f for f in shapely.get_parts(shapely.polygonize([lines])) if f.area > min_face]
    tree = shapely.STRtree(parts)
    owner: list[int] = []
    for face in faces:
        point = face.representative_point()
        hits = [int(i) for i in tree.query(point, predicate="within")]
        owner.append(min(hits) if hits else -1)
    for i, face in enumerate(faces):
        if owner[i] >= 0 or not container.contains(face.representative_point()):
            continue
        best, best_len = -1, 0.0
        for j, other in enumerate(faces):
            if owner[j] < 0:
                continue
            shared = face.boundary.intersection(other.boundary).length
            if shared > best_len:
                best, best_len = owner[j], shared
        owner[i] = best
    groups: dict[int, list[Polygon]] = {}
    for face, k in zip(faces, owner, strict=True):
        if k >= 0:
            groups.setdefault(k, []).append(face)
    return [shapely.union_all(groups[k]) if k in groups else Polygon() for k in range(len(parts))]
