"""gridmap.files: GIS files in and out — GeoJSON, GeoPackage, Shapefile, FlatGeobuf, Parquet, KML.

Writing and reading go through pyogrio (GDAL), so what gridmap writes opens in QGIS, ArcGIS and
``ogrinfo``, and what they write gridmap can read. Shapefiles carry a ``.cpg`` saying UTF-8, so
Chinese names survive, and their 10-character field names are mapped both ways.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import shapely
from pyproj import CRS

from gridmap.errors import InvalidInput
from gridmap.geo.crs import from_wgs84_array, normalize_crs, to_wgs84_array

if TYPE_CHECKING:
    import geopandas as gpd

Format = Literal["geojson", "gpkg", "shp", "fgb", "parquet"]
FORMATS: tuple[Format, ...] = ("geojson", "gpkg", "shp", "fgb", "parquet")
EXPORT_CRS = ("EPSG:4326", "EPSG:4490", "GCJ-02")
MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "shp": "application/zip",
    "fgb": "application/vnd.flatgeobuf",
    "parquet": "application/vnd.apache.parquet",
}
SUFFIXES = {
    "geojson": ".geojson",
    "gpkg": ".gpkg",
    "shp": ".zip",
    "fgb": ".fgb",
    "parquet": ".parquet",
}
_DRIVERS = {"gpkg": "GPKG", "shp": "ESRI Shapefile", "fgb": "FlatGeobuf"}

# GCJ-02 is WGS 84 with an obfuscating offset, not a datum, and no transformation to WGS 84 can be
# written in a CRS definition. Said as a geographic CRS on the WGS 84 ellipsoid (as gridmap once
# did), GDAL and QGIS take it for WGS 84 and "reproject" it to EPSG:4326 by changing nothing, so
# the ~500 m offset stays silently. Said as an engineering CRS, every file names it GCJ-02 and
# GDAL, QGIS, pyproj and geopandas refuse to reproject it ("no coordinate operation") instead.
GCJ02_WKT = (
    'ENGCRS["GCJ-02 (WGS 84 longitude and latitude with the GCJ-02 offset; not EPSG:4326)",'
    'EDATUM["GCJ-02"],CS[Cartesian,2],'
    'AXIS["longitude (E)",east,ORDER[1],ANGLEUNIT["degree",0.0174532925199433]],'
    'AXIS["latitude (N)",north,ORDER[2],ANGLEUNIT["degree",0.0174532925199433]],'
    'REMARK["positions of AMap and Tencent maps; gridmap converts them to WGS 84"]]'
)
GCJ02_NOTE = (
    "This file is in GCJ-02 (the offset coordinates of AMap and Tencent maps), not WGS 84 "
    "(EPSG:4326). Its CRS is written as an engineering CRS named GCJ-02, so GIS tools will not "
    "reproject it: GCJ-02 cannot be converted by a CRS definition. For WGS 84 or CGCS2000, "
    "export again with crs=EPSG:4326 or crs=EPSG:4490.\n"
    "本文件坐标为 GCJ-02（高德、腾讯地图的偏移坐标），不是 WGS 84（EPSG:4326），"
    "GIS 软件无法通过投影转换把它换成 WGS 84。"
    "如需 WGS 84 或 CGCS2000，请以 crs=EPSG:4326 或 crs=EPSG:4490 重新导出。\n"
)

# Shapefile (dBase) field names hold 10 characters.
SHP_FIELDS = {
    "community_code": "comm_code",
    "community_name": "comm_name",
    "street_code": "strt_code",
    "street_name": "strt_name",
    "parent_code": "parent",
}
_FROM_SHP = {v: k for k, v in SHP_FIELDS.items()}

FieldType = Literal["string", "integer", "number", "boolean", "datetime", "date", "json"]
_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "datetime": pa.timestamp("ms", tz="UTC"),
    "date": pa.date32(),
    "json": pa.string(),
}


def file_crs(crs: str | None) -> CRS:
    """The CRS written into a file for an export ``crs=``."""
    name = normalize_crs(crs)
    if name not in EXPORT_CRS:
        raise InvalidInput(f"files are written in {', '.join(EXPORT_CRS)}; not {name}")
    return CRS.from_wkt(GCJ02_WKT) if name == "GCJ-02" else CRS.from_user_input(name)


def _move(geoms: Any, crs: str) -> Any:
    """WGS84 geometries to ``crs`` (GCJ-02 needs the published offset, not pyproj)."""
    if crs in ("EPSG:4326", "EPSG:4490"):
        return geoms
    return shapely.transform(
        geoms, lambda xy: np.column_stack(from_wgs84_array(xy[:, 0], xy[:, 1], crs))
    )


def shp_names(names: Sequence[str]) -> dict[str, str]:
    """Each field's Shapefile name: at most 10 characters, unique (known long names shortened
    by :data:`SHP_FIELDS`, others cut and numbered).

    Examples
    --------
    >>> names = shp_names(["community_code", "reporter_phone", "reporter_photo", "id"])
    >>> list(names.values())
    ['comm_code', 'reporter_p', 'reporter_1', 'id']
    """
    out: dict[str, str] = {}
    for name in names:
        short = SHP_FIELDS.get(name, name[:10])
        n = 0
        while short in out.values():
            n += 1
            short = f"{name[: 10 - len(str(n))]}{n}"
        out[name] = short
    return out


def arrow_schema(fields: Sequence[tuple[str, FieldType]], *, fmt: Format) -> pa.Schema:
    """The Arrow schema of an export: each field typed as the format can hold it (a Shapefile
    holds no times: ISO 8601 text there), then ``geometry`` as WKB."""
    columns = []
    for name, kind in fields:
        arrow = _ARROW_TYPES[kind]
        if fmt == "shp" and kind in ("datetime", "date"):
            arrow = pa.string()
        columns.append(pa.field(name, arrow))
    return pa.schema([*columns, pa.field("geometry", pa.binary())])


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def moved_wkb(wkb: pa.Array, crs: str) -> pa.Array:
    """A column of WGS 84 WKB geometries in ``crs`` (EPSG:4326 and EPSG:4490 share their
    coordinates; GCJ-02 is moved by its published offset, all rows at once)."""
    if crs != "GCJ-02":
        return wkb
    geoms = _move(shapely.from_wkb(wkb.to_numpy(zero_copy_only=False)), crs)
    return pa.array(shapely.to_wkb(geoms), pa.binary())


def geojson_chunks(batches: Iterable[pa.RecordBatch], *, crs: str, name: str) -> Iterator[bytes]:
    """A FeatureCollection, a batch of features at a time (RFC 7946 in WGS 84 and CGCS2000; a
    GCJ-02 file names its CRS in a ``crs`` member GDAL reads, so it is never taken for WGS 84)."""
    crs = normalize_crs(crs)
    head: dict[str, Any] = {"type": "FeatureCollection", "name": name}
    if crs == "GCJ-02":
        head["gridmap:crs"] = "GCJ-02"
        head["gridmap:note"] = GCJ02_NOTE
        head["crs"] = {"type": "name", "properties": {"name": GCJ02_WKT}}
    yield json.dumps(head, ensure_ascii=False)[:-1].encode() + b', "features": ['
    first = True
    for batch in batches:
        props = batch.drop_columns(["geometry"]).to_pylist()
        geoms = shapely.from_wkb(batch.column("geometry").to_numpy(zero_copy_only=False))
        if crs == "GCJ-02":
            geoms = shapely.set_precision(geoms, 1e-7, mode="pointwise")
        shapes = shapely.to_geojson(geoms)
        out = []
        for p, g in zip(props, shapes, strict=True):
            body = json.dumps({k: _iso(v) for k, v in p.items()}, ensure_ascii=False)
            out.append(f'{{"type": "Feature", "properties": {body}, "geometry": {g or "null"}}}')
        if out:
            yield (b"" if first else b",\n") + ",\n".join(out).encode()
            first = False
    yield b"]}\n"


def _geo_metadata(crs: str, geometry_type: str) -> bytes:
    """GeoParquet 1.1 ``geo`` metadata: WKB, the layer's type, the CRS as PROJJSON."""
    column = {
        "encoding": "WKB",
        "geometry_types": [geometry_type] if geometry_type != "Unknown" else [],
        "crs": file_crs(crs).to_json_dict(),
    }
    meta = {"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": column}}
    return json.dumps(meta).encode()


