"""Fixtures for GIS clients: the demo plus 25,000 generated buildings served on loopback.

GDAL and QGIS run as processes of their own and reach gridmap over HTTP, as an analyst's do. The
server records every request it is sent, so a test can say what a client asked for.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import uvicorn
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridmap import migrate
from gridmap.auth import create_token
from gridmap.database import make_engine
from gridmap.loader import load_dataset
from gridmap.main import create_app
from gridmap.settings import Settings, project_root

# Run by Debian's python3 (QGIS), not importable in the project's virtualenv.
collect_ignore = ["qgis_probe.py"]

START_STREET = "110108010"
# Enough buildings that GDAL pages through 26 pages of 1,000; bench/ogc.py runs 200,000.
GENERATED_BUILDINGS = 25_000


@dataclass
class Request:
    """One request the server was sent: method, path and its query parameters."""

    method: str
    path: str
    query: dict[str, list[str]]


@dataclass
class Served:
    """gridmap on loopback: its base URL, database, a street office token, requests seen."""

    base: str
    engine: Engine
    token: str
    requests: list[Request] = field(default_factory=list)

    @property
    def ogc(self) -> str:
        """The OGC API – Features landing page."""
        return f"{self.base}/ogc"

    def since(self, mark: int, path_part: str = "") -> list[Request]:
        """Requests sent after ``mark`` (a length of ``requests``) whose path holds ``path_part``."""
        return [r for r in self.requests[mark:] if path_part in r.path]


class _Recording:
    """An ASGI wrapper that notes each HTTP request before passing it on."""

    def __init__(self, app: Any, seen: list[Request]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            query = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            self.seen.append(Request(scope["method"], scope["path"], query))
        await self.app(scope, receive, send)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _generate_buildings(engine: Engine, n: int) -> None:
    """``n`` small rectangles over 学院路街道, coded GEN-…, addressed as generated."""
    with engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.19)"))
        conn.execute(
            text(
                "INSERT INTO building (code, name, address, households, floors, geom) "
                "SELECT 'GEN-' || g, '生成楼栋 ' || g, '生成的地址（测试数据）' || g || '号', "
                "(random() * 60)::int, 1 + (random() * 20)::int, "
                "ST_MakeEnvelope(x, y, x + 0.0001, y + 0.0001, 4326) FROM ("
                "SELECT g, ST_XMin(e) + random() * (ST_XMax(e) - ST_XMin(e)) AS x, "
                "ST_YMin(e) + random() * (ST_YMax(e) - ST_YMin(e)) AS y "
                "FROM generate_series(1, :n) g, "
                "(SELECT geom::box2d AS e FROM region WHERE code = :street) r) p"
            ),
            {"n": n, "street": START_STREET},
        )
        conn.execute(text("ANALYZE building"))


@pytest.fixture(scope="session")
def served(fresh_database, server: Settings) -> Iterator[Served]:  # type: ignore[no-untyped-def]
    """The demo and 25,000 generated buildings, served by gridmap in a thread on loopback."""
    name = "gridmap_test_clients"
    url = fresh_database(name)
    migrate.upgrade(url)
    engine = make_engine(url, pool_size=2)
    load_dataset(engine, project_root() / "data" / "boundaries", commit=True)
    _generate_buildings(engine, GENERATED_BUILDINGS)
    with Session(engine) as session, session.begin():
        secret, _ = create_token(session, name="学院路街道办", role="street", region=START_STREET)
    settings = Settings()
    settings.db.embedded_db = name
    if settings.db.url is not None:
        settings.db.url = url  # type: ignore[assignment]
    seen: list[Request] = []
    port = _free_port()
    srv = uvicorn.Server(
        uvicorn.Config(
            _Recording(create_app(settings), seen),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield Served(base=f"http://127.0.0.1:{port}", engine=engine, token=secret, requests=seen)
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


def run(args: list[str], *, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    """Run a client program; its standard output, or a failure showing what it said."""
    done = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def header_file(tmp_path: Path, token: str) -> dict[str, str]:
    """GDAL configuration sending ``Authorization: Bearer token`` with every request."""
    path = tmp_path / "headers.txt"
    path.write_text(f"Authorization: Bearer {token}\n")
    return {"GDAL_HTTP_HEADER_FILE": str(path)}
