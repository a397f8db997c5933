"""Fixtures for browser tests: the demo served over HTTP, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridmap import migrate
from gridmap.auth import create_token
from gridmap.database import make_engine
from gridmap.loader import load_dataset
from gridmap.main import create_app
from gridmap.settings import Settings, project_root

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = project_root() / "build" / "screenshots"
START_STREET = "110108010"


@dataclass
class Live:
    """The demo served on loopback, its database, and a street office's token."""

    base: str
    engine: Engine
    token: str
    settings: Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def demo_served(fresh_database, name: str) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    """A new database ``name`` with the demo data set, served on loopback, and a street token."""
    url = fresh_database(name)
    migrate.upgrade(url)
    engine = make_engine(url, pool_size=2)
    load_dataset(engine, project_root() / "data" / "boundaries", commit=True)
    with Session(engine) as session, session.begin():
        secret, _ = create_token(session, name="学院路街道办", role="street", region=START_STREET)
    settings = Settings()
    settings.db.embedded_db = name
    if settings.db.url is not None:
        settings.db.url = url  # type: ignore[assignment]
    try:
        with serving(settings) as base:
            yield Live(base=base, engine=engine, token=secret, settings=settings)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def live(fresh_database, server: Settings) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    with demo_served(fresh_database, "gridmap_test_browser") as served:
        yield served


@pytest.fixture(scope="module")
def own_live(  # type: ignore[no-untyped-def]
    fresh_database, server: Settings, request: pytest.FixtureRequest
) -> Iterator[Live]:
    """Like ``live``, on a database of the test module's own, for tests that change grids."""
    name = "gridmap_test_browser_" + request.module.__name__.rsplit(".", 1)[-1]
    with demo_served(fresh_database, name) as served:
        yield served


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """gridmap on a free loopback port, in a thread; yields its base URL."""
    port = _free_port()
    srv = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def screenshot_path(name: str) -> Path:
    """Where a test writes a screenshot of the map."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # Keeps each phase's report on the test, so fixtures can tell a failed test from a passed one.
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


def failed(request: pytest.FixtureRequest) -> bool:
    """Whether the test of ``request`` failed (for fixtures, after their yield)."""
    report = getattr(request.node, "report_call", None)
    return bool(report is not None and report.failed)
