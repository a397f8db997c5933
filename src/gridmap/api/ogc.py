"""gridmap.api.ogc: OGC API – Features (Parts 1–3, read side) over every layer at ``/ogc``."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import func

from gridmap import layers
from gridmap.auth import ANONYMOUS
from gridmap.dependencies import PrincipalDep, ReadSessionDep
from gridmap.errors import InvalidInput, NotFound
from gridmap.ogc import crs as ogc_crs
from gridmap.ogc import openapi as ogc_openapi
from gridmap.ogc.cql import compile_filter
from gridmap.queries import feature_collection
from gridmap.queries.grids import EXACT
from gridmap.responses import GeoJSONResponse
from gridmap.services.grid_versions import etag as grid_etag

_EXCEPTION = {
    "description": "an OGC exception",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"code": {"type": "string"}, "description": {"type": "string"}},
                "required": ["code", "description"],
            }
        }
    },
}
router = APIRouter(
    prefix="/ogc",
    tags=["OGC API – Features"],
    responses=dict.fromkeys((400, 401, 403, 404), _EXCEPTION),
)

MAX_LIMIT = 10_000
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    # Part 4 on grids (POST, PUT, PATCH, DELETE; see gridmap.api.ogc_write).
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
]
_CHINA = (73.0, 18.0, 135.1, 53.6)
_TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
_ITEM_PARAMS = {
    "bbox",
    "bbox-crs",
    "limit",
    "offset",
    "datetime",
    "crs",
    "f",
    "filter",
    "filter-lang",
    "filter-crs",
}
_FILTER_LANGS = ogc_openapi.FILTER_LANGS
_FORMATS = ogc_openapi.FORMATS


class SchemaResponse(JSONResponse):
    """A JSON Schema document."""

    media_type = "application/schema+json"


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _layer(collection_id: str) -> layers.Layer:
    layer = layers.LAYERS.get(collection_id)
    if layer is None:
        raise NotFound(
            f"no collection {collection_id[:80]!r}; the collections are {', '.join(layers.LAYERS)}",
            collection=collection_id[:80],
        )
    return layer


def _check_format(f: str | None) -> None:
    if f is not None and f not in _FORMATS:
        raise InvalidInput(f"f={f[:40]!r} is not offered; use f=json (GeoJSON)", field="f")


CollectionPath = Annotated[str, Path(max_length=40, description="a collection id")]
Format = Annotated[
    Literal["json", "geojson"] | None, Query(description="json or geojson (both GeoJSON)")
]


@router.get("", summary="OGC API – Features landing page")
def landing(request: Request, f: Format = None) -> dict[str, Any]:
    """The service's links: itself, its OpenAPI document and docs, conformance and data."""
    _check_format(f)
    base = _base(request)
    return {
        "title": "gridmap",
        "description": "Grids, buildings, households, service circles, the three lists, "
        "incidents, patrols, visits and Party organisations of gridmap as OGC API – Features",
        "links": [
            {"href": f"{base}/ogc", "rel": "self", "type": "application/json", "title": "this"},
            {
                "href": f"{base}/ogc/api",
                "rel": "service-desc",
                "type": ogc_openapi.OPENAPI_MEDIA_TYPE,
                "title": "the OpenAPI definition of /ogc",
            },
            {"href": f"{base}/docs", "rel": "service-doc", "type": "text/html", "title": "docs"},
            {
                "href": f"{base}/ogc/conformance",
                "rel": "conformance",
                "type": "application/json",
                "title": "conformance classes",
            },
            {
                "href": f"{base}/ogc/collections",
                "rel": "data",
                "type": "application/json",
                "title": "collections",
            },
        ],
    }


class OpenAPIResponse(JSONResponse):
    """An OpenAPI 3.0 document."""

    media_type = ogc_openapi.OPENAPI_MEDIA_TYPE


@router.get("/api", response_class=OpenAPIResponse, summary="The OpenAPI definition of /ogc alone")
def api_document(request: Request, f: Format = None) -> Any:
    """The OGC API's own OpenAPI document: its paths relative to ``/ogc``, each collection's
    items path with its queryables, and the filter languages (what GIS clients read)."""
    _check_format(f)
    return OpenAPIResponse(ogc_openapi.document(_base(request)))


