"""Writing grids: every rejection writes nothing; versions, ETags, history, ?at=, audit, scope."""

from __future__ import annotations

import json
import time

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
    add_grid,
    add_region,
    add_staff,
    bearer,
    community_with_west_grid,
    feature,
    polygon,
    rect,
    square,
)

GRIDS = "/api/v1/grids"
EAST = rect(BORDER_LON, 40.0, 116.35, 40.01)


@pytest.fixture
def west(db: Session) -> None:
    community_with_west_grid(db)


@pytest.fixture
def auth(db: Session, west: None) -> dict[str, str]:
    return bearer(db)


def counts(db: Session) -> tuple[int, int, int]:
    """Rows in grid, grid versions current, audit entries: what a rejected write must not move."""
    row = db.execute(
        text(
            "SELECT (SELECT count(*) FROM grid), (SELECT count(*) FROM grid WHERE valid_to IS "
            "NULL), (SELECT count(*) FROM audit_log)"
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def east(**props: object) -> dict[str, object]:
    return feature(EAST, name="东网格", community_code=COMMUNITY, **props)


def test_create_gets_next_code_etag_location_and_audit(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    listed = client.get(GRIDS).headers["etag"]
    assert listed.startswith('W/"') and client.get(GRIDS).headers["etag"] == listed
    r = client.post(GRIDS, json=east(), headers=auth)
    assert r.status_code == 201, r.text
    assert client.get(GRIDS).headers["etag"] != listed
    props = r.json()["properties"]
    assert props["code"] == EAST_GRID and props["version"] == 1 and props["note"] == "created"
    assert props["changed_by"].startswith("测试社区办 (token")
    assert r.headers["etag"] == f'"{EAST_GRID}.v1"'
    assert r.headers["location"] == f"{GRIDS}/{EAST_GRID}"
    entry = db.execute(text("SELECT actor, action, entity_key, before, after FROM audit_log")).one()
    assert entry.action == "create" and entry.entity_key == EAST_GRID and entry.before is None
    assert entry.after["properties"]["name"] == "东网格"
    assert entry.after["geometry"]["type"] == "MultiPolygon"
    # The lookup sees the new grid at once (its pieces are written by the trigger).
    assert (
        client.get("/api/v1/lookup", params={"lon": 116.348, "lat": 40.005}).json()["grid"]["code"]
        == EAST_GRID
    )


def test_codes_of_retired_grids_are_not_reused(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    etag = client.post(GRIDS, json=east(), headers=auth).headers["etag"]
    assert (
        client.delete(f"{GRIDS}/{EAST_GRID}", headers={**auth, "If-Match": etag}).status_code == 200
    )
    r = client.post(GRIDS, json=east(), headers=auth)
    assert r.json()["properties"]["code"] == COMMUNITY + "003"
    r = client.post(GRIDS, json=east(code=EAST_GRID), headers=auth)
    assert r.status_code == 409 and "retired" in r.json()["detail"]


def test_code_width_two(settings: object, db: Session, west: None) -> None:
    from fastapi.testclient import TestClient as TC

    from gridmap.dependencies import get_session
    from gridmap.main import create_app
    from gridmap.settings import Settings

    s = Settings.model_validate(
        {
            "db": settings.db,
            "api": settings.api.model_copy(  # type: ignore[attr-defined]
                update={"grid_code_width": 2}
            ),
        }
    )
    app = create_app(s)

    def one_session() -> object:
        yield db

    app.dependency_overrides[get_session] = one_session
    with TC(app) as c:
        r = c.post(GRIDS, json=east(), headers=bearer(db))
        assert r.status_code == 201, r.text
        assert r.json()["properties"]["code"] == COMMUNITY + "01"


BOWTIE = polygon((116.346, 40.001), (116.349, 40.004), (116.349, 40.001), (116.346, 40.004))


@pytest.mark.parametrize(
    ("geometry", "status", "code", "says"),
    [
        (BOWTIE, 422, "invalid_geometry", "Self-intersection at (116.3475, 40.0025)"),
        (
            {
                "type": "Polygon",
                "coordinates": [
                    [[116.346, 40.001], [116.349, 40.001], [116.349, 40.004], [116.346, 40.004]]
                ],
            },
            422,
            "invalid_geometry",
            "not closed",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[116.346, 40.001], [116.349, 40.001], [116.346, 40.001]]],
            },
            422,
            "invalid_geometry",
            "at least 4",
        ),
        (
            {"type": "Point", "coordinates": [116.346, 40.001]},
            422,
            "invalid_geometry",
            "Polygon or MultiPolygon",
        ),
        (
            {"type": "Polygon", "coordinates": [[[116.346, "40"], [116.349, 40.001]]]},
            422,
            "invalid_geometry",
            "expected [x, y] numbers",
        ),
        ({"type": "Polygon", "coordinates": "nope"}, 422, "invalid_geometry", "list of rings"),
        (rect(40.001, 116.346, 40.004, 116.349), 422, "outside_china", "swapped"),
        (rect(196.346, 40.001, 196.349, 40.004), 422, "invalid_input", "lon must be in"),
        (rect(-0.004, 51.47, 0.001, 51.48), 422, "outside_china", "outside China"),
    ],
)
def test_bad_geometry_is_rejected_and_writes_nothing(
    client: TestClient,
    db: Session,
    auth: dict[str, str],
    geometry: object,
    status: int,
    code: str,
    says: str,
) -> None:
    before = counts(db)
    r = client.post(
        GRIDS, json=feature(geometry, name="坏", community_code=COMMUNITY), headers=auth
    )
    assert r.status_code == status, r.text
    assert r.json()["code"] == code and says in r.json()["detail"], r.json()
    assert counts(db) == before


def test_self_intersection_says_where(client: TestClient, auth: dict[str, str]) -> None:
    body = client.post(
        GRIDS, json=feature(BOWTIE, name="坏", community_code=COMMUNITY), headers=auth
    ).json()
    assert body["where"] == pytest.approx([116.3475, 40.0025])


def test_nan_and_huge_inputs(client: TestClient, db: Session, auth: dict[str, str]) -> None:
    before = counts(db)
    raw = json.dumps(east()).replace("116.35,", "NaN,", 1)
    r = client.post(GRIDS, content=raw, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 422 and "finite" in r.json()["detail"]
    ring = [[116.346 + i * 1e-7, 40.001] for i in range(120_000)] + [
        [116.346, 40.004],
        [116.346, 40.001],
    ]
    r = client.post(
        GRIDS,
        json=feature(
            {"type": "Polygon", "coordinates": [ring]}, name="大", community_code=COMMUNITY
        ),
        headers=auth,
    )
    assert r.status_code == 422 and "vertices" in r.json()["detail"]
    r = client.post(
        GRIDS,
        content=b"{" + b" " * (11 * 1024 * 1024) + b"}",
        headers={**auth, "Content-Type": "application/json"},
    )
    assert r.status_code == 413

    def streamed() -> object:  # no Content-Length: the limit is counted as the body arrives
        yield b'{"type": "Feature", "properties": {"name": "'
        for _ in range(12):
            yield b"x" * (1024 * 1024)
        yield b'"}}'

    r = client.post(GRIDS, content=streamed(), headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "too_large"
    for body in (b"not json", b"[]", b'{"type": "FeatureCollection"}'):
        r = client.post(GRIDS, content=body, headers={**auth, "Content-Type": "application/json"})
        assert r.status_code == 422, body
    assert counts(db) == before


@pytest.mark.parametrize(
    ("props", "says"),
    [
        ({"community_code": "110108010999"}, "unknown community"),
        ({"community_code": STREET + "000"}, "unknown community"),
        ({"community_code": COMMUNITY, "code": "110108010002005"}, "does not belong"),
        ({"community_code": COMMUNITY, "code": COMMUNITY + "05"}, "15 digits"),
        ({"community_code": COMMUNITY, "kind": "exclusive"}, "needs a subtype"),
        ({"community_code": COMMUNITY, "subtype": "school"}, "basic grid has no subtype"),
        ({"community_code": COMMUNITY, "kind": "other"}, "kind"),
        ({"community_code": COMMUNITY, "name": "a\x00b"}, "name"),
        ({"community_code": COMMUNITY, "households": -1}, "households"),
        ({}, "community_code"),
    ],
)
def test_bad_properties_are_rejected(
    client: TestClient, db: Session, auth: dict[str, str], props: dict[str, object], says: str
) -> None:
    before = counts(db)
    r = client.post(
        GRIDS,
        json=feature(EAST, **{"name": "东网格", **props}),
        headers={
            **auth,
            **(bearer(db, "admin", None) if "999" in str(props) or "000" in str(props) else {}),
        },
    )
    assert r.status_code == 422, r.text
    assert says in r.text
    assert counts(db)[:2] == before[:2]


def test_outside_community_beyond_one_metre(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    before = counts(db)
    # 0.0001° of latitude is 11 m: the grid spills 11 m north over a 427 m wide edge.
    r = client.post(
        GRIDS,
        json=feature(rect(BORDER_LON, 40.0, 116.35, 40.0101), name="东", community_code=COMMUNITY),
        headers=auth,
    )
    assert r.status_code == 422 and r.json()["code"] == "outside_community"
    assert r.json()["outside_area_m2"] == pytest.approx(426.6 * 11.12, rel=0.02)
    assert r.json()["outside"]["type"] in ("Polygon", "MultiPolygon")
    assert counts(db) == before
    # Half a metre over the edge is drawing noise, not a spill.
    r = client.post(
        GRIDS,
        json=feature(
            rect(BORDER_LON, 40.0, 116.35, 40.010004), name="东", community_code=COMMUNITY
        ),
        headers=auth,
    )
    assert r.status_code == 201, r.text


def test_overlap_names_each_sibling(client: TestClient, db: Session, auth: dict[str, str]) -> None:
    add_grid(db, COMMUNITY + "002", square(116.348, 40.0, 116.35, 40.005), name="东南")
    db.flush()
    before = counts(db)
    r = client.post(
        GRIDS,
        json=feature(rect(116.344, 40.0, 116.35, 40.01), name="东", community_code=COMMUNITY),
        headers=auth,
    )
    assert r.status_code == 409 and r.json()["code"] == "grid_overlap"
    clashes = {c["code"]: c for c in r.json()["overlaps"]}
    assert set(clashes) == {WEST_GRID, COMMUNITY + "002"}
    assert clashes[WEST_GRID]["name"] == "西网格"
    assert clashes[WEST_GRID]["area_m2"] == pytest.approx(85.3 * 1111.9, rel=0.01)
    assert clashes[COMMUNITY + "002"]["area_m2"] == pytest.approx(170.6 * 556, rel=0.01)
    assert clashes[WEST_GRID]["geometry"]["type"] == "Polygon"
    assert counts(db) == before


def test_fix_gives_way_to_neighbours_and_closes_hairline_gaps(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    # Drawn 85 m into the west grid, 11 m over the north edge and 0.3 m short of the east edge.
    r = client.post(
        GRIDS,
        params={"fix": "true"},
        json=feature(rect(116.344, 40.0, 116.349996, 40.0101), name="东", community_code=COMMUNITY),
        headers=auth,
    )
    assert r.status_code == 201, r.text
    fixed = r.json()["fixed"]
    assert fixed["removed_overlap_m2"][WEST_GRID] == pytest.approx(85.3 * 1111.9, rel=0.01)
    assert fixed["clipped_outside_community_m2"] == pytest.approx(512 * 11.12, rel=0.02)
    assert fixed["area_after_m2"] == pytest.approx(426.6 * 1111.9, rel=0.005)
    xs = [p[0] for p in r.json()["geometry"]["coordinates"][0][0]]
    assert min(xs) == pytest.approx(BORDER_LON, abs=1e-7)
    assert max(xs) == pytest.approx(116.35, abs=1e-7)
    report = client.get(f"/api/v1/regions/{COMMUNITY}/coverage").json()
    assert report["exact"] and report["covered_share"] > 0.99999, report


def test_put_needs_if_match_and_refuses_stale(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    etag = client.get(f"{GRIDS}/{WEST_GRID}").headers["etag"]
    body = feature(rect(116.34, 40.0, BORDER_LON, 40.01), name="西网格（改）")
    r = client.put(f"{GRIDS}/{WEST_GRID}", json=body, headers=auth)
    assert r.status_code == 428 and r.json()["code"] == "if_match_required"
    # Two editors read version 1; the first saves, the second is told to reload.
    first = client.patch(
        f"{GRIDS}/{WEST_GRID}",
        json={"type": "Feature", "properties": {"name": "西一"}},
        headers={**auth, "If-Match": etag},
    )
    assert first.status_code == 200 and first.headers["etag"] == f'"{WEST_GRID}.v2"'
    before = counts(db)
    second = client.patch(
        f"{GRIDS}/{WEST_GRID}",
        json={"type": "Feature", "properties": {"name": "西二"}},
        headers={**auth, "If-Match": etag},
    )
    assert second.status_code == 412 and second.json()["code"] == "stale_etag"
    assert second.headers["etag"] == f'"{WEST_GRID}.v2"'
    assert counts(db) == before
    assert client.get(f"{GRIDS}/{WEST_GRID}").json()["properties"]["name"] == "西一"
    r = client.get(f"{GRIDS}/{WEST_GRID}", headers={"If-None-Match": f'"{WEST_GRID}.v2"'})
    assert r.status_code == 304


def test_versions_history_and_at(client: TestClient, db: Session, auth: dict[str, str]) -> None:
    t0 = db.execute(text("SELECT clock_timestamp()")).scalar_one()
    time.sleep(0.01)
    etag = client.get(f"{GRIDS}/{WEST_GRID}").headers["etag"]
    r = client.put(
        f"{GRIDS}/{WEST_GRID}",
        json=feature(rect(116.34, 40.0, 116.343, 40.01), name="西网格"),
        headers={**auth, "If-Match": etag},
    )
    assert r.status_code == 200 and r.json()["properties"]["version"] == 2
    time.sleep(0.01)
    t1 = db.execute(text("SELECT clock_timestamp()")).scalar_one()
    etag = r.headers["etag"]
    r = client.delete(f"{GRIDS}/{WEST_GRID}", headers={**auth, "If-Match": etag})
    assert r.status_code == 200 and r.json()["version"] == 2

    gone = client.get(f"{GRIDS}/{WEST_GRID}")
    assert gone.status_code == 404 and "did not exist" in gone.json()["detail"]
    history = client.get(f"{GRIDS}/{WEST_GRID}/history").json()
    versions = [f["properties"] for f in history["features"]]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[1]["changed_by"].startswith("测试社区办") and versions[1]["note"] == "edited"
    assert versions[0]["valid_to"] == versions[1]["valid_from"]
    assert versions[1]["valid_to"] is not None
    assert versions[0]["area_m2"] > versions[1]["area_m2"]

    old = client.get(f"{GRIDS}/{WEST_GRID}", params={"at": t0.isoformat()})
    assert old.status_code == 200 and old.json()["properties"]["version"] == 1
    assert old.headers["etag"] == f'"{WEST_GRID}.v1"'
    mid = client.get(GRIDS, params={"community": COMMUNITY, "at": t1.isoformat()}).json()
    assert [f["properties"]["version"] for f in mid["features"]] == [2]
    assert client.get(GRIDS, params={"community": COMMUNITY}).json()["numberMatched"] == 0
    # Retiring keeps every row: nothing was erased.
    assert (
        db.execute(text("SELECT count(*) FROM grid WHERE code = :c"), {"c": WEST_GRID}).scalar_one()
        == 2
    )
    actions = (
        db.execute(
            text("SELECT action FROM audit_log WHERE entity_key = :c ORDER BY id"), {"c": WEST_GRID}
        )
        .scalars()
        .all()
    )
    assert actions == ["update", "retire"]


def test_at_is_validated(client: TestClient, west: None) -> None:
    r = client.get(GRIDS, params={"at": "yesterday"})
    assert r.status_code == 422 and "ISO 8601" in r.json()["detail"]
    # A time without an offset is read in Asia/Shanghai: 2000-01-01 is before any grid.
    r = client.get(f"{GRIDS}/{WEST_GRID}", params={"at": "2000-01-01T08:00"})
    assert r.status_code == 404


def test_unchanged_put_makes_no_version(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    r = client.get(f"{GRIDS}/{WEST_GRID}")
    # Same shape, ring started at another corner: still the same grid.
    same = polygon((BORDER_LON, 40.0), (BORDER_LON, 40.01), (116.34, 40.01), (116.34, 40.0))
    r = client.put(
        f"{GRIDS}/{WEST_GRID}",
        json=feature(same, name="西网格"),
        headers={**auth, "If-Match": r.headers["etag"]},
    )
    assert r.status_code == 200 and r.json()["changed"] is False
    assert r.json()["properties"]["version"] == 1
    assert counts(db)[2] == 0


def test_patch_geometry_is_checked_against_siblings(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    add_grid(db, EAST_GRID, square(BORDER_LON, 40.0, 116.35, 40.01), name="东网格")
    db.flush()
    etag = client.get(f"{GRIDS}/{WEST_GRID}").headers["etag"]
    r = client.patch(
        f"{GRIDS}/{WEST_GRID}",
        json={"type": "Feature", "geometry": rect(116.34, 40.0, 116.346, 40.01)},
        headers={**auth, "If-Match": etag},
    )
    assert r.status_code == 409 and r.json()["overlaps"][0]["code"] == EAST_GRID
    r = client.patch(
        f"{GRIDS}/{WEST_GRID}",
        json={"type": "Feature", "properties": {"code": EAST_GRID}},
        headers={**auth, "If-Match": etag},
    )
    assert r.status_code == 422 and "renumber" in r.json()["detail"]
    r = client.patch(
        f"{GRIDS}/{WEST_GRID}",
        json={"type": "Feature", "properties": {"community_code": "110108010002"}},
        headers={**auth, "If-Match": etag},
    )
    assert r.status_code == 422 and "another community" in r.json()["detail"]


def test_writes_in_gcj02(client: TestClient, auth: dict[str, str]) -> None:
    from gridmap.geo.chinacrs import wgs84_to_gcj02

    corners = [(BORDER_LON, 40.0), (116.35, 40.0), (116.35, 40.01), (BORDER_LON, 40.01)]
    gcj = [tuple(float(v) for v in wgs84_to_gcj02(x, y)) for x, y in corners]
    r = client.post(
        GRIDS,
        params={"crs": "GCJ-02"},
        json=feature(polygon(*gcj), name="东", community_code=COMMUNITY),
        headers=auth,
    )
    assert r.status_code == 201, r.text
    # The answer is in the caller's CRS; stored in WGS84.
    assert r.json()["geometry"]["coordinates"][0][0][0] == pytest.approx(list(gcj[0]), abs=1e-6)
    wgs = client.get(f"{GRIDS}/{EAST_GRID}").json()["geometry"]["coordinates"][0][0]
    assert {tuple(round(v, 6) for v in p) for p in wgs} == {
        tuple(round(v, 6) for v in c) for c in corners
    }


def test_token_scope(client: TestClient, db: Session, west: None) -> None:
    before = counts(db)
    r = client.post(GRIDS, json=east())
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = client.post(GRIDS, json=east(), headers={"Authorization": "Bearer gm_not-a-token"})
    assert r.status_code == 401 and "unknown" in r.json()["detail"]
    r = client.post(GRIDS, json=east(), headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
    other = bearer(db, "community", "110108010002", "别的社区")
    r = client.post(GRIDS, json=east(), headers=other)
    assert r.status_code == 403 and "outside" in r.json()["detail"]
    for role, region in (("worker", WEST_GRID), ("viewer", STREET)):
        r = client.post(GRIDS, json=east(), headers=bearer(db, role, region, role))
        assert r.status_code == 403 and "may not edit" in r.json()["detail"]
    etag = client.get(f"{GRIDS}/{WEST_GRID}").headers["etag"]
    r = client.delete(f"{GRIDS}/{WEST_GRID}", headers={**other, "If-Match": etag})
    assert r.status_code == 403
    assert client.delete(f"{GRIDS}/{WEST_GRID}", headers={"If-Match": etag}).status_code == 401
    assert counts(db) == before
    # A street office may edit every community of its street; a revoked token no longer works.
    street = bearer(db, "street", STREET, "学院路街道办")
    assert client.post(GRIDS, json=east(), headers=street).status_code == 201
    from gridmap.auth import revoke_token

    token_id = db.execute(text("SELECT max(id) FROM api_token")).scalar_one()
    revoke_token(db, token_id)
    r = client.post(GRIDS, json=east(), headers=street)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_renumber_west_to_east_north_to_south(client: TestClient, db: Session, west: None) -> None:
    db.execute(text("DELETE FROM grid"))
    # Four quadrants, coded against reading order: NW=004, NE=001, SW=003, SE=002.
    quads = {
        "004": (116.34, 40.005, 116.345, 40.01),
        "001": (116.345, 40.005, 116.35, 40.01),
        "003": (116.34, 40.0, 116.345, 40.005),
        "002": (116.345, 40.0, 116.35, 40.005),
    }
    for seq, box in quads.items():
        add_grid(db, COMMUNITY + seq, square(*box), name=f"格{seq}")
    add_staff(db, COMMUNITY + "004", "leader", "赵一")
    db.flush()
    auth = bearer(db)
    r = client.post(
        f"/api/v1/regions/{COMMUNITY}/renumber", params={"dry_run": "true"}, headers=auth
    )
    # Codes rise in reading order, and no code ever used goes to another grid: NW keeps 004,
    # the others take numbers never used (005 …).
    expected = [
        {"old": COMMUNITY + "004", "new": COMMUNITY + "004"},
        {"old": COMMUNITY + "001", "new": COMMUNITY + "005"},
        {"old": COMMUNITY + "003", "new": COMMUNITY + "006"},
        {"old": COMMUNITY + "002", "new": COMMUNITY + "007"},
    ]
    assert r.status_code == 200
    assert r.json()["renumbered"] == [e for e in expected if e["old"] != e["new"]]
    assert r.json()["unchanged"] == [COMMUNITY + "004"]
    assert client.get(f"{GRIDS}/{COMMUNITY}001").json()["properties"]["name"] == "格001"

    r = client.post(f"/api/v1/regions/{COMMUNITY}/renumber", headers=auth)
    assert r.status_code == 200 and not r.json()["dry_run"]
    names = {
        f["properties"]["code"][-3:]: (f["properties"]["name"], f["properties"]["note"])
        for f in client.get(GRIDS, params={"community": COMMUNITY}).json()["features"]
    }
    assert names == {
        "004": ("格004", None),
        "005": ("格001", f"renumbered from {COMMUNITY}001"),
        "006": ("格003", f"renumbered from {COMMUNITY}003"),
        "007": ("格002", f"renumbered from {COMMUNITY}002"),
    }
    assert (
        db.execute(
            text(
                "SELECT s.grid_code FROM grid_staff s JOIN person p ON p.id = s.person_id "
                "WHERE p.name = '赵一'"
            )
        ).scalar_one()
        == COMMUNITY + "004"
    )
    # Renumbering again changes nothing.
    again = client.post(f"/api/v1/regions/{COMMUNITY}/renumber", headers=auth).json()
    assert again["renumbered"] == []
    assert client.post(f"/api/v1/regions/{COMMUNITY}/renumber").status_code == 401


def test_coverage_report(client: TestClient, db: Session, west: None) -> None:
    # A building in the ungridded east half, with three households.
    db.execute(
        text(
            "INSERT INTO building (code, address, households, geom) VALUES ('B0001', '测试路1号', 3, "
            "ST_GeomFromEWKT('SRID=4326;POLYGON((116.347 40.003,116.3472 40.003,116.3472 40.0032,"
            "116.347 40.0032,116.347 40.003))'))"
        )
    )
    db.flush()
    r = client.get(f"/api/v1/regions/{COMMUNITY}/coverage")
    assert r.status_code == 200
    rep = r.json()
    assert not rep["exact"] and rep["grids"] == 1
    assert rep["covered_share"] == pytest.approx(0.5, abs=0.001)
    gaps = rep["gaps"]["features"]
    assert len(gaps) == 1 and gaps[0]["properties"]["area_m2"] == pytest.approx(474_000, rel=0.01)
    assert [b["code"] for b in rep["buildings_in_gaps"]] == ["B0001"]
    assert rep["households_in_gaps"] == 3
    # An overlapping second grid shows as an overlap and an invalid shared edge.
    add_grid(db, EAST_GRID, square(116.344, 40.0, 116.35, 40.01))
    db.flush()
    rep = client.get(f"/api/v1/regions/{COMMUNITY}/coverage").json()
    assert rep["gaps"]["features"] == [] and rep["buildings_in_gaps"] == []
    [overlap] = rep["overlaps"]["features"]
    assert overlap["properties"]["grids"] == [WEST_GRID, EAST_GRID]
    assert overlap["properties"]["area_m2"] == pytest.approx(94_740, rel=0.01)
    assert {e["properties"]["grid"] for e in rep["invalid_edges"]["features"]} == {
        WEST_GRID,
        EAST_GRID,
    }
    assert client.get("/api/v1/regions/110108010/coverage").status_code == 422
    assert client.get("/api/v1/regions/110108010999/coverage").status_code == 404


def test_coverage_of_a_street_community_without_boundary(client: TestClient, db: Session) -> None:
    add_region(db, "110108", "district", "海淀区", None, None)
    add_region(db, STREET, "street", "学院路街道", "110108", None)
    add_region(db, COMMUNITY, "community", "无边界社区", STREET, None)
    db.flush()
    r = client.get(f"/api/v1/regions/{COMMUNITY}/coverage")
    assert r.status_code == 422 and "no boundary" in r.json()["detail"]


def test_openapi_documents_the_writes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    grid = paths["/api/v1/grids/{code}"]
    assert {"get", "put", "patch", "delete"} <= set(grid)
    assert {"401", "403", "412", "428"} <= set(grid["put"]["responses"])
    assert "post" in paths["/api/v1/grids"] and "post" in paths["/api/v1/import/grids"]
    assert "/api/v1/regions/{code}/coverage" in paths and "/api/v1/export/{layer}" in paths


def test_single_writes_node_their_neighbours(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    """A grid added with a vertex on its neighbour's edge: the neighbour gains that vertex (a
    new version), its other coordinates stay as they were, and the coverage has no bad edge."""
    west_before = db.execute(
        text("SELECT ST_AsText(geom) FROM grid WHERE code = :c"), {"c": WEST_GRID}
    ).scalar_one()
    shape = polygon(
        (BORDER_LON, 40.0),
        (116.35, 40.0),
        (116.35, 40.01),
        (BORDER_LON, 40.01),
        (BORDER_LON + 1e-10, 40.004),
    )
    r = client.post(GRIDS, json={**east(), "geometry": shape}, headers=auth)
    assert r.status_code == 201, r.text
    assert r.json()["noded"] == [{"code": WEST_GRID, "vertices": 1}]
    west = db.execute(
        text("SELECT ST_AsText(geom), note FROM grid WHERE code = :c AND valid_to IS NULL"),
        {"c": WEST_GRID},
    ).one()
    assert west.note == f"vertex added where {EAST_GRID} meets it"
    assert west[0] != west_before and "116.3450000001 40.004" in west[0]
    report = client.get(f"/api/v1/regions/{COMMUNITY}/coverage").json()
    assert report["valid_coverage"] is True and report["exact"] is True
