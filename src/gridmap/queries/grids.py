"""gridmap.queries.grids: grids (every version) as GeoJSON, and the SQL grid versioning runs.

Reads are SQLAlchemy Core over :class:`gridmap.models.Grid`; the writes here are the plain
steps of a version change (retire, insert the next version, move staff). The rules that decide
whether a change may be written live in :mod:`gridmap.services.grid_versions`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from typing import cast as cast_type

from sqlalchemy import (
    ColumnElement,
    Integer,
    Numeric,
    Row,
    Table,
    and_,
    cast,
    delete,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON

from gridmap.errors import GridNotFound
from gridmap.models import Grid, GridStaff, Region
from gridmap.queries import feature_collection, feature_page

# Declarative tables are typed as FromClause; writes need them as the Tables they are.
_g = cast_type(Table, Grid.__table__)
_r = cast_type(Table, Region.__table__)
_c = _r.alias("c")
_s = _r.alias("s")
_staff = cast_type(Table, GridStaff.__table__)

# Grid coordinates leave as the doubles they are stored as: PostGIS prints the shortest decimal
# that reads back to the same double, and 17 decimals never cut one short (15 do, below 10°),
# so an editor that sends a grid back unchanged changes nothing.
EXACT = 17


def area_m2(geom: ColumnElement[Any]) -> ColumnElement[Any]:
    """The area of ``geom`` on the spheroid in m², rounded to 0.1 (as the answers show it)."""
    return func.round(cast(func.ST_Area(func.geography(geom)), Numeric), 1)


# A grid with the names of its community and street (the columns come in this order in every
# answer and export: properties keep the order of the columns).
NAMED_COLUMNS = (
    _g.c.code,
    _g.c.name,
    _g.c.kind,
    _g.c.subtype,
    _g.c.community_code,
    _c.c.name.label("community_name"),
    func.left(_g.c.community_code, 9).label("street_code"),
    _s.c.name.label("street_name"),
    _g.c.households,
    _g.c.version,
)
WITH_NAMES = _g.join(_c, _c.c.code == _g.c.community_code).outerjoin(
    _s, _s.c.code == _c.c.parent_code
)
# Who made a version, when, and its area.
_MADE = (
    _g.c.valid_from,
    _g.c.valid_to,
    _g.c.changed_by,
    _g.c.note,
    _g.c.source,
    area_m2(_g.c.geom).label("area_m2"),
)

# A grid as a feature: its community and street, versions, area and label point.
_ROW = select(
    *NAMED_COLUMNS,
    *_MADE,
    func.ST_X(func.ST_PointOnSurface(_g.c.geom)).label("label_lon"),
    func.ST_Y(func.ST_PointOnSurface(_g.c.geom)).label("label_lat"),
    _g.c.geom,
).select_from(WITH_NAMES)


def valid_at(at: datetime | None) -> ColumnElement[bool]:
    """Grids current (``at`` None) or valid at the instant ``at``."""
    if at is None:
        return _g.c.valid_to.is_(None)
    return and_(_g.c.valid_from <= at, or_(_g.c.valid_to.is_(None), _g.c.valid_to > at))


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
    where = [valid_at(at)]
    if community is not None:
        where.append(_g.c.community_code == community)
    if street is not None:
        where.append(func.left(_g.c.community_code, 9) == street)
    if kind is not None:
        where.append(_g.c.kind == kind)
    if bbox is not None:
        where.append(_g.c.geom.op("&&")(func.ST_MakeEnvelope(*bbox, 4326)))
    return feature_page(
        session,
        rows=_ROW,
        count_from=_g,
        where=where,
        order=_g.c.code,
        limit=limit,
        offset=offset,
        digits=EXACT,
    )


def get_grid(session: Session, *, code: str, at: datetime | None = None) -> dict[str, Any]:
    """One grid as a Feature: its current version, or the one valid ``at``."""
    one = _ROW.where(valid_at(at), _g.c.code == code).order_by(_g.c.code).limit(1)
    features = session.execute(feature_collection(one, digits=EXACT)).scalar_one()
    if not features:
        when = f" at {at.isoformat()}" if at else ""
        known = session.execute(
            select(
                func.min(_g.c.valid_from),
                func.max(_g.c.valid_to),
                func.bool_or(_g.c.valid_to.is_(None)),
            ).where(_g.c.code == code)
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


def grid_history(session: Session, *, code: str, geometry: bool = True) -> dict[str, Any]:
    """Every version of a grid, oldest first, with who made it and when."""
    rows = select(
        _g.c.code,
        _g.c.version,
        _g.c.name,
        _g.c.kind,
        _g.c.subtype,
        _g.c.community_code,
        _g.c.households,
        *_MADE,
        (_g.c.geom if geometry else cast(null(), _g.c.geom.type)).label("geom"),
    ).where(_g.c.code == code)
    features = session.execute(
        feature_collection(rows, order_by="version", digits=EXACT)
    ).scalar_one()
    if not features:
        raise GridNotFound(f"no grid with code {code!r}", grid=code)
    return {
        "type": "FeatureCollection",
        "code": code,
        "numberMatched": len(features),
        "numberReturned": len(features),
        "features": features,
    }


# --- the steps of a version change -------------------------------------------------------------


def lock_community(session: Session, community: str) -> None:
    """Hold the community's grid-write lock until the transaction ends."""
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext("gridmap.grid." + community))))


