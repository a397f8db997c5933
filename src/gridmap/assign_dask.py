"""gridmap.assign_dask: assign the points of files bigger than memory on a Dask cluster.

The input is a folder, a glob or a list of parts (CSV, or GeoParquet / Parquet with coordinate
columns). The client reads the grids once (:class:`gridmap.assign.GridSet`) and scatters them to
every worker; each partition is then read, located and written by one task, as a part of the
output folder in the input's format, numbered in input order. The answers are those of the
single-process :func:`gridmap.assign.GridSet.assign` (same columns, same border rule).
"""

from __future__ import annotations

import glob
import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numpy.typing import NDArray

import shapely

from gridmap.assign import LAT_NAMES, LON_NAMES, GridSet, file_encoding, pick_column
from gridmap.errors import GridmapError, InvalidFile, InvalidInput
from gridmap.geo.crs import normalize_crs

if TYPE_CHECKING:
    from distributed import Client

Kind = Literal["csv", "parquet"]
SUFFIXES: dict[str, Kind] = {".csv": "csv", ".parquet": "parquet", ".geoparquet": "parquet"}
ADDED = ("grid_code", "community_code", "street_code")
# A CSV part is cut into partitions of about this many bytes (each read, located and written
# by one task), so a worker's memory holds a few of them whatever the size of the file.
BLOCKSIZE = 64 * 2**20
_ADDRESS = re.compile(r"^(tcp|tls)://(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")


@dataclass(frozen=True)
class Parts:
    """The parts of an input and how their points are read.

    ``geometry`` names a GeoParquet geometry column (WKB), else ``lon``/``lat`` name the
    coordinate columns. ``crs`` is the points' CRS, ``geo`` the GeoParquet metadata kept for
    the output.
    """

    kind: Kind
    files: tuple[Path, ...]
    columns: tuple[str, ...]
    crs: str
    lon: str | None = None
    lat: str | None = None
    geometry: str | None = None
    encoding: str = "utf-8"
    geo: bytes | None = None


@dataclass(frozen=True)
class SavedGrids:
    """The grids' codes and a saved :class:`~gridmap.geo.pip.PointIndex` in a directory every
    worker can read: what is shipped instead of the index itself. Each worker process opens the
    index once, memory-mapped, so the workers of one machine share one copy of it."""

    codes: NDArray[np.str_]
    communities: NDArray[np.str_]
    streets: NDArray[np.str_]
    path: str

    @classmethod
    def save(cls, grids: GridSet, directory: Path) -> SavedGrids:
        """Save ``grids``' index under ``directory`` (a new subdirectory each run)."""
        import uuid

        path = directory / f"gridmap-index-{uuid.uuid4().hex}"
        grids.index.save(path)
        return cls(grids.codes, grids.communities, grids.streets, str(path))

    def open(self) -> GridSet:
        """The grids with the index memory-mapped (opened once per process)."""
        opened = _OPENED.get(self.path)
        if opened is None:
            from gridmap.geo.pip import PointIndex

            opened = GridSet(self.codes, self.communities, self.streets, PointIndex.open(self.path))
            _OPENED.clear()  # one run's index at a time
            _OPENED[self.path] = opened
        return opened


_OPENED: dict[str, GridSet] = {}


@dataclass(frozen=True)
class Written:
    """What one output part holds."""

    number: int
    rows: int
    hits: int


