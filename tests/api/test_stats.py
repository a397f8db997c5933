"""Assessment figures (考评) on a small hand-made history where every answer is known: per grid,
community, street, category, department and worker; month boundaries in Asia/Shanghai; worker
names masked for whoever may not see them; CSV and XLSX carrying the same numbers."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    COMMUNITY,
    DISTRICT,
    EAST_GRID,
    STREET,
    WEST_GRID,
    add_staff,
    bearer,
    two_grids,
)

STATS = "/api/v1/stats/incidents"
A = "市容环境/暴露垃圾"
B = "街面秩序/占道经营"
CGZF = "hd-cgzf"
PCS = f"{STREET}-pcs"


def _incident(db: Session, *, grid: str, category: str, status: str, **times: Any) -> int:
    x = 116.342 if grid == WEST_GRID else 116.347
    columns = ", ".join(times)
    values = ", ".join(f":{k}" for k in times)
    return int(
        db.execute(
            text(
                "INSERT INTO incident (category, grid_code, community_code, street_code, status, "
                f"geom, {columns}) VALUES (:category, :grid, :community, :street, :status, "
                f"ST_SetSRID(ST_MakePoint(:x, 40.005), 4326), {values}) RETURNING id"
            ),
            {
                "category": category,
                "grid": grid,
                "community": COMMUNITY,
                "street": STREET,
                "status": status,
                "x": x,
                **times,
            },
        ).scalar_one()
    )


def _task(
    db: Session,
    incident: int,
    *,
    to: str,
    state: str,
    created: str,
    due: str,
    answered: str | None = None,
    person: int | None = None,
    returned: int = 0,
) -> None:
    department = to in (CGZF, PCS)
    db.execute(
        text(
            "INSERT INTO incident_task (incident_id, kind, assignee_kind, assignee_code, "
            "assignee_name, state, created_at, due_at, answered_at, answered_by_person, "
            "returned_count) VALUES (:i, :kind, :ak, :code, :name, :state, :created, :due, "
            ":answered, :person, :returned)"
        ),
        {
            "i": incident,
            "kind": "whistle" if department else "split",
            "ak": "department" if department else "grid",
            "code": to,
            "name": to,
            "state": state,
            "created": created,
            "due": due,
            "answered": answered,
            "person": person,
            "returned": returned,
        },
    )


@pytest.fixture
def history(db: Session) -> dict[str, Any]:
    """Five incidents and five tasks (times are Beijing time, +08:00).

    December 2026: I1 (west, A, 10 h, on time, score 90), I2 (east, A, 24 h, late, reworked,
    score 60), I3 (west, A, reported 00:30 on 1 Dec — still 30 Nov in UTC — handling, overdue),
    I5 (east, B, only reported). November: I4 (east, B, reported 23:30 on 30 Nov, closed).
    The district's 城管执法 has three tasks (one late and reworked, one open and overdue);
    the street's police one, on time. 李静 answered two tasks, 张伟 one, late.
    """
    two_grids(db)
    db.execute(
        text(
            "INSERT INTO department (code, name, level, region_code, kind) VALUES "
            "(:a, '海淀区城市管理综合行政执法局', 'district', :d, '城管执法'), "
            "(:b, '学院路派出所', 'street', :s, '公安派出所')"
        ),
        {"a": CGZF, "b": PCS, "d": DISTRICT, "s": STREET},
    )
    li = int(db.execute(text("SELECT id FROM person WHERE name = '李静'")).scalar_one())
    zhang = add_staff(db, EAST_GRID, "worker", "张伟", "13700001111")
    i1 = _incident(
        db,
        grid=WEST_GRID,
        category=A,
        status="evaluated",
        reported_at="2026-12-02T09:00+08:00",
        closed_at="2026-12-02T19:00+08:00",
        due_at="2026-12-03T00:00+08:00",
        score=90,
    )
    i2 = _incident(
        db,
        grid=EAST_GRID,
        category=A,
        status="evaluated",
        reported_at="2026-12-05T08:00+08:00",
        closed_at="2026-12-06T08:00+08:00",
        due_at="2026-12-05T20:00+08:00",
        returned_count=1,
        score=60,
    )
    i3 = _incident(
        db,
        grid=WEST_GRID,
        category=A,
        status="handling",
        reported_at="2026-12-01T00:30+08:00",
        due_at="2026-12-01T10:00+08:00",
    )
    _incident(
        db,
        grid=EAST_GRID,
        category=B,
        status="closed",
        reported_at="2026-11-30T23:30+08:00",
        closed_at="2026-12-01T03:30+08:00",
        due_at="2026-12-01T08:00+08:00",
    )
    _incident(
        db, grid=EAST_GRID, category=B, status="reported", reported_at="2026-12-10T10:00+08:00"
    )
    day2, day5 = "2026-12-02T", "2026-12-05T"
    _task(db, i1, to=CGZF, state="answered", created=day2 + "10:00+08", due=day2 + "14:00+08",
          answered=day2 + "12:00+08", person=li)  # fmt: skip
    _task(db, i1, to=WEST_GRID, state="answered", created=day2 + "10:00+08", due=day2 + "18:00+08",
          answered=day2 + "17:00+08", person=li)  # fmt: skip
    _task(db, i1, to=PCS, state="answered", created=day2 + "10:00+08", due=day2 + "20:00+08",
          answered=day2 + "11:00+08")  # fmt: skip
    _task(db, i2, to=CGZF, state="answered", created=day5 + "09:00+08", due=day5 + "12:00+08",
          answered=day5 + "15:00+08", person=zhang, returned=1)  # fmt: skip
    _task(db, i3, to=CGZF, state="working", created="2026-12-01T01:00+08",
          due="2026-12-01T05:00+08")  # fmt: skip
    db.flush()
    return {"li": li, "zhang": zhang}


def _groups(client: TestClient, headers: dict[str, str] | None = None, **params: str) -> Any:
    r = client.get(STATS, params=params, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()["groups"]


def test_per_grid_community_street_and_category(client: TestClient, history: object) -> None:
    west, east = _groups(client, month="2026-12", group_by="grid")
    assert (west["key"], west["name"], west["rank"]) == (WEST_GRID, "西网格", 1)
    assert west["incidents"] == 2 and west["closed"] == 1
    assert west["on_time_rate"] == 1.0 and west["rework_rate"] == 0.0
    assert west["satisfaction"] == 90 and west["mean_hours"] == 10 and west["overdue_now"] == 1
    assert west["by_state"] == {"evaluated": 1, "handling": 1}
    assert (east["key"], east["rank"], east["incidents"]) == (EAST_GRID, 2, 2)
    assert east["on_time_rate"] == 0.0 and east["rework_rate"] == 1.0
    assert east["satisfaction"] == 60 and east["mean_hours"] == 24 and east["overdue_now"] == 0
    assert east["by_state"] == {"evaluated": 1, "reported": 1}
    # the names older callers read
    assert west["grid"] == WEST_GRID and west["total"] == 2 and west["mean_hours_to_close"] == 10

    for level, key, name in (
        ("street", STREET, "学院路街道"),
        ("community", COMMUNITY, "测试社区"),
    ):
        [g] = _groups(client, month="2026-12", group_by=level)
        assert (g["key"], g["name"]) == (key, name)
        assert (g["incidents"], g["closed"], g["overdue_now"]) == (4, 2, 1)
        assert (g["on_time_rate"], g["rework_rate"], g["satisfaction"]) == (0.5, 0.5, 75)
        assert g["mean_hours"] == 17 and g["p90_hours"] == pytest.approx(22.6)

    a, b = _groups(client, month="2026-12", group_by="category")
    assert (a["key"], a["incidents"], b["key"], b["incidents"]) == (A, 3, B, 1)
    assert b["on_time_rate"] is None and b["rank"] == 2
    # a region outside the fixture: no group
    assert _groups(client, month="2026-12", group_by="grid", region="110108011") == []


def test_month_boundaries_are_beijing_time(client: TestClient, history: object) -> None:
    # I3 was reported at 00:30 on 1 December in Beijing (30 November in UTC): December's.
    [nov] = _groups(client, month="2026-11", group_by="street")
    assert nov["incidents"] == 1 and nov["by_state"] == {"closed": 1} and nov["mean_hours"] == 4
    [dec] = _groups(client, month="2026-12", group_by="street")
    assert dec["incidents"] == 4
    [whole] = _groups(client, group_by="street")
    assert whole["incidents"] == 5
    [upto] = _groups(client, group_by="street", to="2026-12-01T00:30:00")
    assert upto["incidents"] == 1
    r = client.get(STATS, params={"month": "2026-12", "group_by": "street"}).json()
    assert (r["from"], r["to"]) == ("2026-12-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00")


def test_per_department_from_its_tasks(client: TestClient, history: object) -> None:
    pcs, cgzf = _groups(client, month="2026-12", group_by="department")
    # three tasks whistled to 城管执法: one on time, one late and reworked, one open and overdue
    assert (cgzf["key"], cgzf["name"], cgzf["rank"]) == (CGZF, "海淀区城市管理综合行政执法局", 2)
    assert (cgzf["tasks"], cgzf["incidents"], cgzf["closed"]) == (3, 3, 2)
    assert cgzf["on_time_rate"] == 0.5 and cgzf["rework_rate"] == 0.5
    assert cgzf["mean_hours"] == 4 and cgzf["p90_hours"] == pytest.approx(5.6)
    assert cgzf["satisfaction"] == 75 and cgzf["overdue_now"] == 1
    assert cgzf["by_state"] == {"answered": 2, "working": 1}
    assert (pcs["key"], pcs["rank"], pcs["on_time_rate"], pcs["satisfaction"]) == (PCS, 1, 1.0, 90)
    assert pcs["mean_hours"] == 1 and pcs["overdue_now"] == 0
    # November: the tasks were all created in December
    assert _groups(client, month="2026-11", group_by="department") == []


def test_per_worker_and_their_names_masked(
    client: TestClient, db: Session, history: dict[str, int]
) -> None:
    street = bearer(db, "street", STREET, "学院路街道指挥中心")
    li, zhang = _groups(client, street, month="2026-12", group_by="worker")
    assert (li["key"], li["name"], li["rank"]) == (history["li"], "李静", 1)
    assert (li["tasks"], li["incidents"], li["on_time_rate"], li["mean_hours"]) == (2, 1, 1.0, 4.5)
    assert li["satisfaction"] == 90 and li["by_state"] == {"answered": 2}
    assert (zhang["name"], zhang["on_time_rate"], zhang["rework_rate"]) == ("张伟", 0.0, 1.0)
    assert zhang["satisfaction"] == 60
    # a viewer, or anyone without a token, sees family names only
    for headers in (bearer(db, "viewer", STREET, "查看者"), {}):
        names = [g["name"] for g in _groups(client, headers, month="2026-12", group_by="worker")]
        assert names == ["李*", "张*"]
    # a worker of the west grid sees its own grid's worker, not the east grid's
    west = bearer(db, "worker", WEST_GRID, "西网格员")
    names = [g["name"] for g in _groups(client, west, month="2026-12", group_by="worker")]
    assert names == ["李静", "张*"]
    # the file carries the same masking
    body = client.get(STATS, params={"month": "2026-12", "group_by": "worker", "format": "csv"})
    assert "李静" not in body.content.decode("utf-8-sig") and "李*" in body.text


def test_csv_and_xlsx_carry_the_json_numbers(client: TestClient, history: object) -> None:
    params = {"month": "2026-12", "group_by": "department"}
    groups = client.get(STATS, params=params).json()["groups"]
    r = client.get(STATS, params={**params, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    assert "incidents-department-20261201.csv" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["排名", "编码", "名称", "事件数", "办结数", "按期办结率"]
    assert "已反馈" in rows[0]
    assert [row[1] for row in rows[1:]] == [g["key"] for g in groups]
    assert [float(row[5]) for row in rows[1:]] == [g["on_time_rate"] for g in groups]

    r = client.get(STATS, params={**params, "format": "xlsx", "lang": "en"})
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = cells[0]
    assert header[:4] == ["rank", "key", "name", "incidents"]
    assert "state:answered" in header
    for row, g in zip(cells[1:], groups, strict=True):
        record = dict(zip(header, row, strict=True))
        for field in ("rank", "key", "incidents", "closed", "on_time_rate", "rework_rate"):
            assert record[field] == g[field]
        assert record["satisfaction"] == g["satisfaction"]
        assert record["p90_hours"] == pytest.approx(g["p90_hours"])
        assert record["state:answered"] == g["by_state"].get("answered", 0)


@pytest.mark.parametrize(
    "params",
    [
        {"month": "2026-13"},
        {"month": "2026-1"},
        {"month": "december"},
        {"month": "2026-12", "from": "2026-12-01T00:00:00"},
        {"from": "2026-12-02T00:00:00", "to": "2026-12-01T00:00:00"},
        {"group_by": "moon"},
        {"format": "pdf"},
    ],
)
def test_bad_period_or_group_is_422(client: TestClient, params: dict[str, str]) -> None:
    r = client.get(STATS, params=params)
    assert r.status_code == 422, r.text
    assert r.json()["code"]


def test_a_name_like_a_formula_stays_text_in_the_files(
    client: TestClient, db: Session, history: object
) -> None:
    db.execute(text("UPDATE department SET name = '=HYPERLINK(\"http://x\",\"a\")' WHERE code = :c"),
               {"c": PCS})  # fmt: skip
    db.flush()
    params = {"month": "2026-12", "group_by": "department"}
    rows = list(csv.reader(io.StringIO(client.get(STATS, params={**params, "format": "csv"}).text)))
    assert rows[1][2] == '\'=HYPERLINK("http://x","a")'
    body = client.get(STATS, params={**params, "format": "xlsx"}).content
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    cell = sheet["C2"]
    assert cell.value == '=HYPERLINK("http://x","a")' and cell.data_type == "s"
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