@router.get("/conformance", summary="The conformance classes gridmap implements")
def conformance(f: Format = None) -> dict[str, Any]:
    """The conformance classes (only what really works)."""
    _check_format(f)
    return {"conformsTo": CONFORMANCE}


def _extent(session: ReadSessionDep, layer: layers.Layer) -> dict[str, Any]:
    if layer.readers is not None:
        # A layer for tokens only: its extent would tell where its personal data lies.
        return {
            "spatial": {"bbox": [list(_CHINA)], "crs": ogc_crs.CRS84},
            "temporal": {"interval": [[None, None]], "trs": _TRS},
        }
    box = layer.boxed if layer.boxed is not None else layer.geometry
    stmt = layer.base.with_only_columns(
        func.ST_XMin(func.ST_Extent(box)),
        func.ST_YMin(func.ST_Extent(box)),
        func.ST_XMax(func.ST_Extent(box)),
        func.ST_YMax(func.ST_Extent(box)),
        maintain_column_froms=True,
    ).where(*layers.conditions(layer, ANONYMOUS))
    found = session.execute(stmt).one()
    spatial = [list(found)] if found[0] is not None else [list(_CHINA)]
    temporal: list[list[str | None]] = [[None, None]]
    if layer.time_field is not None:
        column = layer.by_name[layer.time_field].column
        first, last = session.execute(
            layer.base.with_only_columns(
                func.min(column), func.max(column), maintain_column_froms=True
            )
        ).one()
        temporal = [[_iso(first), None if layer.versioned else _iso(last)]]
    return {
        "spatial": {"bbox": spatial, "crs": ogc_crs.CRS84},
        "temporal": {"interval": temporal, "trs": _TRS},
    }


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _collection(session: ReadSessionDep, request: Request, layer: layers.Layer) -> dict[str, Any]:
    base = _base(request)
    here = f"{base}/ogc/collections/{layer.id}"
    description = layer.title_en + (f"; {layer.masks_en}" if layer.masks_en else "")
    return {
        "id": layer.id,
        "title": layer.title_zh,
        "description": description,
        "itemType": "feature",
        "extent": _extent(session, layer),
        "crs": [c.uri for c in ogc_crs.supported(base)],
        "storageCrs": ogc_crs.CRS84,
        "links": [
            {"href": here, "rel": "self", "type": "application/json", "title": layer.title_en},
            {
                "href": f"{here}/items",
                "rel": "items",
                "type": "application/geo+json",
                "title": "items",
            },
            {
                "href": f"{here}/queryables",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": "application/schema+json",
                "title": "queryables",
            },
        ],
    }


@router.get("/collections", summary="Every layer as a collection")
def collections(
    session: ReadSessionDep, request: Request, principal: PrincipalDep, f: Format = None
) -> dict[str, Any]:
    """The collections the caller may read: regions, grids, buildings, households, service
    centres and circles, list items, incidents, Party organisations and resident units; patrols
    and visits for the tokens that may read them (a GIS client opens every listed layer)."""
    _check_format(f)
    base = _base(request)
    return {
        "links": [
            {"href": f"{base}/ogc/collections", "rel": "self", "type": "application/json"},
        ],
        "collections": [
            _collection(session, request, layer)
            for layer in layers.LAYERS.values()
            if layers.may_read(layer, principal)
        ],
    }


@router.get("/collections/{collection_id}", summary="One collection")
def collection(
    session: ReadSessionDep, request: Request, collection_id: CollectionPath, f: Format = None
) -> dict[str, Any]:
    """One collection: its extent, CRSs and links."""
    _check_format(f)
    return _collection(session, request, _layer(collection_id))


_JSON_TYPES = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "json": {},
}
_GEOMETRY_SCHEMA = {
    "Point": "https://geojson.org/schema/Point.json",
    "Polygon": "https://geojson.org/schema/Polygon.json",
    "MultiPolygon": "https://geojson.org/schema/MultiPolygon.json",
    "MultiLineString": "https://geojson.org/schema/MultiLineString.json",
}


