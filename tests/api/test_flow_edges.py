"""The edges of the flow a review found: who answered stays masked in the history, a claim after
the pool's window, requests of a former holder, a district withdrawing what it split, a grid
post's office token on the board, and the rework rate over closed incidents."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.flow import (
    INC,
    OTHER_STREET,
    etag,
    incident_row,
    report,
    step,
    tasks_of,
    world,
)

from gridmap.auth import Holder, create_token


@pytest.fixture
def w(db: Session) -> dict[str, Any]:
    return world(db)


def _claimed(client: TestClient, w: dict[str, Any]) -> int:
    inc = report(client, w["worker"])
    step(client, inc, "accept", w["street"])
    step(client, inc, "claim", w["street"])
    return inc


def test_who_answered_is_masked_in_the_history_for_those_without_personal_data(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    person = db.execute(text("SELECT id FROM person WHERE name = '李静'")).scalar_one()
    secret, _ = create_token(db, holder=Holder("staff", person=person))
    db.flush()
    staff = {"Authorization": f"Bearer {secret}"}
    inc = _claimed(client, w)
    step(client, inc, "split", w["street"])
    task = tasks_of(db, inc)[0].id
    step(client, inc, "report_in", staff, task=task)
    step(client, inc, "answer", staff, task=task, note="已清理")
    for caller in ({}, w["viewer"], w["hd-zj"]):
        props = client.get(f"{INC}/{inc}", headers=caller).json()["properties"]
        actors = [e["actor"] or "" for e in props["events"]]
        assert not any("李静" in a for a in actors), actors
        assert any(a.startswith("李* (token") for a in actors)
        # Offices stay named: a department sees which command centre acted.
        assert any(a.startswith("学院路街道指挥中心 (token") for a in actors)
    props = client.get(f"{INC}/{inc}", headers=w["street"]).json()["properties"]
    assert any("李静" in (e["actor"] or "") for e in props["events"])


def test_a_claim_after_the_pool_window_closed_is_refused(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    inc = report(client, w["worker"])
    step(client, inc, "accept", w["street"])
    db.execute(
        text("UPDATE incident SET pool_until = now() - interval '10 minutes' WHERE id = :i"),
        {"i": inc},
    )
    r = step(client, inc, "claim", w["street"], status=409)
    assert "window" in r.json()["detail"]
    row = incident_row(db, inc)
    assert (row.status, row.version) == ("pooled", 2)


def test_a_former_holders_request_is_refused_when_the_incident_changes_hands(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    inc = _claimed(client, w)
    h = {**w["street"], "If-Match": etag(client, inc)}
    r = client.post(f"{INC}/{inc}/approvals", json={"kind": "park", "reason": "等待"}, headers=h)
    assert r.status_code == 201, r.text
    approval = r.json()["id"]
    step(client, inc, "return_up", w["street"], reason="需区级协调")
    step(client, inc, "dispatch", w["district"], street=OTHER_STREET)
    decision = db.execute(
        text("SELECT decision, decision_note FROM approval WHERE id = :a"), {"a": approval}
    ).one()
    assert decision.decision == "refused" and "110108010" in decision.decision_note
    h = {**w["district"], "If-Match": etag(client, inc)}
    r = client.post(f"/api/v1/approvals/{approval}/approve", json={}, headers=h)
    assert r.status_code == 409
    row = incident_row(db, inc)
    assert (row.status, row.owner_code) == ("dispatched", OTHER_STREET)


def test_a_district_that_withdrew_what_it_split_dispatches_it_to_a_street(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    inc = _claimed(client, w)
    step(client, inc, "return_up", w["street"], reason="需区级协调")
    step(client, inc, "split", w["district"])
    task = tasks_of(db, inc)[0].id
    step(client, inc, "withdraw", w["district"], task=task, reason="错派")
    props = client.get(f"{INC}/{inc}", headers=w["district"]).json()["properties"]
    assert props["status"] == "dispatched" and "dispatch" in props["actions"]
    step(client, inc, "dispatch", w["district"], street=OTHER_STREET)
    assert incident_row(db, inc).owner_code == OTHER_STREET
    # A street holding a dispatched incident never dispatches it.
    other = _claimed(client, w)
    assert (
        "dispatch"
        not in client.get(f"{INC}/{other}", headers=w["street"]).json()["properties"]["actions"]
    )
    step(client, other, "dispatch", w["street"], street=OTHER_STREET, status=403)


def test_a_grid_posts_office_token_has_the_boards_of_its_grid(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    inc = _claimed(client, w)
    step(client, inc, "split", w["street"])
    r = client.get("/api/v1/board", headers=w["worker"])
    assert r.status_code == 200, r.text
    assert inc in [row["id"] for row in r.json()["rows"]]
    assert client.get("/api/v1/board", headers=w["other_worker"]).json()["rows"] == []


def test_the_rework_rate_counts_closed_incidents_only(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    def resolved() -> int:
        inc = _claimed(client, w)
        step(client, inc, "split", w["street"])
        step(client, inc, "answer", w["worker"], task=tasks_of(db, inc)[0].id, note="已处理")
        return inc

    step(client, resolved(), "close", w["street"])
    step(client, resolved(), "rework", w["street"], reason="没弄干净")
    groups = client.get("/api/v1/stats/incidents?group_by=grid", headers=w["admin"]).json()
    (grid,) = [g for g in groups["groups"] if g["incidents"] == 2]
    assert (grid["closed"], grid["rework_rate"]) == (1, 0.0)
