"""gridmap.geo.noding: no T-junctions where a written grid meets its neighbours.

Grids that share a border must share it vertex for vertex, or GEOS sees two different edges
(``coverage_invalid_edges``) where a person sees one. When grids are written, every vertex of
theirs within a few centimetres of a neighbour's vertex takes that vertex's coordinates exactly;
a vertex near a neighbour's *edge* is inserted into that edge (the neighbour gains a vertex and is
otherwise unchanged), and a neighbour's vertex near a written grid's edge is inserted into it.
Coordinates that do not move are never touched: they keep their doubles bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

# A grid as its polygons, each a list of closed rings of (x, y) rows.
Rings = list[list[np.ndarray]]


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and of latitude near latitude ``lat``.

    Examples
    --------
    >>> [round(v) for v in metres_per_degree(40.0)]
    [85394, 111035]
    """
    phi = math.radians(lat)
    return (
        111_412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi),
        111_132.92 - 559.82 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi),
    )


def _rings(geom: BaseGeometry) -> Rings:
    polys = list(getattr(geom, "geoms", [geom]))
    out: Rings = []
    for p in polys:
        if p.is_empty:
            continue
        rings = [np.asarray(p.exterior.coords, dtype=float)[:, :2]]
        rings += [np.asarray(r.coords, dtype=float)[:, :2] for r in p.interiors]
        out.append(rings)
    return out


def _shape(rings: Rings) -> MultiPolygon:
    return MultiPolygon([Polygon(r[0], r[1:]) for r in rings])


def _vertices(rings: Rings) -> np.ndarray:
    rows = [r[:-1] for poly in rings for r in poly]
    return np.concatenate(rows) if rows else np.empty((0, 2))


