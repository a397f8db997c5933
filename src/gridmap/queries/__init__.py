"""gridmap.queries: the SQL, one module per resource; PostGIS builds the answers.

Plain reads and writes are SQLAlchemy Core over the tables of :mod:`gridmap.models`; statements
stay as ``text()`` only where the planner or PostGIS needs the SQL written out (spatial overlay,
MVT, pgRouting, bulk loads), each with a comment saying why. Queries never check permissions: that
is the services' work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    case,
    func,
    literal_column,
    null,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON


def feature_collection(rows: Select[Any], *, order_by: str = "code") -> Select[Any]:
    """A statement whose one value is the rows of ``rows`` (a SELECT with a ``geom`` column) as
    a JSON array of GeoJSON Features, every other column a property, in ``order_by`` order.

    ``ST_AsGeoJSON(record)`` writes the properties itself; a row without geometry becomes a
    Feature with ``"geometry": null`` (RFC 7946) rather than PostGIS's ``{"type": null}``.
    """
    chosen = rows.subquery("chosen")
    # The whole row as a record: ST_AsGeoJSON(record, geom column, digits) and to_jsonb(record).
    record: ColumnElement[Any] = literal_column("chosen.*")
    feature = case(
        (
            chosen.c.geom.is_(None),
            func.json_build_object(
                "type",
                "Feature",
                "geometry",
                null(),
                "properties",
                func.to_jsonb(literal_column("chosen"), type_=JSONB).op("-")("geom"),
            ),
        ),
        else_=func.ST_AsGeoJSON(record, "geom", 7, type_=JSON).cast(JSON),
    )
    return select(
        func.coalesce(
            func.json_agg(aggregate_order_by(feature, chosen.c[order_by]), type_=JSON),
            literal_column("'[]'", type_=JSON),
        )
    )


def one_feature(session: Session, rows: Select[Any]) -> dict[str, Any] | None:
    """The first row of ``rows`` (a SELECT with ``geom``, already narrowed to one row) as a
    GeoJSON Feature, or ``None`` when there is none."""
    features = session.execute(feature_collection(rows, order_by="id")).scalar_one()
    return features[0] if features else None


def feature_page(
    session: Session,
    *,
    rows: Select[Any],
    count_from: FromClause,
    where: Sequence[ColumnElement[bool]],
    order: ColumnElement[Any],
    limit: int,
    offset: int,
    mask: Callable[[dict[str, Any]], dict[str, Any]] = lambda f: f,
) -> dict[str, Any]:
    """A page of GeoJSON: ``rows`` (a SELECT with ``geom``) filtered by ``where``, in ``order``
    (a column ``rows`` also outputs), with ``numberMatched`` counted over ``count_from`` and
    each feature passed through ``mask``."""
    page = rows.where(*where).order_by(order).limit(limit).offset(offset)
    features = session.execute(feature_collection(page, order_by=order.key or "")).scalar_one()
    matched = session.execute(
        select(func.count()).select_from(count_from).where(*where)
    ).scalar_one()
    return {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(features),
        "features": [mask(f) for f in features],
    }


def feature_collection_sql(rows: str, *, order_by: str = "code") -> str:
    """:func:`feature_collection` for a statement kept as SQL text (``rows`` a SELECT string)."""
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


def feature_page_sql(
    session: Session,
    *,
    rows: str,
    count: str,
    where: str,
    params: dict[str, Any],
    order: str,
    mask: Callable[[dict[str, Any]], dict[str, Any]] = lambda f: f,
) -> dict[str, Any]:
    """:func:`feature_page` for statements kept as SQL text."""
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
