"""gridmap.geo.shapes: GeoJSON polygons from the outside world, checked and brought to WGS84.

Everything a client can get wrong about a polygon is caught here, before the database sees it,
and said in terms the client can act on: which ring, which vertex, where.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, mapping
from shapely.geometry.base import BaseGeometry

from gridmap.errors import InvalidGeometry
from gridmap.geo.chinacrs import CHINA_BOUNDS
from gridmap.geo.crs import check_lonlat, from_wgs84_array, normalize_crs, to_wgs84_array
from gridmap.geo.metric import transformer, utm_epsg

MAX_VERTICES = 100_000
_WHERE = re.compile(r"\[\s*([-0-9.eE+]+)\s+([-0-9.eE+]+)\s*\]")


def _positions(raw: Any, where: str) -> np.ndarray:
    """``raw`` (a list of [x, y] positions) as an array of finite doubles, or a 422 saying where."""
    if not isinstance(raw, list) or not raw:
        raise InvalidGeometry(f"{where} must be a non-empty list of [x, y] positions", where=where)
    rows = []
    for i, pos in enumerate(raw):
        if (
            not isinstance(pos, list)
            or len(pos) not in (2, 3)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos)
        ):
            raise InvalidGeometry(
                f"{where}, position {i}: expected [x, y] numbers, got {str(pos)[:60]}", where=where
            )
        x, y = float(pos[0]), float(pos[1])
        if not (math.isfinite(x) and math.isfinite(y)):
            raise InvalidGeometry(
                f"{where}, position {i}: coordinates must be finite numbers", where=where
            )
        rows.append((x, y))
    return np.asarray(rows, dtype=float)


def _ring(raw: Any, where: str) -> np.ndarray:
    ring = _positions(raw, where)
    if len(ring) < 4:
        raise InvalidGeometry(
            f"{where} has {len(ring)} positions; a closed ring needs at least 4 "
            "(three corners and the first again)",
            where=where,
        )
    if not np.array_equal(ring[0], ring[-1]):
        raise InvalidGeometry(
            f"{where} is not closed: it starts at {ring[0].tolist()} and ends at "
            f"{ring[-1].tolist()}; repeat the first position at the end",
            where=where,
        )
    return ring


def _polygon_rings(raw: Any, where: str) -> list[np.ndarray]:
    if not isinstance(raw, list) or not raw:
        raise InvalidGeometry(f"{where} must be a non-empty list of rings", where=where)
    return [
        _ring(r, f"{where}, {'exterior ring' if i == 0 else f'hole {i}'}")
        for i, r in enumerate(raw)
    ]


def parse_polygonal(
    geometry: Any, *, crs: str = "EPSG:4326", max_vertices: int = MAX_VERTICES
) -> MultiPolygon:
    """A GeoJSON Polygon or MultiPolygon in ``crs``, checked and converted to WGS84.

    Raises :class:`InvalidGeometry` (saying which ring and where) for anything that is not a
    valid closed polygon, and the errors of :func:`gridmap.geo.crs.check_lonlat` for coordinates
    outside China (swapped lon/lat included).

    Examples
    --------
    >>> sq = {"type": "Polygon", "coordinates": [[[116, 40], [116.01, 40], [116.01, 40.01],
    ...       [116, 40.01], [116, 40]]]}
    >>> parse_polygonal(sq).geom_type
    'MultiPolygon'
    >>> bow = {"type": "Polygon", "coordinates": [[[116, 40], [116.01, 40.01], [116.01, 40],
    ...        [116, 40.01], [116, 40]]]}
    >>> parse_polygonal(bow)
    Traceback (most recent call last):
    ...
    gridmap.errors.InvalidGeometry: the polygon is not valid: Self-intersection at (116.005, 40.005)
    """
    if not isinstance(geometry, dict):
        raise InvalidGeometry("geometry must be a GeoJSON object with type and coordinates")
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Polygon":
        polygons = [_polygon_rings(coords, "polygon")]
    elif kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise InvalidGeometry("MultiPolygon coordinates must be a non-empty list of polygons")
        polygons = [_polygon_rings(p, f"polygon {i}") for i, p in enumerate(coords)]
    else:
        raise InvalidGeometry(
            f"a grid is a Polygon or MultiPolygon, not {str(kind)[:40]!r}", geometry_type=kind
        )
    vertices = sum(len(r) for p in polygons for r in p)
    if vertices > max_vertices:
        raise InvalidGeometry(
            f"the geometry has {vertices} vertices; at most {max_vertices} are accepted",
            vertices=vertices,
        )
    crs = normalize_crs(crs)
    allxy = np.concatenate([r for p in polygons for r in p])
    lon, lat = to_wgs84_array(allxy[:, 0], allxy[:, 1], crs)
    west, south, east, north = CHINA_BOUNDS
    bad = ~((lon >= west) & (lon <= east) & (lat >= south) & (lat <= north))
    if bad.any():
        i = int(np.argmax(bad))
        check_lonlat(float(lon[i]), float(lat[i]))
    out, k = [], 0
    for rings in polygons:
        converted = []
        for r in rings:
            n = len(r)
            converted.append(np.column_stack([lon[k : k + n], lat[k : k + n]]))
            k += n
        out.append(Polygon(converted[0], converted[1:]))
    geom = MultiPolygon(out)
    reason = shapely.is_valid_reason(geom)
    if reason != "Valid Geometry":
        raise InvalidGeometry(
            "the polygon is not valid: " + _readable(reason), reason=reason, where=_where(reason)
        )
    return geom


def _where(reason: str) -> list[float] | None:
    m = _WHERE.search(reason)
    return [float(m.group(1)), float(m.group(2))] if m else None


def _readable(reason: str) -> str:
    at = _where(reason)
    text = _WHERE.sub("", reason).strip()
    return f"{text} at ({at[0]:.7g}, {at[1]:.7g})" if at else text


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """``geom``'s polygon parts as one MultiPolygon (empty when it has none)."""
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom]) if not geom.is_empty else MultiPolygon()
    parts: list[Polygon] = []
    for g in getattr(geom, "geoms", []):
        parts.extend(as_multipolygon(g).geoms)
    return MultiPolygon(parts)


