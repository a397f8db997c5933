"""gridmap.ogc.fast: ``/ogc`` items of the layers without personal data, answered before FastAPI.

A page of ``GET /ogc/collections/{id}/items`` (bbox, limit, offset, datetime, filter,
property equality) and ``GET /ogc/collections/{id}/items/{fid}`` of a layer everyone may read
unmasked (regions, buildings, service centres and circles, Party organisations), asked in CRS84,
EPSG:4326 or EPSG:4490, are answered here: one prepared statement on an asynchronous connection
counts the matches and has PostgreSQL write every feature as JSON text, which is sent as it
comes, inside the page's envelope. A query's count is kept (:class:`Counts`) until a write to
its layer's table bumps the layer's version, so paging through a filter counts it once. The
statement is built from the same :mod:`gridmap.layers` selects and the same parameter readers
as the route (:mod:`gridmap.api.ogc`), so the features, counts and links are the route's; only
the work of routing, sessions and of parsing and re-writing JSON in Python is skipped.

Anything else — another layer, a token this process does not hold, a parameter the route
would refuse, an id that is not there, a database that does not answer — passes through to
FastAPI, which gives the canonical answer or error. So does every request of an app whose
session is injected (``dependency_overrides``: tests and embedding hosts).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

import psycopg
from sqlalchemy import (
    Float,
    Integer,
    String,
    bindparam,
    func,
    literal,
    literal_column,
    make_url,
    null,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gridmap import layers
from gridmap.api.ogc import (
    _FILTER_LANGS,
    _ITEM_PARAMS,
    _bbox,
    _datetime,
    _equals,
    _limit,
    _link,
    _offset,
)
from gridmap.auth import ANONYMOUS
from gridmap.fastpath import _principal
from gridmap.ogc import crs as ogc_crs
from gridmap.ogc.cql import compile_filter

_ITEMS = re.compile(r"^/ogc/collections/([a-z-]{1,40})/items(?:/([^/]{1,64}))?$")
_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_CACHE = 512
_ITEM_ALLOWED = {"crs", "f"}
# The longest value the route takes of each parameter (its Query(max_length=…)).
_MAX_LENGTH = {
    "bbox": 400,
    "bbox-crs": 200,
    "limit": 20,
    "offset": 20,
    "datetime": 100,
    "crs": 200,
    "filter": 20_000,
    "filter-lang": 20,
    "filter-crs": 200,
    "f": 20,
}
DIGITS = 7


FAST = frozenset(layer.id for layer in layers.LAYERS.values() if layer.same_for_everyone)


class Pool:
    """A few asynchronous psycopg connections (opened on first use, autocommit, read only),
    each keeping its prepared statements."""

    def __init__(self, url: str, size: int = 4) -> None:
        parts = make_url(url).set(drivername="postgresql")
        self.conninfo = parts.render_as_string(hide_password=False)
        self.size = size
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._open = 0
        self._free: asyncio.Condition | None = None
        # Statements answered (a figure for tests and monitoring).
        self.answered = 0

    async def _get(self) -> psycopg.AsyncConnection[Any]:
        if self._free is None:
            self._free = asyncio.Condition()
        async with self._free:
            while not self._idle and self._open >= self.size:
                await self._free.wait()
            if self._idle:
                return self._idle.pop()
            self._open += 1
        try:
            return await psycopg.AsyncConnection.connect(
                self.conninfo,
                autocommit=True,
                application_name="gridmap-ogc",
                connect_timeout=5,
                prepare_threshold=0,
                # Each statement is short and many run side by side: starting parallel
                # workers for one costs more than it saves on a small server.
                options="-c default_transaction_read_only=on -c max_parallel_workers_per_gather=0",
            )
        except BaseException:
            await self._lost()
            raise

    async def _lost(self) -> None:
        assert self._free is not None
        async with self._free:
            self._open -= 1
            self._free.notify()

    async def fetch(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row of ``sql`` with ``params``."""
        conn = await self._get()
        try:
            cur = await conn.execute(sql, params, prepare=True)
            row = await cur.fetchone()
        except BaseException:
            await conn.close()
            await self._lost()
            raise
        assert self._free is not None
        async with self._free:
            self._idle.append(conn)
            self._free.notify()
        self.answered += 1
        return row

    async def close(self) -> None:
        """Close the idle connections."""
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()
        self._open -= len(idle)