@router.get(
    "/collections/{collection_id}/queryables",
    response_class=SchemaResponse,
    summary="The properties a filter may name",
)
def queryables(request: Request, collection_id: CollectionPath, f: Format = None) -> Any:
    """The collection's queryables as a JSON Schema (personal data is never queryable)."""
    _check_format(f)
    layer = _layer(collection_id)
    here = f"{_base(request)}/ogc/collections/{layer.id}/queryables"
    props: dict[str, Any] = {
        "geometry": {"$ref": _GEOMETRY_SCHEMA[layer.geometry_type], "title": "geometry"}
    }
    for field in layer.queryables.values():
        props[field.name] = {
            **_JSON_TYPES[field.type],
            "title": field.title_zh,
            "description": field.title_en,
        }
    return SchemaResponse(
        {
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": here,
            "type": "object",
            "title": layer.title_zh,
            "properties": props,
            "additionalProperties": False,
        }
    )


def _number_list(text: str, name: str) -> list[float]:
    parts = text.split(",")
    if len(parts) not in (4, 6):
        raise InvalidInput(
            f"{name} takes 4 numbers (or 6 with heights), comma-separated", field=name
        )
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidInput(f"{name} takes numbers: {text[:80]!r}", field=name) from None
    if not all(math.isfinite(v) for v in values):
        raise InvalidInput(f"{name} must be finite numbers (no NaN or infinity)", field=name)
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    return values


def _bbox(text: str | None, crs: ogc_crs.Crs) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    values = _number_list(text, "bbox")
    west, south, east, north = ogc_crs.box_to_wgs84(values, crs)
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90):
        raise InvalidInput(
            f"bbox {text[:80]!r} is not a box of longitudes and latitudes in its CRS "
            f"({crs.uri}): minimum before maximum on each axis",
            field="bbox",
        )
    if west > east:
        raise InvalidInput("bbox across the antimeridian is not served", field="bbox")
    return west, south, east, north


def _instant(text: str) -> datetime | None:
    if text in ("..", ""):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"datetime {text[:60]!r} is not an RFC 3339 time (2024-05-01T08:00:00Z) or date",
            field="datetime",
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _datetime(layer: layers.Layer, text: str | None) -> tuple[list[Any], datetime | None, bool]:
    """The conditions of ``datetime=``, for an instant on grids the ``at`` it means, and
    whether every grid version is to be read (an interval on grids)."""
    if text is None:
        return [], None, False
    if layer.time_field is None:
        raise InvalidInput(
            f"collection {layer.id} has no time: datetime cannot select its features",
            field="datetime",
        )
    if "/" in text:
        start_text, _, end_text = text.partition("/")
        start, end = _instant(start_text), _instant(end_text)
        if start is not None and end is not None and start > end:
            raise InvalidInput("datetime interval ends before it starts", field="datetime")
        return layers.when(layer, start, end), None, layer.versioned
    at = _instant(text)
    if layer.versioned:
        return [], at, False
    return layers.when(layer, at, None, instant=True), None, False


def _limit(text: str | None) -> int:
    if text is None:
        return 100
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(f"limit takes a whole number: {text[:40]!r}", field="limit") from None
    if value < 1 or value > MAX_LIMIT:
        raise InvalidInput(
            f"limit must be between 1 and {MAX_LIMIT:,} (the maximum a page holds)",
            field="limit",
            maximum=MAX_LIMIT,
        )
    return value


def _offset(text: str | None) -> int:
    if text is None:
        return 0
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(f"offset takes a whole number: {text[:40]!r}", field="offset") from None
    if value < 0 or value > 2**62:
        raise InvalidInput("offset must be 0 or more", field="offset")
    return value


def _features(
    session: ReadSessionDep,
    layer: layers.Layer,
    principal: Any,
    page: Any,
    out_crs: ogc_crs.Crs,
    *,
    versions: bool = False,
) -> list[dict[str, Any]]:
    """The features of ``page``, masked, in ``out_crs``; with ``versions`` (grid versions of an
    interval) each is named by its code and version (``code.vN``), as a grid's ETag is."""
    digits = EXACT if layer.versioned else 7
    found = session.execute(
        feature_collection(page, order_by=layer.id_field, digits=digits)
    ).scalar_one()
    features = []
    for f in found:
        props = layers.mask(layer, f["properties"], principal)
        features.append(
            {
                "type": "Feature",
                "id": f"{props['code']}.v{props['version']}" if versions else props[layer.id_field],
                "geometry": ogc_crs.reproject(f["geometry"], out_crs),
                "properties": props,
            }
        )
    return features


