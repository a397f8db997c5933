"""Fixtures for the phone page (/m/): a grid worker of a demo grid with a staff token, a phone
(Chromium at 390×844, touch, location allowed) standing on a demo road of that grid, and signing
in as a person does.

Import the fixtures into a test module: ``from tests.browser.phone import phone, worker``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.browser.conftest import Live, failed, screenshot_path

from gridmap.auth import Holder, create_token

# 学院路街道's first community: its grid 001 and the grid next to it (not the worker's).
WORKER_GRID = "110108010002001"
OTHER_GRID = "110108010002002"
PHONE = {"width": 390, "height": 844}


@dataclass
class Worker:
    """A grid worker of ``grid`` with a staff token, and a place on a road inside the grid."""

    token: str
    person_id: int
    name: str
    grid: str
    on_road: tuple[float, float]


def road_point(live: Live, grid: str) -> tuple[float, float]:
    """A point on a demo road inside ``grid`` (the middle of the longest piece of road in it)."""
    with live.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM ("
                " SELECT ST_LineInterpolatePoint(ST_LineMerge(ST_Intersection(r.geom, g.geom)), 0.5)"
                "  AS p, ST_Length(ST_Intersection(r.geom, g.geom)::geography) AS m"
                " FROM road_edge r JOIN grid g ON ST_Intersects(r.geom, g.geom)"
                " WHERE g.code = :g AND g.valid_to IS NULL"
                "  AND GeometryType(ST_LineMerge(ST_Intersection(r.geom, g.geom))) = 'LINESTRING'"
                " ORDER BY m DESC LIMIT 1) s"
            ),
            {"g": grid},
        ).one()
    return float(row[0]), float(row[1])


def inside_point(live: Live, grid: str) -> tuple[float, float]:
    """A point surely inside ``grid`` (PostGIS's point on its surface)."""
    with live.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid"
                " WHERE code = :g AND valid_to IS NULL) s"
            ),
            {"g": grid},
        ).one()
    return float(row[0]), float(row[1])


@pytest.fixture(scope="module")
def worker(own_live: Live) -> Worker:
    """A worker of WORKER_GRID (from the demo's grid staff) with a staff token of their own."""
    with Session(own_live.engine) as session, session.begin():
        person_id, name = session.execute(
            text(
                "SELECT p.id, p.name FROM grid_staff s JOIN person p ON p.id = s.person_id"
                " WHERE s.grid_code = :g AND s.role = 'worker' ORDER BY p.id LIMIT 1"
            ),
            {"g": WORKER_GRID},
        ).one()
        secret, _ = create_token(session, holder=Holder("staff", person=int(person_id)))
    return Worker(secret, int(person_id), str(name), WORKER_GRID, road_point(own_live, WORKER_GRID))


def phone_context(browser: Browser, live: Live, at: tuple[float, float]) -> BrowserContext:
    """A phone: 390×844, touch, location allowed and standing at ``at`` (lon, lat)."""
    return browser.new_context(
        base_url=live.base,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        permissions=["geolocation"],
        geolocation={"longitude": at[0], "latitude": at[1], "accuracy": 8},
        service_workers="allow",
    )


@pytest.fixture
def phone(
    browser: Browser, own_live: Live, worker: Worker, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A fresh phone (no token, no queue, no service worker yet) at the worker's road point,
    showing /m/; a failed test leaves a screenshot named for it."""
    context = phone_context(browser, own_live, worker.on_road)
    page = context.new_page()
    page.goto("/m/")
    yield page
    if failed(request):
        page.screenshot(path=str(screenshot_path(f"phone-{request.node.name}")))
    context.close()


def sign_in(page: Page, token: str) -> None:
    """Sign in on the phone as a person does (tap the field, type the token, tap 登录) and wait
    for home with the worker's grids from the field pack."""
    page.locator("#m-token").tap()
    page.keyboard.type(token)
    page.locator("#m-signin-submit").tap()
    page.locator("#home-grids li[data-grid]").first.wait_for(timeout=15_000)


def wait_registered(page: Page) -> None:
    """Wait until the service worker controls the page (so a reload offline opens from it)."""
    page.wait_for_function(
        "() => navigator.serviceWorker && navigator.serviceWorker.controller !== null",
        timeout=15_000,
    )


def waiting(page: Page) -> int:
    """How many items the header says wait to be sent."""
    return int(page.locator("#waiting-btn").get_attribute("data-waiting") or "0")
