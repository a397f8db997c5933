"""gridmap.queries.regions: the district → street → community hierarchy as GeoJSON."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.errors import RegionNotFound
from gridmap.queries import feature_collection_sql

_FEATURES = feature_collection_sql("""
    SELECT r.code, r.level, r.name, r.official_name, r.parent_code,
           (SELECT count(*) FROM grid g WHERE g.valid_to IS NULL
               AND left(g.code, length(r.code)) = r.code) AS grid_count,
           ST_X(r.label_point) AS label_lon, ST_Y(r.label_point) AS label_lat,
           CASE WHEN :with_geometry THEN
               CASE WHEN :simplify > 0 THEN ST_SimplifyPreserveTopology(r.geom, :simplify)
                    ELSE r.geom END
           END AS geom
    FROM region r
    WHERE (CAST(:level AS text) IS NULL OR r.level = :level)
      AND (CAST(:parent AS text) IS NULL OR r.parent_code = :parent)
      AND (CAST(:code AS text) IS NULL OR r.code = :code)
    ORDER BY r.code
    LIMIT :limit OFFSET :offset
""")

_COUNT = """
SELECT count(*) FROM region r
WHERE (CAST(:level AS text) IS NULL OR r.level = :level)
  AND (CAST(:parent AS text) IS NULL OR r.parent_code = :parent)
"""


def list_regions(
    session: Session,
    *,
    level: str | None,
    parent: str | None,
    limit: int,
    offset: int,
    with_geometry: bool = True,
    simplify: float = 0.0,
) -> dict[str, Any]:
    """A page of regions as a FeatureCollection with ``numberMatched``."""
    params = {
        "level": level,
        "parent": parent,
        "code": None,
        "limit": limit,
        "offset": offset,
        "with_geometry": with_geometry,
        "simplify": simplify,
    }
    features = session.execute(text(_FEATURES), params).scalar_one()
    matched = session.execute(text(_COUNT), params).scalar_one()
    return {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(features),
        "features": features,
    }


def get_region(session: Session, *, code: str) -> dict[str, Any]:
    """One region as a Feature, with its children's codes."""
    params = {
        "level": None,
        "parent": None,
        "code": code,
        "limit": 1,
        "offset": 0,
        "with_geometry": True,
        "simplify": 0.0,
    }
    features = session.execute(text(_FEATURES), params).scalar_one()
    if not features:
        raise RegionNotFound(f"no region with code {code!r}", region=code)
    feature: dict[str, Any] = features[0]
    children = (
        session.execute(
            text("SELECT code FROM region WHERE parent_code = :code ORDER BY code"), {"code": code}
        )
        .scalars()
        .all()
    )
    feature["properties"]["children"] = list(children)
    return feature
