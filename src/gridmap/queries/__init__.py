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
)
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON


def feature_collection(
    rows: Select[Any], *, order_by: str = "code", descending: bool = False, digits: int = 7
) -> Select[Any]:
    """A statement whose one value is the rows of ``rows`` (a SELECT with a ``geom`` column) as
    a JSON array of GeoJSON Features, every other column a property, in ``order_by`` order
    (highest first when ``descending``), coordinates with at most ``digits`` decimals.

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
        else_=func.ST_AsGeoJSON(record, "geom", digits, type_=JSON).cast(JSON),
    )
    return select(
        func.coalesce(
            func.json_agg(
                aggregate_order_by(
                    feature, chosen.c[order_by].desc() if descending else chosen.c[order_by]
                ),
                type_=JSON,
            ),
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
    descending: bool = False,
    digits: int = 7,
) -> dict[str, Any]:
    """A page of GeoJSON: ``rows`` (a SELECT with ``geom``) filtered by ``where``, in ``order``
    (a column ``rows`` also outputs; highest first when ``descending``), with ``numberMatched``
    counted over ``count_from``, each feature passed through ``mask`` (coordinates with at most
    ``digits`` decimals)."""
    page = (
        rows.where(*where)
        .order_by(order.desc() if descending else order)
        .limit(limit)
        .offset(offset)
    )
    features = session.execute(
        feature_collection(page, order_by=order.key or "", descending=descending, digits=digits)
    ).scalar_one()
    matched = session.execute(
        select(func.count()).select_from(count_from).where(*where)
    ).scalar_one()
    return {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(features),
        "features": [mask(f) for f in features],
    }
