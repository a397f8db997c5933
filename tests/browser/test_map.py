"""The browser map in real headless Chromium: opening, searching, drawing, saving, stale edits."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import text
from tests.browser import people
from tests.browser.conftest import Live, screenshot_path

OVERLAYS_ZH = [
    "覆盖缺口与重叠",
    "15分钟服务圈",
    "服务中心",
    "服务圈外楼栋",
    "党员中心户",
    "事件",
    "三张清单",
]


class Watched:
    """A page, and every console error, uncaught exception and failed request it produced."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        self.failed: list[tuple[int, str]] = []
        page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console.append(str(e)))
        page.on(
            "response",
            lambda r: self.failed.append((r.status, r.url)) if r.status >= 400 else None,
        )

    def problems(self, *expected: tuple[int, str]) -> list[str]:
        """What went wrong, but for failed requests expected (status, path part) and the
        browser's own line about each failed request."""
        unexpected = [
            f"{status} {url}"
            for status, url in self.failed
            if not any(status == s and part in url for s, part in expected)
        ]
        own = [c for c in self.console if not c.startswith("Failed to load resource")]
        return unexpected + own


def _context(browser: Browser) -> BrowserContext:
    return browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")


def _open(context: BrowserContext, live: Live, *, token: bool = False) -> Watched:
    """The map page, loaded; with ``token``, signed in through the sign-in form."""
    watched = Watched(context.new_page())
    watched.page.goto(live.base + "/")
    watched.page.wait_for_selector("body[data-ready='true']", timeout=15_000)
    if token:
        people.sign_in(watched.page, live.token)
    return watched


@pytest.fixture
def viewer(browser: Browser, live: Live) -> Iterator[Watched]:
    context = _context(browser)
    yield _open(context, live)
    context.close()


@pytest.fixture
def editor(browser: Browser, live: Live) -> Iterator[Watched]:
    context = _context(browser)
    yield _open(context, live, token=True)
    context.close()


def _pixel(page: Page, lon: float, lat: float) -> tuple[float, float]:
    """Where a WGS84 point is on the page (the map has no GCJ-02 base map in tests)."""
    return people.pixel(page, lon, lat)


def _draw_rectangle(page: Page, box: tuple[float, float, float, float], name: str) -> None:
    west, south, east, north = box
    page.locator(".leaflet-pm-icon-rectangle").click()
    for corner in ((west, north), (east, south)):
        people.click(page, corner)
    page.locator("#new-grid-name").fill(name)
    page.locator("#panel button.save-new-grid").click()


def _search(page: Page, q: str) -> None:
    """Type ``q`` (a grid code) into the search box and press Enter; wait for the map's flight."""
    box = page.locator("#search-q")
    box.click()
    box.fill(q)
    box.press("Enter")
    page.wait_for_selector(f"body[data-highlight='{q}']", timeout=10_000)
    page.wait_for_timeout(1000)


def _rename_elsewhere(live: Live, code: str, name: str) -> int:
    """Rename grid ``code`` from another client (another office's editor), with its If-Match."""
    url = f"{live.base}/api/v1/grids/{code}"
    auth = {"Authorization": f"Bearer {live.token}"}
    with urllib.request.urlopen(urllib.request.Request(url, headers=auth)) as r:
        tag = r.headers["ETag"]
    body = json.dumps({"type": "Feature", "properties": {"name": name}}).encode()
    headers = {**auth, "If-Match": tag, "Content-Type": "application/json"}
    change = urllib.request.Request(url, data=body, headers=headers, method="PATCH")
    with urllib.request.urlopen(change) as r:
        return int(r.status)


def _grid_count(live: Live) -> int:
    with live.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM grid")).scalar_one())


