"""gridmap.live: the current grids held in memory, so a lookup needs no database round trip.

A lookup is the hottest path of the service (every incident, every dispatcher's click). The
server keeps a snapshot of the current grids — names, teams, and a :class:`PointIndex` plus an
``STRtree`` over them — and answers from it. It stays correct by two means: PostgreSQL sends a
notification after any committed change to grids, grid staff or regions (migration 0003), which
a listener thread turns into a reload; and this server's own write handlers mark it stale at
once. While no listener is connected the snapshot is not trusted and lookups go to PostGIS.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any
from typing import cast as cast_type

import numpy as np
import psycopg
from sqlalchemy import Table, func, make_url, select
from sqlalchemy.orm import Session

import shapely

from gridmap.geo.metric import transformer, utm_epsg
from gridmap.geo.pip import PointIndex
from gridmap.models import Grid, GridStaff, Person, Region
from gridmap.queries.lookup import staff_order
from gridmap.replica import parse_lsn

log = logging.getLogger("gridmap.live")
CHANNEL = "gridmap_changed"

_g = cast_type(Table, Grid.__table__)
_region = cast_type(Table, Region.__table__)
_staff = cast_type(Table, GridStaff.__table__)
_person = cast_type(Table, Person.__table__)
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


@dataclass
class Snapshot:
    """The current grids (sorted by code, so index order is the border rule) and their teams."""

    grids: list[GridRecord]
    index: PointIndex
    teams: dict[str, list[StaffRecord]]
    regions: list[tuple[str, str, str]]
    region_tree: shapely.STRtree
    metric_grids: Any = None
    to_metric: Any = None
    metric_tree: shapely.STRtree | None = field(default=None)

    @classmethod
    def load(cls, session: Session) -> Snapshot:
        """Read the current grids, their teams and the regions."""
        rows = session.execute(_GRIDS).all()
        grids = [GridRecord(*r[:-1]) for r in rows]
        geoms = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else np.array([])
        teams: dict[str, list[StaffRecord]] = {}
        for r in session.execute(
            select(_staff.c.grid_code, _staff.c.role, _person.c.name, _person.c.phone)
            .join(_person, _person.c.id == _staff.c.person_id)
            .order_by(_staff.c.grid_code, staff_order(_staff.c.role), _staff.c.id)
        ):
            teams.setdefault(r.grid_code, []).append(StaffRecord(r.role, r.name, r.phone))
        regions = session.execute(
            select(
                _region.c.code,
                _region.c.level,
                _region.c.name,
                func.ST_AsBinary(_region.c.geom).label("wkb"),
            )
            .where(_region.c.geom.is_not(None))
            .order_by(_region.c.code)
        ).all()
        snap = cls(
            grids=grids,
            index=PointIndex(list(geoms)),
            teams=teams,
            regions=[(r.code, r.level, r.name) for r in regions],
            region_tree=shapely.STRtree(shapely.from_wkb([bytes(r.wkb) for r in regions])),
        )
        if len(geoms):
            centre = shapely.union_all(shapely.envelope(geoms)).centroid
            fwd = transformer(4326, utm_epsg(centre.x, centre.y))
            snap.to_metric = fwd
            snap.metric_grids = shapely.transform(
                geoms, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1]))
            )
            snap.metric_tree = shapely.STRtree(snap.metric_grids)
        return snap

    def locate_one(self, lon: float, lat: float) -> int:
        """The index of the grid holding one point (lowest code on a border), or -1."""
        hits = self.index.tree.query(shapely.Point(lon, lat), predicate="intersects")
        return int(hits.min()) if len(hits) else -1

    def around(self, lon: float, lat: float) -> dict[str, dict[str, str]]:
        """The district, street and community at a point (for points in no grid)."""
        out: dict[str, dict[str, str]] = {}
        hits = sorted(self.region_tree.query(shapely.Point(lon, lat), predicate="intersects"))
        for i in hits:
            code, level, name = self.regions[i]
            out.setdefault(level, {"code": code, "name": name})
        return out

    def nearest(self, lon: float, lat: float) -> dict[str, Any] | None:
        """The nearest grid and its distance in metres (in the grids' UTM zone)."""
        if self.metric_tree is None:
            return None
        x, y = self.to_metric.transform(lon, lat)
        point = shapely.Point(x, y)
        idx = self.metric_tree.query_nearest(point, all_matches=True)
        best = min(idx.tolist(), key=lambda i: (point.distance(self.metric_grids[i]), i))
        grid = self.grids[best]
        return {
            "code": grid.code,
            "name": grid.name,
            "distance_m": round(float(point.distance(self.metric_grids[best])), 1),
        }


class LiveGrids:
    """The snapshot, when it can be trusted, and the listener that keeps it so."""

    def __init__(
        self, url: str | None, *, poll_url: str | None = None, poll_seconds: float = 1.0
    ) -> None:
        self._url = url
        # Reading from a hot standby, which gets no NOTIFY: poll its grid_change instead.
        self._poll_url = poll_url if url is not None else None
        self._poll_seconds = poll_seconds
        self._seen_lsn: int | None = None
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
        """Grids, staff or regions changed: rebuild before the next answer."""
        with self._lock:
            self._generation += 1

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
            snap = Snapshot.load(session)
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
