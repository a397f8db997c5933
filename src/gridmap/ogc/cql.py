"""gridmap.ogc.cql: CQL2 filters (text and JSON) compiled into SQLAlchemy expressions."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import cql2
import numpy as np
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

import shapely
from shapely.geometry import shape

from gridmap.errors import BadFilter
from gridmap.geo.crs import to_wgs84_array

LANGS = ("cql2-text", "cql2-json", "cql-text")

# A filter longer than this is refused before it is parsed: it travels in a URL, and the
# parser's work grows with it.
MAX_LENGTH = 20_000
# The parser recurses once per bracket, NOT and unary minus, and a deep enough filter crashes
# the process rather than raising: these caps keep it far from that depth (a real filter nests
# a few levels; a WKT multipolygon uses three brackets).
MAX_BRACKETS = 40
MAX_NOTS = 64
MAX_MINUSES = 2_000
# Nesting of the parsed expression (both languages) and the sizes of its parts.
MAX_DEPTH = 100
MAX_IN_ITEMS = 1_000
MAX_VERTICES = 10_000

SPATIAL = {
    "s_intersects": "ST_Intersects",
    "s_disjoint": "ST_Disjoint",
    "s_contains": "ST_Contains",
    "s_within": "ST_Within",
    "s_touches": "ST_Touches",
    "s_crosses": "ST_Crosses",
    "s_overlaps": "ST_Overlaps",
    "s_equals": "ST_Equals",
}
TEMPORAL = ("t_after", "t_before", "t_during", "t_equals", "t_intersects", "t_disjoint")
COMPARISONS = ("=", "<>", "<", "<=", ">", ">=")
ARITHMETIC = ("+", "-", "*", "/")
GEOMETRY_NAMES = ("geometry", "geom")

# filter-crs: the URI (or its tail for gridmap's own, whose base is the server's address) →
# (gridmap's name of the CRS, whether coordinates come latitude first as the EPSG URI says).
_CRS_URIS = {
    "http://www.opengis.net/def/crs/ogc/1.3/crs84": ("EPSG:4326", False),
    "http://www.opengis.net/def/crs/epsg/0/4326": ("EPSG:4326", True),
    "http://www.opengis.net/def/crs/epsg/0/4490": ("EPSG:4490", True),
    "http://www.opengis.net/def/crs/epsg/0/3857": ("EPSG:3857", False),
}
_OWN_CRS = {"/ogc/crs/gcj02": "GCJ-02", "/ogc/crs/bd09": "BD-09"}

_LINE_COLUMN = re.compile(r"-->\s*(\d+):(\d+)")
_EXPECTED = re.compile(r"=\s*(expected .*)$", re.S)
_NOT_WORD = re.compile(r"\bnot\b", re.I)


class FieldLike(Protocol):
    """What a filter needs of a layer's field (``gridmap.layers.Field`` is one)."""

    @property
    def name(self) -> str:
        """The property's name in filters."""

    @property
    def type(self) -> str:
        """string, integer, number, boolean, datetime, date or json."""

    @property
    def column(self) -> ColumnElement[Any]:
        """The SQL expression the property reads."""


@dataclass(frozen=True)
class _Value:
    """A compiled operand: its SQL and what kind of value it holds."""

    sql: Any
    kind: str  # string number boolean datetime date json geometry null interval
    literal: Any = None
    is_literal: bool = False


_KINDS = {
    "string": "string",
    "integer": "number",
    "number": "number",
    "boolean": "boolean",
    "datetime": "datetime",
    "date": "date",
    "json": "json",
}


def resolve_filter_crs(uri: str | None) -> tuple[str, bool]:
    """gridmap's name of a ``filter-crs`` and whether its axis order is latitude first.

    Examples
    --------
    >>> resolve_filter_crs(None)
    ('EPSG:4326', False)
    >>> resolve_filter_crs("http://www.opengis.net/def/crs/EPSG/0/4326")
    ('EPSG:4326', True)
    >>> resolve_filter_crs("http://127.0.0.1:8000/ogc/crs/gcj02")
    ('GCJ-02', False)
    """
    if uri is None or uri == "":
        return "EPSG:4326", False
    key = uri.strip().lower().rstrip("/")
    if key in _CRS_URIS:
        return _CRS_URIS[key]
    for tail, name in _OWN_CRS.items():
        if key.endswith(tail):
            return name, False
    raise BadFilter(
        f"filter-crs {uri[:200]!r} is not supported; use one of "
        + ", ".join([*_CRS_URIS, "{base}/ogc/crs/gcj02", "{base}/ogc/crs/bd09"]),
        where="filter-crs",
    )


