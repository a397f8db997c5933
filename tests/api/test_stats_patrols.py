"""The assessment's patrol and visit figures (GET /api/v1/stats/patrols) on a small hand-made
October: two streets in the west grid, one in the east; the west grid's worker walks one street
on the 10th and both on the 20th; visits and care tags with known due dates."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.care import Place, place, tag
from tests.utils.fixtures import EAST_GRID, STREET, WEST_GRID, bearer
from tests.utils.network import add_edge

STATS = "/api/v1/stats/patrols"
BJ = ZoneInfo("Asia/Shanghai")
# West grid: lon 116.340–116.345; east grid: 116.345–116.350 (lat 40.000–40.010).
NORTH = [(116.341, 40.008), (116.344, 40.008)]
SOUTH = [(116.341, 40.002), (116.344, 40.002)]
EAST = [(116.346, 40.005), (116.349, 40.005)]
OCTOBER_DAYS = 31


def _patrol(
    db: Session,
    person: int,
    grid: str,
    line: list[tuple[float, float]],
    start: datetime,
    *,
    minutes: int,
    length_m: float,
) -> None:
    """A finished patrol along ``line`` from ``start`` lasting ``minutes``, ``length_m`` long."""
    t0 = start.timestamp()
    step = minutes * 60 / (len(line) - 1)
    wkt = (
        "LINESTRING M ("
        + ", ".join(f"{x!r} {y!r} {t0 + i * step!r}" for i, (x, y) in enumerate(line))
        + ")"
    )
    end = start + timedelta(minutes=minutes)
    db.execute(
        text(
            "WITH p AS (INSERT INTO patrol (key, person_id, grid_codes, started_at, ended_at, "
            " points, length_m) VALUES (gen_random_uuid(), :person, ARRAY[:grid]::varchar[], "
            " :start, :end, :n, :length) RETURNING id) "
            "INSERT INTO patrol_piece (patrol_id, seq, points, first_at, last_at, length_m, "
            " digest, geom) SELECT p.id, 0, :n, :start, :end, :length, md5(:wkt), "
            " ST_GeomFromText(:wkt, 4326) FROM p"
        ),
        {
            "person": person,
            "grid": grid,
            "start": start,
            "end": end,
            "n": len(line),
            "length": length_m,
            "wkt": wkt,
        },
    )


def _visit(db: Session, household: int, person: int, at: datetime) -> None:
    db.execute(
        text(
            "INSERT INTO visit (household_id, grid_code, person_id, at, outcome) "
            "SELECT h.id, b.grid_code, :p, :at, 'met' FROM household h "
            "JOIN building b ON b.id = h.building_id WHERE h.id = :h"
        ),
        {"h": household, "p": person, "at": at},
    )


def _streets(db: Session) -> None:
    # Densified so the patrols' lines, which pass the same vertices, lie on them.
    def dense(line: list[tuple[float, float]]) -> list[tuple[float, float]]:
        (x0, y0), (x1, y1) = line
        return [(x0 + (x1 - x0) * i / 12, y0 + (y1 - y0) * i / 12) for i in range(13)]

    add_edge(db, 1, 2, dense(NORTH))
    add_edge(db, 3, 4, dense(SOUTH))
    add_edge(db, 5, 6, dense(EAST))
    db.flush()


@pytest.fixture
def october(db: Session) -> Place:
    p = place(db)
    _streets(db)
    w = p.west_worker
    _patrol(
        db, w, WEST_GRID, NORTH, datetime(2026, 10, 10, 9, tzinfo=BJ), minutes=30, length_m=250.0
    )
    _patrol(
        db, w, WEST_GRID, NORTH, datetime(2026, 10, 20, 9, tzinfo=BJ), minutes=30, length_m=250.0
    )
    _patrol(
        db, w, WEST_GRID, SOUTH, datetime(2026, 10, 20, 14, tzinfo=BJ), minutes=45, length_m=260.0
    )
    # November: outside the month asked for
    _patrol(
        db, w, WEST_GRID, SOUTH, datetime(2026, 11, 1, 0, 10, tzinfo=BJ), minutes=20, length_m=999.0
    )
    # west household 0: lives alone (7 days), last visited 10 October: overdue on 1 November
    tag(db, p.west[0], "elderly_alone", since=datetime(2026, 9, 1).date())
    _visit(db, p.west[0], w, datetime(2026, 10, 3, 10, tzinfo=BJ))
    _visit(db, p.west[0], w, datetime(2026, 10, 10, 10, tzinfo=BJ))
    # west household 1: hardship since 20 October (30 days): due 19 November
    tag(db, p.west[1], "hardship", since=datetime(2026, 10, 20).date())
    # east household 0: lives alone since 30 October: due 6 November
    tag(db, p.east[0], "elderly_alone", since=datetime(2026, 10, 30).date())
    _visit(db, p.east[0], p.east_worker, datetime(2026, 11, 2, 10, tzinfo=BJ))
    db.flush()
    return p


def _groups(client: TestClient, group_by: str, **headers: Any) -> dict[Any, dict[str, Any]]:
    r = client.get(
        STATS,
        params={"region": STREET, "month": "2026-10", "group_by": group_by},
        headers=headers or None,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["days"] == OCTOBER_DAYS and body["from"].startswith("2026-10-01T00:00:00+08")
    return {g["key"]: g for g in body["groups"]}


def test_grid_figures_of_a_known_month(client: TestClient, october: Place) -> None:
    grids = _groups(client, "grid")
    west, east = grids[WEST_GRID], grids[EAST_GRID]
    # one of two equal streets walked on the 10th, both on the 20th, none on the other 29 days
    assert west["patrol_share"] == pytest.approx((0.5 + 1.0) / OCTOBER_DAYS, abs=2e-4)
    assert west["patrols"] == 3 and west["patrol_km"] == pytest.approx(0.76)
    assert west["patrol_hours"] == pytest.approx(1.75)
    assert west["visits"] == 2 and west["visits_overdue"] == 1
    assert east["patrol_share"] == 0.0 and east["patrols"] == 0 and east["patrol_km"] == 0.0
    assert east["visits"] == 0 and east["visits_overdue"] == 0
    assert [west["rank"], east["rank"]] == [1, 2]


def test_worker_figures_and_their_names(client: TestClient, october: Place, db: Session) -> None:
    street = bearer(db, role="street", region=STREET)
    workers = _groups(client, "worker", **street)
    li = workers[october.west_worker]
    assert li["name"] == "李静" and li["grids"] == [WEST_GRID]
    assert li["patrols"] == 3 and li["patrol_km"] == pytest.approx(0.76)
    assert li["patrol_hours"] == pytest.approx(1.75) and li["visits"] == 2
    assert li["visits_overdue"] == 1
    assert li["patrol_share"] == pytest.approx(1.5 / OCTOBER_DAYS, abs=2e-4)
    # a person serving both grids: the mean of the two grids' shares, both grids' overdue
    both = workers[october.both_worker]
    assert both["grids"] == [WEST_GRID, EAST_GRID]
    assert both["patrol_share"] == pytest.approx(1.5 / OCTOBER_DAYS / 2, abs=2e-4)
    assert both["patrols"] == 0 and both["visits_overdue"] == 1
    # without a token that may see the grids' people, names are masked
    masked = _groups(client, "worker")
    assert masked[october.west_worker]["name"] != "李静"
    assert masked[october.west_worker]["patrol_km"] == pytest.approx(0.76)


def test_a_month_and_from_to_at_once_is_refused(client: TestClient, october: Place) -> None:
    r = client.get(STATS, params={"region": STREET, "month": "2026-10", "from": "2026-10-01"})
    assert r.status_code == 422 and r.json()["code"]


def test_figures_write_nothing_but_street_pieces(
    client: TestClient, october: Place, db: Session
) -> None:
    before = db.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    _groups(client, "grid")
    assert db.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == before
    pieces = db.execute(
        text("SELECT grid_code, round(sum(length_m)) FROM street_piece GROUP BY 1 ORDER BY 1")
    ).all()
    assert [code for code, _ in pieces] == [WEST_GRID, EAST_GRID]
