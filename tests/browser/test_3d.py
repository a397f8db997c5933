"""The 2.5-D view (/3d) in headless Chromium with WebGL: offline, extruded, rotated, clicked, translated."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Browser, Page, Request, Route
from sqlalchemy import text
from tests.browser.conftest import CHROMIUM, Live, screenshot_path

# Headless Chromium has no GPU: WebGL runs on SwiftShader, which Chromium gates behind this flag.
WEBGL_ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
LOOPBACK = {"127.0.0.1", "localhost"}


class Watched:
    """A page of /3d, with its console errors, requests and any request that left loopback."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[tuple[int, str]] = []
        self.outside: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("requestfinished", self._finished)
        page.on("requestfailed", lambda r: self.requests.append((0, r.url)))

    def _finished(self, request: Request) -> None:
        response = request.response()
        self.requests.append((response.status if response else 0, request.url))

    def paths(self, prefix: str) -> list[tuple[int, str]]:
        """(status, path) of the requests whose path starts with ``prefix``."""
        found = [(s, unquote(urlsplit(u).path)) for s, u in self.requests]
        return [(s, p) for s, p in found if p.startswith(prefix)]


@pytest.fixture(scope="module")
def webgl_browser(browser: Browser) -> Iterator[Browser]:
    # A second Chromium from the session's Playwright (one Playwright per process), with WebGL.
    b = browser.browser_type.launch(executable_path=CHROMIUM, args=WEBGL_ARGS)
    yield b
    b.close()


@pytest.fixture
def view(webgl_browser: Browser, live: Live) -> Iterator[Watched]:
    context = webgl_browser.new_context(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    watched = Watched(context.new_page())

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK or route.request.url.startswith(
            ("blob:", "data:")
        ):
            route.continue_()
        else:
            watched.outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    watched.page.goto(live.base + "/3d")
    watched.page.wait_for_selector("body[data-ready='true']", timeout=60_000)
    settle(watched.page)
    yield watched
    context.close()


def settle(page: Page) -> None:
    """Waits until the map has drawn everything it asked for and stands still."""
    page.wait_for_function(
        "() => window.gridmap3d && window.gridmap3d.map.loaded() && !window.gridmap3d.map.isMoving()",
        timeout=60_000,
    )
    page.wait_for_timeout(300)


def canvas_box(page: Page) -> dict[str, float]:
    box = page.locator("#map3d canvas").bounding_box()
    assert box is not None
    return box


def rendered(page: Page, layer: str, point: tuple[float, float] | None = None) -> list[Any]:
    """The properties of the features of ``layer`` drawn (at canvas ``point``, or anywhere): a
    read of the map's state."""
    found: list[Any] = page.evaluate(
        "([layer, point]) => window.gridmap3d.map.queryRenderedFeatures(point || undefined,"
        " { layers: [layer] }).map((f) => f.properties)",
        [layer, list(point) if point else None],
    )
    return found


def test_the_view_opens_offline_on_gridmaps_own_tiles_and_glyphs(view: Watched) -> None:
    page = view.page
    page.screenshot(path=screenshot_path("3d-open"))
    assert view.errors == [] and view.outside == []
    assert page.inner_text("#region-title").startswith("学院路街道")
    for layer in ("buildings", "grids", "roads"):
        assert (200, f"/tiles/{layer}.json") in view.paths(f"/tiles/{layer}.json"), layer
        tiles = view.paths(f"/tiles/{layer}/")
        assert tiles and all(s == 200 for s, _ in tiles), (layer, tiles)
    glyphs = view.paths("/fonts/")
    assert (200, "/fonts/Gridmap Sans/0-255.pbf") in glyphs
    assert all(s == 200 for s, _ in glyphs), glyphs
    assert all(s in (200, 304) for s, _ in view.requests), [r for r in view.requests if r[0] >= 400]
    # Grid codes are drawn as labels from those glyphs.
    labels = rendered(page, "grids-label")
    assert any(p["code"].startswith("110108010") for p in labels)
    # Each grid is labelled once, however many tiles it spans.
    codes = [p["code"] for p in labels]
    assert len(codes) == len(set(codes)), sorted(c for c in codes if codes.count(c) > 1)


def test_buildings_are_raised_by_their_floors(view: Watched, live: Live) -> None:
    page = view.page
    # Near enough that a storey is a few pixels: the map's own zoom button, three times.
    for _ in range(3):
        page.locator(".maplibregl-ctrl-zoom-in").click()
        settle(page)
    drawn = rendered(page, "buildings-3d")
    assert len(drawn) > 50
    box = canvas_box(page)
    # The tallest building drawn near the middle of the canvas, and its footprint's centre.
    ids = sorted({int(p["id"]) for p in drawn if p.get("floors")})
    with live.engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT id, floors, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
                "FROM building WHERE id = ANY(:ids) AND floors >= 6 ORDER BY floors DESC"
            ),
            {"ids": ids},
        ).all()
    assert rows, "no building of 6 floors or more in view"

    def on_screen(lon: float, lat: float) -> tuple[float, float]:
        x, y = page.evaluate(
            "(ll) => { const p = window.gridmap3d.map.project(ll); return [p.x, p.y]; }", [lon, lat]
        )
        return float(x), float(y)

    def reach(building: int, x: float, y: float) -> int:
        """How many pixels above its footprint's centre the building is still drawn."""
        top = 0
        for dy in range(0, 400, 4):
            hits = rendered(page, "buildings-3d", (x, y - dy))
            if any(int(h["id"]) == building for h in hits):
                top = dy
        return top

    tilted = None
    for building, floors, lon, lat in rows:
        x, y = on_screen(lon, lat)
        if (
            0.2 * box["width"] < x < 0.8 * box["width"]
            and 0.3 * box["height"] < y < 0.9 * box["height"]
        ):
            tilted = (building, floors, lon, lat, reach(building, x, y))
            break
    assert tilted is not None
    building, floors, lon, lat, reach_tilted = tilted
    page.screenshot(path=screenshot_path("3d-tilted"))
    pixels_tilted = Image.open(screenshot_path("3d-tilted")).convert("RGB")

    # Seen from straight above (the view's own button), the same building reaches only as far
    # as its footprint.
    page.get_by_role("button", name="正北俯视").click()
    settle(page)
    assert page.inner_text("#pitch-out") == "0°"
    x, y = on_screen(lon, lat)
    reach_flat = reach(building, x, y)
    page.screenshot(path=screenshot_path("3d-flat"))
    pixels_flat = Image.open(screenshot_path("3d-flat")).convert("RGB")
    assert reach_tilted > reach_flat + 8, (building, floors, reach_tilted, reach_flat)
    assert ImageChops.difference(pixels_tilted, pixels_flat).getbbox() is not None


