"""A hand-built walking network: a cross of four straight 2 km streets meeting at one junction."""

from __future__ import annotations

import math

from sqlalchemy import text
from sqlalchemy.orm import Session

from pyproj import Geod

from gridmap.geo.metric import transformer, utm_epsg

# The junction: the middle of the test community of tests.utils.fixtures.two_grids.
CENTRE = (116.345, 40.005)
ARM_M = 2000.0
_GEOD = Geod(ellps="WGS84")
_EPSG = utm_epsg(*CENTRE)


def offset(east_m: float, north_m: float) -> tuple[float, float]:
    """The lon/lat this many metres east and north of :data:`CENTRE` (in its UTM zone)."""
    there, back = transformer(4326, _EPSG), transformer(_EPSG, 4326)
    x, y = there.transform(*CENTRE)
    lon, lat = back.transform(x + east_m, y + north_m)
    return float(lon), float(lat)


def add_edge(db: Session, source: int, target: int, coords: list[tuple[float, float]]) -> None:
    """One street between two junctions, with its geodesic length."""
    length = sum(
        _GEOD.inv(a[0], a[1], b[0], b[1])[2] for a, b in zip(coords, coords[1:], strict=False)
    )
    wkt = "LINESTRING(" + ",".join(f"{x!r} {y!r}" for x, y in coords) + ")"
    db.execute(
        text(
            "INSERT INTO road_edge (source, target, length_m, highway, geom) "
            "VALUES (:s, :t, :l, 'residential', ST_GeomFromText(:g, 4326))"
        ),
        {"s": source, "t": target, "l": length, "g": wkt},
    )


def cross(db: Session) -> None:
    """Junction 1 at the centre; arms east (2), north (3), west (4), south (5), 2 km each."""
    for node, (dx, dy) in zip((2, 3, 4, 5), ((1, 0), (0, 1), (-1, 0), (0, -1)), strict=True):
        steps = [i * 250.0 for i in range(int(ARM_M / 250) + 1)]
        add_edge(db, 1, node, [offset(dx * s, dy * s) for s in steps])
    db.flush()


def cross_area_m2(reach_m: float, street_m: float) -> float:
    """Area of the cross of four arms ``reach_m`` long, widened by ``street_m`` each side.

    Examples
    --------
    >>> round(cross_area_m2(1125, 100))
    922832
    """
    return 2 * (2 * reach_m * 2 * street_m) - (2 * street_m) ** 2 + 2 * math.pi * street_m**2
