"""gridmap.replica: whether a read goes to the hot standby or the primary, and the standby's lag.

GET routes that only read (lookup, tiles, /ogc, exports) take their session from a
:class:`ReadRouter`. With a read URL it hands out sessions of the standby, except:

- when the standby does not answer (it is then left alone for a second and the primary reads);
- for a caller whose own write the standby has not replayed yet (read-your-writes). After a
  write request commits, the server reads ``pg_current_wal_insert_lsn()`` and keeps it under the
  request's token (in this process) and sends it back as the ``Gridmap-LSN`` header and the
  ``gridmap_lsn`` cookie, which a client (a browser does so by itself) sends with its next
  requests, so another worker process or another server sees it too without asking the
  primary. Until the standby's ``pg_last_wal_replay_lsn()`` (read at most every 50 ms per
  process) and the in-memory grids' last poll have passed it, that caller reads the primary.
  A forged value costs nothing but the sender's own reads going to the primary.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridmap.database import make_sessionmaker

LSN_COOKIE = "gridmap_lsn"
LSN_HEADER = "gridmap-lsn"
READ_HEADER = b"gridmap-read"
# How long a client keeps the cookie: far longer than any lag worth reading past.
COOKIE_SECONDS = 600
_LSN = re.compile(r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$")
_COOKIE = re.compile(r"(?:^|;)\s*" + LSN_COOKIE + r"=([0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8})(?:;|$)")
_REMEMBERED = 10_000


def parse_lsn(value: str | None) -> int | None:
    """A WAL position written as PostgreSQL does (``16/B374D848``) as a number, or None."""
    if value is None or not _LSN.match(value):
        return None
    high, low = value.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def format_lsn(value: int) -> str:
    """A WAL position as PostgreSQL writes it."""
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def token_key(authorization: str | None) -> str | None:
    """What a caller's writes are remembered under: a digest of its ``Authorization`` value."""
    if not authorization:
        return None
    return hashlib.sha256(authorization.encode("latin-1", "replace")).hexdigest()[:32]


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


