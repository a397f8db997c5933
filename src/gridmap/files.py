"""gridmap.files: GIS files in and out — GeoJSON, GeoPackage, zipped Shapefile, KML.

Writing and reading go through pyogrio (GDAL), so what gridmap writes opens in QGIS, ArcGIS and
``ogrinfo``, and what they write gridmap can read. Shapefiles carry a ``.cpg`` saying UTF-8, so
Chinese names survive, and their 10-character field names are mapped both ways.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

import geopandas as gpd
import pyogrio
import shapely
from pyproj import CRS

from gridmap.errors import InvalidInput
from gridmap.geo.crs import from_wgs84_array, normalize_crs, to_wgs84_array

Format = Literal["geojson", "gpkg", "shp"]
FORMATS: tuple[Format, ...] = ("geojson", "gpkg", "shp")
EXPORT_CRS = ("EPSG:4326", "EPSG:4490", "GCJ-02")
MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "shp": "application/zip",
}

# GCJ-02 is WGS 84 with an obfuscating offset, not a datum: files in it say so by name, keep
# WGS 84's ellipsoid (so GIS tools can draw them) and carry no EPSG code to be mistaken for 4326.
GCJ02_WKT = (
    'GEOGCRS["GCJ-02",DATUM["World Geodetic System 1984",ELLIPSOID["WGS 84",6378137,'
    '298.257223563,LENGTHUNIT["metre",1]]],PRIMEM["Greenwich",0,ANGLEUNIT["degree",'
    '0.0174532925199433]],CS[ellipsoidal,2],AXIS["longitude",east,ORDER[1],ANGLEUNIT["degree",'
    '0.0174532925199433]],AXIS["latitude",north,ORDER[2],ANGLEUNIT["degree",0.0174532925199433]],'
    'REMARK["WGS 84 positions with the GCJ-02 offset of AMap and Tencent maps"]]'
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


def geojson_chunks(rows: Iterable[dict[str, Any]], *, crs: str, name: str) -> Iterator[bytes]:
    """A FeatureCollection, a feature at a time (RFC 7946; GCJ-02 output says so in a member).

    Each row holds its properties and ``geometry``, a GeoJSON dict in WGS84 (or None).
    """
    crs = normalize_crs(crs)
    head: dict[str, Any] = {"type": "FeatureCollection", "name": name}
    if crs == "GCJ-02":
        head["gridmap:crs"] = "GCJ-02"
    yield json.dumps(head, ensure_ascii=False)[:-1].encode() + b', "features": ['
    first = True
    for row in rows:
        props = {k: v for k, v in row.items() if k != "geometry"}
        geometry = row.get("geometry")
        if geometry is not None and crs == "GCJ-02":
            geom = _move(shapely.geometry.shape(geometry), crs)
            geometry = shapely.geometry.mapping(shapely.set_precision(geom, 1e-7, mode="pointwise"))
        feature = {"type": "Feature", "properties": props, "geometry": geometry}
        yield (b"" if first else b",\n") + json.dumps(
            feature, ensure_ascii=False, default=str
        ).encode()
        first = False
    yield b"]}\n"


def write_file(
    frame: pd.DataFrame,
    wkb: list[bytes | None],
    *,
    fmt: Format,
    crs: str,
    layer: str,
    folder: Path,
) -> Path:
    """Write rows (properties in ``frame``, WGS84 WKB in ``wkb``) as a GeoPackage or a zipped
    Shapefile in ``folder``; returns the file to send."""
    crs = normalize_crs(crs)
    geoms = _move(shapely.from_wkb(wkb), crs)
    gdf = gpd.GeoDataFrame(frame.copy(), geometry=list(geoms), crs=file_crs(crs))
    for col in gdf.columns:
        if col != "geometry" and gdf[col].dtype == object:
            gdf[col] = gdf[col].map(lambda v: None if v is None else str(v))
    if fmt == "gpkg":
        path = folder / f"{layer}.gpkg"
        pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", promote_to_multi=True)
        return path
    shp_dir = folder / layer
    shp_dir.mkdir()
    gdf = gdf.rename(columns=SHP_FIELDS)
    pyogrio.write_dataframe(
        gdf,
        shp_dir / f"{layer}.shp",
        driver="ESRI Shapefile",
        encoding="UTF-8",
        promote_to_multi=True,
    )
    path = folder / f"{layer}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for part in sorted(shp_dir.iterdir()):
            z.write(part, part.name)
    if not any(n.endswith(".cpg") for n in zipfile.ZipFile(path).namelist()):
        raise RuntimeError("the Shapefile was written without its .cpg")
    return path


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
