"""gridmap.geo.network: turn road centrelines into a routable edge list (source/target nodes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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
