"""Every step of the flow and of a sub-task, taken and refused: a refused step (wrong state 409,
wrong caller 403, stale 412, no If-Match 428, a missing field 422) writes nothing in PostGIS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import COMMUNITY, DISTRICT, EAST_GRID, STREET, WEST_GRID
from tests.utils.flow import (
    INC,
    etag,
    events_of,
    incident_row,
    report,
    snapshot,
    step,
    tasks_of,
    world,
)

from gridmap.services import workflow as wf


@pytest.fixture
def w(db: Session) -> dict[str, Any]:
    return world(db)


def to_state(client: TestClient, db: Session, w: dict[str, Any], state: str) -> int:
    """A new incident brought through the API to ``state`` (parked: through the database, as
    an approval would park it)."""
    inc = report(client, w["worker"])
    street = w["street"]
    path = {
        "reported": [],
        "pooled": [("accept", {})],
        "queued": [("accept", {}), ("claim", {}), ("return_up", {"reason": "跨街道"})],
        "dispatched": [("accept", {}), ("claim", {})],
        "handling": [("accept", {}), ("claim", {}), ("split", {})],
        "resolved": [("accept", {}), ("claim", {}), ("split", {})],
        "closed": [("accept", {}), ("claim", {}), ("split", {})],
        "evaluated": [("accept", {}), ("claim", {}), ("split", {})],
        "cancelled": [("cancel", {"reason": "无效"})],
        "parked": [("accept", {}), ("claim", {}), ("split", {})],
    }[state]
    for name, body in path:
        step(client, inc, name, street, **body)
    if state in ("resolved", "closed", "evaluated"):
        (task,) = tasks_of(db, inc)
        step(client, inc, "answer", w["worker"], task=task.id, note="已处置")
    if state in ("closed", "evaluated"):
        step(client, inc, "close", street)
    if state == "evaluated":
        step(client, inc, "evaluate", street, score=80)
    if state == "parked":
        db.execute(
            text(
                "UPDATE incident SET status = 'parked', parked_from = 'handling', "
                "parked_at = now() WHERE id = :id"
            ),
            {"id": inc},
        )
    assert incident_row(db, inc).status == state
    return inc


# Who takes each step in the fixture's world, and the body it needs.
TAKER = {
    "accept": ("street", {}),
    "claim": ("street", {}),
    "dispatch": ("district", {}),
    "split": ("street", {"targets": [EAST_GRID]}),
    "whistle": ("street", {"departments": ["xy-cgzf"]}),
    "return_up": ("street", {"reason": "跨街道"}),
    "resume": ("street", {}),
    "close": ("street", {}),
    "rework": ("street", {"reason": "未彻底"}),
    "evaluate": ("street", {"score": 77}),
    "cancel": ("street", {"reason": "无效"}),
}
SERVED = [s for s in wf.STEPS if not s.startswith("request_")]
CELLS = [
    (name, state)
    for name in SERVED
    for state in ("reported", "pooled", "queued", "dispatched", "handling", "resolved", "closed")
    + ("evaluated", "cancelled", "parked")
]


def body_for(name: str, state: str) -> dict[str, Any]:
    """The body of ``name`` from ``state``: a district whistles its own departments."""
    if name == "whistle" and state == "queued":
        return {"departments": ["hd-cgzf"]}
    return TAKER[name][1]


def taker(w: dict[str, Any], name: str, state: str) -> dict[str, str]:
    who, _ = TAKER[name]
    # Queued incidents are the district's; the district cancels, splits and whistles them.
    if state == "queued" and who == "street":
        who = "district"
    return w[who]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("name", "state"), CELLS, ids=[f"{n}-from-{s}" for n, s in CELLS])
def test_each_step_from_each_state(
    client: TestClient, db: Session, w: dict[str, Any], name: str, state: str
) -> None:
    inc = to_state(client, db, w, state)
    before = snapshot(db, inc)
    view = wf.IncidentView(state, parked_from="handling", street_code=STREET)
    to = wf.target(name, view)
    headers = taker(w, name, state)
    body = body_for(name, state)
    if (name, state) == ("dispatch", "dispatched"):
        # Dispatched here means held by a street, which the district no longer holds: only a
        # district holding it itself dispatches from there (tests/api/test_flow_edges.py).
        step(client, inc, name, headers, status=403, **body)
        assert snapshot(db, inc) == before
        return
    if to is None:
        r = step(client, inc, name, headers, status=409, **body)
        assert r.json()["code"] == "conflict" and f"it is {state}" in r.json()["detail"]
        assert snapshot(db, inc) == before
        return
    r = step(client, inc, name, headers, **body)
    row = incident_row(db, inc)
    assert row.status == to and row.version == before[0][1] + 1
    assert events_of(db, inc)[-1].action == name
    assert (events_of(db, inc)[-1].from_status, events_of(db, inc)[-1].to_status) == (state, to)
    assert r.headers["etag"] == f'"{inc}.v{row.version}"'


@pytest.mark.parametrize("name", SERVED)
def test_each_step_refused_without_if_match_stale_or_by_the_wrong_caller(
    client: TestClient, db: Session, w: dict[str, Any], name: str
) -> None:
    source = (
        next(s for s in wf.STEPS[name].sources if s not in ("parked",))
        if name != "resume"
        else "parked"
    )
    inc = to_state(client, db, w, source)
    headers = taker(w, name, source)
    _, body = TAKER[name]
    before = snapshot(db, inc)
    assert step(client, inc, name, headers, if_match=None, status=428, **body).json()["code"] == (
        "if_match_required"
    )
    stale = f'"{inc}.v{before[0][1] - 1}"'
    assert step(client, inc, name, headers, if_match=stale, status=412, **body).json()["code"] == (
        "stale_etag"
    )
    for who in ("worker", "viewer", "community", "xy-cgzf", "other_street"):
        r = step(client, inc, name, w[who], status=403, **body)
        assert r.json()["code"] == "forbidden", who
    for need in wf.STEPS[name].needs:
        r = step(
            client, inc, name, headers, status=422, **{k: v for k, v in body.items() if k != need}
        )
        assert r.json()["field"] == need
    assert snapshot(db, inc) == before


def test_the_district_takes_the_district_steps_only(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    inc = to_state(client, db, w, "pooled")
    before = snapshot(db, inc)
    step(client, inc, "claim", w["district"], status=403)  # a street claims from its pool
    assert snapshot(db, inc) == before
    inc = to_state(client, db, w, "queued")
    assert incident_row(db, inc).owner_code == DISTRICT
    step(client, inc, "claim", w["street"], status=409)
    step(client, inc, "dispatch", w["street"], status=403)
    # The district handles it itself: whistles its own department; due and dispatch times set.
    r = step(client, inc, "whistle", w["district"], departments=["hd-cgzf"])
    assert r.json()["properties"]["status"] == "handling"
    step(client, inc, "whistle", w["district"], departments=["xy-cgzf"], status=422)  # a street's
    # A department of another street, or an unknown or inactive one, is refused with its name.
    db.execute(text("UPDATE department SET active = false WHERE code = 'hd-zj'"))
    for dept in ("qh-gd", "nope", "hd-zj"):
        r = step(client, inc, "whistle", w["district"], departments=[dept], status=422)
        assert dept in r.json()["detail"]


def test_accept_without_a_street_queues_for_its_district(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    inc = report(client, w["worker"])
    db.execute(text("UPDATE incident SET street_code = NULL WHERE id = :id"), {"id": inc})
    step(client, inc, "accept", w["admin"])
    row = incident_row(db, inc)
    assert (row.status, row.pool_until) == ("queued", None)


def test_whistle_records_choices_outside_the_list(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    inc = to_state(client, db, w, "dispatched")
    step(client, inc, "whistle", w["street"], departments=["xy-cgzf", "hd-zj", "hd-cgzf"])
    tasks = tasks_of(db, inc)
    # 住建 and 城管执法 are on the item's list; all three suggested (street first, then district).
    assert [(t.assignee_code, t.suggested) for t in tasks] == [
        ("xy-cgzf", True),
        ("hd-zj", True),
        ("hd-cgzf", True),
    ]
    step(client, inc, "whistle", w["street"], departments=["hd-zj"], status=409)  # open already
    step(client, inc, "whistle", w["street"], departments=["xy-cgzf", "xy-cgzf"], status=422)
    step(client, inc, "whistle", w["street"], departments=["hd-cgzf"], item=999999, status=422)
    # No whistle-list line for the category: no item, due when the incident is.
    db.execute(text("UPDATE whistle_item SET active = false WHERE category = '街面秩序/占道经营'"))
    inc = report(client, w["worker"], category="街面秩序/占道经营")
    step(client, inc, "accept", w["street"])
    step(client, inc, "claim", w["street"])
    step(client, inc, "whistle", w["street"], departments=["xy-cgzf"])
    (task,) = tasks_of(db, inc)
    assert (task.whistle_item_id, task.suggested) == (None, False)
    assert task.due_at == incident_row(db, inc).due_at and task.report_due_at is None


def test_split_to_places_in_the_owners_region(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    inc = to_state(client, db, w, "dispatched")
    r = step(client, inc, "split", w["street"], targets=[WEST_GRID, EAST_GRID, COMMUNITY])
    assert [(t["assignee_kind"], t["assignee_code"]) for t in r.json()["properties"]["tasks"]] == [
        ("grid", WEST_GRID),
        ("grid", EAST_GRID),
        ("community", COMMUNITY),
    ]
    for bad in ("110108020001", COMMUNITY + "009"):
        step(client, inc, "split", w["street"], targets=[bad], status=422)
    step(client, inc, "split", w["street"], targets=["not-a-code"], status=422)


def test_sub_tasks_aggregate_into_the_incident(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    inc = to_state(client, db, w, "dispatched")
    step(client, inc, "whistle", w["street"], departments=["xy-cgzf", "hd-zj"])
    a, b = (t.id for t in tasks_of(db, inc))
    # Withdrawn by the owner only; one withdrawn and one open: still handling.
    step(client, inc, "withdraw", w["xy-cgzf"], task=a, reason="x", status=403)
    step(client, inc, "withdraw", w["street"], task=a, status=422)  # needs a reason
    step(client, inc, "withdraw", w["street"], task=a, reason="派错部门")
    assert incident_row(db, inc).status == "handling"
    step(client, inc, "report_in", w["xy-cgzf"], task=a, status=409)  # withdrawn
    # Every task withdrawn: back to its owner, dispatched, on the withdrawal's own event.
    step(client, inc, "withdraw", w["street"], task=b, reason="改为分单")
    assert incident_row(db, inc).status == "dispatched"
    last = events_of(db, inc)[-1]
    assert (last.action, last.task_id, last.to_status) == ("withdraw", b, "dispatched")
    step(client, inc, "answer", w["hd-zj"], task=b, note="x", status=409)
    # Whistled again: answered + withdrawn with nothing open is resolved.
    step(client, inc, "whistle", w["street"], departments=["hd-zj", "xy-cgzf"])
    c, d = (t.id for t in tasks_of(db, inc)[2:])
    step(client, inc, "answer", w["hd-zj"], task=c, note="已处置")
    step(client, inc, "withdraw", w["street"], task=d, reason="不需要")
    assert incident_row(db, inc).status == "resolved"
    # Rework reopens the answered ones (or those named) and counts, on both.
    step(client, inc, "rework", w["street"], reason="未完成", tasks=[d], status=422)
    step(client, inc, "rework", w["street"], reason="未完成")
    row = incident_row(db, inc)
    assert (row.status, row.returned_count) == ("handling", 1)
    states = {t.id: (t.state, t.returned_count, t.answered_at) for t in tasks_of(db, inc)}
    assert states[c] == ("working", 1, None) and states[d][0] == "withdrawn"
    step(client, inc, "answer", w["hd-zj"], task=c, note="已彻底处置")
    assert incident_row(db, inc).status == "resolved"


def test_task_steps_refused_write_nothing(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    inc = to_state(client, db, w, "dispatched")
    step(client, inc, "whistle", w["street"], departments=["xy-cgzf"])
    (task,) = tasks_of(db, inc)
    before = snapshot(db, inc)
    old = f'"{inc}.v{before[0][1] - 1}"'
    calls: list[Callable[[], Any]] = [
        lambda: step(
            client, inc, "report_in", w["xy-cgzf"], task=task.id, if_match=None, status=428
        ),
        lambda: step(
            client, inc, "report_in", w["xy-cgzf"], task=task.id, if_match=old, status=412
        ),
        lambda: step(client, inc, "report_in", w["hd-zj"], task=task.id, status=403),
        lambda: step(client, inc, "report_in", w["worker"], task=task.id, status=403),
        lambda: step(client, inc, "report_in", w["district"], task=task.id, status=403),
        lambda: step(client, inc, "answer", w["xy-cgzf"], task=task.id, status=422),
        lambda: step(client, inc, "explode", w["xy-cgzf"], task=task.id, status=404),
        lambda: step(client, inc, "report_in", w["xy-cgzf"], task=999999, status=404),
    ]
    for call in calls:
        call()
    assert snapshot(db, inc) == before
    assert client.post(f"{INC}/{inc}/tasks/{task.id}/report_in", json={}).status_code == 401
    # An admin acts as anyone.
    step(client, inc, "report_in", w["admin"], task=task.id)
    step(client, inc, "report_in", w["xy-cgzf"], task=task.id, status=409)


def test_department_tokens_are_confined_to_their_tasks(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    inc = to_state(client, db, w, "dispatched")
    step(client, inc, "whistle", w["street"], departments=["xy-cgzf", "hd-zj"])
    a, b = (t.id for t in tasks_of(db, inc))
    dept = w["xy-cgzf"]
    before = snapshot(db, inc)
    for name in SERVED:
        step(client, inc, name, dept, status=403, **TAKER[name][1])
    step(client, inc, "answer", dept, task=b, note="x", status=403)
    step(client, inc, "withdraw", dept, task=a, reason="x", status=403)
    # Nor does it report incidents or add photos to the incident.
    r = client.post(
        INC, json={"x": 116.342, "y": 40.005, "category": "市容环境/暴露垃圾"}, headers=dept
    )
    assert r.status_code == 403
    assert snapshot(db, inc) == before
    # A grid's worker answers a task of its grid only.
    inc2 = to_state(client, db, w, "dispatched")
    step(client, inc2, "split", w["street"], targets=[WEST_GRID, EAST_GRID])
    west, east = (t.id for t in tasks_of(db, inc2))
    step(client, inc2, "answer", w["worker"], task=east, note="x", status=403)
    step(client, inc2, "answer", w["other_worker"], task=west, note="x", status=403)
    step(client, inc2, "answer", w["worker"], task=west, note="西已处置")
    step(client, inc2, "answer", w["community"], task=east, note="社区代为反馈")
    assert incident_row(db, inc2).status == "resolved"


def test_get_shows_tasks_approvals_and_masks_who_answered(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    inc = to_state(client, db, w, "handling")
    (task,) = tasks_of(db, inc)
    step(client, inc, "answer", w["worker"], task=task.id, note="已处置", answered_by="李静")
    db.execute(
        text(
            "INSERT INTO approval (incident_id, kind, reason, hours, requested_by, decider_code) "
            "VALUES (:i, 'extend', '等待物业', 12, 'x', :d)"
        ),
        {"i": inc, "d": DISTRICT},
    )
    mine = client.get(f"{INC}/{inc}", headers=w["street"]).json()["properties"]
    assert mine["tasks"][0]["answered_by"] == "李静"
    assert "answered_by_person" not in mine["tasks"][0]
    assert [a["may_decide"] for a in mine["approvals"]] == [False]
    assert [
        a["may_decide"]
        for a in client.get(f"{INC}/{inc}", headers=w["district"]).json()["properties"]["approvals"]
    ] == [True]
    public = client.get(f"{INC}/{inc}").json()["properties"]
    assert public["tasks"][0]["answered_by"] != "李静" and public["actions"] == []
    assert public["tasks"][0]["actions"] == []
    assert [e["task_id"] for e in public["events"]][-2:] == [task.id, None]
    assert public["owner_code"] == STREET and public["change_seq"] > 0


def test_list_filters_by_the_new_states(client: TestClient, db: Session, w: dict[str, Any]) -> None:
    pooled = to_state(client, db, w, "pooled")
    handling = to_state(client, db, w, "handling")
    for state, want in (("pooled", [pooled]), ("handling", [handling]), ("queued", [])):
        r = client.get(INC, params={"state": state})
        assert [f["properties"]["id"] for f in r.json()["features"]] == want
    for old in ("accepted", "extended", "moon"):
        r = client.get(INC, params={"state": old})
        assert r.status_code == 422 and "pooled" in r.json()["detail"]


def test_task_photos_by_the_assignee(
    client: TestClient, db: Session, w: dict[str, Any], tmp_path: Any
) -> None:
    import io

    from PIL import Image

    client.app.state.settings.api.media_dir = tmp_path  # type: ignore[attr-defined]
    inc = to_state(client, db, w, "dispatched")
    step(client, inc, "whistle", w["street"], departments=["xy-cgzf"])
    (task,) = tasks_of(db, inc)
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 50, 50)).save(buf, format="PNG")
    url = f"{INC}/{inc}/tasks/{task.id}/photos"
    files = {"file": ("site.png", buf.getvalue(), "image/png")}
    assert client.post(url, files=files, headers=w["hd-zj"]).status_code == 403
    assert client.post(url, files=files, headers=w["worker"]).status_code == 403
    r = client.post(url, files=files, headers=w["xy-cgzf"])
    assert r.status_code == 201, r.text
    photo = r.json()
    assert photo["url"].startswith(f"/api/v1/incidents/{inc}/tasks/{task.id}/photos/")
    stored = list((tmp_path / "incidents" / str(inc) / "tasks" / str(task.id)).iterdir())
    assert len(stored) == 1
    (row,) = tasks_of(db, inc)
    assert row.photos == [photo]
    got = client.get(photo["url"])
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert etag(client, inc) == f'"{inc}.v{incident_row(db, inc).version}"'


def test_imported_history_in_the_old_words_lands_in_the_new_flow(
    client: TestClient, db: Session, w: dict[str, Any]
) -> None:
    rows = [("accepted", "q1"), ("dispatched", "d1"), ("extended", "h1"), ("", "r1")]
    body = "lon,lat,category,status,idempotency_key\n" + "".join(
        f"116.342,40.005,市容环境/暴露垃圾,{status},legacy-{key}\n" for status, key in rows
    )
    r = client.post(
        f"{INC}/import",
        params={"commit": "true"},
        files={"file": ("old.csv", body.encode(), "text/csv")},
        headers=w["street"],
    )
    assert r.status_code == 200 and r.json()["inserted"] == 4, r.text
    got = dict(
        db.execute(
            text(
                "SELECT idempotency_key, status || ' ' || coalesce(owner_code, '-') FROM incident "
                "WHERE idempotency_key LIKE 'legacy-%'"
            )
        ).all()
    )
    assert got == {
        "legacy-q1": f"queued {DISTRICT}",
        "legacy-d1": f"dispatched {STREET}",
        "legacy-h1": f"handling {STREET}",
        "legacy-r1": "reported -",
    }
    # The imported dispatched incident has no sub-task: its street splits or whistles it.
    inc = db.execute(text("SELECT id FROM incident WHERE idempotency_key = 'legacy-d1'")).scalar()
    actions = client.get(f"{INC}/{inc}", headers=w["street"]).json()["properties"]["actions"]
    assert actions == [
        "split",
        "whistle",
        "return_up",
        "cancel",
        "request_extend",
        "request_park",
    ]
