"""gridmap.geo.crs: the coordinate systems accepted at the edge, converted to and from WGS84."""

from __future__ import annotations

import math

import numpy as np

from gridmap.errors import InvalidInput, OutsideChina, UnknownCRS
from gridmap.geo import chinacrs
from gridmap.geo.metric import transformer

# EPSG:4490 (CGCS2000) differs from WGS84 by centimetres; both are stored as the same numbers.
SUPPORTED = ("EPSG:4326", "EPSG:4490", "EPSG:3857", "GCJ-02", "BD-09")
_ALIASES = {
    "EPSG:4326": "EPSG:4326",
    "4326": "EPSG:4326",
    "WGS84": "EPSG:4326",
    "CRS84": "EPSG:4326",
    "OGC:CRS84": "EPSG:4326",
    "EPSG:4490": "EPSG:4490",
    "4490": "EPSG:4490",
    "CGCS2000": "EPSG:4490",
    "EPSG:3857": "EPSG:3857",
    "3857": "EPSG:3857",
    "EPSG:900913": "EPSG:3857",
    "GCJ-02": "GCJ-02",
    "GCJ02": "GCJ-02",
    "BD-09": "BD-09",
    "BD09": "BD-09",
}


def normalize_crs(name: str | None) -> str:
    """The canonical name of a supported CRS, or :class:`UnknownCRS`.

    Examples
    --------
    >>> normalize_crs("gcj02"), normalize_crs(None), normalize_crs("epsg:3857")
    ('GCJ-02', 'EPSG:4326', 'EPSG:3857')
    """
    if name is None or name == "":
        return "EPSG:4326"
    key = name.strip().upper()
    if key.startswith("HTTP://WWW.OPENGIS.NET/DEF/CRS/EPSG/0/"):
        key = "EPSG:" + key.rsplit("/", 1)[-1]
    if key not in _ALIASES:
        raise UnknownCRS(
            f"unknown crs {name!r}; use one of {', '.join(SUPPORTED)}", supported=list(SUPPORTED)
        )
    return _ALIASES[key]


def to_wgs84(x: float, y: float, crs: str) -> tuple[float, float]:
    """Convert one coordinate pair in ``crs`` to WGS84 lon/lat, checking it is a usable point."""
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InvalidInput("coordinates must be finite numbers (got NaN or infinity)")
    crs = normalize_crs(crs)
    if crs == "EPSG:3857":
        if abs(x) > 20037508.35 or abs(y) > 20048966.11:
            raise InvalidInput("EPSG:3857 coordinates out of range (±20037508.34 m)")
        lon, lat = transformer(3857, 4326).transform(x, y)
    elif crs in ("EPSG:4326", "EPSG:4490"):
        lon, lat = x, y
    elif crs == "GCJ-02":
        lon_a, lat_a = chinacrs.gcj02_to_wgs84(x, y)
        lon, lat = float(lon_a), float(lat_a)
    else:
        lon_a, lat_a = chinacrs.bd09_to_wgs84(x, y)
        lon, lat = float(lon_a), float(lat_a)
    check_lonlat(float(lon), float(lat))
    return float(lon), float(lat)


def from_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """Convert a WGS84 lon/lat pair to ``crs``."""
    crs = normalize_crs(crs)
    if crs == "EPSG:3857":
        x, y = transformer(4326, 3857).transform(lon, lat)
        return float(x), float(y)
    if crs == "GCJ-02":
        gx, gy = chinacrs.wgs84_to_gcj02(lon, lat)
        return float(gx), float(gy)
    if crs == "BD-09":
        bx, by = chinacrs.wgs84_to_bd09(lon, lat)
        return float(bx), float(by)
    return lon, lat


def check_lonlat(lon: float, lat: float) -> None:
    """Reject coordinates that are not a point in or near China, saying what is likely wrong."""
    west, south, east, north = chinacrs.CHINA_BOUNDS
    if west <= lat <= east and south <= lon <= north and not (south <= lat <= north):
        raise OutsideChina(
            f"point ({lon}, {lat}) is outside China's bounds — lon and lat look swapped; "
            "give lon first",
            bounds=list(chinacrs.CHINA_BOUNDS),
        )
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise InvalidInput(f"lon must be in [-180, 180] and lat in [-90, 90]; got ({lon}, {lat})")
    if not (west <= lon <= east and south <= lat <= north):
        raise OutsideChina(
            f"point ({lon}, {lat}) is outside China's bounds",
            bounds=list(chinacrs.CHINA_BOUNDS),
        )


# The GCJ-02 and BD-09 conversions of whole arrays, to WGS84 (True) and from it (False).
_CHINA_ARRAYS = {
    ("GCJ-02", True): chinacrs.gcj02_to_wgs84,
    ("BD-09", True): chinacrs.bd09_to_wgs84,
    ("GCJ-02", False): chinacrs.wgs84_to_gcj02,
    ("BD-09", False): chinacrs.wgs84_to_bd09,
}


def _convert_arrays(
    x: np.typing.ArrayLike, y: np.typing.ArrayLike, crs: str, *, to_wgs84: bool
) -> tuple[np.ndarray, np.ndarray]:
    crs = normalize_crs(crs)
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if crs == "EPSG:3857":
        step = transformer(3857, 4326) if to_wgs84 else transformer(4326, 3857)
        u, v = step.transform(xa, ya)
        return np.asarray(u), np.asarray(v)
    china = _CHINA_ARRAYS.get((crs, to_wgs84))
    return china(xa, ya) if china is not None else (xa, ya)


def to_wgs84_array(
    x: np.typing.ArrayLike, y: np.typing.ArrayLike, crs: str
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`to_wgs84` without the per-point checks (for bulk work)."""
    return _convert_arrays(x, y, crs, to_wgs84=True)


def from_wgs84_array(
    lon: np.typing.ArrayLike, lat: np.typing.ArrayLike, crs: str
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`from_wgs84`."""
    return _convert_arrays(lon, lat, crs, to_wgs84=False)