def _compile(stmt: Any) -> tuple[str, dict[str, Any]]:
    compiled = stmt.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
    processors = compiled._bind_processors
    params = {k: (processors[k](v) if k in processors else v) for k, v in compiled.params.items()}
    return str(compiled), params


def _feature_text(chosen: Any, layer: layers.Layer, flip: bool) -> ColumnElement[Any]:
    """SQL: one row of ``chosen`` as the text of a GeoJSON Feature, as the route writes it."""
    props: list[Any] = []
    for f in layer.fields:
        props += [literal(f.name, String), chosen.c[f.name]]
    geom = func.ST_FlipCoordinates(chosen.c.geom) if flip else chosen.c.geom
    return func.concat(
        '{"type":"Feature","id":',
        func.to_json(chosen.c[layer.id_field]),
        ',"geometry":',
        func.coalesce(func.ST_AsGeoJSON(geom, DIGITS), "null"),
        ',"properties":',
        func.json_build_object(*props),
        "}",
    )


@lru_cache(maxsize=_CACHE)
def page_sql(
    layer_id: str,
    flip: bool,
    boxed: bool,
    equal: tuple[tuple[str, str], ...],
    filter_: tuple[str, str, str | None] | None,
    datetime_: str | None,
    counted: bool = True,
) -> tuple[str, dict[str, Any]]:
    """The statement of a page (matched — NULL unless ``counted`` —, returned, the features'
    text joined by commas, the layer's change version and whether the statement's snapshot saw
    no writer in progress) and its fixed parameters; ``w s e n limit offset`` are given with
    each request. Raises :class:`GridmapError` for what the route would refuse."""
    layer = layers.LAYERS[layer_id]
    where: list[Any] = [_equals(layer.queryables[name], value) for name, value in equal]
    if filter_ is not None:
        text, lang, filter_crs = filter_
        where.append(
            compile_filter(text, lang, layer.queryables, layer.geometry, filter_crs=filter_crs)
        )
    times, _at, _every = _datetime(layer, datetime_)
    where.extend(times)
    box: Any = None
    if boxed:
        box = tuple(bindparam(k, type_=Float) for k in ("w", "s", "e", "n"))
    matched: Any = null()
    if counted:
        matched = layers.count(layer, ANONYMOUS, bbox=box, where=where).scalar_subquery()
    chosen = (
        layers.rows(layer, ANONYMOUS, bbox=box, where=where)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery("chosen")
    )
    feature = _feature_text(chosen, layer, flip)
    stmt = select(
        matched,
        func.count(),
        func.coalesce(
            func.string_agg(
                feature, postgresql.aggregate_order_by(literal(","), chosen.c[layer.id_field])
            ),
            "",
        ),
        _version(layer_id),
        literal_column("cardinality(array(SELECT pg_snapshot_xip(pg_current_snapshot()))) = 0"),
    ).select_from(chosen)
    return _compile(stmt)


# The rows a statement-level trigger bumps at every write to a layer's table (the vector tiles'
# versions, migrations 0006, 0014 and 0017).
VERSIONS = {"buildings": "tiles_buildings_version", "regions": "tiles_regions_version"}


def _version(layer_id: str) -> Any:
    """SQL: the layer's change version now (NULL for a layer without one)."""
    sequence = VERSIONS.get(layer_id)
    if sequence is None:
        return null()
    return literal_column(f"(SELECT version FROM tile_version WHERE name = '{sequence}')")


