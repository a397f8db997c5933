"""Every read of care tags or visit notes by a token is in the audit log (who, when, which
household); masked reads and households with nothing personal are not."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.orm import Session
from tests.utils.care import place, reads, tag, tokens, visit
from tests.utils.fixtures import STREET, WEST_GRID

API = "/api/v1"


@contextmanager
def audit_inserts(db: Session) -> Iterator[list[str]]:
    """The INSERT statements into audit_log sent meanwhile."""
    sent: list[str] = []
    conn = db.connection()

    def seen(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
            sent.append(statement)

    event.listen(conn, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(conn, "before_cursor_execute", seen)


def setup(db: Session) -> tuple[Any, dict[str, dict[str, str]]]:
    p = place(db)
    tag(db, p.west[0], "elderly_alone", since=date(2026, 1, 1))
    tag(db, p.west[1], "hardship", since=date(2026, 1, 1))
    yesterday = datetime.now().astimezone() - timedelta(days=1)
    visit(db, p.west[0], yesterday, note="身体还好")
    visit(db, p.west[2], yesterday, note=None)  # a visit without a note: nothing personal
    db.flush()
    return p, tokens(db, p)


# For each read: the route and, for a caller who sees the west grid's personal data, the
# households whose reading is logged with the field.
def routes(p: Any) -> list[tuple[str, dict[str, str], list[int], str]]:
    return [
        (f"{API}/households", {"grid": WEST_GRID}, [p.west[0], p.west[1]], "care_tags"),
        (f"{API}/households/{p.west[0]}", {}, [p.west[0]], "care_tags"),
        (f"{API}/households/{p.west[2]}", {}, [], "care_tags"),
        (f"{API}/visits", {"grid": WEST_GRID}, [p.west[0]], "visit_notes"),
        (
            f"{API}/visits/overdue",
            {"grid": WEST_GRID, "at": "2026-12-31T00:00:00+08:00"},
            [p.west[0], p.west[1]],
            "care_tags",
        ),
        (f"{API}/households/{p.west[0]}/care-tags", {}, [p.west[0]], "care_tags"),
    ]


@pytest.mark.parametrize(
    ("caller", "sees"),
    [
        ("worker", True),
        ("both", True),
        ("community", True),
        ("street", True),
        ("district", True),
        ("admin", True),
        ("viewer", False),
        ("worker_other", False),
        ("department", False),
        ("other_street", False),
    ],
)
def test_each_read_is_logged_per_role(
    client: TestClient, db: Session, caller: str, sees: bool
) -> None:
    p, who = setup(db)
    for path, params, households, field in routes(p):
        before = len(reads(db))
        r = client.get(path, params=params, headers=who[caller])
        assert r.status_code in (200, 403), (path, r.text)
        new = reads(db)[before:]
        if sees:
            assert r.status_code == 200, (path, r.text)
            assert sorted(int(k) for _, k, _ in new) == sorted(households), path
            assert all(f == [field] for _, _, f in new), path
        else:
            assert new == [], (path, caller)
    if sees:
        row = db.execute(
            text("SELECT actor, after, at FROM audit_log WHERE action = 'read' ORDER BY id LIMIT 1")
        ).one()
        assert row.after["route"] == "GET /api/v1/households" and row.at is not None
        assert "token" in row.actor


def test_anonymous_reads_write_nothing(client: TestClient, db: Session) -> None:
    p, _ = setup(db)
    for path, params, _, _ in routes(p):
        client.get(path, params=params)
    assert db.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 0


def test_a_list_of_many_households_is_logged_in_one_statement(
    client: TestClient, db: Session
) -> None:
    p, who = setup(db)
    db.execute(
        text(
            "WITH h AS (INSERT INTO household (building_id, unit, room) "
            "SELECT :b, '9', g::text FROM generate_series(1, 500) g RETURNING id) "
            "INSERT INTO care_tag (household_id, tag) SELECT id, 'empty_nest' FROM h"
        ),
        {"b": p.west_building},
    )
    db.flush()
    with audit_inserts(db) as sent:
        r = client.get(
            f"{API}/households", params={"region": STREET, "limit": 1000}, headers=who["street"]
        )
    assert r.status_code == 200 and r.json()["numberReturned"] == 505
    assert len(sent) == 1 and "SELECT" in sent[0].upper()
    assert len(reads(db)) == 502  # the 500, and the two tagged of setup
