"""Patrols through the API: start, pieces and end idempotent and in order, refusals that write
nothing, who may patrol and who may read the tracks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    COMMUNITY,
    EAST_GRID,
    STREET,
    WEST_GRID,
    add_staff,
    bearer,
    two_grids,
)
from tests.utils.walks import an_hour_ago, new_key, staff_token, walk

from gridmap.dependencies import get_session
from gridmap.main import create_app
from gridmap.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Along lat 40.005 in the west grid, then north: about 250 m and 330 m.
LEG_1 = ((116.341, 40.005), (116.344, 40.005))
LEG_2 = ((116.344, 40.005), (116.344, 40.008))


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, SHANGHAI).isoformat()


def day_of(t: float) -> str:
    return datetime.fromtimestamp(t, SHANGHAI).date().isoformat()


@pytest.fixture
def team(db: Session) -> dict[str, Any]:
    """Two grids; the west grid's worker, its leader, and a worker of the east grid."""
    two_grids(db)
    walker = add_staff(db, WEST_GRID, "worker", "钱步行", "13500003333")
    leader = db.execute(text("SELECT id FROM person WHERE name = '王晓明'")).scalar_one()
    other = add_staff(db, EAST_GRID, "worker", "孙东边", "13500004444")
    db.flush()
    return {
        "walker": walker,
        "auth": staff_token(db, walker),
        "leader": staff_token(db, leader),
        "other": staff_token(db, other),
    }


def start(client: TestClient, auth: dict[str, str], key: str, t0: float) -> Any:
    return client.put(f"/api/v1/patrols/{key}", json={"started_at": iso(t0)}, headers=auth)


def put_piece(client: TestClient, auth: dict[str, str], key: str, seq: int, points: Any) -> Any:
    return client.put(f"/api/v1/patrols/{key}/pieces/{seq}", json={"points": points}, headers=auth)


def stored(db: Session) -> tuple[Any, ...]:
    """What the patrol tables hold, to compare before and after a refusal."""
    return tuple(
        db.execute(
            text(
                "SELECT (SELECT count(*) FROM patrol), (SELECT count(*) FROM patrol_piece), "
                "(SELECT coalesce(sum(points), 0) FROM patrol), "
                "(SELECT coalesce(sum(length_m), 0) FROM patrol), "
                "(SELECT count(*) FROM patrol WHERE ended_at IS NOT NULL)"
            )
        ).one()
    )


def test_a_patrol_is_started_uploaded_in_order_and_ended_each_step_idempotent(
    client: TestClient, db: Session, team: dict[str, Any]
) -> None:
    auth, key, t0 = team["auth"], new_key(), an_hour_ago()
    first = start(client, auth, key, t0)
    assert first.status_code == 201 and first.headers["Location"] == f"/api/v1/patrols/{key}"
    again = start(client, auth, key, t0 + 99)  # sent again after a lost answer
    assert again.status_code == 200 and again.json() == first.json()

    leg1 = walk(*LEG_1, t0=t0 + 10)
    leg2 = walk(*LEG_2, t0=leg1[-1][2] + 5)[1:]
    r = put_piece(client, auth, key, 0, leg1)
    assert r.status_code == 201
    body = r.json()
    assert body["points"] == len(leg1) and body["pieces"] == 1
    assert body["grid_codes"] == [WEST_GRID] and 245 < body["length_m"] < 265
    # The same piece again (numbers written differently): a replay.
    respelled = json.loads(json.dumps(leg1).replace(".0,", ","))
    assert put_piece(client, auth, key, 0, respelled).status_code == 200
    other = put_piece(client, auth, key, 0, leg1[:-1])
    assert other.status_code == 409 and other.json()["code"] == "patrol_piece_differs"
    gap = put_piece(client, auth, key, 2, leg2)
    assert gap.status_code == 409 and gap.json()["code"] == "patrol_piece_out_of_order"
    assert gap.json()["expected"] == 1
    r = put_piece(client, auth, key, 1, leg2)
    assert r.status_code == 201
    body = r.json()
    # The pieces join: the length runs through the point where piece 0 ended.
    assert body["points"] == len(leg1) + len(leg2) and 570 < body["length_m"] < 610

    row = db.execute(
        text(
            "SELECT count(*) AS n, sum(points) AS points, "
            "bool_and(ST_NPoints(geom) = points + (seq > 0)::int) AS joined, "
            "min(ST_M(ST_StartPoint(geom))) AS t0 FROM patrol_piece"
        )
    ).one()
    assert (row.n, row.points, row.joined, row.t0) == (2, len(leg1) + len(leg2), True, t0 + 10)

    ended_at = iso(leg2[-1][2] + 30)
    end = client.post(f"/api/v1/patrols/{key}/end", json={"ended_at": ended_at}, headers=auth)
    assert end.status_code == 200 and end.json()["ended_at"] is not None
    assert end.json()["duration_s"] == round(leg2[-1][2] + 30 - t0)
    later = iso(leg2[-1][2] + 300)
    again = client.post(f"/api/v1/patrols/{key}/end", json={"ended_at": later}, headers=auth)
    assert again.status_code == 200 and again.json() == end.json()
    # Once ended: a stored piece sent again is still a replay, a new one is refused.
    assert put_piece(client, auth, key, 1, leg2).status_code == 200
    more = walk(*LEG_1, t0=leg2[-1][2] + 10)[1:]
    r = put_piece(client, auth, key, 2, more)
    assert r.status_code == 409 and r.json()["code"] == "patrol_ended"


