"""The map page as a person uses it: the sign-in form, popups that stay on screen, codes in
words, layers read for the view after a drag, and the header at phone width."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import text
from tests.browser import people
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
                x, y = people.pixel(page, lon, lat)
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


def _one(live: Live, sql: str, **params: Any) -> Any:
    with live.engine.connect() as c:
        return c.execute(text(sql), params).one()


def _grid_holding(live: Live, lon: float, lat: float) -> str:
    code = _grid_at(live, lon, lat)
    assert code is not None
    return code


def _close_popups(page: Page) -> None:
    close = page.locator(".leaflet-popup-close-button")
    if close.count():
        close.first.click()
    page.wait_for_function("document.querySelectorAll('.leaflet-popup').length === 0")


def _popup_text_at(page: Page, lon: float, lat: float) -> str:
    _close_popups(page)
    x, y = people.pixel(page, lon, lat)
    page.mouse.click(x, y)
    content = page.locator(".leaflet-popup-content")
    content.wait_for()
    page.wait_for_timeout(300)
    return content.inner_text()


def _no_raw_code(words: str) -> None:
    found = RAW.findall(words)
    assert not found, (found, words)


def test_every_popup_shows_codes_in_words(desk: Page, live: Live) -> None:
    page = desk
    # A service centre open on weekdays and Saturday mornings.
    centre = _one(
        live,
        "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, kind FROM service_center "
        "WHERE opening_hours = 'Mo-Fr 08:30-17:30; Sa 09:00-12:00' "
        "AND region_code LIKE '110108010%' ORDER BY code LIMIT 1",
    )
    _search(page, _grid_holding(live, centre.lon, centre.lat))
    _layer_on(page, "服务中心")
    words = _popup_text_at(page, centre.lon, centre.lat)
    assert "周一至周五 08:30-17:30；周六 09:00-12:00" in words
    assert {"party_mass_center": "党群服务中心", "red_station": "红色驿站"}.get(
        centre.kind, "服务站"
    ) in words
    assert "步行路网" in words or "直线距离" in words
    _no_raw_code(words)
    page.screenshot(path=str(screenshot_path("page-popup-centre-zh")))
    page.locator("#lang-btn").click()
    english = _popup_text_at(page, centre.lon, centre.lat)
    assert "Mon–Fri 08:30-17:30; Sat 09:00-12:00" in english
    page.locator("#lang-btn").click()
    _close_popups(page)
    page.locator(".leaflet-control-layers-overlays label", has_text="服务中心").click()

    # An incident with no other within 150 m, so it is never in a cluster at grid zoom.
    incident = _one(
        live,
        "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, status, severity FROM incident i "
        "WHERE street_code = '110108010' AND NOT EXISTS (SELECT FROM incident o "
        "WHERE o.id <> i.id AND ST_DWithin(o.geom::geography, i.geom::geography, 150)) "
        "ORDER BY id LIMIT 1",
    )
    _search(page, _grid_holding(live, incident.lon, incident.lat))
    _layer_on(page, "事件")
    words = _popup_text_at(page, incident.lon, incident.lat)
    assert "状态" in words and "等级" in words
    assert any(w in words for w in ("一般", "重要", "紧急"))
    _no_raw_code(words)
    page.screenshot(path=str(screenshot_path("page-popup-incident-zh")))
    _close_popups(page)
    page.locator(".leaflet-control-layers-overlays label", has_text="事件").click()

    # A list item with no other within 60 m.
    item = _one(
        live,
        "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM list_item i "
        "WHERE grid_code LIKE '110108010%' AND NOT EXISTS (SELECT FROM list_item o "
        "WHERE o.id <> i.id AND ST_DWithin(o.geom::geography, i.geom::geography, 60)) "
        "ORDER BY id LIMIT 1",
    )
    _search(page, _grid_holding(live, item.lon, item.lat))
    _layer_on(page, "三张清单")
    words = _popup_text_at(page, item.lon, item.lat)
    assert "清单 ·" in words and "状态" in words
    _no_raw_code(words)
    _close_popups(page)
    page.locator(".leaflet-control-layers-overlays label", has_text="三张清单").click()

    # An exclusive grid: its kind and subtype in words, in the lookup popup and its lists.
    grid = _one(
        live,
        "SELECT code, subtype, ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT code, subtype, "
        "ST_PointOnSurface(geom) AS p FROM grid WHERE valid_to IS NULL AND kind = 'exclusive' "
        "AND subtype IS NOT NULL AND code LIKE '110108010%' ORDER BY code LIMIT 1) g",
    )
    _search(page, grid.code)
    page.keyboard.press("Escape")
    words = _popup_text_at(page, grid.lon, grid.lat)
    page.locator(".popup .figures[data-loaded='true']").wait_for()
    words = page.locator(".leaflet-popup-content").inner_text()
    assert "专属网格（" in words
    _no_raw_code(words)
    page.screenshot(path=str(screenshot_path("page-popup-exclusive-zh")))


def _view_settled(page: Page) -> tuple[float, float, float, float]:
    """Wait until the overlays were read for the map's present view; answers that bbox."""
    page.wait_for_function(
        "(() => { const v = (document.body.dataset.view || '').split(',').map(Number);"
        " if (v.length !== 4) return false; const b = window.gridmap.map.getBounds();"
        " const d = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];"
        " return v.every((x, i) => Math.abs(x - d[i]) < 2e-5); })()",
        timeout=15_000,
    )
    box = [float(v) for v in page.evaluate("document.body.dataset.view").split(",")]
    return box[0], box[1], box[2], box[3]


