"""GCJ-02 / BD-09 against published coordinate pairs, and the inverse's round-trip error."""

from __future__ import annotations

import numpy as np
import pytest

from pyproj import Geod

from gridmap.errors import InvalidInput, OutsideChina, UnknownCRS
from gridmap.geo import chinacrs
from gridmap.geo.crs import from_wgs84, normalize_crs, to_wgs84

# (wgs lon, wgs lat, gcj lon, gcj lat): eviltransform's test table and coordtransform's README.
WGS_GCJ = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
    (116.404, 39.915, 116.41024449916938, 39.91640428150164),  # Beijing
]
# (gcj lon, gcj lat, bd lon, bd lat), coordtransform's README.
GCJ_BD = [(116.404, 39.915, 116.41036949371029, 39.92133699351021)]
GEOD = Geod(ellps="WGS84")


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), WGS_GCJ)
def test_forward_matches_published_pairs(
    wlon: float, wlat: float, glon: float, glat: float
) -> None:
    lon, lat = chinacrs.wgs84_to_gcj02(wlon, wlat)
    assert float(lon) == pytest.approx(glon, abs=1e-9)
    assert float(lat) == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), WGS_GCJ)
def test_inverse_recovers_wgs84_within_a_centimetre(
    wlon: float, wlat: float, glon: float, glat: float
) -> None:
    lon, lat = chinacrs.gcj02_to_wgs84(glon, glat)
    _, _, dist = GEOD.inv(wlon, wlat, float(lon), float(lat))
    assert dist < 0.01


def test_round_trip_everywhere_in_china_below_a_centimetre() -> None:
    lon, lat = np.meshgrid(np.linspace(74, 134, 61), np.linspace(18, 53, 36))
    lon, lat = lon.ravel(), lat.ravel()
    glon, glat = chinacrs.wgs84_to_gcj02(lon, lat)
    shift = GEOD.inv(lon, lat, glon, glat)[2]
    assert shift.min() > 10 and np.median(shift) > 200  # GCJ-02 really moves points
    back_lon, back_lat = chinacrs.gcj02_to_wgs84(glon, glat)
    error = GEOD.inv(lon, lat, back_lon, back_lat)[2]
    assert error.max() < 0.01


@pytest.mark.parametrize(("glon", "glat", "blon", "blat"), GCJ_BD)
def test_bd09_matches_published_pairs(glon: float, glat: float, blon: float, blat: float) -> None:
    lon, lat = chinacrs.gcj02_to_bd09(glon, glat)
    assert (float(lon), float(lat)) == pytest.approx((blon, blat), abs=1e-6)
    back_lon, back_lat = chinacrs.bd09_to_gcj02(blon, blat)
    assert GEOD.inv(glon, glat, float(back_lon), float(back_lat))[2] < 0.01


def test_bd09_inverse_agrees_with_the_published_one_step_inverse() -> None:
    # coordtransform's bd09togcj02(116.404, 39.915) is a one-step approximation (about 1 m off);
    # ours iterates to the exact inverse, so the two agree to within a couple of metres.
    lon, lat = chinacrs.bd09_to_gcj02(116.404, 39.915)
    assert GEOD.inv(116.39762729119315, 39.90865673957631, float(lon), float(lat))[2] < 2.0
    blon, blat = chinacrs.gcj02_to_bd09(lon, lat)
    assert GEOD.inv(116.404, 39.915, float(blon), float(blat))[2] < 0.01


def test_outside_china_is_left_alone() -> None:
    lon, lat = chinacrs.wgs84_to_gcj02(2.35, 48.85)  # Paris
    assert (float(lon), float(lat)) == (2.35, 48.85)


def test_edge_conversions_agree_with_the_library() -> None:
    for crs in ("GCJ-02", "BD-09", "EPSG:3857"):
        x, y = from_wgs84(116.35, 40.0, crs)
        lon, lat = to_wgs84(x, y, crs)
        assert GEOD.inv(116.35, 40.0, lon, lat)[2] < 0.01
    assert to_wgs84(116.35, 40.0, "EPSG:4490") == (116.35, 40.0)


def test_bad_coordinates_and_crs_are_refused() -> None:
    with pytest.raises(UnknownCRS):
        normalize_crs("EPSG:2000")
    with pytest.raises(OutsideChina, match="swapped"):
        to_wgs84(40.0, 116.35, "EPSG:4326")
    with pytest.raises(OutsideChina):
        to_wgs84(2.35, 48.85, "EPSG:4326")
    with pytest.raises(InvalidInput):
        to_wgs84(float("nan"), 40.0, "EPSG:4326")
    with pytest.raises(InvalidInput):
        to_wgs84(1e12, 0.0, "EPSG:3857")