def test_map_opens_with_every_layer_and_no_console_errors(viewer: Watched, live: Live) -> None:
    page = viewer.page
    load_ms = int(page.evaluate("document.body.dataset.loadMs"))
    timing: Any = page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " return Math.round(n.responseStart); })()"
    )
    print(f"\ndemo map ready {load_ms} ms after its script started ({timing} ms to first byte)")
    assert page.evaluate("window.gridmap.grids.size") > 50
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    for name in OVERLAYS_ZH:
        page.locator(".leaflet-control-layers-overlays label", has_text=name).locator(
            "input"
        ).check()
    page.wait_for_function(
        "document.querySelectorAll('.leaflet-marker-icon.marker-cluster').length > 0",
        timeout=15_000,
    )
    page.wait_for_timeout(1500)
    page.screenshot(path=screenshot_path("map-layers"))
    # A click anywhere names the grid there.
    with live.engine.connect() as conn:
        lon, lat = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grid "
                "WHERE code = '110108010002001' AND valid_to IS NULL) x"
            )
        ).one()
    _search(page, "110108010002001")
    for name in OVERLAYS_ZH:
        page.locator(".leaflet-control-layers-overlays label", has_text=name).locator(
            "input"
        ).uncheck()
    x, y = _pixel(page, lon, lat)
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup-content .popup[data-grid='110108010002001']")
    popup.wait_for(timeout=5000)
    assert "六道口社区第1网格" in popup.inner_text()
    page.locator(".leaflet-popup-content .figures table").wait_for(timeout=5000)
    page.locator("#lang-btn").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator(".leaflet-control-layers-overlays", has_text="Service centres").count() == 1
    page.screenshot(path=screenshot_path("map-en"))
    assert viewer.problems() == []


def test_text_from_the_data_is_shown_as_text(browser: Browser, live: Live) -> None:
    code = "110108010019001"
    with live.engine.begin() as conn:
        conn.execute(
            text("UPDATE grid SET name = :n WHERE code = :c AND valid_to IS NULL"),
            {"n": '<img src=x onerror="window.pwned=1">网格', "c": code},
        )
    context = _context(browser)
    watched = _open(context, live)
    page = watched.page
    _search(page, code)
    label = page.locator(".grid-label", has_text="onerror")
    assert label.count() == 1 and "<img" in label.inner_text()
    assert page.evaluate("window.pwned") is None
    assert page.locator(".grid-label img").count() == 0
    context.close()


def test_address_search_highlights_the_right_grid(viewer: Watched, live: Live) -> None:
    page = viewer.page
    with live.engine.connect() as conn:
        address, grid = conn.execute(
            text(
                "SELECT address, grid_code FROM building WHERE address LIKE '%六道口1号楼' "
                "AND grid_code IS NOT NULL"
            )
        ).one()
    page.fill("#search-q", address)
    page.press("#search-q", "Enter")
    page.wait_for_function(f"document.body.dataset.highlight === '{grid}'", timeout=10_000)
    assert grid in page.locator("#status").inner_text()
    page.fill("#search-q", "110108010002002")
    page.press("#search-q", "Enter")
    page.wait_for_function("document.body.dataset.highlight === '110108010002002'", timeout=10_000)
    page.screenshot(path=screenshot_path("map-search"))
    assert viewer.problems() == []


def test_an_overlapping_grid_is_shown_in_red_and_nothing_is_saved(
    editor: Watched, live: Live
) -> None:
    page = editor.page
    with live.engine.connect() as conn:
        west, south, east, north = conn.execute(
            text(
                "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT "
                "ST_Envelope(ST_Buffer(ST_Centroid(ST_Union(geom))::geography, 60)::geometry) b "
                "FROM grid WHERE code IN ('110108010002001', '110108010002002') "
                "AND valid_to IS NULL) x"
            )
        ).one()
    before = _grid_count(live)
    # Fly there with the search box, then wheel in over the spot until the box fills the map.
    people.search(page, "110108010002001")
    people.fit(page, [(west, south), (east, north)], most=18)
    _draw_rectangle(page, (west, south, east, north), "重叠网格")
    page.locator("#panel .message.error").wait_for(timeout=10_000)
    message = page.locator("#panel .message").inner_text()
    assert "未保存" in message and "重叠" in message and "110108010002001" in message
    assert page.evaluate("document.body.dataset.lastError") == "409"
    # The overlaps are drawn in red.
    assert page.locator("path[stroke='#d50000']").count() >= 1
    page.screenshot(path=screenshot_path("map-overlap-refused"))
    assert _grid_count(live) == before
    assert editor.problems((409, "/api/v1/grids")) == []


