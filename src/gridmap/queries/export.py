"""gridmap.queries.export: the rows of each exportable layer, a batch at a time."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap import files
from gridmap.errors import InvalidInput, NotFound

_TIME = """(CASE WHEN CAST(:at AS timestamptz) IS NULL THEN g.valid_to IS NULL
            ELSE g.valid_from <= CAST(:at AS timestamptz)
                 AND (g.valid_to IS NULL OR g.valid_to > CAST(:at AS timestamptz)) END)"""

# Each layer: its columns (geometry last, named geom) and the code column a region filters on.
_LAYERS = {
    "grids": (
        f"""
        SELECT g.code, g.name, g.kind, g.subtype, g.community_code, c.name AS community_name,
               left(g.community_code, 9) AS street_code, s.name AS street_name, g.households,
               g.version, to_char(g.valid_from AT TIME ZONE 'UTC',
                                  'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS valid_from,
               round(ST_Area(g.geom::geography)::numeric, 1)::float8 AS area_m2, g.geom
        FROM grid g JOIN region c ON c.code = g.community_code
        LEFT JOIN region s ON s.code = c.parent_code
        WHERE {_TIME} AND left(g.community_code, length(:region)) = :region
        ORDER BY g.code
        """
    ),
    "regions": (
        """
        SELECT r.code, r.level, r.name, r.parent_code, r.geom FROM region r
        WHERE left(r.code, length(:region)) = :region
        ORDER BY r.code
        """
    ),
    "buildings": (
        """
        SELECT b.code, b.address, b.name, b.use, b.floors, b.households, b.grid_code,
               b.community_code, b.geom
        FROM building b
        WHERE :region = '' OR left(b.community_code, length(:region)) = :region
        ORDER BY b.code
        """
    ),
}
LAYERS = tuple(_LAYERS)


def export_rows(
    session: Session,
    *,
    layer: str,
    region: str | None = None,
    at: datetime | None = None,
    geometry: str = "geojson",
    batch: int = 2000,
) -> Iterator[dict[str, Any]]:
    """Rows of ``layer`` in ``region`` (any code prefix) with their geometry as a GeoJSON dict
    (``geometry="geojson"``) or WKB bytes (``"wkb"``), read through a server-side cursor."""
    if layer not in _LAYERS:
        raise InvalidInput(f"unknown layer {layer!r}; export one of {', '.join(LAYERS)}")
    geom = "ST_AsGeoJSON(x.geom, 9)::json" if geometry == "geojson" else "ST_AsBinary(x.geom)"
    sql = f"SELECT to_jsonb(x) - 'geom' AS props, {geom} AS geometry FROM ({_LAYERS[layer]}) x"
    params = {"region": region or "", "at": at}
    result = session.execute(text(sql).execution_options(yield_per=batch), params)
    for row in result:
        props = dict(row.props)
        g = row.geometry
        props["geometry"] = bytes(g) if isinstance(g, memoryview) else g
        yield props


def count_rows(
    session: Session, *, layer: str, region: str | None = None, at: datetime | None = None
) -> int:
    """How many rows an export of ``layer`` will hold (for progress bars)."""
    if layer not in _LAYERS:
        raise InvalidInput(f"unknown layer {layer!r}; export one of {', '.join(LAYERS)}")
    return int(
        session.execute(
            text(f"SELECT count(*) FROM ({_LAYERS[layer]}) x"),
            {"region": region or "", "at": at},
        ).scalar_one()
    )


def export_file(
    session: Session, *, layer: str, fmt: str, crs: str, region: str | None, at: datetime | None
) -> Path:
    """Write an export as a GeoPackage or zipped Shapefile in a temporary folder."""
    import pandas as pd

    rows = list(export_rows(session, layer=layer, region=region, at=at, geometry="wkb"))
    if not rows:
        raise NotFound(f"no {layer} to export" + (f" in {region}" if region else ""))
    wkb = [r.pop("geometry") for r in rows]
    folder = files.temp_folder()
    try:
        return files.write_file(
            pd.DataFrame(rows),
            wkb,
            fmt=fmt,  # type: ignore[arg-type]
            crs=crs,
            layer=layer,
            folder=folder,
        )
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
