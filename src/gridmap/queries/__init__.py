"""gridmap.queries: the spatial SQL, one module per resource; PostGIS builds the answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session


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


def feature_page(
    session: Session,
    *,
    rows: str,
    count: str,
    where: str,
    params: dict[str, Any],
    order: str,
    mask: Callable[[dict[str, Any]], dict[str, Any]] = lambda f: f,
) -> dict[str, Any]:
    """A page of GeoJSON: ``rows`` (a SELECT with ``geom``) filtered by ``where``, in ``order``
    (``alias.column [DESC]`` of ``rows``, a column it also outputs), with ``numberMatched``
    counted over ``count`` (a FROM clause) and each feature passed through ``mask``."""
    features = session.execute(
        text(
            feature_collection_sql(
                f"{rows} {where} ORDER BY {order} LIMIT :limit OFFSET :offset",
                order_by=order.split(".")[-1],
            )
        ),
        params,
    ).scalar_one()
    matched = session.execute(text(f"SELECT count(*) FROM {count} {where}"), params).scalar_one()
    return {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(features),
        "features": [mask(f) for f in features],
    }
