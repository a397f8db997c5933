"""gridmap.queries: the spatial SQL, one module per resource; PostGIS builds the answers."""


def feature_collection_sql(rows: str, *, order_by: str = "code") -> str:
    """SQL that turns the rows of ``rows`` (a SELECT with a ``geom`` column) into a JSON array
    of GeoJSON Features, every other column a property, in ``order_by`` order.

    ``ST_AsGeoJSON(record)`` writes the properties itself; a row without geometry becomes a
    Feature with ``"geometry": null`` (RFC 7946) rather than PostGIS's ``{"type": null}``.
    """
    return f"""
WITH chosen AS ({rows})
SELECT coalesce(json_agg(
    CASE WHEN chosen.geom IS NULL
         THEN json_build_object('type', 'Feature', 'geometry', NULL,
                                'properties', to_jsonb(chosen) - 'geom')
         ELSE ST_AsGeoJSON(chosen.*, 'geom', 7)::json END
    ORDER BY chosen.{order_by}), '[]')
FROM chosen
"""
