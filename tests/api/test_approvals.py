"""Extensions (延期) and parking (挂账): asked by whoever holds the work, decided a level up; the
time moves, or the incident parks, only on approval; every refusal writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import DISTRICT, STREET, WEST_GRID, bearer, two_grids
from tests.utils.staged import if_match, staged_incident, staged_task, version

from gridmap.auth import Holder, create_token

INC = "/api/v1/incidents"
APPROVALS = "/api/v1/approvals"
DUE = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)


@pytest.fixture
def who(db: Session) -> dict[str, dict[str, str]]:
    two_grids(db)
    db.execute(
        text(
            "INSERT INTO department (code, name, level, region_code, kind) "
            "VALUES ('cgw', '城管执法队', 'street', :s, '城管执法')"
        ),
        {"s": STREET},
    )
    secret, _ = create_token(db, holder=Holder("department", department="cgw"))
    return {
        "worker": bearer(db, "worker", WEST_GRID, "西网格员"),
        "department": {"Authorization": f"Bearer {secret}"},
        "street": bearer(db, "street", STREET, "学院路街道指挥中心"),
        "district": bearer(db, "district", DISTRICT, "海淀区指挥中心"),
        "admin": bearer(db, "admin", None, "管理员"),
    }


def written(db: Session, incident_id: int) -> tuple[object, ...]:
    """Everything a request or decision may write: the incident, its tasks, approvals, events."""
    return tuple(
        db.execute(
            text(
                "SELECT i.status, i.version, i.due_at, i.parked_from, i.parked_at, "
                "(SELECT array_agg(t.due_at ORDER BY t.id) FROM incident_task t "
                " WHERE t.incident_id = i.id), "
                "(SELECT array_agg(a.decision || ':' || coalesce(a.decided_by, '') ORDER BY a.id)"
                " FROM approval a WHERE a.incident_id = i.id), "
                "(SELECT count(*) FROM incident_event e WHERE e.incident_id = i.id) "
                "FROM incident i WHERE i.id = :i"
            ),
            {"i": incident_id},
        ).one()
    )


def events(db: Session, incident_id: int) -> list[tuple[object, ...]]:
    return [
        tuple(r)
        for r in db.execute(
            text(
                "SELECT action, from_status, to_status, task_id FROM incident_event "
                "WHERE incident_id = :i ORDER BY seq"
            ),
            {"i": incident_id},
        )
    ]


def task_due(db: Session, task_id: int) -> datetime:
    return db.execute(  # type: ignore[no-any-return]
        text("SELECT due_at FROM incident_task WHERE id = :t"), {"t": task_id}
    ).scalar_one()


def ask(client: TestClient, db: Session, incident_id: int, headers: dict[str, str], **body: object):  # type: ignore[no-untyped-def]
    return client.post(
        f"{INC}/{incident_id}/approvals",
        json=body,
        headers={**headers, **if_match(db, incident_id)},
    )


def decide(
    client: TestClient,
    db: Session,
    approval: int,
    verb: str,
    headers: dict[str, str],
    **body: object,
):  # type: ignore[no-untyped-def]
    incident_id = db.execute(
        text("SELECT incident_id FROM approval WHERE id = :a"), {"a": approval}
    ).scalar_one()
    return client.post(
        f"{APPROVALS}/{approval}/{verb}",
        json=body or None,
        headers={**headers, **if_match(db, incident_id)},
    )


def test_a_workers_extension_moves_its_task_only_when_the_street_approves(
    client: TestClient, db: Session, who: dict[str, dict[str, str]]
) -> None:
    incident = staged_incident(db, due_at=DUE)
    task = staged_task(db, incident, due_at=DUE)
    before = version(db, incident)
    r = ask(
        client, db, incident, who["worker"], kind="extend", hours=24, reason="等配件", task_id=task
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["decider_code"] == STREET and made["decision"] == "pending"
    assert made["task_id"] == task and made["hours"] == 24 and not made["may_decide"]
    assert made["version"] == before + 1 == version(db, incident)
    assert r.headers["etag"] == f'"{incident}.v{before + 1}"'
    assert task_due(db, task) == DUE  # asking moves nothing
    assert events(db, incident)[-1] == ("request_extend", "handling", "handling", task)

    # A worker cannot approve its own deadline: nothing written.
    snapshot = written(db, incident)
    r = decide(client, db, made["id"], "approve", who["worker"])
    assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
    assert written(db, incident) == snapshot

    r = decide(client, db, made["id"], "approve", who["street"], note="同意")
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == f'"{incident}.v{before + 2}"'
    assert task_due(db, task) == DUE + timedelta(hours=24)
    assert (
        db.execute(text("SELECT due_at FROM incident WHERE id = :i"), {"i": incident}).scalar()
        == DUE
    )
    decision = db.execute(
        text("SELECT decision, decided_by, decision_note FROM approval WHERE id = :a"),
        {"a": made["id"]},
    ).one()
    assert decision.decision == "approved" and "学院路街道" in decision.decided_by
    assert decision.decision_note == "同意"
    assert events(db, incident)[-1] == ("approve", "handling", "handling", task)

    # Decided already: a second decision, either way, is 409 and writes nothing.
    snapshot = written(db, incident)
    for verb in ("approve", "refuse"):
        r = decide(client, db, made["id"], verb, who["street"])
        assert r.status_code == 409 and r.json()["decision"] == "approved", r.text
    assert written(db, incident) == snapshot


def test_a_departments_extension_refused_moves_nothing(
    client: TestClient, db: Session, who: dict[str, dict[str, str]]
) -> None:
    incident = staged_incident(db, due_at=DUE)
    task = staged_task(
        db, incident, assignee_kind="department", code="cgw", name="城管执法队", due_at=DUE
    )
    grid_task = staged_task(db, incident, due_at=DUE)
    # A department asks for its own sub-task only.
    r = ask(
        client,
        db,
        incident,
        who["department"],
        kind="extend",
        hours=8,
        reason="x",
        task_id=grid_task,
    )
    assert r.status_code == 403, r.text
    r = ask(
        client,
        db,
        incident,
        who["department"],
        kind="extend",
        hours=8,
        reason="需协调",
        task_id=task,
    )
    assert r.status_code == 201, r.text
    approval = r.json()["id"]
    listed = client.get(APPROVALS, params={"decision": "pending"}, headers=who["street"]).json()
    assert [a["id"] for a in listed["approvals"]] == [approval]
    assert listed["approvals"][0]["may_decide"] is True
    r = decide(client, db, approval, "refuse", who["street"], note="时限充足")
    assert r.status_code == 200, r.text
    assert task_due(db, task) == DUE
    assert (
        db.execute(text("SELECT decision FROM approval WHERE id = :a"), {"a": approval}).scalar()
        == "refused"
    )
    assert events(db, incident)[-1] == ("refuse", "handling", "handling", task)
    assert (
        client.get(APPROVALS, params={"decision": "pending"}, headers=who["street"]).json()[
            "numberMatched"
        ]
        == 0
    )


def test_the_streets_own_extension_is_the_districts_to_decide(
    client: TestClient, db: Session, who: dict[str, dict[str, str]]
) -> None:
    incident = staged_incident(db, status="dispatched", due_at=DUE)
    r = ask(client, db, incident, who["street"], kind="extend", hours=48, reason="汛期")
    assert r.status_code == 201, r.text
    approval = r.json()
    assert approval["decider_code"] == DISTRICT and approval["task_id"] is None
    snapshot = written(db, incident)
    r = decide(client, db, approval["id"], "approve", who["street"])
    assert r.status_code == 403 and DISTRICT in r.json()["detail"], r.text
    assert written(db, incident) == snapshot
    # Only the district lists it.
    assert client.get(APPROVALS, headers=who["street"]).json()["numberMatched"] == 0
    assert client.get(APPROVALS, headers=who["worker"]).json()["numberMatched"] == 0
    listed = client.get(APPROVALS, params={"incident": incident}, headers=who["district"]).json()
    assert [a["id"] for a in listed["approvals"]] == [approval["id"]]
    r = decide(client, db, approval["id"], "approve", who["district"])
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["status"] == "dispatched"
    assert db.execute(
        text("SELECT due_at FROM incident WHERE id = :i"), {"i": incident}
    ).scalar() == (DUE + timedelta(hours=48))


def test_stale_or_missing_if_match_writes_nothing(
    client: TestClient, db: Session, who: dict[str, dict[str, str]]
) -> None:
    incident = staged_incident(db, due_at=DUE)
    stale = {"If-Match": f'"{incident}.v{version(db, incident) - 1}"'}
    body = {"kind": "extend", "hours": 4, "reason": "等待"}
    snapshot = written(db, incident)
    r = client.post(f"{INC}/{incident}/approvals", json=body, headers={**who["street"], **stale})
    assert r.status_code == 412 and r.json()["code"] == "stale_etag", r.text
    r = client.post(f"{INC}/{incident}/approvals", json=body, headers=who["street"])
    assert r.status_code == 428 and r.json()["code"] == "if_match_required", r.text
    assert written(db, incident) == snapshot

    approval = ask(client, db, incident, who["street"], **body).json()["id"]
    snapshot = written(db, incident)
    r = client.post(f"{APPROVALS}/{approval}/approve", headers={**who["district"], **stale})
    assert r.status_code == 412 and r.json()["version"] == version(db, incident), r.text
    assert written(db, incident) == snapshot


def test_a_second_pending_request_of_the_same_kind_is_409(
    client: TestClient, db: Session, who: dict[str, dict[str, str]]
) -> None:
    incident = staged_incident(db, due_at=DUE)
    task = staged_task(db, incident, due_at=DUE)
    first = ask(client, db, incident, who["street"], kind="extend", hours=4, reason="一")
    assert first.status_code == 201, first.text
    snapshot = written(db, incident)
    again = ask(client, db, incident, who["street"], kind="extend", hours=8, reason="二")
    assert again.status_code == 409 and again.json()["approval"] == first.json()["id"], again.text
    assert written(db, incident) == snapshot
    # Another kind, or the same kind on a sub-task, is another request.
    assert ask(client, db, incident, who["street"], kind="park", reason="待拆迁").status_code == 201
    on_task = ask(
        client, db, incident, who["worker"], kind="extend", hours=2, reason="三", task_id=task
    )
    assert on_task.status_code == 201, on_task.text
    # The unique index holds even for a writer that skips the service.
    with pytest.raises(Exception, match="approval_one_pending"), db.begin_nested():
        db.execute(
            text(
                "INSERT INTO approval (incident_id, kind, reason, hours, requested_by) "
                "VALUES (:i, 'extend', 'x', 1, 'sql')"
            ),
            {"i": incident},
        )


def test_parking_asked_by_the_street_is_approved_by_the_district(
    client: TestClient, db: Session, who: dict[str, dict[str, str]]
) -> None:
    incident = staged_incident(db, due_at=DUE)
    r = ask(client, db, incident, who["street"], kind="park", reason="待上级协调资金")
    assert r.status_code == 201 and r.json()["decider_code"] == DISTRICT, r.text
    assert written(db, incident)[0] == "handling"
    r = decide(client, db, r.json()["id"], "approve", who["district"])
    assert r.status_code == 200 and r.json()["properties"]["status"] == "parked", r.text
    row = db.execute(
        text("SELECT status, parked_from, parked_at, due_at FROM incident WHERE id = :i"),
        {"i": incident},
    ).one()
    assert (row.status, row.parked_from, row.due_at) == ("parked", "handling", DUE)
    assert row.parked_at is not None
    assert events(db, incident)[-1] == ("approve", "handling", "parked", None)
    # Parked: nothing more to ask.
    r = ask(client, db, incident, who["street"], kind="extend", hours=4, reason="再延")
    assert r.status_code == 409 and r.json()["status"] == "parked", r.text


def test_approving_a_park_of_an_incident_closed_meanwhile_is_409_and_refusing_still_works(
    client: TestClient, db: Session, who: dict[str, dict[str, str]]
) -> None:
    incident = staged_incident(db, due_at=DUE)
    approval = ask(client, db, incident, who["street"], kind="park", reason="待协调").json()["id"]
    db.execute(
        text("UPDATE incident SET status = 'closed', version = version + 1 WHERE id = :i"),
        {"i": incident},
    )
    snapshot = written(db, incident)
    r = decide(client, db, approval, "approve", who["district"])
    assert r.status_code == 409 and r.json()["status"] == "closed", r.text
    assert written(db, incident) == snapshot
    r = decide(client, db, approval, "refuse", who["district"])
    assert r.status_code == 200 and r.json()["properties"]["status"] == "closed", r.text


def test_a_request_from_whoever_does_not_hold_the_work_is_403(
    client: TestClient, db: Session, who: dict[str, dict[str, str]]
) -> None:
    incident = staged_incident(db, due_at=DUE)
    task = staged_task(db, incident, due_at=DUE)
    snapshot = written(db, incident)
    for caller, body in (
        ("worker", {"kind": "park", "reason": "x"}),
        ("district", {"kind": "extend", "hours": 2, "reason": "x"}),
        ("department", {"kind": "extend", "hours": 2, "reason": "x", "task_id": task}),
    ):
        r = ask(client, db, incident, who[caller], **body)
        assert r.status_code == 403 and r.json()["code"] == "forbidden", (caller, r.text)
    assert (
        client.post(f"{INC}/{incident}/approvals", json={"kind": "park", "reason": "x"}).status_code
        == 401
    )
    assert written(db, incident) == snapshot


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "extend", "reason": "没有小时数"},
        {"kind": "extend", "hours": 721, "reason": "太长"},
        {"kind": "extend", "hours": 0, "reason": "零"},
        {"kind": "park", "hours": 4, "reason": "挂账不带小时"},
        {"kind": "park", "reason": "   "},
        {"kind": "later", "reason": "未知"},
        {"kind": "park", "reason": "x", "extra": 1},
    ],
)
def test_a_malformed_request_is_422_and_writes_nothing(
    client: TestClient, db: Session, who: dict[str, dict[str, str]], body: dict[str, object]
) -> None:
    incident = staged_incident(db, due_at=DUE)
    snapshot = written(db, incident)
    r = ask(client, db, incident, who["street"], **body)
    assert r.status_code == 422 and r.json()["code"] == "invalid_input", r.text
    assert written(db, incident) == snapshot


def test_parking_a_sub_task_or_asking_of_a_missing_one(
    client: TestClient, db: Session, who: dict[str, dict[str, str]]
) -> None:
    incident = staged_incident(db, due_at=DUE)
    task = staged_task(db, incident, due_at=DUE)
    r = ask(client, db, incident, who["street"], kind="park", reason="x", task_id=task)
    assert r.status_code == 422 and r.json()["field"] == "task_id", r.text
    r = ask(
        client, db, incident, who["street"], kind="extend", hours=1, reason="x", task_id=task + 99
    )
    assert r.status_code == 404, r.text
    assert client.post(f"{APPROVALS}/999999/approve", headers=who["admin"]).status_code == 404


def test_a_pending_request_written_by_another_hand_is_still_a_409_not_a_500(
    client: TestClient, db: Session, who: dict[str, dict[str, str]]
) -> None:
    # The unique index decides, not a read before the write: a request recorded by any other
    # writer (an import, a second server) is found by the insert itself.
    incident = staged_incident(db, due_at=DUE)
    other = db.execute(
        text(
            "INSERT INTO approval (incident_id, kind, reason, requested_by, decider_code) "
            "VALUES (:i, 'park', '另一处', 'import', :d) RETURNING id"
        ),
        {"i": incident, "d": DISTRICT},
    ).scalar_one()
    snapshot = written(db, incident)
    r = ask(client, db, incident, who["street"], kind="park", reason="待协调")
    assert r.status_code == 409 and r.json()["approval"] == other, r.text
    assert r.json()["code"] == "conflict"
    assert written(db, incident) == snapshot
