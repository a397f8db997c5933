"""Incidents by month: rows land in their month's partition (made when missing, the default one
left empty), a month archived to GeoParquet and restored loses nothing, one idempotency key
stays one incident after its month is archived, and hostile archive/restore input is refused
with nothing changed."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import STREET, bearer, two_grids

import geopandas as gpd

from gridmap.errors import MonthExists, MonthNotFound, NotAnArchive
from gridmap.services import partitions as p

INC = "/api/v1/incidents"
POINT = {"x": 116.342, "y": 40.005, "category": "市容环境/暴露垃圾"}


@pytest.fixture
def street(db: Session) -> dict[str, str]:
    two_grids(db)
    return bearer(db, "street", STREET, "学院路街道指挥中心")


def _import(client: TestClient, headers: dict[str, str], rows: list[tuple[str, str]]) -> Any:
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
    return r.json()


def _where(db: Session, incident_id: int) -> str:
    return str(
        db.execute(
            text("SELECT tableoid::regclass::text FROM incident WHERE id = :i"), {"i": incident_id}
        ).scalar_one()
    )


def _tables(db: Session) -> list[str]:
    return [m.table or f"archived {m.month:%Y-%m}" for m in p.months(db)]


def _rows(db: Session, table: str) -> list[dict[str, Any]]:
    return [
        dict(r._mapping)
        for r in db.execute(
            text(
                f"SELECT *, ST_AsEWKB(geom) AS ewkb, assignees::text AS a, photos::text AS ph "
                f"FROM {table} ORDER BY id"
            )
        )
    ]


def test_rows_land_in_their_month_and_a_missing_month_is_made(
    client: TestClient, db: Session, street: dict[str, str]
) -> None:
    now = client.post(INC, json=POINT, headers=street)
    assert now.status_code == 201
    this = p.this_month()
    assert _where(db, now.json()["properties"]["id"]) == p.partition_name(this)
    assert db.execute(text("SELECT to_regclass('incident_p201903')")).scalar() is None
    # May 2026 00:30 in Beijing is still April in UTC: the month is China's.
    _import(
        client,
        street,
        [("2026-05-01T00:30:00+08:00", "may-1"), ("2019-03-15T10:00:00+08:00", "old-1")],
    )
    ids = dict(
        db.execute(
            text(
                "SELECT idempotency_key, id FROM incident WHERE idempotency_key IN ('may-1', 'old-1')"
            )
        ).all()
    )
    assert _where(db, ids["may-1"]) == "incident_p202605"
    assert _where(db, ids["old-1"]) == "incident_p201903"
    # The imported month was attached as a partition with the parent's indexes.
    db.execute(text("SET LOCAL timezone = 'Asia/Shanghai'"))
    bound = db.execute(
        text(
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'incident_p201903'"
        )
    ).scalar_one()
    assert "2019-03-01 00:00:00+08" in bound and "2019-04-01 00:00:00+08" in bound
    indexes = set(
        db.execute(
            text("SELECT indexname FROM pg_indexes WHERE tablename = 'incident_p201903'")
        ).scalars()
    )
    assert {"incident_p201903_geom_gist", "incident_p201903_grid_idx"} <= indexes
    assert db.execute(text("SELECT count(*) FROM incident_default")).scalar_one() == 0
    # Every incident has its key.
    assert (
        db.execute(
            text(
                "SELECT count(*) FROM incident i LEFT JOIN incident_key k USING (id) WHERE k.id IS NULL"
            )
        ).scalar_one()
        == 0
    )


def test_a_month_archived_and_restored_loses_nothing(
    client: TestClient, db: Session, street: dict[str, str], tmp_path: Path
) -> None:
    _import(client, street, [(f"2019-03-{d:02d}T10:00:00+08:00", f"mar-{d}") for d in range(1, 6)])
    table = "incident_p201903"
    before = _rows(db, table)
    assert len(before) == 5
    first = before[0]["id"]
    db.execute(
        text(
            "INSERT INTO incident_event (incident_id, seq, action, to_status, actor, at) "
            "VALUES (:i, 99, 'note', 'reported', 'test', now())"
        ),
        {"i": first},
    )
    assert client.get(f"{INC}/{first}", headers=street).status_code == 200
    path = tmp_path / "2019-03.parquet"

    done = p.archive(db, month=date(2019, 3, 1), path=path)
    assert done.rows == 5 and path.exists()
    assert db.execute(text(f"SELECT to_regclass('{table}')")).scalar() is None
    assert "archived 2019-03" in _tables(db)
    # The keys and events stay; the incident itself is gone from the API until restored.
    assert (
        db.execute(
            text("SELECT count(*) FROM incident_key WHERE idempotency_key LIKE 'mar-%'")
        ).scalar_one()
        == 5
    )
    assert (
        db.execute(
            text("SELECT count(*) FROM incident_event WHERE incident_id = :i AND seq = 99"),
            {"i": first},
        ).scalar_one()
        == 1
    )
    assert client.get(f"{INC}/{first}", headers=street).status_code == 404
    # A GeoParquet file GIS tools read: every column, points in EPSG:4326.
    frame = gpd.read_parquet(path)
    assert frame.crs.to_epsg() == 4326 and len(frame) == 5
    assert list(frame.columns) == [c for c in before[0] if c not in ("ewkb", "a", "ph")]
    assert frame.geometry.x.round(6).tolist() == [116.342] * 5

    back = p.restore(db, path=path)
    assert back.table == table and back.rows == 5
    assert _rows(db, table) == before
    assert "archived 2019-03" not in _tables(db)
    assert client.get(f"{INC}/{first}", headers=street).status_code == 200
    events = client.get(f"{INC}/{first}/events", headers=street)
    if events.status_code == 200:
        assert any(e.get("action") == "note" for e in events.json()["events"])
    assert db.execute(text("SELECT count(*) FROM incident_default")).scalar_one() == 0


def test_one_key_stays_one_incident_after_its_month_is_archived(
    client: TestClient, db: Session, street: dict[str, str], tmp_path: Path
) -> None:
    headers = {**street, "Idempotency-Key": "kept-7d1e"}
    first = client.post(INC, json=POINT, headers=headers)
    assert first.status_code == 201
    ident = first.json()["properties"]["id"]
    this = p.this_month()
    p.archive(db, month=this, path=tmp_path / "now.parquet")
    again = client.post(INC, json=POINT, headers=headers)
    assert again.status_code == 409
    assert again.json()["code"] == "incident_archived"
    assert again.json()["incident_id"] == ident
    assert (
        db.execute(
            text("SELECT count(*) FROM incident WHERE idempotency_key = 'kept-7d1e'")
        ).scalar_one()
        == 0
    )
    assert db.execute(
        text("SELECT id FROM incident_key WHERE idempotency_key = 'kept-7d1e'")
    ).scalars().all() == [ident]
    p.restore(db, path=tmp_path / "now.parquet")
    third = client.post(INC, json=POINT, headers=headers)
    assert third.status_code == 200 and third.json()["properties"]["id"] == ident
    assert (
        db.execute(
            text("SELECT count(*) FROM incident WHERE idempotency_key = 'kept-7d1e'")
        ).scalar_one()
        == 1
    )


def test_hostile_archive_and_restore_input_is_refused_and_changes_nothing(
    client: TestClient, db: Session, street: dict[str, str], tmp_path: Path
) -> None:
    _import(client, street, [("2019-03-02T10:00:00+08:00", "h-1")])
    listed = _tables(db)
    with pytest.raises(MonthNotFound):
        p.archive(db, month=date(1999, 1, 1), path=tmp_path / "x.parquet")
    for bad in ("2019-13", "'; DROP TABLE incident; --", "nan", "2019-03-01x" * 1000):
        with pytest.raises(Exception) as caught:
            p.parse_month(bad)
        assert caught.value.__class__.__name__ == "InvalidInput"
        assert len(str(caught.value)) < 200
    not_parquet = tmp_path / "notes.parquet"
    not_parquet.write_text("lon,lat\n1,2\n")
    with pytest.raises(NotAnArchive, match="not a Parquet file"):
        p.restore(db, path=not_parquet)
    other = tmp_path / "other.parquet"
    gpd.GeoDataFrame({"a": [1]}, geometry=gpd.points_from_xy([116.3], [40.0]), crs=4326).to_parquet(
        other
    )
    with pytest.raises(NotAnArchive, match="not a month of incidents"):
        p.restore(db, path=other)
    # A real archive of March, then its month made again: the file's month exists.
    march = tmp_path / "march.parquet"
    p.archive(db, month=date(2019, 3, 1), path=march)
    db.execute(text("SELECT gridmap_incident_month('2019-03-01')"))
    with pytest.raises(MonthExists):
        p.restore(db, path=march)
    db.execute(text("ALTER TABLE incident DETACH PARTITION incident_p201903"))
    db.execute(text("DROP TABLE incident_p201903"))
    # The same rows claiming to be April: rows outside its month.
    frame = pq.read_table(march)
    meta = dict(frame.schema.metadata)
    own = json.loads(meta[b"gridmap"])
    own["month"] = "2019-04"
    meta[b"gridmap"] = json.dumps(own).encode()
    april = tmp_path / "april.parquet"
    pq.write_table(frame.replace_schema_metadata(meta), april)
    with pytest.raises(NotAnArchive, match="outside that month"):
        p.restore(db, path=april)
    # Ids that name other incidents here: not this database's archive.
    ids = pa.array([v + 10_000_000 for v in frame["id"].to_pylist()], pa.int64())
    clash = frame.set_column(frame.column_names.index("id"), "id", ids)
    clashing = tmp_path / "clash.parquet"
    pq.write_table(clash.replace_schema_metadata(dict(frame.schema.metadata)), clashing)
    with pytest.raises(NotAnArchive, match="clash"):
        p.restore(db, path=clashing)
    assert db.execute(text("SELECT to_regclass('incident_p201903')")).scalar() is None
    assert db.execute(text("SELECT to_regclass('incident_p201904')")).scalar() is None
    # Restored from the real file, the listing is what it was.
    p.restore(db, path=march)
    assert _tables(db) == listed
