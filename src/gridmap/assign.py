"""gridmap.assign: put many points (hotline records, archives) into their grids at once.

The grids (current, or as they were at a time) are read once and indexed with
:class:`gridmap.geo.pip.PointIndex`; the points are then located in chunks, so a progress bar
can follow and memory stays flat. The answers are exact and follow the border rule of
:mod:`gridmap.queries.lookup` (lowest grid code on a shared border).
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

import shapely

from gridmap.errors import InvalidInput
from gridmap.geo.crs import normalize_crs, to_wgs84_array
from gridmap.geo.pip import PointIndex
from gridmap.models import Grid

CHUNK = 100_000
LON_NAMES = ("lon", "lng", "longitude", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")


@dataclass
class GridSet:
    """The grids points are assigned to: codes (sorted), their community and street, an index."""

    codes: NDArray[np.str_]
    communities: NDArray[np.str_]
    streets: NDArray[np.str_]
    index: PointIndex

    @classmethod
    def load(
        cls, session: Session, *, at: datetime | None = None, points: int | None = None
    ) -> GridSet:
        """The current grids, or those valid ``at``; ``points``, when known, is how many points
        will be assigned (few points get a coarser index, quicker to build)."""
        grid = Grid.__table__.c
        valid = (
            [grid.valid_to.is_(None)]
            if at is None
            else [grid.valid_from <= at, or_(grid.valid_to.is_(None), grid.valid_to > at)]
        )
        rows = session.execute(
            select(grid.code, grid.community_code, func.ST_AsBinary(grid.geom).label("wkb"))
            .where(*valid)
            .order_by(grid.code)
        ).all()
        geoms = list(shapely.from_wkb([bytes(r.wkb) for r in rows])) if rows else []
        return cls(
            codes=np.array([r.code for r in rows], dtype=str),
            communities=np.array([r.community_code for r in rows], dtype=str),
            streets=np.array([r.community_code[:9] for r in rows], dtype=str),
            index=PointIndex(geoms, points=points),
        )

    def assign(
        self,
        x: NDArray[np.float64],
        y: NDArray[np.float64],
        *,
        crs: str = "EPSG:4326",
        progress: Callable[[int], None] | None = None,
    ) -> NDArray[np.int64]:
        """The index into ``codes`` of each point's grid (-1: none, or not a usable point)."""
        crs = normalize_crs(crs)
        out = np.full(len(x), -1, dtype=np.int64)
        for start in range(0, len(x), CHUNK):
            sl = slice(start, start + CHUNK)
            lon, lat = to_wgs84_array(x[sl], y[sl], crs)
            out[sl] = self.index.locate(lon, lat)
            if progress is not None:
                progress(len(lon))
        return out


def pick_column(
    names: Sequence[str],
    wanted: str | None,
    choices: tuple[str, ...],
    what: str,
    *,
    holder: str = "the file has",
) -> str:
    """The column holding ``what``: ``wanted`` when given (and present), else the first of
    ``names`` that is one of ``choices``; refused in words otherwise."""
    if wanted is not None:
        if wanted not in names:
            raise InvalidInput(f"no column {wanted!r}; {holder} {', '.join(names)}")
        return wanted
    for name in names:
        if name.strip().lower() in choices:
            return name
    raise InvalidInput(
        f"cannot tell which column holds the {what}; name it with --{what[:3]} "
        f"(columns: {', '.join(names)})"
    )


# Tried in this order: UTF-8 (with or without the BOM Excel writes with "CSV UTF-8"), then
# GB18030, a superset of the GBK that Excel writes as "CSV" on a Chinese Windows.
ENCODINGS = ("utf-8-sig", "gb18030")


def _decodes(path: Path, encoding: str) -> bool:
    """Whether the whole file is text in ``encoding`` (read in chunks, so memory stays flat)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as f:
        try:
            while chunk := f.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def detect_encoding(path: Path) -> str:
    """The encoding of a text file: UTF-16 when it starts with its BOM, else the first of
    :data:`ENCODINGS` the whole file decodes in.

    Raises :class:`InvalidInput` when none does.
    """
    with path.open("rb") as f:
        head = f.read(2)
    if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    for encoding in ENCODINGS:
        if _decodes(path, encoding):
            return encoding
    raise InvalidInput(
        f"cannot read {path.name}: it is neither UTF-8 nor GB18030/GBK text; "
        "say its encoding with --encoding"
    )


def file_encoding(path: Path, encoding: str | None) -> str:
    """The encoding to read a CSV file with: ``encoding`` checked, or detected when None."""
    if encoding is None:
        return detect_encoding(path)
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise InvalidInput(
            f"unknown encoding {encoding!r}; use e.g. utf-8, gb18030 or gbk"
        ) from None
    # A BOM at the start of a UTF-8 file is not part of its first column's name.
    return "utf-8-sig" if name == "utf-8" else name


def read_points(
    path: Path, *, lon: str | None = None, lat: str | None = None, encoding: str | None = None
) -> tuple[list[dict[str, Any]], NDArray[np.float64], NDArray[np.float64]]:
    """Rows (their other fields) and coordinates of a CSV or GeoJSON file of points.

    The CSV's encoding is ``encoding``, or found by :func:`detect_encoding`. Rows whose
    coordinates are missing or not numbers keep NaN, and are assigned no grid.
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".geojson", ".json"):
        raise InvalidInput(f"cannot read {path.name}: give a .csv or a .geojson of points")
    try:
        if suffix == ".csv":
            return _read_csv(path, lon=lon, lat=lat, encoding=file_encoding(path, encoding))
        return _read_geojson(path)
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"cannot read {path.name} as {exc.encoding}: byte {exc.object[exc.start]:#04x} at "
            f"offset {exc.start} is not {exc.encoding} text; say its encoding with --encoding"
        ) from None
    except csv.Error as exc:
        raise InvalidInput(f"cannot read {path.name} as CSV: {exc}") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path.name}: {exc.strerror or exc}") from None


