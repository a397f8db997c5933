"""gridmap.scheduler: the street pool's window closing by itself, in the server.

A thread started with the app runs :func:`gridmap.services.pool.close_windows` every
``pool_tick_seconds``. Several servers may run against one database: each run first takes a
PostgreSQL advisory lock (:data:`POOL_LOCK_KEY`) without waiting, in its own transaction on its
own connection, so one server acts and the others skip that tick; the lock goes with the
transaction, so a server that dies mid-run holds nothing. It works the same on the embedded
cluster and on an external ``DATABASE_URL``. A database that is away is logged and tried again
at the next tick; the thread stops within a tick when the app shuts down.

The same thread does the hourly upkeep: it makes the incidents' months ahead (this month and
the next two), so a server running for months never writes into the default partition
(PostgreSQL 15 can prune a default partition it should read: ``x IS NOT NULL AND (x < a OR x >=
b)`` loses its rows, so gridmap keeps it empty), and it trims the ``grid_change`` log to a week
(an index saved before that is rebuilt rather than patched).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridmap.database import database_gone, make_engine
from gridmap.live import trim_changes
from gridmap.queries.incidents import clock as database_clock
from gridmap.services.partitions import ensure_months
from gridmap.services.pool import close_windows

log = logging.getLogger("gridmap.scheduler")

# The advisory lock every server's window job competes for: "gridpool" in ASCII.
POOL_LOCK_KEY = 0x67726964706F6F6C
# How often the months ahead are made sure of.
MONTHS_SECONDS = 3600.0

Clock = Callable[[], datetime]


class PoolWindow:
    """The pool window's job: :meth:`run_once` on demand, or every ``tick_seconds`` in a thread
    between :meth:`start` and :meth:`stop`.

    ``clock`` gives "now" (for tests, a clock they move); without one the database's clock is
    used, so servers whose clocks differ still agree on when a window closed.
    """

    def __init__(
        self,
        url: str,
        *,
        tick_seconds: float,
        auto_dispatch: bool,
        clock: Clock | None = None,
        timezone: str = "Asia/Shanghai",
        day_start: int = 9,
        day_end: int = 18,
        lock_key: int = POOL_LOCK_KEY,
    ) -> None:
        self.engine = make_engine(url, pool_size=1)
        self.tick_seconds = tick_seconds
        self.auto_dispatch = auto_dispatch
        self.clock = clock
        self.timezone, self.day_start, self.day_end = timezone, day_start, day_end
        self.lock_key = lock_key
        self.runs = self.moved = self.skipped = self.failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int | None:
        """Close the windows due now; how many incidents moved, or None when another server
        holds the lock (it is doing this very work)."""
        with Session(self.engine) as session, session.begin():
            taken = session.execute(
                select(func.pg_try_advisory_xact_lock(self.lock_key))
            ).scalar_one()
            if not taken:
                self.skipped += 1
                return None
            now = self.clock() if self.clock is not None else database_clock(session)
            moved = close_windows(
                session,
                now=now,
                auto_dispatch=self.auto_dispatch,
                timezone=self.timezone,
                day_start=self.day_start,
                day_end=self.day_end,
            )
        self.runs += 1
        self.moved += moved
        if moved:
            log.info("pool window: %d incident(s) moved on", moved)
        return moved

    def ensure_months(self) -> list[str]:
        """Make this month's incident partition and the next two, if missing (they are made at
        start too); returns their names."""
        with Session(self.engine) as session, session.begin():
            return ensure_months(session)

    def upkeep(self) -> tuple[list[str], int]:
        """The hourly upkeep: the months ahead, and the ``grid_change`` rows older than a week
        deleted; returns the months' names and how many rows went."""
        months = self.ensure_months()
        with Session(self.engine) as session, session.begin():
            trimmed = trim_changes(session)
        return months, trimmed

    def _loop(self) -> None:
        months_at = time.monotonic()
        while not self._stop.wait(self.tick_seconds):
            try:
                if time.monotonic() - months_at >= MONTHS_SECONDS:
                    months_at = time.monotonic()
                    self.upkeep()
                self.run_once()
            except Exception as exc:  # noqa: BLE001 (the job must outlive any one failed run)
                self.failures += 1
                if database_gone(exc):
                    log.warning(
                        "pool window: the database is not answering (%s); trying again in %g s",
                        exc.__class__.__name__,
                        self.tick_seconds,
                    )
                else:
                    log.exception(
                        "pool window: a run failed; trying again in %g s", self.tick_seconds
                    )

    def start(self) -> None:
        """Run every ``tick_seconds`` in a thread of its own, the first run one tick from now."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="gridmap-pool-window", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop the thread (a run in progress finishes first) and close the connection."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.engine.dispose()

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()
