"""gridmap.geo.edits: the shapes of a merge (two grids made one) and a split (one cut in two).

Both keep every vertex they can: the union of two neighbours drops only their shared border,
and the two halves of a split share the cut vertex for vertex, so neither leaves a T-junction.
"""

from __future__ import annotations

import numpy as np

import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import split

from gridmap.errors import Conflict, InvalidGeometry
from gridmap.geo import coverage as cov
from gridmap.geo.partition import polygonal


def shared_border_m(a: BaseGeometry, b: BaseGeometry, frame: cov.Frame = cov.METRIC) -> float:
    """How long (m) the border ``a`` and ``b`` share is; 0 when they meet at points only.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> shared_border_m(box(0, 0, 1, 1), box(1, 0, 2, 1)), shared_border_m(box(0, 0, 1, 1),
    ...     box(1, 1, 2, 2))
    (1.0, 0.0)
    """
    common = shapely.intersection(a.boundary, b.boundary)
    return float(frame.to_metric(common).length) if not common.is_empty else 0.0


def merged(
    a: BaseGeometry,
    b: BaseGeometry,
    *,
    tolerance_m2: float,
    sliver_m: float,
    frame: cov.Frame = cov.METRIC,
) -> MultiPolygon:
    """The union of neighbours ``a`` and ``b``, without the hairline holes that floating-point
    error leaves along their old border (dropping a hole moves no vertex); 409 when they share
    no border longer than a point.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> merged(box(0, 0, 1, 1), box(1, 0, 2, 1), tolerance_m2=0.01, sliver_m=0.01).bounds
    (0.0, 0.0, 2.0, 1.0)
    >>> merged(box(0, 0, 1, 1), box(1, 1, 2, 2), tolerance_m2=0.01, sliver_m=0.01)
    Traceback (most recent call last):
    ...
    gridmap.errors.Conflict: the two grids do not share a border (they meet at a point at most)
    """
    if shared_border_m(a, b, frame) <= 0.01:
        raise Conflict("the two grids do not share a border (they meet at a point at most)")
    union = polygonal(shapely.union(a, b))
    out = []
    for part in getattr(union, "geoms", [union]):
        holes = [
            ring
            for ring in part.interiors
            if cov.significant(
                Polygon(ring), tolerance_m2=tolerance_m2, sliver_m=sliver_m, frame=frame
            )
        ]
        out.append(Polygon(part.exterior, holes))
    return MultiPolygon(out)


def _reach(line: LineString, end: int, by: float) -> LineString:
    """``line`` with its first (``end`` 0) or last (-1) point moved ``by`` further out."""
    xy = np.asarray(line.coords, dtype=float)
    tip, prev = (xy[0], xy[1]) if end == 0 else (xy[-1], xy[-2])
    step = tip - prev
    norm = float(np.hypot(*step))
    if norm == 0:
        return line
    xy[0 if end == 0 else -1] = tip + step / norm * by
    return LineString(xy)


def cut(
    grid: BaseGeometry, line: LineString, *, reach: float, frame: cov.Frame = cov.METRIC
) -> tuple[Polygon, Polygon]:
    """``grid`` cut in two along ``line``, the larger part first; both share the cut exactly.

    Each end of the line must lie outside the grid or on its boundary (an end within ``reach``,
    in the grid's units, inside it counts as on it); 422 unless the cut makes exactly two parts.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> big, small = cut(box(0, 0, 10, 10), LineString([(3, -1), (3, 11)]), reach=0.01)
    >>> round(big.area), round(small.area), sorted(set(big.exterior.coords)
    ...     & set(small.exterior.coords))
    (70, 30, [(3.0, 0.0), (3.0, 10.0)])
    >>> cut(box(0, 0, 10, 10), LineString([(3, 5), (3, 11)]), reach=0.01)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gridmap.errors.InvalidGeometry: the line starts inside the grid: draw it from outside ...
    """
    inside = shapely.contains_properly
    for end, which in ((0, "starts"), (-1, "ends")):
        tip = Point(line.coords[end])
        if inside(grid, tip):
            if grid.boundary.distance(tip) > reach:
                raise InvalidGeometry(
                    f"the line {which} inside the grid: draw it from outside the grid (or from "
                    "its edge) across to the other side",
                    where=list(tip.coords[0]),
                )
            line = _reach(line, end, 2 * reach)
    pieces = [
        p
        for p in split(polygonal(grid), line).geoms
        if isinstance(p, Polygon) and frame.to_metric(p).area > 0
    ]
    if len(pieces) != 2:
        raise InvalidGeometry(
            "the line must cut the grid into exactly two parts"
            + ("; it does not cross it" if len(pieces) < 2 else f"; it cuts it into {len(pieces)}"),
            parts=len(pieces),
        )
    pieces.sort(key=lambda p: frame.to_metric(p).area, reverse=True)
    return pieces[0], pieces[1]
