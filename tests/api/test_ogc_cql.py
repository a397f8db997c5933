"""CQL2 filters compiled to SQL and run on PostGIS: each filter selects the incidents and grids
it should, and every bad, hostile or oversized filter is a clear ``bad_filter`` refusal."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from tests.utils.fixtures import BORDER_LON, EAST_GRID, WEST_GRID, two_grids

from gridmap.errors import BadFilter
from gridmap.geo.crs import from_wgs84
from gridmap.models import Grid, Incident
from gridmap.ogc.cql import compile_filter


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    column: Any


INC = Incident.__table__.c
GRID = Grid.__table__.c
INCIDENT_FIELDS = {
    f.name: f
    for f in (
        Field("id", "integer", INC.id),
        Field("category", "string", INC.category),
        Field("severity", "string", INC.severity),
        Field("status", "string", INC.status),
        Field("description", "string", INC.description),
        Field("score", "integer", INC.score),
        Field("distance_to_grid_m", "number", INC.distance_to_grid_m),
        Field("reported_at", "datetime", INC.reported_at),
        Field("closed_at", "datetime", INC.closed_at),
        Field("assignees", "json", INC.assignees),
        Field("grid_code", "string", INC.grid_code),
    )
}
GRID_FIELDS = {
    f.name: f
    for f in (
        Field("code", "string", GRID.code),
        Field("name", "string", GRID.name),
        Field("kind", "string", GRID.kind),
        Field("households", "integer", GRID.households),
        Field("valid_from", "datetime", GRID.valid_from),
    )
}

# Incidents: (key, lon, lat, category, severity, status, reported_at, score, description)
ROWS = [
    (
        "a",
        116.341,
        40.001,
        "市容环境/暴露垃圾",
        "general",
        "reported",
        "2026-03-01T09:00:00+08:00",
        None,
        "楼下垃圾",
    ),
    (
        "b",
        116.343,
        40.008,
        "市容环境/乱堆物料",
        "urgent",
        "closed",
        "2026-03-02T23:30:00+08:00",
        5,
        "It's done",
    ),
    (
        "c",
        116.347,
        40.002,
        "设施管理/路灯",
        "general",
        "closed",
        "2026-03-03T00:30:00+08:00",
        3,
        None,
    ),
    (
        "d",
        116.349,
        40.009,
        "设施管理/井盖",
        "important",
        "dispatched",
        "2026-03-10T12:00:00+08:00",
        None,
        "100%完成",
    ),
]


@pytest.fixture
def data(db: Session) -> dict[str, int]:
    two_grids(db)
    db.execute(sa.text("UPDATE grid SET households = 120 WHERE code = :c"), {"c": WEST_GRID})
    ids: dict[str, int] = {}
    # The rows' month gets its partition, as every writer of gridmap makes it first: the default
    # partition stays empty (PostgreSQL 15 prunes it wrongly under T_DISJOINT's OR).
    db.execute(sa.text("SELECT gridmap_incident_month(DATE '2026-03-01')"))
    for key, lon, lat, cat, sev, status, at, score, desc in ROWS:
        ids[key] = db.execute(
            sa.text(
                "INSERT INTO incident (category, severity, status, reported_at, score, description,"
                " geom) VALUES (:cat, :sev, :status, :at, :score, :desc,"
                " ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) RETURNING id"
            ),
            {
                "cat": cat,
                "sev": sev,
                "status": status,
                "at": at,
                "score": score,
                "desc": desc,
                "lon": lon,
                "lat": lat,
            },
        ).scalar_one()
    db.flush()
    return ids


def incidents(db: Session, expr: str, lang: str = "cql2-text", **kw: Any) -> set[int]:
    cond = compile_filter(expr, lang, INCIDENT_FIELDS, INC.geom, **kw)
    return set(db.scalars(sa.select(INC.id).where(cond)))


def grids(db: Session, expr: str, lang: str = "cql2-text", **kw: Any) -> set[str]:
    cond = compile_filter(expr, lang, GRID_FIELDS, GRID.geom, **kw)
    return set(db.scalars(sa.select(GRID.code).where(GRID.valid_to.is_(None), cond)))


def refusal(expr: str, lang: str = "cql2-text", **kw: Any) -> BadFilter:
    with pytest.raises(BadFilter) as caught:
        compile_filter(expr, lang, INCIDENT_FIELDS, INC.geom, **kw)
    assert caught.value.code == "bad_filter"
    return caught.value


BASIC = [
    ("severity = 'general'", "ac"),
    ("severity <> 'general'", "bd"),
    ("score > 3", "b"),
    ("score >= 3 AND status = 'closed'", "bc"),
    ("severity = 'urgent' OR severity = 'important'", "bd"),
    ("NOT (status = 'closed')", "ad"),
    ("status IN ('closed', 'dispatched')", "bcd"),
    ("status NOT IN ('closed', 'dispatched')", "a"),
    ("score BETWEEN 3 AND 4", "c"),
    ("score NOT BETWEEN 4 AND 10", "c"),
    ("score IS NULL", "ad"),
    ("score IS NOT NULL", "bc"),
    ("category LIKE '市容环境/%'", "ab"),
    ("category NOT LIKE '市容环境/%'", "cd"),
    ("description LIKE '100\\%%'", "d"),
    ("CASEI(description) = casei('IT''S DONE')", "b"),
    ("description = 'It''s done'", "b"),
    ("score * 2 + 1 = 7", "c"),
    ("score / 0 > 1", ""),
    ("(severity = 'general' OR score = 5) AND NOT status = 'reported'", "bc"),
    ("assignees IS NULL", ""),
    ("closed_at IS NULL", "abcd"),
]


@pytest.mark.parametrize(("expr", "keys"), BASIC)
def test_basic_cql2_selects_the_right_incidents(
    db: Session, data: dict[str, int], expr: str, keys: str
) -> None:
    assert incidents(db, expr) == {data[k] for k in keys}, expr


def test_cql_text_is_read_as_cql2_text_and_json_gives_the_same(
    db: Session, data: dict[str, int]
) -> None:
    assert incidents(db, "score >= 3 AND status = 'closed'", "cql-text") == {data["b"], data["c"]}
    tree = {
        "op": "and",
        "args": [
            {"op": ">=", "args": [{"property": "score"}, 3]},
            {"op": "in", "args": [{"property": "status"}, ["closed", "reported"]]},
            {"op": "not", "args": [{"op": "isNull", "args": [{"property": "description"}]}]},
        ],
    }
    assert incidents(db, json.dumps(tree), "cql2-json") == {data["b"]}
    between = {"op": "between", "args": [{"property": "score"}, 2, 4]}
    assert incidents(db, json.dumps(between), "cql2-json") == {data["c"]}
    like = {"op": "like", "args": [{"property": "category"}, "设施%"]}
    assert incidents(db, json.dumps(like), "cql2-json") == {data["c"], data["d"]}


def test_a_filter_over_several_lines_reads(db: Session, data: dict[str, int]) -> None:
    assert incidents(db, "severity = 'general'\n  AND\n  score = 3") == {data["c"]}


WEST = f"POLYGON((116.34 40.0, {BORDER_LON} 40.0, {BORDER_LON} 40.01, 116.34 40.01, 116.34 40.0))"


def test_spatial_operators_on_incidents_and_grids(db: Session, data: dict[str, int]) -> None:
    assert incidents(db, f"S_INTERSECTS(geometry, {WEST})") == {data["a"], data["b"]}
    assert incidents(db, "S_INTERSECTS(geom, BBOX(116.346, 40.0, 116.35, 40.005))") == {data["c"]}
    assert incidents(db, f"S_WITHIN(geometry, {WEST}) AND score = 5") == {data["b"]}
    assert incidents(db, f"S_DISJOINT(geometry, {WEST})") == {data["c"], data["d"]}
    assert grids(db, "S_CONTAINS(geometry, POINT(116.341 40.001))") == {WEST_GRID}
    assert grids(db, f"S_EQUALS(geometry, {WEST})") == {WEST_GRID}
    assert grids(db, f"S_TOUCHES(geometry, {WEST})") == {EAST_GRID}
    assert grids(db, f"S_OVERLAPS(geometry, {WEST})") == set()
    line = "LINESTRING(116.341 40.005, 116.349 40.005)"
    assert grids(db, f"S_CROSSES(geometry, {line})") == {WEST_GRID, EAST_GRID}
    assert grids(db, "S_WITHIN(geometry, BBOX(116.3, 39.9, 116.4, 40.1))") == {WEST_GRID, EAST_GRID}
    geo = {
        "op": "s_intersects",
        "args": [{"property": "geometry"}, {"type": "Point", "coordinates": [116.348, 40.004]}],
    }
    assert grids(db, json.dumps(geo), "cql2-json") == {EAST_GRID}
    box = {
        "op": "s_intersects",
        "args": [{"property": "geometry"}, {"bbox": [116.3, 39.9, 116.342, 40.1]}],
    }
    assert incidents(db, json.dumps(box), "cql2-json") == {data["a"]}


def test_filter_crs_reads_literals_in_that_crs(db: Session, data: dict[str, int]) -> None:
    """Lat/lon for the EPSG URI, GCJ-02 and BD-09 points moved back to WGS 84, metres for 3857."""
    epsg4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
    assert grids(db, "S_CONTAINS(geometry, POINT(40.001 116.341))", filter_crs=epsg4326) == {
        WEST_GRID
    }
    # Just west of the border in WGS 84; its GCJ-02 numbers lie ~500 m away, east of it.
    gx, gy = from_wgs84(BORDER_LON - 0.0005, 40.005, "GCJ-02")
    assert gx > BORDER_LON
    own = "http://127.0.0.1:8000/ogc/crs/gcj02"
    assert grids(db, f"S_CONTAINS(geometry, POINT({gx} {gy}))", filter_crs=own) == {WEST_GRID}
    assert grids(db, f"S_CONTAINS(geometry, POINT({gx} {gy}))") == set()
    bx, by = from_wgs84(BORDER_LON + 0.0005, 40.005, "BD-09")
    bd = "http://127.0.0.1:8000/ogc/crs/bd09"
    assert grids(db, f"S_CONTAINS(geometry, POINT({bx} {by}))", filter_crs=bd) == {EAST_GRID}
    mx, my = from_wgs84(116.341, 40.001, "EPSG:3857")
    web = "http://www.opengis.net/def/crs/EPSG/0/3857"
    assert grids(db, f"S_CONTAINS(geometry, POINT({mx} {my}))", filter_crs=web) == {WEST_GRID}


TEMPORAL = [
    ("T_AFTER(reported_at, TIMESTAMP('2026-03-02T15:30:00Z'))", "cd"),
    ("T_AFTER(reported_at, TIMESTAMP('2026-03-02T15:29:59Z'))", "bcd"),
    ("T_BEFORE(reported_at, TIMESTAMP('2026-03-02T15:30:00Z'))", "a"),
    ("T_EQUALS(reported_at, TIMESTAMP('2026-03-02T15:30:00Z'))", "b"),
    # A day is the day in Beijing: b is late on 2 March there, c just after midnight on the 3rd.
    ("T_INTERSECTS(reported_at, DATE('2026-03-02'))", "b"),
    ("T_EQUALS(reported_at, DATE('2026-03-03'))", "c"),
    ("T_AFTER(reported_at, DATE('2026-03-02'))", "cd"),
    ("T_BEFORE(reported_at, DATE('2026-03-02'))", "a"),
    ("T_DURING(reported_at, INTERVAL('2026-03-02', '2026-03-03'))", "bc"),
    ("T_DURING(reported_at, INTERVAL('2026-03-03', '..'))", "cd"),
    ("T_INTERSECTS(reported_at, INTERVAL('..', '2026-03-01T01:00:00Z'))", "a"),
    ("T_DISJOINT(reported_at, INTERVAL('2026-03-02', '2026-03-03'))", "ad"),
    ("reported_at >= TIMESTAMP('2026-03-10T04:00:00Z')", "d"),
    ("reported_at < DATE('2026-03-02')", "a"),
    ("T_AFTER(reported_at, TIMESTAMP('2026-03-01T09:00:00')) AND severity = 'general'", "c"),
]


@pytest.mark.parametrize(("expr", "keys"), TEMPORAL)
def test_temporal_operators_select_by_reported_time(
    db: Session, data: dict[str, int], expr: str, keys: str
) -> None:
    assert incidents(db, expr) == {data[k] for k in keys}, expr


def test_temporal_json_with_open_interval(db: Session, data: dict[str, int]) -> None:
    tree = {
        "op": "t_during",
        "args": [{"property": "reported_at"}, {"interval": ["2026-03-03T00:00:00+08:00", ".."]}],
    }
    assert incidents(db, json.dumps(tree), "cql2-json") == {data["c"], data["d"]}


def test_literals_are_bound_never_pasted(db: Session, data: dict[str, int]) -> None:
    hostile = "x'); DROP TABLE incident; --"
    expr = f"description = '{hostile.replace(chr(39), chr(39) * 2)}' OR category LIKE '%''--'"
    cond = compile_filter(expr, "cql2-text", INCIDENT_FIELDS, INC.geom)
    sql = str(cond.compile(dialect=postgresql.dialect()))
    assert "DROP" not in sql and "--" not in sql, sql
    assert incidents(db, expr) == set()
    assert db.scalar(sa.text("SELECT count(*) FROM incident")) == len(ROWS)


def test_unknown_property_names_it_and_the_queryables() -> None:
    err = refusal("colour = 'red'")
    assert err.extra["property"] == "colour"
    assert "category" in err.message and "geometry" in err.message
    assert "reported_at" in err.extra["queryables"]
    err = refusal('"id; DROP TABLE incident" = 1')
    assert err.extra["property"] == "id; DROP TABLE incident"


def test_a_syntax_error_says_line_and_column() -> None:
    err = refusal("severity = 'general' AND\n  score == 3")
    assert (err.extra["line"], err.extra["column"]) == (2, 10), err.message
    assert "line 2, column 10" in err.message
    err = refusal('{"op": "=", "args": [', "cql2-json")
    assert err.extra["line"] == 1 and "not JSON" in err.message


BAD = [
    ("score = 'high'", "cannot compare a number with a text"),
    ("severity = 3", "cannot compare a text with a number"),
    ("reported_at > '2026-03-01'", "TIMESTAMP"),
    ("score LIKE '3%'", "LIKE"),
    ("score = NULL", "IS NULL"),
    ("assignees = 'x'", "cannot compare"),
    ("S_INTERSECTS(score, POINT(116.34 40.0))", "geometries"),
    ("T_AFTER(severity, DATE('2026-03-01'))", "time property"),
    ("T_MEETS(reported_at, DATE('2026-03-01'))", "not supported"),
    ("DWITHIN(geometry, POINT(116.34 40.0), 10, 'meters')", "not supported"),
    ("T_DURING(reported_at, INTERVAL('2026-03-05', '2026-03-01'))", "start before it ends"),
    ("score", "not a condition"),
    (
        "S_INTERSECTS(geometry, POLYGON((116.34 40.0, 116.35 40.01, 116.35 40.0, 116.34 40.01, 116.34 40.0)))",
        "not valid",
    ),
    ("S_INTERSECTS(geometry, POINT(190 40))", "out of range"),
    ("S_INTERSECTS(geometry, BBOX(116.35, 40.0, 116.34, 40.01))", "west, south, east, north"),
    ("INTERVAL('2020-01-01','..') IS NULL", "not an interval"),
    ("T_AFTER(reported_at, TIMESTAMP('9999-12-31T23:59:59.999999Z'))", "out of range"),
    ("T_AFTER(reported_at, DATE('9999-12-31'))", "out of range"),
]


@pytest.mark.parametrize(("expr", "words"), BAD)
def test_a_bad_filter_says_what_is_wrong(expr: str, words: str) -> None:
    assert words in refusal(expr).message, expr


def test_hostile_sizes_and_nesting_are_refused_not_crashed() -> None:
    assert "nests too deep" in refusal("(" * 5000 + "score = 1" + ")" * 5000).message
    assert "nests too deep" in refusal("NOT " * 1000 + "score = 1").message
    assert "nests too deep" in refusal("score = " + "-" * 4000 + "1").message
    assert "characters long" in refusal("score = 1 OR " * 3000 + "score = 1").message
    deep: Any = {"op": "=", "args": [{"property": "score"}, 1]}
    for _ in range(200):
        deep = {"op": "not", "args": [deep]}
    assert "levels deep" in refusal(json.dumps(deep), "cql2-json").message
    assert "levels deep" in refusal("[" * 9000 + "]" * 9000, "cql2-json").message
    many = "score IN (" + ", ".join(str(i) for i in range(1500)) + ")"
    assert "1 to 1000" in refusal(many).message
    ring = ", ".join(f"{116.3 + i * 1e-5} 40.0" for i in range(1200))
    assert refusal(f"S_INTERSECTS(geometry, LINESTRING({ring}))")  # too long or too many
    assert "empty" in refusal("   ").message
    assert "filter-lang" in refusal("score = 1", "sql").message
    assert "filter-crs" in refusal("score = 1", filter_crs="EPSG:31467").message


def test_a_nul_character_in_a_json_text_is_refused() -> None:
    nul = '{"op": "=", "args": [{"property": "severity"}, "a\\u0000b"]}'
    assert "NUL" in refusal(nul, "cql2-json").message


def test_nan_and_infinity_are_refused() -> None:
    point = '{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Point", "coordinates": [NaN, 40]}]}'
    assert "finite" in refusal(point, "cql2-json").message
    number = '{"op": ">", "args": [{"property": "score"}, Infinity]}'
    assert "finite" in refusal(number, "cql2-json").message
    box = '{"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [NaN, 1, 2, 3]}]}'
    assert "finite" in refusal(box, "cql2-json").message
    assert refusal("S_INTERSECTS(geometry, POINT(nan 40))").extra["column"] is not None