def parse_filter(expr: str, lang: str) -> Any:
    """The CQL2-JSON tree of a filter in ``lang``, or :class:`BadFilter` saying where it fails.

    Examples
    --------
    >>> parse_filter("kind = 'basic'", "cql2-text")
    {'op': '=', 'args': [{'property': 'kind'}, 'basic']}
    """
    if lang not in LANGS:
        raise BadFilter(
            f"filter-lang {lang[:100]!r} is not supported; use one of {', '.join(LANGS)}",
            where="filter-lang",
        )
    if not isinstance(expr, str) or not expr.strip():
        raise BadFilter("the filter is empty", where="filter")
    if len(expr) > MAX_LENGTH:
        raise BadFilter(
            f"the filter is {len(expr)} characters long; at most {MAX_LENGTH} are accepted",
            where="filter",
        )
    if lang == "cql2-json":
        try:
            tree = json.loads(expr)
        except RecursionError:
            raise BadFilter(
                f"the filter nests more than {MAX_DEPTH} levels deep", where="filter"
            ) from None
        except ValueError as exc:
            line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
            raise BadFilter(
                f"the filter is not JSON: {getattr(exc, 'msg', exc)} "
                f"(line {line}, column {column})",
                where="filter",
                line=line,
                column=column,
            ) from None
        return tree
    _check_nesting(expr)
    try:
        parsed = cql2.parse_text(expr)
        return parsed.to_json()
    except Exception as exc:  # cql2 raises its own ParseError and ValueError
        text = str(exc)
        found = _LINE_COLUMN.search(text)
        expected = _EXPECTED.search(text)
        line, column = (int(found.group(1)), int(found.group(2))) if found else (None, None)
        where = f" at line {line}, column {column}" if found else ""
        hint = f": {expected.group(1).strip()}" if expected else ""
        raise BadFilter(
            f"the filter cannot be read{where}{hint}",
            where="filter",
            line=line,
            column=column,
        ) from None


def _check_nesting(expr: str) -> None:
    """Refuse text nested deeper than the parser can take, counting outside quoted strings."""
    depth = deepest = minuses = 0
    outside: list[str] = []
    quote: str | None = None
    for char in expr:
        if quote is not None:
            if char == quote:
                quote = None
            continue
        if char in "'\"":
            quote = char
            outside.append(" ")
            continue
        outside.append(char)
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
        elif char == "-":
            minuses += 1
    nots = len(_NOT_WORD.findall("".join(outside)))
    if deepest > MAX_BRACKETS or nots > MAX_NOTS or minuses > MAX_MINUSES:
        raise BadFilter(
            f"the filter nests too deep (at most {MAX_BRACKETS} brackets, {MAX_NOTS} NOTs, "
            f"{MAX_MINUSES} minus signs)",
            where="filter",
        )


def compile_filter(
    expr: str,
    lang: str,
    fields: Mapping[str, FieldLike],
    geometry: ColumnElement[Any],
    *,
    filter_crs: str | None = None,
    timezone: str = "Asia/Shanghai",
) -> ColumnElement[bool]:
    """The SQL condition of a CQL2 filter over a layer's ``fields`` and ``geometry``.

    ``lang`` is ``cql2-text`` (``cql-text`` is read as the same), or ``cql2-json``. Literals
    become bound parameters; geometry literals are read in ``filter_crs`` (a CRS URI; CRS84 by
    default) and moved to WGS 84; dates and times without an offset are read in ``timezone``.
    Any fault is :class:`BadFilter` saying what and where.
    """
    tree = parse_filter(expr, lang)
    crs, lat_first = resolve_filter_crs(filter_crs)
    compiler = _Compiler(fields, geometry, crs=crs, lat_first=lat_first, zone=ZoneInfo(timezone))
    try:
        value = compiler.value(tree, 0)
    except BadFilter as exc:
        exc.extra.setdefault("where", "filter")
        raise
    except OverflowError:
        # A time at the very end of the calendar, moved by a day or a microsecond.
        raise BadFilter(
            "a time in the filter is out of range (the last is 9999-12-30)", where="filter"
        ) from None
    if value.kind != "boolean":
        raise BadFilter(
            "the filter is not a condition (true or false for each feature)", where="filter"
        )
    return sa.true() if value.is_literal and value.literal is True else _as_condition(value)


