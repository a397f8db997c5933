"""The incident flow in tests: departments, a whistle-list line, tokens of each kind, and steps
sent with the incident's ETag, as a client of the board sends them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import DISTRICT, EAST_GRID, STREET, WEST_GRID, bearer, two_grids

INC = "/api/v1/incidents"
WEST_POINT = {"x": 116.342, "y": 40.005}
CATEGORY = "市容环境/暴露垃圾"
OTHER_STREET = "110108020"


def add_department(db: Session, code: str, name: str, kind: str, region: str) -> None:
    """A department of ``region`` (a street or district) of ``kind``."""
    level = "street" if len(region) == 9 else "district"
    db.execute(
        text(
            "INSERT INTO department (code, name, level, region_code, kind) "
            "VALUES (:c, :n, :l, :r, :k)"
        ),
        {"c": code, "n": name, "l": level, "r": region, "k": kind},
    )


def add_whistle_item(
    db: Session, *, category: str, lead: str, partners: list[str], report: int, answer: int
) -> int:
    """A whistle-list line for ``category`` (in a class of its own), the one the list suggests
    for it: the seeded lines of the category are made inactive. Returns its id."""
    db.execute(
        text("UPDATE whistle_item SET active = false WHERE category = :cat"), {"cat": category}
    )
    db.execute(
        text(
            "INSERT INTO whistle_class (code, name) VALUES ('T1', '测试类') ON CONFLICT DO NOTHING"
        )
    )
    return int(
        db.execute(
            text(
                "INSERT INTO whistle_item (code, class_code, matter, category, lead_kind, "
                "partner_kinds, report_hours, answer_hours) VALUES "
                "(:code, 'T1', :m, :cat, :lead, :partners, :r, :a) RETURNING id"
            ),
            {
                "code": f"T1-{category[-4:]}",
                "m": f"{category}的处置",
                "cat": category,
                "lead": lead,
                "partners": partners,
                "r": report,
                "a": answer,
            },
        ).scalar_one()
    )


def department_bearer(db: Session, code: str) -> dict[str, str]:
    """Authorization headers of a fresh token issued to department ``code``."""
    from gridmap.auth import Holder, create_token

    secret, _ = create_token(db, holder=Holder("department", department=code))
    db.flush()
    return {"Authorization": f"Bearer {secret}"}


def world(db: Session) -> dict[str, Any]:
    """Two grids of one street, a second street of the district, the departments a street and
    its district whistle (城管执法 of the street and of the district, 住建 of the district, a
    utility of another street), a whistle-list line for garbage (lead 城管执法, with 住建), and
    tokens: street and district command centres, the west grid's worker, the east grid's
    worker, a viewer, the community office, each department, and an administrator."""
    two_grids(db)
    db.execute(
        text(
            "INSERT INTO region (code, level, name, parent_code) "
            "VALUES (:c, 'street', '清河街道', :p)"
        ),
        {"c": OTHER_STREET, "p": DISTRICT},
    )
    add_department(db, "xy-cgzf", "学院路城管执法队", "城管执法", STREET)
    add_department(db, "hd-cgzf", "海淀区城管执法局", "城管执法", DISTRICT)
    add_department(db, "hd-zj", "海淀区住建委", "住建", DISTRICT)
    add_department(db, "qh-gd", "清河供电所", "供电", OTHER_STREET)
    item = add_whistle_item(
        db, category=CATEGORY, lead="城管执法", partners=["住建"], report=2, answer=48
    )
    db.flush()
    return {
        "item": item,
        "street": bearer(db, "street", STREET, "学院路街道指挥中心"),
        "other_street": bearer(db, "street", OTHER_STREET, "清河街道指挥中心"),
        "district": bearer(db, "district", DISTRICT, "海淀区指挥中心"),
        "worker": bearer(db, "worker", WEST_GRID, "西网格员"),
        "other_worker": bearer(db, "worker", EAST_GRID, "东网格员"),
        "community": bearer(db, "community", WEST_GRID[:12], "测试社区办"),
        "viewer": bearer(db, "viewer", STREET, "查看者"),
        "admin": bearer(db, "admin", None, "管理员"),
        "xy-cgzf": department_bearer(db, "xy-cgzf"),
        "hd-cgzf": department_bearer(db, "hd-cgzf"),
        "hd-zj": department_bearer(db, "hd-zj"),
        "qh-gd": department_bearer(db, "qh-gd"),
    }


def report(client: TestClient, headers: dict[str, str], **body: object) -> int:
    """Report an incident at the west grid's point; its id."""
    payload = {**WEST_POINT, "category": CATEGORY, "description": "楼下垃圾堆积", **body}
    r = client.post(INC, json=payload, headers=headers)
    assert r.status_code == 201, r.text
    return int(r.json()["properties"]["id"])


def etag(client: TestClient, incident_id: int) -> str:
    """The incident's ETag as GET gives it."""
    r = client.get(f"{INC}/{incident_id}")
    assert r.status_code == 200, r.text
    return r.headers["etag"]


def step(
    client: TestClient,
    incident_id: int,
    name: str,
    headers: dict[str, str],
    *,
    status: int = 200,
    if_match: str | None = "read",
    task: int | None = None,
    **body: object,
) -> Any:
    """Take step ``name`` (on sub-task ``task`` when given) with the current ETag (``read``),
    the ETag given, or none; asserts the status and answers the response."""
    sent = dict(headers)
    if if_match == "read":
        sent["If-Match"] = etag(client, incident_id)
    elif if_match is not None:
        sent["If-Match"] = if_match
    url = (
        f"{INC}/{incident_id}/{name}"
        if task is None
        else f"{INC}/{incident_id}/tasks/{task}/{name}"
    )
    r = client.post(url, json=body, headers=sent)
    assert r.status_code == status, (name, r.status_code, r.text)
    return r


def snapshot(db: Session, incident_id: int) -> tuple[Any, ...]:
    """Everything a step may write of an incident: its row, its tasks and its events."""
    row = db.execute(
        text(
            "SELECT status, version, owner_code, pool_until, dispatched_at, due_at, closed_at, "
            "score, returned_count, dispatch_mode, parked_from FROM incident WHERE id = :id"
        ),
        {"id": incident_id},
    ).one()
    tasks = db.execute(
        text(
            "SELECT id, state, feedback, answered_at, returned_count, due_at FROM incident_task "
            "WHERE incident_id = :id ORDER BY id"
        ),
        {"id": incident_id},
    ).all()
    events = db.execute(
        text("SELECT count(*) FROM incident_event WHERE incident_id = :id"), {"id": incident_id}
    ).scalar_one()
    return (tuple(row), tuple(map(tuple, tasks)), events)


def tasks_of(db: Session, incident_id: int) -> list[Any]:
    """The incident's sub-tasks as stored."""
    return list(
        db.execute(
            text("SELECT * FROM incident_task WHERE incident_id = :id ORDER BY id"),
            {"id": incident_id},
        ).all()
    )


def incident_row(db: Session, incident_id: int) -> Any:
    """The incident as stored."""
    return db.execute(text("SELECT * FROM incident WHERE id = :id"), {"id": incident_id}).one()


def events_of(db: Session, incident_id: int) -> list[Any]:
    """The incident's events as stored, in order."""
    return list(
        db.execute(
            text(
                "SELECT action, from_status, to_status, actor, task_id, note FROM incident_event "
                "WHERE incident_id = :id ORDER BY seq"
            ),
            {"id": incident_id},
        ).all()
    )
