"""gridmap.queries.tiles: vector tiles (``ST_AsMVT``) of buildings, grids and incidents.

Each layer has a version (a sequence bumped by every statement that changes its table, migration
0006); tile URLs carry it, so a tile fetched after an edit is never one cached from before it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.errors import InvalidInput
from gridmap.vocab.states import DONE, sql_list

MAX_ZOOM = 22
# Below this zoom a layer's tiles are empty: whole-city tiles of 200,000 buildings help nobody.
MIN_ZOOM = {"buildings": 12, "grids": 8, "incidents": 10, "roads": 11}

# The columns each layer's features carry (geometry is clipped to the tile, in its pixels).
_LAYERS = {
    "buildings": (
        "building b",
        "b.id, b.code, b.address, b.grid_code, b.households, b.floors",
        "b.geom",
        # Below z15 a building smaller than a quarter of a screen pixel is left out.
        "(:z >= 15 OR ST_Area(b.geom) >= :pixel_area / 4)",
    ),
    "grids": (
        "grid g",
        "g.code, g.name, g.kind, g.subtype, g.community_code, g.version",
        "g.geom",
        "g.valid_to IS NULL",
    ),
    "incidents": (
        "incident i",
        "i.id, i.category, i.severity, i.status, i.grid_code, "
        f"(i.due_at IS NOT NULL AND i.status NOT IN {sql_list(DONE)} "
        "AND i.due_at < now()) AS overdue",
        "i.geom",
        "i.merged_into IS NULL",
    ),
    "roads": ("road_edge r", "r.id, r.name, r.highway", "r.geom", "true"),
}

LAYERS = tuple(_LAYERS)


def check_tile(z: int, x: int, y: int) -> None:
    """Raise unless z/x/y names a tile of the Web Mercator pyramid."""
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInput(f"zoom {z} out of range 0-{MAX_ZOOM}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise InvalidInput(f"tile {z}/{x}/{y} does not exist: x and y run 0-{n - 1} at zoom {z}")


def _known(layer: str) -> None:
    if layer not in _LAYERS:
        raise InvalidInput(f"no tiled layer {layer!r}; there are {', '.join(LAYERS)}")


def version(session: Session, layer: str) -> int:
    """The layer's current data version."""
    _known(layer)
    value: int = session.execute(
        # Kept as SQL: a sequence is read as a relation named after the layer (no model). A
        # fresh sequence has last_value 1 before its first nextval: is_called tells them apart.
        text(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM tiles_{layer}_version")
    ).scalar_one()
    return value


def tile(session: Session, *, layer: str, z: int, x: int, y: int) -> bytes:
    """One tile of ``layer`` as MVT bytes (empty below the layer's smallest zoom)."""
    _known(layer)
    check_tile(z, x, y)
    if z < MIN_ZOOM[layer]:
        return b""
    table, columns, geom, where = _LAYERS[layer]
    # The tile's envelope is brought to lon/lat once, so the GiST index on geom is used.
    sql = f"""
WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS m,
                    ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 0.015625), 4326) AS ll),
rows AS (
    SELECT {columns},
           ST_AsMVTGeom(ST_Transform({geom}, 3857), env.m, 4096, 64, true) AS geom
    FROM {table}, env
    WHERE {where} AND {geom} && env.ll
)
SELECT ST_AsMVT(rows.*, :layer, 4096, 'geom') FROM rows WHERE geom IS NOT NULL
"""
    # A 256-pixel tile's pixel, in square degrees (lon; what ST_Area of lon/lat gives).
    pixel_area = (360.0 / (256 << z)) ** 2
    # Kept as SQL: ST_AsMVT over one layer definition (table, columns, geometry, filter) that
    # the tiles, the extent and the tests share.
    data = session.execute(
        text(sql), {"z": z, "x": x, "y": y, "layer": layer, "pixel_area": pixel_area}
    ).scalar_one()
    return bytes(data or b"")


def tilejson(session: Session, *, layer: str, base_url: str) -> dict[str, Any]:
    """TileJSON 3.0.0 of a layer, its tile URL carrying the current version."""
    _known(layer)
    table, _columns, geom, where = _LAYERS[layer]
    # Kept as SQL: the extent of the same layer definition (table, geometry, filter) the tiles
    # are cut from.
    bounds = session.execute(
        text(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            f"(SELECT ST_Extent({geom}) AS e FROM {table} WHERE {where}) x"
        ),
        {"z": MAX_ZOOM, "pixel_area": 0.0},
    ).one()
    v = version(session, layer)
    return {
        "tilejson": "3.0.0",
        "name": layer,
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [f"{base_url.rstrip('/')}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt?v={v}"],
        "minzoom": MIN_ZOOM[layer],
        "maxzoom": MAX_ZOOM,
        "bounds": list(bounds) if bounds[0] is not None else [-180, -85.05, 180, 85.05],
        "vector_layers": [{"id": layer, "fields": {}}],
        "data_version": v,
    }
