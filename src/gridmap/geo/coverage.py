"""gridmap.geo.coverage: do a community's grids cover it exactly (全覆盖: 纵到底、横到边)?

All inputs are in a metric CRS, so areas are m² and widths metres. A piece of gap, overlap or
spill counts only when it is larger than ``tolerance_m2`` *and* wider than ``sliver_m``: digitising
noise (hairline slivers along shared edges) is not a finding, a missing courtyard is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from gridmap.geo.partition import polygonal

TOLERANCE_M2 = 1.0
SLIVER_M = 0.5
EDGE_M = 1.0


def _parts(geom: BaseGeometry) -> list[BaseGeometry]:
    geom = polygonal(geom)
    if geom.is_empty:
        return []
    return list(getattr(geom, "geoms", [geom]))


def significant(
    geom: BaseGeometry, *, tolerance_m2: float = TOLERANCE_M2, sliver_m: float = SLIVER_M
) -> list[BaseGeometry]:
    """The parts of ``geom`` larger than ``tolerance_m2`` and not narrower than ``sliver_m``.

    Examples
    --------
    >>> from shapely.geometry import box, MultiPolygon
    >>> g = MultiPolygon([box(0, 0, 10, 10), box(20, 0, 20.3, 100), box(30, 0, 30.5, 0.5)])
    >>> [round(p.area, 2) for p in significant(g)]
    [100.0]
    """
    out = []
    for part in _parts(geom):
        if part.area <= tolerance_m2:
            continue
        # A part that vanishes when shrunk by half the sliver width is narrower than it.
        if sliver_m > 0 and part.buffer(-sliver_m / 2, join_style="mitre").is_empty:
            continue
        out.append(part)
    return out


@dataclass
class Overlap:
    """Two grids sharing area."""

    a: str
    b: str
    geom: BaseGeometry

    @property
    def area_m2(self) -> float:
        """Area of the overlap."""
        return float(self.geom.area)


@dataclass
class CoverageReport:
    """How a community's grids cover it."""

    community_area_m2: float
    covered_area_m2: float
    gaps: list[BaseGeometry] = field(default_factory=list)
    overlaps: list[Overlap] = field(default_factory=list)
    outside: list[tuple[str, BaseGeometry]] = field(default_factory=list)
    invalid_edges: list[tuple[str, BaseGeometry]] = field(default_factory=list)

    @property
    def covered_share(self) -> float:
        """Share of the community's area inside some grid (0 … 1)."""
        if self.community_area_m2 <= 0:
            return 0.0
        return min(1.0, self.covered_area_m2 / self.community_area_m2)

    @property
    def exact(self) -> bool:
        """No gap, overlap or spill beyond the tolerances."""
        return not (self.gaps or self.overlaps or self.outside)


def spill(
    grid: BaseGeometry,
    community: BaseGeometry,
    *,
    edge_m: float = EDGE_M,
    tolerance_m2: float = TOLERANCE_M2,
    sliver_m: float = SLIVER_M,
) -> BaseGeometry | None:
    """The part of ``grid`` outside ``community``, when some of it lies beyond ``edge_m``.

    Grids drawn by hand along a community edge wander by a metre or so; only a grid that
    reaches further out than that is spilling. Returns all of the grid outside the community
    (so the caller can say how much), or None.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> spill(box(0, 0, 10.8, 10), box(0, 0, 10, 10)) is None
    True
    >>> round(spill(box(0, 0, 13, 10), box(0, 0, 10, 10)).area)
    30
    """
    if not significant(
        shapely.difference(grid, community.buffer(edge_m)),
        tolerance_m2=tolerance_m2,
        sliver_m=sliver_m,
    ):
        return None
    return polygonal(shapely.difference(grid, community))


def overlaps_among(
    grids: Mapping[str, BaseGeometry],
    *,
    tolerance_m2: float = TOLERANCE_M2,
    sliver_m: float = SLIVER_M,
) -> list[Overlap]:
    """Every pair of grids whose shared area is significant, each pair once (codes in order)."""
    codes = sorted(grids)
    geoms = [grids[c] for c in codes]
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    out = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        shared = significant(
            shapely.intersection(geoms[i], geoms[j]), tolerance_m2=tolerance_m2, sliver_m=sliver_m
        )
        if shared:
            out.append(Overlap(codes[i], codes[j], shapely.union_all(shared)))
    return out


