"""The whistle list (吹哨清单): its seed, who may change it, its file form, what it suggests."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from tests.utils.fixtures import DISTRICT, STREET, bearer, two_grids

from gridmap.dependencies import get_session
from gridmap.main import create_app
from gridmap.services import whistle_import
from gridmap.settings import Settings
from gridmap.vocab.departments import DEPARTMENT_KINDS

API = "/api/v1"
HEADER = list(whistle_import.COLUMNS)


def district(db: Session) -> dict[str, str]:
    return bearer(db, "district", DISTRICT, name="海淀区指挥中心")


def lines(db: Session) -> dict[str, dict[str, Any]]:
    rows = db.execute(text("SELECT * FROM whistle_item ORDER BY code")).mappings()
    return {r["code"]: dict(r) for r in rows}


def classes(db: Session) -> dict[str, str]:
    return dict(db.execute(text("SELECT code, name FROM whistle_class")).all())  # type: ignore[arg-type]


def line(**changes: Any) -> dict[str, Any]:
    body = {
        "code": "99-001",
        "class_code": "99",
        "class_name": "试点事项",
        "matter": "小区内共享充电桩故障",
        "category": None,
        "lead_kind": "供电",
        "partner_kinds": ["房屋管理"],
        "report_hours": 2,
        "answer_hours": 48,
    }
    return {**body, **changes}


def csv_file(*rows: list[Any], header: list[str] = HEADER) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def xlsx_file(*rows: list[Any], header: list[str] = HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


NEW_ROW = [
    "99-001",
    "99",
    "试点事项",
    "小区内共享充电桩故障",
    "",
    "供电",
    "房屋管理;消防",
    2,
    48,
    "true",
]


def upload(
    client: TestClient, headers: dict[str, str], data: bytes, name: str, *, commit: bool
) -> Any:
    media = "text/csv" if name.endswith(".csv") else "application/octet-stream"
    return client.post(
        f"{API}/whistle-list/import",
        params={"commit": str(commit).lower()},
        headers=headers,
        files={"file": (name, data, media)},
    )


# The seed.


def test_the_seed_is_a_whole_list_that_answers_every_category(db: Session) -> None:
    assert len(classes(db)) >= 14
    seeded = lines(db)
    assert len(seeded) >= 100
    categories = set(db.execute(text("SELECT code FROM incident_category")).scalars())
    answered = {r["category"] for r in seeded.values() if r["active"] and r["category"]}
    assert categories == answered
    for r in seeded.values():
        assert r["lead_kind"] in DEPARTMENT_KINDS, r
        assert set(r["partner_kinds"]) <= set(DEPARTMENT_KINDS), r
        assert 1 <= r["report_hours"] <= r["answer_hours"] <= 8760, r
    assert "illustrative" in (
        __import__("pathlib").Path(__file__).parents[2]
        / "migrations"
        / "versions"
        / "0011_whistle_list_seed.py"
    ).read_text("utf-8")


def test_the_list_comes_by_class_and_filters_by_category(client: TestClient) -> None:
    whole = client.get(f"{API}/whistle-list").json()
    assert len(whole["classes"]) >= 14 and whole["numberMatched"] >= 100
    assert [c["code"] for c in whole["classes"]] == sorted(c["code"] for c in whole["classes"])
    found = client.get(f"{API}/whistle-list", params={"category": "市容环境/暴露垃圾"}).json()
    assert [c["code"] for c in found["classes"]] == ["01"]
    assert [i["code"] for i in found["classes"][0]["items"]] == ["01-001", "01-005"]
    assert found["classes"][0]["items"][0]["lead_kind"] == "城管执法"
    assert found["numberMatched"] == 2


# Suggestions.


@pytest.fixture(scope="module")
def demo_client(demo_engine: Engine) -> Iterator[TestClient]:
    settings = Settings()
    settings.api.live_lookup = False
    app = create_app(settings)

    def demo_session() -> Iterator[Session]:
        with Session(demo_engine) as s:
            yield s

    app.dependency_overrides[get_session] = demo_session
    with TestClient(app) as c:
        yield c


def test_a_demo_incident_is_suggested_its_streets_team_before_the_districts(
    demo_client: TestClient, demo_engine: Engine
) -> None:
    with demo_engine.connect() as conn:
        incident, street = conn.execute(
            text(
                "SELECT id, street_code FROM incident WHERE category = '街面秩序/占道经营' "
                "AND street_code IS NOT NULL ORDER BY id LIMIT 1"
            )
        ).one()
    r = demo_client.get(f"{API}/incidents/{incident}/whistle-suggestions")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["item"]["code"] == "02-001" and body["item"]["lead_kind"] == "城管执法"
    # The lead kind first (the street's team before the district's), then the co-operating
    # kinds in the line's order: 市场监管 (the district's), the street's 派出所.
    codes = [d["code"] for d in body["departments"]]
    assert codes == [f"{street}-cgzf", "hd-cgzf", "hd-scjg", f"{street}-pcs"]
    assert [d["lead"] for d in body["departments"]] == [True, True, False, False]
    assert body["departments"][0]["level"] == "street"
    assert body["departments"][0]["name"].endswith("城管执法队")


def test_every_demo_incident_gets_a_lead_department(
    demo_client: TestClient, demo_engine: Engine
) -> None:
    with demo_engine.connect() as conn:
        samples = conn.execute(
            text(
                "SELECT DISTINCT ON (category) id, category FROM incident "
                "WHERE street_code IS NOT NULL ORDER BY category, id"
            )
        ).all()
    assert len(samples) >= 15
    for incident, category in samples:
        body = demo_client.get(f"{API}/incidents/{incident}/whistle-suggestions").json()
        assert body["item"]["category"] == category, body
        assert body["departments"] and body["departments"][0]["lead"], (category, body)


def test_suggestions_of_no_incident_are_404(client: TestClient) -> None:
    r = client.get(f"{API}/incidents/987654/whistle-suggestions")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_an_inactive_department_or_line_is_not_suggested(client: TestClient, db: Session) -> None:
    two_grids(db)
    db.execute(
        text(
            "INSERT INTO department (code, name, level, region_code, kind) VALUES "
            "('s-cg', '学院路街道城管执法队', 'street', :s, '城管执法'), "
            "('d-cg', '区城管执法局', 'district', :d, '城管执法')"
        ),
        {"s": STREET, "d": DISTRICT},
    )
    office = bearer(db, "street", STREET, name="学院路街道")
    made = client.post(
        f"{API}/incidents",
        headers=office,
        json={"x": 116.342, "y": 40.005, "category": "街面秩序/占道经营"},
    )
    assert made.status_code == 201, made.text
    incident = made.json()["properties"]["id"]
    url = f"{API}/incidents/{incident}/whistle-suggestions"
    assert [d["code"] for d in client.get(url).json()["departments"]] == ["s-cg", "d-cg"]
    db.execute(text("UPDATE department SET active = false WHERE code = 's-cg'"))
    assert [d["code"] for d in client.get(url).json()["departments"]] == ["d-cg"]
    db.execute(text("UPDATE whistle_item SET active = false WHERE code = '02-001'"))
    body = client.get(url).json()
    assert body["item"]["code"] == "02-002"


# Changing the list.


def test_a_district_adds_changes_and_removes_a_line(client: TestClient, db: Session) -> None:
    headers = district(db)
    r = client.post(f"{API}/whistle-list/items", headers=headers, json=line())
    assert r.status_code == 201, r.text
    made = r.json()
    assert r.headers["location"] == f"/api/v1/whistle-list/items/{made['id']}"
    assert classes(db)["99"] == "试点事项"
    stored = lines(db)["99-001"]
    assert (stored["lead_kind"], stored["partner_kinds"], stored["answer_hours"]) == (
        "供电",
        ["房屋管理"],
        48,
    )
    r = client.patch(
        f"{API}/whistle-list/items/{made['id']}",
        headers=headers,
        json={"answer_hours": 72, "category": "民生服务/老旧小区设施损坏"},
    )
    assert r.status_code == 200, r.text
    assert lines(db)["99-001"]["answer_hours"] == 72
    assert lines(db)["99-001"]["category"] == "民生服务/老旧小区设施损坏"
    r = client.delete(f"{API}/whistle-list/items/{made['id']}", headers=headers)
    assert r.status_code == 204
    assert "99-001" not in lines(db)
    audit = db.execute(
        text("SELECT action FROM audit_log WHERE entity = 'whistle_item' ORDER BY id")
    ).scalars()
    assert list(audit) == ["create", "update", "delete"]


@pytest.mark.parametrize(
    ("who", "status"), [(None, 401), ("street", 403), ("community", 403), ("viewer", 403)]
)
def test_only_district_and_admin_tokens_change_the_list(
    client: TestClient, db: Session, who: str | None, status: int
) -> None:
    headers = (
        {} if who is None else bearer(db, who, STREET if who != "community" else STREET + "001")
    )
    before = lines(db)
    item = before["01-001"]["id"]
    for r in (
        client.post(f"{API}/whistle-list/items", headers=headers, json=line()),
        client.patch(f"{API}/whistle-list/items/{item}", headers=headers, json={"matter": "改"}),
        client.delete(f"{API}/whistle-list/items/{item}", headers=headers),
        upload(client, headers, csv_file(NEW_ROW), "list.csv", commit=True),
    ):
        assert r.status_code == status, r.text
        assert r.json()["code"] in ("unauthorized", "forbidden")
    assert lines(db) == before


def test_a_taken_code_is_409(client: TestClient, db: Session) -> None:
    headers = district(db)
    before = lines(db)
    r = client.post(f"{API}/whistle-list/items", headers=headers, json=line(code="01-001"))
    assert r.status_code == 409 and r.json()["code"] == "conflict", r.text
    other = before["01-002"]["id"]
    r = client.patch(f"{API}/whistle-list/items/{other}", headers=headers, json={"code": "01-001"})
    assert r.status_code == 409, r.text
    assert lines(db) == before


@pytest.mark.parametrize(
    "bad",
    [
        {"report_hours": 8, "answer_hours": 4},
        {"report_hours": 0},
        {"answer_hours": 8761},
        {"answer_hours": 2.5},
        {"matter": "占道\x07经营"},
        {"matter": '=HYPERLINK("http://x")'},
        {"matter": ""},
        {"lead_kind": "城管"},
        {"partner_kinds": ["供电"]},
        {"partner_kinds": ["消防", "消防"]},
        {"category": "市容环境/不存在"},
        {"code": "01 001"},
        {"class_code": "77", "class_name": None},
        {"surprise": 1},
    ],
)
def test_a_bad_line_is_422_and_nothing_is_written(
    client: TestClient, db: Session, bad: dict[str, Any]
) -> None:
    before, kinds = lines(db), classes(db)
    r = client.post(f"{API}/whistle-list/items", headers=district(db), json=line(**bad))
    assert r.status_code == 422, r.text
    # The edge refuses control characters before the body is parsed.
    assert r.json()["code"] in ("invalid_input", "control_character") and r.json()["detail"]
    assert lines(db) == before and classes(db) == kinds


def test_a_change_that_would_make_answering_faster_than_reporting_is_422(
    client: TestClient, db: Session
) -> None:
    before = lines(db)
    item = before["01-001"]["id"]  # reports in 2 hours
    r = client.patch(
        f"{API}/whistle-list/items/{item}", headers=district(db), json={"answer_hours": 1}
    )
    assert r.status_code == 422, r.text
    r = client.patch(
        f"{API}/whistle-list/items/{item}", headers=district(db), json={"matter": None}
    )
    assert r.status_code == 422, r.text
    assert lines(db) == before


def test_removing_a_line_tasks_were_whistled_for_keeps_it_inactive(
    client: TestClient, db: Session
) -> None:
    two_grids(db)
    office = bearer(db, "street", STREET, name="学院路街道")
    made = client.post(
        f"{API}/incidents",
        headers=office,
        json={"x": 116.342, "y": 40.005, "category": "街面秩序/占道经营"},
    )
    incident = made.json()["properties"]["id"]
    item = lines(db)["02-001"]["id"]
    db.execute(
        text(
            "INSERT INTO incident_task (incident_id, kind, assignee_kind, assignee_code, "
            "assignee_name, whistle_item_id) VALUES (:i, 'whistle', 'department', 'x', 'x', :w)"
        ),
        {"i": incident, "w": item},
    )
    r = client.delete(f"{API}/whistle-list/items/{item}", headers=district(db))
    assert r.status_code == 200, r.text
    assert r.json()["deleted"] is False and "inactive" in r.json()["detail"]
    assert r.json()["item"]["active"] is False
    assert lines(db)["02-001"]["active"] is False
    r = client.delete(f"{API}/whistle-list/items/{item}", headers=district(db))
    assert r.status_code == 200
    assert (
        client.delete(f"{API}/whistle-list/items/987654", headers=district(db)).status_code == 404
    )


# Import and export.


def test_a_csv_dry_run_reports_what_the_commit_then_writes(client: TestClient, db: Session) -> None:
    headers = district(db)
    before, kinds = lines(db), classes(db)
    changed = [
        "01-001",
        "01",
        "",
        "道路、街巷暴露垃圾未及时清运",
        "市容环境/暴露垃圾",
        "城管执法",
        "房屋管理",
        2,
        12,
        "true",
    ]
    same = [
        "01-002",
        "01",
        "市容环境卫生",
        "建筑垃圾、渣土积存未清运",
        "市容环境/积存垃圾渣土",
        "城管执法",
        "住建",
        2,
        48,
        "true",
    ]
    data = csv_file(NEW_ROW, changed, same)
    dry = upload(client, headers, data, "清单.csv", commit=False)
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report == {
        "committed": False,
        "source": "清单.csv",
        "rows": 3,
        "created": ["99-001"],
        "updated": ["01-001"],
        "unchanged": 1,
        "classes_created": ["99"],
        "classes_renamed": [],
    }
    assert lines(db) == before and classes(db) == kinds
    done = upload(client, headers, data, "清单.csv", commit=True)
    assert done.status_code == 200, done.text
    assert done.json() == {**report, "committed": True}
    after = lines(db)
    assert after["01-001"]["answer_hours"] == 12
    assert after["99-001"]["partner_kinds"] == ["房屋管理", "消防"]
    assert classes(db)["99"] == "试点事项"
    assert len(after) == len(before) + 1


def test_an_xlsx_made_in_a_spreadsheet_imports(client: TestClient, db: Session) -> None:
    row = [
        "99-002",
        "99",
        "试点事项",
        "楼宇充电设施隐患",
        None,
        "消防",
        "供电、房屋管理",
        1,
        24.0,
        True,
    ]
    r = upload(client, district(db), xlsx_file(row), "list.xlsx", commit=True)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == ["99-002"]
    stored = lines(db)["99-002"]
    assert (stored["partner_kinds"], stored["answer_hours"], stored["category"]) == (
        ["供电", "房屋管理"],
        24,
        None,
    )


def test_bad_rows_are_422_naming_row_and_column_and_nothing_is_written(
    client: TestClient, db: Session
) -> None:
    before, kinds = lines(db), classes(db)
    data = csv_file(
        NEW_ROW,
        ["99-003", "99", "", "楼道照明损坏", "", "房屋管理", "", 24, 8, ""],
        ["99-004", "99", "", "外墙保温层脱落", "", "城管局", "", 1, 24, ""],
        ["99-005", "98", "", "无类之事", "", "住建", "", 1, 24, ""],
        ["99-001", "99", "", "重复", "", "住建", "", 1, 24, ""],
        ["99-006", "99", "", "未定之事", "", "住建", "", 1, 24, "也许"],
        ["99-007", "99", "", "@SUM(A1:A9)", "", "住建", "", 1, 24, ""],
    )
    for commit in (False, True):
        r = upload(client, district(db), data, "bad.csv", commit=commit)
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] == "invalid_row"
        faults = {(e["row"], e["column"]) for e in body["faults"]}
        assert faults == {
            (3, "answer_hours"),
            (4, "lead_kind"),
            (5, "class_name"),
            (6, "code"),
            (7, "active"),
            (8, "matter"),
        }, body["faults"]
        assert body["faults"][-1]["detail"].endswith("a spreadsheet takes for a formula")
        assert "row 3, answer_hours" in body["detail"]
    assert lines(db) == before and classes(db) == kinds


def test_a_formula_cell_is_422_not_evaluated(client: TestClient, db: Session) -> None:
    row = [*NEW_ROW[:7], "=1+1", 48, "true"]
    r = upload(client, district(db), xlsx_file(row), "list.xlsx", commit=True)
    assert r.status_code == 422, r.text
    assert r.json()["faults"] == [
        {
            "row": 2,
            "column": "report_hours",
            "detail": "a formula; paste its value instead (Paste Special → Values)",
        }
    ]
    assert "99-001" not in lines(db)


def test_a_sheet_too_long_is_422(client: TestClient, db: Session) -> None:
    rows = [[f"X-{n}", "01", "", "事项", "", "住建", "", 1, 2, ""] for n in range(5001)]
    r = upload(client, district(db), xlsx_file(*rows), "long.xlsx", commit=False)
    assert r.status_code == 422 and "more than 5000 rows" in r.json()["detail"], r.text
    r = upload(client, district(db), csv_file(*rows), "long.csv", commit=False)
    assert r.status_code == 422 and "more than 5000 rows" in r.json()["detail"], r.text
    # A small file naming a far cell: refused from the sheet's size, not by reading to it.
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append(NEW_ROW)
    book.active.cell(row=1_000_000, column=1, value="x")
    out = io.BytesIO()
    book.save(out)
    assert len(out.getvalue()) < 10_000
    r = upload(client, district(db), out.getvalue(), "far.xlsx", commit=False)
    assert r.status_code == 422 and "more than 5000 rows" in r.json()["detail"], r.text


def test_a_workbook_that_unpacks_too_far_is_422(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(whistle_import, "MAX_UNPACKED_BYTES", 2000)
    r = upload(client, district(db), xlsx_file(NEW_ROW), "list.xlsx", commit=False)
    assert r.status_code == 422 and "unpacks to more than" in r.json()["detail"], r.text


def zip_of(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("list.xlsx", b"code,class_code\n01-001,01\n"),
        ("list.xlsx", zip_of("notes.txt", b"hello")),
        ("list.xlsx", zip_of("[Content_Types].xml", b"<not xml")),
        ("list.csv", "code,matter\n".encode("utf-16")),
        ("list.csv", b"code,class_code,matter,lead_kind,report_hours,answer_hours,colour\n"),
        ("list.csv", b""),
        ("list.csv", b"code,class_code,matter,lead_kind,report_hours,answer_hours\n"),
        ("list.ods", b"whatever"),
    ],
)
def test_a_file_that_is_not_what_it_claims_is_422(
    client: TestClient, db: Session, name: str, data: bytes
) -> None:
    before = lines(db)
    r = upload(client, district(db), data, name, commit=True)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_file" and r.json()["detail"]
    assert lines(db) == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_changes_nothing(client: TestClient, db: Session, fmt: str) -> None:
    headers = district(db)
    # An inactive line and a line with no category travel too.
    client.post(f"{API}/whistle-list/items", headers=headers, json=line(active=False))
    before = lines(db)
    r = client.get(f"{API}/whistle-list/export", params={"format": fmt})
    assert r.status_code == 200
    assert f"whistle-list.{fmt}" in r.headers["content-disposition"]
    back = upload(client, headers, r.content, f"whistle-list.{fmt}", commit=True)
    assert back.status_code == 200, back.text
    report = back.json()
    assert (report["created"], report["updated"], report["classes_created"]) == ([], [], [])
    assert report["unchanged"] == report["rows"] == len(before)
    assert lines(db) == before
    again = client.get(f"{API}/whistle-list/export", params={"format": fmt})
    if fmt == "csv":
        assert again.content == r.content
        assert r.content.startswith("\ufeffcode,class_code".encode())
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
        assert [c.value for c in sheet[1]] == HEADER
        assert sheet.max_row == len(before) + 1


def test_an_import_may_swap_the_names_of_two_classes_but_not_give_two_one_name(
    client: TestClient, db: Session
) -> None:
    seeded = lines(db)

    def row(code: str, class_name: str) -> list[Any]:
        r = seeded[code]
        return [
            code,
            r["class_code"],
            class_name,
            r["matter"],
            r["category"] or "",
            r["lead_kind"],
            ";".join(r["partner_kinds"]),
            r["report_hours"],
            r["answer_hours"],
            "true",
        ]

    names = classes(db)
    twice = csv_file(row("01-001", names["02"]))
    r = upload(client, district(db), twice, "twice.csv", commit=True)
    assert r.status_code == 422, r.text
    assert r.json()["faults"][0]["column"] == "class_name"
    swap = csv_file(row("01-001", names["02"]), row("02-001", names["01"]))
    r = upload(client, district(db), swap, "swap.csv", commit=True)
    assert r.status_code == 200, r.text
    assert r.json()["classes_renamed"] == ["01", "02"] and r.json()["updated"] == []
    after = classes(db)
    assert (after["01"], after["02"]) == (names["02"], names["01"])


def test_a_file_without_a_column_leaves_that_field_as_it_is(
    client: TestClient, db: Session
) -> None:
    before = lines(db)["01-001"]
    data = csv_file(
        ["01-001", "01", "道路、街巷暴露垃圾未及时清运", "城管执法", 3, 30],
        header=["code", "class_code", "matter", "lead_kind", "report_hours", "answer_hours"],
    )
    r = upload(client, district(db), data, "hours.csv", commit=True)
    assert r.status_code == 200 and r.json()["updated"] == ["01-001"], r.text
    after = lines(db)["01-001"]
    assert (after["report_hours"], after["answer_hours"]) == (3, 30)
    assert (after["category"], after["partner_kinds"], after["active"]) == (
        before["category"],
        before["partner_kinds"],
        before["active"],
    )
