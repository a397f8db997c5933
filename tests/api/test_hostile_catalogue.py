"""The hostile-input catalogue: every request a tester threw at gridmap, and what it must answer.

Each case is sent as it was sent from outside (a raw query string, raw bytes, a crafted file),
and each asserts three things: the status, the error's ``code`` with words naming what is wrong,
and that nothing was written (every row of every table a write could touch hashes the same
before and after; photo files on disk stay as they were).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import (
    COMMUNITY,
    EAST_GRID,
    STREET,
    WEST_GRID,
    add_region,
    bearer,
    feature,
    polygon,
    rect,
    square,
    two_grids,
)
from tests.utils.homes import add_building

from gridmap.dependencies import get_session
from gridmap.main import create_app
from gridmap.settings import Settings

API = "/api/v1"
INC = f"{API}/incidents"
OTHER_STREET = "110108015"
OTHER_COMMUNITY = OTHER_STREET + "001"
# Every table a write endpoint can change; the audit log too, so a refused write leaves no trace.
WATCHED = (
    "region",
    "grid",
    "grid_staff",
    "person",
    "building",
    "household",
    "service_center",
    "service_circle",
    "list_item",
    "incident",
    "incident_event",
    "care_tag",
    "visit",
    "audit_log",
)


def fingerprint(db: Session) -> dict[str, str | None]:
    """A hash of every row of every watched table."""
    return {
        table: db.execute(
            text(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t")
        ).scalar_one()
        for table in WATCHED
    }


def png(width: int, height: int, idat: bytes) -> bytes:
    """A PNG whose header claims ``width`` × ``height``, with ``idat`` as its compressed data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


# A 60000 × 60000 grey PNG whose data inflates to 3.6 GB of zeros; the file is a few MB.
def bomb() -> bytes:
    squeeze = zlib.compressobj(9)
    row = b"\x00" * 60001
    parts = [squeeze.compress(row) for _ in range(2000)]
    parts.append(squeeze.flush())
    return png(60000, 60000, b"".join(parts))


@dataclass
class Case:
    """One hostile request and the answer it must get."""

    id: str
    method: str
    path: str
    status: int
    codes: tuple[str, ...]
    # Words the error must contain (lower-cased compare): the field or row it is about.
    says: str
    caller: str = "anonymous"
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    file: tuple[str, bytes] | None = None
    form: dict[str, str] | None = None


NUL = "\x00"
GOOD_INCIDENT = {"x": 116.342, "y": 40.005, "category": "市容环境/暴露垃圾"}
GOOD_ITEM = {
    "list": "need",
    "category": "助老服务",
    "title": "老人助餐",
    "owner_kind": "resident",
    "x": 116.342,
    "y": 40.005,
}
CSV_HEAD = "lon,lat,category,reported_at,description,idempotency_key\n"
ROW = "116.342,40.005,市容环境/暴露垃圾,2026-05-01T08:00:00+08:00,垃圾,{key}\n"


def geojson_file(features: Any) -> bytes:
    import json

    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


CONTROL = ("control_character",)
INVALID = ("invalid_input",)

