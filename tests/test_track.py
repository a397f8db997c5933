"""Every way a patrol track piece is refused, and how it is measured and fingerprinted."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gridmap.errors import (
    BadTrack,
    TrackEmpty,
    TrackInFuture,
    TrackMalformed,
    TrackOutsideChina,
    TrackTimeOrder,
    TrackTooFast,
    TrackTooFewPoints,
    TrackTooManyPoints,
)
from gridmap.geo import track

NOW = 1_800_000_000.0
START = NOW - 3600


def piece(*points: tuple[float, float, float]) -> list[list[float]]:
    return [list(p) for p in points]


def walk(n: int, *, t0: float = START + 10, step_s: float = 5.0) -> list[list[float]]:
    """``n`` points going north at 1.2 m/s."""
    return [[116.34, 40.0 + i * step_s * 1.2 / 111_000, t0 + i * step_s] for i in range(n)]


def check(
    points: object, *, previous: list[float] | None = None, max_points: int = 3600
) -> np.ndarray:
    coords = track.parse_points(points, max_points=max_points)
    track.check_piece(coords, previous=previous, not_before=START, now=NOW, max_speed_kmh=60.0)
    return coords


def refused(kind: type[BadTrack], points: object, **kw: object) -> BadTrack:
    with pytest.raises(kind) as caught:
        check(points, **kw)  # type: ignore[arg-type]
    assert caught.value.code.startswith("track_")
    return caught.value


def test_a_walk_passes_and_is_measured_in_metres() -> None:
    coords = check(walk(13))
    # 12 steps of 6 m.
    assert track.length_m(coords) == pytest.approx(72.0, rel=0.01)
    assert track.length_m(coords[:1]) == 0.0


def test_a_later_piece_joins_the_previous_last_point() -> None:
    points = walk(20)
    first, second = check(points[:10]), check(points[10:], previous=points[9])
    assert track.length_m(first) + track.length_m(second, points[9]) == pytest.approx(
        track.length_m(check(points)), rel=1e-9
    )
    # A later piece of one point is a line from the previous piece's last point.
    check(points[10:11], previous=points[9])
    wkt = track.linestring_m_wkt(second[:1], points[9])
    assert wkt.startswith("SRID=4326;LINESTRING M (116.34 ") and wkt.count(",") == 1


def test_times_going_back_or_standing_still_are_refused_at_the_point() -> None:
    points = walk(5)
    points[3][2] = points[2][2]
    assert refused(TrackTimeOrder, points).extra["index"] == 3
    points = walk(5)
    points[1][2] = points[0][2] - 1
    assert refused(TrackTimeOrder, points).extra["index"] == 1


def test_times_before_the_previous_piece_or_the_start_are_refused() -> None:
    points = walk(6)
    assert refused(TrackTimeOrder, points[3:], previous=points[4]).extra["index"] == 0
    early = walk(3, t0=START - 5)
    assert refused(TrackTimeOrder, early).extra["index"] == 0


def test_a_teleport_is_refused_with_the_point_and_speed() -> None:
    points = walk(5)
    points[2][1] += 0.01  # 1.1 km in 5 s
    err = refused(TrackTooFast, points)
    assert err.extra["index"] == 2 and err.extra["speed_kmh"] > 700
    # Across pieces: the first point far from the previous piece's last point.
    later = walk(3, t0=START + 100)
    err = refused(TrackTooFast, later, previous=[117.0, 40.0, START + 95])
    assert err.extra["index"] == 0
    # 59 km/h is allowed (a patrol by car or e-bike), 61 km/h is not.
    d = 59 / 3.6 * 10 / 111_000
    check(piece((116.34, 40.0, START + 1), (116.34, 40.0 + d, START + 11)))
    d = 61 / 3.6 * 10 / 111_000
    refused(TrackTooFast, piece((116.34, 40.0, START + 1), (116.34, 40.0 + d, START + 11)))


def test_points_outside_china_and_swapped_coordinates_are_refused() -> None:
    points = walk(4)
    points[2][0] = 2.35  # Paris
    err = refused(TrackOutsideChina, points)
    assert err.extra["index"] == 2 and "swapped" not in err.message
    swapped = [[p[1], p[0], p[2]] for p in walk(3)]
    assert "swapped" in refused(TrackOutsideChina, swapped).message


def test_too_many_points_are_refused_before_any_is_read() -> None:
    # Not even a list of numbers: the count alone refuses it.
    err = refused(TrackTooManyPoints, [None] * 3601)
    assert err.extra == {"index": 3600, "points": 3601, "limit": 3600}
    refused(TrackTooManyPoints, walk(11), max_points=10)
    check(walk(10), max_points=10)


def test_points_in_the_future_are_refused() -> None:
    check(walk(2, t0=NOW + 200))  # a phone's clock a little ahead
    assert refused(TrackInFuture, walk(4, t0=NOW + 290)).extra["index"] == 3


@pytest.mark.parametrize(
    "bad",
    [
        [116.34, 40.0, math.nan],
        [math.inf, 40.0, START + 20],
        [116.34, 40.0],
        [116.34, 40.0, START + 20, 1],
        [116.34, "40.0", START + 20],
        [116.34, 40.0, True],
        {"lon": 116.34, "lat": 40.0, "t": START + 20},
        None,
        [10**400, 40.0, START + 20],
    ],
)
def test_malformed_and_nan_points_are_refused_at_their_index(bad: object) -> None:
    points: list[object] = [*walk(2), bad]
    assert refused(TrackMalformed, points).extra["index"] == 2


def test_an_empty_piece_and_a_first_piece_of_one_point_are_refused() -> None:
    refused(TrackEmpty, [])
    refused(TrackMalformed, {"points": []})
    refused(TrackTooFewPoints, walk(1))


def test_the_digest_is_of_numbers_not_of_their_spelling() -> None:
    a = track.parse_points([[116, 40, 1800000000], [116.5, -0.0, 1.5]], max_points=10)
    b = track.parse_points([[116.0, 40.0, 1.8e9], [116.50, 0.0, 1.50]], max_points=10)
    assert track.digest(a) == track.digest(b)
    c = track.parse_points([[116.0, 40.0, 1.8e9], [116.5, 0.0, 1.5000001]], max_points=10)
    assert track.digest(c) != track.digest(a)
