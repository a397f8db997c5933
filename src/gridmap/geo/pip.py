"""gridmap.geo.pip: which polygon holds each point — exact, and fast for millions of points.

:class:`PointIndex` lays a raster over the polygons. A cell that no polygon edge touches lies
wholly inside one polygon (or none), so a point in it is answered by reading the cell; the cells
are labelled by connected component when the index is built, one exact test per component. Only
points in cells an edge passes through are tested exactly, against the few polygons whose edges
pass through that cell, with a crossing-number test in numpy whose orientation is checked
against a floating-point error bound; the rare point too close to an edge to decide is handed to
GEOS, with a polygon rebuilt from the stored edges of the few grids concerned. Polygons are given
in priority order: a point on a border shared by several polygons gets the first of them, which
is gridmap's border rule when they are sorted by code. The answers are those of a shapely
``STRtree`` ``intersects`` query keeping the first polygon hit (tests check it).

Everything a lookup reads is a NumPy array, so an index can be saved to a directory
(:meth:`PointIndex.save`) and memory-mapped by any number of processes
(:meth:`PointIndex.open`), which then share one copy in the page cache. An edit of a few
polygons re-rasterises only the cells of their old and new bounds (:meth:`PointIndex.patch`);
an opened index is mapped copy-on-write, so a patch copies only the pages it writes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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
# Margin (in cells) by which an edge is taken to touch a neighbouring cell, for rounding.
_EPS = 1e-7
_FORMAT = 1
# Arrays written by save() and read back by open().
_ARRAYS = (
    "labels",
    "cell_slot",
    "slot_lo",
    "slot_hi",
    "next_clean",
    "next_label",
    "cell_edges",
    "ex1",
    "ey1",
    "ex2",
    "ey2",
    "edge_owner",
    "edge_lo",
    "edge_hi",
)


class _Grown:
    """A read-only array (perhaps memory-mapped) with entries appended after it.

    Gathering by index reads the base array while nothing has been appended, so an index that
    was never patched pays nothing for it.
    """

    __slots__ = ("base", "extra", "n")

    def __init__(self, base: NDArray[Any]) -> None:
        self.base = base
        self.extra = base[:0].copy()
        self.n = len(base)

    def __len__(self) -> int:
        return self.n + len(self.extra)

    def __getitem__(self, idx: NDArray[Any]) -> NDArray[Any]:
        if not len(self.extra):
            found: NDArray[Any] = self.base[idx]
            return found
        idx = np.asarray(idx)
        out = np.empty(idx.shape, dtype=self.base.dtype)
        old = idx < self.n
        out[old] = self.base[idx[old]]
        out[~old] = self.extra[idx[~old] - self.n]
        return out

    def append(self, values: NDArray[Any]) -> int:
        """Append ``values``; the index of the first of them."""
        at = len(self)
        self.extra = np.concatenate([self.extra, np.asarray(values, dtype=self.base.dtype)])
        return at

    def set(self, idx: NDArray[np.int64], values: NDArray[Any]) -> None:
        """Overwrite entries (those of the base in a copy-on-write mapping)."""
        idx = np.asarray(idx, dtype=np.int64)
        values = np.broadcast_to(np.asarray(values, dtype=self.base.dtype), idx.shape)
        old = idx < self.n
        if old.any():
            if not self.base.flags.writeable:
                self.base = np.array(self.base)
            self.base[idx[old]] = values[old]
        if (~old).any():
            self.extra[idx[~old] - self.n] = values[~old]

    def whole(self) -> NDArray[Any]:
        """Base and appended entries as one array."""
        return np.concatenate([self.base, self.extra]) if len(self.extra) else self.base


class PointIndex:
    """Polygons, indexed for locating many points at once.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> index = PointIndex([box(0, 0, 1, 1), box(1, 0, 2, 1)])
    >>> index.locate([0.5, 1.0, 1.5, 3.0], [0.5, 0.5, 0.5, 0.5]).tolist()
    [0, 0, 1, -1]
    """

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    size: int
    overlapping: bool
    meta: dict[str, Any]

    def __init__(
        self,
        polygons: Sequence[BaseGeometry],
        *,
        cell: float | None = None,
        max_cells: int = 24_000_000,
        points: int | None = None,
    ) -> None:
        """Index ``polygons`` (in priority order).

        ``cell`` fixes the raster's cell size; otherwise it is sized for the polygons (and for
        ``points``, the number of points to be located, when known: few points get a coarser
        raster, which is cheaper to build than the exact tests it saves).
        """
        self._polygons: NDArray[Any] | None = np.asarray(polygons, dtype=object)
        self._tree: shapely.STRtree | None = None
        self._rebuilt: dict[int, BaseGeometry | None] = {}
        # A patch rewrites cells in place: lookups wait for it rather than read half of one.
        self._lock = threading.Lock()
        self.meta = {}
        self.size = n = len(self._polygons)
        self.patches = 0
        if n == 0:
            self.x0 = self.y0 = 0.0
            self.cell = 1.0
            self.nx = self.ny = 1
            self.overlapping = False
            self._set_edges((np.zeros(0),) * 4, np.zeros(0, dtype=np.int64))
            self._set_cells(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
            self.labels = np.full(1, -1, dtype=np.int32)
            self.next_clean = _Grown(np.zeros(0, dtype=np.int32))
            self.next_label = _Grown(np.zeros(0, dtype=np.int32))
            return
        west, south, east, north = shapely.total_bounds(self._polygons)
        if cell is None:
            per_side = _CELLS_PER_SIDE
            if points is not None:
                # Measured (10,000 grids; 10k, 100k, 1M points, build + locate): best near 5,
                # 10 and 20 cells per side, so 5 × (points per polygon)^0.3, within 4..24.
                per_side = int(np.clip(round(5 * (max(points, 1) / n) ** 0.3), 4, 24))
            mean_side = np.sqrt(max(float(shapely.area(self._polygons).sum()), 1e-30) / n)
            cell = mean_side / per_side
        # Cap the raster; the cell grows to fit.
        cell = max(cell, np.sqrt((east - west) * (north - south) / max_cells))
        self.cell = float(cell)
        self.x0, self.y0 = float(west), float(south)
        self.nx = int((east - west) // cell) + 1
        self.ny = int((north - south) // cell) + 1

        segs, owner = _segments(self._polygons)
        self._set_edges(segs, owner)
        n_edges = len(owner)
        # The edges are walked in blocks, two at once (numpy lets go of the GIL). Blocks of 16k
        # edges keep each temporary at 128 KiB: in cache, and below glibc's mmap threshold, so
        # they reuse heap memory instead of faulting in fresh pages (half the page faults of a
        # first build in a process went there with blocks of 128k).
        block = 1 << 14
        parts = [slice(k, min(k + block, n_edges)) for k in range(0, n_edges, block)]
        # Each block yields its (cell, edge) pairs as one int64 key, cell above edge, which
        # sorts by (cell, edge); numpy sorts those with SIMD.
        shift = max(int(n_edges).bit_length(), 1)
        with ThreadPoolExecutor(2) as pool:
            done = list(pool.map(lambda p: self._keys(p, shift), parts or [slice(0, 0)]))
        key = np.concatenate(done) if len(done) > 1 else done[0]
        del done
        key.sort()
        # The edges from the low bits, then the cells in place: no more copies of the pairs.
        edge_of: NDArray[np.int64] = key.astype(np.int32 if shift < 32 else np.int64)
        np.bitwise_and(edge_of, (1 << shift) - 1, out=edge_of)
        key >>= shift
        self._set_cells(key, edge_of)
        self._label_clean()

    # -- building -----------------------------------------------------------------------------

    def _set_edges(self, segs: tuple[NDArray[np.float64], ...], owner: NDArray[np.int64]) -> None:
        if len(owner) > 1 and not (owner[1:] >= owner[:-1]).all():
            order = np.argsort(owner, kind="stable")
            segs, owner = tuple(s[order] for s in segs), owner[order]
        x1, y1, x2, y2 = (np.ascontiguousarray(s, dtype=np.float64) for s in segs)
        self.ex1, self.ey1, self.ex2, self.ey2 = _Grown(x1), _Grown(y1), _Grown(x2), _Grown(y2)
        self.edge_owner = _Grown(owner.astype(np.int32))
        bounds = np.searchsorted(owner, np.arange(self.size + 1))
        self.edge_lo = bounds[:-1].astype(np.int64)
        self.edge_hi = bounds[1:].astype(np.int64)

    def _set_cells(self, cell_of: NDArray[np.int64], edge_of: NDArray[np.int64]) -> None:
        """The boundary cells from (cell, edge) pairs sorted by cell."""
        firsts = _group_starts(cell_of)
        boundary = cell_of[firsts]
        self.cell_slot = np.full(self.nx * self.ny, -1, dtype=np.int32)
        self.cell_slot[boundary] = np.arange(len(boundary), dtype=np.int32)
        self.slot_lo = _Grown(firsts)
        self.slot_hi = _Grown(np.r_[firsts[1:], len(cell_of)].astype(np.int64))
        wide = len(self.ex1) >= 2**31
        self.cell_edges = _Grown(edge_of.astype(np.int64 if wide else np.int32, copy=False))
        self._boundary = boundary

    def _cells_touched(self, part: slice) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Every (cell, edge) of the edges in ``part`` where the edge passes through the cell,
        with a margin for rounding (a few more cells than that is fine: they are tested)."""
        e1 = np.arange(part.start, part.stop)
        return self._cells_of(
            self.ex1.base[part], self.ey1.base[part], self.ex2.base[part], self.ey2.base[part], e1
        )

    def _keys(self, part: slice, shift: int) -> NDArray[np.int64]:
        """The pairs of :meth:`_cells_touched` as ``cell << shift | edge``."""
        cells, edges = self._cells_touched(part)
        cells <<= shift
        cells |= edges
        return cells

    def _cells_of(
        self,
        x1: NDArray[np.float64],
        y1: NDArray[np.float64],
        x2: NDArray[np.float64],
        y2: NDArray[np.float64],
        ids: NDArray[np.int64],
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        inv = 1.0 / self.cell
        u1, u2 = (x1 - self.x0) * inv, (x2 - self.x0) * inv
        v1, v2 = (y1 - self.y0) * inv, (y2 - self.y0) * inv
        c_lo = np.floor(np.minimum(u1, u2) - _EPS).astype(np.int64)
        c_hi = np.floor(np.maximum(u1, u2) + _EPS).astype(np.int64)
        r_lo = np.floor(np.minimum(v1, v2) - _EPS).astype(np.int64)
        r_hi = np.floor(np.maximum(v1, v2) + _EPS).astype(np.int64)
        w, h = c_hi - c_lo + 1, r_hi - r_lo + 1
        # Most edges are short: one cell, or two side by side, all of which they touch.
        small = w * h <= 2
        es = np.flatnonzero(small)
        k = w[es] * h[es]
        e = np.repeat(es, k)
        rank = _ranks(k)
        we = np.repeat(w[es], k)
        cols = [np.repeat(c_lo[es], k) + rank % we]
        rows = [np.repeat(r_lo[es], k) + rank // we]
        owners = [e]
        big = np.flatnonzero(~small)
        if len(big):
            # Longer edges: the rows each crosses within each column it spans.
            per = w[big]
            eb = np.repeat(np.arange(len(big)), per)
            col = np.repeat(c_lo[big], per) + _ranks(per)
            a1, a2, b1, b2 = u1[big][eb], u2[big][eb], v1[big][eb], v2[big][eb]
            lo, hi = np.minimum(a1, a2), np.maximum(a1, a2)
            du, dv = a2 - a1, b2 - b1
            lo_u = np.clip(col.astype(float), lo, hi)
            hi_u = np.clip(col + 1.0, lo, hi)
            with np.errstate(divide="ignore", invalid="ignore"):
                slope = np.where(du != 0, dv / du, 0.0)
            va = np.where(du != 0, b1 + (lo_u - a1) * slope, np.minimum(b1, b2))
            vb = np.where(du != 0, b1 + (hi_u - a1) * slope, np.maximum(b1, b2))
            rl = np.floor(np.minimum(va, vb) - _EPS).astype(np.int64)
            rh = np.floor(np.maximum(va, vb) + _EPS).astype(np.int64)
            per2 = rh - rl + 1
            cols.append(np.repeat(col, per2))
            rows.append(np.repeat(rl, per2) + _ranks(per2))
            owners.append(big[np.repeat(eb, per2)])
        c, r, o = np.concatenate(cols), np.concatenate(rows), np.concatenate(owners)
        ok = (c >= 0) & (c < self.nx) & (r >= 0) & (r < self.ny)
        return r[ok] * self.nx + c[ok], ids[o[ok]]

    def _label_clean(self) -> None:
        """Label every clean cell with its polygon, and each boundary cell with the label of the
        first clean cell to its right."""
        boundary = self._boundary
        nb = len(boundary)
        clean = np.ones(self.nx * self.ny, dtype=bool)
        clean[boundary] = False
        components, count = ndimage.label(clean.reshape(self.ny, self.nx))
        components = components.ravel()
        comp_label = np.full(count + 1, -2, dtype=np.int32)
        next_clean = _run_ends(boundary, self.nx)
        self.overlapping = False
        if count:
            # Every component begins some row segment, either at column 0 or just right of a
            # run of boundary cells: those cells are enough to find one cell of each.
            row_heads = np.arange(self.ny, dtype=np.int64) * self.nx
            after = (boundary // self.nx) * self.nx + next_clean
            heads = np.concatenate([row_heads, after[next_clean < self.nx]])
            # One head per component (any will do: a clean component lies wholly inside the
            # same polygons), picked by assignment rather than by sorting the heads.
            one = np.full(count + 1, -1, dtype=np.int64)
            one[components[heads]] = heads
            ids = np.flatnonzero(one[1:] >= 0) + 1
            heads = one[ids]
            cx = self.x0 + (heads % self.nx + 0.5) * self.cell
            cy = self.y0 + (heads // self.nx + 0.5) * self.cell
            hit_pt, hit_poly = self.tree.query(shapely.points(cx, cy), predicate="intersects")
            best = np.full(len(ids), self.size, dtype=np.int64)
            np.minimum.at(best, hit_pt, hit_poly)
            comp_label[ids] = np.where(best < self.size, best, -1)
            # A clean cell inside two polygons: they overlap by more than a cell, and the ray
            # test below (which reads one polygon off a clean cell) would not be exact.
            self.overlapping = bool(np.bincount(hit_pt, minlength=len(ids)).max(initial=0) > 1)
        self.labels = comp_label[components]
        self.next_clean = _Grown(next_clean.astype(np.int32))
        nxt = (boundary // self.nx) * self.nx + np.minimum(next_clean, self.nx - 1)
        self.next_label = _Grown(
            np.where(next_clean >= self.nx, -1, self.labels[nxt]).astype(np.int32)
        )
        assert nb == len(self.next_clean)
        del self._boundary

    # -- geometry of one polygon --------------------------------------------------------------

    @property
    def tree(self) -> shapely.STRtree:
        """An STRtree over every polygon (built when first needed)."""
        if self._tree is None:
            self._tree = shapely.STRtree(self.polygons())
        return self._tree

    def polygons(self) -> NDArray[Any]:
        """Every polygon, in index order (rebuilt from the edges for an opened index)."""
        if self._polygons is not None and not self._rebuilt:
            return self._polygons
        return np.array([self.polygon(i) for i in range(self.size)], dtype=object)

    def polygon(self, i: int) -> BaseGeometry | None:
        """Polygon ``i``: as given, as patched, or rebuilt from its stored edges."""
        if i in self._rebuilt:
            return self._rebuilt[i]
        if self._polygons is not None:
            geom: BaseGeometry | None = self._polygons[i]
            return geom
        lo, hi = int(self.edge_lo[i]), int(self.edge_hi[i])
        rebuilt = _from_edges(
            self.ex1.base[lo:hi], self.ey1.base[lo:hi], self.ex2.base[lo:hi], self.ey2.base[lo:hi]
        )
        self._rebuilt[i] = rebuilt
        return rebuilt

    # -- saving and opening -------------------------------------------------------------------

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        arrays: dict[str, NDArray[Any]] | None = None,
        **meta: Any,
    ) -> None:
        """Write the index to directory ``path`` (``.npy`` arrays and ``index.json``), atomically.

        ``meta`` (JSON values) is kept in the header, e.g. the change sequence it is current at;
        ``arrays`` are saved beside the index's own (``name.npy``), e.g. the polygons' records.
        The directory is written beside ``path`` and renamed into place, so a reader never sees
        half an index.
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            for name in _ARRAYS:
                value = getattr(self, name)
                arr = value.whole() if isinstance(value, _Grown) else np.asarray(value)
                np.save(tmp / f"{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
            for name, arr in (arrays or {}).items():
                if name in _ARRAYS or not name.isidentifier():
                    raise ValueError(f"cannot save an array named {name!r}")
                np.save(tmp / f"{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
            header = {
                "format": _FORMAT,
                "x0": self.x0,
                "y0": self.y0,
                "cell": self.cell,
                "nx": self.nx,
                "ny": self.ny,
                "size": self.size,
                "overlapping": self.overlapping,
                "meta": {**self.meta, **meta},
            }
            (tmp / "index.json").write_text(json.dumps(header))
            old = None
            if target.exists():
                old = target.with_name(f".{target.name}.old.{os.getpid()}")
                target.rename(old)
            tmp.rename(target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def __getstate__(self) -> dict[str, Any]:
        """What pickling sends (to a Dask worker, say): everything but the patch lock."""
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> PointIndex:
        """An index saved by :meth:`save`, its arrays memory-mapped (copy-on-write).

        Processes that open the same directory share its pages; a patch copies only the pages
        it writes, in the process that makes it.
        """
        source = Path(path)
        header = read_header(source)
        self = cls.__new__(cls)
        self._lock = threading.Lock()
        self._polygons = None
        self._tree = None
        self._rebuilt = {}
        self.patches = 0
        self.x0, self.y0 = float(header["x0"]), float(header["y0"])
        self.cell = float(header["cell"])
        self.nx, self.ny = int(header["nx"]), int(header["ny"])
        self.size = int(header["size"])
        self.overlapping = bool(header["overlapping"])
        self.meta = dict(header.get("meta", {}))
        for name in _ARRAYS:
            arr = np.load(source / f"{name}.npy", mmap_mode="c", allow_pickle=False)
            if name in ("labels", "cell_slot", "edge_lo", "edge_hi"):
                setattr(self, name, arr)
            else:
                setattr(self, name, _Grown(arr))
        return self

    # -- patching -----------------------------------------------------------------------------

    def patch(self, changed: dict[int, BaseGeometry | None]) -> bool:
        """Replace polygons by index (``None``: removed), re-rasterising only the cells of their
        old and new bounds. False (nothing changed) when a new shape leaves the raster; the
        caller then builds a new index."""
        with self._lock:
            return self._patch(changed)

    def _patch(self, changed: dict[int, BaseGeometry | None]) -> bool:
        if not changed:
            return True
        if any(i < 0 or i >= self.size for i in changed):
            raise IndexError("patch: polygon index out of range")
        boxes = []
        new_segs: dict[int, tuple[tuple[NDArray[np.float64], ...], NDArray[np.int64]]] = {}
        for i, geom in changed.items():
            lo, hi = int(self.edge_lo[i]), int(self.edge_hi[i])
            if hi > lo:
                ids = np.arange(lo, hi)
                xs = np.r_[self.ex1[ids], self.ex2[ids]]
                ys = np.r_[self.ey1[ids], self.ey2[ids]]
                boxes.append((xs.min(), ys.min(), xs.max(), ys.max()))
            if geom is not None and not geom.is_empty:
                segs, _owner = _segments(np.array([geom], dtype=object))
                west, south, east, north = geom.bounds
                if (
                    west < self.x0
                    or south < self.y0
                    or east >= self.x0 + self.nx * self.cell
                    or north >= self.y0 + self.ny * self.cell
                ):
                    return False
                boxes.append(geom.bounds)
                new_segs[i] = (segs, np.full(len(segs[0]), i, dtype=np.int64))
        # Old edges stop counting; the new ones are appended.
        if not self.edge_lo.flags.writeable:
            self.edge_lo, self.edge_hi = np.array(self.edge_lo), np.array(self.edge_hi)
        for i in changed:
            self.edge_lo[i] = self.edge_hi[i] = 0
        added: list[NDArray[np.int64]] = []
        for i, (segs, owner) in new_segs.items():
            start = self.ex1.append(segs[0])
            self.ey1.append(segs[1])
            self.ex2.append(segs[2])
            self.ey2.append(segs[3])
            self.edge_owner.append(owner)
            self.edge_lo[i], self.edge_hi[i] = start, start + len(owner)
            added.append(np.arange(start, start + len(owner)))
        for i, geom in changed.items():
            self._rebuilt[i] = geom
        if self._polygons is not None:
            self._polygons = self._polygons.copy()
            for i, geom in changed.items():
                self._polygons[i] = geom
        self._tree = None
        if not boxes:
            return True
        b = np.array(boxes, dtype=float)
        c0 = max(int(np.floor((b[:, 0].min() - self.x0) / self.cell - _EPS)) - 1, 0)
        r0 = max(int(np.floor((b[:, 1].min() - self.y0) / self.cell - _EPS)) - 1, 0)
        c1 = min(int(np.floor((b[:, 2].max() - self.x0) / self.cell + _EPS)) + 1, self.nx - 1)
        r1 = min(int(np.floor((b[:, 3].max() - self.y0) / self.cell + _EPS)) + 1, self.ny - 1)
        self._repaint(c0, r0, c1, r1, set(changed), added)
        self.patches += 1
        return True

    def _repaint(
        self,
        c0: int,
        r0: int,
        c1: int,
        r1: int,
        changed: set[int],
        added: list[NDArray[np.int64]],
    ) -> None:
        """Rebuild the cells of window [c0, c1] × [r0, r1] and the rays that cross it."""
        if not self.labels.flags.writeable:
            self.labels = np.array(self.labels)
        if not self.cell_slot.flags.writeable:
            self.cell_slot = np.array(self.cell_slot)
        w, h = c1 - c0 + 1, r1 - r0 + 1
        win = ((np.arange(r0, r1 + 1)[:, None] * self.nx) + np.arange(c0, c1 + 1)).ravel()
        # The edges of unchanged polygons already listed in the window's cells.
        slots = self.cell_slot[win].astype(np.int64)
        has = slots >= 0
        lo, hi = self.slot_lo[slots[has]], self.slot_hi[slots[has]]
        per = hi - lo
        cells_old = np.repeat(win[has], per)
        edges_old = self.cell_edges[np.repeat(lo, per) + _ranks(per)].astype(np.int64)
        keep = ~np.isin(self.edge_owner[edges_old], list(changed))
        cells_list, edges_list = [cells_old[keep]], [edges_old[keep]]
        if added:
            ids = np.concatenate(added)
            c, e = self._cells_of(self.ex1[ids], self.ey1[ids], self.ex2[ids], self.ey2[ids], ids)
            col, row = c % self.nx, c // self.nx
            inside = (col >= c0) & (col <= c1) & (row >= r0) & (row <= r1)
            cells_list.append(c[inside])
            edges_list.append(e[inside])
        cells = np.concatenate(cells_list)
        edges = np.concatenate(edges_list)
        order = np.lexsort((edges, cells))
        cells, edges = cells[order], edges[order]
        firsts = _group_starts(cells)
        boundary = cells[firsts]
        self.cell_slot[win] = -1
        if len(boundary):
            at = self.cell_edges.append(edges)
            slot0 = self.slot_lo.append(firsts + at)
            self.slot_hi.append(np.r_[firsts[1:], len(cells)] + at)
            self.next_clean.append(np.zeros(len(boundary)))
            self.next_label.append(np.zeros(len(boundary)))
            self.cell_slot[boundary] = np.arange(slot0, slot0 + len(boundary), dtype=np.int32)
        # Clean cells of the window: one exact test per connected component.
        clean = self.cell_slot[win].reshape(h, w) < 0
        components, count = ndimage.label(clean)
        components = components.ravel()
        labels = np.full(len(win), -2, dtype=np.int32)
        if count:
            ids, firsts_c = np.unique(components, return_index=True)
            firsts_c = firsts_c[ids > 0]
            heads = win[firsts_c]
            owners = np.unique(self.edge_owner[edges]) if len(edges) else np.zeros(0, np.int64)
            # A polygon holding the whole window has no edge in it: the clean cells around.
            ring = self._around(c0, r0, c1, r1)
            outside = self.labels[ring]
            candidates = np.union1d(owners, outside[outside >= 0]).astype(np.int64)
            cx = self.x0 + (heads % self.nx + 0.5) * self.cell
            cy = self.y0 + (heads // self.nx + 0.5) * self.cell
            best = np.full(len(heads), self.size, dtype=np.int64)
            hits = np.zeros(len(heads), dtype=np.int64)
            for i in candidates.tolist():
                geom = self.polygon(i)
                if geom is None or geom.is_empty:
                    continue
                inside = shapely.intersects_xy(geom, cx, cy)
                hits += inside
                best = np.where(inside, np.minimum(best, i), best)
            if (hits > 1).any():
                self.overlapping = True
            comp_label = np.full(count + 1, -2, dtype=np.int32)
            comp_label[components[firsts_c]] = np.where(best < self.size, best, -1)
            labels = comp_label[components]
        self.labels[win] = labels
        # Rays of the window's rows: each boundary cell's next clean cell and its label.
        rows = (np.arange(r0, r1 + 1)[:, None] * self.nx + np.arange(self.nx)).ravel()
        rslots = self.cell_slot[rows]
        bcells = rows[rslots >= 0]
        nxt = _run_ends(bcells, self.nx)
        at_cell = (bcells // self.nx) * self.nx + np.minimum(nxt, self.nx - 1)
        slots_b = rslots[rslots >= 0].astype(np.int64)
        self.next_clean.set(slots_b, nxt)
        self.next_label.set(slots_b, np.where(nxt >= self.nx, -1, self.labels[at_cell]))

    def _around(self, c0: int, r0: int, c1: int, r1: int) -> NDArray[np.int64]:
        """The cells just outside window [c0, c1] × [r0, r1] (those on the raster)."""
        cols = np.arange(max(c0 - 1, 0), min(c1 + 1, self.nx - 1) + 1)
        rows = np.arange(max(r0 - 1, 0), min(r1 + 1, self.ny - 1) + 1)
        out = []
        if r0 > 0:
            out.append((r0 - 1) * self.nx + cols)
        if r1 < self.ny - 1:
            out.append((r1 + 1) * self.nx + cols)
        if c0 > 0:
            out.append(rows * self.nx + c0 - 1)
        if c1 < self.nx - 1:
            out.append(rows * self.nx + c1 + 1)
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def near(self, x: float, y: float, *, rings: int = 256) -> NDArray[np.int64]:
        """The polygons among which the one nearest to (x, y) lies: those met in the rings of
        cells around the point, out to where no nearer one can lie (empty when none is within
        ``rings`` cells; then every polygon with edges is returned)."""
        if self.size == 0 or not (np.isfinite(x) and np.isfinite(y)):
            return np.zeros(0, dtype=np.int64)
        cx = int(np.clip((x - self.x0) // self.cell, 0, self.nx - 1))
        cy = int(np.clip((y - self.y0) // self.cell, 0, self.ny - 1))
        # Cells away from the raster: the clamped cell is this many cells off already.
        off = max(
            abs((x - self.x0) / self.cell - cx - 0.5), abs((y - self.y0) / self.cell - cy - 0.5)
        )
        edge = max(cx, self.nx - 1 - cx, cy, self.ny - 1 - cy)
        r = 0
        while True:
            owners = self._owners(self._box(cx, cy, r))
            if len(owners):
                # A polygon met within r rings is at most r + 1 cells away (diagonally, by
                # sqrt(2)); every nearer one lies within that many rings.
                reach = int(np.ceil((r + 1 + off) * np.sqrt(2) + off)) + 1
                return self._owners(self._box(cx, cy, reach)) if reach > r else owners
            if r >= edge or r >= rings:
                break
            r = min(max(2 * r, 1), edge, rings)
        if r >= edge:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.edge_hi > self.edge_lo).astype(np.int64)

    def _box(self, cx: int, cy: int, r: int) -> NDArray[np.int64]:
        """The cells within ``r`` rings of cell (cx, cy), on the raster."""
        cols = np.arange(max(cx - r, 0), min(cx + r, self.nx - 1) + 1)
        rows = np.arange(max(cy - r, 0), min(cy + r, self.ny - 1) + 1)
        return (rows[:, None] * self.nx + cols).ravel()

    def _owners(self, cells: NDArray[np.int64]) -> NDArray[np.int64]:
        """The polygons with an edge in, or labelled on, any of ``cells``."""
        labels = self.labels[cells]
        slots = self.cell_slot[cells[labels == -2]].astype(np.int64)
        slots = slots[slots >= 0]
        lo, hi = self.slot_lo[slots], self.slot_hi[slots]
        per = hi - lo
        edges = self.cell_edges[np.repeat(lo, per) + _ranks(per)]
        owners = np.union1d(self.edge_owner[edges], labels[labels >= 0]).astype(np.int64)
        alive = self.edge_hi[owners] > self.edge_lo[owners]
        return owners[alive]

    # -- locating -----------------------------------------------------------------------------

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
        with self._lock:
            if len(px) <= chunk:
                return self._locate(px, py)
            # Chunks stay in cache; two threads overlap where numpy lets go of the GIL.
            starts = range(0, len(px), chunk)
            with ThreadPoolExecutor(max(1, threads)) as pool:
                parts = pool.map(
                    lambda i: self._locate(px[i : i + chunk], py[i : i + chunk]), starts
                )
                return np.concatenate(list(parts))

    def locate_one(self, x: float, y: float) -> int:
        """The index of the polygon holding one point, or -1 (no shapely on the common path)."""
        if self.size == 0:
            return -1
        ix = (x - self.x0) / self.cell
        iy = (y - self.y0) / self.cell
        if not (0 <= ix < self.nx and 0 <= iy < self.ny):
            return -1
        cell = int(iy) * self.nx + int(ix)
        with self._lock:
            label = int(self.labels[cell])
            if label != -2:
                return label
            if self.overlapping:
                return int(self._exact_tree(np.array([x]), np.array([y]))[0])
            return self._in_owners(x, y, cell)

    def _in_owners(self, x: float, y: float, cell: int) -> int:
        """One point in a boundary cell: the first polygon with an edge in the cell that holds
        it, by the crossings of a ray over all that polygon's edges (no walk along the cells,
        which can be long where the raster is coarse). While no two polygons overlap, a polygon
        holding a point of a boundary cell has an edge in it."""
        slot = np.array([self.cell_slot[cell]], dtype=np.int64)
        lo, hi = int(self.slot_lo[slot][0]), int(self.slot_hi[slot][0])
        owners = np.unique(self.edge_owner[self.cell_edges[np.arange(lo, hi)]]).astype(np.int64)
        first, last = self.edge_lo[owners], self.edge_hi[owners]
        per = last - first
        ids = np.repeat(first, per) + _ranks(per)
        which = np.repeat(np.arange(len(owners)), per)
        x1, y1, x2, y2 = self.ex1[ids], self.ey1[ids], self.ex2[ids], self.ey2[ids]
        ax, ay, bx, by = x2 - x1, y2 - y1, x - x1, y - y1
        det = ax * by - ay * bx
        unsure = np.abs(det) <= _ORIENT_EPS * (np.abs(ax * by) + np.abs(ay * bx))
        up = (y1 <= y) & (y < y2)
        down = (y2 <= y) & (y < y1)
        crossing = (up & (det > 0)) | (down & (det < 0))
        near = unsure & (
            up
            | down
            | (
                (np.minimum(x1, x2) <= x)
                & (x <= np.maximum(x1, x2))
                & (np.minimum(y1, y2) <= y)
                & (y <= np.maximum(y1, y2))
            )
        )
        odd = np.bincount(which[crossing], minlength=len(owners)) % 2 == 1
        doubt = np.bincount(which[near], minlength=len(owners)) > 0
        for k in range(len(owners)):
            if doubt[k]:
                geom = self.polygon(int(owners[k]))
                if geom is not None and shapely.intersects_xy(geom, x, y):
                    return int(owners[k])
            elif odd[k]:
                return int(owners[k])
        return -1

    def _locate(self, px: NDArray[np.float64], py: NDArray[np.float64]) -> NDArray[np.int64]:
        out = np.full(len(px), -1, dtype=np.int64)
        if self.size == 0 or len(px) == 0:
            return out
        ix = np.floor((px - self.x0) / self.cell)
        iy = np.floor((py - self.y0) / self.cell)
        inside = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        where = np.flatnonzero(inside)
        flat = iy[where].astype(np.int64) * self.nx + ix[where].astype(np.int64)
        label = self.labels[flat]
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

    def _exact_near(
        self, px: NDArray[np.float64], py: NDArray[np.float64], candidates: list[set[int]]
    ) -> NDArray[np.int64]:
        """GEOS for points next to an edge, against their candidate polygons: those with an edge
        in a cell of the point's ray, and the clean cell's at its end (the only ones that can
        hold the point while no clean cell lies in two polygons)."""
        out = np.full(len(px), -1, dtype=np.int64)
        for k in range(len(px)):
            for i in sorted(candidates[k]):
                geom = self.polygon(i)
                if geom is not None and shapely.intersects_xy(geom, px[k], py[k]):
                    out[k] = i
                    break
        return out

    def _exact(
        self, px: NDArray[np.float64], py: NDArray[np.float64], cells: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """Points in boundary cells: a ray to the right, as far as the next clean cell.

        The polygons holding a point are those holding that clean cell (its label), flipped by
        every edge the ray crosses on the way. A point on or next to an edge (the orientation
        within rounding) is left to GEOS. Exact while no clean cell lies in two polygons (checked
        when the index is built; otherwise every such point goes to the tree).
        """
        slot = self.cell_slot[cells].astype(np.int64)
        col = cells % self.nx
        stop = self.next_clean[slot].astype(np.int64)
        # (point, ray cell, edge) triples: each crossing is counted in the one cell its
        # intersection with the ray falls in, so an edge through several ray cells counts once.
        span = stop - col
        pt = np.repeat(np.arange(len(px)), span)
        ray_col = np.repeat(col, span) + _ranks(span)
        rslot = self.cell_slot[np.repeat(cells, span) + (ray_col - np.repeat(col, span))]
        rslot = rslot.astype(np.int64)
        lo, hi = self.slot_lo[rslot], self.slot_hi[rslot]
        per = hi - lo
        pt = np.repeat(pt, per)
        ray_col = np.repeat(ray_col, per)
        e = self.cell_edges[np.repeat(lo, per) + _ranks(per)]
        x, y = px[pt], py[pt]
        x1, y1, x2, y2 = self.ex1[e], self.ey1[e], self.ex2[e], self.ey2[e]
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
        owner = self.edge_owner[e[crossing]].astype(np.int64)
        flips = np.sort(pt[crossing].astype(np.int64) * self.size + owner)
        if len(flips):
            starts = np.flatnonzero(np.r_[True, flips[1:] != flips[:-1]])
            counts = np.diff(np.r_[starts, len(flips)])
            odd = flips[starts][(counts & 1) == 1]
        else:
            odd = flips
        odd_pt, odd_poly = odd // self.size, odd % self.size
        base = self.next_label[slot].astype(np.int64)
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
            candidates: list[set[int]] = [{int(base[k])} - {-1} for k in idx]
            where = np.searchsorted(idx, pt)
            mine = (where < len(idx)) & (idx[np.minimum(where, len(idx) - 1)] == pt)
            for k, i in zip(where[mine].tolist(), self.edge_owner[e[mine]].tolist(), strict=True):
                candidates[k].add(int(i))
            out[idx] = self._exact_near(px[idx], py[idx], candidates)
        return out


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The header of a saved index (``index.json``), with its ``meta``."""
    header: dict[str, Any] = json.loads((Path(path) / "index.json").read_text())
    if header.get("format") != _FORMAT:
        raise ValueError(f"{path}: not a saved index of format {_FORMAT}")
    return header


def _segments(
    polygons: NDArray[Any],
) -> tuple[tuple[NDArray[np.float64], ...], NDArray[np.int64]]:
    """Every ring edge of ``polygons`` as columns x1, y1, x2, y2, with its polygon's index."""
    types = shapely.get_type_id(polygons)
    if (types == 3).all() and not shapely.get_num_interior_rings(polygons).any():
        # Polygons without holes: each one's coordinates are its one closed ring.
        coords, coord_of = shapely.get_coordinates(polygons, return_index=True)
        owner = coord_of
    elif (types == 3).all():  # Polygons: no parts to split
        rings, ring_of = shapely.get_rings(polygons, return_index=True)
        coords, coord_of = shapely.get_coordinates(rings, return_index=True)
        owner = ring_of[coord_of]
    else:
        parts, part_of = shapely.get_parts(polygons, return_index=True)
        rings, ring_of = shapely.get_rings(parts, return_index=True)
        coords, coord_of = shapely.get_coordinates(rings, return_index=True)
        owner = part_of[ring_of][coord_of]
    # Each column gathered straight from the coordinates: no (n, 4) array to copy apart again.
    same = coord_of[1:] == coord_of[:-1]
    x, y = coords[:, 0], coords[:, 1]
    return (
        (x[:-1][same], y[:-1][same], x[1:][same], y[1:][same]),
        owner[:-1][same].astype(np.int64, copy=False),
    )


def _from_edges(
    x1: NDArray[np.float64],
    y1: NDArray[np.float64],
    x2: NDArray[np.float64],
    y2: NDArray[np.float64],
) -> BaseGeometry | None:
    """A polygon's area from its ring edges, by the even-odd rule (shells and holes alike).

    Examples
    --------
    >>> xs, ys = np.array([0.0, 2, 2, 0]), np.array([0.0, 0, 2, 2])
    >>> _from_edges(xs, ys, np.roll(xs, -1), np.roll(ys, -1)).area
    4.0
    """
    if not len(x1):
        return None
    breaks = np.flatnonzero((x2[:-1] != x1[1:]) | (y2[:-1] != y1[1:])) + 1
    bounds = np.r_[0, breaks, len(x1)]
    area: BaseGeometry | None = None
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        ring = shapely.Polygon(
            np.column_stack([np.r_[x1[a:b], x2[b - 1]], np.r_[y1[a:b], y2[b - 1]]])
        )
        area = ring if area is None else area.symmetric_difference(ring)
    return area


def _group_starts(keys: NDArray[np.int64]) -> NDArray[np.int64]:
    """Where each run of equal values begins in sorted ``keys``."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]).astype(np.int64)


def _run_ends(boundary: NDArray[np.int64], nx: int) -> NDArray[np.int64]:
    """For each boundary cell (sorted), the column of the first clean cell to its right (``nx``
    past the end of its row)."""
    nb = len(boundary)
    if not nb:
        return np.zeros(0, dtype=np.int64)
    run_start = np.r_[True, boundary[1:] != boundary[:-1] + 1]
    run_start |= boundary % nx == 0
    run_id = np.cumsum(run_start) - 1
    run_end = np.r_[np.flatnonzero(run_start)[1:], nb] - 1
    last: NDArray[np.int64] = boundary[run_end][run_id]
    return (last % nx + 1).astype(np.int64)


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