def test_a_valid_grid_is_saved_and_is_there_after_a_reload(
    editor: Watched, live: Live, browser: Browser
) -> None:
    page = editor.page
    # Make room: retire one grid, so its community has a gap to draw a new grid in.
    with live.engine.begin() as conn:
        row = conn.execute(
            text(
                "SELECT g.code, ST_XMin(b) w, ST_YMin(b) s, ST_XMax(b) e, ST_YMax(b) n, "
                "(SELECT min(o.code) FROM grid o WHERE o.community_code = g.community_code "
                "AND o.code <> g.code AND o.valid_to IS NULL) AS sibling FROM grid g, "
                "LATERAL (SELECT ST_Envelope(ST_Buffer(ST_PointOnSurface(g.geom)::geography, 25)"
                "::geometry) AS b) x WHERE g.community_code LIKE '110108010%' "
                "AND g.valid_to IS NULL AND ST_Contains(g.geom, ST_Buffer(b, 0.0002)) "
                "AND EXISTS (SELECT 1 FROM grid o WHERE o.community_code = g.community_code "
                "AND o.code <> g.code AND o.valid_to IS NULL) "
                "ORDER BY g.code DESC LIMIT 1"
            )
        ).one()
        conn.execute(
            text(
                "UPDATE grid SET valid_to = clock_timestamp() WHERE code = :c AND valid_to IS NULL"
            ),
            {"c": row.code},
        )
    page.reload()
    page.wait_for_selector("body[data-ready='true']", timeout=15_000)
    # The retired grid cannot be searched for: fly to its neighbour, then drag and wheel there.
    people.search(page, row.sibling)
    people.fit(page, [(row.w, row.s), (row.e, row.n)], most=18)
    before = _grid_count(live)
    _draw_rectangle(page, (row.w, row.s, row.e, row.n), "新画网格")
    # The rectangle fills only part of the room made: saved, with the gap left said in words.
    page.locator("#panel .message.warn").wait_for(timeout=10_000)
    assert "缺口" in page.locator("#panel .message.warn").inner_text()
    assert float(page.locator("#panel .coverage").get_attribute("data-gaps-m2") or 0) > 0
    code = page.evaluate("document.body.dataset.saved")
    assert code.startswith(row.code[:12]) and _grid_count(live) == before + 1
    page.reload()
    page.wait_for_selector("body[data-ready='true']", timeout=15_000)
    assert page.evaluate(f"window.gridmap.grids.has('{code}')")
    # A point in no grid is a 404 of the lookup: the new grid's spot, before it exists.
    assert editor.problems((404, "/api/v1/lookup")) == []


