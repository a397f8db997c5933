"""Who may write where: every write endpoint × every kind of caller, and every refusal writes
nothing.

The endpoints are read from the app's own OpenAPI, so a new write route without an entry in
``WRITES`` fails :func:`test_every_write_route_is_in_the_matrix` until it joins the matrix.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    COMMUNITY,
    DISTRICT,
    STREET,
    WEST_GRID,
    add_grid,
    add_region,
    add_staff,
    bearer,
    square,
)
from tests.utils.homes import add_building
from tests.utils.org import add_member, add_org, add_unit

from gridmap.auth import Holder, create_token
from gridmap.dependencies import get_session
from gridmap.main import create_app
from gridmap.settings import Settings

API = "/api/v1"
EAST_GRID = COMMUNITY + "002"
# The target community 110108010001 (lon 116.340–116.350) holds the west grid (…001, to
# 116.345) and the east grid (…002, to 116.348); its last strip is ungridded, for a new grid.
# Its neighbour 110108010002 is in the same street; street 110108015 is another street.
NEIGHBOUR = STREET + "002"
OTHER_STREET = DISTRICT + "015"
OTHER_COMMUNITY = OTHER_STREET + "001"
CATEGORY = "市容环境/暴露垃圾"
IN_WEST = (116.342, 40.005)


@dataclass
class World:
    """What the writes act on, all in the target community's west grid."""

    incident: int
    duplicate: int
    # Claimed by the street and split to the west grid: its sub-task ``task``, at ``handled_etag``.
    handled: int
    task: int
    handled_etag: str
    need: int
    resource: int
    item: int
    centre: int
    head: int
    household: int
    etags: dict[str, str]
    # The Party organisation of the target community: ids by what they are (committee, branch,
    # an empty group, a member, a resident unit).
    org: dict[str, int]
    # A guide's post in the west grid, and a post left on a retired grid of the community.
    post: int = 0
    orphan: int = 0


CALLERS = (
    "anonymous",
    "viewer of the region",
    "worker of another grid",
    "staff of another grid",
    "party member of the region",
    "department of the street",
    "office of another community",
    "office of another street",
    "the right office",
    "admin",
)


def tokens(db: Session) -> dict[str, dict[str, str]]:
    """Headers of each kind of caller; "the right office" is a community office of the target
    community, "the right street" its street office (for what only streets do)."""
    staff = add_staff(db, EAST_GRID, "worker", "赵网格员", "13700002222")
    member = db.execute(text("INSERT INTO person (name) VALUES ('周党员') RETURNING id")).scalar()
    db.execute(
        text(
            "INSERT INTO department (code, name, level, region_code, kind) "
            "VALUES ('cgw', '城管执法队', 'street', :s, '城管执法')"
        ),
        {"s": STREET},
    )

    def holder(h: Holder) -> dict[str, str]:
        secret, _ = create_token(db, holder=h)
        return {"Authorization": f"Bearer {secret}"}

    return {
        "anonymous": {},
        "viewer of the region": bearer(db, "viewer", COMMUNITY, name="观察员"),
        "worker of another grid": bearer(db, "worker", EAST_GRID, name="东网格岗"),
        "staff of another grid": holder(Holder("staff", person=staff)),
        "party member of the region": holder(Holder("party_member", person=member)),
        "department of the street": holder(Holder("department", department="cgw")),
        "office of another community": bearer(db, "community", NEIGHBOUR, name="邻社区"),
        "office of another street": bearer(db, "street", OTHER_STREET, name="清河街道"),
        "the right office": bearer(db, "community", COMMUNITY, name="本社区"),
        "the right street": bearer(db, "street", STREET, name="学院路街道"),
        "the right district": bearer(db, "district", DISTRICT, name="海淀区"),
        "admin": bearer(db, "admin", None, name="管理员"),
    }


