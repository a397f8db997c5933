"""The map page as a person uses it: the sign-in form, popups that stay on screen, codes in
words, layers read for the view after a drag, and the header at phone width."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import text
from tests.browser.conftest import Live, screenshot_path

from gridmap.vocab.kinds import CENTER_KINDS, EXCLUSIVE_SUBTYPES, SEVERITIES
from gridmap.vocab.states import INCIDENT_STATES, LIST_STATUSES

# Codes that must never be shown as they are (each list of the vocabulary, and OSM hours).
RAW = re.compile(
    r"\b("
    + "|".join(
        sorted(
            {
                *INCIDENT_STATES,
                *LIST_STATUSES,
                *SEVERITIES,
                *CENTER_KINDS,
                *EXCLUSIVE_SUBTYPES,
                "basic",
                "exclusive",
                "network",
                "buffer",
                "resource",
                "need",
                "project",
                "Mo-Fr",
                "Sa",
                "Su",
            },
            key=len,
            reverse=True,
        )
    )
    + r")\b"
)


def _context(browser: Browser, **options: Any) -> BrowserContext:
    options.setdefault("viewport", {"width": 1400, "height": 900})
    return browser.new_context(locale="zh-CN", **options)


def _open(context: BrowserContext, live: Live) -> Page:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live.base + "/")
    page.wait_for_selector("body[data-ready='true']", timeout=20_000)
    assert not errors, errors
    return page


@pytest.fixture
def desk(browser: Browser, live: Live) -> Iterator[Page]:
    context = _context(browser)
    yield _open(context, live)
    context.close()


def _box(page: Page, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box


def _lonlat(page: Page, x: float, y: float) -> tuple[float, float]:
    """The WGS84 point under page pixel (x, y) (no GCJ-02 base map in tests)."""
    ll: Any = page.evaluate(
        "([x, y]) => { const m = window.gridmap.map; const r = m.getContainer().getBoundingClientRect();"
        " const p = m.containerPointToLatLng([x - r.left, y - r.top]); return [p.lng, p.lat]; }",
        [x, y],
    )
    return float(ll[0]), float(ll[1])


def _pixel(page: Page, lon: float, lat: float) -> tuple[float, float]:
    xy: Any = page.evaluate(
        "([lon, lat]) => { const m = window.gridmap.map; const p = m.latLngToContainerPoint([lat, lon]);"
        " const r = m.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }",
        [lon, lat],
    )
    return float(xy[0]), float(xy[1])


def _grid_at(live: Live, lon: float, lat: float) -> str | None:
    with live.engine.connect() as c:
        code: str | None = c.execute(
            text(
                "SELECT code FROM grid WHERE valid_to IS NULL AND "
                "ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) LIMIT 1"
            ),
            {"x": lon, "y": lat},
        ).scalar()
    return code


def _inner_points(live: Live, n: int) -> list[tuple[str, float, float]]:
    """n grids of the start street, each with a point inside it."""
    with live.engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT code, ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT code, "
                "ST_PointOnSurface(geom) AS p FROM grid WHERE valid_to IS NULL "
                "AND code LIKE '110108010%' ORDER BY code LIMIT :n) g"
            ),
            {"n": n},
        ).all()
    return [(r.code, float(r.lon), float(r.lat)) for r in rows]


def _drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Drag the map with the mouse from start to end (page pixels), in small steps."""
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=12)
    # Hold still before letting go, so the map does not glide on (Leaflet's inertia).
    page.wait_for_timeout(150)
    page.mouse.move(*end)
    page.mouse.up()
    page.wait_for_timeout(400)


def _search(page: Page, q: str) -> None:
    box = page.locator("#search-q")
    box.click()
    box.fill(q)
    box.press("Enter")
    page.wait_for_selector(f"body[data-highlight='{q}']", timeout=10_000)
    page.wait_for_timeout(1000)


