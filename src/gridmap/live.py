"""gridmap.live: the current grids held in memory, so a lookup needs no database round trip.

A lookup is the hottest path of the service (every incident, every dispatcher's click). The
server keeps a snapshot of the current grids — their records in arrays, their teams, and a
:class:`PointIndex` — and answers from it. It stays correct by two means: PostgreSQL sends a
notification after any committed change to grids, grid staff or regions (migration 0003), which
a listener thread turns into a refresh; and this server's own write handlers mark it stale at
once. While no listener is connected the snapshot is not trusted and lookups go to PostGIS.

At country size (a million grids) the index is built once and saved under ``index_dir``
(setting ``GRIDMAP_INDEX_DIR``, one directory per database); every worker process opens it
memory-mapped, so the workers share one copy. A saved index counts as current only when its
header's ``grid_change`` sequence and grid-set hash match the database; one that is behind is
patched from ``grid_change`` (only the changed grids are read and their cells re-rasterised),
and so is the snapshot in memory after a change.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from typing import cast as cast_type

import numpy as np
import psycopg
from numpy.typing import NDArray
from sqlalchemy import Table, func, make_url, select, text
from sqlalchemy.orm import Session

import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.geo.metric import transformer, utm_epsg
from gridmap.geo.pip import PointIndex, read_header
from gridmap.models import Grid, GridChange, GridStaff, Person, Region
from gridmap.queries.lookup import staff_order
from gridmap.replica import parse_lsn

log = logging.getLogger("gridmap.live")
CHANNEL = "gridmap_changed"

_g = cast_type(Table, Grid.__table__)
_region = cast_type(Table, Region.__table__)
_staff = cast_type(Table, GridStaff.__table__)
_person = cast_type(Table, Person.__table__)
_change = cast_type(Table, GridChange.__table__)
_c, _s, _d = _region.alias("c"), _region.alias("s"), _region.alias("d")

# The current grids with the names of their community, street and district, by code.
_GRIDS = (
    select(
        _g.c.code,
        _g.c.name,
        _g.c.kind,
        _g.c.subtype,
        _g.c.version,
        _g.c.community_code,
        _c.c.name.label("community_name"),
        _s.c.code.label("street_code"),
        _s.c.name.label("street_name"),
        _d.c.code.label("district_code"),
        _d.c.name.label("district_name"),
        func.ST_AsBinary(_g.c.geom).label("wkb"),
    )
    .select_from(
        _g.join(_c, _c.c.code == _g.c.community_code)
        .outerjoin(_s, _s.c.code == _c.c.parent_code)
        .outerjoin(_d, _d.c.code == _s.c.parent_code)
    )
    .where(_g.c.valid_to.is_(None))
    .order_by(_g.c.code)
)


@dataclass(frozen=True)
class GridRecord:
    """What a lookup says about a grid."""

    code: str
    name: str
    kind: str
    subtype: str | None
    version: int
    community_code: str
    community_name: str
    street_code: str | None
    street_name: str | None
    district_code: str | None
    district_name: str | None


@dataclass(frozen=True)
class StaffRecord:
    """One member of a grid team, unmasked (masking happens per caller)."""

    role: str
    name: str
    phone: str | None


# The grid records, as arrays saved beside the index: per grid, and per community.
_GRID_COLUMNS = ("code", "name", "kind", "subtype", "version", "community")
_COMMUNITY_COLUMNS = (
    "code",
    "name",
    "street_code",
    "street_name",
    "district_code",
    "district_name",
)


class GridTable(Sequence[GridRecord]):
    """The current grids' records in arrays (a million grids are a few arrays, not a million
    objects), sorted by code; ``table[i]`` is the :class:`GridRecord` of grid ``i``. Grids edited
    since the arrays were made are held beside them (``None``: no longer current)."""

    def __init__(self, grids: dict[str, NDArray[Any]], communities: dict[str, NDArray[Any]]):
        self.columns = grids
        self.communities = communities
        self.changed: dict[int, GridRecord | None] = {}

    @classmethod
    def from_rows(cls, rows: Sequence[Any]) -> GridTable:
        """From rows of ``_GRIDS`` (sorted by code)."""
        where: dict[str, int] = {}
        comms: list[Any] = []
        community = np.empty(len(rows), dtype=np.int32)
        for k, r in enumerate(rows):
            at = where.get(r.community_code)
            if at is None:
                at = where[r.community_code] = len(comms)
                comms.append(r)
            community[k] = at

        def strings(values: list[Any]) -> NDArray[Any]:
            return np.array([v or "" for v in values], dtype=str)

        grids = {
            "code": strings([r.code for r in rows]),
            "name": strings([r.name for r in rows]),
            "kind": strings([r.kind for r in rows]),
            "subtype": strings([r.subtype for r in rows]),
            "version": np.array([r.version for r in rows], dtype=np.int64),
            "community": community,
        }
        communities = {
            "code": strings([r.community_code for r in comms]),
            "name": strings([r.community_name for r in comms]),
            "street_code": strings([r.street_code for r in comms]),
            "street_name": strings([r.street_name for r in comms]),
            "district_code": strings([r.district_code for r in comms]),
            "district_name": strings([r.district_name for r in comms]),
        }
        return cls(grids, communities)

    def arrays(self) -> dict[str, NDArray[Any]]:
        """Every column, named for saving beside the index (edits not included)."""
        return {
            **{f"grid_{k}": v for k, v in self.columns.items()},
            **{f"community_{k}": v for k, v in self.communities.items()},
        }

    @classmethod
    def open(cls, path: Path) -> GridTable:
        """The columns saved beside an index, memory-mapped."""

        def load(name: str) -> NDArray[Any]:
            arr: NDArray[Any] = np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False)
            return arr

        return cls(
            {k: load(f"grid_{k}") for k in _GRID_COLUMNS},
            {k: load(f"community_{k}") for k in _COMMUNITY_COLUMNS},
        )

    def __len__(self) -> int:
        return len(self.columns["code"])

    def __getitem__(self, i: Any) -> Any:
        if not isinstance(i, int | np.integer):
            raise TypeError("grid records are read one at a time")
        i = int(i)
        if i < 0:
            i += len(self)
        if i in self.changed:
            record = self.changed[i]
            if record is None:
                raise KeyError(f"grid {i} is no longer current")
            return record
        g, c = self.columns, self.communities
        k = int(g["community"][i])
        return GridRecord(
            code=str(g["code"][i]),
            name=str(g["name"][i]),
            kind=str(g["kind"][i]),
            subtype=str(g["subtype"][i]) or None,
            version=int(g["version"][i]),
            community_code=str(c["code"][k]),
            community_name=str(c["name"][k]),
            street_code=str(c["street_code"][k]) or None,
            street_name=str(c["street_name"][k]) or None,
            district_code=str(c["district_code"][k]) or None,
            district_name=str(c["district_name"][k]) or None,
        )

    def find(self, code: str) -> int:
        """The index of grid ``code``, or -1."""
        codes = self.columns["code"]
        i = int(np.searchsorted(codes, code))
        return i if i < len(codes) and str(codes[i]) == code else -1

    def fingerprint(self) -> str:
        """A hash of the current grids' codes and versions (as :func:`grid_set_hash`)."""
        codes, versions = self.columns["code"], self.columns["version"]
        parts = [f"{c}:{v}," for c, v in zip(codes.tolist(), versions.tolist(), strict=True)]
        for i, record in self.changed.items():
            parts[i] = f"{record.code}:{record.version}," if record is not None else ""
        return hashlib.md5("".join(parts).encode(), usedforsecurity=False).hexdigest()


