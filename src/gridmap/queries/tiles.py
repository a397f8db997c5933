"""gridmap.queries.tiles: vector tiles (``ST_AsMVT``) of regions, grids, buildings, incidents …

Each layer has a version (a sequence bumped by every statement that changes its table, migrations
0006 and 0014); tile URLs carry it, so a tile fetched after an edit is never one cached from
before it.

At low zooms regions, grids and buildings are cut from generalised copies (``tile_shape``):
regions and grids simplified per zoom band as coverages (shapely's ``coverage_simplify``, so
neighbours keep sharing their edges), buildings smaller than a few pixels merged per pixel cell
into one box that says how many buildings it holds (``count``), larger ones simplified. The
layers' triggers log the changed parts (``tile_dirty``); the first tile read after a change
rebuilds them, under a lock, before answering. Incidents at low zooms are clustered per tile.
"""

from __future__ import annotations

import json
import math
from typing import Any, cast

from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session

import shapely

from gridmap.errors import InvalidInput
from gridmap.models import TileVersion
from gridmap.vocab.kinds import SEVERITIES
from gridmap.vocab.states import DONE, sql_list

_tile_version = cast(Table, TileVersion.__table__)

MAX_ZOOM = 22
# Below this zoom a layer's tiles are empty.
MIN_ZOOM = {"regions": 6, "grids": 8, "buildings": 12, "incidents": 8, "roads": 11}
# The zooms of the building copies; from the next one on tiles are cut from the table itself.
BUILDING_COPY_ZOOMS = (12, 13, 14)
# The zoom bands of the region and grid copies: a tile at zoom z reads the first band >= z.
POLYGON_BANDS = {"regions": (6, 8, 10, 12, 14), "grids": (8, 10, 12, 14)}
# Vertices closer than this (degrees, about a centimetre) are one before a coverage is simplified.
SNAP_DEGREES = 1e-7
# Incidents below this zoom are cluster points.
CLUSTER_BELOW = 14
# From this zoom a grid tile also carries a layer of label points (`grid_labels`).
LABEL_ZOOM = 12
# A building smaller than this many square pixels is merged into its cell at a copy's zoom.
SMALL_PIXELS = 16.0
# The side of a merging cell, in pixels.
CELL_PIXELS = 4
# The side of an incident cluster's cell, in pixels of a 256-pixel tile: a divisor of 256, so
# cells never straddle a tile edge.
CLUSTER_PIXELS = 64
# Half the side of the Web Mercator square, in metres.
HALF = 20037508.342789244
# More dirty boxes than this since the last build: the whole building copy is rebuilt.
MAX_BOXES = 64

_OVERDUE = f"(i.due_at IS NOT NULL AND i.status NOT IN {sql_list(DONE)} AND i.due_at < now())"

# The columns each layer's features carry (geometry is clipped to the tile, in its pixels).
_LAYERS = {
    "regions": (
        "region r",
        "r.code, r.level, r.name, r.parent_code",
        "r.geom",
        "r.geom IS NOT NULL",
    ),
    "grids": (
        "grid g",
        "g.code, g.name, g.kind, g.subtype, g.community_code, g.version",
        "g.geom",
        "g.valid_to IS NULL",
    ),
    "buildings": (
        "building b",
        "b.id, b.code, b.address, b.grid_code, b.households, b.floors, 1 AS count",
        "b.geom",
        "true",
    ),
    "incidents": (
        "incident i",
        f"i.id, i.category, i.severity, i.status, i.grid_code, {_OVERDUE} AS overdue",
        "i.geom",
        "i.merged_into IS NULL",
    ),
    "roads": ("road_edge r", "r.id, r.name, r.highway", "r.geom", "true"),
}

LAYERS = tuple(_LAYERS)