def _as_condition(value: _Value) -> ColumnElement[bool]:
    if value.is_literal:
        return sa.true() if value.literal else sa.false()
    sql: ColumnElement[bool] = value.sql
    return sql


class _Compiler:
    """Walks a CQL2-JSON tree into SQL, checking each operand's kind."""

    def __init__(
        self,
        fields: Mapping[str, FieldLike],
        geometry: ColumnElement[Any],
        *,
        crs: str,
        lat_first: bool,
        zone: ZoneInfo,
    ) -> None:
        self.fields = fields
        self.geometry = geometry
        self.crs = crs
        self.lat_first = lat_first
        self.zone = zone

    def queryables(self) -> list[str]:
        return [*self.fields, "geometry"]

    # Operands

    def value(self, node: Any, depth: int) -> _Value:  # noqa: C901
        if depth > MAX_DEPTH:
            raise BadFilter(f"the filter nests more than {MAX_DEPTH} levels deep", where="filter")
        if node is None:
            return _Value(sa.null(), "null", None, True)
        if isinstance(node, bool):
            return _Value(sa.literal(node, sa.Boolean), "boolean", node, True)
        if isinstance(node, int | float):
            if not math.isfinite(node):
                raise BadFilter("numbers in a filter must be finite (not NaN or infinity)")
            return _Value(sa.literal(node), "number", node, True)
        if isinstance(node, str):
            if "\x00" in node:
                raise BadFilter("a text in the filter holds a NUL character", where="filter")
            return _Value(sa.literal(node, sa.String), "string", node, True)
        if isinstance(node, list):
            raise BadFilter("a list stands only after IN", where="filter")
        if not isinstance(node, dict):
            raise BadFilter(f"cannot read {type(node).__name__} in a filter", where="filter")
        if "property" in node:
            return self.property(node["property"])
        if "timestamp" in node:
            return self.instant(node["timestamp"])
        if "date" in node:
            day = self.day(node["date"])
            return _Value(sa.literal(day, sa.Date), "date", day, True)
        if "interval" in node:
            return self.interval(node["interval"])
        if "bbox" in node:
            return self.geometry_literal(_bbox_geojson(node["bbox"]))
        if "type" in node:
            return self.geometry_literal(node)
        if "op" in node:
            return self.operation(node, depth)
        raise BadFilter(
            f"cannot read {json.dumps(node, ensure_ascii=False)[:200]} in a filter",
            where="filter",
        )

    def property(self, name: Any) -> _Value:
        if not isinstance(name, str):
            raise BadFilter("a property name must be a string", where="filter")
        if name in GEOMETRY_NAMES:
            return _Value(self.geometry, "geometry")
        field = self.fields.get(name)
        if field is None:
            raise BadFilter(
                f"unknown property {name[:100]!r}; the queryables are "
                + ", ".join(self.queryables()),
                where="filter",
                property=name[:100],
                queryables=self.queryables(),
            )
        return _Value(field.column, _KINDS.get(field.type, "string"))

    def instant(self, text: Any) -> _Value:
        moment = self.moment(text)
        return _Value(sa.literal(moment, sa.DateTime(timezone=True)), "datetime", moment, True)

    def moment(self, text: Any) -> datetime:
        if not isinstance(text, str):
            raise BadFilter("TIMESTAMP takes a text such as '2026-05-01T08:00:00Z'")
        try:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            raise BadFilter(
                f"{text[:60]!r} is not a time; write it as '2026-05-01T08:00:00Z'"
            ) from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=self.zone)

    def day(self, text: Any) -> date:
        if not isinstance(text, str):
            raise BadFilter("DATE takes a text such as '2026-05-01'")
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise BadFilter(f"{text[:60]!r} is not a date; write it as '2026-05-01'") from None

    def interval(self, ends: Any) -> _Value:
        if not isinstance(ends, list) or len(ends) != 2:
            raise BadFilter("INTERVAL takes two ends, e.g. INTERVAL('2026-05-01', '..')")
        bounds: list[Any] = []
        for end in ends:
            if end == ".." or end is None:
                bounds.append(None)
            elif isinstance(end, dict) and ("timestamp" in end or "date" in end):
                bounds.append(
                    self.moment(end["timestamp"]) if "timestamp" in end else self.day(end["date"])
                )
            elif isinstance(end, str) and len(end) == 10:
                bounds.append(self.day(end))
            else:
                bounds.append(self.moment(end))
        return _Value(None, "interval", (bounds[0], bounds[1]), True)

    def geometry_literal(self, geojson: Any) -> _Value:
        geom = self.read_geometry(geojson)
        wkt = shapely.to_wkt(geom, rounding_precision=-1)
        sql = sa.func.ST_GeomFromText(sa.literal(wkt, sa.String), 4326)
        return _Value(sql, "geometry", geom, True)

    def read_geometry(self, geojson: Any) -> shapely.Geometry:
        if not isinstance(geojson, dict) or _geometry_depth(geojson) > 4:
            raise BadFilter("a geometry in the filter is not GeoJSON", where="filter")
        try:
            geom = shape(geojson)
        except Exception as exc:  # shapely raises several kinds on malformed GeoJSON
            raise BadFilter(f"a geometry in the filter cannot be read: {exc}"[:300]) from None
        coords = shapely.get_coordinates(geom)
        if len(coords) > MAX_VERTICES:
            raise BadFilter(
                f"a geometry in the filter has {len(coords)} vertices; at most {MAX_VERTICES}"
            )
        if geom.is_empty:
            raise BadFilter("a geometry in the filter is empty")
        if not np.isfinite(coords).all():
            raise BadFilter("coordinates in a filter must be finite numbers (not NaN or infinity)")
        geom = shapely.transform(geom, self.to_wgs84)
        lonlat = shapely.get_coordinates(geom)
        if not (
            np.isfinite(lonlat).all()
            and (np.abs(lonlat[:, 0]) <= 180).all()
            and (np.abs(lonlat[:, 1]) <= 90).all()
        ):
            order = "latitude, longitude" if self.lat_first else "longitude, latitude"
            raise BadFilter(
                f"coordinates in the filter are out of range for {self.crs} ({order} order)"
            )
        if not geom.is_valid:
            raise BadFilter(
                f"a geometry in the filter is not valid: {shapely.is_valid_reason(geom)}"
            )
        return geom

    def to_wgs84(self, xy: np.ndarray) -> np.ndarray:
        x, y = (xy[:, 1], xy[:, 0]) if self.lat_first else (xy[:, 0], xy[:, 1])
        if self.crs == "EPSG:3857" and (np.abs(xy) > 20_048_966.2).any():
            raise BadFilter("EPSG:3857 coordinates in the filter are out of range")
        lon, lat = to_wgs84_array(x, y, self.crs)
        return np.column_stack([lon, lat])

    # Operations

    def operation(self, node: dict[str, Any], depth: int) -> _Value:  # noqa: C901
        op = node["op"]
        args = node.get("args", [])
        if not isinstance(op, str):
            raise BadFilter("an operator must be a name", where="filter")
        op = op.lower() if op != "isNull" else op
        if isinstance(args, dict):
            args = [args]
        if not isinstance(args, list):
            raise BadFilter(f"the arguments of {op[:40]} must be a list", where="filter")
        if op in ("and", "or"):
            if len(args) < 2:
                raise BadFilter(f"{op.upper()} joins two conditions or more")
            parts = [self.condition(arg, depth + 1, op.upper()) for arg in args]
            return _Value(sa.and_(*parts) if op == "and" else sa.or_(*parts), "boolean")
        if op == "not":
            self.arity(op, args, 1)
            return _Value(sa.not_(self.condition(args[0], depth + 1, "NOT")), "boolean")
        if op in ("isnull", "isNull"):
            self.arity("IS NULL", args, 1)
            operand = self.value(args[0], depth + 1)
            if operand.sql is None or operand.kind == "interval":
                raise BadFilter("IS NULL asks about a property or a value, not an interval")
            return _Value(operand.sql.is_(None), "boolean")
        if op in COMPARISONS:
            self.arity(op, args, 2)
            lhs, rhs = (self.value(arg, depth + 1) for arg in args)
            lhs, rhs = self.comparable(op, lhs, rhs)
            lhs, rhs = _whole(lhs, rhs), _whole(rhs, lhs)
            return _Value(_COMPARE[op](lhs.sql, rhs.sql), "boolean")
        if op == "like":
            self.arity("LIKE", args, 2)
            lhs, rhs = (self.value(arg, depth + 1) for arg in args)
            if lhs.kind != "string" or rhs.kind != "string":
                raise BadFilter("LIKE compares text with a text pattern such as 'name%'")
            return _Value(lhs.sql.like(rhs.sql), "boolean")
        if op == "between":
            return self.between(args, depth)
        if op == "in":
            return self.in_list(args, depth)
        if op in ("casei", "accenti"):
            self.arity(op.upper(), args, 1)
            operand = self.value(args[0], depth + 1)
            if operand.kind != "string":
                raise BadFilter(f"{op.upper()} takes a text")
            if op == "accenti":
                return operand
            return _Value(sa.func.lower(operand.sql), "string", None, operand.is_literal)
        if op in ARITHMETIC:
            self.arity(op, args, 2)
            lhs, rhs = (self.value(arg, depth + 1) for arg in args)
            if lhs.kind != "number" or rhs.kind != "number":
                raise BadFilter(f"{op} works on numbers")
            return _Value(_ARITHMETIC[op](lhs.sql, rhs.sql), "number")
        if op in SPATIAL:
            self.arity(op.upper(), args, 2)
            lhs, rhs = (self.value(arg, depth + 1) for arg in args)
            if lhs.kind != "geometry" or rhs.kind != "geometry":
                raise BadFilter(
                    f"{op.upper()} relates two geometries: the property geometry and a WKT, "
                    "GeoJSON or BBOX literal"
                )
            return _Value(getattr(sa.func, SPATIAL[op])(lhs.sql, rhs.sql), "boolean")
        if op in TEMPORAL:
            self.arity(op.upper(), args, 2)
            return self.temporal(op, *(self.value(arg, depth + 1) for arg in args))
        known = sorted(
            [
                "AND",
                "OR",
                "NOT",
                "IS NULL",
                "LIKE",
                "BETWEEN",
                "IN",
                "CASEI",
                *COMPARISONS,
                *ARITHMETIC,
                *(s.upper() for s in SPATIAL),
                *(t.upper() for t in TEMPORAL),
            ]
        )
        raise BadFilter(
            f"the operator or function {op[:40]!r} is not supported; use {', '.join(known)}",
            where="filter",
        )

    def arity(self, op: str, args: Sequence[Any], count: int) -> None:
        if len(args) != count:
            raise BadFilter(f"{op.upper()} takes {count} argument(s), not {len(args)}")

    def condition(self, node: Any, depth: int, within: str) -> ColumnElement[bool]:
        value = self.value(node, depth)
        if value.kind != "boolean":
            raise BadFilter(f"{within} joins conditions, not a {value.kind}")
        return _as_condition(value)

    def comparable(self, op: str, lhs: _Value, rhs: _Value) -> tuple[_Value, _Value]:
        """Check two operands can be compared, adapting dates and times to each other."""
        if "null" in (lhs.kind, rhs.kind):
            raise BadFilter("compare with NULL by IS NULL or IS NOT NULL")
        kinds = {lhs.kind, rhs.kind}
        if kinds == {"datetime", "date"}:
            lhs, rhs = (self.as_instant(v) if v.kind == "date" else v for v in (lhs, rhs))
        elif lhs.kind != rhs.kind or "geometry" in kinds or "json" in kinds or "interval" in kinds:
            raise BadFilter(
                f"{op} cannot compare a {_word(lhs.kind)} with a {_word(rhs.kind)}"
                + _hint(lhs, rhs)
            )
        elif op not in ("=", "<>") and "boolean" in kinds:
            raise BadFilter(f"{op} does not order true and false; use = or <>")
        return lhs, rhs

    def as_instant(self, value: _Value) -> _Value:
        """A DATE literal compared with a time: its midnight in the configured zone."""
        if not value.is_literal:
            return _Value(sa.cast(value.sql, sa.DateTime(timezone=True)), "datetime")
        moment = datetime.combine(value.literal, time(), tzinfo=self.zone)
        return _Value(sa.literal(moment, sa.DateTime(timezone=True)), "datetime", moment, True)

    def between(self, args: Sequence[Any], depth: int) -> _Value:
        if len(args) == 2 and isinstance(args[1], list):
            args = [args[0], *args[1]]
        self.arity("BETWEEN", args, 3)
        lhs, low, high = (self.value(arg, depth + 1) for arg in args)
        lhs, low = self.comparable("BETWEEN", lhs, low)
        lhs, high = self.comparable("BETWEEN", lhs, high)
        if lhs.kind == "boolean":
            raise BadFilter("BETWEEN does not order true and false")
        return _Value(lhs.sql.between(low.sql, high.sql), "boolean")

    def in_list(self, args: Sequence[Any], depth: int) -> _Value:
        if len(args) != 2 or not isinstance(args[1], list):
            raise BadFilter("IN takes a property and a list in brackets: code IN ('a', 'b')")
        if not args[1] or len(args[1]) > MAX_IN_ITEMS:
            raise BadFilter(f"IN takes a list of 1 to {MAX_IN_ITEMS} values")
        lhs = self.value(args[0], depth + 1)
        items = []
        for item in args[1]:
            value = self.value(item, depth + 1)
            lhs, value = self.comparable("IN", lhs, value)
            items.append(value.sql)
        return _Value(lhs.sql.in_(items), "boolean")

    def temporal(self, op: str, lhs: _Value, rhs: _Value) -> _Value:
        """An instant property against an instant or interval (or the same turned round)."""
        if lhs.kind not in ("datetime", "date") and rhs.kind in ("datetime", "date"):
            lhs, rhs = rhs, lhs
            op = {"t_after": "t_before", "t_before": "t_after"}.get(op, op)
            if op == "t_during":
                raise BadFilter("T_DURING asks whether a time lies within an interval: time first")
        if lhs.kind not in ("datetime", "date") or lhs.is_literal:
            raise BadFilter(f"{op.upper()} takes a time property and a time, date or interval")
        start, end = self.span(rhs, op, lhs.kind)
        col = lhs.sql
        lo = None if start is None else sa.literal(start, _sql_type(start))
        hi = None if end is None else sa.literal(end, _sql_type(end))
        # A DATE or open end is a span [start, end): end is the first moment after it.
        conditions: dict[str, Callable[[], Any]] = {
            "t_after": lambda: sa.false() if hi is None else col >= hi,
            "t_before": lambda: sa.false() if lo is None else col < lo,
            "t_during": lambda: sa.and_(
                sa.true() if lo is None else col > lo, sa.true() if hi is None else col < hi
            ),
            "t_intersects": lambda: sa.and_(
                sa.true() if lo is None else col >= lo, sa.true() if hi is None else col < hi
            ),
            "t_equals": lambda: self.equal_instant(col, start, end, rhs),
        }
        if op == "t_disjoint":
            inside = conditions["t_intersects"]()
            return _Value(sa.and_(col.is_not(None), sa.not_(inside)), "boolean")
        return _Value(conditions[op](), "boolean")

    def equal_instant(self, col: Any, start: Any, end: Any, rhs: _Value) -> Any:
        if rhs.kind == "datetime":
            return col == sa.literal(start, _sql_type(start))
        return sa.false() if start is None or end is None else sa.and_(col >= start, col < end)

    def span(self, value: _Value, op: str, kind: str) -> tuple[Any, Any]:
        """The literal's [start, end) in the property's kind; an instant's end is just after it."""
        if value.kind == "datetime" and value.is_literal:
            moment = value.literal
            if kind == "date":
                return self.span(
                    _Value(None, "date", moment.astimezone(self.zone).date(), True), op, kind
                )
            return moment, moment + timedelta(microseconds=1)
        if value.kind == "date" and value.is_literal:
            day: date = value.literal
            if kind == "date":
                return day, day + timedelta(days=1)
            first = datetime.combine(day, time(), tzinfo=self.zone)
            return first, first + timedelta(days=1)
        if value.kind == "interval":
            lo, hi = value.literal
            start = None if lo is None else self.span(_literal_of(lo), op, kind)[0]
            end = None if hi is None else self.span(_literal_of(hi), op, kind)[1]
            if start is not None and end is not None and start >= end:
                raise BadFilter("an INTERVAL must start before it ends")
            return start, end
        raise BadFilter(
            f"{op.upper()} compares a time property with TIMESTAMP('…'), DATE('…') or "
            "INTERVAL('…', '…')"
        )