def _bounds(points: np.ndarray) -> tuple[float, float, float, float]:
    lo, hi = points.min(axis=0), points.max(axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def _near(a: tuple[float, ...], b: tuple[float, ...], pad: np.ndarray) -> bool:
    return not (
        a[2] + pad[0] < b[0] or b[2] + pad[0] < a[0] or a[3] + pad[1] < b[1] or b[3] + pad[1] < a[1]
    )


def _snap_ring(
    ring: np.ndarray, tree: cKDTree, targets: np.ndarray, k: np.ndarray, tol: float
) -> tuple[np.ndarray, int]:
    """``ring`` with each vertex within ``tol`` metres of a target moved onto the nearest one."""
    body = ring[:-1].copy()
    dist, idx = tree.query(body * k, distance_upper_bound=tol)
    hit = np.isfinite(dist) & (dist > 0)
    if not hit.any():
        return ring, 0
    body[hit] = targets[idx[hit]]
    keep = np.ones(len(body), dtype=bool)
    keep[1:] = np.any(body[1:] != body[:-1], axis=1)
    body = body[keep]
    if len(body) > 1 and np.array_equal(body[0], body[-1]):
        body = body[:-1]
    if len(body) < 3:
        return ring, 0
    return np.vstack([body, body[:1]]), int(hit.sum())


def _insert_ring(
    ring: np.ndarray, points: np.ndarray, own: np.ndarray, k: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """``ring`` with every point of ``points`` that lies within ``tol`` metres of one of its
    edges, away from the edge's ends and from every vertex in ``own``, inserted into that edge;
    and the indices of the points inserted."""
    a, b = ring[:-1] * k, ring[1:] * k
    p = points * k
    ab = b - a
    length2 = np.einsum("ij,ij->i", ab, ab)
    length2[length2 == 0] = np.inf
    # Segments × points: where along each edge each point projects, and how far it lies.
    t = (
        (p[None, :, 0] - a[:, None, 0]) * ab[:, None, 0]
        + (p[None, :, 1] - a[:, None, 1]) * ab[:, None, 1]
    ) / length2[:, None]
    foot = a[:, None, :] + np.clip(t, 0, 1)[:, :, None] * ab[:, None, :]
    dist = np.hypot(*(p[None, :, :] - foot).transpose(2, 0, 1))
    dist[(t <= 0) | (t >= 1)] = np.inf
    seg = np.argmin(dist, axis=0)
    best = dist[seg, np.arange(len(p))]
    near_own = cKDTree(own * k).query(p, distance_upper_bound=tol)[0] <= tol
    chosen = np.flatnonzero((best <= tol) & ~near_own)
    if not len(chosen):
        return ring, chosen
    rows: list[np.ndarray] = []
    for s in range(len(a)):
        rows.append(ring[s : s + 1])
        mine = chosen[seg[chosen] == s]
        if len(mine):
            order = np.argsort(t[s, mine], kind="stable")
            pts = points[mine[order]]
            keep = np.ones(len(pts), dtype=bool)
            keep[1:] = np.any(pts[1:] != pts[:-1], axis=1)
            rows.append(pts[keep])
    rows.append(ring[-1:])
    return np.vstack(rows), chosen


@dataclass
class Noding:
    """What noding did: the new shape of every grid it changed, and who gained vertices."""

    shapes: dict[str, MultiPolygon] = field(default_factory=dict)
    snapped: dict[str, int] = field(default_factory=dict)
    inserted: dict[str, int] = field(default_factory=dict)
    sources: dict[str, set[str]] = field(default_factory=dict)


def node(
    written: Mapping[str, BaseGeometry],
    others: Mapping[str, BaseGeometry],
    boundary: BaseGeometry,
    *,
    tolerance_m: float,
    scale: tuple[float, float] = (1.0, 1.0),
) -> Noding:
    """Node the ``written`` grids against each other, their sibling grids ``others`` and the
    community ``boundary`` (all in one CRS, ``scale`` metres per unit along x and y).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> done = node({"new": box(10, 0, 20, 5)}, {"left": box(0, 0, 10, 10)},
    ...             box(0, 0, 20, 10), tolerance_m=0.05)
    >>> sorted(done.shapes), done.inserted, done.sources
    (['left'], {'left': 1}, {'left': {'new'}})
    >>> (10.0, 5.0) in done.shapes["left"].geoms[0].exterior.coords
    True
    >>> done = node({"new": box(10.03, 0, 20, 5)}, {"left": box(0, 0, 10, 10)},
    ...             box(0, 0, 20, 10), tolerance_m=0.05)
    >>> done.snapped, done.shapes["new"].bounds
    ({'new': 1}, (10.0, 0.0, 20.0, 5.0))
    """
    tol = float(tolerance_m)
    k = np.asarray(scale, dtype=float)
    pad = tol / k
    rings = {key: _rings(g) for key, g in {**others, **written}.items()}
    boundary_pts = _vertices(_rings(boundary))
    out = Noding()
    changed: set[str] = set()
    order = sorted(written)
    # 1. A written vertex near a vertex of the boundary, a sibling or an earlier written grid
    #    takes its coordinates.
    for i, key in enumerate(order):
        fixed = [boundary_pts] + [_vertices(rings[o]) for o in others]
        fixed += [_vertices(rings[w]) for w in order[:i]]
        targets = np.concatenate(fixed) if fixed else np.empty((0, 2))
        if not len(targets):
            continue
        tree = cKDTree(targets * k)
        moved = 0
        for poly in rings[key]:
            for j, ring in enumerate(poly):
                poly[j], n = _snap_ring(ring, tree, targets, k, tol)
                moved += n
        if moved:
            out.snapped[key] = moved
            changed.add(key)
    box = {key: _bounds(_vertices(r)) for key, r in rings.items() if _vertices(r).size}

    def insert(into: str, sources: list[str], extra: np.ndarray | None = None) -> None:
        parts = [
            (s, _vertices(rings[s])) for s in sources if s in box and _near(box[into], box[s], pad)
        ]
        if extra is not None and len(extra):
            parts.append(("", extra))
        if not parts:
            return
        points = np.concatenate([p for _s, p in parts])
        owner = np.concatenate([np.full(len(p), i) for i, (_s, p) in enumerate(parts)])
        own = _vertices(rings[into])
        added = 0
        for poly in rings[into]:
            for j, ring in enumerate(poly):
                poly[j], chosen = _insert_ring(ring, points, own, k, tol)
                added += len(poly[j]) - len(ring)
                for o in set(owner[chosen].tolist()):
                    if parts[o][0]:
                        out.sources.setdefault(into, set()).add(parts[o][0])
        if added:
            out.inserted[into] = out.inserted.get(into, 0) + added
            changed.add(into)

    # 2. Vertices of the siblings and the boundary near a written grid's edge go into it.
    for key in order:
        insert(key, [o for o in rings if o != key], boundary_pts)
    # 3. Written vertices near any other grid's edge go into that grid.
    for key in rings:
        insert(key, [w for w in order if w != key])
    out.shapes = {key: _shape(rings[key]) for key in sorted(changed)}
    return out