@lru_cache(maxsize=len(FAST) * 2)
def item_sql(layer_id: str, flip: bool) -> tuple[str, dict[str, Any]]:
    """The statement of one feature's text by its id (parameter ``key``) and its fixed
    parameters."""
    layer = layers.LAYERS[layer_id]
    id_field = layer.by_name[layer.id_field]
    key = bindparam("key", type_=Integer if id_field.type == "integer" else String)
    chosen = (
        layers.rows(layer, ANONYMOUS, where=[id_field.column == key]).limit(1).subquery("chosen")
    )
    return _compile(select(_feature_text(chosen, layer, flip)).select_from(chosen))


class OgcFastPath:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.counts = Counts()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a plain items request of a fast layer, or pass the request on."""
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        found = _ITEMS.match(scope["path"])
        if found is None or found.group(1) not in FAST:
            await self.app(scope, receive, send)
            return
        try:
            answer = await self.answer(scope, found.group(1), found.group(2))
        except psycopg.OperationalError:
            # The database away: a standby is left alone for a while (the route reads the
            # primary); the route answers, canonically, from scratch.
            reads = getattr(getattr(scope.get("app"), "state", None), "reads", None)
            if reads is not None and reads.enabled:
                reads.mark_down()
            answer = None
        except Exception:
            # Whatever the fast path cannot answer (a refusal) the route answers, canonically,
            # from scratch.
            answer = None
        if answer is None:
            await self.app(scope, receive, send)
            return
        headers, body = answer
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/geo+json"),
                    (b"content-length", str(len(body)).encode()),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def answer(
        self, scope: Scope, layer_id: str, feature_id: str | None
    ) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
        """The extra headers and body of the answer, or None when FastAPI is to answer."""
        app = scope.get("app")
        state = getattr(app, "state", None)
        pool: Pool | None = getattr(state, "ogc_pool", None)
        if pool is None or getattr(app, "dependency_overrides", None):
            return None
        reads = getattr(state, "reads", None)
        if reads is not None and (reads.down() or reads.pinned(scope.get("headers", ()))):
            # The standby (which the pool reads) is away or behind the caller's own write.
            return None
        if _principal(scope, state) is None:
            return None
        raw = scope.get("query_string", b"").decode()
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=bool(raw))
        params = dict(pairs)
        if len(params) != len(pairs) or any(
            len(v) > _MAX_LENGTH.get(k, 20_000) for k, v in params.items()
        ):
            return None
        base = _base(scope)
        if base is None:
            return None
        out_crs = ogc_crs.parse(params.get("crs"), base)
        if out_crs.name not in ("CRS84", "EPSG:4326", "EPSG:4490"):
            return None
        if params.get("f", "json") not in ("json", "geojson"):
            return None
        flip = out_crs.lat_first
        crs_header = (b"content-crs", f"<{out_crs.uri}>".encode())
        if feature_id is not None:
            if set(params) - _ITEM_ALLOWED:
                return None
            return await self._item(pool, base, layer_id, feature_id, flip, crs_header)
        return await self._page(pool, base, layer_id, params, pairs, flip, crs_header)

    async def _item(
        self,
        pool: Pool,
        base: str,
        layer_id: str,
        feature_id: str,
        flip: bool,
        crs_header: tuple[bytes, bytes],
    ) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
        layer = layers.LAYERS[layer_id]
        key: Any = feature_id
        if layer.by_name[layer.id_field].type == "integer":
            if not feature_id.isdigit() or len(feature_id) > 18:
                return None
            key = int(feature_id)
        sql, fixed = item_sql(layer_id, flip)
        row = await pool.fetch(sql, {**fixed, "key": key})
        if row is None:
            return None
        here = f"{base}/ogc/collections/{layer.id}"
        links = [
            {"href": f"{here}/items/{feature_id}", "rel": "self", "type": "application/geo+json"},
            {"href": here, "rel": "collection", "type": "application/json"},
        ]
        text: str = row[0]
        body = text[:-1] + ',"links":' + _dump(links) + "}"
        return [crs_header], body.encode()

    async def _page(
        self,
        pool: Pool,
        base: str,
        layer_id: str,
        params: dict[str, str],
        pairs: Sequence[tuple[str, str]],
        flip: bool,
        crs_header: tuple[bytes, bytes],
    ) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
        layer = layers.LAYERS[layer_id]
        equal = []
        for name, value in params.items():
            if name in _ITEM_PARAMS:
                continue
            if name not in layer.queryables:
                return None
            equal.append((name, value))
        filter_ = None
        if "filter" in params:
            lang = params.get("filter-lang", "cql2-text")
            if lang not in _FILTER_LANGS:
                return None
            if "filter-crs" in params:
                ogc_crs.parse(params["filter-crs"], base, what="filter-crs")
            filter_ = (params["filter"], lang, params.get("filter-crs"))
        elif "filter-lang" in params or "filter-crs" in params:
            return None
        box = None
        if "bbox" in params:
            box = _bbox(
                params["bbox"], ogc_crs.parse(params.get("bbox-crs"), base, what="bbox-crs")
            )
        elif "bbox-crs" in params:
            ogc_crs.parse(params["bbox-crs"], base, what="bbox-crs")
        size, skip = _limit(params.get("limit")), _offset(params.get("offset"))
        shape = (layer_id, box is not None, tuple(sorted(equal)), filter_, params.get("datetime"))
        key = (shape, box)
        version = None
        known = None
        if layer_id in VERSIONS:
            version = await pool.fetch(_VERSION_SQL[layer_id], {})
            known = self.counts.get(key, version)
        sql, fixed = page_sql(layer_id, flip, *shape[1:], counted=known is None)
        values = dict(fixed, limit=size, offset=skip)
        if box is not None:
            values.update(zip(("w", "s", "e", "n"), box, strict=True))
        row = await pool.fetch(sql, values)
        if row is None:
            return None
        returned, features = int(row[1]), str(row[2])
        if known is None:
            matched = int(row[0])
            # Kept only when no write to the layer can be missing from this count: the version
            # did not move while it was made and no writer was in progress when it began.
            if version is not None and row[3] == version[0] and row[4]:
                self.counts.put(key, version, matched)
        else:
            matched = known
        here = f"{base}/ogc/collections/{layer.id}/items"
        query = _Params(pairs)
        links = [_link(here, query, "self", skip)]
        if skip + returned < matched:
            links.append(_link(here, query, "next", skip + size))
        if skip > 0:
            links.append(_link(here, query, "prev", max(0, skip - size)))
        stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        head = (
            f'{{"type":"FeatureCollection","timeStamp":"{stamp}","numberMatched":{matched},'
            f'"numberReturned":{returned},"features":['
        )
        tail = '],"links":' + _dump(links) + "}"
        return [crs_header], head.encode() + features.encode() + tail.encode()


_VERSION_SQL = {
    layer_id: f"SELECT version FROM tile_version WHERE name = '{sequence}'"
    for layer_id, sequence in VERSIONS.items()
}


class Counts:
    """``numberMatched`` of recent queries, each with the version of its layer it was counted
    at: a write to the layer's table bumps the version, and the count is made again."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._known: OrderedDict[Any, tuple[Any, int]] = OrderedDict()

    def get(self, key: Any, version: Any) -> int | None:
        """The count of ``key`` at ``version`` (a row of the version statement), if known."""
        if version is None:
            return None
        found = self._known.get(key)
        if found is None or found[0] != version[0]:
            return None
        self._known.move_to_end(key)
        return found[1]

    def put(self, key: Any, version: Any, matched: int) -> None:
        """Keep ``matched`` as the count of ``key`` at ``version``."""
        self._known[key] = (version[0], matched)
        self._known.move_to_end(key)
        while len(self._known) > self.size:
            self._known.popitem(last=False)


class _Params:
    """The query's pairs as :func:`gridmap.api.ogc._link` reads them."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs = list(pairs)

    def multi_items(self) -> list[tuple[str, str]]:
        """Every pair, in order."""
        return self.pairs


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _base(scope: Scope) -> str | None:
    """The base URL as Starlette's ``request.base_url`` gives it (without the final slash)."""
    return str(Request(scope).base_url).rstrip("/")
