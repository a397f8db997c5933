"""gridmap.geo.coverage: do a community's grids cover it exactly (全覆盖: 纵到底、横到边)?

The overlay work (union, difference, intersection, snapping) runs in the CRS the geometries are
stored in, so a result shares its neighbours' vertices exactly; each piece it finds is then
*measured* in a metric frame (:class:`Frame`). A piece of gap, overlap or spill counts only when
it is larger than ``tolerance_m2`` *and* not narrower than ``sliver_m``: digitising noise
(hairline slivers along shared edges) is not a finding, a missing courtyard is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from gridmap.geo.metric import transformer, utm_epsg
from gridmap.geo.partition import polygonal

TOLERANCE_M2 = 1.0
SLIVER_M = 0.5
EDGE_M = 1.0


@dataclass(frozen=True)
class Frame:
    """How to measure geometries of some CRS in metres.

    ``to_metric`` maps a geometry into a metric CRS; ``unit_m`` is how many metres one unit of
    the source CRS is at least (so a distance in metres becomes a safe tolerance in its units).
    """

    to_metric: Callable[[BaseGeometry], BaseGeometry] = lambda g: g
    unit_m: float = 1.0

    def units(self, metres: float) -> float:
        """A distance in metres as a distance in the source CRS."""
        return metres / self.unit_m

    @classmethod
    def lonlat(cls, lon: float, lat: float) -> Frame:
        """The frame of WGS84 lon/lat near (lon, lat): its UTM zone, and metres per degree."""
        fwd = transformer(4326, utm_epsg(lon, lat))

        def to_metric(g: BaseGeometry) -> BaseGeometry:
            return shapely.transform(
                g, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1]))
            )

        # A degree of longitude shrinks with latitude; take the smaller so tolerances stay safe.
        return cls(to_metric, 111_320.0 * min(1.0, np.cos(np.radians(abs(lat)))))

    @classmethod
    def around(cls, geom: BaseGeometry) -> Frame:
        """The lon/lat frame of a WGS84 geometry's centre."""
        centre = geom.centroid
        return cls.lonlat(centre.x, centre.y)


METRIC = Frame()


def _parts(geom: BaseGeometry) -> list[BaseGeometry]:
    geom = polygonal(geom)
    if geom.is_empty:
        return []
    return list(getattr(geom, "geoms", [geom]))


def area_m2(geom: BaseGeometry, frame: Frame = METRIC) -> float:
    """Area of ``geom`` in m²."""
    return float(frame.to_metric(geom).area) if not geom.is_empty else 0.0


