"""Incident imports across months: a file spanning a month that has its partition and months
that have none lands each row in its month with one key per incident (also when the keys'
unique index is built again after the COPY), the open ones in incident_open (its indexes too
built again after a large file), and a failure in the last month leaves no month
attached, no table made and no key behind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from tests.utils.fixtures import STREET, bearer, two_grids

from gridmap.auth import operator
from gridmap.queries import incident_import as qi
from gridmap.services import incident_import as ii

IMPORT = "/api/v1/incidents/import"
CAT = "市容环境/暴露垃圾"


def _csv(rows: list[tuple[str, str]]) -> bytes:
    return (
        "lon,lat,category,reported_at,idempotency_key\n"
        + "".join(f"116.342,40.005,{CAT},{when},{key}\n" for when, key in rows)
    ).encode()


def _post(client: TestClient, headers: dict[str, str], rows: list[tuple[str, str]]) -> Any:
    r = client.post(
        IMPORT,
        params={"commit": "true"},
        headers=headers,
        files={"file": ("old.csv", _csv(rows), "text/csv")},
    )
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(params=[False, True], ids=["keys-indexed", "keys-rebuilt"])
def rebuild(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Both ways of writing the keys: into the unique index, or the index built again after."""
    if request.param:
        monkeypatch.setattr(qi, "REBUILD_ROWS", 1)
    return bool(request.param)


def test_a_file_over_a_stored_month_and_new_months_lands_each_row_in_its_month(
    client: TestClient, db: Session, rebuild: bool
) -> None:
    two_grids(db)
    street = bearer(db, "street", STREET, "学院路街道指挥中心")
    db.execute(text("SELECT gridmap_incident_month('2019-02-01')"))
    before = _post(client, street, [("2019-02-10T10:00:00+08:00", "feb-0")])
    assert before["inserted"] == 1
    rows = [
        ("2019-02-11T10:00:00+08:00", "feb-1"),
        ("2019-03-01T00:30:00+08:00", "mar-1"),
        ("2019-04-30T23:59:00+08:00", "apr-1"),
        ("2019-04-01T08:00:00+08:00", "apr-2"),
        # No key: the row is written, its id taken after the keyed rows'.
        ("2019-03-05T08:00:00+08:00", ""),
    ]
    report = _post(client, street, rows)
    assert report["inserted"] == 5
    found = db.execute(
        text(
            "SELECT coalesce(i.idempotency_key, ''), i.tableoid::regclass::text, k.id, "
            "k.reported_at = i.reported_at FROM incident i JOIN incident_key k USING (id) "
            "WHERE i.reported_at < '2019-05-01' AND i.reported_at >= '2019-01-31'"
        )
    ).all()
    where = {key: table for key, table, _, _ in found}
    assert where == {
        "feb-0": "incident_p201902",
        "feb-1": "incident_p201902",
        "mar-1": "incident_p201903",
        "": "incident_p201903",
        "apr-1": "incident_p201904",
        "apr-2": "incident_p201904",
    }
    assert all(same for *_, same in found)
    # Ids follow the keys' order, the row without a key last.
    ids = {key: i for key, _, i, _ in found if key != "feb-0"}
    assert sorted(ids, key=ids.__getitem__) == ["apr-1", "apr-2", "feb-1", "mar-1", ""]
    # The new months are attached partitions with the parent's indexes; the keys' unique
    # constraint is there (built again or kept).
    indexes = set(
        db.execute(
            text("SELECT indexname FROM pg_indexes WHERE tablename = 'incident_p201904'")
        ).scalars()
    )
    assert {"incident_p201904_pkey", "incident_p201904_geom_gist"} <= indexes
    assert (
        db.execute(
            text(
                "SELECT count(*) FROM pg_constraint WHERE conname = 'incident_idempotency_key_key' "
                "AND conrelid = 'incident_key'::regclass AND contype = 'u'"
            )
        ).scalar_one()
        == 1
    )
    # The open incidents are in incident_open, each as incident has it (added as its month was
    # attached, or by the trigger in the stored month), with every index of incident_open
    # there (built again after the COPY when the file brings as many open incidents as it held).
    mirrored = (
        "SELECT id, reported_at, status, category, severity, grid_code, community_code, "
        "street_code, owner_code, due_at, pool_until, ST_AsText(geom) FROM {} "
        "WHERE status NOT IN ('closed', 'evaluated', 'cancelled') ORDER BY id"
    )
    held = db.execute(text(mirrored.format("incident_open"))).all()
    assert held == db.execute(text(mirrored.format("incident"))).all() and len(held) == 6
    assert set(
        db.execute(
            text("SELECT indexname FROM pg_indexes WHERE tablename = 'incident_open'")
        ).scalars()
    ) == {
        "incident_open_pkey",
        "incident_open_grid_idx",
        "incident_open_community_idx",
        "incident_open_geom_gist",
        "incident_open_owner_idx",
        "incident_open_street_idx",
    }
    # The same file again adds nothing: one key, one incident.
    again = _post(client, street, rows)
    assert again["inserted"] == 1  # the row without a key is a new report each time
    assert again["skipped_existing"] == 4
    assert (
        db.execute(
            text("SELECT count(*) FROM incident_key WHERE idempotency_key LIKE '___-_'")
        ).scalar_one()
        == 5
    )