CASES = [
    # -- a NUL or another control character, anywhere text comes in --------------------------
    Case("nul-lists-category", "GET", f"{API}/lists?category=%00", 422, CONTROL, "category"),
    Case("nul-incidents-category", "GET", f"{INC}?category=%00", 422, CONTROL, "category"),
    Case("nul-incidents-state", "GET", f"{INC}?state=%00", 422, CONTROL, "state"),
    Case("nul-address-q", "GET", f"{API}/lookup/address?q=%00abc", 422, CONTROL, "q"),
    Case(
        "nul-lookup-crs", "GET", f"{API}/lookup?lon=116.342&lat=40.005&crs=%00", 422, CONTROL, "crs"
    ),
    Case("bell-grids-community", "GET", f"{API}/grids?community=%07", 422, CONTROL, "community"),
    Case("esc-regions-parent", "GET", f"{API}/regions?parent=%1b", 422, CONTROL, "parent"),
    Case("nul-path-region", "GET", f"{API}/regions/110%00108", 422, CONTROL, "code"),
    Case("nul-path-grid", "GET", f"{API}/grids/{WEST_GRID}%00", 422, CONTROL, "code"),
    Case("nul-export-layer", "GET", f"{API}/export/gr%00ids", 422, CONTROL, "layer"),
    Case(
        "nul-body-incident-category",
        "POST",
        INC,
        422,
        CONTROL,
        "category",
        caller="worker",
        json={**GOOD_INCIDENT, "category": "市容环境/暴露垃圾" + NUL},
    ),
    Case(
        "bell-body-incident-description",
        "POST",
        INC,
        422,
        CONTROL + INVALID,
        "description",
        caller="worker",
        json={**GOOD_INCIDENT, "description": "垃圾\x07"},
    ),
    Case(
        "nul-body-step-reason",
        "POST",
        f"{INC}/{{incident}}/cancel",
        422,
        CONTROL,
        "reason",
        caller="street",
        json={"reason": "无效" + NUL},
        headers={"If-Match": '"{incident}.v1"'},
    ),
    Case(
        "nul-body-list-title",
        "POST",
        f"{API}/lists",
        422,
        CONTROL + INVALID,
        "title",
        caller="office",
        json={**GOOD_ITEM, "title": "老人" + NUL},
    ),
    Case(
        "nul-body-nested-key",
        "POST",
        f"{API}/grids",
        422,
        CONTROL,
        "properties",
        caller="office",
        json=feature(
            rect(116.341, 40.001, 116.344, 40.004),
            community_code=COMMUNITY,
            name="新网格",
            **{"na\x00me": "x"},
        ),
    ),
    Case(
        "nul-body-grid-name",
        "PATCH",
        f"{API}/grids/{WEST_GRID}",
        422,
        CONTROL + INVALID,
        "name",
        caller="office",
        json={"type": "Feature", "geometry": None, "properties": {"name": "西" + NUL}},
        headers={"If-Match": "{etag}"},
    ),
    Case(
        "nul-body-centre-name",
        "POST",
        f"{API}/service-centers",
        422,
        CONTROL + INVALID,
        "name",
        caller="office",
        json={"code": "c-1", "kind": "party_mass", "name": "中心" + NUL, "x": 116.342, "y": 40.005},
    ),
    Case(
        "nul-form-photo-field",
        "POST",
        f"{INC}/{{incident}}/photos",
        422,
        CONTROL + INVALID,
        "keep_location",
        caller="worker",
        file=("a.png", png(1, 1, zlib.compress(b"\x00\x00"))),
        form={"keep_location": "tr" + NUL + "ue"},
    ),
    Case(
        "nul-open311-service-code",
        "GET",
        "/open311/v2/requests.json?service_code=%00",
        400,
        (),
        "service_code",
    ),
    # -- bodies that are not JSON, or JSON no parser should recurse into ----------------------
    Case(
        "invalid-utf8-body",
        "POST",
        INC,
        422,
        ("invalid_json",),
        "utf-8",
        caller="worker",
        content=b'{"x": 116.342, "y": 40.005, "category": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    ),
    Case(
        "deep-json-body",
        "POST",
        INC,
        422,
        ("too_deep", "invalid_json"),
        "deep",
        caller="worker",
        content=b"[" * 10_000 + b"]" * 10_000,
        headers={"Content-Type": "application/json"},
    ),
    Case(
        "truncated-json-body",
        "POST",
        INC,
        422,
        ("invalid_json", "invalid_input"),
        "json",
        caller="worker",
        content=b'{"x": 116.342, "y":',
        headers={"Content-Type": "application/json"},
    ),
    Case(
        "nan-in-body",
        "POST",
        INC,
        422,
        INVALID + ("invalid_json",),
        "finite",
        caller="worker",
        content=b'{"x": NaN, "y": 40.005, "category": "abc/def"}',
        headers={"Content-Type": "application/json"},
    ),
    Case(
        "infinity-in-body",
        "POST",
        INC,
        422,
        INVALID + ("invalid_json",),
        "finite",
        caller="worker",
        content=b'{"x": 1e999, "y": 40.005, "category": "abc"}',
        headers={"Content-Type": "application/json"},
    ),
    Case(
        "utf16-body-hiding-a-nul",
        "POST",
        INC,
        422,
        ("invalid_json",),
        "utf-8",
        caller="worker",
        content='{"x": 116.342, "y": 40.005, "category": "\u0000"}'.encode("utf-16-le"),
        headers={"Content-Type": "application/json"},
    ),
    Case(
        "lone-surrogate-in-body",
        "POST",
        INC,
        422,
        ("invalid_json",),
        "description",
        caller="worker",
        content=b'{"x": 116.342, "y": 40.005, "category": "abc/def", "description": "\\ud800"}',
        headers={"Content-Type": "application/json"},
    ),
    Case("array-body", "POST", INC, 422, INVALID, "object", caller="worker", json=[GOOD_INCIDENT]),
    Case(
        "null-body",
        "POST",
        INC,
        422,
        INVALID,
        "object",
        caller="worker",
        content=b"null",
        headers={"Content-Type": "application/json"},
    ),
    Case(
        "empty-body",
        "POST",
        INC,
        422,
        INVALID,
        "required",
        caller="worker",
        content=b"",
        headers={"Content-Type": "application/json"},
    ),
    Case(
        "unknown-field",
        "POST",
        INC,
        422,
        INVALID,
        "color",
        caller="worker",
        json={**GOOD_INCIDENT, "color": "red"},
    ),
    Case(
        "oversized-body",
        "POST",
        f"{API}/grids",
        413,
        ("too_large",),
        "larger than",
        caller="office",
        content=b'{"type": "Feature", "pad": "' + b"x" * (11 * 1024 * 1024) + b'"}',
        headers={"Content-Type": "application/json"},
    ),
    # -- coordinates and geometry -------------------------------------------------------------
    Case(
        "swapped-lonlat",
        "POST",
        INC,
        422,
        ("outside_china",),
        "swapped",
        caller="worker",
        json={**GOOD_INCIDENT, "x": 40.005, "y": 116.342},
    ),
    Case(
        "unknown-crs",
        "POST",
        INC,
        422,
        ("unknown_crs",),
        "epsg:9999",
        caller="worker",
        json={**GOOD_INCIDENT, "crs": "EPSG:9999"},
    ),
    Case("lookup-lon-words", "GET", f"{API}/lookup?lon=east&lat=40", 422, INVALID, "lon"),
    Case(
        "lookup-lon-nan",
        "GET",
        f"{API}/lookup?lon=nan&lat=40",
        422,
        INVALID + ("outside_china",),
        "finite",
    ),
    Case("bbox-too-big", "GET", f"{API}/lists?bbox=100,20,120,45", 422, INVALID, "bbox"),
    Case("bbox-three-numbers", "GET", f"{API}/lists?bbox=116,40,117", 422, INVALID, "bbox"),
    Case("limit-negative", "GET", f"{INC}?limit=-1", 422, INVALID, "limit"),
    Case("limit-huge", "GET", f"{INC}?limit=1000000000", 422, INVALID, "limit"),
    Case("bad-from", "GET", f"{INC}?from=yesterday", 422, INVALID, "from="),
    Case("bad-to", "GET", f"{INC}?to=2026-13-45", 422, INVALID, "to="),
    Case("bad-at", "GET", f"{API}/grids?at=soon", 422, INVALID, "at="),
    Case(
        "self-intersecting-grid",
        "POST",
        f"{API}/grids",
        422,
        ("invalid_geometry",),
        "self-intersection",
        caller="office",
        json=feature(
            polygon((116.341, 40.001), (116.344, 40.004), (116.344, 40.001), (116.341, 40.004)),
            community_code=COMMUNITY,
            name="新网格",
        ),
    ),
    Case(
        "point-as-grid",
        "POST",
        f"{API}/grids",
        422,
        INVALID + ("invalid_geometry",),
        "polygon",
        caller="office",
        json=feature(
            {"type": "Point", "coordinates": [116.342, 40.005]},
            community_code=COMMUNITY,
            name="新网格",
        ),
    ),
    Case(
        "grid-spilling-out",
        "POST",
        f"{API}/grids",
        422,
        ("outside_community",),
        "outside",
        caller="office",
        json=feature(
            rect(116.335, 40.001, 116.341, 40.004), community_code=COMMUNITY, name="新网格"
        ),
    ),
    Case(
        "grid-open-ring",
        "POST",
        f"{API}/grids",
        422,
        INVALID + ("invalid_geometry",),
        "closed",
        caller="office",
        json=feature(
            {
                "type": "Polygon",
                "coordinates": [
                    [[116.341, 40.001], [116.344, 40.001], [116.344, 40.004], [116.341, 40.004]]
                ],
            },
            community_code=COMMUNITY,
            name="新网格",
        ),
    ),
    # -- who may write, and where ---------------------------------------------------------------
    Case("anonymous-report", "POST", INC, 401, ("unauthorized",), "token", json=GOOD_INCIDENT),
    Case(
        "unknown-token",
        "POST",
        INC,
        401,
        ("unauthorized",),
        "token",
        json=GOOD_INCIDENT,
        headers={"Authorization": "Bearer gm_not-a-token"},
    ),
    Case(
        "viewer-report",
        "POST",
        INC,
        403,
        ("forbidden",),
        "token",
        caller="viewer",
        json=GOOD_INCIDENT,
    ),
    Case(
        "worker-reports-in-other-grid",
        "POST",
        INC,
        403,
        ("forbidden",),
        "outside",
        caller="other_worker",
        json=GOOD_INCIDENT,
    ),
    Case(
        "other-street-imports-here",
        "POST",
        f"{INC}/import?commit=true",
        403,
        ("forbidden",),
        "outside",
        caller="other_street",
        file=("hotline.csv", (CSV_HEAD + ROW.format(key="x-1")).encode()),
    ),
    Case(
        "other-street-matches-here",
        "POST",
        f"{API}/lists/match",
        403,
        ("forbidden",),
        "outside",
        caller="other_street",
        json={"need": "{need}", "resource": "{resource}"},
    ),
    Case(
        "other-community-edits-grid",
        "PUT",
        f"{API}/grids/{WEST_GRID}",
        403,
        ("forbidden",),
        "outside",
        caller="other_office",
        json=feature(rect(116.34, 40.0, 116.345, 40.01)),
        headers={"If-Match": "{etag}"},
    ),
    Case(
        "if-match-star-put",
        "PUT",
        f"{API}/grids/{WEST_GRID}",
        428,
        ("if_match_required",),
        "if-match",
        caller="office",
        json=feature(rect(116.34, 40.0, 116.345, 40.01), name="西网格"),
        headers={"If-Match": "*"},
    ),
    Case(
        "if-match-star-delete",
        "DELETE",
        f"{API}/grids/{WEST_GRID}",
        428,
        ("if_match_required",),
        "if-match",
        caller="office",
        headers={"If-Match": "*"},
    ),
    Case(
        "no-if-match-patch",
        "PATCH",
        f"{API}/grids/{WEST_GRID}",
        428,
        ("if_match_required",),
        "if-match",
        caller="office",
        json={"type": "Feature", "geometry": None, "properties": {"name": "西"}},
    ),
    Case(
        "stale-if-match",
        "PATCH",
        f"{API}/grids/{WEST_GRID}",
        412,
        ("stale_etag",),
        "changed",
        caller="office",
        json={"type": "Feature", "geometry": None, "properties": {"name": "西"}},
        headers={"If-Match": '"0"'},
    ),
    # A caller without the right learns nothing of what exists: 403 before 404.
    Case(
        "viewer-patches-missing-item",
        "PATCH",
        f"{API}/lists/987654321",
        403,
        ("forbidden",),
        "may not",
        caller="viewer",
        json={"title": "x"},
    ),
    Case(
        "viewer-deletes-missing-item",
        "DELETE",
        f"{API}/lists/987654321",
        403,
        ("forbidden",),
        "may not",
        caller="viewer",
    ),
    Case(
        "viewer-photo-to-missing-incident",
        "POST",
        f"{INC}/987654321/photos",
        403,
        ("forbidden",),
        "may not",
        caller="viewer",
        file=("a.png", b"\x89PNG\r\n\x1a\n"),
    ),
    # -- workflow and identity ------------------------------------------------------------------
    Case(
        "close-a-reported-incident",
        "POST",
        f"{INC}/{{incident}}/close",
        409,
        ("conflict",),
        "reported",
        caller="street",
        json={},
        headers={"If-Match": '"{incident}.v1"'},
    ),
    Case(
        "unknown-action",
        "POST",
        f"{INC}/{{incident}}/explode",
        404,
        ("not_found",),
        "no step",
        caller="street",
        json={},
    ),
    Case(
        "merge-into-itself",
        "POST",
        f"{INC}/{{incident}}/merge",
        422,
        INVALID,
        "itself",
        caller="street",
        json={"into": "{incident}"},
    ),
    Case(
        "merge-into-nothing",
        "POST",
        f"{INC}/{{incident}}/merge",
        404,
        ("not_found",),
        "no incident",
        caller="street",
        json={"into": 987654321},
    ),
    Case(
        "merge-into-a-duplicate",
        "POST",
        f"{INC}/{{incident}}/merge",
        409,
        ("conflict",),
        "merged",
        caller="street",
        json={"into": "{merged}"},
    ),
    # -- files: incident imports and photos -----------------------------------------------------
    *[
        Case(
            f"import-{name}",
            "POST",
            f"{INC}/import?commit=true",
            422,
            codes,
            says,
            caller="street",
            file=(filename, data),
        )
        for name, filename, data, codes, says in [
            (
                "short-row",
                "h.csv",
                b"lon,lat,category\n116.35,40.005\n",
                ("invalid_file", "invalid_row"),
                "row 2",
            ),
            (
                "repeated-column",
                "h.csv",
                b"lon,lat,lon,category\n116.342,40.005,116.342,x/y\n",
                ("invalid_file",),
                "lon",
            ),
            (
                "lone-surrogate",
                "h.geojson",
                b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
                b'{"type": "Point", "coordinates": [116.342, 40.005]}, "properties": '
                b'{"category": "\\ud800"}}]}',
                ("invalid_file",),
                "surrogate",
            ),
            ("empty", "h.csv", b"", ("invalid_file", "invalid_row"), "empty"),
            (
                "invalid-utf8",
                "h.csv",
                "lon,lat,category\n116.342,40.005,市容\n".encode("gbk"),
                ("invalid_file", "invalid_row"),
                "utf-8",
            ),
            ("binary", "h.csv", bytes(range(256)) * 8, ("invalid_file", "invalid_row"), "h.csv"),
            (
                "invalid-json",
                "h.geojson",
                b'{"type": "FeatureCollection", "features": [',
                ("invalid_file", "invalid_row"),
                "json",
            ),
            (
                "features-number",
                "h.geojson",
                geojson_file([5]),
                ("invalid_file", "invalid_row"),
                "feature 1",
            ),
            (
                "geometry-list",
                "h.geojson",
                geojson_file(
                    [
                        {
                            "type": "Feature",
                            "geometry": [1],
                            "properties": {"category": "市容环境/暴露垃圾"},
                        }
                    ]
                ),
                ("invalid_file", "invalid_row"),
                "geometry",
            ),
            (
                "properties-list",
                "h.geojson",
                geojson_file(
                    [
                        {
                            "type": "Feature",
                            "geometry": {"type": "Point", "coordinates": [116.342, 40.005]},
                            "properties": [1, 2],
                        }
                    ]
                ),
                ("invalid_file", "invalid_row"),
                "properties",
            ),
            (
                "deep-nesting",
                "h.geojson",
                b"[" * 10_000 + b"]" * 10_000,
                ("invalid_file",),
                "deep",
            ),
            (
                "year-0001",
                "h.csv",
                (CSV_HEAD + ROW.replace("2026-05-01", "0001-05-01").format(key="y")).encode(),
                ("invalid_file", "invalid_row"),
                "reported_at",
            ),
            (
                "future-date",
                "h.csv",
                (CSV_HEAD + ROW.replace("2026-05-01", "2099-05-01").format(key="f")).encode(),
                ("invalid_file", "invalid_row"),
                "future",
            ),
            (
                "long-description",
                "h.csv",
                (
                    CSV_HEAD + ROW.replace(",垃圾,", "," + "长" * 2001 + ",").format(key="d")
                ).encode(),
                ("invalid_file", "invalid_row"),
                "description",
            ),
            (
                "nul-in-cell",
                "h.csv",
                (CSV_HEAD + ROW.replace(",垃圾,", ",垃\x00圾,").format(key="n")).encode(),
                ("invalid_row",),
                "description",
            ),
            ("not-a-table", "h.txt", b"hello", ("invalid_file", "invalid_row"), "h.txt"),
        ]
    ],
    Case(
        "photo-png-header-and-zeros",
        "POST",
        f"{INC}/{{incident}}/photos",
        422,
        ("invalid_file",),
        "image",
        caller="worker",
        file=("site.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100),
    ),
    Case(
        "photo-decompression-bomb",
        "POST",
        f"{INC}/{{incident}}/photos",
        422,
        ("invalid_file",),
        "pixels",
        caller="worker",
        file=("bomb.png", bomb()),
    ),
    Case(
        "photo-script",
        "POST",
        f"{INC}/{{incident}}/photos",
        422,
        ("invalid_file",),
        "image",
        caller="worker",
        file=("x.png", b"<script>alert(1)</script>"),
    ),
    Case(
        "photo-gif",
        "POST",
        f"{INC}/{{incident}}/photos",
        422,
        ("invalid_file",),
        "jpeg",
        caller="worker",
        file=("x.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
    ),
    # -- Open311 -------------------------------------------------------------------------------
    Case(
        "open311-bad-start-date",
        "GET",
        "/open311/v2/requests.json?start_date=yesterday",
        400,
        (),
        "start_date",
    ),
    Case("open311-bad-id", "GET", "/open311/v2/requests/abc.json", 400, (), "request"),
    Case(
        "open311-unknown-status",
        "GET",
        "/open311/v2/requests.json?status=burning",
        400,
        (),
        "status",
    ),
]


# Visits and care tags: a household of the west grid ({household}).
NOW = datetime.now().astimezone()
GOOD_VISIT = {"household_id": "{household}", "at": NOW.isoformat(), "outcome": "met"}
VISIT_CASES = [
    Case(
        "nul-body-visit-note",
        "POST",
        f"{API}/visits",
        422,
        CONTROL + INVALID,
        "note",
        caller="worker",
        json={**GOOD_VISIT, "note": "见到" + NUL},
    ),
    Case(
        "visit-in-the-future",
        "POST",
        f"{API}/visits",
        422,
        ("visit_time_out_of_range",),
        "future",
        caller="worker",
        json={**GOOD_VISIT, "at": "2099-05-01T08:00:00+08:00"},
    ),
    Case(
        "visit-in-year-one",
        "POST",
        f"{API}/visits",
        422,
        ("visit_time_out_of_range",),
        "30 days",
        caller="worker",
        json={**GOOD_VISIT, "at": "0001-01-01T00:00:00+08:00"},
    ),
    Case(
        "visit-unknown-outcome",
        "POST",
        f"{API}/visits",
        422,
        INVALID,
        "outcome",
        caller="worker",
        json={**GOOD_VISIT, "outcome": "tea"},
    ),
    Case(
        "visit-household-as-text",
        "POST",
        f"{API}/visits",
        422,
        INVALID,
        "household_id",
        caller="worker",
        json={**GOOD_VISIT, "household_id": "楼下那户"},
    ),
    Case(
        "visit-household-huge",
        "POST",
        f"{API}/visits",
        422,
        INVALID,
        "household_id",
        caller="worker",
        json={**GOOD_VISIT, "household_id": 10**30},
    ),
    Case(
        "visit-by-another-grid",
        "POST",
        f"{API}/visits",
        403,
        ("forbidden",),
        "outside",
        caller="other_worker",
        json=GOOD_VISIT,
    ),
    Case(
        "visit-by-a-viewer",
        "POST",
        f"{API}/visits",
        403,
        ("forbidden",),
        "viewer",
        caller="viewer",
        json=GOOD_VISIT,
    ),
    Case(
        "care-tag-unknown",
        "PUT",
        f"{API}/households/{{household}}/care-tags/astronaut",
        422,
        INVALID,
        "tag",
        caller="office",
        json={},
    ),
    Case(
        "nul-body-care-tag-note",
        "PUT",
        f"{API}/households/{{household}}/care-tags/elderly_alone",
        422,
        CONTROL + INVALID,
        "note",
        caller="office",
        json={"note": "独居" + NUL},
    ),
    Case(
        "care-tag-interval-zero",
        "PUT",
        f"{API}/households/{{household}}/care-tags/elderly_alone",
        422,
        INVALID,
        "interval_days",
        caller="office",
        json={"interval_days": 0},
    ),
    Case(
        "care-tag-by-a-viewer",
        "PUT",
        f"{API}/households/{{household}}/care-tags/elderly_alone",
        403,
        ("forbidden",),
        "viewer",
        caller="viewer",
        json={},
    ),
    Case(
        "nul-overdue-at",
        "GET",
        f"{API}/visits/overdue?grid={WEST_GRID}&at=%00",
        422,
        CONTROL,
        "at",
        caller="street",
    ),
    Case(
        "overdue-at-not-a-time",
        "GET",
        f"{API}/visits/overdue?grid={WEST_GRID}&at=yesterday",
        422,
        INVALID,
        "at",
        caller="street",
    ),
    Case(
        "visits-from-not-a-time",
        "GET",
        f"{API}/visits?from=2026-13-45",
        422,
        INVALID,
        "from",
        caller="street",
    ),
    Case(
        "field-pack-for-an-office",
        "GET",
        f"{API}/me/field",
        403,
        ("forbidden",),
        "field pack",
        caller="office",
    ),
]
CASES += VISIT_CASES


@pytest.fixture
def world(settings: Settings, db: Session, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Two grids of one community, a second street, tokens of every kind, an incident (and a
    duplicate merged into another), a need and a resource; a client with its own photo folder."""
    s = settings.model_copy(deep=True)
    s.api.media_dir = tmp_path
    app = create_app(s)

    def one_session() -> Iterator[Session]:
        yield db

    app.dependency_overrides[get_session] = one_session
    two_grids(db)
    other = square(116.36, 40.0, 116.37, 40.01)
    add_region(db, OTHER_STREET, "street", "清河街道", STREET[:6], other)
    add_region(db, OTHER_COMMUNITY, "community", "清河社区", OTHER_STREET, other)
    building = add_building(db, "W001", WEST_GRID, (116.342, 40.005), 1)
    household = db.execute(
        text("SELECT id FROM household WHERE building_id = :b"), {"b": building}
    ).scalar_one()
    db.flush()
    callers = {
        "anonymous": {},
        "office": bearer(db),
        "other_office": bearer(db, "community", OTHER_COMMUNITY, "清河社区办"),
        "street": bearer(db, "street", STREET, "学院路街道指挥中心"),
        "other_street": bearer(db, "street", OTHER_STREET, "清河街道指挥中心"),
        "worker": bearer(db, "worker", WEST_GRID, "西网格员"),
        "other_worker": bearer(db, "worker", EAST_GRID, "东网格员"),
        "viewer": bearer(db, "viewer", STREET, "查看者"),
        "admin": bearer(db, "admin", None, "管理员"),
    }
    with TestClient(app) as client:

        def made(r: Any) -> int:
            assert r.status_code == 201, r.text
            return int(r.json()["properties"]["id"])

        incident = made(client.post(INC, json=GOOD_INCIDENT, headers=callers["worker"]))
        original = made(
            client.post(INC, json={**GOOD_INCIDENT, "x": 116.343}, headers=callers["worker"])
        )
        merged = made(
            client.post(INC, json={**GOOD_INCIDENT, "x": 116.3431}, headers=callers["worker"])
        )
        r = client.post(f"{INC}/{merged}/merge", json={"into": original}, headers=callers["street"])
        assert r.status_code == 200, r.text
        need = made(client.post(f"{API}/lists", json=GOOD_ITEM, headers=callers["office"]))
        resource = made(
            client.post(
                f"{API}/lists",
                json={**GOOD_ITEM, "list": "resource", "owner_kind": "unit", "title": "助餐点"},
                headers=callers["office"],
            )
        )
        etag = client.get(f"{API}/grids/{WEST_GRID}").headers["ETag"]
        yield {
            "client": client,
            "callers": callers,
            "media": tmp_path,
            "fill": {
                "incident": incident,
                "merged": merged,
                "need": need,
                "resource": resource,
                "etag": etag,
                "household": household,
            },
        }


def _filled(value: Any, fill: Callable[[str], Any]) -> Any:
    if isinstance(value, str):
        return fill(value)
    if isinstance(value, dict):
        return {k: _filled(v, fill) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, fill) for v in value]
    return value


def _photos(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_the_catalogue_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, world: dict[str, Any], db: Session) -> None:
    values = world["fill"]

    def fill(s: str) -> Any:
        whole = s[1:-1] if s.startswith("{") and s.endswith("}") else None
        if whole in values:  # a bare placeholder keeps its type: ids stay numbers
            return values[whole]
        return s.format(**values) if "{" in s and "}" in s else s

    client: TestClient = world["client"]
    headers = {**world["callers"][case.caller], **_filled(case.headers, fill)}
    before, photos = fingerprint(db), _photos(world["media"])
    kwargs: dict[str, Any] = {"headers": headers}
    if case.json is not None:
        kwargs["json"] = _filled(case.json, fill)
    if case.content is not None:
        kwargs["content"] = case.content
    if case.file is not None:
        kwargs["files"] = {
            "file": (case.file[0], io.BytesIO(case.file[1]), "application/octet-stream")
        }
        if case.form:
            kwargs["data"] = case.form
    r = client.request(case.method, fill(case.path), **kwargs)

    assert r.status_code == case.status, r.text[:500]
    body = r.json()
    if case.path.startswith("/open311/"):
        # GeoReport v2 errors: a list of {code, description}.
        assert isinstance(body, list) and body, body
        assert body[0]["code"] == case.status
        words = " ".join(e["description"] for e in body)
    else:
        assert body["code"] in case.codes, body
        words = body["detail"]
    assert case.says in words.lower(), words
    assert "/tmp" not in r.text and "Traceback" not in r.text
    assert fingerprint(db) == before
    assert _photos(world["media"]) == photos
