"""gridmap.geo.isochrone: the area a walk of N minutes reaches, from the streets it walks.

The network part (which junctions lie within the walk, and at what cost) is pgRouting's; this
module turns its answer into a polygon. Every edge touching a reached junction is walked as far as
the remaining budget allows from each end; the walked pieces are widened by the depth of the
blocks along a street (``street_m``), and a block wholly ringed by walked streets and smaller than
``hole_m2`` counts as reached. The result follows the streets: a block no street reaches stays
out, which a convex hull of the reached junctions would take in.

All geometry here is in metres (a local projected CRS); callers project in and out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

# OSM highway values nobody walks along.
NOT_WALKABLE = ("motorway", "motorway_link", "construction", "proposed", "raceway")


@dataclass(frozen=True)
class CircleRules:
    """How a service circle is drawn; stored with every circle as its ``params``.

    Examples
    --------
    >>> CircleRules().budget_m
    1125.0
    >>> CircleRules(minutes=10, speed_kmh=3.6).budget_m
    600.0
    """

    minutes: int = 15
    speed_kmh: float = 4.5
    # A centre farther than this from any walkable street gets a plain buffer instead.
    snap_m: float = 300.0
    # How deep the homes along a walked street reach on each side.
    street_m: float = 100.0
    # Blocks ringed by walked streets and smaller than this count as reached.
    hole_m2: float = 50_000.0
    # GB 50180-2018 puts the 15-minute circle's radius at 800-1,000 m.
    buffer_m: float = 1000.0

    @property
    def budget_m(self) -> float:
        """How far the walk goes, in metres."""
        return self.speed_kmh * 1000.0 / 60.0 * self.minutes

    def params(self, method: str) -> dict[str, Any]:
        """What is recorded on a circle drawn by ``method`` (``network`` or ``buffer``)."""
        keys = (
            ("minutes", "speed_kmh", "snap_m", "street_m", "hole_m2")
            if method == "network"
            else ("minutes", "buffer_m")
        )
        values = asdict(self)
        out = {k: values[k] for k in keys}
        if method == "network":
            out["budget_m"] = round(self.budget_m, 3)
        return out


def walked_pieces(
    edges: Iterable[tuple[LineString, float, float]],
) -> list[LineString]:
    """The walked parts of edges, each given with the share of it walked from either end.

    ``a`` is the share walked from the edge's first vertex, ``b`` from its last (each 0-1, from
    the budget left at that end divided by the edge's length); together ≥ 1 means all of it.

    Examples
    --------
    >>> line = LineString([(0, 0), (100, 0)])
    >>> [round(p.length) for p in walked_pieces([(line, 0.3, 0.2), (line, 0.7, 0.5)])]
    [30, 20, 100]
    """
    out: list[LineString] = []
    for line, a, b in edges:
        length = line.length
        if length <= 0 or (a <= 0 and b <= 0):
            continue
        if a + b >= 1:
            out.append(line)
            continue
        if a > 0:
            out.append(substring(line, 0, a * length))
        if b > 0:
            out.append(substring(line, length - b * length, length))
    return [p for p in out if isinstance(p, LineString) and p.length > 0]


def around_point(line: LineString, point: Point, reach: float) -> LineString | None:
    """The part of ``line`` within ``reach`` (along it) of the place nearest ``point``.

    Examples
    --------
    >>> part = around_point(LineString([(0, 0), (100, 0)]), Point(40, 10), 25)
    >>> part.bounds
    (15.0, 0.0, 65.0, 0.0)
    """
    if reach <= 0:
        return None
    at = line.project(point)
    piece = substring(line, max(0.0, at - reach), min(line.length, at + reach))
    return piece if isinstance(piece, LineString) and piece.length > 0 else None


def _fill_small_holes(geom: BaseGeometry, hole_m2: float) -> MultiPolygon:
    parts = list(getattr(geom, "geoms", [geom]))
    kept = []
    for part in parts:
        if not isinstance(part, Polygon) or part.is_empty:
            continue
        holes = [r for r in part.interiors if Polygon(r).area >= hole_m2]
        kept.append(Polygon(part.exterior, holes))
    return MultiPolygon(kept)


def street_polygon(lines: list[LineString], *, street_m: float, hole_m2: float) -> MultiPolygon:
    """The area along walked streets: ``street_m`` either side, small enclosed blocks filled.

    Examples
    --------
    >>> ring = [LineString([(0, 0), (300, 0), (300, 300), (0, 300), (0, 0)])]
    >>> round(street_polygon(ring, street_m=50, hole_m2=10_000).area / 1000)  # block kept out
    118
    >>> round(street_polygon(ring, street_m=50, hole_m2=50_000).area / 1000)  # block filled
    158
    """
    if not lines:
        return MultiPolygon()
    walked = shapely.union_all(shapely.buffer(lines, street_m, quad_segs=8))
    return _fill_small_holes(walked, hole_m2)


def point_buffer(point: Point, radius_m: float) -> MultiPolygon:
    """A plain circle of ``radius_m`` around a point, as a MultiPolygon.

    Examples
    --------
    >>> round(point_buffer(Point(0, 0), 1000).area / 1e6, 2)  # π km², nearly
    3.14
    """
    return MultiPolygon([point.buffer(radius_m, quad_segs=32)])


def walked_shares(
    length: np.ndarray, from_source: np.ndarray, from_target: np.ndarray, budget: float
) -> tuple[np.ndarray, np.ndarray]:
    """The share of each edge walked from either end, given the cost of reaching its ends
    (``inf`` where an end is not reached): the ``a`` and ``b`` of :func:`walked_pieces`.

    Examples
    --------
    >>> a, b = walked_shares(np.array([100.0, 100.0]), np.array([950.0, np.inf]),
    ...                      np.array([1100.0, 1000.0]), 1000.0)
    >>> a.tolist(), b.tolist()
    ([0.5, 0.0], [0.0, 0.0])
    """
    with np.errstate(invalid="ignore"):
        a = np.where(np.isfinite(from_source), np.clip((budget - from_source) / length, 0, 1), 0.0)
        b = np.where(np.isfinite(from_target), np.clip((budget - from_target) / length, 0, 1), 0.0)
    return a, b


@dataclass(frozen=True)
class Walk:
    """What a walk covers: its pieces of street, their length, and the area along them (in
    metres; ``None`` when the streets joined are shorter than one walk, a fragment of a map)."""

    pieces: list[LineString]
    walked_m: float
    area: MultiPolygon | None


def walk_area(
    edges: Iterable[tuple[LineString, float, float]],
    *,
    street: LineString,
    centre: Point,
    snapped_m: float,
    rules: CircleRules,
) -> Walk:
    """The circle of a walk from ``centre``, which joins the network on ``street`` ``snapped_m``
    away: the walked parts of ``edges`` (as :func:`walked_pieces`), the way to the street and
    along it both ways, widened by :func:`street_polygon`.

    Examples
    --------
    >>> arm = LineString([(0, 0), (2000, 0)])
    >>> w = walk_area([], street=arm, centre=Point(500, 0), snapped_m=0.0, rules=CircleRules())
    >>> round(w.walked_m), round(w.area.area)
    (1625, 356214)
    """
    budget = rules.budget_m
    pieces = walked_pieces(edges)
    foot = street.interpolate(street.project(centre))
    if snapped_m > 0:
        pieces.append(LineString([centre, foot]))
    both_ways = around_point(street, foot, budget - snapped_m)
    if both_ways is not None:
        pieces.append(both_ways)
    walked = sum(p.length for p in pieces)
    if walked < budget:
        return Walk(pieces, walked, None)
    return Walk(
        pieces, walked, street_polygon(pieces, street_m=rules.street_m, hole_m2=rules.hole_m2)
    )