@pytest.fixture
def leftover(engine: Engine) -> Iterator[None]:
    """Committed: a stored month (2018-02, one incident) and a table named like April 2018's
    partition that is not one, so the import fails at its last month."""
    with engine.begin() as conn:
        conn.execute(text("SELECT gridmap_incident_month('2018-02-01')"))
        conn.execute(
            text(
                "INSERT INTO incident (idempotency_key, category, reported_at, geom) VALUES "
                "('left-feb', :c, '2018-02-10 10:00+08', ST_SetSRID(ST_MakePoint(116.342, "
                "40.005), 4326))"
            ),
            {"c": CAT},
        )
        conn.execute(text("CREATE TABLE incident_p201804 (note text)"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE incident_p201804"))
            conn.execute(text("DELETE FROM incident WHERE idempotency_key = 'left-feb'"))
            conn.execute(text("DROP TABLE incident_p201802"))


@pytest.mark.usefixtures("leftover")
def test_a_failure_in_the_last_month_leaves_no_month_table_or_key_behind(
    engine: Engine,
    rebuild: bool,
    settings: Any,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # This database holds no grids (the other tests' are rolled back): every row goes to one
    # community, as a row outside every grid would.
    monkeypatch.setattr(
        ii,
        "_places",
        lambda _s, lon, _lat: (np.full(len(lon), ""), np.full(len(lon), "110108010001")),
    )
    path = tmp_path / "old.csv"
    path.write_bytes(
        _csv(
            [
                ("2018-02-11T10:00:00+08:00", "fail-feb"),
                ("2018-03-11T10:00:00+08:00", "fail-mar"),
                ("2018-04-11T10:00:00+08:00", "fail-apr"),
            ]
        )
    )
    with pytest.raises(Exception, match="incident_p201804"), Session(engine) as session:
        with session.begin():
            ii.import_incidents(
                session,
                ii.read_table(path),
                crs="EPSG:4326",
                principal=operator("test"),
                commit=True,
                source=path.name,
                timezone=settings.api.timezone,
            )
    with engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('incident_p201803')")).scalar() is None
        parts = set(
            conn.execute(
                text(
                    "SELECT inhrelid::regclass::text FROM pg_inherits "
                    "WHERE inhparent = 'incident'::regclass"
                )
            ).scalars()
        )
        assert "incident_p201802" in parts and "incident_p201804" not in parts
        # The leftover table is as it was; the stored month holds its one incident.
        assert conn.execute(text("SELECT count(*) FROM incident_p201804")).scalar_one() == 0
        stored = pd.read_sql(text("SELECT idempotency_key FROM incident_p201802"), conn)
        assert list(stored["idempotency_key"]) == ["left-feb"]
        assert (
            conn.execute(
                text("SELECT count(*) FROM incident_key WHERE idempotency_key LIKE 'fail-%'")
            ).scalar_one()
            == 0
        )
        assert (
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_constraint WHERE conname = "
                    "'incident_idempotency_key_key' AND contype = 'u'"
                )
            ).scalar_one()
            == 1
        )
