"""Acting on the map as a person does: the mouse and keyboard at pixel positions.

The page is only read (where a WGS84 point is on the screen, the zoom, whether the map still
moves); everything a person does by hand goes through ``page.mouse`` and ``page.keyboard``.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

LonLat = tuple[float, float]
Pixel = tuple[float, float]

# Leaflet ignores a press that moves less than this many pixels (a click, not a drag).
_CLICK_TOLERANCE_PX = 3
# One notch of the wheel: Leaflet turns 60 px of wheel into one zoom level (more would be two).
_WHEEL_PX = 60


def pixel(page: Page, lon: float, lat: float) -> Pixel:
    """Where the WGS84 point (lon, lat) is on the page (the tests' map has no GCJ-02 base map)."""
    xy: Any = page.evaluate(
        "([lon, lat]) => { const m = window.gridmap.map;"
        " const p = m.latLngToContainerPoint([lat, lon]);"
        " const r = m.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }",
        [lon, lat],
    )
    return float(xy[0]), float(xy[1])


def grid_middle(page: Page, code: str) -> Pixel:
    """Where the middle of grid ``code``'s outline (the centre of its bounds) is on the page."""
    xy: Any = page.evaluate(
        "(code) => { const m = window.gridmap.map; const c = window.gridmap.grids.get(code)"
        ".getBounds().getCenter(); const p = m.latLngToContainerPoint(c);"
        " const r = m.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }",
        code,
    )
    return float(xy[0]), float(xy[1])


def place(page: Page, x: float, y: float) -> LonLat:
    """The WGS84 point under the page pixel (x, y)."""
    ll: Any = page.evaluate(
        "([x, y]) => { const m = window.gridmap.map; const r = m.getContainer().getBoundingClientRect();"
        " const p = m.containerPointToLatLng([x - r.left, y - r.top]); return [p.lng, p.lat]; }",
        [x, y],
    )
    return float(ll[0]), float(ll[1])


def map_box(page: Page) -> tuple[float, float, float, float]:
    """The map's rectangle on the page (left, top, right, bottom), less what the panel covers."""
    box: Any = page.evaluate(
        "() => { const r = document.getElementById('map').getBoundingClientRect();"
        " const p = document.getElementById('panel'); let right = r.right;"
        " if (p && !p.hidden) { const q = p.getBoundingClientRect();"
        "   if (q.width > 0 && q.left > r.left + r.width / 2) right = Math.min(right, q.left); }"
        " return [r.left, r.top, right, r.bottom]; }"
    )
    return float(box[0]), float(box[1]), float(box[2]), float(box[3])


def on_map(page: Page, x: float, y: float, margin: float = 0) -> bool:
    """Whether page pixel (x, y) shows the map (inside it, not under the panel or a control)."""
    left, top, right, bottom = map_box(page)
    if not (left + margin <= x <= right - margin and top + margin <= y <= bottom - margin):
        return False
    return bool(
        page.evaluate(
            "([x, y]) => { const e = document.elementFromPoint(x, y);"
            " return Boolean(e && e.closest('#map') && !e.closest('.leaflet-control')); }",
            [x, y],
        )
    )


def settle(page: Page) -> None:
    """Wait until the map stands still: no zoom animation, and the same view three polls running
    (a flight draws a new view every frame, even on a loaded machine, within that time)."""
    page.wait_for_function(
        "() => { const m = window.gridmap && window.gridmap.map; if (!m) return false;"
        " if (document.querySelector('.leaflet-zoom-anim')) { window.__peopleStill = 0; return false; }"
        " const c = m.getCenter(); const v = [c.lat, c.lng, m.getZoom()].join(',');"
        " window.__peopleStill = window.__peopleLastView === v ? (window.__peopleStill || 0) + 1 : 0;"
        " window.__peopleLastView = v; return window.__peopleStill >= 2; }",
        polling=150,
        timeout=15_000,
    )


def zoom(page: Page) -> int:
    """The map's zoom level."""
    return int(page.evaluate("window.gridmap.map.getZoom()"))


def search(page: Page, q: str, *, highlight: str | None = None) -> None:
    """Type ``q`` into the search box and press Enter; wait for the flight to end.

    ``highlight`` is the grid code the search should outline (q itself when q is a grid code).
    """
    box = page.locator("#search-q")
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(q)
    page.keyboard.press("Enter")
    code = highlight if highlight is not None else q
    page.wait_for_selector(f"body[data-highlight='{code}']", timeout=10_000)
    settle(page)


def wheel_zoom(page: Page, at: Pixel, levels: int) -> None:
    """Turn the mouse wheel over page pixel ``at`` by ``levels`` zoom levels (in > 0, out < 0)."""
    x, y = at
    page.mouse.move(x, y)
    for _ in range(abs(levels)):
        before = zoom(page)
        page.mouse.wheel(0, -_WHEEL_PX if levels > 0 else _WHEEL_PX)
        page.wait_for_function(
            f"window.gridmap.map.getZoom() !== {before}", polling=50, timeout=10_000
        )
        settle(page)


def zoom_to(page: Page, at: LonLat, level: int) -> None:
    """Wheel-zoom around the place ``at`` until the map is at zoom ``level``."""
    while zoom(page) != level:
        x, y = pixel(page, *at)
        wheel_zoom(page, (x, y), 1 if zoom(page) < level else -1)


def drag(page: Page, start: Pixel, end: Pixel, steps: int = 12) -> None:
    """Press the left button at ``start``, move to ``end`` in steps, release."""
    page.mouse.move(*start)
    page.mouse.down()
    for i in range(1, steps + 1):
        f = i / steps
        page.mouse.move(start[0] + (end[0] - start[0]) * f, start[1] + (end[1] - start[1]) * f)
    page.mouse.up()


def pan_to(page: Page, target: LonLat) -> None:
    """Drag the map (from a point in its middle) until ``target`` is near the middle."""
    for _ in range(20):
        left, top, right, bottom = map_box(page)
        cx, cy = (left + right) / 2, (top + bottom) / 2
        x, y = pixel(page, *target)
        dx, dy = cx - x, cy - y
        if abs(dx) < 40 and abs(dy) < 40:
            return
        # One drag moves at most most of the map's width, started from its middle.
        reach = min(right - left, bottom - top) / 2 - 20
        scale = min(1.0, reach / max(abs(dx), abs(dy)))
        drag(page, (cx, cy), (cx + dx * scale, cy + dy * scale))
        settle(page)
    raise AssertionError(f"could not bring {target} to the middle of the map")


def show(page: Page, points: list[LonLat], level: int) -> None:
    """Bring all of ``points`` into view at zoom ``level``: pan to their middle, wheel to level."""
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    middle = ((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2)
    pan_to(page, middle)
    zoom_to(page, middle, level)
    pan_to(page, middle)
    for p in points:
        x, y = pixel(page, *p)
        assert on_map(page, x, y, margin=10), f"{p} is not in view at zoom {level}"


def fit(page: Page, points: list[LonLat], most: int = 19) -> None:
    """Bring all of ``points`` into view at the highest zoom (≤ ``most``) showing them all."""
    level = most
    while level > 10:
        try:
            show(page, points, level)
            return
        except AssertionError:
            level -= 1
    raise AssertionError(f"cannot show {points}")


def click(page: Page, at: LonLat, offset: Pixel = (0.0, 0.0)) -> None:
    """Move the mouse to the place ``at`` (shifted by ``offset`` pixels) and click there."""
    x, y = pixel(page, *at)
    x, y = x + offset[0], y + offset[1]
    assert on_map(page, x, y), f"{at} is not on the visible map"
    # Come from a few pixels away, as a hand does, so hover and snapping see the approach.
    page.mouse.move(x - 6, y - 6)
    page.mouse.move(x - 2, y - 2)
    page.mouse.move(x, y)
    page.mouse.click(x, y)


def drag_place(page: Page, start: LonLat, end: LonLat, steps: int = 15) -> None:
    """Drag what is at place ``start`` (a vertex handle) to place ``end``, in steps."""
    x0, y0 = pixel(page, *start)
    x1, y1 = pixel(page, *end)
    assert on_map(page, x0, y0) and on_map(page, x1, y1), "the drag leaves the visible map"
    assert max(abs(x1 - x0), abs(y1 - y0)) > _CLICK_TOLERANCE_PX, "too short to be a drag"
    drag(page, (x0, y0), (x1, y1), steps)


def offset_place(page: Page, at: LonLat, dx: float, dy: float) -> LonLat:
    """The place ``dx``, ``dy`` pixels from the place ``at`` on the screen."""
    x, y = pixel(page, *at)
    return place(page, x + dx, y + dy)


def sign_in(page: Page, token: str) -> str:
    """Sign in as a person does: the header's button, the token typed into the form, Enter.

    Answers what the page then says about who is signed in.
    """
    page.locator("#token-btn").click()
    page.locator("#signin-token").click()
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    who = page.locator("#signin-who")
    page.wait_for_function(
        "() => { const w = document.querySelector('#signin-who'); return w && !w.hidden"
        " && w.textContent; }",
        timeout=10_000,
    )
    page.locator(".leaflet-pm-icon-polygon").wait_for(timeout=10_000)
    return who.inner_text()