def png() -> bytes:
    """A real 2×2 RGB PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xc8\x32\x32" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def build(client: TestClient, db: Session) -> World:
    """Regions, grids, incidents, list items, a centre and households, made as an admin."""
    add_region(db, DISTRICT, "district", "海淀区", None, square(116.34, 40.0, 116.37, 40.01))
    add_region(db, STREET, "street", "学院路街道", DISTRICT, square(116.34, 40.0, 116.36, 40.01))
    add_region(db, COMMUNITY, "community", "测试社区", STREET, square(116.34, 40.0, 116.35, 40.01))
    add_region(db, NEIGHBOUR, "community", "邻社区", STREET, square(116.35, 40.0, 116.36, 40.01))
    add_region(
        db, OTHER_STREET, "street", "清河街道", DISTRICT, square(116.36, 40.0, 116.37, 40.01)
    )
    add_region(
        db,
        OTHER_COMMUNITY,
        "community",
        "他社区",
        OTHER_STREET,
        square(116.36, 40.0, 116.37, 40.01),
    )
    add_grid(db, WEST_GRID, square(116.34, 40.0, 116.345, 40.01), name="西网格")
    add_grid(db, EAST_GRID, square(116.345, 40.0, 116.348, 40.01), name="东网格")
    add_grid(db, NEIGHBOUR + "001", square(116.35, 40.0, 116.36, 40.01), name="邻网格")
    add_grid(db, OTHER_COMMUNITY + "001", square(116.36, 40.0, 116.37, 40.01), name="他网格")
    building = add_building(db, "BW-01", WEST_GRID, (116.343, 40.006), 3)
    head, household, _third = db.execute(
        text("SELECT id FROM household WHERE building_id = :b ORDER BY id"), {"b": building}
    ).scalars()
    db.execute(text("UPDATE household SET designated = true WHERE id = :h"), {"h": head})
    db.execute(
        text("INSERT INTO care_tag (household_id, tag) VALUES (:h, 'hardship')"), {"h": household}
    )
    db.flush()
    admin = bearer(db, "admin", None, name="造数据")
    report = {"x": IN_WEST[0], "y": IN_WEST[1], "category": CATEGORY}
    incident, duplicate, handled = (
        client.post(f"{API}/incidents", json=report, headers=admin).json()["properties"]["id"]
        for _ in range(3)
    )
    for step in ("accept", "claim", "split"):
        tag = client.get(f"{API}/incidents/{handled}").headers["etag"]
        r = client.post(
            f"{API}/incidents/{handled}/{step}", json={}, headers={**admin, "If-Match": tag}
        )
        assert r.status_code == 200, r.text
    [task] = r.json()["properties"]["tasks"]

    def item(kind: str, title: str) -> int:
        r = client.post(
            f"{API}/lists",
            headers=admin,
            json={
                "list": kind,
                "category": "助老服务",
                "title": title,
                "owner_kind": "unit" if kind == "resource" else "resident",
                "owner_name": "测试单位",
                "x": IN_WEST[0],
                "y": IN_WEST[1],
            },
        )
        assert r.status_code == 201, r.text
        return int(r.json()["properties"]["id"])

    centre = client.post(
        f"{API}/service-centers",
        headers=admin,
        json={"code": "C1", "kind": "party_mass_center", "name": "中心", "x": 116.343, "y": 40.004},
    )
    assert centre.status_code == 201, centre.text
    etags = {
        code: client.get(f"{API}/grids/{code}").headers["etag"] for code in (WEST_GRID, EAST_GRID)
    }
    committee = add_org(db, "committee", "C-AM", "测试大党委", COMMUNITY)
    branch = add_org(
        db, "branch", "B-AM", "西支部", COMMUNITY, parent=committee, grids=(WEST_GRID,)
    )
    org = {
        "committee": committee,
        "branch": branch,
        "group": add_org(db, "group", "G-AM", "空党小组", COMMUNITY, parent=branch),
        "member": add_member(db, "测试党员(生成)", org=branch),
        "unit": add_unit(db, "U-AM", "某公司(生成)", *IN_WEST),
    }
    post, orphan = posts(db)
    return World(
        post=post,
        orphan=orphan,
        org=org,
        incident=incident,
        duplicate=duplicate,
        handled=handled,
        task=task["id"],
        handled_etag=r.headers["etag"],
        need=item("need", "老人助餐"),
        resource=item("resource", "社区食堂"),
        item=item("need", "助浴"),
        centre=int(centre.json()["properties"]["id"]),
        head=head,
        household=household,
        etags=etags,
    )


def posts(db: Session) -> tuple[int, int]:
    """A guide's post in the west grid, and a worker's left on a grid retired by a redraw (in
    the community's ungridded strip)."""
    add_grid(db, COMMUNITY + "009", square(116.348, 40.0, 116.35, 40.01), name="旧网格")
    db.execute(
        text("UPDATE grid SET valid_to = clock_timestamp() WHERE code = :c"),
        {"c": COMMUNITY + "009"},
    )
    add_staff(db, WEST_GRID, "guide", "孙指导", "13700004444")
    add_staff(db, COMMUNITY + "009", "worker", "钱旧岗", "13700005555")
    found = db.execute(
        text("SELECT id FROM grid_staff WHERE grid_code IN (:w, :o) ORDER BY grid_code"),
        {"w": WEST_GRID, "o": COMMUNITY + "009"},
    ).scalars()
    return tuple(int(i) for i in found)  # type: ignore[return-value]


def grid_file() -> bytes:
    """A GeoJSON of the west grid renamed, for the grid import."""
    ring = [[116.34, 40.0], [116.345, 40.0], [116.345, 40.01], [116.34, 40.01], [116.34, 40.0]]
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": {"code": WEST_GRID, "community_code": COMMUNITY, "name": "西"},
                }
            ],
        }
    ).encode()