def write_stream(
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    *,
    fmt: Format,
    crs: str,
    layer: str,
    geometry_type: str,
    folder: Path,
) -> Path:
    """Write batches as they come (memory stays that of one batch) as a GeoPackage, zipped
    Shapefile, FlatGeobuf or GeoParquet in ``folder``; returns the file to send."""
    crs = normalize_crs(crs)
    if fmt == "parquet":
        path = folder / f"{layer}.parquet"
        with_geo = schema.with_metadata({b"geo": _geo_metadata(crs, geometry_type)})
        with pq.ParquetWriter(path, with_geo, compression="zstd") as writer:
            for batch in batches:
                writer.write_batch(
                    batch.replace_schema_metadata(with_geo.metadata), row_group_size=batch.num_rows
                )
        return path
    import pyogrio  # GDAL: only the formats it writes wait for it to load

    wkt = file_crs(crs).to_wkt()
    names = shp_names(schema.names[:-1]) if fmt == "shp" else {}
    if names:
        schema = pa.schema(
            [f.with_name(n) for f, n in zip(schema, [*names.values(), "geometry"], strict=True)]
        )
        batches = (b.rename_columns(schema.names) for b in batches)
    stream = pa.RecordBatchReader.from_batches(schema, batches)
    out_dir = folder / layer if fmt == "shp" else folder
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"{layer}{'.shp' if fmt == 'shp' else SUFFIXES[fmt]}"
    options: dict[str, Any] = {}
    if fmt == "gpkg":
        # GDAL 3.6 (Debian 12) warns about the 1.4 files newer GDALs write by default.
        options["dataset_options"] = {"VERSION": "1.2"}
    if fmt == "fgb":
        # FlatGeobuf's index takes no row without a geometry (a household not yet placed).
        options["layer_options"] = {"SPATIAL_INDEX": "NO"}
    pyogrio.write_arrow(
        stream,
        path,
        layer=layer,
        driver=_DRIVERS[fmt],
        geometry_name="geometry",
        geometry_type=geometry_type,
        crs=wkt,
        encoding="UTF-8" if fmt == "shp" else None,
        **options,
    )
    if fmt == "gpkg" and crs == "GCJ-02":
        _name_gpkg_crs(path)
    if fmt != "shp":
        return path
    zipped = folder / f"{layer}.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as z:
        for part in sorted(out_dir.iterdir()):
            z.write(part, part.name)
        if crs == "GCJ-02":
            z.writestr("README.txt", GCJ02_NOTE)
        long = {k: v for k, v in names.items() if k != v}
        if long:
            z.writestr(
                "fields.txt",
                "".join(f"{v}\t{k}\n" for k, v in long.items()),
            )
    return zipped


