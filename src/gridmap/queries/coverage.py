"""gridmap.queries.coverage: the gap/overlap report of one community's grids.

PostGIS hands over the community and its grids; shapely's coverage functions (GEOS ≥ 3.12) do the
geometry in a metric projection; PostGIS then finds the buildings standing in the gaps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func, select, text
from sqlalchemy.orm import Session

import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.errors import InvalidInput, RegionNotFound
from gridmap.geo import coverage as cov
from gridmap.geo.rules import GridRules
from gridmap.geo.shapes import geojson_in
from gridmap.models import Grid, Region

_g = cast(Table, Grid.__table__)
_r = cast(Table, Region.__table__)

# A building stands in a gap when its representative point does (the rule lookups use).
_BUILDINGS_IN = """
SELECT b.code, b.address, b.name,
       coalesce(nullif((SELECT count(*) FROM household h WHERE h.building_id = b.id), 0),
                b.households) AS households,
       ST_X(ST_PointOnSurface(b.geom)) AS lon, ST_Y(ST_PointOnSurface(b.geom)) AS lat
FROM building b, unnest(CAST(:gaps AS bytea[])) AS gap(wkb)
WHERE b.geom && ST_GeomFromWKB(gap.wkb, 4326)
  AND ST_Intersects(ST_GeomFromWKB(gap.wkb, 4326), ST_PointOnSurface(b.geom))
ORDER BY b.code
"""


def _collection(items: list[tuple[BaseGeometry, dict[str, Any]]]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": geojson_in(g, "EPSG:4326"), "properties": props}
            for g, props in items
        ],
    }


def load_community(
    session: Session, community: str, at: datetime | None = None
) -> tuple[str, BaseGeometry, dict[str, BaseGeometry]]:
    """The name and boundary of a community and its grids (current, or valid ``at``), WGS84."""
    row = session.execute(
        select(_r.c.level, _r.c.name, func.ST_AsBinary(_r.c.geom).label("wkb")).where(
            _r.c.code == community
        )
    ).one_or_none()
    if row is None:
        raise RegionNotFound(f"no region with code {community!r}", region=community)
    if row.level != "community":
        raise InvalidInput(f"{community} is a {row.level}; coverage is checked per community")
    if row.wkb is None:
        raise InvalidInput(f"community {community} has no boundary in gridmap to check against")
    valid: list[ColumnElement[bool]] = (
        [_g.c.valid_to.is_(None)]
        if at is None
        else [_g.c.valid_from <= at, _g.c.valid_to.is_(None) | (_g.c.valid_to > at)]
    )
    grids = {
        r.code: shapely.from_wkb(bytes(r.wkb))
        for r in session.execute(
            select(_g.c.code, func.ST_AsBinary(_g.c.geom).label("wkb"))
            .where(_g.c.community_code == community, *valid)
            .order_by(_g.c.code)
        )
    }
    return row.name, shapely.from_wkb(bytes(row.wkb)), grids


def community_coverage(
    session: Session, *, community: str, rules: GridRules, at: datetime | None = None
) -> dict[str, Any]:
    """Is the community fully and exactly covered by its grids? Every finding, with its area."""
    name, area, grids = load_community(session, community, at)
    report = cov.check_coverage(
        area,
        grids,
        tolerance_m2=rules.tolerance_m2,
        sliver_m=rules.sliver_m,
        edge_m=rules.edge_m,
        frame=cov.Frame.around(area),
    )
    gaps = [g for g, _a in report.gaps]
    buildings = (
        [
            dict(r._mapping)
            # Kept as SQL: the gaps arrive as one WKB array, unnested and tested against each
            # building's representative point behind a bounding-box test.
            for r in session.execute(
                text(_BUILDINGS_IN), {"gaps": [shapely.to_wkb(g) for g in gaps]}
            )
        ]
        if gaps
        else []
    )
    return {
        "community": {"code": community, "name": name},
        "at": at.isoformat() if at else None,
        "grids": len(grids),
        "exact": report.exact,
        "valid_coverage": not report.invalid_edges,
        "covered_share": round(report.covered_share, 6),
        "community_area_m2": round(report.community_area_m2, 1),
        "covered_area_m2": round(report.covered_area_m2, 1),
        "tolerance": {
            "area_m2": rules.tolerance_m2,
            "sliver_m": rules.sliver_m,
            "edge_m": rules.edge_m,
        },
        "gaps": _collection([(g, {"area_m2": round(a, 1)}) for g, a in report.gaps]),
        "overlaps": _collection(
            [
                (o.geom, {"grids": [o.a, o.b], "area_m2": round(o.area_m2, 1)})
                for o in report.overlaps
            ]
        ),
        "outside": _collection(
            [(g, {"grid": c, "area_m2": round(a, 1)}) for c, g, a in report.outside]
        ),
        "invalid_edges": _collection(
            [(e, {"grid": c, "length_m": round(n, 1)}) for c, e, n in report.invalid_edges]
        ),
        "buildings_in_gaps": buildings,
        "households_in_gaps": sum(int(b["households"] or 0) for b in buildings),
    }
