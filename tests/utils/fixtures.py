"""Small hand-built regions and grids (squares in EPSG:4326) for tests."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

DISTRICT = "110108"
STREET = "110108010"
COMMUNITY = "110108010001"
WEST_GRID = COMMUNITY + "001"
EAST_GRID = COMMUNITY + "002"
# Community: lon 116.340–116.350, lat 40.000–40.010; west grid lon < 116.345, east grid lon > it.
BORDER_LON = 116.345


def square(west: float, south: float, east: float, north: float) -> str:
    return (
        f"SRID=4326;MULTIPOLYGON((({west} {south},{east} {south},{east} {north},"
        f"{west} {north},{west} {south})))"
    )


def add_region(
    db: Session, code: str, level: str, name: str, parent: str | None, wkt: str | None
) -> None:
    db.execute(
        text(
            "INSERT INTO region (code, level, name, parent_code, geom) "
            "VALUES (:c, :l, :n, :p, ST_GeomFromEWKT(:g))"
        ),
        {"c": code, "l": level, "n": name, "p": parent, "g": wkt},
    )


def add_grid(
    db: Session,
    code: str,
    wkt: str,
    *,
    name: str | None = None,
    kind: str = "basic",
    subtype: str | None = None,
) -> int:
    return int(
        db.execute(
            text(
                "INSERT INTO grid (code, community_code, name, kind, subtype, geom) "
                "VALUES (:c, :cc, :n, :k, :s, ST_GeomFromEWKT(:g)) RETURNING id"
            ),
            {
                "c": code,
                "cc": code[:12],
                "n": name or f"网格{code[-3:]}",
                "k": kind,
                "s": subtype,
                "g": wkt,
            },
        ).scalar_one()
    )


def add_staff(db: Session, grid: str, role: str, name: str, phone: str | None = None) -> int:
    """Give ``grid`` a staff member (the person is made, or found by name and phone)."""
    person = db.execute(
        text("SELECT id FROM person WHERE name = :name AND phone IS NOT DISTINCT FROM :phone"),
        {"name": name, "phone": phone},
    ).scalar()
    if person is None:
        person = db.execute(
            text("INSERT INTO person (name, phone) VALUES (:name, :phone) RETURNING id"),
            {"name": name, "phone": phone},
        ).scalar_one()
    db.execute(
        text("INSERT INTO grid_staff (grid_code, role, person_id) VALUES (:g, :role, :p)"),
        {"g": grid, "role": role, "p": person},
    )
    return int(person)


def two_grids(db: Session) -> None:
    """A district, street and community with two grids sharing the border lon = 116.345."""
    area = square(116.34, 40.0, 116.35, 40.01)
    add_region(db, DISTRICT, "district", "海淀区", None, area)
    add_region(db, STREET, "street", "学院路街道", DISTRICT, area)
    add_region(db, COMMUNITY, "community", "测试社区", STREET, area)
    # Insert the east grid first, so the border rule cannot lean on insertion order.
    add_grid(db, EAST_GRID, square(BORDER_LON, 40.0, 116.35, 40.01), name="东网格")
    add_grid(db, WEST_GRID, square(116.34, 40.0, BORDER_LON, 40.01), name="西网格")
    add_staff(db, WEST_GRID, "leader", "王晓明", "13800001234")
    add_staff(db, WEST_GRID, "worker", "李静", "13900005678")
    db.flush()


def polygon(*corners: tuple[float, float]) -> dict[str, object]:
    """A GeoJSON Polygon through ``corners`` (closed for you)."""
    ring = [list(c) for c in corners] + [list(corners[0])]
    return {"type": "Polygon", "coordinates": [ring]}


def rect(west: float, south: float, east: float, north: float) -> dict[str, object]:
    """A GeoJSON Polygon of a lon/lat rectangle."""
    return polygon((west, south), (east, south), (east, north), (west, north))


def feature(geometry: object, **properties: object) -> dict[str, object]:
    """A GeoJSON Feature."""
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def community_with_west_grid(db: Session) -> None:
    """The community of :func:`two_grids` with only its west half gridded (…001)."""
    area = square(116.34, 40.0, 116.35, 40.01)
    add_region(db, DISTRICT, "district", "海淀区", None, area)
    add_region(db, STREET, "street", "学院路街道", DISTRICT, area)
    add_region(db, COMMUNITY, "community", "测试社区", STREET, area)
    add_grid(db, WEST_GRID, square(116.34, 40.0, BORDER_LON, 40.01), name="西网格")
    db.flush()


def bearer(
    db: Session, role: str = "community", region: str | None = COMMUNITY, name: str = "测试社区办"
) -> dict[str, str]:
    """Authorization headers of a fresh token."""
    from gridmap.auth import create_token

    secret, _ = create_token(db, name=name, role=role, region=region)
    db.flush()
    return {"Authorization": f"Bearer {secret}"}