# What each layer's features say (TileJSON ``vector_layers[].fields``).
FIELDS: dict[str, dict[str, str]] = {
    "regions": {
        "code": "String: region code (6 digits district, 9 street, 12 community)",
        "level": "String: district, street or community",
        "name": "String: name",
        "parent_code": "String: code of the region it lies in",
    },
    "grids": {
        "code": "String: grid code (15 digits)",
        "name": "String: name",
        "kind": "String: basic or exclusive",
        "subtype": "String: kind of an exclusive grid",
        "community_code": "String: code of its community",
        "version": "Number: version of the grid",
    },
    "buildings": {
        "id": "Number: building id (a single building)",
        "code": "String: building code (a single building)",
        "address": "String: standard address (a single building)",
        "grid_code": "String: grid it lies in (a single building)",
        "households": "Number: households (summed over merged buildings)",
        "floors": "Number: storeys (the most of merged buildings)",
        "count": "Number: buildings this feature stands for (1, or more when merged at low zoom)",
    },
    "incidents": {
        "id": "Number: incident id (a single incident)",
        "category": "String: category (a single incident)",
        "severity": "String: severity (the worst of a cluster)",
        "status": "String: status (a single incident)",
        "grid_code": "String: grid (a single incident)",
        "overdue": "Boolean: past its due time (any of a cluster)",
        "count": "Number: incidents of a cluster (below zoom 14)",
        "overdue_count": "Number: overdue incidents of a cluster (below zoom 14)",
    },
    "roads": {
        "id": "Number: road edge id",
        "name": "String: street name",
        "highway": "String: OpenStreetMap highway class",
    },
}

# One tile's envelope in Web Mercator, and in lon/lat with a margin (so the GiST index is used).
_ENV = """env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS m,
                    ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 0.015625), 4326) AS ll)"""


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
    value = session.execute(
        select(_tile_version.c.version).where(_tile_version.c.name == f"tiles_{layer}_version")
    ).scalar()
    return int(value or 0)


def pixel_metres(z: int) -> float:
    """The side of a 256-pixel tile's pixel at zoom ``z``, in Web Mercator metres."""
    return 2 * HALF / (256 << z)


def _band(layer: str, z: int) -> int | None:
    """The polygon copy a tile at zoom ``z`` reads, or None for the table itself."""
    return next((b for b in POLYGON_BANDS[layer] if b >= z), None)


def _source(layer: str, z: int) -> int | None:
    """The zoom of the copy a tile of ``layer`` at ``z`` is cut from, or None for the table."""
    if layer == "buildings":
        return z if z in BUILDING_COPY_ZOOMS else None
    if layer in ("grids", "regions"):
        return _band(layer, z)
    return None


def raw_tile(session: Session, *, layer: str, z: int, x: int, y: int) -> bytes:
    """One tile of ``layer`` cut from its table at any zoom, every row as it is stored: what a
    generic tile server gives (the benchmark's comparison)."""
    _known(layer)
    check_tile(z, x, y)
    table, columns, geom, where = _LAYERS[layer]
    sql = f"""
WITH {_ENV},
rows AS (
    SELECT {columns},
           ST_AsMVTGeom(ST_Transform({geom}, 3857), env.m, 4096, 64, true) AS geom
    FROM {table}, env
    WHERE {where} AND {geom} && env.ll
)
SELECT ST_AsMVT(rows.*, :layer, 4096, 'geom') FROM rows WHERE geom IS NOT NULL
"""
    # Kept as SQL: ST_AsMVT over one layer definition (table, columns, geometry, filter) that
    # the tiles, the extent and the tests share.
    data = session.execute(text(sql), {"z": z, "x": x, "y": y, "layer": layer}).scalar_one()
    return bytes(data or b"")


def _copy_tile(session: Session, *, layer: str, zoom: int, z: int, x: int, y: int) -> bytes:
    # The layer and zoom are written into the statement (a known name and an int), so the planner
    # picks the building copy's own spatial index.
    sql = f"""
WITH {_ENV},
rows AS (
    SELECT s.props,
           ST_AsMVTGeom(ST_Transform(s.geom, 3857), env.m, 4096, 64, true) AS geom
    FROM tile_shape s, env
    WHERE s.layer = '{layer}' AND s.zoom = {int(zoom)} AND s.geom && env.ll
)
SELECT ST_AsMVT(rows.*, :layer, 4096, 'geom') FROM rows WHERE geom IS NOT NULL
"""
    # Kept as SQL: ST_AsMVT of a copy's features, their properties a jsonb column.
    data = session.execute(
        text(sql), {"z": z, "x": x, "y": y, "layer": layer, "zoom": zoom}
    ).scalar_one()
    return bytes(data or b"")