def _give_back_memory() -> None:
    """Return the heap pages freed after a build to the system (glibc keeps them otherwise,
    and the building worker would hold a private index's worth of memory)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def current_seq(session: Session) -> int:
    """The last change logged in ``grid_change`` (0 when none)."""
    return int(session.execute(select(func.coalesce(func.max(_change.c.seq), 0))).scalar_one())


def grid_set_hash(session: Session) -> str:
    """A hash of the current grids' codes and versions, as the database has them."""
    digest = session.execute(
        text(
            "SELECT md5(coalesce(string_agg(code || ':' || version || ',', '' ORDER BY code "
            "COLLATE \"C\"), '')) FROM grid WHERE valid_to IS NULL"
        )
    ).scalar_one()
    return str(digest)


def _database_id(session: Session) -> str:
    """Which database this is (a saved index of another database is never used)."""
    row = session.execute(
        text("SELECT system_identifier::text, current_database() FROM pg_control_system()")
    ).one()
    return f"{row[0]}/{row[1]}"


def trim_changes(session: Session, *, days: float = 7.0) -> int:
    """Delete ``grid_change`` rows older than ``days`` (a reader behind them reloads all)."""
    result = session.execute(
        text("DELETE FROM grid_change WHERE at < now() - make_interval(secs => :s)"),
        {"s": days * 86400},
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _teams(session: Session, codes: Sequence[str] | None = None) -> dict[str, list[StaffRecord]]:
    stmt = (
        select(_staff.c.grid_code, _staff.c.role, _person.c.name, _person.c.phone)
        .join(_person, _person.c.id == _staff.c.person_id)
        .order_by(_staff.c.grid_code, staff_order(_staff.c.role), _staff.c.id)
    )
    if codes is not None:
        stmt = stmt.where(_staff.c.grid_code.in_(list(codes)))
    teams: dict[str, list[StaffRecord]] = {}
    for r in session.execute(stmt):
        teams.setdefault(r.grid_code, []).append(StaffRecord(r.role, r.name, r.phone))
    return teams


def _regions(session: Session) -> tuple[list[tuple[str, str, str]], shapely.STRtree]:
    rows = session.execute(
        select(
            _region.c.code,
            _region.c.level,
            _region.c.name,
            func.ST_AsBinary(_region.c.geom).label("wkb"),
        )
        .where(_region.c.geom.is_not(None))
        .order_by(_region.c.code)
    ).all()
    tree = shapely.STRtree(shapely.from_wkb([bytes(r.wkb) for r in rows]))
    return [(r.code, r.level, r.name) for r in rows], tree


class Stale(Exception):
    """The in-memory grids cannot be brought up to date by a patch: read them all again."""


@dataclass
class Snapshot:
    """The current grids (sorted by code, so index order is the border rule) and their teams.

    ``how`` says how it was made: ``built`` (every grid read and indexed), ``opened`` (a saved
    index that was current), ``patched`` (a saved or held index brought up to date from
    ``grid_change``). ``seq`` is the last change it includes.
    """

    grids: GridTable
    index: PointIndex
    teams: dict[str, list[StaffRecord]]
    regions: list[tuple[str, str, str]]
    region_tree: shapely.STRtree
    seq: int = 0
    how: str = "built"
    _metric: dict[int, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, *, index_dir: Path | None = None) -> Snapshot:
        """The current grids: a saved index when it is current (or can be brought up to date
        from ``grid_change``), else every grid read, indexed and saved to ``index_dir``."""
        if index_dir is None:
            return cls._build(session, current_seq(session))
        index_dir.parent.mkdir(parents=True, exist_ok=True)
        # One process builds; the others wait and open what it saved.
        with open(index_dir.parent / f".{index_dir.name}.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return cls._open_or_build(session, index_dir)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @classmethod
    def _open_or_build(cls, session: Session, index_dir: Path) -> Snapshot:
        seq = current_seq(session)
        db = _database_id(session)
        if (index_dir / "index.json").exists():
            try:
                meta = read_header(index_dir)["meta"]
            except (ValueError, OSError, KeyError) as exc:
                log.warning("saved index at %s unreadable (%s); rebuilding", index_dir, exc)
                meta = {}
            saved = int(meta.get("seq", -1))
            if meta.get("db") == db and 0 <= saved <= seq:
                try:
                    snap = cls._open(session, index_dir, saved)
                    if saved < seq:
                        snap = snap.updated(session)
                    if snap.grids.fingerprint() == grid_set_hash(session):
                        return snap
                    log.warning("saved index at %s differs from the grids; rebuilding", index_dir)
                except Stale:
                    log.warning("saved index at %s is too old to patch; rebuilding", index_dir)
        snap = cls._build(session, seq)
        snap.index.save(index_dir, arrays=snap.grids.arrays(), seq=seq, db=db)
        # Serve from the saved copy, shared with the other workers, not from a private one.
        snap.index = PointIndex.open(index_dir)
        snap.grids = GridTable.open(index_dir)
        _give_back_memory()
        return snap

    @classmethod
    def _open(cls, session: Session, index_dir: Path, seq: int) -> Snapshot:
        regions, tree = _regions(session)
        return cls(
            grids=GridTable.open(index_dir),
            index=PointIndex.open(index_dir),
            teams=_teams(session),
            regions=regions,
            region_tree=tree,
            seq=seq,
            how="opened",
        )

    @classmethod
    def _build(cls, session: Session, seq: int) -> Snapshot:
        rows = session.execute(_GRIDS).all()
        geoms = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else np.array([])
        regions, tree = _regions(session)
        return cls(
            grids=GridTable.from_rows(rows),
            index=PointIndex(list(geoms)),
            teams=_teams(session),
            regions=regions,
            region_tree=tree,
            seq=seq,
        )

    def updated(self, session: Session) -> Snapshot:
        """This snapshot brought up to date from ``grid_change``: only the changed grids are
        read and re-indexed, only the changed teams read again. Raises :class:`Stale` when
        that cannot be done (the log was trimmed past ``seq``, a table was emptied, a grid was
        added whose code sorts among the others)."""
        seq = current_seq(session)
        if seq == self.seq:
            return self
        oldest = session.execute(select(func.min(_change.c.seq))).scalar_one()
        if oldest is None or int(oldest) > self.seq + 1:
            raise Stale
        rows = session.execute(
            select(_change.c.tbl, _change.c.code)
            .where(_change.c.seq > self.seq, _change.c.seq <= seq)
            .distinct()
        ).all()
        grid_codes = sorted({r.code for r in rows if r.tbl == "grid" and r.code is not None})
        staff_codes = sorted({r.code for r in rows if r.tbl == "grid_staff" and r.code})
        if any(r.code is None for r in rows):
            raise Stale
        regions, region_tree = self.regions, self.region_tree
        grids = GridTable(self.grids.columns, self.grids.communities)
        grids.changed = dict(self.grids.changed)
        if any(r.tbl == "region" for r in rows):
            # Names of communities and streets live in the records: read them all again.
            raise Stale
        changed: dict[int, BaseGeometry | None] = {}
        if grid_codes:
            found = {
                r.code: r for r in session.execute(_GRIDS.where(_g.c.code.in_(grid_codes))).all()
            }
            for code in grid_codes:
                i = grids.find(code)
                row = found.get(code)
                if i < 0:
                    if row is not None:
                        raise Stale  # a new grid: its place in code order is not free
                    continue
                if row is None:
                    changed[i] = None
                    grids.changed[i] = None
                else:
                    changed[i] = shapely.from_wkb(bytes(row.wkb))
                    grids.changed[i] = GridRecord(*row[:-1])
        index = self.index
        if changed and not index.patch(changed):
            raise Stale
        teams = self.teams
        if staff_codes:
            teams = dict(teams)
            for code in staff_codes:
                teams.pop(code, None)
            teams.update(_teams(session, staff_codes))
        return Snapshot(
            grids=grids,
            index=index,
            teams=teams,
            regions=regions,
            region_tree=region_tree,
            seq=seq,
            how="patched",
        )

    def locate_one(self, lon: float, lat: float) -> int:
        """The index of the grid holding one point (lowest code on a border), or -1."""
        return self.index.locate_one(lon, lat)

    def around(self, lon: float, lat: float) -> dict[str, dict[str, str]]:
        """The district, street and community at a point (for points in no grid)."""
        out: dict[str, dict[str, str]] = {}
        hits = sorted(self.region_tree.query(shapely.Point(lon, lat), predicate="intersects"))
        for i in hits:
            code, level, name = self.regions[i]
            out.setdefault(level, {"code": code, "name": name})
        return out

    def nearest(self, lon: float, lat: float) -> dict[str, Any] | None:
        """The nearest grid and its distance in metres (in the point's UTM zone), from the
        grids whose cells lie nearest the point."""
        candidates = self.index.near(lon, lat)
        if not len(candidates):
            return None
        zone = utm_epsg(lon, lat)
        fwd = transformer(4326, zone)
        x, y = fwd.transform(lon, lat)
        point = shapely.Point(x, y)
        best: tuple[float, int] | None = None
        for i in candidates.tolist():
            geom = self.index.polygon(i)
            if geom is None or geom.is_empty:
                continue
            metric = shapely.transform(
                geom, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1]))
            )
            d = float(point.distance(metric))
            if best is None or (d, i) < best:
                best = (d, i)
        if best is None:
            return None
        grid = self.grids[best[1]]
        return {"code": grid.code, "name": grid.name, "distance_m": round(best[0], 1)}


