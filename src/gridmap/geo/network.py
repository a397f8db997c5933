"""gridmap.geo.network: turn road centrelines into a routable edge list (source/target nodes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from pyproj import Geod

_GEOD = Geod(ellps="WGS84")
# Vertices closer than this (degrees, about 1 cm) are the same node.
_NODE_DIGITS = 7


@dataclass(frozen=True)
class Edge:
    """One edge between two junctions, in the direction of its source line."""

    line: int
    source: int
    target: int
    coords: tuple[tuple[float, float], ...]
    length_m: float


def _key(xy: Sequence[float]) -> tuple[float, float]:
    return (round(xy[0], _NODE_DIGITS), round(xy[1], _NODE_DIGITS))


def split_at_junctions(lines: Iterable[Sequence[Sequence[float]]]) -> list[Edge]:
    """Split lines wherever a vertex is shared with another line (or the line itself).

    Nodes are numbered 1… in sorted order of their coordinates, so the same lines always give the
    same numbering.

    Examples
    --------
    >>> edges = split_at_junctions([[(0, 0), (1, 0), (2, 0)], [(1, 0), (1, 1)]])
    >>> [(e.line, e.source, e.target) for e in edges]
    [(0, 1, 2), (0, 2, 4), (1, 2, 3)]
    """
    keyed = [[_key(xy) for xy in line] for line in lines]
    use: Counter[tuple[float, float]] = Counter()
    for line in keyed:
        for i, xy in enumerate(line):
            use[xy] += 2 if i in (0, len(line) - 1) else 1
    junctions = {xy for xy, n in use.items() if n >= 2}
    ids = {xy: i for i, xy in enumerate(sorted(junctions), start=1)}
    edges: list[Edge] = []
    for n, line in enumerate(keyed):
        if len(line) < 2:
            continue
        start = 0
        for i in range(1, len(line)):
            if line[i] in junctions:
                part = tuple(line[start : i + 1])
                if len(set(part)) >= 2:
                    lons = [p[0] for p in part]
                    lats = [p[1] for p in part]
                    length = float(_GEOD.line_length(lons, lats))
                    edges.append(Edge(n, ids[part[0]], ids[part[-1]], part, length))
                start = i
    return edges


@dataclass(frozen=True)
class Start:
    """Where a walk joins the network: a point with an edge to each end of its nearest street.

    ``to_source`` and ``to_target`` are the walk from the point to either end of that street
    (to the street, then along it).
    """

    source: int
    target: int
    to_source: float
    to_target: float


class WalkGraph:
    """A walking network held in memory, for the walks of many points at once.

    Every edge may be walked both ways at its length. Each walk starts from a node of its own
    with an edge *out* to either end of its street, so no walk passes through another's start.
    Costs are added up in the order pgRouting adds them (from the start, edge by edge), so the
    junctions reached and their costs are those of ``pgr_drivingDistance``.

    Examples
    --------
    >>> g = WalkGraph([1, 2, 2], [2, 3, 4], [100.0, 50.0, 400.0])
    >>> walks = g.walks([Start(1, 2, 10.0, 90.0), Start(2, 4, 300.0, 100.0)], limit=200.0)
    >>> [{int(n): float(c) for n, c in zip(g.nodes, row) if c < np.inf} for row in walks]
    [{1: 10.0, 2: 90.0, 3: 140.0}, {4: 100.0}]
    """

    def __init__(
        self,
        source: Sequence[int] | np.ndarray,
        target: Sequence[int] | np.ndarray,
        length: Sequence[float] | np.ndarray,
    ) -> None:
        src = np.asarray(source, dtype=np.int64)
        tgt = np.asarray(target, dtype=np.int64)
        cost = np.asarray(length, dtype=np.float64)
        self.nodes = np.unique(np.concatenate([src, tgt]))
        self.source = np.searchsorted(self.nodes, src)
        self.target = np.searchsorted(self.nodes, tgt)
        # Both directions, the shortest of parallel edges only (a sparse matrix would add them).
        rows = np.concatenate([self.source, self.target])
        cols = np.concatenate([self.target, self.source])
        both = np.concatenate([cost, cost])
        keep = rows != cols
        rows, cols, both = rows[keep], cols[keep], both[keep]
        order = np.lexsort((both, cols, rows))
        rows, cols, both = rows[order], cols[order], both[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        self._rows, self._cols, self._cost = rows[first], cols[first], both[first]

    def index(self, node: int) -> int:
        """The position of junction ``node`` in :attr:`nodes` (-1 when it is not there)."""
        at = int(np.searchsorted(self.nodes, node))
        return at if at < len(self.nodes) and self.nodes[at] == node else -1

    def walks(self, starts: Sequence[Start], *, limit: float) -> Iterator[np.ndarray]:
        """For each start in turn, the cost of reaching every junction (as :attr:`nodes`),
        ``inf`` beyond ``limit``. Starts are walked in batches of under ~64 MB of answers.
        """
        n = len(self.nodes)
        batch = max(1, 8_000_000 // max(n, 1))
        for lo in range(0, len(starts), batch):
            chunk = starts[lo : lo + batch]
            k = len(chunk)
            extra = np.arange(n, n + k)
            ends = [
                (self.index(s.source), s.to_source, self.index(s.target), s.to_target)
                for s in chunk
            ]
            a = np.array([e[0] for e in ends], dtype=np.int64)
            b = np.array([e[2] for e in ends], dtype=np.int64)
            ca = np.array([e[1] for e in ends], dtype=np.float64)
            cb = np.array([e[3] for e in ends], dtype=np.float64)
            rows = np.concatenate([self._rows, extra[a >= 0], extra[b >= 0]])
            cols = np.concatenate([self._cols, a[a >= 0], b[b >= 0]])
            cost = np.concatenate([self._cost, ca[a >= 0], cb[b >= 0]])
            # A street whose two ends are one junction: the cheaper way there.
            order = np.lexsort((cost, cols, rows))
            rows, cols, cost = rows[order], cols[order], cost[order]
            first = np.ones(len(rows), dtype=bool)
            first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
            matrix = csr_matrix((cost[first], (rows[first], cols[first])), shape=(n + k, n + k))
            # Explicit zeros stay edges in a sparse graph: a start on a junction costs 0 there.
            reached = dijkstra(matrix, directed=True, indices=extra, limit=limit)
            yield from reached[:, :n]