def significant(
    geom: BaseGeometry,
    *,
    tolerance_m2: float = TOLERANCE_M2,
    sliver_m: float = SLIVER_M,
    frame: Frame = METRIC,
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
        m = frame.to_metric(part)
        if m.area <= tolerance_m2:
            continue
        # A part that vanishes when shrunk by half the sliver width is narrower than it.
        if sliver_m > 0 and m.buffer(-sliver_m / 2, join_style="mitre").is_empty:
            continue
        out.append(part)
    return out


@dataclass
class Overlap:
    """Two grids sharing area."""

    a: str
    b: str
    geom: BaseGeometry
    area_m2: float


@dataclass
class CoverageReport:
    """How a community's grids cover it; geometries in the input CRS, measures in metres."""

    community_area_m2: float
    covered_area_m2: float
    gaps: list[tuple[BaseGeometry, float]] = field(default_factory=list)
    overlaps: list[Overlap] = field(default_factory=list)
    outside: list[tuple[str, BaseGeometry, float]] = field(default_factory=list)
    invalid_edges: list[tuple[str, BaseGeometry, float]] = field(default_factory=list)

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
    frame: Frame = METRIC,
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
    outside = polygonal(shapely.difference(grid, community))
    if outside.is_empty:
        return None
    far = shapely.difference(
        frame.to_metric(outside), frame.to_metric(community).buffer(edge_m, join_style="mitre")
    )
    if not significant(far, tolerance_m2=tolerance_m2, sliver_m=sliver_m):
        return None
    return outside


def overlaps_among(
    grids: Mapping[str, BaseGeometry],
    *,
    tolerance_m2: float = TOLERANCE_M2,
    sliver_m: float = SLIVER_M,
    frame: Frame = METRIC,
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
            shapely.intersection(geoms[i], geoms[j]),
            tolerance_m2=tolerance_m2,
            sliver_m=sliver_m,
            frame=frame,
        )
        if shared:
            piece = shapely.union_all(shared)
            out.append(Overlap(codes[i], codes[j], piece, area_m2(piece, frame)))
    return out


def check_coverage(
    community: BaseGeometry,
    grids: Mapping[str, BaseGeometry],
    *,
    tolerance_m2: float = TOLERANCE_M2,
    sliver_m: float = SLIVER_M,
    edge_m: float = EDGE_M,
    frame: Frame = METRIC,
) -> CoverageReport:
    """Gaps, overlaps, spills and mismatched shared edges of ``grids`` over ``community``.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> r = check_coverage(box(0, 0, 100, 100), {"001": box(0, 0, 50, 100),
    ...                                         "002": box(50, 0, 100, 90)})
    >>> round(r.covered_share, 3), [round(a) for _g, a in r.gaps], r.overlaps
    (0.95, [500], [])
    >>> r = check_coverage(box(0, 0, 100, 100), {"001": box(0, 0, 60, 100),
    ...                                         "002": box(50, 0, 100, 100)})
    >>> [(o.a, o.b, round(o.area_m2)) for o in r.overlaps], r.exact
    ([('001', '002', 1000)], False)
    """
    union = shapely.union_all(list(grids.values())) if grids else Polygon()
    report = CoverageReport(
        community_area_m2=area_m2(community, frame),
        covered_area_m2=area_m2(polygonal(shapely.intersection(community, union)), frame),
    )
    report.gaps = [
        (g, area_m2(g, frame))
        for g in significant(
            shapely.difference(community, union),
            tolerance_m2=tolerance_m2,
            sliver_m=sliver_m,
            frame=frame,
        )
    ]
    report.overlaps = overlaps_among(
        grids, tolerance_m2=tolerance_m2, sliver_m=sliver_m, frame=frame
    )
    for code in sorted(grids):
        out = spill(
            grids[code],
            community,
            edge_m=edge_m,
            tolerance_m2=tolerance_m2,
            sliver_m=sliver_m,
            frame=frame,
        )
        if out is not None:
            report.outside.append((code, out, area_m2(out, frame)))
    if grids:
        codes = sorted(grids)
        edges = shapely.coverage_invalid_edges(
            [grids[c] for c in codes], gap_width=frame.units(sliver_m)
        )
        report.invalid_edges = [
            (c, e, float(frame.to_metric(e).length))
            for c, e in zip(codes, edges, strict=True)
            if e is not None and not e.is_empty
        ]
    return report


@dataclass
class Fit:
    """What :func:`fit_grid` did to a proposed grid (areas in m²)."""

    geom: BaseGeometry
    area_before_m2: float
    area_after_m2: float = 0.0
    clipped_outside_m2: float = 0.0
    removed_overlap_m2: dict[str, float] = field(default_factory=dict)
    filled_gap_m2: float = 0.0
    dropped_parts: int = 0

    def changes(self) -> dict[str, object]:
        """The changes as a JSON-friendly dict (areas rounded to 0.1 m²)."""
        return {
            "area_before_m2": round(self.area_before_m2, 1),
            "area_after_m2": round(self.area_after_m2, 1),
            "clipped_outside_community_m2": round(self.clipped_outside_m2, 1),
            "removed_overlap_m2": {
                k: round(v, 1) for k, v in sorted(self.removed_overlap_m2.items())
            },
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
    frame: Frame = METRIC,
) -> Fit:
    """Fit a proposed grid into its community beside its siblings, changing only the proposal.

    Vertices within ``snap_m`` of a sibling's or the community's edge are snapped onto it; the
    result is clipped to the community, what siblings already hold is taken out, and slivers of
    gap narrower than ``snap_m`` left between the grid and its neighbours are filled.

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
    >>> fit = fit_grid(box(50.3, 0, 100, 100), community, west, snap_m=0.2)
    >>> fit.geom.bounds, round(fit.filled_gap_m2)
    ((50.0, 0.0, 100.0, 100.0), 30)
    """
    fit = Fit(geom=proposed, area_before_m2=area_m2(proposed, frame))
    snap = frame.units(snap_m)
    edges: list[BaseGeometry] = [community.boundary, *(g.boundary for g in siblings.values())]
    geom = shapely.snap(proposed, shapely.union_all(edges), snap) if snap > 0 else proposed
    geom = shapely.make_valid(geom)
    fit.clipped_outside_m2 = area_m2(polygonal(shapely.difference(geom, community)), frame)
    geom = polygonal(shapely.intersection(geom, community))
    for code in sorted(siblings):
        shared = polygonal(shapely.intersection(geom, siblings[code]))
        if not shared.is_empty and area_m2(shared, frame) > 1e-4:
            fit.removed_overlap_m2[code] = area_m2(shared, frame)
            geom = polygonal(shapely.difference(geom, siblings[code]))
    if not geom.is_empty:
        fill = _narrow_gaps_beside(geom, community, siblings, max(snap_m, sliver_m), frame)
        if fill:
            fit.filled_gap_m2 = sum(area_m2(p, frame) for p in fill)
            geom = polygonal(shapely.union_all([geom, *fill]))
    kept = significant(geom, tolerance_m2=tolerance_m2, sliver_m=sliver_m, frame=frame)
    fit.dropped_parts = len(_parts(geom)) - len(kept)
    fit.geom = shapely.union_all(kept) if kept else Polygon()
    fit.area_after_m2 = area_m2(fit.geom, frame)
    return fit


def _narrow_gaps_beside(
    geom: BaseGeometry,
    community: BaseGeometry,
    siblings: Mapping[str, BaseGeometry],
    width_m: float,
    frame: Frame,
) -> list[BaseGeometry]:
    """Free slivers narrower than ``width_m`` that run along ``geom`` (not ones that touch it at
    a corner), i.e. the gaps a hand-drawn edge leaves against its neighbour."""
    free = _parts(shapely.difference(community, shapely.union_all([geom, *siblings.values()])))
    out = []
    for part in free:
        m = frame.to_metric(part)
        if not m.buffer(-width_m / 2, join_style="mitre").is_empty:
            continue
        along = shapely.intersection(part.boundary, geom.boundary)
        if frame.to_metric(along).length >= 0.25 * m.length:
            out.append(part)
    return out
