"""Incidents: intake with automatic grid, every step of the loop (and every refused one),
idempotency, duplicates, incidents keeping their grid when grids are redrawn, figures."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    COMMUNITY,
    EAST_GRID,
    STREET,
    WEST_GRID,
    bearer,
    feature,
    rect,
    two_grids,
)
from tests.utils.flow import step

INC = "/api/v1/incidents"
WEST_POINT = {"x": 116.342, "y": 40.005}


@pytest.fixture
def grids(db: Session) -> dict[str, dict[str, str]]:
    two_grids(db)
    return {
        "street": bearer(db, "street", STREET, "学院路街道指挥中心"),
        "worker": bearer(db, "worker", WEST_GRID, "西网格员"),
        "other_worker": bearer(db, "worker", EAST_GRID, "东网格员"),
        "viewer": bearer(db, "viewer", STREET, "查看者"),
    }


def report(client: TestClient, headers: dict[str, str], **body: object):  # type: ignore[no-untyped-def]
    payload = {
        **WEST_POINT,
        "category": "市容环境/暴露垃圾",
        "description": "楼下垃圾堆积",
        "reporter_name": "张晓明",
        "reporter_phone": "13800001234",
        **body,
    }
    return client.post(INC, json=payload, headers=headers)


def state(db: Session, incident_id: int) -> tuple[object, ...]:
    row = db.execute(
        text(
            "SELECT status, version, (SELECT count(*) FROM incident_event e WHERE e.incident_id = i.id)"
            " FROM incident i WHERE id = :id"
        ),
        {"id": incident_id},
    ).one()
    return tuple(row)


def test_intake_assigns_grid_community_street(
    client: TestClient, grids: dict[str, dict[str, str]]
) -> None:
    r = report(client, grids["worker"], severity="urgent")
    assert r.status_code == 201, r.text
    props = r.json()["properties"]
    assert (props["grid_code"], props["community_code"], props["street_code"]) == (
        WEST_GRID,
        COMMUNITY,
        STREET,
    )
    assert props["status"] == "reported" and props["severity"] == "urgent"
    assert props["events"][0]["action"] == "report"
    assert r.headers["location"] == f"{INC}/{props['id']}"
    # Outside every grid: queued to the community holding the point, with the distance.
    r = report(client, grids["street"], x=116.3499, y=40.0105)
    assert r.status_code == 201
    out = r.json()["properties"]
    assert out["grid_code"] is None and out["community_code"] == COMMUNITY
    assert out["distance_to_grid_m"] == pytest.approx(55.6, abs=2)


def test_the_whole_loop_and_every_refused_step(
    client: TestClient, db: Session, grids: dict[str, dict[str, str]]
) -> None:
    inc = report(client, grids["worker"]).json()["properties"]["id"]
    street, worker = grids["street"], grids["worker"]

    def go(action: str, headers: dict[str, str], status: int = 200, **body: object):  # type: ignore[no-untyped-def]
        before = state(db, inc)
        r = step(client, inc, action, headers, status=status, **body)
        if status != 200:
            assert state(db, inc) == before, action  # refused: nothing changed
        return r

    # Nothing but accept/cancel from reported.
    for action in ("claim", "dispatch", "split", "close", "evaluate", "return_up", "resume"):
        body = {"note": "x", "reason": "x", "score": 90}
        r = go(action, street, 409, **body)
        assert "it is reported" in r.json()["detail"] and "accept" in r.json()["detail"]
        assert r.json()["steps_now"] == ["accept", "cancel"]
    go("accept", worker, 403)  # a grid worker reports, a command centre accepts
    go("accept", street)
    go("accept", street, 409)
    go("claim", street)
    props = client.get(f"{INC}/{inc}").json()["properties"]
    assert props["dispatch_mode"] == "claim" and props["due_at"] is not None  # 24 h
    go("split", grids["viewer"], 403)
    go("split", street)
    [task] = client.get(f"{INC}/{inc}").json()["properties"]["tasks"]
    assert task["assignee_code"] == WEST_GRID and task["state"] == "assigned"
    go("report_in", grids["other_worker"], 403, task=task["id"])  # another grid's worker
    go("close", worker, 403)  # a worker does not close
    go("report_in", worker, task=task["id"])
    go("answer", worker, 422, task=task["id"])  # needs a note (处理反馈)
    go("answer", worker, task=task["id"], note="已清运")
    go("rework", street, 422)  # needs a reason
    go("rework", street, reason="仍有残留")
    go("evaluate", street, 409)
    go("answer", worker, task=task["id"], note="已彻底清理")
    go("close", street)
    go("evaluate", street, 422, score=101)
    r = go("evaluate", street, score=95)
    props = r.json()["properties"]
    assert props["status"] == "evaluated" and props["score"] == 95
    assert props["returned_count"] == 1 and props["closed_at"] is not None
    assert props["tasks"][0]["returned_count"] == 1
    actions = [e["action"] for e in props["events"]]
    assert actions == [
        "report",
        "accept",
        "claim",
        "split",
        "report_in",
        "answer",
        "resolve",
        "rework",
        "answer",
        "resolve",
        "close",
        "evaluate",
    ]
    assert props["events"][1]["actor"].startswith("学院路街道指挥中心")
    for action in ("accept", "dispatch", "split", "close", "evaluate", "cancel"):
        go(action, street, 409, reason="x", score=1, note="x")
    assert step(client, inc, "fly", street, status=404).json()["code"] == "not_found"
    assert client.post(f"{INC}/999999/accept", json={}, headers=street).status_code == 404
    assert client.post(f"{INC}/{inc}/accept", json={}).status_code == 401


def test_cancel_and_resume(
    client: TestClient, db: Session, grids: dict[str, dict[str, str]]
) -> None:
    street = grids["street"]
    inc = report(client, grids["worker"]).json()["properties"]["id"]
    assert step(client, inc, "cancel", street, status=422).json()["field"] == "reason"
    r = step(client, inc, "cancel", street, reason="无效上报")
    assert r.json()["properties"]["status"] == "cancelled"
    inc = report(client, grids["worker"]).json()["properties"]["id"]
    step(client, inc, "accept", street)
    step(client, inc, "claim", street)
    step(client, inc, "split", street)
    # Parked two hours ago (approved a level up, gridmap.services.approvals), by the clock now
    # (not the test transaction's start, which a busy machine puts seconds back).
    parked = time.monotonic()
    db.execute(
        text(
            "UPDATE incident SET status = 'parked', parked_from = 'handling', "
            "parked_at = clock_timestamp() - interval '2 hours' WHERE id = :id"
        ),
        {"id": inc},
    )
    due = db.execute(
        text(
            "SELECT i.due_at, t.due_at FROM incident i JOIN incident_task t "
            "ON t.incident_id = i.id WHERE i.id = :id"
        ),
        {"id": inc},
    ).one()
    step(client, inc, "resume", grids["worker"], status=403)
    r = step(client, inc, "resume", street)
    props = r.json()["properties"]
    assert props["status"] == "handling" and props["parked_from"] is None
    moved = db.execute(
        text(
            "SELECT i.due_at, t.due_at FROM incident i JOIN incident_task t "
            "ON t.incident_id = i.id WHERE i.id = :id"
        ),
        {"id": inc},
    ).one()
    # Pushed by the time parked: two hours and the moments the resume took to come.
    waited = time.monotonic() - parked
    for before, after in zip(due, moved, strict=True):
        assert 7200 <= (after - before).total_seconds() <= 7200 + waited + 0.5


def test_idempotency_key(client: TestClient, db: Session, grids: dict[str, dict[str, str]]) -> None:
    h = {**grids["worker"], "Idempotency-Key": "hotline-20261122-0001"}
    first = report(client, h)
    second = report(client, h)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["properties"]["id"] == second.json()["properties"]["id"]
    assert db.execute(text("SELECT count(*) FROM incident")).scalar_one() == 1
    bad = report(client, {**grids["worker"], "Idempotency-Key": "short"})
    assert bad.status_code == 422


def test_duplicate_hints_and_merge(client: TestClient, grids: dict[str, dict[str, str]]) -> None:
    first = report(client, grids["worker"]).json()["properties"]["id"]
    # 30 m east, same category: a likely duplicate; another category is not.
    near = report(client, grids["worker"], x=116.34235, y=40.005).json()
    assert [d["id"] for d in near["duplicates"]] == [first]
    assert near["duplicates"][0]["distance_m"] == pytest.approx(29.8, abs=1)
    other = report(client, grids["worker"], x=116.34235, category="街面秩序/占道经营").json()
    assert other["duplicates"] == []
    far = report(client, grids["worker"], x=116.3436).json()  # ~136 m away
    assert far["duplicates"] == []
    dup = near["properties"]["id"]
    # A merge needs no If-Match: it locks both incidents and decides on what they are then.
    r = client.post(f"{INC}/{dup}/merge", json={"into": first}, headers=grids["street"])
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == f'"{dup}.v2"'
    props = r.json()["properties"]
    assert props["status"] == "cancelled" and props["merged_into"] == first
    assert f"duplicate of incident {first}" in props["events"][-1]["note"]
    r = client.post(f"{INC}/{first}/merge", json={"into": first}, headers=grids["street"])
    assert r.status_code == 422


def test_bad_reports(client: TestClient, db: Session, grids: dict[str, dict[str, str]]) -> None:
    worker = grids["worker"]
    r = report(client, worker, category="不存在/类别")
    assert r.status_code == 422 and "市容环境/暴露垃圾" in r.json()["categories"]
    for body in (
        {"x": 40.005, "y": 116.342},
        {"severity": "critical"},
        {"x": "east"},
        {"reporter_phone": "call me"},
        {"description": "x" * 2001},
        {"color": "red"},
        {"crs": "EPSG:9999"},
    ):
        r = report(client, worker, **body)
        assert r.status_code == 422, body
    r = client.post(
        INC,
        content='{"x": NaN, "y": 40, "category": "市容环境/暴露垃圾"}'.encode(),
        headers={**worker, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert report(client, grids["viewer"]).status_code == 403
    assert report(client, {}).status_code == 401
    assert db.execute(text("SELECT count(*) FROM incident")).scalar_one() == 0


def test_redrawn_grid_keeps_old_incidents_on_their_grid(
    client: TestClient, grids: dict[str, dict[str, str]], db: Session
) -> None:
    inc = report(client, grids["worker"], x=116.3446).json()["properties"]["id"]
    office = bearer(db, "community", COMMUNITY, "社区办")
    # The border moves west: the point now lies in the east grid.
    etag = client.get(f"/api/v1/grids/{WEST_GRID}").headers["etag"]
    r = client.put(
        f"/api/v1/grids/{WEST_GRID}",
        json=feature(rect(116.34, 40.0, 116.344, 40.01), name="西网格"),
        headers={**office, "If-Match": etag},
    )
    assert r.status_code == 200
    etag = client.get(f"/api/v1/grids/{EAST_GRID}").headers["etag"]
    r = client.put(
        f"/api/v1/grids/{EAST_GRID}",
        json=feature(rect(116.344, 40.0, 116.35, 40.01), name="东网格"),
        headers={**office, "If-Match": etag},
    )
    assert r.status_code == 200
    assert client.get(f"{INC}/{inc}").json()["properties"]["grid_code"] == WEST_GRID
    new = report(client, grids["street"], x=116.3446).json()["properties"]
    assert new["grid_code"] == EAST_GRID


def test_list_masks_reporters_and_filters(
    client: TestClient, grids: dict[str, dict[str, str]]
) -> None:
    report(client, grids["worker"])
    assert report(client, grids["worker"], x=116.348).status_code == 403  # not the worker's grid
    report(client, grids["street"], x=116.348, category="街面秩序/占道经营")
    fc = client.get(INC).json()
    assert fc["numberMatched"] == 2
    assert {f["properties"]["reporter_name"] for f in fc["features"]} == {"张**"}
    shown = client.get(INC, params={"grid": WEST_GRID}, headers=grids["worker"]).json()
    assert [f["properties"]["reporter_name"] for f in shown["features"]] == ["张晓明"]
    east = client.get(INC, params={"category": "街面秩序/占道经营"}).json()
    assert [f["properties"]["grid_code"] for f in east["features"]] == [EAST_GRID]
    assert (
        client.get(INC, params={"bbox": "116.346,40.0,116.35,40.01"}).json()["numberMatched"] == 1
    )
    assert client.get(INC, params={"state": "closed"}).json()["numberMatched"] == 0
    assert client.get(INC, params={"from": "yesterday"}).status_code == 422


def test_stats_on_a_known_fixture(
    client: TestClient, db: Session, grids: dict[str, dict[str, str]]
) -> None:
    street = grids["street"]
    ids = [
        report(client, grids["worker"], x=116.341 + i * 0.0008).json()["properties"]["id"]
        for i in range(4)
    ]
    # Two closed (one on time, one late and reworked), one overdue, one only reported.
    for inc in ids[:3]:
        step(client, inc, "accept", street)
        step(client, inc, "claim", street)
    db.execute(
        text(
            "UPDATE incident SET reported_at = now() - interval '10 hours', "
            "status = 'closed', closed_at = now(), due_at = now() + interval '1 hour' "
            "WHERE id = :id"
        ),
        {"id": ids[0]},
    )
    db.execute(
        text(
            "UPDATE incident SET reported_at = now() - interval '30 hours', "
            "status = 'closed', closed_at = now(), due_at = now() - interval '2 hours', "
            "returned_count = 1 WHERE id = :id"
        ),
        {"id": ids[1]},
    )
    db.execute(
        text("UPDATE incident SET due_at = now() - interval '1 hour' WHERE id = :id"),
        {"id": ids[2]},
    )
    r = client.get("/api/v1/stats/incidents", params={"region": STREET, "group_by": "grid"})
    [g] = r.json()["groups"]
    assert g["grid"] == WEST_GRID and g["total"] == 4
    assert g["by_state"] == {"closed": 2, "dispatched": 1, "reported": 1}
    assert g["on_time_rate"] == 0.5 and g["rework_rate"] == 0.5
    assert g["mean_hours_to_close"] == pytest.approx(20, abs=0.1)
    assert g["p90_hours_to_close"] == pytest.approx(28, abs=0.1)
    assert g["overdue_now"] == 1
    r = client.get("/api/v1/stats/incidents", params={"group_by": "category"}).json()
    assert r["groups"][0]["category"] == "市容环境/暴露垃圾"
    assert client.get("/api/v1/stats/incidents", params={"group_by": "moon"}).status_code == 422


# GeoReport v2 (https://wiki.open311.org/GeoReport_v2): the fields of a service and a request.
SERVICE_FIELDS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}


def test_open311_feed(client: TestClient, grids: dict[str, dict[str, str]]) -> None:
    from datetime import datetime

    services = client.get("/open311/v2/services.json").json()
    assert all(set(s) == SERVICE_FIELDS for s in services)
    garbage = next(s for s in services if s["service_code"] == "市容环境/暴露垃圾")
    assert garbage["service_name"] == "暴露垃圾" and garbage["group"] == "市容环境"
    assert garbage["metadata"] is False and garbage["type"] == "realtime"

    street = grids["street"]
    first = report(client, grids["worker"]).json()["properties"]["id"]
    second = report(client, street, x=116.348, category="街面秩序/占道经营").json()["properties"][
        "id"
    ]
    step(client, second, "cancel", street, reason="无效")
    reqs = client.get("/open311/v2/requests.json").json()
    assert [r["service_request_id"] for r in reqs] == [str(second), str(first)]
    for r in reqs:
        assert set(r) == REQUEST_FIELDS
        assert r["status"] in ("open", "closed")
        datetime.fromisoformat(r["requested_datetime"])
        assert -90 <= r["lat"] <= 90 and -180 <= r["long"] <= 180
        assert "张" not in str(r)  # no reporter
    by_id = {r["service_request_id"]: r for r in reqs}
    assert by_id[str(first)]["status"] == "open" and by_id[str(second)]["status"] == "closed"
    assert by_id[str(second)]["status_notes"] == "无效"
    assert by_id[str(first)]["address_id"] == WEST_GRID
    assert by_id[str(first)]["agency_responsible"] == "学院路街道"
    opened = client.get("/open311/v2/requests.json", params={"status": "open"}).json()
    assert [r["service_request_id"] for r in opened] == [str(first)]
    coded = client.get(
        "/open311/v2/requests.json", params={"service_code": "街面秩序/占道经营"}
    ).json()
    assert [r["service_request_id"] for r in coded] == [str(second)]
    one = client.get(f"/open311/v2/requests/{first}.json").json()
    assert len(one) == 1 and one[0]["service_request_id"] == str(first)
    assert client.get("/open311/v2/requests/999999.json").status_code == 404
    assert client.get("/open311/v2/requests.json", params={"status": "maybe"}).status_code == 400


def _upload(client: TestClient, headers: dict[str, str], name: str, body: str, **params: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"{INC}/import",
        params=params,
        headers=headers,
        files={"file": (name, body.encode(), "text/csv")},
    )


def test_import_is_all_or_nothing_and_idempotent(
    client: TestClient, db: Session, grids: dict[str, dict[str, str]]
) -> None:
    street = grids["street"]
    good = (
        "id,lon,lat,category,severity,reported_at,description,status,idempotency_key\n"
        "1,116.342,40.005,市容环境/暴露垃圾,general,2026-05-01T08:00:00,垃圾,closed,h-1\n"
        '2,116.348,40.005,街面秩序/占道经营,urgent,2026-05-02 09:30,"占道,经营",reported,h-2\n'
        '3,116.3499,40.0105,市容环境/道路不洁,,,"多行\n描述",,h-3\n'
    )
    bad = good + (
        "4,40.005,116.342,市容环境/暴露垃圾,general,,,,h-4\n"
        "5,116.342,40.005,不存在/类别,general,,,,h-5\n"
        "6,116.342,40.005,市容环境/暴露垃圾,catastrophic,soon,,,h-6\n"
        "7,,40.005,市容环境/暴露垃圾,general,,,,h-1\n"
    )
    r = _upload(client, street, "hotline.csv", bad, commit="true")
    assert r.status_code == 422 and "nothing was written" in r.json()["detail"]
    problems = {e["row"]: " / ".join(e["problems"]) for e in r.json()["errors"]}
    assert set(problems) == {2, 5, 6, 7, 8}  # line numbers in the file (header is line 1)
    assert "swapped" in problems[5] and "unknown category" in problems[6]
    assert "severity" in problems[7] and "reported_at" in problems[7]
    assert "coordinates" in problems[8] and "repeated" in problems[8]
    assert db.execute(text("SELECT count(*) FROM incident")).scalar_one() == 0
    dry = _upload(client, street, "hotline.csv", good).json()
    assert dry["committed"] is False and dry["in_grid"] == 2 and dry["outside_grids"] == 1
    assert db.execute(text("SELECT count(*) FROM incident")).scalar_one() == 0
    done = _upload(client, street, "hotline.csv", good, commit="true").json()
    assert done["inserted"] == 3 and done["skipped_existing"] == 0
    rows = db.execute(
        text(
            "SELECT idempotency_key, grid_code, community_code, status, description, "
            "to_char(reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') AS at "
            "FROM incident ORDER BY idempotency_key"
        )
    ).all()
    assert [(r.grid_code, r.community_code) for r in rows] == [
        (WEST_GRID, COMMUNITY),
        (EAST_GRID, COMMUNITY),
        (None, COMMUNITY),
    ]
    assert rows[0].status == "closed" and rows[0].at == "2026-05-01 08:00"
    assert rows[1].description == "占道,经营" and rows[2].description == "多行\n描述"
    entry = db.execute(
        text(
            "SELECT entity_key, after FROM audit_log WHERE action = 'import' "
            "AND entity = 'incident'"
        )
    ).one()
    assert entry.entity_key == "hotline.csv" and entry.after["inserted"] == 3
    again = _upload(client, street, "hotline.csv", good, commit="true").json()
    assert again["inserted"] == 0 and again["skipped_existing"] == 3
    assert _upload(client, grids["worker"], "hotline.csv", good).status_code == 403
    assert _upload(client, street, "hotline.txt", good).status_code == 422


def test_reassign_only_when_asked(
    client: TestClient, db: Session, grids: dict[str, dict[str, str]]
) -> None:
    from gridmap.auth import operator
    from gridmap.services.incident_import import reassign

    inc = report(client, grids["worker"], x=116.3446).json()["properties"]["id"]
    db.execute(
        text(
            "UPDATE grid SET geom = ST_GeomFromEWKT('SRID=4326;MULTIPOLYGON(((116.344 40,"
            "116.35 40,116.35 40.01,116.344 40.01,116.344 40)))') WHERE code = :c"
        ),
        {"c": EAST_GRID},
    )
    db.execute(
        text(
            "UPDATE grid SET geom = ST_GeomFromEWKT('SRID=4326;MULTIPOLYGON(((116.34 40,"
            "116.344 40,116.344 40.01,116.34 40.01,116.34 40)))') WHERE code = :c"
        ),
        {"c": WEST_GRID},
    )
    since = db.execute(text("SELECT now() - interval '1 day'")).scalar_one()
    dry = reassign(db, since=since, principal=operator("tester"), commit=False)
    assert dry["moved"] == 1 and not dry["committed"]
    assert client.get(f"{INC}/{inc}").json()["properties"]["grid_code"] == WEST_GRID
    done = reassign(db, since=since, principal=operator("tester"), commit=True)
    assert done["moves"] == [
        {"id": inc, "old": WEST_GRID, "new": EAST_GRID, "community": COMMUNITY}
    ]
    props = client.get(f"{INC}/{inc}").json()["properties"]
    assert props["grid_code"] == EAST_GRID
    assert props["events"][-1]["action"] == "reassign"


def test_how_a_street_came_to_own_it_is_recorded(
    client: TestClient, db: Session, grids: dict[str, dict[str, str]]
) -> None:
    street = grids["street"]
    inc = report(client, grids["worker"]).json()["properties"]["id"]
    step(client, inc, "accept", street)
    before = state(db, inc)
    # The first loop's dispatch modes and free-text assignees are no fields of a step now.
    for old in ({"mode": "team"}, {"assignees": ["西网格队"]}, {"hours": 3}):
        step(client, inc, "claim", street, status=422, **old)
    assert state(db, inc) == before
    r = step(client, inc, "claim", street)
    assert r.json()["properties"]["dispatch_mode"] == "claim"
    assert r.json()["properties"]["owner_code"] == STREET


def test_import_keeps_the_indexes_and_one_key_to_one_incident(
    client: TestClient,
    db: Session,
    grids: dict[str, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shape = (
        "SELECT array_agg(pg_get_indexdef(indexrelid) ORDER BY pg_get_indexdef(indexrelid)) "
        "FROM pg_index "
        "WHERE indrelid = 'incident'::regclass"
    )
    checks = (
        "SELECT array_agg(conname || ' ' || pg_get_constraintdef(oid) ORDER BY conname) "
        "FROM pg_constraint WHERE conrelid = 'incident'::regclass"
    )
    indexes, constraints = db.execute(text(shape)).scalar(), db.execute(text(checks)).scalar()
    assert any("gist" in i for i in indexes) and any("FOREIGN KEY" in c for c in constraints)
    body = "lon,lat,category,idempotency_key,reporter_phone\n" + "".join(
        f"{x:.4f},40.005,市容环境/暴露垃圾,big-{i},010-1234567{i}\n"
        for i, x in enumerate(
            [116.3405 + i * 0.0008 for i in range(5)] + [116.3455 + i * 0.0008 for i in range(5)]
        )
    )
    done = _upload(client, grids["street"], "big.csv", body, commit="true").json()
    assert done["inserted"] == 10
    db.expire_all()
    assert db.execute(text(shape)).scalar() == indexes
    assert db.execute(text(checks)).scalar() == constraints
    rows = db.execute(
        text(
            "SELECT grid_code, street_code, crs_in, reporter_phone, ST_X(geom) AS x "
            "FROM incident ORDER BY ST_X(geom)"
        )
    ).all()
    assert [r.grid_code for r in rows] == [WEST_GRID] * 5 + [EAST_GRID] * 5
    assert {(r.street_code, r.crs_in) for r in rows} == {(COMMUNITY[:9], "EPSG:4326")}
    assert rows[0].reporter_phone == "010-12345670" and rows[0].x == pytest.approx(116.3405)
    # The keys are stored: the same keys cannot go in twice, by import or by hand (the key's
    # trigger skips the row, as ON CONFLICT DO NOTHING did).
    again = _upload(client, grids["street"], "big.csv", body, commit="true").json()
    assert again["inserted"] == 0 and again["skipped_existing"] == 10
    by_hand = db.execute(
        text(
            "INSERT INTO incident (idempotency_key, category, geom) VALUES ('big-1', "
            "'市容环境/暴露垃圾', ST_SetSRID(ST_MakePoint(116.341, 40.005), 4326)) RETURNING id"
        )
    ).all()
    assert by_hand == []
    assert (
        db.execute(
            text("SELECT count(*) FROM incident WHERE idempotency_key = 'big-1'")
        ).scalar_one()
        == 1
    )
    assert (
        db.execute(
            text("SELECT count(*) FROM incident_key WHERE idempotency_key = 'big-1'")
        ).scalar_one()
        == 1
    )


def test_working_time_limits_skip_public_holidays(
    client: TestClient, db: Session, grids: dict[str, dict[str, str]]
) -> None:
    from datetime import datetime, timedelta

    street = grids["street"]
    category = "施工管理/无证施工"  # 40 working hours

    def dispatched_due() -> datetime:
        inc = report(client, grids["worker"], category=category).json()["properties"]["id"]
        step(client, inc, "accept", street)
        r = step(client, inc, "claim", street)
        return datetime.fromisoformat(r.json()["properties"]["due_at"])

    now = db.execute(text("SELECT now()")).scalar_one()
    db.execute(text("DELETE FROM calendar_day"))
    plain = dispatched_due()
    assert plain - now < timedelta(days=10)
    # The next two weeks are a public holiday.
    db.execute(
        text(
            "INSERT INTO calendar_day (day, kind, name) SELECT d::date, 'holiday', '测试假期' "
            "FROM generate_series(CAST(now() AT TIME ZONE 'Asia/Shanghai' AS date), "
            "CAST(now() AT TIME ZONE 'Asia/Shanghai' AS date) + 13, interval '1 day') d"
        )
    )
    holiday = dispatched_due()
    assert holiday - now > timedelta(days=14)
    assert holiday > plain + timedelta(days=10)


def test_a_branch_or_member_token_may_not_report_incidents(
    client: TestClient, db: Session, grids: dict[str, dict[str, str]]
) -> None:
    from tests.utils.org import add_member, add_org, branch_bearer, member_bearer

    committee = add_org(db, "committee", "C-INC", "测试大党委", COMMUNITY)
    west = add_org(db, "branch", "B-INC", "西支部", COMMUNITY, parent=committee, grids=(WEST_GRID,))
    member = add_member(db, "测试党员(生成)", "13300000009", org=west)
    counted = "SELECT (SELECT count(*) FROM incident), (SELECT count(*) FROM incident_event)"
    before = tuple(db.execute(text(counted)).one())
    for headers in (branch_bearer(db, west), member_bearer(db, member)):
        r = report(client, headers)
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "forbidden" and "worker, office or admin" in r.json()["detail"]
    assert tuple(db.execute(text(counted)).one()) == before
    # The grid's worker still reports there.
    assert report(client, grids["worker"]).status_code == 201
