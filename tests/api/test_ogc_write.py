"""OGC API – Features Part 4 for grids: create, replace, patch and delete through /ogc with
ETags, under the grid API's rules, with every refusal in OGC form and writing nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    BORDER_LON,
    COMMUNITY,
    EAST_GRID,
    STREET,
    WEST_GRID,
    add_region,
    bearer,
    community_with_west_grid,
    feature,
    rect,
    square,
)

ITEMS = "/ogc/collections/grids/items"
EAST = rect(BORDER_LON, 40.0, 116.35, 40.01)
OTHER_COMMUNITY = "110108010002"


@pytest.fixture
def auth(db: Session) -> dict[str, str]:
    community_with_west_grid(db)
    return bearer(db)


def counts(db: Session) -> tuple[int, int, int]:
    """Grid rows, current grids, audit rows: what a refused write must not move."""
    row = db.execute(
        text(
            "SELECT (SELECT count(*) FROM grid), (SELECT count(*) FROM grid WHERE valid_to IS "
            "NULL), (SELECT count(*) FROM audit_log)"
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def east(**props: object) -> dict[str, object]:
    return feature(EAST, name="东网格", community_code=COMMUNITY, **props)


def test_create_replace_patch_delete_with_etags(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    r = client.post(ITEMS, json=east(), headers=auth)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{ITEMS}/{EAST_GRID}"
    assert r.headers["etag"] == f'"{EAST_GRID}.v1"'
    assert r.json()["properties"]["code"] == EAST_GRID
    row = db.execute(
        text("SELECT version, name, ST_Area(geom::geography) AS a FROM grid WHERE code = :c"),
        {"c": EAST_GRID},
    ).one()
    assert row.version == 1 and row.name == "东网格" and 400_000 < row.a < 500_000

    narrower = feature(rect(BORDER_LON, 40.0, 116.349, 40.01), name="东网格（新）", kind="basic")
    r = client.put(
        f"{ITEMS}/{EAST_GRID}", json=narrower, headers={**auth, "If-Match": r.headers["etag"]}
    )
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == f'"{EAST_GRID}.v2"'
    r = client.patch(
        f"{ITEMS}/{EAST_GRID}",
        json={"type": "Feature", "properties": {"name": "东区"}},
        headers={**auth, "If-Match": r.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["name"] == "东区" and r.headers["etag"] == f'"{EAST_GRID}.v3"'
    current = db.execute(
        text(
            "SELECT version, name, ST_XMax(geom) AS east FROM grid WHERE code = :c AND valid_to IS NULL"
        ),
        {"c": EAST_GRID},
    ).one()
    assert (current.version, current.name) == (3, "东区")
    assert current.east == pytest.approx(116.349)  # the patch kept the replaced geometry

    # The same ETag the grid API gives.
    assert client.get(f"/api/v1/grids/{EAST_GRID}").headers["etag"] == r.headers["etag"]
    # Every version over all time, each a feature of its own (code.vN) in version order; one
    # version read back by that id.
    every = client.get(f"{ITEMS}?datetime=../..&limit=1000").json()["features"]
    ids = [f["id"] for f in every if f["properties"]["code"] == EAST_GRID]
    assert ids == [f"{EAST_GRID}.v{n}" for n in (1, 2, 3)]
    assert len({f["id"] for f in every}) == len(every)
    first = client.get(f"{ITEMS}/{EAST_GRID}.v1")
    assert first.status_code == 200 and first.json()["properties"]["version"] == 1
    assert first.json()["id"] == f"{EAST_GRID}.v1" and first.headers["etag"] == f'"{EAST_GRID}.v1"'
    assert client.get(f"{ITEMS}/{EAST_GRID}.v9").status_code == 404
    r = client.delete(f"{ITEMS}/{EAST_GRID}", headers={**auth, "If-Match": r.headers["etag"]})
    assert r.status_code == 204, r.text
    assert (
        db.scalar(
            text("SELECT count(*) FROM grid WHERE code = :c AND valid_to IS NULL"), {"c": EAST_GRID}
        )
        == 0
    )
    actions = db.scalars(
        text("SELECT action FROM audit_log WHERE entity_key = :c ORDER BY id"), {"c": EAST_GRID}
    ).all()
    assert len(actions) == 4 and actions[0] == "create", actions


def test_refusals_answer_in_ogc_form_and_write_nothing(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    before = counts(db)
    tag = f'"{WEST_GRID}.v1"'
    west_again = feature(rect(116.34, 40.0, BORDER_LON, 40.01), name="西网格")

    def refused(status: int, code: str | None, response) -> None:  # type: ignore[no-untyped-def]
        assert response.status_code == status, response.text
        body = response.json()
        assert set(body) >= {"code", "description"} and body["description"], body
        if code is not None:
            assert body["code"] == code, body
        assert counts(db) == before

    # No token; a stale ETag; no If-Match; an overlapping grid.
    refused(401, "unauthorized", client.post(ITEMS, json=east()))
    refused(401, "unauthorized", client.delete(f"{ITEMS}/{WEST_GRID}", headers={"If-Match": tag}))
    stale = {**auth, "If-Match": f'"{WEST_GRID}.v7"'}
    refused(412, "stale_etag", client.put(f"{ITEMS}/{WEST_GRID}", json=west_again, headers=stale))
    refused(412, "stale_etag", client.delete(f"{ITEMS}/{WEST_GRID}", headers=stale))
    refused(
        428,
        "if_match_required",
        client.patch(f"{ITEMS}/{WEST_GRID}", json=west_again, headers=auth),
    )
    overlap = feature(rect(116.344, 40.0, 116.35, 40.01), name="压线", community_code=COMMUNITY)
    refused(409, None, client.post(ITEMS, json=overlap, headers=auth))

    # Another community's office.
    add_region(
        db, OTHER_COMMUNITY, "community", "别的社区", STREET, square(116.35, 40.0, 116.36, 40.01)
    )
    db.flush()
    before = counts(db)
    other = bearer(db, "community", OTHER_COMMUNITY, "别的社区办")
    refused(403, None, client.post(ITEMS, json=east(), headers=other))
    refused(
        403,
        None,
        client.put(f"{ITEMS}/{WEST_GRID}", json=west_again, headers={**other, "If-Match": tag}),
    )
    refused(403, None, client.delete(f"{ITEMS}/{WEST_GRID}", headers={**other, "If-Match": tag}))

    # Malformed and hostile bodies.
    for body in (
        b"not json",
        b"[]",
        b'{"type": "FeatureCollection", "features": []}',
        b'{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[NaN, 40], [116.35, 40], [116.35, 40.01], [NaN, 40]]]}, "properties": {"community_code": "110108010001"}}',
        b'{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[116.34, 40.0], [116.35, 40.01], [116.35, 40.0], [116.34, 40.01], [116.34, 40.0]]]}, "properties": {"community_code": "110108010001"}}',
        b'{"type": "Feature", "geometry": null, "properties": {"name": "x\'; DROP TABLE grid; --", "kind": 5}}',
        b"{" + b'"a": "' + b"x" * 2_100_000 + b'"}',
    ):
        r = client.post(
            ITEMS, content=body, headers={**auth, "Content-Type": "application/geo+json"}
        )
        assert r.status_code in (400, 413, 422), (body[:80], r.text[:200])
        assert "description" in r.json() or r.status_code == 413, r.text[:200]
        assert counts(db) == before
    refused(
        400,
        None,
        client.put(
            f"{ITEMS}/'; DROP TABLE grid; --", json=west_again, headers={**auth, "If-Match": tag}
        ),
    )
    refused(404, None, client.delete(f"{ITEMS}/110108010001099", headers={**auth, "If-Match": tag}))