def _literal_of(end: datetime | date) -> _Value:
    kind = "datetime" if isinstance(end, datetime) else "date"
    return _Value(None, kind, end, True)


def _sql_type(value: Any) -> Any:
    return sa.DateTime(timezone=True) if isinstance(value, datetime) else sa.Date()


def _bbox_geojson(bbox: Any) -> dict[str, Any]:
    if (
        not isinstance(bbox, list)
        or len(bbox) not in (4, 6)
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox)
    ):
        raise BadFilter("BBOX takes four numbers: west, south, east, north")
    if len(bbox) == 6:
        bbox = [bbox[0], bbox[1], bbox[3], bbox[4]]
    west, south, east, north = (float(v) for v in bbox)
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise BadFilter("coordinates in a filter must be finite numbers (not NaN or infinity)")
    if west > east or south > north:
        raise BadFilter("a BBOX goes west, south, east, north: its first corner is the lower")
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def _geometry_depth(node: Any, depth: int = 0) -> int:
    """How deeply a GeoJSON geometry nests collections (shapely recurses on them)."""
    if depth > 4 or not isinstance(node, dict):
        return depth
    parts = node.get("geometries")
    if not isinstance(parts, list):
        return depth
    return max((_geometry_depth(p, depth + 1) for p in parts), default=depth + 1)