def _cluster_tile(session: Session, *, z: int, x: int, y: int) -> bytes:
    sql = f"""
WITH {_ENV},
pts AS (
    SELECT ST_Transform(i.geom, 3857) AS g, i.severity, {_OVERDUE} AS overdue
    FROM incident i, env
    WHERE i.merged_into IS NULL AND i.geom && env.ll
),
-- Only the points of this tile (half-open edges): cells divide the tile, so each incident is
-- counted in one cluster of one tile.
own AS (
    SELECT pts.* FROM pts, env
    WHERE ST_X(g) >= ST_XMin(env.m) AND ST_X(g) < ST_XMax(env.m)
      AND ST_Y(g) >= ST_YMin(env.m) AND ST_Y(g) < ST_YMax(env.m)
),
clusters AS (
    SELECT count(*)::int AS count,
           (count(*) FILTER (WHERE overdue))::int AS overdue_count,
           bool_or(overdue) AS overdue,
           (array_agg(severity ORDER BY array_position(:severities, severity) DESC NULLS LAST))[1]
               AS severity,
           ST_Centroid(ST_Collect(g)) AS c
    FROM own
    GROUP BY floor(ST_X(g) / :cell), floor(ST_Y(g) / :cell)
),
rows AS (
    SELECT count, overdue_count, overdue, severity,
           ST_AsMVTGeom(c, env.m, 4096, 0, true) AS geom
    FROM clusters, env
)
SELECT ST_AsMVT(rows.*, 'incidents', 4096, 'geom') FROM rows WHERE geom IS NOT NULL
"""
    # Kept as SQL: clusters per pixel cell of the tile, counted as they are cut.
    data = session.execute(
        text(sql),
        {
            "z": z,
            "x": x,
            "y": y,
            "cell": pixel_metres(z) * CLUSTER_PIXELS,
            "severities": list(SEVERITIES),
        },
    ).scalar_one()
    return bytes(data or b"")


def tile(session: Session, *, layer: str, z: int, x: int, y: int) -> bytes:
    """One tile of ``layer`` as MVT bytes (empty below the layer's smallest zoom); a copy that a
    change made stale is rebuilt first."""
    _known(layer)
    check_tile(z, x, y)
    if z < MIN_ZOOM[layer]:
        return b""
    # Compiling a tile's expressions (JIT) costs more than running them.
    session.execute(text("SET LOCAL jit = off"))
    if layer == "incidents" and z < CLUSTER_BELOW:
        return _cluster_tile(session, z=z, x=x, y=y)
    zoom = _source(layer, z)
    labels = _label_tile(session, z=z, x=x, y=y) if layer == "grids" and z >= LABEL_ZOOM else b""
    if zoom is None:
        return raw_tile(session, layer=layer, z=z, x=x, y=y) + labels
    refresh(session, layer)
    return _copy_tile(session, layer=layer, zoom=zoom, z=z, x=x, y=y) + labels


def _label_tile(session: Session, *, z: int, x: int, y: int) -> bytes:
    # One point inside each grid, in the one tile that holds it (no margin): a grid cut by tile
    # edges is still labelled once.
    sql = f"""
WITH {_ENV},
pts AS (
    SELECT g.code, g.name, g.kind, ST_Transform(ST_PointOnSurface(g.geom), 3857) AS p
    FROM grid g, env
    WHERE g.valid_to IS NULL AND g.geom && env.ll
),
rows AS (
    SELECT pts.code, pts.name, pts.kind, ST_AsMVTGeom(pts.p, env.m, 4096, 0, true) AS geom
    FROM pts, env
    WHERE ST_Intersects(pts.p, env.m)
)
SELECT ST_AsMVT(rows.*, 'grid_labels', 4096, 'geom') FROM rows WHERE geom IS NOT NULL
"""
    # Kept as SQL: ST_AsMVT of the grids' label points, beside the grid layer of the same tile.
    data = session.execute(text(sql), {"z": z, "x": x, "y": y}).scalar_one()
    return bytes(data or b"")


def all_tile(session: Session, *, z: int, x: int, y: int) -> bytes:
    """Every layer's tile at z/x/y in one MVT (an MVT is a list of layers: tiles concatenate)."""
    check_tile(z, x, y)
    return b"".join(tile(session, layer=layer, z=z, x=x, y=y) for layer in LAYERS)


