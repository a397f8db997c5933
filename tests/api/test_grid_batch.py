"""The batch write: many grids in one transaction, all or nothing, checked against the final state."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    BORDER_LON,
    COMMUNITY,
    DISTRICT,
    EAST_GRID,
    WEST_GRID,
    add_grid,
    add_region,
    bearer,
    rect,
    square,
    two_grids,
)

import shapely

BATCH = "/api/v1/grids/batch"
GRIDS = "/api/v1/grids"
OTHER = "110108010002"


@pytest.fixture
def auth(db: Session) -> dict[str, str]:
    two_grids(db)
    return bearer(db)


def tables(db: Session) -> tuple[str, str]:
    """Every row of grid and audit_log: what a refused batch must leave as it was."""
    row = db.execute(
        text(
            "SELECT (SELECT coalesce(string_agg(g::text, '|' ORDER BY id), '') FROM grid g), "
            "(SELECT coalesce(string_agg(a::text, '|' ORDER BY id), '') FROM audit_log a)"
        )
    ).one()
    return str(row[0]), str(row[1])


def etag(client: TestClient, code: str) -> str:
    return str(client.get(f"{GRIDS}/{code}").headers["etag"])


def coords(db: Session, code: str) -> list[tuple[float, float]]:
    """Every vertex of the current version of ``code`` as stored (doubles, not rounded)."""
    wkb = db.execute(
        text("SELECT ST_AsBinary(geom) FROM grid WHERE code = :c AND valid_to IS NULL"), {"c": code}
    ).scalar_one()
    return [tuple(c) for c in shapely.get_coordinates(shapely.from_wkb(bytes(wkb))).tolist()]


def versions(db: Session, code: str) -> list[tuple[int, bool, str | None]]:
    return [
        (r.version, r.current, r.note)
        for r in db.execute(
            text(
                "SELECT version, valid_to IS NULL AS current, note FROM grid WHERE code = :c "
                "ORDER BY version"
            ),
            {"c": code},
        )
    ]


def move_border(client: TestClient, lon: float) -> list[dict[str, Any]]:
    return [
        {
            "code": WEST_GRID,
            "if_match": etag(client, WEST_GRID),
            "geometry": rect(116.34, 40.0, lon, 40.01),
        },
        {
            "code": EAST_GRID,
            "if_match": etag(client, EAST_GRID),
            "geometry": rect(lon, 40.0, 116.35, 40.01),
        },
    ]


def test_shared_border_moves_in_one_change(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    r = client.post(
        BATCH, json={"note": "移动共用边界", "changes": move_border(client, 116.346)}, headers=auth
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["dry_run"] is False and body["retired"] == [] and body["noded"] == []
    assert [g["properties"]["code"] for g in body["grids"]] == [WEST_GRID, EAST_GRID]
    for g in body["grids"]:
        assert g["changed"] is True and g["fixed"] is None
        assert g["etag"] == f'"{g["properties"]["code"]}.v2"'
        assert g["properties"]["note"] == "移动共用边界"
    west = shapely.geometry.shape(body["grids"][0]["geometry"])
    assert west.bounds == (116.34, 40.0, 116.346, 40.01)
    cover = body["coverage"][COMMUNITY]
    assert cover["exact"] is True and cover["share"] == 1.0 and cover["gaps_m2"] == 0
    assert cover["overlaps_m2"] == 0 and cover["invalid_edges"] == 0
    assert cover["gaps"]["features"] == [] and cover["overlaps"]["type"] == "FeatureCollection"
    for code in (WEST_GRID, EAST_GRID):
        assert versions(db, code) == [(1, False, None), (2, True, "移动共用边界")]
    audit = db.execute(text("SELECT action, entity_key FROM audit_log ORDER BY id")).all()
    assert sorted(tuple(a) for a in audit) == [("update", WEST_GRID), ("update", EAST_GRID)]
    # The lookup follows at once.
    found = client.get("/api/v1/lookup", params={"lon": 116.3455, "lat": 40.005}).json()
    assert found["grid"]["code"] == WEST_GRID


def test_one_side_alone_overlaps_and_nothing_is_written(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    before = tables(db)
    changes = move_border(client, 116.346)[:1]
    r = client.post(BATCH, json={"changes": changes}, headers=auth)
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "grid_overlap" and body["grid"] == WEST_GRID and body["index"] == 0
    assert body["overlaps"][0]["code"] == EAST_GRID and body["overlaps"][0]["area_m2"] > 8000
    assert tables(db) == before


def test_outside_the_community_names_the_new_grid(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    before = tables(db)
    changes = [
        *move_border(client, 116.346),
        {
            "geometry": rect(116.35, 40.0, 116.352, 40.002),
            "properties": {"community_code": COMMUNITY, "name": "外面"},
        },
    ]
    r = client.post(BATCH, json={"changes": changes}, headers=auth)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "outside_community" and body["index"] == 2 and "grid" not in body
    assert body["outside_area_m2"] > 30000 and body["outside"]["type"] == "Polygon"
    assert tables(db) == before


def test_stale_and_missing_etags(client: TestClient, db: Session, auth: dict[str, str]) -> None:
    changes = move_border(client, 116.346)
    r = client.patch(
        f"{GRIDS}/{EAST_GRID}",
        json={"type": "Feature", "properties": {"name": "东网格（改）"}},
        headers={**auth, "If-Match": changes[1]["if_match"]},
    )
    assert r.status_code == 200
    before = tables(db)
    r = client.post(BATCH, json={"changes": changes}, headers=auth)
    assert r.status_code == 412, r.text
    body = r.json()
    assert body["code"] == "stale_etag" and body["grid"] == EAST_GRID
    assert body["etag"] == f'"{EAST_GRID}.v2"' and EAST_GRID in body["detail"]
    del changes[0]["if_match"]
    r = client.post(BATCH, json={"changes": changes}, headers=auth)
    assert r.status_code == 428 and r.json()["grid"] == WEST_GRID
    assert r.json()["code"] == "if_match_required"
    # Any version ("*") is not taken in a batch: each grid must be the version its editor read.
    changes[0]["if_match"] = "*"
    r = client.post(BATCH, json={"changes": changes}, headers=auth)
    assert r.status_code == 428 and r.json()["grid"] == WEST_GRID
    assert r.json()["code"] == "if_match_required" and "*" in r.json()["detail"]
    assert tables(db) == before


def test_retire_and_create_in_one_batch(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    changes = [
        {"code": EAST_GRID, "if_match": etag(client, EAST_GRID), "retire": True},
        {
            "geometry": rect(BORDER_LON, 40.0, 116.35, 40.005),
            "properties": {"community_code": COMMUNITY, "name": "东南"},
        },
        {
            "geometry": rect(BORDER_LON, 40.005, 116.35, 40.01),
            "properties": {
                "community_code": COMMUNITY,
                "name": "东北",
                "kind": "exclusive",
                "subtype": "school",
            },
        },
    ]
    r = client.post(BATCH, json={"note": "东网格一分为二", "changes": changes}, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["retired"] == [EAST_GRID]
    assert [(g["properties"]["code"], g["etag"]) for g in body["grids"][:2]] == [
        (COMMUNITY + "003", f'"{COMMUNITY}003.v1"'),
        (COMMUNITY + "004", f'"{COMMUNITY}004.v1"'),
    ]
    assert body["grids"][1]["properties"]["subtype"] == "school"
    # The west grid gains the vertex where the two new grids meet its edge (no T-junction).
    assert body["noded"] == [{"code": WEST_GRID, "vertices": 1}]
    west = body["grids"][2]
    assert west["properties"]["code"] == WEST_GRID and west["etag"] == f'"{WEST_GRID}.v2"'
    assert west["properties"]["note"] == (
        f"vertex added where {COMMUNITY}003 and {COMMUNITY}004 meet it"
    )
    assert [BORDER_LON, 40.005] in west["geometry"]["coordinates"][0][0]
    assert body["coverage"][COMMUNITY]["invalid_edges"] == 0
    assert body["coverage"][COMMUNITY]["exact"] is True
    actions = db.execute(text("SELECT action, entity_key FROM audit_log ORDER BY id")).all()
    assert sorted(tuple(a) for a in actions) == [
        ("create", COMMUNITY + "003"),
        ("create", COMMUNITY + "004"),
        ("retire", EAST_GRID),
        ("update", WEST_GRID),
    ]
    assert client.get(f"{GRIDS}/{EAST_GRID}").status_code == 404


def test_dry_run_answers_and_writes_nothing(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    before = tables(db)
    changes = move_border(client, 116.346)
    changes[1]["geometry"] = rect(116.3465, 40.0, 116.35, 40.01)
    r = client.post(BATCH, params={"dry_run": "true"}, json={"changes": changes}, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["dry_run"] is True
    assert [g["etag"] for g in body["grids"]] == [f'"{WEST_GRID}.v2"', f'"{EAST_GRID}.v2"']
    cover = body["coverage"][COMMUNITY]
    assert cover["exact"] is False and 40000 < cover["gaps_m2"] < 55000
    assert len(cover["gaps"]["features"]) == 1
    assert tables(db) == before
    assert etag(client, WEST_GRID) == f'"{WEST_GRID}.v1"'


def _tile_version(db: Session) -> int:
    return int(
        db.execute(
            text("SELECT version FROM tile_version WHERE name = 'tiles_grids_version'")
        ).scalar_one()
    )


def test_a_dry_run_leaves_the_tile_version_alone(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    before = _tile_version(db)
    changes = move_border(client, 116.346)
    r = client.post(BATCH, params={"dry_run": "true"}, json={"changes": changes}, headers=auth)
    assert r.status_code == 200 and r.json()["dry_run"] is True
    assert _tile_version(db) == before
    # The same batch for real moves it: browsers must read the grids' tiles anew.
    r = client.post(BATCH, json={"changes": changes}, headers=auth)
    assert r.status_code == 200 and r.json()["dry_run"] is False
    assert _tile_version(db) > before


def test_unchanged_grid_gets_no_version(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    before = tables(db)
    grid = client.get(f"{GRIDS}/{WEST_GRID}").json()
    changes = [
        {
            "code": WEST_GRID,
            "if_match": etag(client, WEST_GRID),
            "geometry": grid["geometry"],
            "properties": {"name": grid["properties"]["name"]},
        }
    ]
    r = client.post(BATCH, json={"changes": changes}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["grids"][0]["changed"] is False
    assert r.json()["grids"][0]["etag"] == f'"{WEST_GRID}.v1"'
    assert tables(db) == before
    # A rename alone is a new version, with the shape kept.
    changes[0]["properties"] = {"name": "西网格（新）"}
    del changes[0]["geometry"]
    r = client.post(BATCH, json={"changes": changes}, headers=auth)
    assert r.status_code == 200 and r.json()["grids"][0]["changed"] is True
    assert r.json()["grids"][0]["properties"]["name"] == "西网格（新）"
    assert versions(db, WEST_GRID)[-1][0] == 2


def test_full_precision_round_trip(client: TestClient, db: Session) -> None:
    """A grid stored with 17 significant digits reads back exactly, is sent back unchanged (no
    version), and moving one vertex leaves every other coordinate bit for bit as it was."""
    add_region(db, DISTRICT, "district", "海淀区", None, square(116.34, 40.0, 116.35, 40.01))
    add_region(
        db, "110108010", "street", "学院路街道", DISTRICT, square(116.34, 40.0, 116.35, 40.01)
    )
    add_region(
        db, COMMUNITY, "community", "测试社区", "110108010", square(116.34, 40.0, 116.35, 40.01)
    )
    fine = [
        (116.34, 40.0),
        (116.34512345678901, 40.0),
        (116.34523456789012, 40.004123456789012),
        (116.34512345678903, 40.01),
        (116.34, 40.01),
    ]
    ring = ",".join(f"{x!r} {y!r}" for x, y in [*fine, fine[0]])
    add_grid(db, WEST_GRID, f"SRID=4326;MULTIPOLYGON((({ring})))")
    rest = [(116.35, 40.0), (116.35, 40.01), *reversed(fine[1:4])]
    ring = ",".join(f"{x!r} {y!r}" for x, y in [*rest, rest[0]])
    add_grid(db, EAST_GRID, f"SRID=4326;MULTIPOLYGON((({ring})))")
    auth = bearer(db)
    stored = coords(db, WEST_GRID)
    assert (116.34523456789012, 40.004123456789012) in stored
    got = client.get(f"{GRIDS}/{WEST_GRID}")
    assert [tuple(c) for c in got.json()["geometry"]["coordinates"][0][0]] == stored
    listed = client.get(GRIDS, params={"community": COMMUNITY}).json()["features"]
    assert [tuple(c) for c in listed[0]["geometry"]["coordinates"][0][0]] == stored
    history = client.get(f"{GRIDS}/{WEST_GRID}/history").json()["features"]
    assert [tuple(c) for c in history[0]["geometry"]["coordinates"][0][0]] == stored
    before = tables(db)
    same = {"code": WEST_GRID, "if_match": got.headers["etag"], "geometry": got.json()["geometry"]}
    r = client.post(BATCH, json={"changes": [same]}, headers=auth)
    assert r.status_code == 200 and r.json()["grids"][0]["changed"] is False
    assert tables(db) == before
    # Move the west grid's south-west corner; every other coordinate stays as stored.
    moved = json.loads(json.dumps(got.json()["geometry"]))
    moved["coordinates"][0][0][0] = moved["coordinates"][0][0][-1] = [116.3401, 40.0]
    east_before = coords(db, EAST_GRID)
    r = client.post(BATCH, json={"changes": [{**same, "geometry": moved}]}, headers=auth)
    assert r.status_code == 200, r.text
    after = coords(db, WEST_GRID)
    assert after[1:-1] == stored[1:-1] and after[0] == (116.3401, 40.0)
    assert coords(db, EAST_GRID) == east_before
    answered = r.json()["grids"][0]["geometry"]["coordinates"][0][0]
    assert [tuple(c) for c in answered] == after


def test_token_must_edit_every_community(client: TestClient, db: Session) -> None:
    two_grids(db)
    add_region(db, OTHER, "community", "别的社区", "110108010", square(116.35, 40.0, 116.36, 40.01))
    auth = bearer(db)
    before = tables(db)
    changes = [
        *move_border(client, 116.346),
        {
            "geometry": rect(116.351, 40.0, 116.355, 40.005),
            "properties": {"community_code": OTHER, "name": "邻社区网格"},
        },
    ]
    r = client.post(BATCH, json={"changes": changes}, headers=auth)
    assert r.status_code == 403, r.text
    assert OTHER in r.json()["detail"]
    assert tables(db) == before
    assert client.post(BATCH, json={"changes": changes}).status_code == 401


@pytest.mark.parametrize(
    ("mutate", "says"),
    [
        (lambda b: b.update(changes=b["changes"] * 101), "200"),
        (lambda b: b["changes"].append(dict(b["changes"][0])), "twice"),
        (lambda b: b["changes"][0].update(retire="yes"), "bool"),
        (lambda b: b["changes"][0].update(fix=1), "bool"),
        (lambda b: b["changes"][0].update(code="12ab"), "pattern"),
        (lambda b: b["changes"][0].update(retried=True), "xtra"),
        (lambda b: b.update(note="a\nb"), "pattern"),
        (lambda b: b.update(note="长" * 201), "200"),
        (lambda b: b.update(changes=[]), "at least 1"),
        (lambda b: b.update(changes="all"), "list"),
        (
            lambda b: b["changes"][0].update(geometry={"type": "Point", "coordinates": [116, 40]}),
            "Polygon",
        ),
        (lambda b: b["changes"][0].update(geometry=[1, 2]), "dict"),
        (
            lambda b: b["changes"][0]["geometry"]["coordinates"][0][1].__setitem__(0, 1e400),
            "finite",
        ),
        (lambda b: b["changes"][0].update(retire=True), "retires"),
        (lambda b: b["changes"][1].pop("code"), "community_code"),
        (
            lambda b: b["changes"][0].update(properties={"community_code": OTHER}),
            "another community",
        ),
        (lambda b: b["changes"][0].update(properties={"kind": "exclusive"}), "subtype"),
        (lambda b: b["changes"][0].update(properties={"code": EAST_GRID}), "code"),
    ],
)
def test_malformed_batches_are_refused(
    client: TestClient, db: Session, auth: dict[str, str], mutate: Any, says: str
) -> None:
    before = tables(db)
    body = {"changes": move_border(client, 116.346)}
    mutate(body)
    payload = json.dumps(body).replace("Infinity", "1e400")
    r = client.post(BATCH, content=payload, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert says in r.text
    assert tables(db) == before


def test_nan_is_refused(client: TestClient, db: Session, auth: dict[str, str]) -> None:
    before = tables(db)
    body = {"changes": move_border(client, 116.346)}
    payload = json.dumps(body).replace("116.346,", "NaN,", 1)
    r = client.post(BATCH, content=payload, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert tables(db) == before


def test_unknown_grid_is_404_naming_it(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    changes = [{"code": COMMUNITY + "009", "if_match": '"x"', "properties": {"name": "无"}}]
    r = client.post(BATCH, json={"changes": changes}, headers=auth)
    assert r.status_code == 404 and r.json()["grid"] == COMMUNITY + "009"


def test_drawn_on_neighbours_vertices_and_edges_leaves_no_t_junction(
    client: TestClient, db: Session
) -> None:
    """A grid drawn into a gap by clicking near its neighbours' vertices and on their edges:
    its vertices take the neighbours' coordinates, the neighbours gain the vertices placed on
    their edges, the coverage stays valid, and no coordinate that did not move changes."""
    area = square(116.34, 40.0, 116.35, 40.01)
    add_region(db, DISTRICT, "district", "海淀区", None, area)
    add_region(db, "110108010", "street", "学院路街道", DISTRICT, area)
    add_region(db, COMMUNITY, "community", "测试社区", "110108010", area)
    # The west grid has a vertex half-way up its east edge's northern part.
    add_grid(
        db,
        WEST_GRID,
        "SRID=4326;MULTIPOLYGON(((116.34 40,116.345 40,116.345 40.009,116.345 40.01,"
        "116.34 40.01,116.34 40)))",
    )
    add_grid(db, EAST_GRID, square(116.345, 40.0, 116.35, 40.006))
    auth = bearer(db)
    west_before, east_before = coords(db, WEST_GRID), coords(db, EAST_GRID)
    drawn = [
        (116.34500012, 40.00600009),  # 1 cm from the east grid's north-west corner
        (116.3475, 40.006 - 1e-9),  # on the east grid's north edge
        (116.35, 40.00599995),  # half a centimetre from its north-east corner
        (116.35, 40.01),  # the community's corner
        (116.34500025, 40.01),  # 2 cm from the west grid's north-east corner
        (116.345 + 1e-9, 40.008),  # on the west grid's east edge
    ]
    new = {
        "geometry": {"type": "Polygon", "coordinates": [[*map(list, drawn), list(drawn[0])]]},
        "properties": {"community_code": COMMUNITY, "name": "东北网格"},
    }
    r = client.post(BATCH, json={"changes": [new]}, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    # The west grid also gains the corner it shares with the east grid and the new one.
    assert body["noded"] == [
        {"code": WEST_GRID, "vertices": 2},
        {"code": EAST_GRID, "vertices": 1},
    ]
    assert body["coverage"][COMMUNITY]["invalid_edges"] == 0
    assert body["coverage"][COMMUNITY]["exact"] is True
    report = client.get(f"/api/v1/regions/{COMMUNITY}/coverage").json()
    assert report["valid_coverage"] is True and report["exact"] is True
    created = coords(db, COMMUNITY + "003")
    for corner in [(116.345, 40.006), (116.35, 40.006), (116.35, 40.01), (116.345, 40.01)]:
        assert corner in created
    # The vertices placed on edges stay where they were put, in both grids.
    assert drawn[1] in created and drawn[1] in coords(db, EAST_GRID)
    assert drawn[5] in created and drawn[5] in coords(db, WEST_GRID)
    # The west grid's vertex on the new grid's edge is now in the new grid too.
    assert (116.345, 40.009) in created
    # Every old coordinate of the neighbours is still there, in order, bit for bit.
    west_after, east_after = coords(db, WEST_GRID), coords(db, EAST_GRID)
    assert [c for c in west_after if c not in (drawn[5], (116.345, 40.006))] == west_before
    assert [c for c in east_after if c != drawn[1]] == east_before
    notes = dict(
        db.execute(text("SELECT code, note FROM grid WHERE valid_to IS NULL AND version = 2")).all()
    )
    assert notes == {
        WEST_GRID: f"vertices added where {COMMUNITY}003 meets it",
        EAST_GRID: f"vertex added where {COMMUNITY}003 meets it",
    }
    # Every grid stays valid to GEOS, together.
    grids = [
        shapely.from_wkb(bytes(w))
        for (w,) in db.execute(text("SELECT ST_AsBinary(geom) FROM grid WHERE valid_to IS NULL"))
    ]
    assert bool(shapely.coverage_is_valid(grids))


def three_grids(db: Session) -> dict[str, str]:
    """:func:`two_grids` with the east grid cut at lat 40.005 into …002 (south) and …003."""
    two_grids(db)
    db.execute(
        text(
            "UPDATE grid SET geom = ST_GeomFromEWKT(:g) WHERE code = :c",
        ),
        {"g": square(BORDER_LON, 40.0, 116.35, 40.005), "c": EAST_GRID},
    )
    add_grid(db, COMMUNITY + "003", square(BORDER_LON, 40.005, 116.35, 40.01), name="东北")
    return bearer(db)


def test_merge_keeps_the_lower_code_and_retires_the_other(client: TestClient, db: Session) -> None:
    auth = three_grids(db)
    north = COMMUNITY + "003"
    tags = {EAST_GRID: etag(client, EAST_GRID), north: etag(client, north)}
    street = bearer(db, "street", "110108010", "学院路街道指挥中心")
    reported = client.post(
        "/api/v1/incidents",
        json={
            "x": 116.348,
            "y": 40.008,
            "category": "市容环境/暴露垃圾",
            "description": "楼下垃圾堆积",
            "reporter_name": "张晓明",
            "reporter_phone": "13800001234",
        },
        headers=street,
    )
    assert reported.status_code == 201, reported.text
    incident = reported.json()["properties"]["id"]
    assert reported.json()["properties"]["grid_code"] == north
    before = tables(db)
    r = client.post(
        f"{GRIDS}/{north}/merge",
        params={"dry_run": "true"},
        json={"with": EAST_GRID, "if_match": tags, "name": "东网格"},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["dry_run"] is True and r.json()["retired"] == [north]
    assert tables(db) == before
    r = client.post(
        f"{GRIDS}/{north}/merge",
        json={"with": EAST_GRID, "if_match": tags, "name": "东网格"},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["retired"] == [north]
    (kept,) = [g for g in body["grids"] if g["properties"]["code"] == EAST_GRID]
    assert kept["etag"] == f'"{EAST_GRID}.v2"' and kept["properties"]["name"] == "东网格"
    assert kept["properties"]["note"] == f"merged with {north}"
    shape = shapely.geometry.shape(kept["geometry"])
    assert shape.bounds == (BORDER_LON, 40.0, 116.35, 40.01)
    assert len(shape.geoms) == 1 and not shape.geoms[0].interiors
    assert body["coverage"][COMMUNITY]["exact"] is True
    assert body["coverage"][COMMUNITY]["invalid_edges"] == 0
    assert client.get(f"{GRIDS}/{north}").status_code == 404
    # The incident keeps the grid it was reported in.
    assert client.get(f"/api/v1/incidents/{incident}").json()["properties"]["grid_code"] == north
    # The retired code is never reissued.
    r = client.post(
        BATCH,
        json={
            "changes": [
                {
                    "code": EAST_GRID,
                    "if_match": kept["etag"],
                    "geometry": rect(BORDER_LON, 40.0, 116.35, 40.005),
                },
                {
                    "geometry": rect(BORDER_LON, 40.005, 116.35, 40.01),
                    "properties": {"community_code": COMMUNITY, "name": "又一个"},
                },
            ]
        },
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["grids"][1]["properties"]["code"] == COMMUNITY + "004"


def test_merge_refusals(client: TestClient, db: Session) -> None:
    auth = three_grids(db)
    north = COMMUNITY + "003"
    add_region(db, OTHER, "community", "别的社区", "110108010", square(116.35, 40.0, 116.36, 40.01))
    add_grid(db, OTHER + "001", square(116.35, 40.0, 116.36, 40.01))
    tags = {c: etag(client, c) for c in (WEST_GRID, EAST_GRID, north)}
    before = tables(db)

    def merge(code: str, body: dict[str, Any]) -> Any:
        return client.post(f"{GRIDS}/{code}/merge", json=body, headers=auth)

    # Meeting at a corner only is not a shared border.
    db.execute(
        text("UPDATE grid SET geom = ST_GeomFromEWKT(:g) WHERE code = :c"),
        {"g": square(116.34, 40.0, BORDER_LON, 40.005), "c": WEST_GRID},
    )
    pair = {WEST_GRID: tags[WEST_GRID], north: tags[north]}
    r = merge(WEST_GRID, {"with": north, "if_match": pair})
    assert r.status_code == 409, r.text
    assert "share a border" in r.json()["detail"]
    before = tables(db)
    r = merge(EAST_GRID, {"with": OTHER + "001", "if_match": pair})
    assert r.status_code == 422 and "different communities" in r.json()["detail"]
    r = merge(EAST_GRID, {"with": EAST_GRID, "if_match": pair})
    assert r.status_code == 422
    r = merge(EAST_GRID, {"with": north, "if_match": {EAST_GRID: tags[EAST_GRID]}})
    assert r.status_code == 428 and r.json()["grid"] == north
    r = merge(EAST_GRID, {"with": north, "if_match": {EAST_GRID: tags[EAST_GRID], north: "x"}})
    assert r.status_code == 412 and r.json()["grid"] == north
    r = merge(EAST_GRID, {"with": north, "if_match": {EAST_GRID: "a", north: "b", WEST_GRID: "c"}})
    assert r.status_code == 422
    r = merge(EAST_GRID, {"with": "x", "if_match": pair})
    assert r.status_code == 422
    assert tables(db) == before


def test_split_along_a_line(client: TestClient, db: Session, auth: dict[str, str]) -> None:
    line = {"type": "LineString", "coordinates": [[116.344, 40.003], [116.3505, 40.003]]}
    east_before = coords(db, EAST_GRID)
    r = client.post(
        f"{GRIDS}/{WEST_GRID}/split",
        json={"line": line, "if_match": etag(client, WEST_GRID)},
        headers=auth,
    )
    assert r.status_code == 422 and "starts inside the grid" in r.text
    r = client.post(
        f"{GRIDS}/{EAST_GRID}/split",
        json={"line": line, "if_match": etag(client, EAST_GRID)},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    kept, new = body["grids"][0], body["grids"][1]
    assert kept["properties"]["code"] == EAST_GRID and kept["etag"] == f'"{EAST_GRID}.v2"'
    assert new["properties"]["code"] == COMMUNITY + "003" and new["etag"] == f'"{COMMUNITY}003.v1"'
    assert new["properties"]["name"] == "东网格（分）"
    assert new["properties"]["note"] == f"split from {EAST_GRID}"
    assert kept["properties"]["area_m2"] > new["properties"]["area_m2"]
    a, b = coords(db, EAST_GRID), coords(db, COMMUNITY + "003")
    assert {(BORDER_LON, 40.003), (116.35, 40.003)} <= set(a) & set(b)
    # Every corner of the old grid is in one of the parts, bit for bit.
    assert set(east_before) <= set(a) | set(b)
    # The west grid gains the vertex where the cut meets it.
    assert body["noded"] == [{"code": WEST_GRID, "vertices": 1}]
    assert body["coverage"][COMMUNITY]["exact"] is True
    assert body["coverage"][COMMUNITY]["invalid_edges"] == 0


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ([[116.347, 40.003], [116.3505, 40.003]], "starts inside"),
        ([[116.344, 40.003], [116.347, 40.003]], "ends inside"),
        ([[116.351, 40.003], [116.352, 40.004]], "does not cross"),
        ([[116.344, 40.003], [116.3505, 40.003], [116.3505, 40.006], [116.344, 40.006]], "into 3"),
        ([[116.344, 40.003]], "2 to"),
        ([[116.344, 40.003], [float("nan"), 40.0]], "finite"),
        ([[40.003, 116.344], [40.003, 116.35]], "swapped"),
    ],
)
def test_split_refusals(
    client: TestClient, db: Session, auth: dict[str, str], line: list[Any], says: str
) -> None:
    before = tables(db)
    body = {
        "line": {"type": "LineString", "coordinates": line},
        "if_match": etag(client, EAST_GRID),
    }
    payload = json.dumps(body)
    r = client.post(
        f"{GRIDS}/{EAST_GRID}/split",
        content=payload,
        headers={**auth, "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert says in r.json()["detail"], r.text
    assert tables(db) == before


def quarters(db: Session) -> dict[str, str]:
    """A community in four quarters: south-west …001, north-east …002, south-east …003 gridded,
    the north-west quarter a gap (it touches …003 only at the centre)."""
    area = square(116.34, 40.0, 116.35, 40.01)
    add_region(db, DISTRICT, "district", "海淀区", None, area)
    add_region(db, "110108010", "street", "学院路街道", DISTRICT, area)
    add_region(db, COMMUNITY, "community", "测试社区", "110108010", area)
    add_grid(db, WEST_GRID, square(116.34, 40.0, BORDER_LON, 40.005))
    add_grid(db, EAST_GRID, square(BORDER_LON, 40.005, 116.35, 40.01))
    add_grid(db, COMMUNITY + "003", square(BORDER_LON, 40.0, 116.35, 40.005))
    return bearer(db)


def test_fill_takes_the_gaps_along_a_grid_once(client: TestClient, db: Session) -> None:
    auth = quarters(db)
    south_east = COMMUNITY + "003"
    entries = [
        {"code": south_east, "if_match": etag(client, south_east), "fill": True},
        {"code": WEST_GRID, "if_match": etag(client, WEST_GRID), "fill": True},
        {"code": EAST_GRID, "if_match": etag(client, EAST_GRID), "fill": True},
    ]
    r = client.post(BATCH, params={"dry_run": "true"}, json={"changes": entries}, headers=auth)
    assert r.status_code == 200, r.text
    grids = {g["properties"]["code"]: g for g in r.json()["grids"]}
    # The south-east grid meets the gap at a point only: it takes nothing.
    assert grids[south_east]["changed"] is False
    assert grids[south_east]["fixed"] == {"filled_gap_m2": 0}
    # The west grid comes first and takes the gap; the north-east grid finds none left.
    assert grids[WEST_GRID]["changed"] is True
    assert 200_000 < grids[WEST_GRID]["fixed"]["filled_gap_m2"] < 250_000
    assert shapely.geometry.shape(grids[WEST_GRID]["geometry"]).bounds == (
        116.34,
        40.0,
        BORDER_LON,
        40.01,
    )
    assert grids[EAST_GRID]["changed"] is False
    cover = r.json()["coverage"][COMMUNITY]
    assert cover["exact"] is True and cover["invalid_edges"] == 0
    assert versions(db, WEST_GRID) == [(1, True, None)]


def test_fix_gives_way_per_entry(client: TestClient, db: Session, auth: dict[str, str]) -> None:
    before = tables(db)
    entries = [
        {"code": EAST_GRID, "if_match": etag(client, EAST_GRID), "retire": True},
        {
            "geometry": rect(116.3445, 40.0, 116.35, 40.01),
            "properties": {"community_code": COMMUNITY, "name": "新东网格"},
        },
    ]
    r = client.post(BATCH, json={"changes": entries}, headers=auth)
    assert r.status_code == 409 and r.json()["index"] == 1
    assert r.json()["overlaps"][0]["code"] == WEST_GRID
    assert tables(db) == before
    entries[1]["fix"] = True
    r = client.post(BATCH, json={"changes": entries}, headers=auth)
    assert r.status_code == 200, r.text
    (new,) = r.json()["grids"]
    assert new["fixed"]["removed_overlap_m2"][WEST_GRID] > 40_000
    assert shapely.geometry.shape(new["geometry"]).bounds == (BORDER_LON, 40.0, 116.35, 40.01)
    assert r.json()["coverage"][COMMUNITY]["exact"] is True


def test_two_batches_racing_on_one_grid(settings: Any, fresh_database: Any) -> None:
    """Two editors move the same shared border at once, through the app's own pool on a
    committed database: one batch is written, the other is told 412, and nothing is mixed."""
    import threading

    from gridmap import migrate
    from gridmap.database import make_engine
    from gridmap.main import create_app

    name = "gridmap_test_batch_race"
    url = fresh_database(name)
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as db, db.begin():
        two_grids(db)
        auth = {"甲": bearer(db, name="甲"), "乙": bearer(db, name="乙")}
    s = settings.model_copy(deep=True)
    s.db.embedded_db = name
    try:
        with TestClient(create_app(s)) as client:
            changes = move_border(client, 116.346)
            start = threading.Barrier(2)
            answers: dict[str, Any] = {}

            def edit(who: str, lon: float) -> None:
                body = [
                    {**changes[0], "geometry": rect(116.34, 40.0, lon, 40.01)},
                    {**changes[1], "geometry": rect(lon, 40.0, 116.35, 40.01)},
                ]
                start.wait()
                answers[who] = client.post(BATCH, json={"changes": body}, headers=auth[who])

            threads = [
                threading.Thread(target=edit, args=("甲", 116.346)),
                threading.Thread(target=edit, args=("乙", 116.344)),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            codes = sorted(r.status_code for r in answers.values())
            assert codes == [200, 412], {k: r.text for k, r in answers.items()}
            winner = next(k for k, r in answers.items() if r.status_code == 200)
            loser = answers[next(k for k in answers if k != winner)].json()
            assert loser["grid"] in (WEST_GRID, EAST_GRID) and loser["etag"].endswith('.v2"')
        with Session(engine) as db:
            rows = db.execute(
                text("SELECT code, version, changed_by FROM grid ORDER BY code, version")
            ).all()
            assert [(r.code, r.version) for r in rows] == [
                (WEST_GRID, 1),
                (WEST_GRID, 2),
                (EAST_GRID, 1),
                (EAST_GRID, 2),
            ]
            assert {r.changed_by.split(" ")[0] for r in rows if r.version == 2} == {winner}
            assert db.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 2
    finally:
        engine.dispose()


def test_too_many_vertices_and_too_large_a_body(
    client: TestClient, db: Session, auth: dict[str, str]
) -> None:
    before = tables(db)
    n = 100_001
    ring = [
        [116.345 + 0.004 * math.cos(a), 40.005 + 0.004 * math.sin(a)]
        for a in (2 * math.pi * i / n for i in range(n))
    ]
    ring.append(ring[0])
    changes = move_border(client, 116.346)
    changes[0]["geometry"] = {"type": "Polygon", "coordinates": [ring]}
    r = client.post(BATCH, json={"changes": changes}, headers=auth)
    assert r.status_code == 422 and "vertices" in r.json()["detail"]
    assert r.json()["grid"] == WEST_GRID
    huge = json.dumps({"changes": changes * 3})
    assert len(huge) > 10 * 2**20
    r = client.post(BATCH, content=huge, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert tables(db) == before