@pytest.mark.parametrize(
    ("spoil", "code"),
    [
        (lambda p: p[:3] + [p[1]] + p[4:], "track_time_order"),
        (lambda p: p[:3] + [[p[3][0] + 0.05, p[3][1], p[3][2]]] + p[4:], "track_too_fast"),
        (lambda p: p[:3] + [[p[3][1], p[3][0], p[3][2]]] + p[4:], "track_outside_china"),
        (lambda p: p[:3] + [[p[3][0], p[3][1], p[3][2] + 86400]], "track_in_future"),
        (lambda p: [], "track_empty"),
        (lambda p: p[:1], "track_too_few_points"),
        (lambda p: p[:3] + [[p[3][0], p[3][1], "soon"]], "track_malformed"),
    ],
)
def test_a_bad_track_is_refused_with_its_code_and_nothing_is_written(
    client: TestClient, db: Session, team: dict[str, Any], spoil: Any, code: str
) -> None:
    auth, key, t0 = team["auth"], new_key(), an_hour_ago()
    assert start(client, auth, key, t0).status_code == 201
    before = stored(db)
    r = put_piece(client, auth, key, 0, spoil(walk(*LEG_1, t0=t0 + 10)))
    assert r.status_code == 422 and r.json()["code"] == code, r.json()
    assert "index" in r.json()
    assert stored(db) == before