def _natural(path: Path) -> list[Any]:
    """Sort key: part.2 before part.10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


def find_parts(sources: Sequence[str | Path]) -> list[Path]:
    """The files named by ``sources``: files, folders (their .csv / .parquet files) or globs.

    Parts of one folder or glob are in natural order (part.2 before part.10).
    """
    found: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_file():
            found.append(path)
            continue
        if path.is_dir():
            matches = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES]
            if not matches:
                raise InvalidInput(f"the folder {path} has no .csv or .parquet parts")
        elif glob.has_magic(str(source)):
            matches = [Path(p) for p in glob.glob(str(source)) if Path(p).is_file()]
            if not matches:
                raise InvalidInput(f"no file matches {source}")
        else:
            raise InvalidInput(f"no file or folder {source}")
        found.extend(sorted(matches, key=_natural))
    if not found:
        raise InvalidInput("give the points: a file, a folder of parts or a glob")
    kinds = {p.suffix.lower() for p in found}
    unknown = kinds - set(SUFFIXES)
    if unknown:
        raise InvalidInput(
            f"cannot read {', '.join(sorted(unknown))} parts: give .csv or .parquet parts"
        )
    if len({SUFFIXES[k] for k in kinds}) > 1:
        raise InvalidInput("the parts mix CSV and Parquet: give parts of one kind")
    return found


def _crs_of(meta: dict[str, Any] | None, column: str) -> str:
    """The CRS of a GeoParquet geometry column, by its name in :mod:`gridmap.geo.crs`."""
    info = (meta or {}).get("columns", {}).get(column, {})
    if "crs" not in info:
        return "EPSG:4326"  # GeoParquet: no crs key means OGC:CRS84
    crs = info["crs"]
    if crs is None:
        return "unknown"
    if isinstance(crs, str):
        return crs
    ident = crs.get("id") if isinstance(crs, dict) else None
    if isinstance(ident, dict) and "authority" in ident and "code" in ident:
        return f"{ident['authority']}:{ident['code']}"
    name = crs.get("name") if isinstance(crs, dict) else None
    return str(name or "unknown")


def inspect(
    files: Sequence[Path],
    *,
    lon: str | None = None,
    lat: str | None = None,
    crs: str | None = None,
    encoding: str | None = None,
) -> Parts:
    """Check that every part can be read the same way and say how (from headers and footers).

    Raises :class:`InvalidInput` when the parts differ in columns or CRS, or a coordinate column
    cannot be found. ``crs`` names the CRS of coordinate columns, and overrides the one a
    GeoParquet part states.
    """
    kind = SUFFIXES[files[0].suffix.lower()]
    if kind == "csv":
        enc = file_encoding(files[0], encoding)
        headers = [(f, tuple(_csv_header(f, enc))) for f in files]
        columns = _same_columns(headers)
        return Parts(
            kind="csv",
            files=tuple(files),
            columns=columns,
            crs=normalize_crs(crs),
            lon=pick_column(columns, lon, LON_NAMES, "longitude", holder="the parts have"),
            lat=pick_column(columns, lat, LAT_NAMES, "latitude", holder="the parts have"),
            encoding=enc,
        )
    schemas = []
    for f in files:
        try:
            schemas.append((f, pq.read_schema(f)))
        except (OSError, pa.ArrowInvalid) as exc:
            raise InvalidInput(f"cannot read {f.name} as Parquet: {exc}") from None
    columns = _same_columns([(f, tuple(s.names)) for f, s in schemas])
    geo_raw = [(s.metadata or {}).get(b"geo") for _, s in schemas]
    metas = [json.loads(g) if g else None for g in geo_raw]
    geometry = metas[0].get("primary_column") if metas[0] else None
    if geometry is None or lon is not None or lat is not None:
        return Parts(
            kind="parquet",
            files=tuple(files),
            columns=columns,
            crs=normalize_crs(crs),
            lon=pick_column(columns, lon, LON_NAMES, "longitude", holder="the parts have"),
            lat=pick_column(columns, lat, LAT_NAMES, "latitude", holder="the parts have"),
            geo=geo_raw[0],
        )
    stated = [_crs_of(m, geometry) for m in metas]
    if len(set(stated)) > 1:
        by = {c: f.name for (f, _), c in zip(schemas, stated, strict=True)}
        raise InvalidInput(
            "the parts are in different CRS ("
            + ", ".join(f"{name}: {c}" for c, name in by.items())
            + "); give parts in one CRS"
        )
    if crs is None and stated[0] == "unknown":
        raise InvalidInput(
            f"{files[0].name} does not say its CRS; name it with --crs (e.g. EPSG:4326, GCJ-02)"
        )
    return Parts(
        kind="parquet",
        files=tuple(files),
        columns=columns,
        crs=normalize_crs(crs if crs is not None else stated[0]),
        geometry=geometry,
        geo=geo_raw[0],
    )


def _same_columns(headers: Sequence[tuple[Path, tuple[str, ...]]]) -> tuple[str, ...]:
    first, columns = headers[0]
    if not columns:
        raise InvalidInput(f"{first.name} is empty: it needs a header row and points")
    for path, other in headers[1:]:
        if other != columns:
            raise InvalidInput(
                f"{path.name} has the columns {', '.join(other) or '(none)'}, unlike "
                f"{first.name} ({', '.join(columns)}): give parts with the same columns"
            )
    return columns


def _csv_header(path: Path, encoding: str) -> list[str]:
    import csv

    try:
        with path.open(newline="", encoding=encoding) as f:
            return next(csv.reader(f), [])
    except UnicodeDecodeError:
        raise InvalidInput(
            f"cannot read {path.name} as {encoding}; say its encoding with --encoding"
        ) from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path.name}: {exc.strerror or exc}") from None


def check_address(address: str) -> str:
    """A scheduler address as Dask takes it (``tcp://host:port``), or :class:`InvalidInput`.

    Examples
    --------
    >>> check_address("tcp://10.0.0.5:8786")
    'tcp://10.0.0.5:8786'
    """
    address = address.strip()
    m = _ADDRESS.match(address)
    if m is None or not 0 < int(m.group(3)) < 65536:
        raise InvalidInput(
            f"{address!r} is not a Dask scheduler address; write it as tcp://host:port "
            "(e.g. tcp://10.0.0.5:8786)"
        )
    return address


@contextmanager
def connect(
    *, scheduler: str | None = None, workers: int | None = None, timeout: float = 10.0
) -> Iterator[Client]:
    """A client of the scheduler at ``scheduler``, or of a LocalCluster of ``workers``
    processes (one thread each) that is closed afterwards."""
    import logging

    import distributed

    # distributed's constructors carry no annotations.
    Client: Any = distributed.Client
    LocalCluster: Any = distributed.LocalCluster

    if (scheduler is None) == (workers is None):
        raise InvalidInput("give either --scheduler tcp://host:port or --workers N, not both")
    if scheduler is not None:
        address = check_address(scheduler)
        try:
            client = Client(address, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise InvalidInput(
                f"no Dask scheduler answers at {address} (waited {timeout:g} s: "
                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                "start one with `dask scheduler`, or use --workers N for a local cluster"
            ) from None
        with client:
            yield client
        return
    assert workers is not None
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def check_out(out: Path, kind: Kind) -> None:
    """Refuse an output folder that holds files, or whose name says another format."""
    suffix = out.suffix.lower()
    if suffix in SUFFIXES and SUFFIXES[suffix] != kind:
        raise InvalidInput(
            f"the parts are {kind.upper()}: the output is written as {kind.upper()} parts, "
            f"so name its folder without {suffix}"
        )
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidInput(f"{out} exists and is not an empty folder: give a new folder")


def partitions(parts: Parts) -> list[Any]:
    """The input as dask.delayed partitions, in order."""
    import dask.dataframe as dd

    files = [str(f) for f in parts.files]
    if parts.kind == "csv":
        frame = dd.read_csv(
            files,
            # UTF-16 cannot be cut at a newline byte; UTF-8 and GB18030 can.
            blocksize=None if parts.encoding.startswith("utf-16") else BLOCKSIZE,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding=parts.encoding,
        )
    else:
        frame = dd.read_parquet(files)
    return list(frame.to_delayed())


def run(
    client: Client,
    parts: Parts,
    grids: GridSet,
    out: Path,
    *,
    bom: bool = True,
    shared: Path | None = None,
    progress: Callable[[Written, int], None] | None = None,
) -> list[Written]:
    """Assign every part on the cluster and write the output parts; the parts written, in order.

    With ``shared`` (a directory every worker reads, e.g. on the same machine) the index is
    saved there and memory-mapped by the workers, else it is scattered to each of them.
    ``progress`` is called with each part as it is written and the number of parts.

    The parts are written into a hidden folder beside ``out`` and moved into place when every
    one is written, so a run that fails on a worker leaves no output at all, only its refusal.
    """
    import shutil
    import tempfile

    import distributed
    from dask.delayed import delayed

    as_completed: Any = distributed.as_completed
    cluster: Any = client
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    saved = SavedGrids.save(grids, shared) if shared is not None else None
    done: list[Written] = []
    futures: list[Any] = []
    try:
        shipped = cluster.scatter(saved if saved is not None else grids, broadcast=True)
        pieces = partitions(parts)
        width = max(5, len(str(len(pieces))))
        tasks = [
            delayed(assign_part)(
                piece, shipped, parts, str(work / f"part.{i:0{width}d}.{parts.kind}"), i, bom
            )
            for i, piece in enumerate(pieces)
        ]
        futures = cluster.compute(tasks)
        numbers = {future.key: i for i, future in enumerate(futures)}
        for future in as_completed(futures):
            try:
                written = future.result()
            except Exception as exc:  # noqa: BLE001 (said in words, with the part it came from)
                raise part_failed(exc, numbers[future.key], len(tasks), out) from exc
            done.append(written)
            if progress is not None:
                progress(written, len(tasks))
        try:
            work.replace(out)
        except OSError:
            raise InvalidInput(
                f"{out} was written to by something else during the run: nothing was written "
                "there; give a new folder"
            ) from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        cluster.cancel(futures)
        if saved is not None:
            shutil.rmtree(saved.path, ignore_errors=True)
    return sorted(done, key=lambda w: w.number)


def part_failed(exc: BaseException, number: int, total: int, out: Path) -> GridmapError:
    """A worker's failure in words: which part, what went wrong, and that nothing was written.

    A part that cannot be read (a malformed line, a wrong encoding, a broken Parquet file) is
    the input's fault; anything else (a worker that died, a full disk) is not.
    """
    what = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    message = (
        f"part {number + 1} of {total} failed on a Dask worker: {what}. "
        f"Nothing was written to {out}"
    )
    if isinstance(exc, ValueError | UnicodeError | pa.ArrowException):
        return InvalidFile(message)
    return GridmapError(message)


def coordinates(
    frame: pd.DataFrame, parts: Parts
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The points of one partition (NaN where a row has no usable point)."""
    if parts.geometry is not None:
        wkb = frame[parts.geometry].to_numpy(dtype=object)
        fast = points_from_wkb(wkb)
        if fast is not None:
            return fast
        geoms = shapely.from_wkb(wkb, on_invalid="ignore")
        point = shapely.get_type_id(geoms) == 0
        x = np.where(point, shapely.get_x(geoms), np.nan)
        y = np.where(point, shapely.get_y(geoms), np.nan)
        return x.astype(float), y.astype(float)
    assert parts.lon is not None and parts.lat is not None
    x = pd.to_numeric(frame[parts.lon], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    y = pd.to_numeric(frame[parts.lat], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return x, y


def points_from_wkb(
    wkb: NDArray[np.object_],
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """The coordinates of WKB points read straight from their bytes, when every value is a 2D
    little-endian point (21 bytes, as GeoParquet writers write them); else None.

    Examples
    --------
    >>> wkb = np.array([shapely.Point(116.3, 40.0).wkb, shapely.Point(1, 2).wkb], dtype=object)
    >>> [a.tolist() for a in points_from_wkb(wkb)]
    [[116.3, 1.0], [40.0, 2.0]]
    >>> points_from_wkb(np.array([shapely.LineString([(0, 0), (1, 1)]).wkb], dtype=object))
    """
    n = len(wkb)
    try:
        raw = b"".join(wkb)
    except TypeError:  # a missing geometry
        return None
    if n == 0 or len(raw) != 21 * n:
        return None
    rec = np.frombuffer(raw, dtype=np.uint8).reshape(n, 21)
    if not ((rec[:, 0] == 1).all() and (rec[:, 1:5] == (1, 0, 0, 0)).all()):
        return None
    xy = rec[:, 5:21].copy().view("<f8")
    return xy[:, 0].astype(float), xy[:, 1].astype(float)


def with_codes(frame: pd.DataFrame, found: NDArray[np.int64], grids: GridSet) -> pd.DataFrame:
    """The partition with ``grid_code``, ``community_code`` and ``street_code`` ("" for none)."""
    frame = frame.copy()
    for name, values in zip(ADDED, (grids.codes, grids.communities, grids.streets), strict=True):
        frame[name] = np.append(values.astype(object), "")[found]
    return frame


def assign_part(
    frame: pd.DataFrame,
    grids: GridSet | SavedGrids,
    parts: Parts,
    path: str,
    number: int,
    bom: bool,
) -> Written:
    """Locate one partition's points and write it as one output part (runs on a worker)."""
    if isinstance(grids, SavedGrids):
        grids = grids.open()
    x, y = coordinates(frame, parts)
    found = grids.assign(x, y, crs=parts.crs)
    if parts.kind == "csv":
        with_codes(frame, found, grids).to_csv(
            path,
            index=False,
            encoding="utf-8-sig" if bom else "utf-8",
            lineterminator="\r\n",
        )
    else:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        picks = pa.array(found, type=pa.int64())
        for name, values in zip(
            ADDED, (grids.codes, grids.communities, grids.streets), strict=True
        ):
            # Arrow takes the strings by index in C++: -1 picks the "" appended last.
            column = pa.array(np.append(values, "").astype(object), type=pa.string()).take(
                pc.if_else(pc.less(picks, 0), len(values), picks)
            )
            at = table.schema.get_field_index(name)
            table = (
                table.set_column(at, name, column) if at >= 0 else table.append_column(name, column)
            )
        if parts.geo is not None:
            table = table.replace_schema_metadata(
                {**(table.schema.metadata or {}), b"geo": parts.geo}
            )
        pq.write_table(table, path)
    return Written(number=number, rows=len(frame), hits=int((found >= 0).sum()))