def _bearing(page: Page) -> int:
    return int(page.inner_text("#bearing-out").rstrip("°"))


def test_right_drag_and_ctrl_drag_rotate_the_view(view: Watched) -> None:
    page = view.page
    box = canvas_box(page)
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    before = _bearing(page)
    page.mouse.move(cx, cy)
    page.mouse.down(button="right")
    page.mouse.move(cx + 150, cy, steps=12)
    page.mouse.up(button="right")
    settle(page)
    after_right = _bearing(page)
    assert abs(after_right - before) >= 10, (before, after_right)

    page.keyboard.down("Control")
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 150, cy, steps=12)
    page.mouse.up()
    page.keyboard.up("Control")
    settle(page)
    after_ctrl = _bearing(page)
    assert abs(after_ctrl - after_right) >= 10, (after_right, after_ctrl)
    # The map itself turned, not only the number beside it.
    assert round(float(page.evaluate("window.gridmap3d.map.getBearing()"))) == after_ctrl
    assert view.errors == []


def test_a_click_on_a_grid_shows_its_code_name_and_community(view: Watched, live: Live) -> None:
    page = view.page
    # Straight above, so the ground under the pointer is the grid drawn there.
    page.get_by_role("button", name="正北俯视").click()
    settle(page)
    box = canvas_box(page)
    found = None
    with live.engine.connect() as c:
        for fx, fy in ((0.5, 0.5), (0.4, 0.6), (0.6, 0.4), (0.45, 0.45), (0.55, 0.6), (0.35, 0.5)):
            x, y = box["width"] * fx, box["height"] * fy
            lon, lat = page.evaluate(
                "(p) => { const l = window.gridmap3d.map.unproject(p); return [l.lng, l.lat]; }",
                [x, y],
            )
            row = c.execute(
                text(
                    "SELECT g.code, g.name, r.name FROM grid g JOIN region r ON r.code = g.community_code "
                    "WHERE g.valid_to IS NULL AND ST_Contains(g.geom, ST_SetSRID(ST_Point(:lon, :lat), 4326))"
                ),
                {"lon": lon, "lat": lat},
            ).first()
            if row is not None:
                found = (x, y, *row)
                break
    assert found is not None, "no grid under any of the tried points"
    x, y, code, name, community = found
    page.mouse.click(box["x"] + x, box["y"] + y)
    panel = page.locator("#panel")
    panel.wait_for(state="visible")
    page.wait_for_function(
        "(name) => document.getElementById('panel-body').textContent.includes(name)", arg=community
    )
    body = page.inner_text("#panel-body")
    assert code in body and name in body and community in body
    page.screenshot(path=screenshot_path("3d-grid-clicked"))


def test_the_language_switch_changes_every_word(view: Watched) -> None:
    page = view.page
    assert "图例" in page.inner_text("#legend") and page.inner_text("#lang-btn") == "English"
    page.get_by_role("button", name="English").click()
    assert page.inner_text("#lang-btn") == "中文"
    legend = page.inner_text("#legend")
    assert "Legend" in legend and "Basic grid" in legend and "floors" in legend
    assert "图例" not in legend
    assert page.inner_text("#reset-view") == "North up, flat"
    assert "rotate" in page.inner_text("#status")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.inner_text("#region-title") == "学院路街道 · 3-D view"
    page.get_by_text("grid", exact=True).click()
    assert "coloured by their grid" in page.inner_text("#legend")
    colour = page.evaluate(
        "window.gridmap3d.map.getPaintProperty('buildings-3d', 'fill-extrusion-color')"
    )
    assert colour[0] == "case" and ["has", "grid_code"] in colour
    settle(page)
    page.screenshot(path=screenshot_path("3d-english"))
    page.get_by_role("button", name="中文").click()
    assert "图例" in page.inner_text("#legend")
    assert view.errors == []


def test_the_flat_map_links_to_the_view(webgl_browser: Browser, live: Live) -> None:
    context = webgl_browser.new_context(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.goto(live.base + "/")
    link = page.get_by_role("link", name="三维视图")
    link.click()
    page.wait_for_url("**/3d")
    page.wait_for_selector("body[data-ready='true']", timeout=60_000)
    assert page.inner_text("#region-title").startswith("学院路街道")
    context.close()
