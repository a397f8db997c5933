"""The lookup index saved per database: a grid edit reaches a running server's lookups by a
patch (no rebuild), and a saved index that is behind the database is never used as current."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    COMMUNITY,
    WEST_GRID,
    add_grid,
    bearer,
    community_with_west_grid,
    feature,
    rect,
    square,
)

from gridmap.dependencies import get_session
from gridmap.geo.pip import read_header
from gridmap.live import Snapshot, current_seq
from gridmap.main import create_app
from gridmap.settings import Settings

EAST_GRID = COMMUNITY + "002"
# Between the west grid's east edge (116.345) and the east grid's west edge (116.347).
GAP_LON = 116.346


@pytest.fixture
def grids(db: Session) -> None:
    community_with_west_grid(db)
    add_grid(db, EAST_GRID, square(116.347, 40.0, 116.35, 40.01), name="东网格")
    db.flush()


@pytest.fixture
def client(settings: Settings, db: Session, tmp_path: Path, grids: None) -> Iterator[TestClient]:
    s = settings.model_copy(deep=True)
    s.api.index_dir = tmp_path / "index"
    app = create_app(s)

    def one_session() -> Iterator[Session]:
        yield db

    app.dependency_overrides[get_session] = one_session
    with TestClient(app) as c:
        assert app.state.live.listening
        yield c


def lookup(client: TestClient, lon: float, lat: float = 40.005) -> object:
    return client.get("/api/v1/lookup", params={"lon": lon, "lat": lat})


def test_a_grid_edit_reaches_the_lookup_by_a_patch(
    client: TestClient, db: Session, tmp_path: Path
) -> None:
    live = client.app.state.live  # type: ignore[attr-defined]
    r = lookup(client, GAP_LON)
    assert r.status_code == 404
    assert r.json()["nearest_grid"]["code"] == WEST_GRID
    assert lookup(client, 116.348).json()["grid"]["code"] == EAST_GRID
    assert live.stats == {"built": 1, "opened": 0, "patched": 0}
    saved = list((tmp_path / "index").iterdir())
    assert [p.name for p in saved if not p.name.startswith(".")] == ["gridmap_test"]

    auth = bearer(db)
    etag = client.get(f"/api/v1/grids/{WEST_GRID}").headers["etag"]
    r = client.put(
        f"/api/v1/grids/{WEST_GRID}",
        json=feature(rect(116.34, 40.0, 116.347, 40.01), name="西网格（扩）"),
        headers={**auth, "If-Match": etag},
    )
    assert r.status_code == 200, r.text
    body = lookup(client, GAP_LON).json()
    assert body["grid"]["code"] == WEST_GRID
    assert body["grid"]["name"] == "西网格（扩）" and body["grid"]["version"] == 2
    # On the new shared border the lower code wins; beyond it the east grid is unchanged.
    assert lookup(client, 116.347).json()["grid"]["code"] == WEST_GRID
    assert lookup(client, 116.3471).json()["grid"]["code"] == EAST_GRID
    assert live.stats == {"built": 1, "opened": 0, "patched": 1}
    # What PostGIS says agrees.
    row = db.execute(
        text(
            "SELECT code FROM grid WHERE valid_to IS NULL AND "
            "ST_Intersects(geom, ST_SetSRID(ST_Point(:x, 40.005), 4326)) ORDER BY code LIMIT 1"
        ),
        {"x": GAP_LON},
    ).scalar_one()
    assert row == WEST_GRID


def test_a_removed_grid_stops_answering(client: TestClient, db: Session) -> None:
    live = client.app.state.live  # type: ignore[attr-defined]
    assert lookup(client, 116.348).json()["grid"]["code"] == EAST_GRID
    db.execute(
        text("UPDATE grid SET valid_to = clock_timestamp() WHERE code = :c AND valid_to IS NULL"),
        {"c": EAST_GRID},
    )
    db.flush()
    live.patch([EAST_GRID])
    r = lookup(client, 116.348)
    assert r.status_code == 404 and r.json()["nearest_grid"]["code"] == WEST_GRID
    assert live.stats["built"] == 1 and live.stats["patched"] == 1


def _move_west_grid(db: Session, east: float) -> None:
    db.execute(
        text(
            "UPDATE grid SET geom = ST_GeomFromEWKT(:g), version = version + 1 "
            "WHERE code = :c AND valid_to IS NULL"
        ),
        {"g": square(116.34, 40.0, east, 40.01), "c": WEST_GRID},
    )
    db.flush()


def test_a_saved_index_behind_the_database_is_patched_not_trusted(
    db: Session, grids: None, tmp_path: Path
) -> None:
    where = tmp_path / "idx"
    first = Snapshot.load(db, index_dir=where)
    assert first.how == "built"
    assert read_header(where)["meta"]["seq"] == current_seq(db)
    again = Snapshot.load(db, index_dir=where)
    assert again.how == "opened"
    assert isinstance(again.index.labels, np.memmap)
    assert again.grids[again.locate_one(116.342, 40.005)].code == WEST_GRID

    _move_west_grid(db, 116.347)  # the saved index is now one change behind
    behind = Snapshot.load(db, index_dir=where)
    assert behind.how == "patched"
    assert behind.grids[behind.locate_one(GAP_LON, 40.005)].code == WEST_GRID
    assert behind.grids[behind.locate_one(GAP_LON, 40.005)].version == 2


def test_a_saved_index_claiming_a_seq_it_does_not_hold_is_rebuilt(
    db: Session, grids: None, tmp_path: Path
) -> None:
    where = tmp_path / "idx"
    old = Snapshot.load(db, index_dir=where)
    _move_west_grid(db, 116.347)
    # An index of the old grids, saved as if current: its grid-set hash gives it away.
    meta = read_header(where)["meta"]
    old.index.save(where, arrays=old.grids.arrays(), **{**meta, "seq": current_seq(db)})
    snap = Snapshot.load(db, index_dir=where)
    assert snap.how == "built"
    assert snap.grids[snap.locate_one(GAP_LON, 40.005)].code == WEST_GRID


def test_a_saved_index_older_than_the_kept_log_is_rebuilt(
    db: Session, grids: None, tmp_path: Path
) -> None:
    where = tmp_path / "idx"
    Snapshot.load(db, index_dir=where)
    _move_west_grid(db, 116.347)
    db.execute(text("DELETE FROM grid_change"))  # trimmed past the saved index's seq
    _move_west_grid(db, 116.3465)
    snap = Snapshot.load(db, index_dir=where)
    assert snap.how == "built"
    assert snap.grids[snap.locate_one(GAP_LON, 40.005)].version == 3


def test_a_saved_index_of_another_database_is_not_opened(
    db: Session, grids: None, tmp_path: Path
) -> None:
    where = tmp_path / "idx"
    snap = Snapshot.load(db, index_dir=where)
    meta = read_header(where)["meta"]
    snap.index.save(where, arrays=snap.grids.arrays(), **{**meta, "db": "elsewhere"})
    assert Snapshot.load(db, index_dir=where).how == "built"