def _word(kind: str) -> str:
    return {
        "string": "text",
        "number": "number",
        "boolean": "true/false",
        "datetime": "time",
        "date": "date",
        "json": "JSON value",
        "geometry": "geometry",
        "interval": "interval",
    }.get(kind, kind)


def _hint(lhs: _Value, rhs: _Value) -> str:
    kinds = {lhs.kind, rhs.kind}
    if "datetime" in kinds or "date" in kinds:
        return " (write times as TIMESTAMP('2026-05-01T08:00:00Z') and dates as DATE('2026-05-01'))"
    if kinds == {"string", "number"}:
        return " (quote text in single quotes; write numbers without)"
    if "geometry" in kinds:
        return " (use S_INTERSECTS and the other spatial operators)"
    return ""


def _whole(value: _Value, other: _Value) -> _Value:
    """A whole-number literal compared with an integer column, bound as an integer: the same
    comparison, without casting every row of the column to double precision."""
    number = value.literal
    if (
        value.is_literal
        and value.kind == "number"
        and isinstance(number, float)
        and number.is_integer()
        and abs(number) < 2**63
        and not other.is_literal
        and isinstance(getattr(other.sql, "type", None), sa.Integer)
    ):
        return _Value(sa.literal(int(number), sa.BigInteger), "number", int(number), True)
    return value


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / sa.func.nullif(b, 0),
}
