"""The board: queues by role and region, counts, 304 while nothing changed, filters, bulk steps."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    DISTRICT,
    STREET,
    WEST_GRID,
    add_grid,
    add_region,
    bearer,
    square,
    two_grids,
)

from gridmap.auth import Holder, create_token
from gridmap.queries.board import LAST_CHANGE

OTHER_STREET = "110108020"
OTHER_COMMUNITY = OTHER_STREET + "001"
OTHER_GRID = OTHER_COMMUNITY + "001"


@pytest.fixture
def places(db: Session) -> None:
    """Two streets of one district, a grid in each; one department of the first street."""
    two_grids(db)
    area = square(116.36, 40.0, 116.37, 40.01)
    add_region(db, OTHER_STREET, "street", "清河街道", DISTRICT, area)
    add_region(db, OTHER_COMMUNITY, "community", "清河社区", OTHER_STREET, area)
    add_grid(db, OTHER_GRID, area, name="清河一格")
    db.execute(
        text(
            "INSERT INTO department (code, name, level, region_code, kind) VALUES "
            "('xyl-cg', '学院路城管执法队', 'street', :s, '城管执法'), "
            "('hd-sw', '海淀区水务局', 'district', :d, '水务')"
        ),
        {"s": STREET, "d": DISTRICT},
    )
    db.flush()


def incident(
    db: Session,
    *,
    status: str,
    owner: str | None = None,
    grid: str = WEST_GRID,
    category: str = "市容环境/暴露垃圾",
    severity: str = "general",
    due_hours: float | None = None,
    reported: str = "2026-11-30T09:00:00+08:00",
) -> int:
    """An incident in ``grid`` written by SQL in the state a test needs."""
    return int(
        db.execute(
            text(
                "INSERT INTO incident (category, severity, grid_code, community_code, street_code, "
                "status, owner_code, reported_at, due_at, geom) VALUES (:cat, :sev, :g, :c, :s, "
                ":st, :o, :rep, CASE WHEN CAST(:due AS float) IS NULL THEN NULL "
                "ELSE now() + make_interval(secs => CAST(:due AS float) * 3600) END, "
                "ST_SetSRID(ST_MakePoint(116.342, 40.005), 4326)) RETURNING id"
            ),
            {
                "cat": category,
                "sev": severity,
                "g": grid,
                "c": grid[:12],
                "s": grid[:9],
                "st": status,
                "o": owner,
                "rep": reported,
                "due": due_hours,
            },
        ).scalar_one()
    )


def task(db: Session, incident_id: int, *, kind: str, code: str, state: str = "assigned") -> int:
    assignee = "department" if kind == "whistle" else "grid"
    return int(
        db.execute(
            text(
                "INSERT INTO incident_task (incident_id, kind, assignee_kind, assignee_code, "
                "assignee_name, state) VALUES (:i, :k, :ak, :c, :n, :st) RETURNING id"
            ),
            {"i": incident_id, "k": kind, "ak": assignee, "c": code, "n": code, "st": state},
        ).scalar_one()
    )


def board(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = client.get("/api/v1/board", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def ids(answer: dict[str, Any]) -> list[int]:
    return [row["id"] for row in answer["rows"]]


@pytest.mark.usefixtures("places")
def test_a_street_sees_its_own_pool_and_not_another_streets(
    client: TestClient, db: Session
) -> None:
    mine = incident(db, status="pooled", owner=STREET)
    theirs = incident(db, status="pooled", owner=OTHER_STREET, grid=OTHER_GRID)
    reported_here = incident(db, status="reported")
    reported_there = incident(db, status="reported", grid=OTHER_GRID)
    queued = incident(db, status="queued", owner=DISTRICT)
    street = bearer(db, "street", STREET, "学院路指挥中心")

    pool = board(client, street, queue="pool")
    assert ids(pool) == [mine] and pool["counts"]["pool"] == 1
    assert ids(board(client, street, queue="to_accept")) == [reported_here]
    # The district's dispatch queue is not the street's.
    assert board(client, street)["counts"]["to_dispatch"] == 0
    assert theirs not in ids(pool) and reported_there not in ids(pool)

    district = bearer(db, "district", DISTRICT, "海淀区指挥中心")
    seen = board(client, district, queue="to_dispatch")
    assert ids(seen) == [queued]
    assert seen["counts"]["pool"] == 2 and seen["counts"]["to_accept"] == 2
    assert seen["queues"][0] == "to_accept"


@pytest.mark.usefixtures("places")
def test_rows_name_their_places_and_time_left(client: TestClient, db: Session) -> None:
    soon = incident(db, status="dispatched", owner=STREET, due_hours=1.5)
    late = incident(db, status="handling", owner=STREET, due_hours=-3)
    task(db, late, kind="split", code=WEST_GRID, state="working")
    street = bearer(db, "street", STREET, "学院路指挥中心")

    answer = board(client, street, queue="dispatched")
    assert ids(answer) == [late, soon]  # the most pressing first
    row = answer["rows"][0]
    assert (row["street_name"], row["community_name"], row["grid_name"]) == (
        "学院路街道",
        "测试社区",
        "西网格",
    )
    assert row["seconds_left"] < -3 * 3600 + 60
    assert row["tasks"] == {"open": 1, "answered": 0, "total": 1, "assignees": [WEST_GRID]}
    assert 5300 < answer["rows"][1]["seconds_left"] <= 5400
    assert answer["counts"]["overdue"] == 1
    assert ids(board(client, street, queue="overdue")) == [late]


@pytest.mark.usefixtures("places")
def test_a_department_sees_only_what_is_whistled_to_it(client: TestClient, db: Session) -> None:
    ours = incident(db, status="handling", owner=STREET)
    task(db, ours, kind="whistle", code="xyl-cg")
    other = incident(db, status="handling", owner=STREET)
    task(db, other, kind="whistle", code="hd-sw")
    done = incident(db, status="resolved", owner=STREET)
    task(db, done, kind="whistle", code="xyl-cg", state="answered")
    incident(db, status="pooled", owner=STREET)
    secret, _ = create_token(db, holder=Holder("department", department="xyl-cg"))
    dept = {"Authorization": f"Bearer {secret}"}

    answer = board(client, dept)
    assert answer["queues"] == ["mine"] and answer["counts"] == {"mine": 1}
    assert ids(answer) == [ours]
    r = client.get("/api/v1/board", headers=dept, params={"queue": "pool"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"

    street = bearer(db, "street", STREET, "学院路指挥中心")
    whistled = board(client, street, queue="whistled")
    assert sorted(ids(whistled)) == sorted([ours, other])
    assert whistled["counts"]["to_verify"] == 1


@pytest.mark.usefixtures("places")
def test_viewers_and_strangers_have_no_board(client: TestClient, db: Session) -> None:
    assert client.get("/api/v1/board").status_code == 401
    viewer = bearer(db, "viewer", DISTRICT, "访客")
    r = client.get("/api/v1/board", headers=viewer)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


@pytest.mark.usefixtures("places")
def test_unchanged_board_is_304_and_a_change_gives_a_new_etag(
    client: TestClient, db: Session
) -> None:
    one = incident(db, status="pooled", owner=STREET)
    street = bearer(db, "street", STREET, "学院路指挥中心")
    first = client.get("/api/v1/board", headers=street, params={"queue": "pool"})
    tag = first.headers["ETag"]
    again = client.get(
        "/api/v1/board", headers={**street, "If-None-Match": tag}, params={"queue": "pool"}
    )
    assert again.status_code == 304 and again.content == b""
    # Another query is another tag.
    other = client.get("/api/v1/board", headers={**street, "If-None-Match": tag})
    assert other.status_code == 200 and other.headers["ETag"] != tag

    db.execute(text("UPDATE incident SET status = 'dispatched' WHERE id = :i"), {"i": one})
    db.flush()
    moved = client.get(
        "/api/v1/board", headers={**street, "If-None-Match": tag}, params={"queue": "pool"}
    )
    assert moved.status_code == 200 and moved.headers["ETag"] != tag
    assert moved.json()["rows"] == [] and moved.json()["change"] > first.json()["change"]


def test_has_anything_changed_is_one_index_probe(db: Session) -> None:
    sql = LAST_CHANGE.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    plan = "\n".join(db.execute(text(f"EXPLAIN {sql}")).scalars())
    # One probe of each month's copy of the index (incident is partitioned by month).
    probes = re.findall(r"Index Only Scan Backward using (\w+) on (\w+)", plan)
    assert probes and all(i == f"{t}_change_seq_idx" for i, t in probes), plan
    assert "Seq Scan" not in plan


@pytest.mark.usefixtures("places")
def test_filters_narrow_rows_and_counts(client: TestClient, db: Session) -> None:
    urgent = incident(db, status="reported", severity="urgent", category="市政设施/井盖缺失")
    incident(db, status="reported", reported="2026-10-01T09:00:00+08:00")
    there = incident(db, status="reported", grid=OTHER_GRID)
    district = bearer(db, "district", DISTRICT, "海淀区指挥中心")

    assert ids(board(client, district, severity="urgent")) == [urgent]
    assert ids(board(client, district, category="市政设施/井盖缺失")) == [urgent]
    assert ids(board(client, district, street=OTHER_STREET)) == [there]
    recent = board(client, district, **{"from": "2026-11-01"})
    assert sorted(ids(recent)) == sorted([urgent, there]) and recent["counts"]["to_accept"] == 2
    assert board(client, district, state="pooled")["counts"]["to_accept"] == 0
    paged = board(client, district, limit=1, offset=1)
    assert len(paged["rows"]) == 1 and paged["numberMatched"] == 3
    bad = client.get("/api/v1/board", headers=district, params={"severity": "huge"})
    assert bad.status_code == 422 and "severity" in bad.json()["detail"]


@pytest.mark.usefixtures("places")
def test_approvals_count_the_requests_the_caller_decides(client: TestClient, db: Session) -> None:
    asked = incident(db, status="handling", owner=STREET)
    elsewhere = incident(db, status="handling", owner=OTHER_STREET, grid=OTHER_GRID)
    db.execute(
        text(
            "INSERT INTO approval (incident_id, kind, reason, hours, requested_by, decider_code) "
            "VALUES (:a, 'extend', '材料未到', 24, '学院路', :d), "
            "(:a, 'park', '需市级协调', NULL, '学院路', :d), "
            "(:b, 'extend', '等待', 8, '清河', '110109')"
        ),
        {"a": asked, "b": elsewhere, "d": DISTRICT},
    )
    district = bearer(db, "district", DISTRICT, "海淀区指挥中心")
    answer = board(client, district, queue="approvals")
    assert answer["counts"]["approvals"] == 2 and ids(answer) == [asked]
    street = bearer(db, "street", STREET, "学院路指挥中心")
    assert board(client, street)["counts"]["approvals"] == 0


def test_the_page_is_served_at_board(client: TestClient) -> None:
    r = client.get("/board")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert 'src="board.js"' in r.text


def test_an_unknown_bulk_step_is_404(client: TestClient, db: Session) -> None:
    headers = bearer(db, "district", DISTRICT, "海淀区指挥中心")
    r = client.post(
        "/api/v1/incidents/bulk/close", headers=headers, json={"items": [{"id": 1, "version": 1}]}
    )
    assert r.status_code == 404 and r.json()["code"] == "not_found"


@pytest.mark.usefixtures("places")
def test_bulk_accept_lands_every_fresh_row_and_refuses_the_stale_one(
    client: TestClient, db: Session
) -> None:
    fresh = [incident(db, status="reported") for _ in range(3)]
    stale = incident(db, status="reported")
    db.execute(text("UPDATE incident SET version = 2 WHERE id = :i"), {"i": stale})
    db.flush()
    street = bearer(db, "street", STREET, "学院路指挥中心")
    items = [{"id": i, "version": 1} for i in [*fresh[:2], stale, fresh[2]]]
    r = client.post("/api/v1/incidents/bulk/accept", headers=street, json={"items": items})
    assert r.status_code == 200, r.text
    results = {x["id"]: x for x in r.json()["results"]}
    assert [x["id"] for x in r.json()["results"]] == [i["id"] for i in items]
    assert results[stale]["status"] == 412 and results[stale]["code"] == "stale_etag"
    assert results[stale]["version"] == 2
    assert all(results[i]["status"] == 200 and results[i]["version"] == 2 for i in fresh)
    states = dict(
        db.execute(
            text("SELECT id, status FROM incident WHERE id = ANY(:ids)"),
            {"ids": [*fresh, stale]},
        ).all()
    )
    assert states == {**dict.fromkeys(fresh, "pooled"), stale: "reported"}
    events = db.execute(
        text("SELECT count(*) FROM incident_event WHERE incident_id = :i"), {"i": stale}
    ).scalar_one()
    assert events == 0


@pytest.mark.usefixtures("places")
def test_bulk_is_for_command_centres_and_refuses_rows_outside_their_region(
    client: TestClient, db: Session
) -> None:
    ours = incident(db, status="reported")
    items = {"items": [{"id": ours, "version": 1}]}
    url = "/api/v1/incidents/bulk/accept"
    assert client.post(url, json=items).status_code == 401
    secret, _ = create_token(db, holder=Holder("department", department="xyl-cg"))
    callers = [
        bearer(db, "viewer", DISTRICT, "访客"),
        bearer(db, "community", STREET + "001", "测试社区办"),
        {"Authorization": f"Bearer {secret}"},
    ]
    for headers in callers:
        r = client.post(url, headers=headers, json=items)
        assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
    other = bearer(db, "street", OTHER_STREET, "清河指挥中心")
    r = client.post(url, headers=other, json=items)
    assert r.status_code == 200
    assert [(x["status"], x["code"]) for x in r.json()["results"]] == [(403, "forbidden")]
    assert state_of(db, ours) == ("reported", 1)
    district = bearer(db, "district", DISTRICT, "海淀区指挥中心")
    r = client.post(url, headers=district, json=items)
    assert r.json()["results"][0]["status"] == 200
    assert state_of(db, ours) == ("pooled", 2)


@pytest.mark.usefixtures("places")
def test_bulk_dispatch_sends_the_districts_queue_to_the_street(
    client: TestClient, db: Session
) -> None:
    queued = [incident(db, status="queued", owner=DISTRICT) for _ in range(2)]
    district = bearer(db, "district", DISTRICT, "海淀区指挥中心")
    r = client.post(
        "/api/v1/incidents/bulk/dispatch",
        headers=district,
        json={"items": [{"id": i, "version": 1} for i in queued], "note": "统一派单"},
    )
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == [200, 200]
    rows = db.execute(
        text("SELECT status, owner_code, dispatch_mode FROM incident WHERE id = ANY(:ids)"),
        {"ids": queued},
    ).all()
    assert [tuple(x) for x in rows] == [("dispatched", STREET, "dispatch")] * 2
    assert board(client, district)["counts"]["to_dispatch"] == 0


def test_bulk_names_each_incident_once(client: TestClient, db: Session) -> None:
    district = bearer(db, "district", DISTRICT, "海淀区指挥中心")
    r = client.post(
        "/api/v1/incidents/bulk/accept",
        headers=district,
        json={"items": [{"id": 5, "version": 1}, {"id": 5, "version": 2}]},
    )
    assert r.status_code == 422 and "named twice" in r.json()["detail"]


def state_of(db: Session, incident_id: int) -> tuple[str, int]:
    row = db.execute(
        text("SELECT status, version FROM incident WHERE id = :i"), {"i": incident_id}
    ).one()
    return str(row[0]), int(row[1])


@pytest.mark.usefixtures("places")
def test_a_grid_worker_and_a_community_office_see_the_sub_tasks_of_their_grids(
    client: TestClient, db: Session
) -> None:
    split = incident(db, status="handling", owner=STREET)
    task(db, split, kind="split", code=WEST_GRID, state="working")
    elsewhere = incident(db, status="handling", owner=OTHER_STREET, grid=OTHER_GRID)
    task(db, elsewhere, kind="split", code=OTHER_GRID)
    person = db.execute(text("SELECT id FROM person WHERE name = '李静'")).scalar_one()
    secret, _ = create_token(db, holder=Holder("staff", person=person))
    worker = board(client, {"Authorization": f"Bearer {secret}"})
    assert worker["queues"] == ["mine"] and ids(worker) == [split]
    office = board(client, bearer(db, "community", STREET + "001", "测试社区办"))
    assert ids(office) == [split]