# One request per write endpoint, acting in the target community: (method, path template as
# the OpenAPI names it) → the request's keyword arguments for a world, and which office of the
# target may do it.
Request = Callable[[World], dict[str, Any]]
COMMUNITY_OFFICE = "the right office"
OGC_GRIDS = "/ogc/collections/grids/items"
STREET_OFFICE = "the right street"
WRITES: dict[tuple[str, str], tuple[Request, str]] = {
    ("POST", "/api/v1/regions/{code}/renumber"): (
        lambda w: {"url": f"{API}/regions/{COMMUNITY}/renumber"},
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/grids"): (
        lambda w: {
            "url": f"{API}/grids",
            "json": {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[116.348, 40.0], [116.35, 40.0], [116.35, 40.01], [116.348, 40.01]]
                        + [[116.348, 40.0]]
                    ],
                },
                "properties": {"community_code": COMMUNITY, "name": "新网格"},
            },
        },
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/grids/batch"): (
        lambda w: {
            "url": f"{API}/grids/batch",
            "json": {
                "changes": [
                    {
                        "code": WEST_GRID,
                        "if_match": w.etags[WEST_GRID],
                        "properties": {"name": "西（改）"},
                    }
                ]
            },
        },
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/grids/{code}/merge"): (
        lambda w: {
            "url": f"{API}/grids/{WEST_GRID}/merge",
            "json": {"with": EAST_GRID, "if_match": w.etags},
        },
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/grids/{code}/split"): (
        lambda w: {
            "url": f"{API}/grids/{WEST_GRID}/split",
            "json": {
                "line": {
                    "type": "LineString",
                    "coordinates": [[116.339, 40.005], [116.346, 40.005]],
                },
                "if_match": w.etags[WEST_GRID],
            },
        },
        COMMUNITY_OFFICE,
    ),
    ("PUT", "/api/v1/grids/{code}"): (
        lambda w: {
            "url": f"{API}/grids/{WEST_GRID}",
            "headers": {"If-Match": w.etags[WEST_GRID]},
            "json": {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[116.34, 40.0], [116.345, 40.0], [116.345, 40.01], [116.34, 40.01]]
                        + [[116.34, 40.0]]
                    ],
                },
                "properties": {"name": "西（新）"},
            },
        },
        COMMUNITY_OFFICE,
    ),
    ("PATCH", "/api/v1/grids/{code}"): (
        lambda w: {
            "url": f"{API}/grids/{WEST_GRID}",
            "headers": {"If-Match": w.etags[WEST_GRID]},
            "json": {"type": "Feature", "properties": {"name": "西（改）"}},
        },
        COMMUNITY_OFFICE,
    ),
    ("DELETE", "/api/v1/grids/{code}"): (
        lambda w: {"url": f"{API}/grids/{WEST_GRID}", "headers": {"If-Match": w.etags[WEST_GRID]}},
        COMMUNITY_OFFICE,
    ),
    # The same grid writes over OGC API – Features Part 4.
    ("POST", "/ogc/collections/grids/items"): (
        lambda w: {**WRITES[("POST", "/api/v1/grids")][0](w), "url": OGC_GRIDS},
        COMMUNITY_OFFICE,
    ),
    ("PUT", "/ogc/collections/grids/items/{code}"): (
        lambda w: {
            **WRITES[("PUT", "/api/v1/grids/{code}")][0](w),
            "url": f"{OGC_GRIDS}/{WEST_GRID}",
        },
        COMMUNITY_OFFICE,
    ),
    ("PATCH", "/ogc/collections/grids/items/{code}"): (
        lambda w: {
            **WRITES[("PATCH", "/api/v1/grids/{code}")][0](w),
            "url": f"{OGC_GRIDS}/{WEST_GRID}",
        },
        COMMUNITY_OFFICE,
    ),
    ("DELETE", "/ogc/collections/grids/items/{code}"): (
        lambda w: {"url": f"{OGC_GRIDS}/{WEST_GRID}", "headers": {"If-Match": w.etags[WEST_GRID]}},
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/import/grids"): (
        lambda w: {
            "url": f"{API}/import/grids",
            "params": {"commit": "true"},
            "files": {"file": ("grids.geojson", grid_file(), "application/geo+json")},
        },
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/incidents"): (
        lambda w: {
            "url": f"{API}/incidents",
            "json": {"x": IN_WEST[0], "y": IN_WEST[1], "category": CATEGORY},
        },
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/incidents/import"): (
        lambda w: {
            "url": f"{API}/incidents/import",
            "params": {"commit": "true"},
            "files": {
                "file": (
                    "old.csv",
                    f"lon,lat,category\n{IN_WEST[0]},{IN_WEST[1]},{CATEGORY}\n".encode(),
                    "text/csv",
                )
            },
        },
        STREET_OFFICE,
    ),
    # Accepting, and merging a duplicate (which cancels it), are a command centre's.
    ("POST", "/api/v1/incidents/{incident_id}/merge"): (
        lambda w: {"url": f"{API}/incidents/{w.duplicate}/merge", "json": {"into": w.incident}},
        STREET_OFFICE,
    ),
    ("POST", "/api/v1/incidents/{incident_id}/photos"): (
        lambda w: {
            "url": f"{API}/incidents/{w.incident}/photos",
            "files": {"file": ("site.png", png(), "image/png")},
        },
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/incidents/{incident_id}/{step}"): (
        lambda w: {
            "url": f"{API}/incidents/{w.incident}/accept",
            "headers": {"If-Match": f'"{w.incident}.v1"'},
            "json": {},
        },
        STREET_OFFICE,
    ),
    # A sub-task to the west grid: its worker's, or its community office's.
    ("POST", "/api/v1/incidents/{incident_id}/tasks/{task_id}/{step}"): (
        lambda w: {
            "url": f"{API}/incidents/{w.handled}/tasks/{w.task}/report_in",
            "headers": {"If-Match": w.handled_etag},
            "json": {},
        },
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/incidents/{incident_id}/tasks/{task_id}/photos"): (
        lambda w: {
            "url": f"{API}/incidents/{w.handled}/tasks/{w.task}/photos",
            "files": {"file": ("site.png", png(), "image/png")},
        },
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/service-centers"): (
        lambda w: {
            "url": f"{API}/service-centers",
            "json": {
                "code": "C2",
                "kind": "red_station",
                "name": "驿站",
                "x": 116.341,
                "y": 40.002,
            },
        },
        COMMUNITY_OFFICE,
    ),
    ("PATCH", "/api/v1/service-centers/{center_id}"): (
        lambda w: {"url": f"{API}/service-centers/{w.centre}", "json": {"name": "新中心"}},
        COMMUNITY_OFFICE,
    ),
    ("DELETE", "/api/v1/service-centers/{center_id}"): (
        lambda w: {"url": f"{API}/service-centers/{w.centre}"},
        COMMUNITY_OFFICE,
    ),
    ("PATCH", "/api/v1/households/{household_id}"): (
        lambda w: {"url": f"{API}/households/{w.household}", "json": {"designated": True}},
        COMMUNITY_OFFICE,
    ),
    ("PUT", "/api/v1/households/{household_id}/served"): (
        lambda w: {
            "url": f"{API}/households/{w.head}/served",
            "json": {"households": [w.household]},
        },
        COMMUNITY_OFFICE,
    ),
    ("PUT", "/api/v1/households/{household_id}/care-tags/{tag}"): (
        lambda w: {"url": f"{API}/households/{w.household}/care-tags/elderly_alone", "json": {}},
        COMMUNITY_OFFICE,
    ),
    ("DELETE", "/api/v1/households/{household_id}/care-tags/{tag}"): (
        lambda w: {"url": f"{API}/households/{w.household}/care-tags/hardship"},
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/visits"): (
        lambda w: {
            "url": f"{API}/visits",
            "json": {
                "household_id": w.household,
                "at": datetime.now().astimezone().isoformat(),
                "outcome": "met",
            },
        },
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/lists"): (
        lambda w: {
            "url": f"{API}/lists",
            "json": {
                "list": "resource",
                "category": "助老服务",
                "title": "理发",
                "owner_kind": "unit",
                "owner_name": "理发店",
                "x": IN_WEST[0],
                "y": IN_WEST[1],
            },
        },
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/lists/match"): (
        lambda w: {"url": f"{API}/lists/match", "json": {"need": w.need, "resource": w.resource}},
        COMMUNITY_OFFICE,
    ),
    ("PATCH", "/api/v1/lists/{item_id}"): (
        lambda w: {"url": f"{API}/lists/{w.item}", "json": {"title": "助浴服务"}},
        COMMUNITY_OFFICE,
    ),
    ("DELETE", "/api/v1/lists/{item_id}"): (
        lambda w: {"url": f"{API}/lists/{w.item}"},
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/lists/{item_id}/close"): (
        lambda w: {"url": f"{API}/lists/{w.need}/close", "json": {"note": "已无需求"}},
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/party-posts"): (
        lambda w: {
            "url": f"{API}/party-posts",
            "json": {"title": "政策宣传岗", "community_code": COMMUNITY, "grid_code": WEST_GRID},
        },
        COMMUNITY_OFFICE,
    ),
}
# The whistle list is the district's; the first line the seed (migration 0011) writes is id 1.
DISTRICT_OFFICE = "the right district"
SEEDED_LINE = 1
WHISTLE_ROW = "99-001,99,试点事项,小区充电桩故障,,供电,房屋管理,2,48,true"
WRITES |= {
    ("POST", "/api/v1/departments"): (
        lambda w: {
            "url": f"{API}/departments",
            "json": {"code": "s-sj", "name": "市场监管所", "kind": "市场监管", "region": STREET},
        },
        STREET_OFFICE,
    ),
    ("PATCH", "/api/v1/departments/{code}"): (
        lambda w: {"url": f"{API}/departments/cgw", "json": {"name": "学院路城管执法队"}},
        STREET_OFFICE,
    ),
    ("POST", "/api/v1/whistle-list/items"): (
        lambda w: {
            "url": f"{API}/whistle-list/items",
            "json": {
                "code": "99-001",
                "class_code": "01",
                "matter": "小区充电桩故障",
                "lead_kind": "供电",
                "report_hours": 2,
                "answer_hours": 48,
            },
        },
        DISTRICT_OFFICE,
    ),
    ("PATCH", "/api/v1/whistle-list/items/{item_id}"): (
        lambda w: {"url": f"{API}/whistle-list/items/{SEEDED_LINE}", "json": {"answer_hours": 30}},
        DISTRICT_OFFICE,
    ),
    ("DELETE", "/api/v1/whistle-list/items/{item_id}"): (
        lambda w: {"url": f"{API}/whistle-list/items/{SEEDED_LINE}"},
        DISTRICT_OFFICE,
    ),
    ("POST", "/api/v1/whistle-list/import"): (
        lambda w: {
            "url": f"{API}/whistle-list/import",
            "params": {"commit": "true"},
            "files": {
                "file": (
                    "list.csv",
                    (
                        "code,class_code,class_name,matter,category,lead_kind,partner_kinds,"
                        f"report_hours,answer_hours,active\n{WHISTLE_ROW}\n"
                    ).encode(),
                    "text/csv",
                )
            },
        },
        DISTRICT_OFFICE,
    ),
}
# Grid teams (tests/api/test_teams.py, tests/api/test_org_checks.py).
WRITES |= {
    ("POST", "/api/v1/grids/{code}/team"): (
        lambda w: {
            "url": f"{API}/grids/{WEST_GRID}/team",
            "json": {"person": {"name": "吴调解"}, "role": "mediator"},
        },
        COMMUNITY_OFFICE,
    ),
    ("PATCH", "/api/v1/grid-staff/{staff_id}"): (
        lambda w: {"url": f"{API}/grid-staff/{w.post}", "json": {"since": "2025-01-01"}},
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/grid-staff/{staff_id}/move"): (
        lambda w: {"url": f"{API}/grid-staff/{w.post}/move", "json": {"grid_code": EAST_GRID}},
        COMMUNITY_OFFICE,
    ),
    ("DELETE", "/api/v1/grid-staff/{staff_id}"): (
        lambda w: {"url": f"{API}/grid-staff/{w.post}"},
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/grids/{code}/reassign"): (
        lambda w: {
            "url": f"{API}/grids/{COMMUNITY}009/reassign",
            "json": {"staff": [{"id": w.orphan, "grid_code": EAST_GRID}]},
        },
        COMMUNITY_OFFICE,
    ),
}
# Operations that take a body but write nothing, so have no place in the matrix.
# The Party organisation, its members and resident units (tests/api/test_org_scope.py: an
# organisation's own token under it as well).
WRITES |= {
    ("POST", "/api/v1/party-orgs"): (
        lambda w: {
            "url": f"{API}/party-orgs",
            "json": {"kind": "committee", "name": "又一大党委", "community_code": COMMUNITY},
        },
        COMMUNITY_OFFICE,
    ),
    ("PATCH", "/api/v1/party-orgs/{org_id}"): (
        lambda w: {"url": f"{API}/party-orgs/{w.org['branch']}", "json": {"name": "西支部二"}},
        COMMUNITY_OFFICE,
    ),
    ("DELETE", "/api/v1/party-orgs/{org_id}"): (
        lambda w: {"url": f"{API}/party-orgs/{w.org['group']}"},
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/party-members"): (
        lambda w: {
            "url": f"{API}/party-members",
            "json": {"person": {"name": "新党员(生成)"}, "org_id": w.org["branch"]},
        },
        COMMUNITY_OFFICE,
    ),
    ("PATCH", "/api/v1/party-members/{member_id}"): (
        lambda w: {"url": f"{API}/party-members/{w.org['member']}", "json": {"in_service": True}},
        COMMUNITY_OFFICE,
    ),
    ("DELETE", "/api/v1/party-members/{member_id}"): (
        lambda w: {"url": f"{API}/party-members/{w.org['member']}"},
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/party-members/{member_id}/register"): (
        lambda w: {
            "url": f"{API}/party-members/{w.org['member']}/register",
            "json": {"community_code": COMMUNITY},
        },
        COMMUNITY_OFFICE,
    ),
    ("POST", "/api/v1/resident-units"): (
        lambda w: {
            "url": f"{API}/resident-units",
            "json": {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": list(IN_WEST)},
                "properties": {"name": "某学校(生成)", "kind": "school"},
            },
        },
        COMMUNITY_OFFICE,
    ),
    ("PATCH", "/api/v1/resident-units/{unit_id}"): (
        lambda w: {
            "url": f"{API}/resident-units/{w.org['unit']}",
            "json": {"properties": {"committee_id": w.org["committee"]}},
        },
        COMMUNITY_OFFICE,
    ),
    ("DELETE", "/api/v1/resident-units/{unit_id}"): (
        lambda w: {"url": f"{API}/resident-units/{w.org['unit']}"},
        COMMUNITY_OFFICE,
    ),
}
READS = {("POST", "/api/v1/lookup"): "many points looked up at once"}
# Operations that answer who may per item (200 with a status each): tests/api/test_board.py.
PER_ITEM = {("POST", "/api/v1/incidents/bulk/{step}"): "one step on many incidents"}
# The lists' flow and posts name the member or the branch who acts, besides the office: every
# step × every role in tests/api/test_list_flow.py and tests/api/test_posts.py; the public form
# takes no token at all (tests/api/test_public_needs.py).
PER_ITEM |= {
    ("POST", "/api/v1/lists/{item_id}/assign"): "to a member, unit or team of the item's place",
    ("POST", "/api/v1/lists/{item_id}/claim"): "a member's own claim",
    ("POST", "/api/v1/lists/{item_id}/complete"): "what the member took, or its branch's",
    ("PATCH", "/api/v1/party-posts/{post_id}"): "a post of the caller's community or grids",
    ("DELETE", "/api/v1/party-posts/{post_id}"): "a post of the caller's community or grids",
    ("POST", "/api/v1/party-posts/{post_id}/claim"): "a member's own claim",
    ("POST", "/api/v1/party-posts/{post_id}/release"): "the holder, or an office or branch",
    ("POST", "/api/v1/party-posts/{post_id}/hours"): "the holder, or an office or branch",
    ("POST", "/api/v1/public/{community}/needs"): "anyone, a few an hour per client",
}
# A patrol is its walker's alone, whatever the role: tests/api/test_patrols.py.
PER_ITEM |= {
    (method, f"/api/v1/patrols/{{key}}{tail}"): "the caller's own patrol"
    for method, tail in (("PUT", ""), ("PUT", "/pieces/{seq}"), ("POST", "/end"))
}


