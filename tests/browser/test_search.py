"""The search box in real headless Chromium, typed on the keyboard: the pin lands on the building
PostGIS holds, the other candidates are listed with their scores, a weak match says so, a click on
a candidate moves the pin, and the list fits a phone's width."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.browser import people
from tests.browser.conftest import Live, screenshot_path

from gridmap.services.address import search


class Watched:
    """A page, and every console error and uncaught exception it produced."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console.append(str(e)))


def _open(browser: Browser, live: Live, width: int = 1400, height: int = 900) -> Watched:
    context: BrowserContext = browser.new_context(
        viewport={"width": width, "height": height}, locale="zh-CN"
    )
    watched = Watched(context.new_page())
    watched.page.goto(live.base + "/")
    watched.page.wait_for_selector("body[data-ready='true']", timeout=15_000)
    return watched


@pytest.fixture
def viewer(browser: Browser, live: Live) -> Iterator[Watched]:
    watched = _open(browser, live)
    yield watched
    watched.page.context.close()


def _pin_tip(page: Page) -> tuple[float, float]:
    """The point of the search pin on the page (the bottom middle of its icon)."""
    pins = page.locator(".search-pin")
    assert pins.count() == 1
    box = pins.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"]


def _building(live: Live, code: str) -> tuple[float, float, str | None]:
    """A building's point (as the search answers it) and its grid, from PostGIS."""
    with live.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)), grid_code "
                "FROM building WHERE code = :code"
            ),
            {"code": code},
        ).one()
    return float(row[0]), float(row[1]), row[2]


def _candidates(live: Live, q: str) -> list[dict[str, Any]]:
    with Session(live.engine) as session:
        found: list[dict[str, Any]] = search(session, q_text=q, limit=5)["candidates"]
    return found


def _type_and_enter(page: Page, q: str) -> None:
    box = page.locator("#search-q")
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    page.keyboard.type(q)
    page.keyboard.press("Enter")


def _wait_for_pin(page: Page, code: str) -> None:
    page.wait_for_function(
        f"document.body.dataset.searchPin === '{code}'", timeout=10_000, polling=100
    )


def _assert_pin_on(page: Page, live: Live, code: str) -> None:
    lon, lat, grid = _building(live, code)
    # Measured once the map stands still: mid-flight the pin is drawn where the animation is.
    people.settle(page)
    px, py = people.pixel(page, lon, lat)
    tx, ty = _pin_tip(page)
    assert abs(tx - px) <= 2 and abs(ty - py) <= 2, ((tx, ty), (px, py))
    if grid:
        assert page.evaluate("document.body.dataset.highlight") == grid


def test_enter_pins_the_building_and_lists_the_others(viewer: Watched, live: Live) -> None:
    page = viewer.page
    expected = _candidates(live, "北京大学")
    assert len(expected) > 1 and all("北京大学" in c["building"]["address"] for c in expected)
    _type_and_enter(page, "北京大学")
    _wait_for_pin(page, expected[0]["building"]["code"])
    _assert_pin_on(page, live, expected[0]["building"]["code"])
    items = page.locator("#search-list li[role='option']")
    assert page.locator("#search-list").is_visible() and items.count() == len(expected)
    for i, c in enumerate(expected):
        line = items.nth(i).inner_text()
        assert c["building"]["address"] in line and f"{round(c['score'] * 100)}%" in line
        assert "partial_name" not in line and "名称部分相符" in line
    assert items.nth(0).get_attribute("aria-selected") == "true"
    assert expected[0]["building"]["address"] in page.locator(".search-pin-label").inner_text()
    page.screenshot(path=screenshot_path("search-list"))

    # A click on the second candidate moves the pin there, and the grid with it.
    items.nth(1).locator("button").click()
    _wait_for_pin(page, expected[1]["building"]["code"])
    _assert_pin_on(page, live, expected[1]["building"]["code"])
    assert items.nth(1).get_attribute("aria-selected") == "true"
    assert expected[1]["building"]["address"] in page.locator("#status").inner_text()
    page.screenshot(path=screenshot_path("search-second-candidate"))

    # Escape closes the list; the pin stays.
    page.keyboard.press("Escape")
    assert page.locator("#search-list").is_hidden()
    assert page.locator(".search-pin").count() == 1
    assert viewer.console == []


def test_a_weak_match_says_so(viewer: Watched, live: Live) -> None:
    page = viewer.page
    expected = _candidates(live, "学院路30号")
    assert expected and expected[0]["weak"]
    _type_and_enter(page, "学院路30号")
    _wait_for_pin(page, expected[0]["building"]["code"])
    _assert_pin_on(page, live, expected[0]["building"]["code"])
    first = page.locator("#search-list li[role='option']").nth(0)
    assert "匹配较弱" in first.inner_text() and "同一道路，门牌号不同" in first.inner_text()
    assert "匹配较弱" in page.locator("#status").inner_text()
    assert page.locator(".search-pin.weak").count() == 1
    color = first.locator(".weak-flag").evaluate("e => getComputedStyle(e).backgroundColor")
    assert color == "rgb(230, 81, 0)"
    page.screenshot(path=screenshot_path("search-weak"))
    # A click elsewhere closes the list.
    page.mouse.click(700, 600)
    assert page.locator("#search-list").is_hidden()

    # A strong match is not marked; a place not in the data is not found; codes still fly.
    strong = _candidates(live, "二里庄16号楼")[0]
    _type_and_enter(page, "二里庄16号楼")
    _wait_for_pin(page, strong["building"]["code"])
    _assert_pin_on(page, live, strong["building"]["code"])
    assert "匹配较弱" not in page.locator("#search-list").inner_text()
    assert "社区与楼号相符" in page.locator("#search-list").inner_text()
    _type_and_enter(page, "东方明珠电视塔")
    page.wait_for_function("document.getElementById('status').textContent.includes('未找到')")
    assert page.locator(".search-pin").count() == 0
    _type_and_enter(page, "110108010002002")
    page.wait_for_function("document.body.dataset.highlight === '110108010002002'")
    assert viewer.console == []


def test_the_list_in_english(viewer: Watched, live: Live) -> None:
    page = viewer.page
    page.locator("#lang-btn").click()
    expected = _candidates(live, "学院路30号")
    _type_and_enter(page, "学院路30号")
    _wait_for_pin(page, expected[0]["building"]["code"])
    listed = page.locator("#search-list").inner_text()
    assert "weak match" in listed and "same road, other number" in listed
    assert "匹配较弱" not in listed and "road_only" not in listed
    page.screenshot(path=screenshot_path("search-weak-en"))
    # Switching back words the list in Chinese again.
    page.locator("#search-q").click()
    page.locator("#lang-btn").click()
    assert "匹配较弱" in page.locator("#search-list").inner_text()


def test_the_list_fits_a_phone(browser: Browser, live: Live) -> None:
    watched = _open(browser, live, width=390, height=844)
    page = watched.page
    expected = _candidates(live, "北京大学")
    _type_and_enter(page, "北京大学")
    _wait_for_pin(page, expected[0]["building"]["code"])
    box = page.locator("#search-list").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert box["y"] + box["height"] <= 844
    page.screenshot(path=screenshot_path("search-phone"))
    items = page.locator("#search-list li[role='option']")
    items.nth(1).locator("button").click()
    _wait_for_pin(page, expected[1]["building"]["code"])
    _assert_pin_on(page, live, expected[1]["building"]["code"])
    assert watched.console == []
    page.context.close()