class ReadRouter:
    """The standby's engine (None without one), its replay position, and the callers' writes."""

    CHECK_SECONDS = 0.05
    RETRY_SECONDS = 1.0

    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine
        self.sessionmaker: sessionmaker[Session] | None = (
            make_sessionmaker(engine) if engine is not None else None
        )
        self._lock = threading.Lock()
        self._replay: int | None = None
        self._checked = -math.inf
        self._down_until = 0.0
        self._written: OrderedDict[str, int] = OrderedDict()
        # The standby position the in-memory grids have caught up with (set by gridmap.live).
        self.seen_lsn: Callable[[], int | None] | None = None
        # Sessions handed out on the standby and on the primary instead (figures for tests).
        self.on_replica = 0
        self.on_primary = 0

    @property
    def enabled(self) -> bool:
        """Whether there is a standby to read from."""
        return self.engine is not None

    def down(self) -> bool:
        """Whether the standby failed within the last second (reads go to the primary)."""
        return time.monotonic() < self._down_until

    def mark_down(self) -> None:
        """The standby did not answer: read the primary for a while."""
        with self._lock:
            self._down_until = time.monotonic() + self.RETRY_SECONDS
            self._replay = None
            self._checked = -math.inf

    def remember(self, authorization: str | None, lsn: int) -> None:
        """A write of this caller committed at ``lsn``."""
        key = token_key(authorization)
        if key is None:
            return
        with self._lock:
            self._written[key] = max(lsn, self._written.get(key, 0))
            self._written.move_to_end(key)
            while len(self._written) > _REMEMBERED:
                self._written.popitem(last=False)

    def required(self, headers: Iterable[tuple[bytes, bytes]]) -> int | None:
        """The WAL position this request's reads must see: its caller's last write, from this
        process's memory, the ``Gridmap-LSN`` header or the cookie (None: any)."""
        headers = list(headers)
        found: list[int] = []
        key = token_key(_header(headers, b"authorization"))
        if key is not None:
            with self._lock:
                mine = self._written.get(key)
            if mine is not None:
                found.append(mine)
        sent = parse_lsn(_header(headers, LSN_HEADER.encode()))
        if sent is not None:
            found.append(sent)
        cookie = _header(headers, b"cookie")
        if cookie is not None:
            match = _COOKIE.search(cookie)
            if match is not None:
                found.append(parse_lsn(match.group(1)) or 0)
        return max(found) if found else None

    def caught_up(self, required: int | None, replay: int | None) -> bool:
        """Whether a standby at ``replay`` (and the grids in memory) show a write at
        ``required``."""
        if required is None:
            return True
        if replay is None or replay < required:
            return False
        seen = self.seen_lsn() if self.seen_lsn is not None else replay
        return seen is not None and seen >= required

    def fresh_replay(self) -> tuple[bool, int | None]:
        """The replay position read within the last 50 ms, if there is one (no database work)."""
        with self._lock:
            return time.monotonic() - self._checked < self.CHECK_SECONDS, self._replay

    def replay_lsn(self) -> int | None:
        """The standby's replay position (read at most every 50 ms), None when it is away."""
        fresh, replay = self.fresh_replay()
        if fresh or self.engine is None:
            return replay
        try:
            with self.engine.connect() as conn:
                value = conn.execute(text("SELECT pg_last_wal_replay_lsn()::text")).scalar()
        except SQLAlchemyError:
            self.mark_down()
            return None
        replay = parse_lsn(value)
        with self._lock:
            self._replay, self._checked = replay, time.monotonic()
        return replay

    def pinned(self, headers: Iterable[tuple[bytes, bytes]]) -> bool:
        """Whether a request must not be answered from the standby's view, judged from memory
        alone (for the fast paths, which then leave the request to the routes)."""
        if not self.enabled:
            return False
        required = self.required(headers)
        if required is None:
            return False
        with self._lock:
            replay = self._replay
        return not self.caught_up(required, replay)

    def status(self, primary: Session) -> dict[str, Any] | None:
        """``state`` (streaming, paused, down, or primary when the read URL is no standby),
        ``lag_bytes`` behind ``primary`` and ``lag_seconds`` since the last replayed commit
        while WAL waits; None without a standby."""
        if self.engine is None:
            return None
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    text(
                        "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
                        "CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() "
                        "END, CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM "
                        "pg_last_wal_replay_lsn() THEN 0 ELSE extract(epoch FROM now() - "
                        "pg_last_xact_replay_timestamp()) END"
                    )
                ).one()
        except SQLAlchemyError:
            self.mark_down()
            return {"state": "down", "lag_bytes": None, "lag_seconds": None}
        recovering, replay_text, paused, seconds = row
        if not recovering:
            return {"state": "primary", "lag_bytes": 0, "lag_seconds": 0.0}
        current = parse_lsn(primary.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one())
        replay = parse_lsn(replay_text)
        lag = max(0, (current or 0) - replay) if replay is not None else None
        return {
            "state": "streaming" if paused == "not paused" else "paused",
            "lag_bytes": lag,
            "lag_seconds": round(max(0.0, float(seconds or 0)), 3),
        }


class WrittenLsn:
    """ASGI middleware, with a read replica only: a response to a committed write carries its
    WAL position as the ``Gridmap-LSN`` header and the ``gridmap_lsn`` cookie (see the module
    docstring); a route that read through a read session says from where (``Gridmap-Read:
    replica`` or ``primary``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the header and cookie to a write's answer."""
        reads = getattr(getattr(scope.get("app"), "state", None), "reads", None)
        if scope["type"] != "http" or reads is None or not reads.enabled:
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.get("state", {})
                lsn = state.get("gridmap_lsn")
                read = state.get("gridmap_read")
                if read is not None:
                    message = {
                        **message,
                        "headers": [*message.get("headers", []), (READ_HEADER, read.encode())],
                    }
                if lsn is not None:
                    value = format_lsn(lsn)
                    cookie = (
                        f"{LSN_COOKIE}={value}; Path=/; Max-Age={COOKIE_SECONDS}; HttpOnly; "
                        "SameSite=Strict"
                    )
                    message = {
                        **message,
                        "headers": [
                            *message.get("headers", []),
                            (LSN_HEADER.encode(), value.encode()),
                            (b"set-cookie", cookie.encode()),
                        ],
                    }
            await send(message)

        await self.app(scope, receive, sending)