def _shown_in(page: Page, key: str, box: tuple[float, float, float, float]) -> int:
    """How many features of overlay key the page holds inside box."""
    return int(
        page.evaluate(
            "([key, w, s, e, n]) => { const l = window.gridmap.overlays[key]; let k = 0;"
            " const b = L.latLngBounds([s, w], [n, e]);"
            " const all = l.getLayers ? l.getLayers() : []; all.forEach((m) => {"
            " if (m.getLatLng && b.contains(m.getLatLng())) k += 1; }); return k; }",
            [key, *box],
        )
    )


def _stored_in(live: Live, table: str, box: tuple[float, float, float, float]) -> int:
    with live.engine.connect() as c:
        return int(
            c.execute(
                text(
                    f"SELECT count(*) FROM {table} WHERE "
                    "ST_Intersects(geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326))"
                ),
                dict(zip("wsen", box, strict=True)),
            ).scalar_one()
        )


def test_dragging_to_another_street_reads_its_incidents_and_lists(desk: Page, live: Live) -> None:
    page = desk
    _layer_on(page, "事件")
    _layer_on(page, "三张清单")
    first = _view_settled(page)
    assert _shown_in(page, "incidents", first) == _stored_in(live, "incident", first)
    before = page.evaluate("window.gridmap.overlays.incidents.getLayers().length")
    # Drag the map by hand until 北太平庄街道 (south of 学院路) is in the middle.
    target = _one(
        live,
        "SELECT ST_X(label_point) AS label_lon, ST_Y(label_point) AS label_lat FROM region "
        "WHERE code = '110108008'",
    )
    bar = _box(page, "#bar")
    cx, cy = 700.0, (bar["y"] + bar["height"] + 900) / 2
    for _ in range(6):
        x, y = people.pixel(page, target.label_lon, target.label_lat)
        if abs(x - cx) < 80 and abs(y - cy) < 80:
            break
        dx = max(-300.0, min(300.0, cx - x))
        dy = max(-300.0, min(300.0, cy - y))
        _drag(page, (cx, cy), (cx + dx, cy + dy))
    box = _view_settled(page)
    incidents, items = _stored_in(live, "incident", box), _stored_in(live, "list_item", box)
    with live.engine.connect() as c:
        theirs = c.execute(
            text(
                "SELECT count(*) FROM incident WHERE street_code = '110108008' AND "
                "ST_Intersects(geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326))"
            ),
            dict(zip("wsen", box, strict=True)),
        ).scalar_one()
    assert theirs > 0 and incidents > 0 and items > 0
    assert _shown_in(page, "incidents", box) == incidents
    assert _shown_in(page, "lists", box) == items
    assert page.evaluate("window.gridmap.overlays.incidents.getLayers().length") > before
    # Coming back adds nothing twice.
    total = page.evaluate("window.gridmap.overlays.incidents.getLayers().length")
    _drag(page, (cx, cy), (cx, cy - 120))
    _drag(page, (cx, cy), (cx, cy + 120))
    _view_settled(page)
    ids = page.evaluate(
        "window.gridmap.overlays.incidents.getLayers().map((m) => m.feature.properties.id)"
    )
    assert len(ids) == len(set(ids)) and len(ids) >= total
    page.screenshot(path=str(screenshot_path("page-dragged-to-beitaipingzhuang")))


def test_phone_width_keeps_sign_in_and_search_in_reach(browser: Browser, live: Live) -> None:
    context = _context(
        browser, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    page = _open(context, live)
    try:
        bar = _box(page, "#bar")
        assert bar["width"] <= 390
        for sel in ("#search-q", "#search button", "#token-btn", "#lang-btn"):
            b = _box(page, sel)
            assert b["x"] >= 0 and b["x"] + b["width"] <= 390, sel
            assert b["y"] >= bar["y"] and b["y"] + b["height"] <= bar["y"] + bar["height"], sel
        assert abs(_box(page, "#map")["y"] - (bar["y"] + bar["height"])) <= 1
        assert page.locator(".leaflet-control-layers-expanded").count() == 0
        assert page.locator(".leaflet-control-layers-toggle").is_visible()
        page.screenshot(path=str(screenshot_path("page-phone")))
        # Sign in with taps.
        page.locator("#token-btn").tap()
        form = _box(page, "#signin")
        assert form["x"] >= 0 and form["x"] + form["width"] <= 390
        page.locator("#signin-token").tap()
        page.keyboard.type(live.token)
        page.locator("#signin-submit").tap()
        who = page.locator("#signin-who")
        who.wait_for()
        assert "学院路街道" in who.inner_text()
        page.screenshot(path=str(screenshot_path("page-phone-signed-in")))
        bar = _box(page, "#bar")
        assert abs(_box(page, "#map")["y"] - (bar["y"] + bar["height"])) <= 1
        b = _box(page, "#token-btn")
        assert b["x"] + b["width"] <= 390
        # Search with taps and the on-screen Enter.
        page.locator("#search-q").tap()
        page.keyboard.type("110108010002001")
        page.keyboard.press("Enter")
        page.wait_for_selector("body[data-highlight='110108010002001']")
        page.wait_for_timeout(1000)
        lon, lat = _one(
            live,
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grid "
            "WHERE code = '110108010002001' AND valid_to IS NULL) g",
        )
        x, y = people.pixel(page, lon, lat)
        page.touchscreen.tap(x, y)
        page.locator(".popup .figures[data-loaded='true']").wait_for()
        page.wait_for_timeout(700)
        shell = _box(page, ".leaflet-popup-content-wrapper")
        assert shell["x"] >= 0 and shell["x"] + shell["width"] <= 390
        assert shell["y"] >= bar["y"] + bar["height"] and shell["y"] + shell["height"] <= 844
        page.screenshot(path=str(screenshot_path("page-phone-popup")))
    finally:
        context.close()
