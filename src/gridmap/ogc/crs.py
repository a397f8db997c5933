"""gridmap.ogc.crs: the CRS URIs of OGC API – Features Part 2, and coordinates in each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gridmap.errors import UnknownCRS
from gridmap.geo.crs import from_wgs84_array, to_wgs84_array

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
# gridmap's own URIs (under the service's base URL) for the offset systems of Chinese maps.
OWN = {"gcj02": "GCJ-02", "bd09": "BD-09"}


@dataclass(frozen=True)
class Crs:
    """A CRS of the service: its URI, gridmap's name for it, and its axis order."""

    uri: str
    name: str
    # True where the standard's axis order is latitude first (EPSG:4326, EPSG:4490).
    lat_first: bool = False


def supported(base: str) -> list[Crs]:
    """Every CRS the service offers, storage CRS (CRS84) first."""
    return [
        Crs(CRS84, "EPSG:4326"),
        Crs(EPSG + "4326", "EPSG:4326", lat_first=True),
        Crs(EPSG + "4490", "EPSG:4490", lat_first=True),
        Crs(EPSG + "3857", "EPSG:3857"),
        *(Crs(f"{base}/ogc/crs/{key}", name) for key, name in OWN.items()),
    ]


def parse(uri: str | None, base: str, *, what: str = "crs") -> Crs:
    """The CRS a URI names (CRS84 when none), or :class:`UnknownCRS` listing the URIs."""
    known = supported(base)
    if uri is None or uri == "":
        return known[0]
    text = uri.strip()
    if text.startswith("[") and text.endswith("]"):  # a safe CURIE: [EPSG:4326]
        text = text[1:-1]
        if text.upper().startswith("EPSG:"):
            text = EPSG + text[5:]
        elif text.upper() == "OGC:CRS84":
            text = CRS84
    for crs in known:
        if text == crs.uri:
            return crs
    for key in OWN:
        # The same gridmap URI whatever host name the client reached the service under.
        if text.endswith(f"/ogc/crs/{key}") and text.startswith(("http://", "https://")):
            return next(c for c in known if c.uri.endswith(f"/ogc/crs/{key}"))
    raise UnknownCRS(
        f"unknown {what} {uri[:200]!r}; use one of {', '.join(c.uri for c in known)}",
        supported=[c.uri for c in known],
    )


def describe(key: str, base: str) -> dict[str, Any]:
    """A JSON description of one of gridmap's own CRSs (``gcj02``, ``bd09``)."""
    name = OWN[key]
    what = (
        "GCJ-02 (国测局坐标, 'Mars coordinates'): longitude and latitude of WGS 84 moved by the "
        "published obfuscation of China's surveying bureau, a few hundred metres in Beijing. "
        "Used by AMap (高德) and Tencent maps."
        if key == "gcj02"
        else "BD-09 (百度坐标): GCJ-02 moved once more by Baidu's published offset. Used by Baidu "
        "maps."
    )
    return {
        "id": f"{base}/ogc/crs/{key}",
        "name": name,
        "description": what,
        "axisOrder": ["longitude", "latitude"],
        "unit": "degree",
        "datum": "none: an offset of WGS 84, not a geodetic datum",
        "isEPSG4326": False,
        "warning": "not EPSG:4326 and not WGS 84: coordinates differ by up to ~700 m; read them "
        "as this CRS or convert them back, never as WGS 84",
        "baseCrs": CRS84,
    }


def _positions(coords: Any, out: list[list[float]]) -> None:
    if coords and isinstance(coords[0], int | float):
        out.append(coords)
    else:
        for c in coords:
            _positions(c, out)


def reproject(geometry: dict[str, Any] | None, crs: Crs) -> dict[str, Any] | None:
    """A GeoJSON geometry in WGS 84 lon/lat as ``crs`` gives it (in place), axis order too."""
    if geometry is None or (crs.name in ("EPSG:4326", "EPSG:4490") and not crs.lat_first):
        return geometry
    points: list[list[float]] = []
    parts = geometry.get("geometries")
    for g in parts if parts is not None else [geometry]:
        _positions(g.get("coordinates") or [], points)
    if not points:
        return geometry
    xy = np.array([p[:2] for p in points], dtype=float)
    x, y = from_wgs84_array(xy[:, 0], xy[:, 1], crs.name)
    if crs.lat_first:
        x, y = y, x
    digits = 3 if crs.name == "EPSG:3857" else 8
    for p, a, b in zip(points, np.round(x, digits), np.round(y, digits), strict=True):
        p[0], p[1] = float(a), float(b)
    return geometry


def box_to_wgs84(values: list[float], crs: Crs) -> tuple[float, float, float, float]:
    """A bbox given in ``crs`` (its axis order) as west, south, east, north in WGS 84."""
    a, b, c, d = values
    if crs.lat_first:
        a, b, c, d = b, a, d, c
    if crs.name in ("EPSG:4326", "EPSG:4490"):
        return a, b, c, d
    xs, ys = to_wgs84_array([a, c, a, c], [b, b, d, d], crs.name)
    return float(np.min(xs)), float(np.min(ys)), float(np.max(xs)), float(np.max(ys))