def expected(caller: str) -> int | None:
    """The status a caller gets: 401 without a token, 403 outside its role or region, and
    ``None`` (any 2xx) for the right office and an admin."""
    if caller == "anonymous":
        return 401
    if caller in ("the right office", "admin"):
        return None
    return 403


def snapshot(db: Session) -> dict[str, str]:
    """A digest of every table's rows; a token's last use is bookkeeping, not a write."""
    tables = db.execute(
        text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' "
            "AND table_name NOT IN ('spatial_ref_sys', 'api_token', 'alembic_version') "
            "ORDER BY table_name"
        )
    ).scalars()
    # Kept as SQL: table names are identifiers, read from the catalogue above.
    return {
        t: db.execute(
            text(
                f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM \"{t}\" x"
            )
        ).scalar_one()
        for t in tables
    }


def test_every_write_route_is_in_the_matrix() -> None:
    spec = create_app().openapi()
    writes = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in ("post", "put", "patch", "delete")
    }
    missing = writes - set(WRITES) - set(READS) - set(PER_ITEM)
    assert not missing, f"write routes without a row in the access matrix: {sorted(missing)}"
    assert not set(WRITES) - writes, "matrix rows for routes the app no longer has"


def cells() -> list[Any]:
    return [
        pytest.param(write, caller, id=f"{write[0]} {write[1]}-{caller}")
        for write in WRITES
        for caller in CALLERS
    ]


