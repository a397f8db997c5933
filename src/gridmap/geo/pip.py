"""gridmap.geo.pip: which polygon holds each point — exact, and fast for millions of points.

:class:`PointIndex` lays a raster over the polygons. A cell that no polygon edge touches lies
wholly inside one polygon (or none), so a point in it is answered by reading the cell; the cells
are labelled by connected component, one exact test per component. Only points in cells an edge
passes through are tested exactly, against the few polygons whose edges pass through that cell,
with a crossing-number test in numpy whose orientation is checked against a floating-point error
bound; the rare point too close to an edge to decide is handed to GEOS. Polygons are given in
priority order: a point on a border shared by several polygons gets the first of them, which is
gridmap's border rule when they are sorted by code. The answers are those of a shapely
``STRtree`` ``intersects`` query keeping the first polygon hit (tests check it).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

import shapely
from shapely.geometry.base import BaseGeometry

# Relative error bound of the orientation determinant in double precision (Shewchuk's
# ccwerrboundA is 3.33e-16; a margin on top costs nothing, since the uncertain go to GEOS).
_ORIENT_EPS = 1e-15
# Cells per polygon side: finer means fewer points to test exactly and a bigger raster.
_CELLS_PER_SIDE = 16


class PointIndex:
    """Polygons, indexed for locating many points at once.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> index = PointIndex([box(0, 0, 1, 1), box(1, 0, 2, 1)])
    >>> index.locate([0.5, 1.0, 1.5, 3.0], [0.5, 0.5, 0.5, 0.5]).tolist()
    [0, 0, 1, -1]
    """

    def __init__(
        self,
        polygons: Sequence[BaseGeometry],
        *,
        cell: float | None = None,
        max_cells: int = 24_000_000,
    ) -> None:
        self.polygons = np.asarray(polygons, dtype=object)
        self.size = n = len(self.polygons)
        self.tree = shapely.STRtree(self.polygons)
        if n == 0:
            self.x0 = self.y0 = 0.0
            self.cell = 1.0
            self.nx = self.ny = 1
            self.components = np.zeros(1, dtype=np.int32)
            self.comp_label = np.array([-1], dtype=np.int64)
            self._edges(np.zeros((0, 4)), np.zeros(0, dtype=np.intp))
            self.overlapping = False
            return
        west, south, east, north = shapely.total_bounds(self.polygons)
        if cell is None:
            mean_side = np.sqrt(max(float(shapely.area(self.polygons).sum()), 1e-30) / n)
            cell = mean_side / _CELLS_PER_SIDE
        # Cap the raster; the cell grows to fit.
        cell = max(cell, np.sqrt((east - west) * (north - south) / max_cells))
        self.cell = float(cell)
        self.x0, self.y0 = float(west), float(south)
        self.nx = int((east - west) // cell) + 1
        self.ny = int((north - south) // cell) + 1

        types = shapely.get_type_id(self.polygons)
        if (types == 3).all() and not shapely.get_num_interior_rings(self.polygons).any():
            # Polygons without holes: each one's coordinates are its one closed ring.
            coords, coord_of = shapely.get_coordinates(self.polygons, return_index=True)
            owner = coord_of
        elif (types == 3).all():  # Polygons: no parts to split
            rings, ring_of = shapely.get_rings(self.polygons, return_index=True)
            coords, coord_of = shapely.get_coordinates(rings, return_index=True)
            owner = ring_of[coord_of]
        else:
            parts, part_of = shapely.get_parts(self.polygons, return_index=True)
            rings, ring_of = shapely.get_rings(parts, return_index=True)
            coords, coord_of = shapely.get_coordinates(rings, return_index=True)
            owner = part_of[ring_of][coord_of]
        same = coord_of[1:] == coord_of[:-1]
        self._edges(np.column_stack([coords[:-1][same], coords[1:][same]]), owner[:-1][same])

        # The edges are walked in two halves at once: numpy lets go of the GIL on big arrays.
        half = len(self.ex1) // 2
        with ThreadPoolExecutor(2) as pool:
            done = list(pool.map(self._cells_touched, [slice(0, half), slice(half, None)]))
        cells = np.concatenate([d[0] for d in done])
        edges = np.concatenate([d[1] for d in done])
        # Sort-based dedupe: numpy's hash-based unique is slow on millions of int64 keys.
        key = cells * len(self.ex1) + edges
        key.sort()
        key = key[np.r_[True, key[1:] != key[:-1]]]
        cell_of, edge_of = key // len(self.ex1), key % len(self.ex1)
        firsts = np.flatnonzero(np.r_[True, cell_of[1:] != cell_of[:-1]])
        boundary_cells = cell_of[firsts]
        nb = len(boundary_cells)
        self.cell_slot = np.full(self.nx * self.ny, -1, dtype=np.int32)
        self.cell_slot[boundary_cells] = np.arange(nb, dtype=np.int32)
        self.cell_edge_ptr = np.r_[firsts, len(cell_of)]
        self.cell_edges = edge_of.astype(np.intp)
        # The edges again, in cell order, so a cell's edges are read from one place.
        self.cx1, self.cy1 = self.ex1[self.cell_edges], self.ey1[self.cell_edges]
        self.cx2, self.cy2 = self.ex2[self.cell_edges], self.ey2[self.cell_edges]

        # Each boundary cell's run of boundary cells ends where the first clean cell to its
        # right begins (or at the end of the row).
        run_start = np.r_[True, boundary_cells[1:] != boundary_cells[:-1] + 1]
        run_start |= boundary_cells % self.nx == 0
        run_id = np.cumsum(run_start) - 1
        run_end = np.r_[np.flatnonzero(run_start)[1:], nb] - 1
        last = boundary_cells[run_end][run_id]
        self.next_clean = (last % self.nx + 1).astype(np.int64)

        # Clean cells: connected components, each labelled by one exact query inside it.
        clean = np.ones(self.nx * self.ny, dtype=bool)
        clean[boundary_cells] = False
        components, count = ndimage.label(clean.reshape(self.ny, self.nx))
        self.components = components.ravel()
        comp_label = np.full(count + 1, -2, dtype=np.int64)
        self.overlapping = False
        if count:
            # Every component begins some row segment, either at column 0 or just right of a
            # run of boundary cells: those cells are enough to find one cell of each.
            row_heads = np.arange(self.ny, dtype=np.int64) * self.nx
            after = (last + 1)[run_end][self.next_clean[run_end] < self.nx]
            heads = np.concatenate([row_heads, after])
            ids = self.components[heads]
            keep = ids > 0
            heads, ids = heads[keep], ids[keep]
            order = np.argsort(ids, kind="stable")
            heads, ids = heads[order], ids[order]
            first = np.r_[True, ids[1:] != ids[:-1]]
            heads, ids = heads[first], ids[first]
            cx = self.x0 + (heads % self.nx + 0.5) * self.cell
            cy = self.y0 + (heads // self.nx + 0.5) * self.cell
            hit_pt, hit_poly = self.tree.query(shapely.points(cx, cy), predicate="intersects")
            best = np.full(len(ids), n, dtype=np.int64)
            np.minimum.at(best, hit_pt, hit_poly)
            comp_label[ids] = np.where(best < n, best, -1)
            # A clean cell inside two polygons: they overlap by more than a cell, and the ray
            # test below (which reads one polygon off a clean cell) would not be exact.
            self.overlapping = bool(np.bincount(hit_pt, minlength=len(ids)).max(initial=0) > 1)
        self.comp_label = comp_label
        beyond = self.next_clean >= self.nx
        nxt_cell = (boundary_cells // self.nx) * self.nx + np.minimum(self.next_clean, self.nx - 1)
        self.next_label = np.where(beyond, -1, comp_label[self.components[nxt_cell]])

    def _edges(self, segs: NDArray[np.float64], owner: NDArray[np.intp]) -> None:
        if len(owner) > 1 and not (owner[1:] >= owner[:-1]).all():
            order = np.argsort(owner, kind="stable")
            segs, owner = segs[order], owner[order]
        self.ex1, self.ey1 = np.ascontiguousarray(segs[:, 0]), np.ascontiguousarray(segs[:, 1])
        self.ex2, self.ey2 = np.ascontiguousarray(segs[:, 2]), np.ascontiguousarray(segs[:, 3])
        self.edge_owner = owner
        self.edge_ptr = np.searchsorted(self.edge_owner, np.arange(self.size + 1))

    def _cells_touched(self, part: slice) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Every (cell, edge) of the edges in ``part`` where the edge passes through the cell,
        with a margin for rounding."""
        s, eps = self.cell, 1e-7
        first = part.start or 0
        u1, u2 = (self.ex1[part] - self.x0) / s, (self.ex2[part] - self.x0) / s
        v1, v2 = (self.ey1[part] - self.y0) / s, (self.ey2[part] - self.y0) / s
        c_lo = np.floor(np.minimum(u1, u2) - eps).astype(np.int64)
        c_hi = np.floor(np.maximum(u1, u2) + eps).astype(np.int64)
        # One row per (edge, column it crosses).
        per = c_hi - c_lo + 1
        e = np.repeat(np.arange(len(u1)), per)
        col = np.repeat(c_lo, per) + _ranks(per)
        du = u2[e] - u1[e]
        dv = v2[e] - v1[e]
        # The edge's v over this column strip (clipped to the edge's own extent).
        lo_u = np.clip(col.astype(float), np.minimum(u1[e], u2[e]), np.maximum(u1[e], u2[e]))
        hi_u = np.clip(col + 1.0, np.minimum(u1[e], u2[e]), np.maximum(u1[e], u2[e]))
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(du != 0, dv / du, 0.0)
        va = np.where(du != 0, v1[e] + (lo_u - u1[e]) * slope, np.minimum(v1[e], v2[e]))
        vb = np.where(du != 0, v1[e] + (hi_u - u1[e]) * slope, np.maximum(v1[e], v2[e]))
        r_lo = np.floor(np.minimum(va, vb) - eps).astype(np.int64)
        r_hi = np.floor(np.maximum(va, vb) + eps).astype(np.int64)
        per2 = r_hi - r_lo + 1
        e2 = np.repeat(e, per2)
        col2 = np.repeat(col, per2)
        row2 = np.repeat(r_lo, per2) + _ranks(per2)
        ok = (col2 >= 0) & (col2 < self.nx) & (row2 >= 0) & (row2 < self.ny)
        return row2[ok] * self.nx + col2[ok], e2[ok] + first

    def locate(
        self,
        x: Sequence[float] | NDArray[np.float64],
        y: Sequence[float] | NDArray[np.float64],
        *,
        threads: int = 2,
    ) -> NDArray[np.int64]:
        """The index of the polygon holding each point (the first on a shared border), or -1."""
        px = np.asarray(x, dtype=float)
        py = np.asarray(y, dtype=float)
        if len(px) != len(py):
            raise ValueError("x and y differ in length")
        chunk = 50_000
        if len(px) <= chunk:
            return self._locate(px, py)
        # Chunks stay in cache; two threads overlap where numpy lets go of the GIL.
        starts = range(0, len(px), chunk)
        with ThreadPoolExecutor(max(1, threads)) as pool:
            parts = pool.map(lambda i: self._locate(px[i : i + chunk], py[i : i + chunk]), starts)
            return np.concatenate(list(parts))

    def _locate(self, px: NDArray[np.float64], py: NDArray[np.float64]) -> NDArray[np.int64]:
        out = np.full(len(px), -1, dtype=np.int64)
        if self.size == 0 or len(px) == 0:
            return out
        ix = np.floor((px - self.x0) / self.cell)
        iy = np.floor((py - self.y0) / self.cell)
        inside = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        where = np.flatnonzero(inside)
        flat = iy[where].astype(np.int64) * self.nx + ix[where].astype(np.int64)
        label = self.comp_label[self.components[flat]]
        out[where] = label
        hard = where[label == -2]
        if len(hard):
            if self.overlapping:
                out[hard] = self._exact_tree(px[hard], py[hard])
            else:
                out[hard] = self._exact(px[hard], py[hard], flat[label == -2])
        return out

    def _exact_tree(self, px: NDArray[np.float64], py: NDArray[np.float64]) -> NDArray[np.int64]:
        pts, polys = self.tree.query(shapely.points(px, py), predicate="intersects")
        best = np.full(len(px), self.size, dtype=np.int64)
        np.minimum.at(best, pts, polys)
        return np.where(best < self.size, best, -1)

    def _exact(
        self, px: NDArray[np.float64], py: NDArray[np.float64], cells: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """Points in boundary cells: a ray to the right, as far as the next clean cell.

        The polygons holding a point are those holding that clean cell (its label), flipped by
        every edge the ray crosses on the way. A point on or next to an edge (the orientation
        within rounding) is left to GEOS. Exact while no clean cell lies in two polygons (checked
        when the index is built; otherwise every such point goes to the tree).
        """
        slot = self.cell_slot[cells]
        col = cells % self.nx
        stop = self.next_clean[slot]
        # (point, ray cell, edge) triples: each crossing is counted in the one cell its
        # intersection with the ray falls in, so an edge through several ray cells counts once.
        span = stop - col
        pt = np.repeat(np.arange(len(px)), span)
        ray_col = np.repeat(col, span) + _ranks(span)
        rslot = self.cell_slot[np.repeat(cells, span) + (ray_col - np.repeat(col, span))]
        lo, hi = self.cell_edge_ptr[rslot], self.cell_edge_ptr[rslot + 1]
        per = hi - lo
        pt = np.repeat(pt, per)
        ray_col = np.repeat(ray_col, per)
        at = np.repeat(lo, per) + _ranks(per)
        e = self.cell_edges[at]
        x, y = px[pt], py[pt]
        x1, y1, x2, y2 = self.cx1[at], self.cy1[at], self.cx2[at], self.cy2[at]
        ax, ay, bx, by = x2 - x1, y2 - y1, x - x1, y - y1
        det = ax * by - ay * bx
        unsure = np.abs(det) <= _ORIENT_EPS * (np.abs(ax * by) + np.abs(ay * bx))
        up = (y1 <= y) & (y < y2)
        down = (y2 <= y) & (y < y1)
        with np.errstate(divide="ignore", invalid="ignore"):
            xint = x1 + (y - y1) * ax / ay
        crossing = ((up & (det > 0)) | (down & (det < 0))) & (
            np.floor((xint - self.x0) / self.cell) == ray_col
        )
        doubt = np.zeros(len(px), dtype=bool)
        doubt[
            pt[
                unsure
                & (
                    up
                    | down
                    | (
                        (np.minimum(x1, x2) <= x)
                        & (x <= np.maximum(x1, x2))
                        & (np.minimum(y1, y2) <= y)
                        & (y <= np.maximum(y1, y2))
                    )
                )
            ]
        ] = True
        # Parity of crossings per (point, polygon).
        owner = self.edge_owner[e[crossing]]
        flips = np.sort(pt[crossing].astype(np.int64) * self.size + owner)
        if len(flips):
            starts = np.flatnonzero(np.r_[True, flips[1:] != flips[:-1]])
            counts = np.diff(np.r_[starts, len(flips)])
            odd = flips[starts][(counts & 1) == 1]
        else:
            odd = flips
        odd_pt, odd_poly = odd // self.size, odd % self.size
        base = self.next_label[slot]
        # The clean cell's polygon holds the point unless an odd number of its edges intervene.
        label_flipped = np.zeros(len(px), dtype=bool)
        is_label = odd_poly == base[odd_pt]
        label_flipped[odd_pt[is_label]] = True
        best = np.where((base >= 0) & ~label_flipped, base, self.size).astype(np.int64)
        others = ~is_label
        np.minimum.at(best, odd_pt[others], odd_poly[others])
        out = np.where(best < self.size, best, -1)
        if doubt.any():
            idx = np.flatnonzero(doubt)
            out[idx] = self._exact_tree(px[idx], py[idx])
        return out


def _ranks(counts: NDArray[np.int64]) -> NDArray[np.int64]:
    """0, 1, …, k-1 for each k in ``counts``, concatenated.

    Examples
    --------
    >>> _ranks(np.array([2, 0, 3])).tolist()
    [0, 1, 0, 1, 2]
    """
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - starts