# ---- the generalised copies ----------------------------------------------------------------


def stale(session: Session, layer: str) -> bool:
    """Whether ``layer``'s generalised copy misses a change (or was never built)."""
    # Kept as SQL: a look at the change log and the copy's row on every low-zoom tile.
    return bool(
        session.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM tile_dirty WHERE layer = :layer) "
                "OR NOT EXISTS (SELECT 1 FROM tile_copy WHERE layer = :layer)"
            ),
            {"layer": layer},
        ).scalar_one()
    )


def needs_refresh(session: Session, *, layer: str, z: int) -> bool:
    """Whether a tile of ``layer`` (or ``all``) at ``z`` would first rebuild a copy (a write,
    which a read replica cannot do)."""
    for one in LAYERS if layer == "all" else (layer,):
        if z < MIN_ZOOM[one] or (one == "incidents" and z < CLUSTER_BELOW):
            continue
        if _source(one, z) is not None and stale(session, one):
            return True
    return False


def refresh(session: Session, layer: str) -> None:
    """Bring ``layer``'s copy up to date with the changes logged since it was built.

    The changing transactions log what they changed; only committed (or this transaction's own)
    logs are seen, so a change still being written is picked up by the first read after it
    commits. Concurrent readers wait on one lock; the second finds the log empty.
    """
    params = {"layer": layer}
    if not stale(session, layer):
        return
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('gridmap.tiles.' || :layer))"), params
    )
    built = session.execute(
        text("SELECT version FROM tile_copy WHERE layer = :layer"), params
    ).scalar_one_or_none()
    current = version(session, layer)
    boxes = session.execute(
        text(
            "SELECT id, west, south, east, north FROM tile_dirty WHERE layer = :layer ORDER BY id"
        ),
        params,
    ).all()
    if built is not None and not boxes:
        return
    whole = (
        built is None
        or layer != "buildings"
        or len(boxes) > MAX_BOXES
        or any(b.west is None for b in boxes)
    )
    if layer == "buildings":
        if whole:
            _build_buildings(session, None)
            session.execute(text("ANALYZE tile_shape"))
        else:
            for b in boxes:
                _build_buildings(session, (b.west, b.south, b.east, b.north))
    else:
        _build_polygons(session, layer)
    if boxes:
        session.execute(
            text("DELETE FROM tile_dirty WHERE layer = :layer AND id <= :last"),
            {**params, "last": boxes[-1].id},
        )
    session.execute(
        text(
            "INSERT INTO tile_copy (layer, version) VALUES (:layer, :v) "
            "ON CONFLICT (layer) DO UPDATE SET version = excluded.version, built_at = now()"
        ),
        {**params, "v": current},
    )


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    lat = max(-85.05112878, min(85.05112878, lat))
    return (
        lon * HALF / 180,
        math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * HALF / math.pi,
    )