def _layer_on(page: Page, name: str) -> None:
    """Switch an overlay on in the layer control (by its name in words) and wait for its read."""
    before = page.evaluate("Number(document.body.dataset.viewLoads || 0)")
    page.locator(".leaflet-control-layers-overlays label", has_text=name).first.click()
    page.wait_for_function(f"Number(document.body.dataset.viewLoads || 0) > {before}")


def test_sign_in_with_the_form_and_the_keyboard(desk: Page, live: Live) -> None:
    page = desk
    assert page.locator(".leaflet-pm-icon-polygon").count() == 0
    page.locator("#token-btn").click()
    token = page.locator("#signin-token")
    assert token.get_attribute("type") == "password" and token.is_visible()
    # A made-up token is refused there and then, in Chinese.
    page.keyboard.type("gm_made-up-token")
    page.keyboard.press("Enter")
    refusal = page.locator(".signin-message.error")
    refusal.wait_for()
    assert "令牌无效" in refusal.inner_text()
    assert page.locator(".leaflet-pm-icon-polygon").count() == 0
    assert page.evaluate("sessionStorage.getItem('gridmap.token')") is None
    page.screenshot(path=str(screenshot_path("page-signin-refused")))
    # The real one: who it is, in words, and the drawing tools.
    token.fill("")
    token.focus()
    page.keyboard.type(live.token)
    page.keyboard.press("Enter")
    who = page.locator("#signin-who")
    who.wait_for()
    assert who.inner_text() == "学院路街道办 · 街道（学院路街道）可编辑网格"
    page.locator(".leaflet-pm-icon-polygon").wait_for()
    assert page.locator("#signin").is_hidden()
    assert live.token not in page.locator("body").inner_text()
    assert page.evaluate("sessionStorage.getItem('gridmap.token')") == live.token
    page.screenshot(path=str(screenshot_path("page-signed-in")))
    # English says the same; signing out takes the tools away.
    page.locator("#lang-btn").click()
    assert who.inner_text() == "学院路街道办 · Street office (学院路街道) may edit grids"
    page.locator("#lang-btn").click()
    page.locator("#token-btn").click()
    assert page.locator(".leaflet-pm-icon-polygon").count() == 0
    assert who.is_hidden()
    assert page.evaluate("sessionStorage.getItem('gridmap.token')") is None


@pytest.mark.parametrize("size", [(1400, 900), (1366, 768)])
def test_grid_popups_near_the_top_stay_on_screen(
    browser: Browser, live: Live, size: tuple[int, int]
) -> None:
    width, height = size
    context = _context(browser, viewport={"width": width, "height": height})
    page = _open(context, live)
    try:
        bar = _box(page, "#bar")
        top = bar["y"] + bar["height"]
        checked = 0
        for code, lon, lat in _inner_points(live, 3):
            page.keyboard.press("Escape")
            # Drag the map (by hand) until a point inside the grid lies 14 px under the header.
            cx, cy = width / 2, (top + height) / 2
            for _ in range(4):
                x, y = _pixel(page, lon, lat)
                if abs(y - (top + 14)) < 4 and abs(x - cx) < 40:
                    break
                _drag(page, (cx, cy), (cx + cx - x, cy + top + 14 - y))
            assert abs(y - (top + 14)) < 4, (y, top)
            page.mouse.click(x, y)
            popup = page.locator(f".leaflet-popup-content .popup[data-grid='{code}']")
            popup.wait_for()
            page.locator(".popup .figures[data-loaded='true']").wait_for()
            page.wait_for_timeout(700)  # the pan that fits the popup runs 0.25 s
            shell = _box(page, ".leaflet-popup-content-wrapper")
            heading = _box(page, ".leaflet-popup-content .popup h3")
            assert shell["y"] >= top, (code, shell, top)
            assert heading["y"] >= top and shell["y"] + shell["height"] <= height
            assert shell["x"] >= 0 and shell["x"] + shell["width"] <= width
            assert code in page.locator(".leaflet-popup-content").inner_text()
            checked += 1
            if checked == 1:
                page.screenshot(path=str(screenshot_path(f"page-popup-top-{width}x{height}")))
            page.locator(".leaflet-popup-close-button").click()
        assert checked == 3
    finally:
        context.close()
