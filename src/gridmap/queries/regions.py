"""gridmap.queries.regions: the district → street → community hierarchy as GeoJSON."""

from __future__ import annotations

from typing import Any
from typing import cast as cast_type

from sqlalchemy import ColumnElement, Table, cast, func, null, select
from sqlalchemy.orm import Session

from gridmap.errors import RegionNotFound
from gridmap.models import Grid, Region
from gridmap.queries import feature_collection, feature_page

_r = cast_type(Table, Region.__table__)
_g = cast_type(Table, Grid.__table__)

# Current grids whose code starts with the region's (a street's grids are its communities').
_GRID_COUNT = (
    select(func.count())
    .select_from(_g)
    .where(_g.c.valid_to.is_(None), func.left(_g.c.code, func.length(_r.c.code)) == _r.c.code)
    .scalar_subquery()
)


def _rows(*, with_geometry: bool, simplify: float) -> Any:
    """Regions as feature rows, with or without (simplified) boundaries."""
    geom: ColumnElement[Any]
    if not with_geometry:
        geom = cast(null(), _r.c.geom.type)
    elif simplify > 0:
        geom = func.ST_SimplifyPreserveTopology(_r.c.geom, simplify, type_=_r.c.geom.type)
    else:
        geom = _r.c.geom
    return select(
        _r.c.code,
        _r.c.level,
        _r.c.name,
        _r.c.official_name,
        _r.c.parent_code,
        _GRID_COUNT.label("grid_count"),
        func.ST_X(_r.c.label_point).label("label_lon"),
        func.ST_Y(_r.c.label_point).label("label_lat"),
        geom.label("geom"),
    )


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
    where = []
    if level is not None:
        where.append(_r.c.level == level)
    if parent is not None:
        where.append(_r.c.parent_code == parent)
    return feature_page(
        session,
        rows=_rows(with_geometry=with_geometry, simplify=simplify),
        count_from=_r,
        where=where,
        order=_r.c.code,
        limit=limit,
        offset=offset,
    )


def get_region(session: Session, *, code: str) -> dict[str, Any]:
    """One region as a Feature, with its children's codes."""
    one = _rows(with_geometry=True, simplify=0.0).where(_r.c.code == code).limit(1)
    features = session.execute(feature_collection(one)).scalar_one()
    if not features:
        raise RegionNotFound(f"no region with code {code!r}", region=code)
    feature: dict[str, Any] = features[0]
    children = session.execute(
        select(_r.c.code).where(_r.c.parent_code == code).order_by(_r.c.code)
    ).scalars()
    feature["properties"]["children"] = list(children)
    return feature


def is_community(session: Session, *, code: str) -> bool:
    """Whether a community with this code exists."""
    found = session.execute(
        select(_r.c.code).where(_r.c.code == code, _r.c.level == "community").limit(1)
    ).first()
    return found is not None