@dataclass
class Stage:
    """The world built once for the module, and the session the app's requests use (each
    cell's own, see :func:`cell`)."""

    client: TestClient
    world: World
    callers: dict[str, dict[str, str]]
    conn: Connection
    session: Session


def savepoint_session(conn: Connection) -> Session:
    return Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture(scope="module")
def stage(engine: Engine, settings: Settings) -> Iterator[Stage]:
    """One world for every cell, in a transaction rolled back at the end of the module."""
    conn = engine.connect()
    outer = conn.begin()
    setup = savepoint_session(conn)
    app = create_app(settings)
    holder: list[Stage] = []

    def session() -> Iterator[Session]:
        yield holder[0].session if holder else setup

    app.dependency_overrides[get_session] = session
    try:
        with TestClient(app) as client:
            world = build(client, setup)
            callers = tokens(setup)
            setup.flush()
            holder.append(Stage(client, world, callers, conn, setup))
            yield holder[0]
    finally:
        outer.rollback()
        conn.close()


@pytest.fixture
def cell(stage: Stage) -> Iterator[Stage]:
    """The module's world; whatever a cell writes is undone after it."""
    savepoint = stage.conn.begin_nested()
    stage.session = savepoint_session(stage.conn)
    try:
        yield stage
    finally:
        stage.session.close()
        savepoint.rollback()