def _build_buildings(session: Session, box: tuple[float, float, float, float] | None) -> None:
    """Rebuild the building copies: all of them, or the cells holding the centre of a building
    that may lie in ``box`` (lon/lat)."""
    for z in BUILDING_COPY_ZOOMS:
        px = pixel_metres(z)
        cell = px * CELL_PIXELS
        n = (256 << z) // CELL_PIXELS
        params: dict[str, Any] = {
            "z": z,
            "px": px,
            "cell": cell,
            "n": n,
            "half": HALF,
            "small": SMALL_PIXELS * px * px,
            "tol": px / 2,
        }
        if box is None:
            session.execute(
                text("DELETE FROM tile_shape WHERE layer = 'buildings' AND zoom = :z"), params
            )
            where = "true"
        else:
            x0, y0 = _mercator(box[0], box[1])
            x1, y1 = _mercator(box[2], box[3])
            cx0, cx1 = int((x0 + HALF) // cell), int((x1 + HALF) // cell)
            cy0, cy1 = int((y0 + HALF) // cell), int((y1 + HALF) // cell)
            params.update(cx0=cx0, cx1=cx1, cy0=cy0, cy1=cy1)
            # Kept as SQL: the cells of the box, by the range of their keys.
            session.execute(
                text(
                    "DELETE FROM tile_shape WHERE layer = 'buildings' AND zoom = :z "
                    "AND cell BETWEEN CAST(:cx0 AS bigint) * :n "
                    "AND CAST(:cx1 AS bigint) * :n + :n - 1 "
                    "AND cell % :n BETWEEN :cy0 AND :cy1"
                ),
                params,
            )
            where = (
                "b.geom && ST_Transform(ST_MakeEnvelope(:cx0 * :cell - :half, :cy0 * :cell - :half,"
                " (:cx1 + 1) * :cell - :half, (:cy1 + 1) * :cell - :half, 3857), 4326)"
            )
        in_box = (
            "true"
            if box is None
            else "cell / :n BETWEEN :cx0 AND :cx1 AND cell % :n BETWEEN :cy0 AND :cy1"
        )
        # Kept as SQL: 200,000 buildings are merged per cell where they lie, never sent out.
        session.execute(
            text(f"""
INSERT INTO tile_shape (layer, zoom, cell, count, props, geom)
WITH m AS (
    SELECT b.id, b.code, b.address, b.grid_code, b.households, b.floors,
           ST_Transform(b.geom, 3857) AS g
    FROM building b WHERE {where}
),
k AS (
    SELECT m.*, floor((ST_X(c) + :half) / :cell)::bigint * :n
                + floor((ST_Y(c) + :half) / :cell)::bigint AS cell,
           ST_Area(g) < :small AS small
    FROM m, LATERAL (SELECT ST_Centroid(m.g) AS c) p
),
kept AS (SELECT * FROM k WHERE {in_box})
SELECT 'buildings', :z, cell, 1,
       jsonb_strip_nulls(jsonb_build_object('id', id, 'code', code, 'address', address,
           'grid_code', grid_code, 'households', households, 'floors', floors, 'count', 1)),
       ST_Transform(ST_SimplifyPreserveTopology(g, :tol), 4326)
FROM kept WHERE NOT small
UNION ALL
SELECT 'buildings', :z, cell, count,
       jsonb_strip_nulls(jsonb_build_object('households', households,
           'floors', floors, 'count', count)),
       ST_Transform(ST_SetSRID(ST_Expand(e,
           greatest(0, (:px - (ST_XMax(e) - ST_XMin(e))) / 2),
           greatest(0, (:px - (ST_YMax(e) - ST_YMin(e))) / 2))::geometry, 3857), 4326)
FROM (SELECT cell, count(*) AS count, sum(households) AS households, max(floors) AS floors,
             ST_Extent(g) AS e
      FROM kept WHERE small GROUP BY cell) c
"""),
            params,
        )


def _build_polygons(session: Session, layer: str) -> None:
    """Rebuild the copies of regions or grids: each coverage (the regions of one level, the basic
    grids, the exclusive grids of one kind) simplified together per band, so neighbours keep
    their shared edges."""
    table, columns, geom, where = _LAYERS[layer]
    group = "r.level" if layer == "regions" else "coalesce(g.subtype, g.kind)"
    # Kept as SQL: the layer's rows with their geometry as WKB for shapely.
    rows = (
        session.execute(
            text(
                f"SELECT {columns}, {group} AS cover, ST_AsBinary({geom}) AS wkb "
                f"FROM {table} WHERE {where}"
            )
        )
        .mappings()
        .all()
    )
    session.execute(text("DELETE FROM tile_shape WHERE layer = :layer"), {"layer": layer})
    covers: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        covers.setdefault(row["cover"], []).append(i)
    shapes = shapely.from_wkb([bytes(r["wkb"]) for r in rows])
    cleaned = {cover: _coverage(shapes[members]) for cover, members in covers.items()}
    out: list[dict[str, Any]] = []
    for band in POLYGON_BANDS[layer]:
        # One pixel at the band's zoom, in degrees of longitude.
        tol = 360.0 / (256 << band)
        simple = list(shapes)
        for cover, members in covers.items():
            part, valid = cleaned[cover]
            if valid:
                done = shapely.coverage_simplify(part, tol)
            else:
                done = shapely.simplify(part, tol, preserve_topology=True)
            for i, g in zip(members, done, strict=True):
                simple[i] = g
        for row, g in zip(rows, simple, strict=True):
            if g is None or g.is_empty:
                continue
            props = {k: v for k, v in row.items() if k not in ("cover", "wkb") and v is not None}
            out.append(
                {
                    "layer": layer,
                    "zoom": band,
                    "props": json.dumps(props, default=str),
                    "wkb": shapely.to_wkb(g),
                }
            )
    if out:
        session.execute(
            text(
                "INSERT INTO tile_shape (layer, zoom, props, geom) "
                "VALUES (:layer, :zoom, CAST(:props AS jsonb), ST_GeomFromWKB(:wkb, 4326))"
            ),
            out,
        )


def _coverage(shapes: Any) -> tuple[Any, bool]:
    """The polygons as a valid coverage (neighbours sharing exactly the same edges) and whether
    that worked: every boundary is noded against every other, the faces between them are
    polygonised, and each polygon is made again of the faces inside it (a sliver gap between
    neighbours is left out, a sliver overlap goes to one of them)."""
    shapes = shapely.set_precision(shapes, SNAP_DEGREES)
    if shapely.coverage_is_valid(shapes):
        return shapes, True
    lines = shapely.union_all(shapely.boundary(shapes))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    inside = shapely.STRtree(shapes).query(shapely.point_on_surface(faces), predicate="within")
    owner: dict[int, int] = {}
    for face, shape in zip(inside[0].tolist(), inside[1].tolist(), strict=True):
        owner.setdefault(face, shape)
    mine: dict[int, list[int]] = {}
    for face, shape in owner.items():
        mine.setdefault(shape, []).append(face)
    rebuilt = [
        shapely.coverage_union_all(faces[mine[i]]) if i in mine else g for i, g in enumerate(shapes)
    ]
    out = shapely.from_wkb(shapely.to_wkb(rebuilt))
    return out, bool(shapely.coverage_is_valid(out))


# ---- TileJSON ------------------------------------------------------------------------------


def _bounds(session: Session, layer: str) -> tuple[float, float, float, float] | None:
    table, _columns, geom, where = _LAYERS[layer]
    # Kept as SQL: the extent of the same layer definition (table, geometry, filter) the tiles
    # are cut from.
    row = session.execute(
        text(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            f"(SELECT ST_Extent({geom}) AS e FROM {table} WHERE {where}) x"
        )
    ).one()
    return None if row[0] is None else (row[0], row[1], row[2], row[3])


WORLD = [-180.0, -85.05, 180.0, 85.05]


def _vector_layers(layer: str) -> list[dict[str, Any]]:
    found = [
        {"id": layer, "fields": FIELDS[layer], "minzoom": MIN_ZOOM[layer], "maxzoom": MAX_ZOOM}
    ]
    if layer == "grids":
        found.append(
            {
                "id": "grid_labels",
                "description": "One point inside each grid, for its label",
                "fields": {k: FIELDS["grids"][k] for k in ("code", "name", "kind")},
                "minzoom": LABEL_ZOOM,
                "maxzoom": MAX_ZOOM,
            }
        )
    return found


def tilejson(session: Session, *, layer: str, base_url: str) -> dict[str, Any]:
    """TileJSON 3.0.0 of a layer (or ``all``), its tile URL carrying the current version."""
    layers = LAYERS if layer == "all" else (layer,)
    for one in layers:
        _known(one)
    v = sum(version(session, one) for one in layers)
    found = [b for b in (_bounds(session, one) for one in layers) if b is not None]
    bounds = (
        [
            min(b[0] for b in found),
            min(b[1] for b in found),
            max(b[2] for b in found),
            max(b[3] for b in found),
        ]
        if found
        else WORLD
    )
    return {
        "tilejson": "3.0.0",
        "name": layer,
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [f"{base_url.rstrip('/')}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt?v={v}"],
        "minzoom": min(MIN_ZOOM[one] for one in layers),
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
        "vector_layers": [v for one in layers for v in _vector_layers(one)],
        "data_version": v,
    }


def current_version(session: Session, layer: str) -> int:
    """The version a tile URL of ``layer`` (or ``all``: the sum of every layer's) carries."""
    if layer == "all":
        return sum(version(session, one) for one in LAYERS)
    return version(session, layer)