def check_coverage(
    community: BaseGeometry,
    grids: Mapping[str, BaseGeometry],
    *,
    tolerance_m2: float = TOLERANCE_M2,
    sliver_m: float = SLIVER_M,
    edge_m: float = EDGE_M,
) -> CoverageReport:
    """Gaps, overlaps, spills and mismatched shared edges of ``grids`` over ``community``.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> r = check_coverage(box(0, 0, 100, 100), {"001": box(0, 0, 50, 100),
    ...                                         "002": box(50, 0, 100, 90)})
    >>> round(r.covered_share, 3), [round(g.area) for g in r.gaps], r.overlaps
    (0.95, [500], [])
    >>> r = check_coverage(box(0, 0, 100, 100), {"001": box(0, 0, 60, 100),
    ...                                         "002": box(50, 0, 100, 100)})
    >>> [(o.a, o.b, round(o.area_m2)) for o in r.overlaps], r.exact
    ([('001', '002', 1000)], False)
    """
    union = shapely.union_all(list(grids.values())) if grids else Polygon()
    covered = shapely.intersection(community, union).area if grids else 0.0
    report = CoverageReport(community_area_m2=float(community.area), covered_area_m2=float(covered))
    report.gaps = significant(
        shapely.difference(community, union), tolerance_m2=tolerance_m2, sliver_m=sliver_m
    )
    report.overlaps = overlaps_among(grids, tolerance_m2=tolerance_m2, sliver_m=sliver_m)
    for code in sorted(grids):
        out = spill(
            grids[code], community, edge_m=edge_m, tolerance_m2=tolerance_m2, sliver_m=sliver_m
        )
        if out is not None:
            report.outside.append((code, out))
    if grids:
        codes = sorted(grids)
        edges = shapely.coverage_invalid_edges([grids[c] for c in codes], gap_width=sliver_m)
        report.invalid_edges = [
            (c, e) for c, e in zip(codes, edges, strict=True) if e is not None and not e.is_empty
        ]
    return report


@dataclass
class Fit:
    """What :func:`fit_grid` did to a proposed grid."""

    geom: BaseGeometry
    area_before_m2: float
    clipped_outside_m2: float = 0.0
    removed_overlap_m2: dict[str, float] = field(default_factory=dict)
    filled_gap_m2: float = 0.0
    dropped_parts: int = 0

    def changes(self) -> dict[str, object]:
        """The changes as a JSON-friendly dict (areas rounded to 0.1 m²)."""
        return {
            "area_before_m2": round(self.area_before_m2, 1),
            "area_after_m2": round(float(self.geom.area), 1),
            "clipped_outside_community_m2": round(self.clipped_outside_m2, 1),
            "removed_overlap_m2": {k: round(v, 1) for k, v in sorted(self.removed_overlap_m2.items())},
            "filled_gap_m2": round(self.filled_gap_m2, 1),
            "dropped_parts": self.dropped_parts,
        }


def fit_grid(
    proposed: BaseGeometry,
    community: BaseGeometry,
    siblings: Mapping[str, BaseGeometry],
    *,
    snap_m: float = 1.0,
    tolerance_m2: float = TOLERANCE_M2,
    sliver_m: float = SLIVER_M,
) -> Fit:
    """Fit a proposed grid into its community beside its siblings, changing only the proposal.

    Vertices within ``snap_m`` of a sibling's or the community's edge are snapped onto it; the
    result is clipped to the community, what siblings already hold is taken out, and gaps
    between the grid and its neighbours narrower than ``snap_m`` are filled.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> community, west = box(0, 0, 100, 100), {"001": box(0, 0, 50, 100)}
    >>> fit = fit_grid(box(49.6, 0, 100, 100.4), community, west)
    >>> fit.geom.bounds, round(fit.geom.area), fit.changes()["removed_overlap_m2"]
    ((50.0, 0.0, 100.0, 100.0), 5000, {})
    >>> fit = fit_grid(box(40, 0, 100, 110), community, west)
    >>> round(fit.geom.area), fit.changes()["removed_overlap_m2"], fit.clipped_outside_m2
    (5000, {'001': 1000.0}, 600.0)
    """
    fit = Fit(geom=proposed, area_before_m2=float(proposed.area))
    edges: list[BaseGeometry] = [community.boundary, *(g.boundary for g in siblings.values())]
    geom = shapely.snap(proposed, shapely.union_all(edges), snap_m) if snap_m > 0 else proposed
    geom = shapely.make_valid(geom)
    fit.clipped_outside_m2 = float(shapely.difference(geom, community).area)
    geom = polygonal(shapely.intersection(geom, community))
    for code in sorted(siblings):
        shared = shapely.intersection(geom, siblings[code]).area
        if shared > 1e-6:
            fit.removed_overlap_m2[code] = float(shared)
            geom = polygonal(shapely.difference(geom, siblings[code]))
    if snap_m > 0 and not geom.is_empty:
        taken = shapely.union_all([geom, *siblings.values()])
        free = _parts(shapely.difference(community, taken))
        narrow = [
            p for p in free
            if p.buffer(-snap_m / 2, join_style="mitre").is_empty
            and p.distance(geom) < 1e-6
        ]
        if narrow:
            fit.filled_gap_m2 = float(sum(p.area for p in narrow))
            geom = polygonal(shapely.union_all([geom, *narrow]))
    kept = significant(geom, tolerance_m2=tolerance_m2, sliver_m=sliver_m)
    fit.dropped_parts = len(_parts(geom)) - len(kept)
    fit.geom = shapely.union_all(kept) if kept else Polygon()
    return fit


def union_of(geoms: Iterable[BaseGeometry]) -> BaseGeometry:
    """Union of geometries (empty polygon for none)."""
    items = list(geoms)
    return shapely.union_all(items) if items else Polygon()
