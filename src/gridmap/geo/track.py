"""gridmap.geo.track: the points of a patrol's track piece, checked, measured and fingerprinted.

A piece is sent as ``[[lon, lat, t], …]`` (WGS84 degrees, ``t`` Unix seconds). It must be a walk a
person could have made: points in China, times strictly increasing (from the patrol's start and
from the previous piece's last point), none in the future, no step faster than the configured
speed. Every refusal is a :class:`gridmap.errors.BadTrack` with its own ``code`` and the index
(from 0, within the piece) of the first point that breaks the rule.

Distances are geodesic on the WGS84 ellipsoid (pyproj), so a length is in metres wherever the
walk is. Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from pyproj import Geod

from gridmap.errors import (
    TrackEmpty,
    TrackInFuture,
    TrackMalformed,
    TrackOutsideChina,
    TrackTimeOrder,
    TrackTooFast,
    TrackTooFewPoints,
    TrackTooManyPoints,
)
from gridmap.geo.chinacrs import CHINA_BOUNDS

FloatArray = NDArray[np.float64]

# How far ahead of this server's clock a phone's clock may run before its times count as future.
FUTURE_SLACK_S = 300.0

_GEOD = Geod(ellps="WGS84")


def parse_points(points: object, *, max_points: int) -> FloatArray:
    """The points of a piece as an ``(n, 3)`` array of lon, lat, t.

    The count is checked before any point is read, so a huge piece costs nothing more.

    Examples
    --------
    >>> parse_points([[116.3, 40.0, 1], [116.3001, 40.0, 2.5]], max_points=10).tolist()
    [[116.3, 40.0, 1.0], [116.3001, 40.0, 2.5]]
    >>> parse_points([[116.3, 40.0, float("nan")]], max_points=10)
    Traceback (most recent call last):
    ...
    gridmap.errors.TrackMalformed: point 0 is not three finite numbers [lon, lat, t]
    """
    if not isinstance(points, list):
        raise TrackMalformed("points must be a list of [lon, lat, t]")
    if not points:
        raise TrackEmpty("the piece has no points", index=0)
    if len(points) > max_points:
        raise TrackTooManyPoints(
            f"the piece has {len(points)} points; a piece may have at most {max_points}: "
            "send the track in more pieces",
            index=max_points,
            points=len(points),
            limit=max_points,
        )
    for i, point in enumerate(points):
        # bool is an int to Python, and "1.5" would pass numpy's conversion: both are refused.
        if not (
            isinstance(point, list | tuple)
            and len(point) == 3
            and all(type(v) in (int, float) for v in point)
        ):
            raise TrackMalformed(f"point {i} is not three numbers [lon, lat, t]", index=i)
    try:
        coords = np.asarray(points, dtype=np.float64)
    except OverflowError:
        # An integer of hundreds of digits is valid JSON and no float.
        i = next(i for i, p in enumerate(points) if any(abs(v) > 1e300 for v in p))
        raise TrackMalformed(
            f"point {i} is not three finite numbers [lon, lat, t]", index=i
        ) from None
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise TrackMalformed(f"point {i} is not three finite numbers [lon, lat, t]", index=i)
    return coords


def step_lengths(coords: FloatArray, previous: Sequence[float] | None = None) -> FloatArray:
    """Geodesic length in metres of each step: from ``previous`` (a point ``[lon, lat, t]``)
    to the first point when given, then between consecutive points.

    Examples
    --------
    >>> [round(x) for x in step_lengths(np.array([[116.0, 40.0, 0], [116.0, 40.001, 10]]))]
    [111]
    """
    pts = coords if previous is None else np.vstack([np.asarray(previous)[:3], coords])
    if len(pts) < 2:
        return np.zeros(0)
    _, _, dist = _GEOD.inv(pts[:-1, 0], pts[:-1, 1], pts[1:, 0], pts[1:, 1])
    return np.asarray(dist, dtype=np.float64)


def length_m(coords: FloatArray, previous: Sequence[float] | None = None) -> float:
    """Length of the piece in metres, joined to ``previous`` when given.

    Examples
    --------
    >>> round(length_m(np.array([[116.0, 40.0, 0], [116.0, 40.001, 10], [116.0, 40.002, 20]])))
    222
    """
    return float(step_lengths(coords, previous).sum())


def check_piece(
    coords: FloatArray,
    *,
    previous: Sequence[float] | None,
    not_before: float,
    now: float,
    max_speed_kmh: float,
) -> None:
    """Raise the first :class:`gridmap.errors.BadTrack` the piece breaks.

    ``previous`` is the last point of the patrol's previous piece (None for the first piece),
    ``not_before`` the patrol's start and ``now`` this server's clock, both Unix seconds.

    Examples
    --------
    >>> pts = np.array([[116.0, 40.0, 100.0], [116.1, 40.0, 110.0]])
    >>> try:
    ...     check_piece(pts, previous=None, not_before=0, now=1000, max_speed_kmh=60)
    ... except TrackTooFast as refused:
    ...     print(refused.code, refused.extra["index"], refused.extra["speed_kmh"])
    track_too_fast 1 3074.2
    """
    lon, lat, t = coords[:, 0], coords[:, 1], coords[:, 2]
    west, south, east, north = CHINA_BOUNDS
    outside = (lon < west) | (lon > east) | (lat < south) | (lat > north)
    if outside.any():
        i = int(np.argmax(outside))
        swapped = west <= lat[i] <= east and south <= lon[i] <= north
        raise TrackOutsideChina(
            f"point {i} ({lon[i]}, {lat[i]}) is outside China's bounds"
            + (": lon and lat look swapped; give lon first" if swapped else ""),
            index=i,
            bounds=list(CHINA_BOUNDS),
        )
    if previous is None and len(coords) < 2:
        raise TrackTooFewPoints(
            "the first piece of a patrol needs at least two points to make a line", index=0
        )
    times = t if previous is None else np.concatenate([[float(previous[2])], t])
    shift = 0 if previous is None else 1
    if t[0] < not_before:
        raise TrackTimeOrder(
            f"point 0 has time {t[0]:.3f}, before the patrol's start ({not_before:.3f})", index=0
        )
    steps = np.diff(times)
    back = steps <= 0
    if back.any():
        i = int(np.argmax(back)) + 1 - shift
        where = "the previous piece's last point" if i == 0 else "the point before it"
        raise TrackTimeOrder(
            f"point {i} has time {t[i]:.3f}, not after {where} ({times[i + shift - 1]:.3f}): "
            "times must increase strictly",
            index=i,
        )
    late = t > now + FUTURE_SLACK_S
    if late.any():
        i = int(np.argmax(late))
        raise TrackInFuture(
            f"point {i} has time {t[i]:.3f}, {t[i] - now:.0f} s after this server's clock "
            "(is the phone's clock right?)",
            index=i,
        )
    dist = step_lengths(coords, previous)
    if len(dist):
        kmh = dist / steps * 3.6
        fast = kmh > max_speed_kmh
        if fast.any():
            j = int(np.argmax(fast))
            i = j + 1 - shift
            raise TrackTooFast(
                f"point {i} is {dist[j]:.0f} m from the point before it in {steps[j]:g} s "
                f"({kmh[j]:.1f} km/h); a patrol moves at most {max_speed_kmh:g} km/h",
                index=i,
                speed_kmh=round(float(kmh[j]), 1),
                limit_kmh=max_speed_kmh,
            )


def digest(coords: FloatArray) -> str:
    """SHA-256 of the points as numbers (little-endian doubles), so ``1`` and ``1.0``, or the
    same numbers written differently in JSON, are the same piece.

    Examples
    --------
    >>> digest(np.array([[116.0, 40, 1]])) == digest(np.array([[116, 40.0, 1.0]]))
    True
    """
    # + 0.0 turns -0.0 into 0.0, which JSON may write either way.
    canonical = np.ascontiguousarray(coords + 0.0, dtype="<f8")
    return hashlib.sha256(canonical.tobytes()).hexdigest()


def linestring_m_wkt(coords: FloatArray, previous: Sequence[float] | None = None) -> str:
    """EWKT of the piece as a ``LINESTRING M`` (M = Unix seconds) in EPSG:4326, starting at
    ``previous`` when given so the pieces of a patrol join.

    Examples
    --------
    >>> linestring_m_wkt(np.array([[116.5, 40.25, 10.0]]), previous=[116.5, 40.0, 5.0])
    'SRID=4326;LINESTRING M (116.5 40.0 5.0,116.5 40.25 10.0)'
    """
    pts = coords if previous is None else np.vstack([np.asarray(previous, dtype=float)[:3], coords])
    body = ",".join(f"{x!r} {y!r} {m!r}" for x, y, m in pts.tolist())
    return f"SRID=4326;LINESTRING M ({body})"
