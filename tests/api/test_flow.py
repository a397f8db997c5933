"""The incident flow across levels through HTTP: report → accept → claim → whistle two
departments → each reports in and answers → resolved → close → evaluate; and accept →
return_up → the district dispatches to another street; each step checked in PostGIS."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import COMMUNITY, DISTRICT, STREET, WEST_GRID
from tests.utils.flow import (
    INC,
    OTHER_STREET,
    etag,
    events_of,
    incident_row,
    report,
    snapshot,
    step,
    tasks_of,
    world,
)


@pytest.fixture
def w(db: Session) -> dict[str, Any]:
    return world(db)


def test_whistle_two_departments_to_evaluation(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    inc = report(client, w["worker"])
    r = client.get(f"{INC}/{inc}", headers=w["street"])
    assert r.headers["etag"] == f'"{inc}.v1"'
    props = r.json()["properties"]
    assert props["actions"] == ["accept", "cancel"] and props["tasks"] == []

    step(client, inc, "accept", w["street"])
    row = incident_row(db, inc)
    assert (row.status, row.owner_code, row.version) == ("pooled", STREET, 2)
    assert row.pool_until is not None
    assert (row.pool_until - row.reported_at).total_seconds() > 29 * 60

    r = step(client, inc, "claim", w["street"])
    assert r.headers["etag"] == f'"{inc}.v3"'
    row = incident_row(db, inc)
    assert (row.status, row.dispatch_mode, row.owner_code) == ("dispatched", "claim", STREET)
    assert row.dispatched_at is not None and row.due_at is not None

    r = step(client, inc, "whistle", w["street"], departments=["xy-cgzf", "hd-zj"])
    props = r.json()["properties"]
    assert props["status"] == "handling"
    tasks = tasks_of(db, inc)
    assert [(t.assignee_code, t.kind, t.state, t.suggested) for t in tasks] == [
        ("xy-cgzf", "whistle", "assigned", True),
        ("hd-zj", "whistle", "assigned", True),
    ]
    assert all(t.whistle_item_id == w["item"] for t in tasks)
    assert all(
        (t.report_due_at - t.created_at).total_seconds() == pytest.approx(7200, abs=5)
        for t in tasks
    )
    assert all(
        (t.due_at - t.created_at).total_seconds() == pytest.approx(48 * 3600, abs=5) for t in tasks
    )
    a, b = (t.id for t in tasks)

    # Each department sees its own task's steps, nothing of the incident's.
    seen = client.get(f"{INC}/{inc}", headers=w["xy-cgzf"]).json()["properties"]
    assert seen["actions"] == []
    assert {t["id"]: t["actions"] for t in seen["tasks"]} == {
        a: ["report_in", "answer", "request_extend"],
        b: [],
    }
    step(client, inc, "report_in", w["hd-zj"], task=a, status=403)
    step(client, inc, "report_in", w["xy-cgzf"], task=a)
    step(client, inc, "answer", w["xy-cgzf"], task=a, note="已清运", answered_by="张队长")
    assert incident_row(db, inc).status == "handling"
    step(client, inc, "answer", w["xy-cgzf"], task=a, note="again", status=409)
    step(client, inc, "answer", w["hd-zj"], task=b, note="已协调物业")
    row = incident_row(db, inc)
    assert row.status == "resolved" and row.version == 7
    tasks = tasks_of(db, inc)
    assert [t.state for t in tasks] == ["answered", "answered"]
    assert tasks[0].answered_by == "张队长" and tasks[1].answered_by == "海淀区住建委"
    # Who answered is a name: the department sees its own, another caller without personal
    # data of the place sees it masked.
    shown = {
        who: client.get(f"{INC}/{inc}", headers=w[who]).json()["properties"]["tasks"][0]
        for who in ("xy-cgzf", "hd-zj", "street")
    }
    assert shown["xy-cgzf"]["answered_by"] == "张队长" == shown["street"]["answered_by"]
    assert shown["hd-zj"]["answered_by"] != "张队长"
    assert tasks[0].reported_in_at is not None and tasks[1].reported_in_at is not None
    evs = events_of(db, inc)
    assert [(e.action, e.task_id) for e in evs[-4:]] == [
        ("report_in", a),
        ("answer", a),
        ("answer", b),
        ("resolve", None),
    ]
    assert evs[-1].actor == "system" and evs[-1].to_status == "resolved"

    step(client, inc, "close", w["district"], status=403)  # the street owns it
    step(client, inc, "close", w["street"])
    step(client, inc, "evaluate", w["street"], status=422)  # needs a score
    step(client, inc, "evaluate", w["street"], score=92)
    row = incident_row(db, inc)
    assert (row.status, row.score) == ("evaluated", 92) and row.closed_at is not None
    assert client.get(f"{INC}/{inc}", headers=w["street"]).json()["properties"]["actions"] == []


def test_return_up_and_district_dispatch_to_another_street(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    inc = report(client, w["worker"])
    step(client, inc, "accept", w["street"])
    step(client, inc, "claim", w["street"])
    step(client, inc, "return_up", w["street"], status=422)  # needs a reason
    step(client, inc, "return_up", w["street"], reason="涉及跨街道管线")
    row = incident_row(db, inc)
    assert (row.status, row.owner_code) == ("queued", DISTRICT)
    step(client, inc, "dispatch", w["street"], status=403)
    step(client, inc, "dispatch", w["district"], street="110109001", status=422)  # not its street
    step(client, inc, "dispatch", w["district"], street=OTHER_STREET)
    row = incident_row(db, inc)
    assert (row.status, row.owner_code, row.dispatch_mode) == (
        "dispatched",
        OTHER_STREET,
        "dispatch",
    )
    # The street that now holds it splits it; the first street no longer may.
    step(client, inc, "split", w["street"], status=403)
    r = client.get(f"{INC}/{inc}", headers=w["other_street"]).json()["properties"]
    assert "split" in r["actions"] and "whistle" in r["actions"]
    assert events_of(db, inc)[-1].note.startswith(f"to {OTHER_STREET}")


def test_split_default_grid_and_worker_answers_its_grid_only(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    inc = report(client, w["worker"])
    step(client, inc, "accept", w["street"])
    step(client, inc, "claim", w["street"])
    step(client, inc, "split", w["street"])
    (task,) = tasks_of(db, inc)
    row = incident_row(db, inc)
    assert (task.kind, task.assignee_kind, task.assignee_code) == ("split", "grid", WEST_GRID)
    assert task.due_at == row.due_at
    step(client, inc, "split", w["street"], status=409)  # the grid already holds an open task
    step(client, inc, "split", w["street"], targets=["110108020001"], status=422)  # not a place
    before = snapshot(db, inc)
    step(client, inc, "answer", w["other_worker"], task=task.id, note="x", status=403)
    step(client, inc, "answer", w["xy-cgzf"], task=task.id, note="x", status=403)
    step(client, inc, "answer", w["worker"], task=task.id, status=422)  # needs a note
    assert snapshot(db, inc) == before
    step(client, inc, "answer", w["worker"], task=task.id, note="已清理")
    assert incident_row(db, inc).status == "resolved"
    step(client, inc, "split", w["street"], targets=[COMMUNITY], status=409)  # resolved now


def test_if_match_missing_and_stale_write_nothing(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    inc = report(client, w["worker"])
    old = etag(client, inc)
    before = snapshot(db, inc)
    r = step(client, inc, "accept", w["street"], if_match=None, status=428)
    assert r.json()["code"] == "if_match_required"
    assert snapshot(db, inc) == before
    step(client, inc, "accept", w["street"], if_match=old)
    before = snapshot(db, inc)
    r = step(client, inc, "claim", w["street"], if_match=old, status=412)
    assert r.json()["code"] == "stale_etag" and f'"{inc}.v2"' in r.json()["detail"]
    assert snapshot(db, inc) == before


def test_openapi_documents_if_match_on_every_step() -> None:
    from gridmap.main import create_app

    paths = create_app().openapi()["paths"]
    for path in (
        f"{INC}/{{incident_id}}/{{step}}",
        f"{INC}/{{incident_id}}/tasks/{{task_id}}/{{step}}",
    ):
        operation = paths[path]["post"]
        assert {"403", "404", "409", "412", "422", "428"} <= set(operation["responses"]), path
        headers = [p["name"].lower() for p in operation["parameters"] if p["in"] == "header"]
        assert "if-match" in headers, path


def test_the_incident_names_who_holds_it_and_is_read_fresh(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    inc = report(client, w["worker"])
    r = client.get(f"{INC}/{inc}", headers=w["street"])
    assert r.json()["properties"]["owner_name"] is None
    assert r.headers["cache-control"] == "no-cache"
    step(client, inc, "accept", w["street"])
    step(client, inc, "return_up", w["street"], status=409)  # pooled: claim first
    step(client, inc, "claim", w["street"])
    step(client, inc, "return_up", w["street"], reason="需区级协调")
    props = client.get(f"{INC}/{inc}", headers=w["district"]).json()["properties"]
    names = dict(db.execute(text("SELECT code, name FROM region")).all())
    assert (props["owner_code"], props["owner_name"]) == (DISTRICT, names[DISTRICT])
