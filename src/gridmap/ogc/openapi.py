"""gridmap.ogc.openapi: the OpenAPI document of ``/ogc`` alone, as GIS clients read it.

GDAL's OAPIF driver follows the landing page's ``service-desc`` link and decides from this
document whether it may send a filter: the ``filter-lang`` parameter of
``/collections/{collectionId}/items`` (or of a collection's own items path) must list
``cql-text``, and a property is sent to the server only when the collection's items path names it
as a query parameter. So the document says the server is ``{base}/ogc`` and describes, besides
the generic paths, each collection's items path with its queryables.
"""

from __future__ import annotations

from typing import Any

from gridmap import __version__, layers

OPENAPI_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"
FILTER_LANGS = ("cql2-text", "cql2-json", "cql-text")
FORMATS = ("json", "geojson")

_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
}


def _param(
    name: str, description: str, schema: dict[str, Any], where: str = "query"
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "in": where,
        "description": description,
        "schema": schema,
    }
    if where == "path":
        out["required"] = True
    else:
        out["required"] = False
        out["style"] = "form"
        out["explode"] = False
    return out


_REF = "#/components/parameters/"
_ITEMS_PARAMS = [
    _param("bbox", "west,south,east,north (6 numbers with heights)", {"type": "string"}),
    _param("bbox-crs", "the CRS of bbox (CRS84 by default)", {"type": "string"}),
    _param(
        "limit",
        f"features on a page (default 100, at most {10_000:,})",
        {"type": "integer", "minimum": 1, "maximum": 10_000, "default": 100},
    ),
    _param("offset", "features skipped", {"type": "integer", "minimum": 0, "default": 0}),
    _param(
        "datetime", "an instant, or an interval a/b with .. for an open end", {"type": "string"}
    ),
    _param("crs", "the CRS of the answer (CRS84 by default)", {"type": "string"}),
    _param("filter", "a CQL2 filter", {"type": "string"}),
    _param(
        "filter-lang",
        "the language of filter (cql-text is read as cql2-text)",
        {"type": "string", "enum": list(FILTER_LANGS), "default": "cql2-text"},
    ),
    _param("filter-crs", "the CRS of the filter's geometries", {"type": "string"}),
    _param("f", "the format: GeoJSON", {"type": "string", "enum": list(FORMATS)}),
]
_GEOJSON = {"application/geo+json": {"schema": {"type": "object"}}}
_JSON = {"application/json": {"schema": {"type": "object"}}}
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
_ERRORS = {str(s): {"$ref": "#/components/responses/Exception"} for s in (400, 401, 403, 404)}


def _get(summary: str, params: list[dict[str, Any]], content: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": params,
            "responses": {"200": {"description": summary, "content": content}, **_ERRORS},
        }
    }


def _items_params(layer: layers.Layer | None) -> list[dict[str, Any]]:
    # Written out, not by $ref: GDAL reads each parameter where the path lists it.
    params = [dict(p) for p in _ITEMS_PARAMS]
    if layer is None:
        return [{"$ref": _REF + "collectionId"}, *params]
    for field in layer.queryables.values():
        if field.type in _TYPES:
            params.append(
                _param(field.name, f"{field.title_en} equals this", dict(_TYPES[field.type]))
            )
    return params


def document(base: str) -> dict[str, Any]:
    """The OpenAPI 3.0 document of the OGC API at ``{base}/ogc``."""
    collection = {"$ref": _REF + "collectionId"}
    feature = _param("featureId", "a feature id", {"type": "string"}, "path")
    f = {"$ref": _REF + "f"}
    paths: dict[str, Any] = {
        "/": _get("the landing page", [f], _JSON),
        "/conformance": _get("the conformance classes", [f], _JSON),
        "/collections": _get("the collections", [f], _JSON),
        "/collections/{collectionId}": _get("one collection", [collection, f], _JSON),
        "/collections/{collectionId}/queryables": _get(
            "the properties a filter may name",
            [collection, f],
            {"application/schema+json": {"schema": {"type": "object"}}},
        ),
        "/collections/{collectionId}/items": _get(
            "the features of a collection", _items_params(None), _GEOJSON
        ),
        "/collections/{collectionId}/items/{featureId}": _get(
            "one feature", [collection, feature, {"$ref": _REF + "crs"}, f], _GEOJSON
        ),
    }
    for layer in layers.LAYERS.values():
        paths[f"/collections/{layer.id}/items"] = _get(
            f"{layer.title_en}: features", _items_params(layer), _GEOJSON
        )
    parameters = {p["name"]: p for p in _ITEMS_PARAMS}
    parameters["collectionId"] = _param(
        "collectionId",
        "a collection id",
        {"type": "string", "enum": list(layers.LAYERS)},
        "path",
    )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "gridmap – OGC API – Features",
            "version": __version__,
            "description": "Every layer of gridmap as OGC API – Features (Parts 1–4). The "
            "whole HTTP API of gridmap is described at /openapi.json.",
        },
        "servers": [{"url": f"{base}/ogc"}],
        "paths": paths,
        "components": {"parameters": parameters, "responses": {"Exception": _EXCEPTION}},
    }