def mark_dry_run(session: Session) -> None:
    """Tell the tile-version trigger that what follows, until the savepoint is rolled back, is
    a dry run (a sequence would keep the bump the rollback undoes everywhere else)."""
    # set_config(..., true) is SET LOCAL: undone with the savepoint it was made in.
    session.execute(select(func.set_config("gridmap.dry_run", "on", True)))


def community_shape(session: Session, code: str) -> Any:
    """``level`` and ``wkb`` (its boundary as WKB, or None) of the region ``code``."""
    return session.execute(
        select(_r.c.level, func.ST_AsBinary(_r.c.geom).label("wkb")).where(_r.c.code == code)
    ).one_or_none()


def current_shapes(
    session: Session, community: str, *, exclude: str | None = None
) -> list[Row[Any]]:
    """``code``, ``name`` and ``wkb`` of the community's current grids (but ``exclude``)."""
    where = [_g.c.community_code == community, _g.c.valid_to.is_(None)]
    if exclude is not None:
        where.append(_g.c.code != exclude)
    return list(
        session.execute(
            select(_g.c.code, _g.c.name, func.ST_AsBinary(_g.c.geom).label("wkb")).where(*where)
        )
    )


def clock(session: Session) -> datetime:
    """The database's clock now (``clock_timestamp``: it moves within a transaction)."""
    return session.execute(select(func.clock_timestamp())).scalar_one()  # type: ignore[no-any-return]


def snapshot(session: Session, grid_id: int) -> dict[str, Any] | None:
    """One grid version as a GeoJSON Feature, for the audit log."""
    g = _g.alias("g")
    found: dict[str, Any] | None = session.execute(
        select(
            func.json_build_object(
                "type",
                "Feature",
                "id",
                g.c.id,
                "geometry",
                cast(func.ST_AsGeoJSON(g.c.geom, EXACT), JSON),
                "properties",
                func.to_jsonb(literal_column("g")).op("-")("geom"),
                type_=JSON,
            )
        ).where(g.c.id == grid_id)
    ).scalar_one_or_none()
    return found


def retire(session: Session, ids: list[int], at: datetime) -> None:
    """End the versions ``ids`` at ``at``."""
    session.execute(update(_g).where(_g.c.id.in_(ids)).values(valid_to=at))


def insert_version(
    session: Session,
    *,
    code: str,
    community: str,
    props: dict[str, Any],
    wkb: bytes,
    at: datetime,
    actor: str,
    note: str,
    source: str | None,
) -> int:
    """Insert the next version of grid ``code`` (one past its last); returns the new row's id."""
    version = session.execute(
        select(func.coalesce(func.max(_g.c.version), 0) + 1).where(_g.c.code == code)
    ).scalar_one()
    return int(
        session.execute(
            insert(_g)
            .values(
                code=code,
                version=version,
                community_code=community,
                name=props["name"],
                kind=props["kind"],
                subtype=props.get("subtype"),
                households=props.get("households"),
                geom=func.ST_Multi(func.ST_GeomFromWKB(wkb, 4326)),
                valid_from=at,
                changed_by=actor,
                source=source,
                note=note,
            )
            .returning(_g.c.id)
        ).scalar_one()
    )


