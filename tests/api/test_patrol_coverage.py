"""Patrol coverage (巡查覆盖率) on a hand-built street fixture whose share is known: road edges of
known length in the test grids, walks along some of them on given days, checked against the
lengths measured here on the ellipsoid."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import EAST_GRID, WEST_GRID, add_staff, square, two_grids
from tests.utils.walks import new_key, staff_token, walk

from pyproj import Geod

from gridmap.services import patrols as service

SHANGHAI = ZoneInfo("Asia/Shanghai")
COVER = "/api/v1/patrol-coverage"
# Streets of the west grid (lon 116.340–116.345, lat 40.000–40.010), far enough apart that a
# walk along one passes no other within 20 m.
ROAD_A = ((116.3405, 40.005), (116.3445, 40.005))
ROAD_B = ((116.3430, 40.0065), (116.3430, 40.0095))
# Crosses into the east grid at lon 116.345: only its western part is a street of the west grid.
ROAD_D = ((116.3430, 40.0020), (116.3480, 40.0020))
# A motorway is no street a grid worker walks.
MOTORWAY = ((116.3401, 40.0005), (116.3449, 40.0005))

_GEOD = Geod(ellps="WGS84")


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(_GEOD.inv(a[0], a[1], b[0], b[1])[2])


A_M = metres(*ROAD_A)
B_M = metres(*ROAD_B)
D_WEST_M = metres(ROAD_D[0], (116.345, 40.002))
STREET_M = A_M + B_M + D_WEST_M


def add_road(db: Session, ends: tuple[tuple[float, float], ...], highway: str | None) -> int:
    (x0, y0), (x1, y1) = ends
    return int(
        db.execute(
            text(
                "INSERT INTO road_edge (highway, source, target, length_m, geom) VALUES "
                "(:h, 0, 0, :m, ST_GeomFromText(:g, 4326)) RETURNING id"
            ),
            {"h": highway, "m": metres(*ends), "g": f"LINESTRING({x0} {y0},{x1} {y1})"},
        ).scalar_one()
    )


@pytest.fixture
def streets(db: Session) -> dict[str, Any]:
    """The two grids, three streets and a motorway, and the west grid's worker's token."""
    two_grids(db)
    add_road(db, ROAD_A, "residential")
    add_road(db, ROAD_B, "footway")
    add_road(db, ROAD_D, None)
    add_road(db, MOTORWAY, "motorway")
    person = add_staff(db, WEST_GRID, "worker", "赵巡查", "13600002222")
    db.flush()
    return {"auth": staff_token(db, person), "person": person}


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> float:
    """Unix seconds of a wall-clock time in Shanghai."""
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI).timestamp()


def patrol_along(
    client: TestClient, auth: dict[str, str], ends: tuple[tuple[float, float], ...], t0: float
) -> str:
    """One patrol walking a street end to end, 5 m north of its line (GPS noise), in two
    pieces."""
    north = 5 / 111_000
    (x0, y0), (x1, y1) = ends
    points = walk((x0, y0 + north), (x1, y1 + north), t0=t0)
    key = new_key()
    started = datetime.fromtimestamp(t0 - 60, SHANGHAI).isoformat()
    r = client.put(f"/api/v1/patrols/{key}", json={"started_at": started}, headers=auth)
    assert r.status_code == 201, r.json()
    half = len(points) // 2
    for seq, piece in enumerate((points[:half], points[half:])):
        r = client.put(f"/api/v1/patrols/{key}/pieces/{seq}", json={"points": piece}, headers=auth)
        assert r.status_code == 201, r.json()
    return key


def west(client: TestClient, **period: str) -> dict[str, Any]:
    r = client.get(COVER, params={"grid": WEST_GRID, **period})
    assert r.status_code == 200, r.json()
    (grid,) = r.json()["grids"]
    return grid  # type: ignore[no-any-return]


def test_street_pieces_are_the_walkable_edges_clipped_to_the_grid_and_short(
    client: TestClient, db: Session, streets: dict[str, Any]
) -> None:
    grid = west(client, day="2026-11-04")
    assert grid["street_m"] == pytest.approx(STREET_M, rel=0.001)
    assert grid["walked_m"] == 0 and grid["share"] == 0 and grid["patrols"] == 0
    rows = db.execute(
        text(
            "SELECT s.length_m, ST_Length(s.geom::geography) AS real, e.highway, s.grid_id, g.id "
            "FROM street_piece s JOIN road_edge e ON e.id = s.road_edge_id "
            "JOIN grid g ON g.code = s.grid_code AND g.valid_to IS NULL "
            "WHERE s.grid_code = :g"
        ),
        {"g": WEST_GRID},
    ).all()
    assert rows and all(r.length_m <= 25.0 + 1e-6 for r in rows)
    assert all(r.real == pytest.approx(r.length_m, rel=0.01) for r in rows)
    assert {r.highway for r in rows} == {"residential", "footway", None}
    assert all(r.grid_id == r.id for r in rows)
    # The east grid has the rest of road D, and no motorway either.
    east = client.get(COVER, params={"grid": EAST_GRID, "day": "2026-11-04"}).json()["grids"][0]
    assert east["street_m"] == pytest.approx(metres((116.345, 40.002), ROAD_D[1]), rel=0.001)


def test_a_walked_street_gives_its_known_share_by_day_and_week_in_shanghai_time(
    client: TestClient, db: Session, streets: dict[str, Any]
) -> None:
    auth = streets["auth"]
    # Wednesday 2026-11-04 at 10:00 in Shanghai: road A.
    patrol_along(client, auth, ROAD_A, at(2026, 11, 4, 10))
    # Thursday 00:30 in Shanghai, which is still Wednesday 16:30 in UTC: road B.
    patrol_along(client, auth, ROAD_B, at(2026, 11, 5, 0, 30))

    wednesday = west(client, day="2026-11-04")
    assert wednesday["share"] == pytest.approx(A_M / STREET_M, abs=0.01)
    assert wednesday["walked_m"] == pytest.approx(A_M, rel=0.01)
    assert wednesday["patrols"] == 1
    thursday = west(client, day="2026-11-05")
    assert thursday["share"] == pytest.approx(B_M / STREET_M, abs=0.01)
    # ISO week 45 of 2026 is Monday 2 to Sunday 8 November.
    week = west(client, week="2026-W45")
    assert week["share"] == pytest.approx((A_M + B_M) / STREET_M, abs=0.01)
    assert week["patrols"] == 2
    assert west(client, week="2026-W46")["walked_m"] == 0
    assert west(client, day="2026-11-03")["walked_m"] == 0

    one = client.get(f"{COVER}/{WEST_GRID}", params={"day": "2026-11-04"}).json()
    walked = sum(f["properties"]["length_m"] for f in one["walked"]["features"])
    unwalked = sum(f["properties"]["length_m"] for f in one["unwalked"]["features"])
    assert walked == pytest.approx(A_M, rel=0.01)
    assert unwalked == pytest.approx(B_M + D_WEST_M, rel=0.01)
    assert one["share"] == wednesday["share"] and one["from"].startswith("2026-11-04T00:00:00+08")


def test_a_piece_across_midnight_counts_on_each_day_for_the_part_walked_then(
    client: TestClient, streets: dict[str, Any]
) -> None:
    # Road B (333 m, under 5 minutes) walked from 23:58 in Shanghai: about half on Wednesday.
    patrol_along(client, streets["auth"], ROAD_B, at(2026, 11, 4, 23, 58))
    wednesday = west(client, day="2026-11-04")["walked_m"]
    thursday = west(client, day="2026-11-05")["walked_m"]
    assert 0.3 * B_M < wednesday < 0.7 * B_M and 0.3 * B_M < thursday < 0.7 * B_M
    # Only pieces near the point walked at midnight count on both days: within 20 m of it,
    # and a piece is up to 25 m long, on either side.
    assert B_M <= wednesday + thursday <= B_M + 2 * (20 + 25)


def test_a_redrawn_grid_gets_its_street_pieces_rebuilt(
    client: TestClient, db: Session, streets: dict[str, Any]
) -> None:
    before = west(client, day="2026-11-04")["street_m"]
    old = db.execute(
        text("SELECT id FROM grid WHERE code = :g AND valid_to IS NULL"), {"g": WEST_GRID}
    ).scalar_one()
    # A new version of the west grid, cut back to lon 116.3435: most of road A leaves it.
    db.execute(text("UPDATE grid SET valid_to = clock_timestamp() WHERE id = :i"), {"i": old})
    new = db.execute(
        text(
            "INSERT INTO grid (code, community_code, name, version, geom, valid_from) "
            "VALUES (:c, :cc, '西网格', 2, ST_GeomFromEWKT(:g), clock_timestamp()) RETURNING id"
        ),
        {"c": WEST_GRID, "cc": WEST_GRID[:12], "g": square(116.34, 40.0, 116.3435, 40.01)},
    ).scalar_one()
    after = west(client, day="2026-11-04")["street_m"]
    # Road B lies wholly in the new shape; roads A and D only up to lon 116.3435.
    cut = metres(ROAD_A[0], (116.3435, 40.005)) + B_M + metres(ROAD_D[0], (116.3435, 40.002))
    assert after == pytest.approx(cut, rel=0.002)
    assert after < before
    ids = set(
        db.execute(
            text("SELECT DISTINCT grid_id FROM street_piece WHERE grid_code = :g"), {"g": WEST_GRID}
        ).scalars()
    )
    assert ids == {new}


def test_the_builder_and_the_python_api_agree_with_the_route(
    client: TestClient, db: Session, streets: dict[str, Any]
) -> None:
    counts = service.refresh_streets(db, [WEST_GRID, EAST_GRID])
    assert counts == {"grids": 2, "built": 2, "pieces": counts["pieces"]} and counts["pieces"] > 0
    # Nothing is stale any more: a second run builds nothing.
    assert service.refresh_streets(db)["built"] == 0
    patrol_along(client, streets["auth"], ROAD_A, at(2026, 11, 4, 10))
    start = datetime(2026, 11, 4, tzinfo=SHANGHAI)
    end = datetime(2026, 11, 5, tzinfo=SHANGHAI)
    rows = service.coverage(
        db, grid_codes=None, region=WEST_GRID[:12], start=start, end=end, cover_m=20.0
    )
    assert [r["grid"] for r in rows] == [WEST_GRID, EAST_GRID]
    assert rows[0] == west(client, day="2026-11-04")
    figures = service.worker_figures(db, person_ids=[streets["person"]], start=start, end=end)
    assert figures[0]["patrols"] == 1
    assert figures[0]["length_m"] == pytest.approx(A_M, rel=0.02)


def test_coverage_asks_for_a_known_place_and_period(client: TestClient, db: Session) -> None:
    two_grids(db)
    assert client.get(COVER, params={"grid": WEST_GRID, "week": "2026-W60"}).status_code == 422
    assert client.get(COVER, params={"grid": WEST_GRID, "day": "2026-02-30"}).status_code == 422
    assert client.get(COVER, params={"grid": WEST_GRID[:-1] + "9"}).json()["code"] == (
        "grid_not_found"
    )
    r = client.get(COVER, params={"grid": WEST_GRID, "day": "2026-11-04", "week": "2026-W45"})
    assert r.status_code == 422
    # No street in the grid: the share is null, not 0.
    assert west(client, day="2026-11-04")["share"] is None