class LiveGrids:
    """The snapshot, when it can be trusted, and the listener that keeps it so."""

    def __init__(
        self,
        url: str | None,
        *,
        poll_url: str | None = None,
        poll_seconds: float = 1.0,
        index_dir: Path | None = None,
    ) -> None:
        self._url = url
        # Reading from a hot standby, which gets no NOTIFY: poll its grid_change instead.
        self._poll_url = poll_url if url is not None else None
        self._poll_seconds = poll_seconds
        self._seen_lsn: int | None = None
        self._index_dir = index_dir
        # How each snapshot was made (built, opened, patched), counted.
        self.stats: dict[str, int] = {"built": 0, "opened": 0, "patched": 0}
        self._lock = threading.Lock()
        # One rebuild at a time: requests arriving meanwhile wait for it rather than each
        # reading every grid again.
        self._building = threading.Lock()
        self._generation = 0
        self._built: int | None = None
        self._snapshot: Snapshot | None = None
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def listening(self) -> bool:
        """Whether change notifications are arriving (else the snapshot is not used)."""
        return self._listening.is_set()

    def seen_lsn(self) -> int | None:
        """The standby's replay position at the last poll (every change up to it has been
        heard); None when not polling a standby."""
        with self._lock:
            return self._seen_lsn

    @property
    def generation(self) -> int:
        """A number that changes whenever grids, staff or regions change."""
        with self._lock:
            return self._generation

    def invalidate(self) -> None:
        """Grids, staff or regions changed: bring the grids up to date before the next answer."""
        with self._lock:
            self._generation += 1

    def patch(self, codes: Iterable[str] | None = None) -> None:
        """Grids, teams or regions ``codes`` (None: any) changed: before the next answer the
        snapshot reads ``grid_change`` since its last change and patches only what changed."""
        self.invalidate()

    def fresh(self) -> Snapshot | None:
        """The snapshot if it is current (no database work), else None."""
        if not self.listening:
            return None
        with self._lock:
            if self._built == self._generation:
                return self._snapshot
        return None

    def snapshot(self, session: Session) -> Snapshot | None:
        """The current snapshot (rebuilt with ``session`` if stale), or None when not listening."""
        if not self.listening:
            return None
        with self._building:
            with self._lock:
                if self._built == self._generation and self._snapshot is not None:
                    return self._snapshot
                generation = self._generation
                held = self._snapshot
            snap = None
            if held is not None:
                try:
                    snap = held.updated(session)
                except Stale:
                    log.info("grids changed beyond a patch; reading them all again")
            if snap is None:
                snap = Snapshot.load(session, index_dir=self._index_dir)
            if snap is not held:
                self.stats[snap.how] += 1
            with self._lock:
                # A change that arrived while building leaves it stale for the next request.
                if self._generation == generation:
                    self._snapshot, self._built = snap, generation
            return snap

    def start(self) -> None:
        """Start listening for changes (a daemon thread with its own connection)."""
        if self._url is None or self._thread is not None:
            return
        if self._poll_url is not None:
            self._thread = threading.Thread(target=self._poll, name="gridmap-poll", daemon=True)
        else:
            self._thread = threading.Thread(target=self._listen, name="gridmap-listen", daemon=True)
        self._thread.start()
        # Give the listener a moment, so the first requests can already use the snapshot.
        self._listening.wait(timeout=2.0)

    def stop(self) -> None:
        """Stop listening (a notification of our own wakes the listener at once)."""
        self._stop.set()
        if self._thread is None:
            return
        if self._listening.is_set() and self._poll_url is None:
            try:
                with psycopg.connect(self._conninfo(), autocommit=True) as conn:
                    conn.execute(f"NOTIFY {CHANNEL}, 'stop'")
            except psycopg.Error:
                pass
        self._thread.join(timeout=3.0)
        self._thread = None

    def _conninfo(self) -> str:
        assert self._url is not None
        url = make_url(self._url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    def _listen(self) -> None:
        assert self._url is not None
        conninfo = (
            make_url(self._url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        delay = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    # Anything may have changed while we were not listening.
                    self.invalidate()
                    self._listening.set()
                    delay = 0.5
                    while not self._stop.is_set():
                        for _note in conn.notifies(timeout=1.0, stop_after=1000):
                            if self._stop.is_set():
                                break
                            self.invalidate()
            except psycopg.Error as exc:
                log.warning("change listener lost its connection (%s); retrying", exc)
            finally:
                self._listening.clear()
            self._stop.wait(delay)
            delay = min(delay * 2, 30.0)

    def _poll(self) -> None:
        """Poll the standby's ``grid_change`` log: a higher ``max(seq)`` is a change."""
        assert self._poll_url is not None
        conninfo = (
            make_url(self._poll_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        delay = 0.5
        while not self._stop.is_set():
            seen: int | None = -1
            try:
                with psycopg.connect(
                    conninfo, autocommit=True, connect_timeout=5, application_name="gridmap-poll"
                ) as conn:
                    while not self._stop.is_set():
                        # The position first: the log read after it holds every change up to it.
                        lsn = conn.execute(_POSITION).fetchone()
                        row = conn.execute("SELECT max(seq) FROM grid_change").fetchone()
                        seq = row[0] if row else None
                        if seq != seen:
                            self.invalidate()
                            seen = seq
                        with self._lock:
                            self._seen_lsn = parse_lsn(lsn[0] if lsn else None)
                        self._listening.set()
                        delay = 0.5
                        self._stop.wait(self._poll_seconds)
            except psycopg.Error as exc:
                log.warning("change poller lost its connection (%s); retrying", exc)
            finally:
                self._listening.clear()
                with self._lock:
                    self._seen_lsn = None
            self._stop.wait(delay)
            delay = min(delay * 2, 30.0)


# Where the polled server is in the WAL: replayed (standby) or written (primary).
_POSITION = (
    "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_lsn() END::text"
)
