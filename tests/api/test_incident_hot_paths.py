"""The hot paths over monthly partitions: a grid's open incidents are read from the open table
and then only the page's months, with the same answer as the whole table gives; the open table
follows reports, steps, archiving and restoring; the duplicate check reads the open table and
no month; the board counts there and reads only its page's months;
deleting an incident finds the ones merged into it by an index."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.orm import Session
from tests.utils.fixtures import STREET, WEST_GRID, bearer, two_grids

from gridmap.services import partitions as p

INC = "/api/v1/incidents"
WEST = {"x": 116.342, "y": 40.005, "category": "市容环境/暴露垃圾"}
OPEN_LIST = "SELECT id FROM incident WHERE grid_code = :g AND status = :s ORDER BY id DESC"
# Every column incident_open mirrors (the point as text, to compare).
MIRRORED = (
    "id, reported_at, status, category, severity, grid_code, community_code, street_code, "
    "owner_code, due_at, pool_until, ST_AsText(geom)"
)


@pytest.fixture
def street(db: Session) -> dict[str, str]:
    two_grids(db)
    return bearer(db, "street", STREET, "学院路街道指挥中心")


def _import(client: TestClient, headers: dict[str, str], rows: list[tuple[str, str]]) -> None:
    body = "lon,lat,category,reported_at,idempotency_key\n" + "".join(
        f"116.342,40.005,市容环境/暴露垃圾,{when},{key}\n" for when, key in rows
    )
    r = client.post(
        f"{INC}/import",
        params={"commit": "true"},
        headers=headers,
        files={"file": ("old.csv", body.encode(), "text/csv")},
    )
    assert r.status_code == 200, r.text


def _history(client: TestClient, street: dict[str, str]) -> None:
    """Three old months of reported incidents (imported) and two reported now."""
    _import(
        client,
        street,
        [(f"2019-0{m}-{d:02d}T10:00:00+08:00", f"hot-{m}-{d}") for m in (3, 4, 5) for d in (1, 2)],
    )
    for _ in range(2):
        assert client.post(INC, json=WEST, headers=street).status_code == 201


def _open_rows(db: Session) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in db.execute(text(f"SELECT {MIRRORED} FROM incident_open ORDER BY id"))]


def _open_in_incident(db: Session) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in db.execute(
            text(
                f"SELECT {MIRRORED} FROM incident "
                "WHERE status NOT IN ('closed', 'evaluated', 'cancelled') ORDER BY id"
            )
        )
    ]


def _page(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = client.get(INC, params={"grid": WEST_GRID, "state": "reported", **params}, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_grids_open_list_is_the_whole_tables_answer(
    client: TestClient, db: Session, street: dict[str, str]
) -> None:
    _history(client, street)
    every = list(db.execute(text(OPEN_LIST), {"g": WEST_GRID, "s": "reported"}).scalars())
    assert len(every) == 8
    first = _page(client, street, limit=3)
    assert [f["properties"]["id"] for f in first["features"]] == every[:3]
    assert first["numberMatched"] == 8 and first["numberReturned"] == 3
    rest = _page(client, street, limit=50, offset=3)
    assert [f["properties"]["id"] for f in rest["features"]] == every[3:]
    # Every property is the incident's own (the same feature as one incident's GET, masked).
    one = client.get(f"{INC}/{every[4]}", headers=street).json()["properties"]
    listed = rest["features"][1]["properties"]
    assert {k: one[k] for k in listed} == listed
    # Filters the open table answers the same way: a report-time window, a bbox, a category.
    window = _page(
        client, street, **{"from": "2019-04-01T00:00:00+08:00", "to": "2019-05-01T00:00:00+08:00"}
    )
    assert window["numberMatched"] == 2
    away = _page(client, street, bbox="116.0,39.0,116.1,39.1")
    assert away["numberMatched"] == 0 and away["features"] == []
    # A finished state still reads the whole table.
    assert _page(client, street, state="closed")["numberMatched"] == 0


def test_the_open_table_follows_steps_archiving_and_restoring(
    client: TestClient, db: Session, street: dict[str, str], tmp_path: Path
) -> None:
    _history(client, street)
    assert _open_rows(db) == _open_in_incident(db) and len(_open_rows(db)) == 8
    newest = _page(client, street)["features"][0]["properties"]
    etag = client.get(f"{INC}/{newest['id']}", headers=street).headers["ETag"]
    r = client.post(
        f"{INC}/{newest['id']}/cancel",
        json={"reason": "重复上报（测试）"},
        headers={**street, "If-Match": etag},
    )
    assert r.status_code == 200, r.text
    assert _page(client, street)["numberMatched"] == 7
    assert _open_rows(db) == _open_in_incident(db)

    p.archive(db, month=p.parse_month("2019-04"), path=tmp_path / "apr.parquet")
    assert _page(client, street)["numberMatched"] == 5
    assert _open_rows(db) == _open_in_incident(db)
    p.restore(db, path=tmp_path / "apr.parquet")
    assert _page(client, street)["numberMatched"] == 7
    assert _open_rows(db) == _open_in_incident(db)

    # Deleting an incident takes it off the open list.
    gone = _page(client, street)["features"][0]["properties"]["id"]
    db.execute(text("DELETE FROM incident WHERE id = :i"), {"i": gone})
    assert _page(client, street)["numberMatched"] == 6
    assert _open_rows(db) == _open_in_incident(db)


def _statements(db: Session, call: Any) -> list[tuple[str, Any]]:
    """The statements ``call`` sends on the test's connection, with their parameters."""
    seen: list[tuple[str, Any]] = []
    conn = db.connection()

    def keep(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: Any) -> None:
        seen.append((statement, params))

    event.listen(conn, "before_cursor_execute", keep)
    try:
        call()
    finally:
        event.remove(conn, "before_cursor_execute", keep)
    return seen