# A grid version's feature id: its code and version, as in its ETag.
_VERSION_ID = re.compile(r"(?P<code>[0-9A-Za-z-]{1,40})\.v(?P<version>[0-9]{1,9})")


def _content_crs(crs: ogc_crs.Crs) -> dict[str, str]:
    return {"Content-Crs": f"<{crs.uri}>"}


def _query(params: Any, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise InvalidInput(f"{name} is given {len(values)} times; give it once", field=name)
    return values[0] if values else None


@router.get(
    "/collections/{collection_id}/items",
    response_class=GeoJSONResponse,
    summary="The features of a collection, paged",
)
def items(
    session: ReadSessionDep,
    request: Request,
    principal: PrincipalDep,
    collection_id: CollectionPath,
    bbox: Annotated[str | None, Query(max_length=400, description="west,south,east,north")] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", max_length=200)] = None,
    limit: Annotated[str | None, Query(max_length=20, description="1 to 10,000 (100)")] = None,
    offset: Annotated[str | None, Query(max_length=20, description="features skipped")] = None,
    datetime_: Annotated[
        str | None, Query(alias="datetime", max_length=100, description="instant or a/b, .. open")
    ] = None,
    crs: Annotated[str | None, Query(max_length=200, description="the answer's CRS URI")] = None,
    filter_: Annotated[
        str | None, Query(alias="filter", max_length=20_000, description="a CQL2 filter")
    ] = None,
    filter_lang: Annotated[
        str | None,
        Query(alias="filter-lang", max_length=20, description="cql2-text, cql2-json, cql-text"),
    ] = None,
    filter_crs: Annotated[str | None, Query(alias="filter-crs", max_length=200)] = None,
    f: Format = None,
) -> Any:
    """Features of the collection: ``bbox`` (in ``bbox-crs``), ``datetime``, ``limit``/
    ``offset``, answered in ``crs``; ``name=value`` selects by a queryable. Personal data is
    masked as in the API for the caller's token."""
    _check_format(f)
    layer = _layer(collection_id)
    params = request.query_params
    base = _base(request)
    where: list[Any] = []
    for name in params:
        if name in _ITEM_PARAMS:
            _query(params, name)
            continue
        field = layer.queryables.get(name)
        if field is None:
            raise InvalidInput(
                f"unknown parameter {name[:60]!r}; this collection takes "
                f"{', '.join(sorted(_ITEM_PARAMS))} and its queryables "
                f"({', '.join(layer.queryables)})",
                field=name[:60],
            )
        where.append(_equals(field, _query(params, name) or ""))
    out_crs = ogc_crs.parse(crs, base)
    box = _bbox(bbox, ogc_crs.parse(bbox_crs, base, what="bbox-crs"))
    if filter_ is not None:
        lang = filter_lang or "cql2-text"
        if lang not in _FILTER_LANGS:
            raise InvalidInput(
                f"filter-lang {lang[:20]!r} is not read; use {', '.join(_FILTER_LANGS)}",
                field="filter-lang",
            )
        if filter_crs is not None:
            ogc_crs.parse(filter_crs, base, what="filter-crs")
        where.append(
            compile_filter(filter_, lang, layer.queryables, layer.geometry, filter_crs=filter_crs)
        )
    elif filter_lang is not None or filter_crs is not None:
        raise InvalidInput("filter-lang and filter-crs go with a filter", field="filter")
    times, at, every = _datetime(layer, datetime_)
    where.extend(times)
    size, skip = _limit(limit), _offset(offset)
    chosen: dict[str, Any] = {"at": at, "bbox": box, "where": where, "all_versions": every}
    matched = session.execute(layers.count(layer, principal, **chosen)).scalar_one()
    page = layers.rows(layer, principal, **chosen).limit(size).offset(skip)
    features = _features(session, layer, principal, page, out_crs, versions=every)
    here = f"{base}/ogc/collections/{layer.id}/items"
    links = [_link(here, params, "self", skip)]
    if skip + len(features) < matched:
        links.append(_link(here, params, "next", skip + size))
    if skip > 0:
        links.append(_link(here, params, "prev", max(0, skip - size)))
    body = {
        "type": "FeatureCollection",
        "timeStamp": _iso(datetime.now(UTC)),
        "numberMatched": matched,
        "numberReturned": len(features),
        "features": features,
        "links": links,
    }
    return GeoJSONResponse(body, headers=_content_crs(out_crs))


def _link(here: str, params: Any, rel: str, offset: int) -> dict[str, str]:
    from urllib.parse import urlencode

    kept = [(k, v) for k, v in params.multi_items() if k != "offset"]
    query = urlencode([*kept, ("offset", str(offset))] if rel != "self" or offset else kept)
    return {
        "href": f"{here}?{query}" if query else here,
        "rel": rel,
        "type": "application/geo+json",
        "title": {"self": "this page", "next": "next page", "prev": "previous page"}[rel],
    }


def _equals(field: layers.Field, text: str) -> Any:
    """SQL: ``field`` equals ``text`` read as the field's type."""
    try:
        if field.type == "integer":
            return field.column == int(text)
        if field.type == "number":
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
            return field.column == value
        if field.type == "boolean":
            if text.lower() not in ("true", "false"):
                raise ValueError
            return field.column.is_(text.lower() == "true")
        if field.type in ("datetime", "date"):
            return field.column == _instant(text)
        if field.type == "json":
            raise InvalidInput(f"{field.name} cannot be compared with a value", field=field.name)
    except ValueError:
        raise InvalidInput(
            f"{field.name} takes a {field.type}: {text[:60]!r}", field=field.name
        ) from None
    if len(text) > 400:
        raise InvalidInput(f"{field.name}: at most 400 characters", field=field.name)
    return field.column == text


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    response_class=GeoJSONResponse,
    summary="One feature",
)
def item(
    session: ReadSessionDep,
    request: Request,
    principal: PrincipalDep,
    collection_id: CollectionPath,
    feature_id: Annotated[str, Path(max_length=64)],
    crs: Annotated[str | None, Query(max_length=200)] = None,
    f: Format = None,
) -> Any:
    """One feature by its id (grids: the current version, with the grid API's ETag)."""
    _check_format(f)
    layer = _layer(collection_id)
    out_crs = ogc_crs.parse(crs, _base(request))
    id_field = layer.by_name[layer.id_field]
    version = _VERSION_ID.fullmatch(feature_id) if layer.versioned else None
    if version is not None:
        # One version of a grid, as the items of an interval name it (code.vN).
        chosen = [
            id_field.column == version["code"],
            layer.by_name["version"].column == int(version["version"]),
        ]
        page = layers.rows(layer, principal, where=chosen, all_versions=True).limit(1)
    elif id_field.type == "integer":
        if not feature_id.isdigit() or len(feature_id) > 18:
            raise NotFound(f"no {layer.id} feature {feature_id[:64]!r}")
        page = layers.rows(layer, principal, where=[id_field.column == int(feature_id)]).limit(1)
    else:
        page = layers.rows(layer, principal, where=[id_field.column == feature_id]).limit(1)
    found = _features(session, layer, principal, page, out_crs, versions=version is not None)
    if not found:
        raise NotFound(f"no {layer.id} feature {feature_id[:64]!r}")
    feature = found[0]
    base = _base(request)
    here = f"{base}/ogc/collections/{layer.id}"
    feature["links"] = [
        {"href": f"{here}/items/{feature_id}", "rel": "self", "type": "application/geo+json"},
        {"href": here, "rel": "collection", "type": "application/json"},
    ]
    headers = _content_crs(out_crs)
    if layer.id == "grids":
        headers["ETag"] = grid_etag(feature["properties"]["code"], feature["properties"]["version"])
    return GeoJSONResponse(feature, headers=headers)


@router.get("/crs/{name}", summary="What gridmap's own CRS URIs mean (GCJ-02, BD-09)")
def own_crs(request: Request, name: Annotated[str, Path(max_length=10)]) -> Response:
    """A description of GCJ-02 or BD-09: offsets of WGS 84, not a datum, not EPSG:4326."""
    if name not in ogc_crs.OWN:
        raise NotFound(f"no CRS {name[:10]!r}; gridmap's own are {', '.join(ogc_crs.OWN)}")
    return JSONResponse(ogc_crs.describe(name, _base(request)))
