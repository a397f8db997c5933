"""gridmap.queries.grids: grids (current versions) as GeoJSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.errors import GridNotFound
from gridmap.queries import feature_collection_sql

# Without :at, the current versions; with it, the versions valid at that instant.
_WHERE = """
WHERE (CASE WHEN CAST(:at AS timestamptz) IS NULL THEN g.valid_to IS NULL
            ELSE g.valid_from <= CAST(:at AS timestamptz)
                 AND (g.valid_to IS NULL OR g.valid_to > CAST(:at AS timestamptz)) END)
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
           s.name AS street_name, g.households, g.version, g.valid_from, g.valid_to,
           g.changed_by, g.note, g.source,
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
    base = {
        "community": None,
        "street": None,
        "kind": None,
        "code": None,
        "at": None,
        "limit": 1,
        "offset": 0,
    }
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
    at: datetime | None = None,
) -> dict[str, Any]:
    """A page of grids (current, or as they were ``at``) as a FeatureCollection."""
    params = _params(
        community=community,
        street=street,
        kind=kind,
        bbox=bbox,
        limit=limit,
        offset=offset,
        at=at,
    )
    features = session.execute(text(_FEATURES), params).scalar_one()
    matched = session.execute(text(f"SELECT count(*) FROM grid g {_WHERE}"), params).scalar_one()
    return {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(features),
        "features": features,
    }


def get_grid(session: Session, *, code: str, at: datetime | None = None) -> dict[str, Any]:
    """One grid as a Feature: its current version, or the one valid ``at``."""
    features = session.execute(text(_FEATURES), _params(code=code, at=at)).scalar_one()
    if not features:
        when = f" at {at.isoformat()}" if at else ""
        known = session.execute(
            text(
                "SELECT min(valid_from), max(valid_to), bool_or(valid_to IS NULL) FROM grid "
                "WHERE code = :c"
            ),
            {"c": code},
        ).one()
        if known[0] is None:
            raise GridNotFound(f"no grid with code {code!r}", grid=code)
        raise GridNotFound(
            f"grid {code} did not exist{when}: it was valid from {known[0].isoformat()}"
            + ("" if known[2] else f" until {known[1].isoformat()}"),
            grid=code,
            valid_from=known[0].isoformat(),
            valid_to=None if known[2] else known[1].isoformat(),
        )
    return features[0]  # type: ignore[no-any-return]


_HISTORY = feature_collection_sql(
    """
    SELECT g.code, g.version, g.name, g.kind, g.subtype, g.community_code, g.households,
           g.valid_from, g.valid_to, g.changed_by, g.note, g.source,
           round(ST_Area(g.geom::geography)::numeric, 1) AS area_m2,
           CASE WHEN :geometry THEN g.geom END AS geom
    FROM grid g WHERE g.code = :code
    """,
    order_by="version",
)


def grid_history(session: Session, *, code: str, geometry: bool = True) -> dict[str, Any]:
    """Every version of a grid, oldest first, with who made it and when."""
    features = session.execute(text(_HISTORY), {"code": code, "geometry": geometry}).scalar_one()
    if not features:
        raise GridNotFound(f"no grid with code {code!r}", grid=code)
    return {
        "type": "FeatureCollection",
        "code": code,
        "numberMatched": len(features),
        "numberReturned": len(features),
        "features": features,
    }