@pytest.mark.parametrize(("write", "caller"), cells())
def test_role_and_region_decide_every_write(
    cell: Stage, write: tuple[str, str], caller: str
) -> None:
    client, db = cell.client, cell.session
    make, right = WRITES[write]
    request = make(cell.world)
    who = right if caller == "the right office" else caller
    request["headers"] = {**request.get("headers", {}), **cell.callers[who]}
    before = snapshot(db)
    r = client.request(write[0], **request)
    want = expected(caller)
    if want is None:
        assert 200 <= r.status_code < 300, r.text
        return
    assert r.status_code == want, r.text
    body = r.json()
    assert body["code"] in ("unauthorized", "forbidden"), body
    assert body["detail"], body
    assert snapshot(db) == before


def test_matching_a_resource_of_another_street_is_refused_and_changes_nothing(
    cell: Stage,
) -> None:
    client, db, world = cell.client, cell.session, cell.world
    admin = cell.callers["admin"]
    elsewhere = client.post(
        f"{API}/lists",
        headers=admin,
        json={
            "list": "resource",
            "category": "助老服务",
            "title": "他街道食堂",
            "owner_kind": "unit",
            "owner_name": "他单位",
            "x": 116.365,
            "y": 40.005,
        },
    )
    assert elsewhere.status_code == 201, elsewhere.text
    assert elsewhere.json()["properties"]["grid_code"] == OTHER_COMMUNITY + "001"
    resource = elsewhere.json()["properties"]["id"]
    office = cell.callers["the right office"]
    before = snapshot(db)
    r = client.post(
        f"{API}/lists/match", headers=office, json={"need": world.need, "resource": resource}
    )
    assert r.status_code == 403, r.text
    assert OTHER_COMMUNITY in r.json()["detail"] and r.json()["code"] == "forbidden"
    assert snapshot(db) == before
    statuses = db.execute(
        text("SELECT id, status FROM list_item WHERE id IN (:n, :r)"),
        {"n": world.need, "r": resource},
    ).all()
    assert dict(statuses) == {world.need: "open", resource: "open"}


