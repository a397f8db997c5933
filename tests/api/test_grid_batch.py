"""The batch write: many grids in one transaction, all or nothing, checked against the final state."""

from __future__ import annotations

import json
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
    assert [(g["properties"]["code"], g["etag"]) for g in body["grids"]] == [
        (COMMUNITY + "003", f'"{COMMUNITY}003.v1"'),
        (COMMUNITY + "004", f'"{COMMUNITY}004.v1"'),
    ]
    assert body["grids"][1]["properties"]["subtype"] == "school"
    assert body["coverage"][COMMUNITY]["exact"] is True
    actions = db.execute(text("SELECT action, entity_key FROM audit_log ORDER BY id")).all()
    assert sorted(tuple(a) for a in actions) == [
        ("create", COMMUNITY + "003"),
        ("create", COMMUNITY + "004"),
        ("retire", EAST_GRID),
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
