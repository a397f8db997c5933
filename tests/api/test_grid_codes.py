"""A grid code names one grid for good: renumbering and new grids never reissue a code that a
grid of the community ever had, so history and incidents keep pointing at the right grid."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    COMMUNITY,
    DISTRICT,
    STREET,
    add_grid,
    add_region,
    bearer,
    feature,
    rect,
    square,
)

GRIDS = "/api/v1/grids"
# Four quadrants of the community, coded against reading order: NW=003, NE=001, SW=002, SE=004.
QUADS = {
    "003": (116.34, 40.005, 116.345, 40.01),
    "001": (116.345, 40.005, 116.35, 40.01),
    "002": (116.34, 40.0, 116.345, 40.005),
    "004": (116.345, 40.0, 116.35, 40.005),
}


def codes_naming_two_shapes(db: Session) -> list[str]:
    """Codes whose history holds more than one shape: one code, two different grids."""
    return list(
        db.execute(
            text(
                "SELECT code FROM grid GROUP BY code "
                "HAVING count(DISTINCT ST_AsBinary(ST_Normalize(geom))) > 1"
            )
        ).scalars()
    )


def test_renumbering_after_a_retirement_reissues_no_code(client: TestClient, db: Session) -> None:
    area = square(116.34, 40.0, 116.35, 40.01)
    add_region(db, DISTRICT, "district", "海淀区", None, area)
    add_region(db, STREET, "street", "学院路街道", DISTRICT, area)
    add_region(db, COMMUNITY, "community", "测试社区", STREET, area)
    for seq, box in QUADS.items():
        add_grid(db, COMMUNITY + seq, square(*box), name=f"格{seq}")
    auth = bearer(db)
    reported = {}
    for seq, (x, y) in {"001": (116.348, 40.008), "002": (116.342, 40.002)}.items():
        r = client.post(
            "/api/v1/incidents",
            json={"x": x, "y": y, "category": "市容环境/暴露垃圾"},
            headers=auth,
        )
        assert r.status_code == 201 and r.json()["properties"]["grid_code"] == COMMUNITY + seq
        reported[seq] = r.json()["properties"]["id"]
    etag = client.get(f"{GRIDS}/{COMMUNITY}001").headers["etag"]
    r = client.delete(f"{GRIDS}/{COMMUNITY}001", headers={**auth, "If-Match": etag})
    assert r.status_code == 200, r.text

    r = client.post(f"/api/v1/regions/{COMMUNITY}/renumber", headers=auth)
    assert r.status_code == 200, r.text
    # Reading order is NW (003), SW (002), SE (004): codes rise along it, 003 stays, and the
    # others take numbers no grid ever had, never the retired 001.
    assert r.json()["renumbered"] == [
        {"old": COMMUNITY + "002", "new": COMMUNITY + "005"},
        {"old": COMMUNITY + "004", "new": COMMUNITY + "006"},
    ]
    assert r.json()["unchanged"] == [COMMUNITY + "003"]
    assert codes_naming_two_shapes(db) == []
    assert (
        db.execute(
            text("SELECT count(*) FROM grid WHERE code = :c"), {"c": COMMUNITY + "001"}
        ).scalar_one()
        == 1
    )
    # Each incident still names the grid that held its point when it was reported.
    rows = db.execute(
        text(
            "SELECT i.id, i.grid_code, bool_and(ST_Intersects(g.geom, i.geom)) AS inside "
            "FROM incident i JOIN grid g ON g.code = i.grid_code GROUP BY i.id, i.grid_code"
        )
    ).all()
    assert {r.id: (r.grid_code, r.inside) for r in rows} == {
        reported["001"]: (COMMUNITY + "001", True),
        reported["002"]: (COMMUNITY + "002", True),
    }
    # A new grid in the gap the retired one left takes the next code never used, not 001.
    r = client.post(
        GRIDS,
        json=feature(rect(*QUADS["001"]), name="新东北", community_code=COMMUNITY),
        headers=auth,
    )
    assert r.status_code == 201, r.text
    assert r.json()["properties"]["code"] == COMMUNITY + "007"
    # Reading order is now NW, NE (007), SW, SE: the two below move on to fresh codes again.
    r = client.post(f"/api/v1/regions/{COMMUNITY}/renumber", headers=auth)
    assert r.json()["renumbered"] == [
        {"old": COMMUNITY + "005", "new": COMMUNITY + "008"},
        {"old": COMMUNITY + "006", "new": COMMUNITY + "009"},
    ]
    assert codes_naming_two_shapes(db) == []
    r = client.post(f"/api/v1/regions/{COMMUNITY}/renumber", headers=auth)
    assert r.json()["renumbered"] == [], r.json()
