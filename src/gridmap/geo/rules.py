"""gridmap.geo.rules: the coverage rule and code format grid writes are held to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shapely.geometry.base import BaseGeometry

from gridmap.geo import coverage as cov

if TYPE_CHECKING:
    from gridmap.settings import ApiSettings


@dataclass(frozen=True)
class GridRules:
    """The coverage rule and code format writes are held to."""

    code_width: int = 3
    tolerance_m2: float = cov.TOLERANCE_M2
    sliver_m: float = cov.SLIVER_M
    edge_m: float = cov.EDGE_M
    snap_m: float = 1.0
    # How close (m) a written vertex must come to a neighbour's vertex or edge to be noded to it.
    node_m: float = 0.05

    @classmethod
    def from_settings(cls, api: ApiSettings) -> GridRules:
        """The rules a deployment is configured with."""
        return cls(
            code_width=api.grid_code_width,
            tolerance_m2=api.grid_tolerance_m2,
            sliver_m=api.grid_sliver_m,
            snap_m=api.grid_snap_m,
        )

    def fit(
        self,
        grid: BaseGeometry,
        community: BaseGeometry,
        siblings: Mapping[str, BaseGeometry],
        frame: cov.Frame,
    ) -> cov.Fit:
        """:func:`gridmap.geo.coverage.fit_grid` under these rules."""
        return cov.fit_grid(
            grid,
            community,
            siblings,
            snap_m=self.snap_m,
            tolerance_m2=self.tolerance_m2,
            sliver_m=self.sliver_m,
            frame=frame,
        )

    def spill(
        self, grid: BaseGeometry, community: BaseGeometry, frame: cov.Frame
    ) -> BaseGeometry | None:
        """:func:`gridmap.geo.coverage.spill` under these rules."""
        return cov.spill(
            grid,
            community,
            edge_m=self.edge_m,
            tolerance_m2=self.tolerance_m2,
            sliver_m=self.sliver_m,
            frame=frame,
        )

    def significant(self, geom: BaseGeometry, frame: cov.Frame) -> list[BaseGeometry]:
        """:func:`gridmap.geo.coverage.significant` under these rules."""
        return cov.significant(
            geom, tolerance_m2=self.tolerance_m2, sliver_m=self.sliver_m, frame=frame
        )