def test_nan_in_the_body_is_refused(client: TestClient, db: Session, team: dict[str, Any]) -> None:
    auth, key, t0 = team["auth"], new_key(), an_hour_ago()
    start(client, auth, key, t0)
    body = f'{{"points": [[116.341, 40.005, {t0 + 10}], [116.3411, NaN, {t0 + 15}]]}}'
    r = client.put(
        f"/api/v1/patrols/{key}/pieces/0",
        content=body,
        headers={**auth, "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["code"] in ("track_malformed", "invalid_json")
    assert stored(db)[1] == 0


def test_a_million_points_are_refused_and_nothing_is_written(
    client: TestClient, db: Session, team: dict[str, Any]
) -> None:
    auth, key, t0 = team["auth"], new_key(), an_hour_ago()
    start(client, auth, key, t0)
    before = stored(db)
    point = "[116.3410001,40.0050001,1800000000.5]"
    body = '{"points": [' + ",".join([point] * 1_000_000) + "]}"
    r = client.put(
        f"/api/v1/patrols/{key}/pieces/0",
        content=body,
        headers={**auth, "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["code"] == "too_large"
    # Within the body limit but over the piece limit: refused on the count.
    r = put_piece(client, auth, key, 0, walk(*LEG_1, t0=t0, step_s=0.01)[:3601])
    assert r.status_code == 422 and r.json()["code"] == "track_too_many_points"
    assert r.json()["limit"] == 3600
    assert stored(db) == before


@pytest.fixture
def small(settings: Settings, db: Session) -> Iterator[TestClient]:
    """A server allowing at most 100 points a patrol, 60 a piece."""
    s = settings.model_copy(deep=True)
    s.api.patrol_points = 100
    s.api.patrol_piece_points = 60
    app = create_app(s)

    def _session() -> Iterator[Session]:
        yield db

    app.dependency_overrides[get_session] = _session
    with TestClient(app) as c:
        yield c


def test_a_patrol_over_its_total_of_points_is_refused(
    small: TestClient, db: Session, team: dict[str, Any]
) -> None:
    auth, key, t0 = team["auth"], new_key(), an_hour_ago()
    start(small, auth, key, t0)
    points = walk(*LEG_1, t0=t0 + 10, step_s=1)[:120]
    assert put_piece(small, auth, key, 0, points[:60]).status_code == 201
    before = stored(db)
    r = put_piece(small, auth, key, 1, points[60:120])
    assert r.status_code == 422 and r.json()["code"] == "track_too_many_points"
    assert r.json()["limit"] == 100 and stored(db) == before
    assert put_piece(small, auth, key, 1, points[60:100]).status_code == 201


def test_only_a_grid_staff_member_patrols_and_only_their_own(
    client: TestClient, db: Session, team: dict[str, Any]
) -> None:
    key, t0 = new_key(), an_hour_ago()
    office = bearer(db, "community", COMMUNITY)
    r = start(client, office, key, t0)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert start(client, {}, key, t0).status_code == 401
    assert start(client, team["auth"], key, t0).status_code == 201
    taken = start(client, team["other"], key, t0)
    assert taken.status_code == 409 and taken.json()["code"] == "patrol_key_taken"
    before = stored(db)
    r = put_piece(client, team["other"], key, 0, walk(*LEG_1, t0=t0 + 10))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = client.post(
        f"/api/v1/patrols/{key}/end", json={"ended_at": iso(t0 + 60)}, headers=team["other"]
    )
    assert r.status_code == 403
    assert stored(db) == before
    unknown = put_piece(client, team["auth"], new_key(), 0, walk(*LEG_1, t0=t0 + 10))
    assert unknown.status_code == 404 and unknown.json()["code"] == "patrol_not_found"


def test_an_end_before_the_last_point_or_in_the_future_is_refused(
    client: TestClient, db: Session, team: dict[str, Any]
) -> None:
    auth, key, t0 = team["auth"], new_key(), an_hour_ago()
    start(client, auth, key, t0)
    points = walk(*LEG_1, t0=t0 + 10)
    put_piece(client, auth, key, 0, points)
    for when in (points[-1][2] - 1, t0 + 86400):
        r = client.post(f"/api/v1/patrols/{key}/end", json={"ended_at": iso(when)}, headers=auth)
        assert r.status_code == 422, r.json()
    assert stored(db)[4] == 0
    future = start(client, auth, new_key(), t0 + 86400)
    assert future.status_code == 422 and future.json()["code"] == "track_in_future"


def test_tracks_are_read_by_the_walker_the_grid_team_and_the_offices_only(
    client: TestClient, db: Session, team: dict[str, Any]
) -> None:
    auth, key, t0 = team["auth"], new_key(), an_hour_ago()
    start(client, auth, key, t0)
    put_piece(client, auth, key, 0, walk(*LEG_1, t0=t0 + 10))
    day = day_of(t0)
    own = client.get("/api/v1/patrols", params={"day": day}, headers=auth)
    assert own.status_code == 200
    (feature,) = own.json()["features"]
    assert feature["geometry"]["type"] == "MultiLineString"
    assert feature["properties"]["key"] == key and feature["id"] == key
    assert own.headers["content-type"].startswith("application/geo+json")

    seen = {"walker": auth, "leader": team["leader"]}
    seen["community"] = bearer(db, "community", COMMUNITY, name="社区")
    seen["street"] = bearer(db, "street", STREET, name="街道")
    for who, headers in seen.items():
        r = client.get("/api/v1/patrols", params={"grid": WEST_GRID, "day": day}, headers=headers)
        assert r.status_code == 200 and len(r.json()["features"]) == 1, who
        assert client.get(f"/api/v1/patrols/{key}", headers=headers).status_code == 200, who
    r = client.get("/api/v1/patrols", params={"region": STREET, "day": day}, headers=seen["street"])
    assert len(r.json()["features"]) == 1
    # No filter: an office sees its region, a worker their own walks.
    assert (
        len(
            client.get("/api/v1/patrols", params={"day": day}, headers=seen["community"]).json()[
                "features"
            ]
        )
        == 1
    )
    assert client.get("/api/v1/patrols", params={"day": day}, headers=team["other"]).json() == {
        "type": "FeatureCollection",
        "features": [],
    }

    elsewhere = bearer(db, "community", "110108010002", name="别的社区")
    viewer = bearer(db, "viewer", COMMUNITY, name="看图")
    for who, headers in {
        "east worker": team["other"],
        "other community": elsewhere,
        "viewer": viewer,
    }.items():
        r = client.get("/api/v1/patrols", params={"grid": WEST_GRID, "day": day}, headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "forbidden", who
        assert client.get(f"/api/v1/patrols/{key}", headers=headers).status_code == 403, who
    r = client.get("/api/v1/patrols", params={"region": COMMUNITY}, headers=team["leader"])
    assert r.status_code == 403
    r = client.get(
        "/api/v1/patrols", params={"person": team["walker"], "day": day}, headers=team["other"]
    )
    assert r.status_code == 403
    assert client.get("/api/v1/patrols", params={"grid": WEST_GRID}).status_code == 401
    assert client.get(f"/api/v1/patrols/{new_key()}", headers=auth).status_code == 404


def test_my_patrol_day_for_the_phone(client: TestClient, db: Session, team: dict[str, Any]) -> None:
    auth, t0 = team["auth"], an_hour_ago()
    done, open_ = new_key(), new_key()
    start(client, auth, done, t0)
    leg = walk(*LEG_1, t0=t0 + 10)
    put_piece(client, auth, done, 0, leg)
    client.post(f"/api/v1/patrols/{done}/end", json={"ended_at": iso(leg[-1][2])}, headers=auth)
    start(client, auth, open_, leg[-1][2] + 60)
    r = client.get("/api/v1/me/patrols", params={"day": day_of(t0)}, headers=auth)
    assert r.status_code == 200
    body = r.json()
    expected = 2 if day_of(leg[-1][2] + 60) == day_of(t0) else 1
    assert body["patrols"] == expected and body["open"] == open_
    assert 245 < body["length_m"] < 265 and body["duration_s"] >= round(leg[-1][2] - t0)
    assert body["grids"] == [{"grid": WEST_GRID, "share": None}]  # no street in the fixture
    office = bearer(db, "community", COMMUNITY)
    assert client.get("/api/v1/me/patrols", headers=office).status_code == 403
