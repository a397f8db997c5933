"""``If-Match: *`` (any version) guards nothing, so every grid write answers it as a missing
``If-Match``: 428 in words, nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    BORDER_LON,
    COMMUNITY,
    EAST_GRID,
    WEST_GRID,
    bearer,
    feature,
    rect,
    two_grids,
)

GRIDS = "/api/v1/grids"
EAST = rect(BORDER_LON, 40.0, 116.35, 40.01)
LINE = {"type": "LineString", "coordinates": [[116.3445, 40.003], [116.3505, 40.003]]}


def state(db: Session) -> tuple[Any, ...]:
    return tuple(
        db.execute(
            text(
                "SELECT (SELECT count(*) FROM grid), (SELECT max(version) FROM grid), "
                "(SELECT count(*) FROM grid WHERE valid_to IS NULL), (SELECT count(*) FROM audit_log)"
            )
        ).one()
    )


WRITES: dict[str, tuple[str, str, Any]] = {
    "put": ("PUT", f"{GRIDS}/{EAST_GRID}", feature(EAST, name="东", community_code=COMMUNITY)),
    "patch": ("PATCH", f"{GRIDS}/{EAST_GRID}", {"type": "Feature", "properties": {"name": "东"}}),
    "delete": ("DELETE", f"{GRIDS}/{EAST_GRID}", None),
    "merge": ("POST", f"{GRIDS}/{WEST_GRID}/merge", {"with": EAST_GRID}),
    "split": ("POST", f"{GRIDS}/{EAST_GRID}/split", {"line": LINE}),
}


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize("sent", ["*", " * ", f'"{EAST_GRID}.v9", *'])
def test_any_version_is_answered_as_no_if_match(
    client: TestClient, db: Session, write: str, sent: str
) -> None:
    two_grids(db)
    auth = bearer(db)
    method, url, body = WRITES[write]
    headers = dict(auth)
    if write == "merge":
        body = {**body, "if_match": {WEST_GRID: sent, EAST_GRID: sent}}
    elif write == "split":
        body = {**body, "if_match": sent}
    else:
        headers["If-Match"] = sent
    before = state(db)
    r = client.request(method, url, json=body, headers=headers)
    assert r.status_code == 428, r.text
    assert r.json()["code"] == "if_match_required"
    assert "*" in r.json()["detail"] and "ETag" in r.json()["detail"]
    assert state(db) == before