def _name_gpkg_crs(path: Path) -> None:
    """Give the GeoPackage's GCJ-02 entry the organisation ``gridmap`` and a name saying what it is
    (GDAL writes ``NONE`` for a CRS of no authority)."""
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE gpkg_spatial_ref_sys SET organization = 'gridmap', srs_name = 'GCJ-02', "
            "description = ? WHERE organization = 'NONE' AND definition LIKE '%GCJ-02%'",
            (GCJ02_NOTE,),
        )


READABLE = (".geojson", ".json", ".gpkg", ".zip", ".shp", ".kml")


def read_file(path: Path, *, crs: str | None = None) -> tuple[gpd.GeoDataFrame, str]:
    """A GIS file's features and the CRS its coordinates are in (one gridmap accepts).

    ``crs`` overrides what the file says. A file in another CRS that pyproj knows (a UTM zone,
    EPSG:3857 …) is reprojected to WGS84 first. Shapefile field names are mapped back.
    """
    suffix = path.suffix.lower()
    if suffix not in READABLE:
        raise InvalidInput(
            f"cannot read {path.name}: gridmap reads {', '.join(READABLE)} "
            "(a Shapefile as a .zip of its parts, or the .shp beside them)"
        )
    import pyogrio

    source = f"/vsizip/{path}" if suffix == ".zip" else str(path)
    try:
        layers = pyogrio.list_layers(source)
        if len(layers) == 0:
            raise InvalidInput(f"{path.name} holds no layer")
        gdf = pyogrio.read_dataframe(source, layer=layers[0][0])
    except pyogrio.errors.DataSourceError as exc:
        # GDAL names the file by its full path, a folder of this server: say only its name.
        said = str(exc).replace(source, path.name).replace(str(path.parent), "")
        raise InvalidInput(f"cannot read {path.name} as a GIS file: {said}") from None
    gdf = gdf.rename(columns=_FROM_SHP)
    gdf.columns = [c if c == "geometry" else c.lower() for c in gdf.columns]
    if crs is not None:
        return gdf, normalize_crs(crs)
    if gdf.crs is None:
        return gdf, "EPSG:4326"
    if "GCJ-02" in gdf.crs.name:  # GDAL names it GCS_GCJ-02 after a trip through a .prj
        return gdf, "GCJ-02"
    epsg = gdf.crs.to_epsg()
    if epsg in (4326, 4490):
        return gdf, f"EPSG:{epsg}"
    return gdf.to_crs(4326), "EPSG:4326"


def check_readable_crs(gdf: gpd.GeoDataFrame, crs: str) -> None:
    """Cheap early check that the coordinates can be in ``crs`` at all."""
    if gdf.empty:
        return
    b = gdf.total_bounds
    lon, lat = to_wgs84_array([b[0], b[2]], [b[1], b[3]], crs)
    if not (70 <= lon.min() and lon.max() <= 140 and 0 <= lat.min() and lat.max() <= 60):
        raise InvalidInput(
            f"the file's coordinates ({b[0]:.4g}, {b[1]:.4g}) … ({b[2]:.4g}, {b[3]:.4g}) are not "
            f"in China as {crs}: give the right --crs (EPSG:4326, EPSG:4490, EPSG:3857, GCJ-02, "
            "BD-09)"
        )


def upload_name(filename: str | None, *, default: str) -> str:
    r"""The name an uploaded file is called by in answers and the audit log: its last path part
    (a browser on Windows may send ``C:\Users\…``), without control characters, at most 120
    characters; ``default`` when nothing is left.

    Examples
    --------
    >>> upload_name("C:\\Users\\wang\\热线.csv", default="upload.csv")
    '热线.csv'
    >>> upload_name("../\x00x.csv", default="upload.csv"), upload_name(None, default="a.csv")
    ('x.csv', 'a.csv')
    """
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if len(name) > 120:
        stem, dot, suffix = name.rpartition(".")
        name = (
            f"{stem[: 110 - len(suffix)]}…{dot}{suffix}" if dot and len(suffix) < 10 else name[:120]
        )
    return name or default


def temp_folder() -> Path:
    """A private folder for one export, removed by the caller."""
    return Path(tempfile.mkdtemp(prefix="gridmap-export-"))
