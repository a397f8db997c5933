"""gridmap.queries.grids: grids (current versions) as GeoJSON."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.errors import GridNotFound
from gridmap.queries import feature_collection_sql

_WHERE = """
WHERE g.valid_to IS NULL
  AND (CAST(:community AS text) IS NULL OR g.community_code = :community)
  AND (CAST(:street AS text) IS NULL OR left(g.community_code, 9) = :street)
  AND (CAST(:kind AS text) IS NULL OR g.kind = :kind)
  AND (CAST(:code AS text) IS NULL OR g.code = :code)
  AND (CAST(:west AS float8) IS NULL
       OR g.geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326))
"""

_FEATURES = feature_collection_sql(f"""
    SELECT g.code, g.name, g.kind, g.subtype, g.community_code,
           c.name AS community_name, left(g.community_code, 9) AS street_code,
           s.name AS street_name, g.households, g.version, g.valid_from, g.source,
           round(ST_Area(g.geom::geography)::numeric, 1) AS area_m2,
           ST_X(ST_PointOnSurface(g.geom)) AS label_lon,
           ST_Y(ST_PointOnSurface(g.geom)) AS label_lat,
           g.geom
    FROM grid g
    JOIN region c ON c.code = g.community_code
    LEFT JOIN region s ON s.code = c.parent_code
    {_WHERE}
    ORDER BY g.code
    LIMIT :limit OFFSET :offset
""")


def _params(**kw: Any) -> dict[str, Any]:
    bbox = kw.pop("bbox", None)
    west, south, east, north = bbox if bbox else (None, None, None, None)
    base = {"community": None, "street": None, "kind": None, "code": None, "limit": 1, "offset": 0}
    return {**base, **kw, "west": west, "south": south, "east": east, "north": north}


def list_grids(
    session: Session,
    *,
    community: str | None,
    street: str | None,
    kind: str | None,
    bbox: tuple[float, float, float, float] | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """A page of current grids as a FeatureCollection with ``numberMatched``."""
    params = _params(
        community=community, street=street, kind=kind, bbox=bbox, limit=limit, offset=offset
    )
    features = session.execute(text(_FEATURES), params).scalar_one()
    matched = session.execute(text(f"SELECT count(*) FROM grid g {_WHERE}"), params).scalar_one()
    return {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(features),
        "features": features,
    }


def get_grid(session: Session, *, code: str) -> dict[str, Any]:
    """The current version of one grid as a Feature."""
    features = session.execute(text(_FEATURES), _params(code=code)).scalar_one()
    if not features:
        raise GridNotFound(f"no current grid with code {code!r}", grid=code)
    return features[0]  # type: ignore[no-any-return]