def to_metric(geoms: list[BaseGeometry]) -> tuple[list[BaseGeometry], Callable[..., Any]]:
    """WGS84 geometries in the UTM zone of their centre, and the function that maps back."""
    if not geoms:
        return [], lambda g: g
    centre = shapely.union_all([shapely.envelope(g) for g in geoms]).centroid
    epsg = utm_epsg(centre.x, centre.y)
    fwd, back = transformer(4326, epsg), transformer(epsg, 4326)
    out = [
        shapely.transform(g, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
        for g in geoms
    ]

    def to_wgs84(g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g, lambda xy: np.column_stack(back.transform(xy[:, 0], xy[:, 1])))

    return out, to_wgs84


def geojson_in(geom: BaseGeometry, crs: str, *, precision: int = 7) -> dict[str, Any]:
    """A WGS84 geometry as a GeoJSON dict in ``crs``, rounded to ``precision`` decimals.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> geojson_in(Point(116.3, 39.9), "GCJ-02")["coordinates"]
    (116.3060729, 39.9012601)
    """
    crs = normalize_crs(crs)
    moved = geom
    if crs not in ("EPSG:4326", "EPSG:4490"):
        moved = shapely.transform(
            geom, lambda xy: np.column_stack(from_wgs84_array(xy[:, 0], xy[:, 1], crs))
        )
        if crs == "EPSG:3857":
            precision = 2
    out: dict[str, Any] = mapping(shapely.set_precision(moved, 10.0**-precision, mode="pointwise"))
    return out


def parse_line(geometry: Any, *, crs: str = "EPSG:4326", max_vertices: int = 10_000) -> LineString:
    """A GeoJSON LineString in ``crs``, checked and converted to WGS84.

    Examples
    --------
    >>> parse_line({"type": "LineString", "coordinates": [[116, 40], [116.01, 40]]}).wkt
    'LINESTRING (116 40, 116.01 40)'
    >>> parse_line({"type": "LineString", "coordinates": [[116, 40]]})
    Traceback (most recent call last):
    ...
    gridmap.errors.InvalidGeometry: a line needs 2 to 10000 positions of [x, y] numbers
    """
    if not isinstance(geometry, dict) or geometry.get("type") != "LineString":
        raise InvalidGeometry("the cut must be a GeoJSON LineString")
    raw = geometry.get("coordinates")
    if not isinstance(raw, list) or not 2 <= len(raw) <= max_vertices:
        raise InvalidGeometry(f"a line needs 2 to {max_vertices} positions of [x, y] numbers")
    xy = _positions(raw, "the line")
    lon, lat = to_wgs84_array(xy[:, 0], xy[:, 1], normalize_crs(crs))
    for x, y in zip(lon.tolist(), lat.tolist(), strict=True):
        check_lonlat(x, y)
    line = LineString(np.column_stack([lon, lat]))
    if line.length == 0 or not line.is_simple:
        raise InvalidGeometry("the line must have a length and must not cross itself")
    return line
