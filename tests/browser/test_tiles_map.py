"""The map's building tiles at low zoom: merged boxes drawn lighter, each building itself when
zoomed in, every tile URL from TileJSON."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Response
from sqlalchemy import text
from tests.browser import people
from tests.browser.conftest import Live, screenshot_path

MERGED_FILL = "#bcaaa4"
BUILDING_FILL = "#d7ccc8"


@pytest.fixture
def page(browser: Browser, live: Live) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def _fills(page: Page, fill: str) -> int:
    return page.locator(f".leaflet-pane path[fill='{fill}']").count()


def test_merged_buildings_at_z13_and_each_building_at_z16(page: Page, live: Live) -> None:
    tiles: list[tuple[int, str]] = []

    def seen(r: Response) -> None:
        if "/tiles/buildings" in r.url:
            tiles.append((r.status, r.url))

    page.on("response", seen)
    page.goto(live.base + "/")
    page.wait_for_selector("body[data-ready='true']", timeout=15_000)
    box = page.locator("#map").bounding_box()
    assert box is not None
    middle = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    people.wheel_zoom(page, middle, -1)
    page.wait_for_function(
        f"document.querySelectorAll(\".leaflet-pane path[fill='{MERGED_FILL}']\").length > 0",
        polling=100,
        timeout=15_000,
    )
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshot_path("tiles-z13-merged-buildings")))
    assert any("/tiles/buildings/13/" in url and "?v=" in url for _, url in tiles)
    assert all(status == 200 for status, _ in tiles), tiles
    # The merged boxes drawn are the copy's merged features, of which PostGIS holds some.
    with live.engine.connect() as conn:
        merged = conn.execute(
            text(
                "SELECT count(*) FROM tile_shape WHERE layer = 'buildings' AND zoom = 13 AND count > 1"
            )
        ).scalar_one()
    assert merged > 0
    people.wheel_zoom(page, middle, 3)
    page.wait_for_function(
        f"document.querySelectorAll(\".leaflet-pane path[fill='{MERGED_FILL}']\").length === 0 "
        f"&& document.querySelectorAll(\".leaflet-pane path[fill='{BUILDING_FILL}']\").length > 0",
        polling=100,
        timeout=15_000,
    )
    page.screenshot(path=str(screenshot_path("tiles-z16-buildings")))
    assert any("/tiles/buildings/16/" in url for _, url in tiles)
    assert _fills(page, BUILDING_FILL) > 0