# Approvals (延期/挂账): an incident held by the target street, with a grid sub-task whose
# extension waits for the street's decision; its ids are known once the module's world is built.
HELD: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def held(stage: Stage) -> None:
    from datetime import UTC, datetime

    from tests.utils.staged import staged_incident, staged_task

    due = datetime(2026, 12, 10, tzinfo=UTC)
    db = stage.session
    HELD["incident"] = staged_incident(db, due_at=due)
    HELD["task"] = staged_task(db, HELD["incident"], due_at=due)
    HELD["approval"] = db.execute(
        text(
            "INSERT INTO approval (incident_id, task_id, kind, reason, hours, requested_by, "
            "decider_code) VALUES (:i, :t, 'extend', '等配件', 24, '西网格员', :s) RETURNING id"
        ),
        {"i": HELD["incident"], "t": HELD["task"], "s": STREET},
    ).scalar_one()
    db.flush()


def _held_if_match() -> dict[str, str]:
    return {"If-Match": f'"{HELD["incident"]}.v1"'}


APPROVAL_WRITES: dict[tuple[str, str], tuple[Request, str]] = {
    ("POST", "/api/v1/incidents/{incident_id}/approvals"): (
        lambda w: {
            "url": f"{API}/incidents/{HELD['incident']}/approvals",
            "headers": _held_if_match(),
            "json": {"kind": "park", "reason": "待协调"},
        },
        STREET_OFFICE,
    ),
    **{
        ("POST", f"/api/v1/approvals/{{approval_id}}/{verb}"): (
            lambda w, verb=verb: {
                "url": f"{API}/approvals/{HELD['approval']}/{verb}",
                "headers": _held_if_match(),
            },
            STREET_OFFICE,
        )
        for verb in ("approve", "refuse")
    },
}
WRITES.update(APPROVAL_WRITES)


@pytest.mark.parametrize(
    ("write", "caller"),
    [
        pytest.param(write, caller, id=f"{write[0]} {write[1]}-{caller}")
        for write in APPROVAL_WRITES
        for caller in CALLERS
    ],
)
def test_role_and_region_decide_every_approval_write(
    cell: Stage, write: tuple[str, str], caller: str
) -> None:
    test_role_and_region_decide_every_write(cell, write, caller)