def _read_csv(
    path: Path, *, lon: str | None, lat: str | None, encoding: str
) -> tuple[list[dict[str, Any]], NDArray[np.float64], NDArray[np.float64]]:
    with path.open(newline="", encoding=encoding) as f:
        reader = csv.DictReader(f)
        names = list(reader.fieldnames or [])
        if not names:
            raise InvalidInput(f"{path.name} is empty: it needs a header row and points")
        lon_col = pick_column(names, lon, LON_NAMES, "longitude")
        lat_col = pick_column(names, lat, LAT_NAMES, "latitude")
        rows = []
        for row in reader:
            if None in row:
                raise InvalidInput(
                    f"line {reader.line_num} of {path.name} has more fields than its header "
                    f"({len(names)}: {', '.join(names)})"
                )
            rows.append(row)
    xs = np.array([_number(r.get(lon_col)) for r in rows], dtype=float)
    ys = np.array([_number(r.get(lat_col)) for r in rows], dtype=float)
    return rows, xs, ys


def _read_geojson(
    path: Path,
) -> tuple[list[dict[str, Any]], NDArray[np.float64], NDArray[np.float64]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"{path.name} is not JSON: {exc}") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise InvalidInput(f"{path.name} is not a GeoJSON FeatureCollection")
    props: list[dict[str, Any]] = []
    lons: list[float] = []
    lats: list[float] = []
    for i, f in enumerate(features):
        if not isinstance(f, dict):
            raise InvalidInput(f"feature {i} of {path.name} is not a GeoJSON Feature")
        geom = f.get("geometry") or {}
        coords: Any = (
            geom.get("coordinates")
            if isinstance(geom, dict) and geom.get("type") == "Point"
            else None
        )
        ok = isinstance(coords, list) and len(coords) >= 2
        lons.append(_number(coords[0]) if ok else np.nan)
        lats.append(_number(coords[1]) if ok else np.nan)
        p = f.get("properties")
        props.append(dict(p) if isinstance(p, dict) else {})
    return props, np.array(lons, dtype=float), np.array(lats, dtype=float)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def write_assigned(
    path: Path,
    rows: list[dict[str, Any]],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    found: NDArray[np.int64],
    grids: GridSet,
    *,
    bom: bool = True,
) -> None:
    """Write the rows with ``grid_code``, ``community_code`` and ``street_code`` added.

    A CSV starts with a UTF-8 BOM unless ``bom`` is False: without it Excel reads the file as
    the system's code page and garbles Chinese.
    """
    check_output(path)
    try:
        _write(path, rows, x, y, found, grids, bom=bom)
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror or exc}") from None


def check_output(path: Path) -> None:
    """Raise :class:`InvalidInput` unless ``path`` names a file :func:`write_assigned` writes."""
    if path.suffix.lower() not in (".csv", ".geojson", ".json"):
        raise InvalidInput(f"cannot write {path.name}: give a .csv or a .geojson")


def _write(
    path: Path,
    rows: list[dict[str, Any]],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    found: NDArray[np.int64],
    grids: GridSet,
    *,
    bom: bool,
) -> None:

    def extra(i: int) -> dict[str, str]:
        g = int(found[i])
        if g < 0:
            return {"grid_code": "", "community_code": "", "street_code": ""}
        return {
            "grid_code": str(grids.codes[g]),
            "community_code": str(grids.communities[g]),
            "street_code": str(grids.streets[g]),
        }

    if path.suffix.lower() == ".csv":
        # Features of a GeoJSON need not share their properties: every name gets a column.
        names = list(dict.fromkeys(name for row in rows for name in row))
        names += [n for n in ("grid_code", "community_code", "street_code") if n not in names]
        with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=names)
            writer.writeheader()
            for i, row in enumerate(rows):
                writer.writerow({**row, **extra(i)})
        return
    if path.suffix.lower() in (".geojson", ".json"):

        def features() -> Iterator[str]:
            for i, row in enumerate(rows):
                geometry = (
                    {"type": "Point", "coordinates": [float(x[i]), float(y[i])]}
                    if np.isfinite(x[i]) and np.isfinite(y[i])
                    else None
                )
                feature = {
                    "type": "Feature",
                    "properties": {**row, **extra(i)},
                    "geometry": geometry,
                }
                yield json.dumps(feature, ensure_ascii=False)

        with path.open("w", encoding="utf-8") as f:
            f.write('{"type": "FeatureCollection", "features": [\n')
            for i, line in enumerate(features()):
                f.write(("" if i == 0 else ",\n") + line)
            f.write("\n]}\n")
        return
