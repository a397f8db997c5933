"""gridmap.geo.metric: local metric projections, so areas and distances are in metres."""

from __future__ import annotations

from functools import lru_cache

from pyproj import CRS, Transformer


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS84 UTM zone containing a point.

    Examples
    --------
    >>> utm_epsg(116.35, 40.0)
    32650
    >>> utm_epsg(114.05, 22.54)
    32650
    >>> utm_epsg(121.47, 31.23)
    32651
    """
    zone = int((lon + 180.0) // 6.0) + 1
    return (32600 if lat >= 0 else 32700) + zone


@lru_cache(maxsize=64)
def transformer(src: int | str, dst: int | str) -> Transformer:
    """A cached, always-lon/lat-first transformer between two CRSs."""
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)