def test_a_stale_editor_is_told_and_offered_a_reload(browser: Browser, live: Live) -> None:
    code = "110108010021001"
    first = _open(_context(browser), live, token=True)
    second = _open(_context(browser), live, token=True)
    for w in (first, second):
        _search(w.page, code)
        box = people.grid_middle(w.page, code)
        w.page.mouse.click(box[0], box[1])
        w.page.locator(".leaflet-popup-content button.edit-grid").click()
        w.page.locator("#panel button.save-grid").wait_for()
    # Meanwhile another editor renames the grid (over the API, with its own If-Match).
    status = _rename_elsewhere(live, code, "石科院社区第1网格（改）")
    assert status == 200
    with live.engine.connect() as conn:
        version = conn.execute(
            text("SELECT version FROM grid WHERE code = :c AND valid_to IS NULL"), {"c": code}
        ).scalar_one()
    second.page.locator("#panel button.save-grid").click()
    second.page.locator("#panel .message.stale").wait_for(timeout=10_000)
    assert "已被他人修改" in second.page.locator("#panel .message").inner_text()
    second.page.screenshot(path=screenshot_path("map-stale"))
    with live.engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT version FROM grid WHERE code = :c AND valid_to IS NULL"), {"c": code}
            ).scalar_one()
            == version
        )
    second.page.locator("#panel button.reload-grid").click()
    second.page.wait_for_function("document.getElementById('panel').hidden === true")
    assert second.problems((412, "/api/v1/grids")) == []
    first.page.context.close()
    second.page.context.close()


def test_the_report_map_opens_with_no_network(browser: Browser, live: Live) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    report = f"{live.base}/maps/110108010.html"
    asked: list[str] = []

    def only_the_report(route: Any) -> None:
        asked.append(route.request.url)
        if route.request.url == report:
            route.continue_()
        else:
            route.abort()

    page.route("**/*", only_the_report)
    watched = Watched(page)
    page.goto(report)
    page.locator("path.leaflet-interactive").first.wait_for(timeout=10_000)
    assert page.locator(".leaflet-control-layers-overlays", has_text="党员中心户").count() == 1
    page.screenshot(path=screenshot_path("report-map"))
    assert asked == [report]
    assert watched.problems() == []
    context.close()


def test_history_restores_an_earlier_version(browser: Browser, live: Live) -> None:
    code = "110108010025001"
    watched = _open(_context(browser), live, token=True)
    page = watched.page
    with live.engine.connect() as conn:
        original = conn.execute(
            text("SELECT name FROM grid WHERE code = :c AND valid_to IS NULL"), {"c": code}
        ).scalar_one()
    status = _rename_elsewhere(live, code, "临时名字")
    assert status == 200
    _search(page, code)
    x, y = people.grid_middle(page, code)
    page.mouse.click(x, y)
    page.locator(".leaflet-popup-content button.history-grid").click()
    page.locator("#panel button.restore-version[data-version='1']").click()
    page.locator("#panel .message.ok").wait_for(timeout=10_000)
    with live.engine.connect() as conn:
        name, version = conn.execute(
            text("SELECT name, version FROM grid WHERE code = :c AND valid_to IS NULL"),
            {"c": code},
        ).one()
    assert name == original and version == 3
    assert watched.problems() == []
    page.context.close()


def test_overlays_follow_a_gcj02_base_map(browser: Browser, live: Live) -> None:
    from tests.browser.conftest import serving

    from gridmap.geo.chinacrs import wgs84_to_gcj02

    settings = live.settings.model_copy(deep=True)
    # Any tile image will do: the test looks at where the overlays are drawn.
    settings.api.tile_url = (
        "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
    )
    settings.api.tile_crs = "GCJ-02"
    code = "110108010002001"
    with live.engine.connect() as conn:
        lon, lat = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, "
                "1)), 1) p FROM grid WHERE code = :c AND valid_to IS NULL) x"
            ),
            {"c": code},
        ).one()
    with serving(settings) as base:
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        watched = Watched(context.new_page())
        watched.page.goto(base + "/")
        watched.page.wait_for_selector("body[data-ready='true']", timeout=15_000)
        drawn = watched.page.evaluate(
            "(code) => { const ll = window.gridmap.grids.get(code).getLatLngs().flat(3)[0];"
            " return [ll.lng, ll.lat]; }",
            code,
        )
        context.close()
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert drawn[0] == pytest.approx(float(glon), abs=1e-7)
    assert drawn[1] == pytest.approx(float(glat), abs=1e-7)
    # The shift is real (hundreds of metres), not a rounding.
    assert abs(drawn[0] - lon) > 0.001
    assert watched.problems() == []