def _partitions_planned(db: Session, statement: str, params: Any) -> set[str]:
    """The partitions in the plan of ``statement``; the months must be left out when planning
    (a plan that prunes only when it starts shows "Subplans Removed" and planned them all)."""
    plan = db.connection().exec_driver_sql(f"EXPLAIN (COSTS OFF) {statement}", params).all()
    shown = "\n".join(r[0] for r in plan)
    assert "Subplans Removed" not in shown, shown
    return set(re.findall(r"\bon (incident_(?:p\d{6}|default))\b", shown))


def test_the_open_list_plans_only_the_months_on_its_page(
    client: TestClient, db: Session, street: dict[str, str]
) -> None:
    _history(client, street)
    months = len(p.months(db))
    assert months >= 6
    sent = _statements(db, lambda: _page(client, street, limit=2))
    planned = [
        _partitions_planned(db, s, params)
        for s, params in sent
        if re.search(r"\bFROM incident\b", s) and "incident_open" not in s
    ]
    assert planned, "the list reads its rows from incident"
    # The page is the two reported now: one month planned, not every month.
    assert all(len(parts) == 1 for parts in planned), planned


def test_the_duplicate_check_reads_the_open_table_and_no_month(
    client: TestClient, db: Session, street: dict[str, str]
) -> None:
    _history(client, street)
    sent = _statements(db, lambda: client.post(INC, json=WEST, headers=street))
    checks = [(s, params) for s, params in sent if "ST_DWithin" in s]
    assert len(checks) == 1
    statement, params = checks[0]
    plan = "\n".join(
        r[0] for r in db.connection().exec_driver_sql(f"EXPLAIN (COSTS OFF) {statement}", params)
    )
    assert "incident_open" in plan and not re.search(r"\bincident_(p\d{6}|default)\b", plan), plan
    # The same answer as the months give: the two reported now (open, near, in the last hours);
    # the open ones of 2019 at the very same point are too old to be the same incident.
    answer = client.post(INC, json=WEST, headers=street)
    assert answer.status_code == 201, answer.text
    third = answer.json()
    dup_ids = sorted(d["id"] for d in third["duplicates"])
    from_months = db.execute(
        text(
            "SELECT id FROM incident WHERE category = :c AND id <> :id AND merged_into IS NULL "
            "AND status NOT IN ('closed', 'evaluated', 'cancelled') "
            "AND reported_at > now() - interval '24 hours' "
            "AND ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography, "
            "50) ORDER BY id"
        ),
        {"c": WEST["category"], "id": third["properties"]["id"], "x": WEST["x"], "y": WEST["y"]},
    ).scalars()
    assert dup_ids == list(from_months) and len(dup_ids) == 3


def test_the_board_counts_in_the_open_table_and_reads_only_its_pages_months(
    client: TestClient, db: Session, street: dict[str, str]
) -> None:
    _history(client, street)
    assert len(p.months(db)) >= 6
    asked = {"queue": "to_accept", "limit": 2}
    sent = _statements(db, lambda: client.get("/api/v1/board", params=asked, headers=street))
    answer = client.get("/api/v1/board", params=asked, headers=street).json()
    # The whole table's answer: every reported incident of the street, due soonest, then oldest.
    every = list(
        db.execute(
            text(
                "SELECT id FROM incident WHERE status = 'reported' AND street_code = :s "
                "ORDER BY due_at NULLS LAST, reported_at, id"
            ),
            {"s": STREET},
        ).scalars()
    )
    assert answer["counts"]["to_accept"] == len(every) == 8
    assert [r["id"] for r in answer["rows"]] == every[:2]
    # Only the page's rows are read from the months (the change number excepted: one probe of
    # each month's index end), and only the page's month is planned.
    reading = [
        (s, params)
        for s, params in sent
        if re.search(r"\bFROM incident\b", s) and "change_seq)" not in s
    ]
    assert len(reading) == 1, [s for s, _ in reading]
    assert _partitions_planned(db, *reading[0]) == {"incident_p201903"}


def test_deleting_an_incident_finds_those_merged_into_it_by_index(
    client: TestClient, db: Session, street: dict[str, str]
) -> None:
    ids = [client.post(INC, json=WEST, headers=street).json()["properties"]["id"] for _ in "ab"]
    db.execute(
        text("UPDATE incident SET merged_into = :a WHERE id = :b"), {"a": ids[0], "b": ids[1]}
    )
    # The foreign key's check, as PostgreSQL runs it on each partition.
    table = db.execute(
        text("SELECT tableoid::regclass::text FROM incident WHERE id = :b"), {"b": ids[1]}
    ).scalar_one()
    db.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        r[0]
        for r in db.execute(
            text(f"EXPLAIN (COSTS OFF) SELECT 1 FROM ONLY {table} WHERE merged_into = :a"),
            {"a": ids[0]},
        )
    )
    db.execute(text("SET LOCAL enable_seqscan = on"))
    assert "merged_into_idx" in plan, plan
    db.execute(text("DELETE FROM incident WHERE id = :a"), {"a": ids[0]})
    assert (
        db.execute(text("SELECT merged_into FROM incident WHERE id = :b"), {"b": ids[1]}).scalar()
        is None
    )