def last_sequence(session: Session, community: str, width: int) -> int | None:
    """The highest sequence number a grid of ``community`` with ``width``-digit codes has had."""
    found: int | None = session.execute(
        select(func.max(cast(func.right(_g.c.code, width), Integer))).where(
            _g.c.community_code == community, func.length(_g.c.code) == 12 + width
        )
    ).scalar_one()
    return found


def used_sequences(session: Session, community: str, width: int) -> set[int]:
    """Every sequence number a grid of ``community`` with ``width``-digit codes has ever had,
    current or retired."""
    return set(
        session.execute(
            select(cast(func.right(_g.c.code, width), Integer))
            .where(_g.c.community_code == community, func.length(_g.c.code) == 12 + width)
            .distinct()
        ).scalars()
    )


def code_in_use(session: Session, code: str) -> bool | None:
    """True when a current grid has ``code``, False when only retired ones had it, else None."""
    found: bool | None = session.execute(
        select(func.bool_or(_g.c.valid_to.is_(None))).where(_g.c.code == code)
    ).scalar_one()
    return found


_VERSION = select(
    _g.c.id,
    _g.c.code,
    _g.c.version,
    _g.c.community_code,
    _g.c.name,
    _g.c.kind,
    _g.c.subtype,
    _g.c.households,
    func.ST_AsBinary(_g.c.geom).label("wkb"),
)


def current_version(session: Session, code: str) -> Any:
    """The current version of grid ``code`` (its properties and ``wkb``), or None."""
    return session.execute(_VERSION.where(_g.c.code == code, _g.c.valid_to.is_(None))).one_or_none()


def current_versions(session: Session, community: str) -> list[Row[Any]]:
    """The current versions of the community's grids (properties and ``wkb``), by code."""
    return list(
        session.execute(
            _VERSION.where(_g.c.community_code == community, _g.c.valid_to.is_(None)).order_by(
                _g.c.code
            )
        )
    )


def latest_version(session: Session, code: str) -> Any:
    """The current version of ``code``, else its last retired one; ``current`` says which."""
    return session.execute(
        _VERSION.add_columns(_g.c.valid_to.is_(None).label("current"))
        .where(_g.c.code == code)
        .order_by(_g.c.valid_to.is_(None).desc(), _g.c.version.desc())
        .limit(1)
    ).one_or_none()


def retired_at(session: Session, code: str) -> datetime | None:
    """When the last version of ``code`` ended (None when it never existed or is current)."""
    found: datetime | None = session.execute(
        select(func.max(_g.c.valid_to)).where(_g.c.code == code)
    ).scalar_one()
    return found


def current_with_labels(session: Session, community: str) -> list[Row[Any]]:
    """The community's current grids with ``wkb`` and ``label`` (a point on each, as WKB)."""
    return list(
        session.execute(
            _VERSION.add_columns(
                func.ST_AsBinary(func.ST_PointOnSurface(_g.c.geom)).label("label")
            ).where(_g.c.community_code == community, _g.c.valid_to.is_(None))
        )
    )


def move_staff(session: Session, mapping: dict[str, str]) -> None:
    """Move the staff of each grid ``old`` to grid ``mapping[old]``."""
    staff = session.execute(
        delete(_staff)
        .where(_staff.c.grid_code.in_(list(mapping)))
        .returning(_staff.c.grid_code, _staff.c.role, _staff.c.person_id)
    ).all()
    if staff:
        session.execute(
            insert(_staff),
            [
                {
                    "grid_code": mapping[s.grid_code],
                    "role": s.role,
                    "person_id": s.person_id,
                }
                for s in staff
            ],
        )


def gridded_communities(session: Session, *, region: str) -> list[str]:
    """The codes of the communities in ``region`` (a code prefix) that have current grids."""
    has_grids = (
        select(_g.c.id).where(_g.c.community_code == _r.c.code, _g.c.valid_to.is_(None)).exists()
    )
    return list(
        session.execute(
            select(_r.c.code)
            .where(
                _r.c.level == "community",
                func.left(_r.c.code, len(region)) == region,
                has_grids,
            )
            .order_by(_r.c.code)
        ).scalars()
    )
