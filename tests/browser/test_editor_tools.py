"""The grid editor driven by the mouse in Chromium: exact coordinates, shared borders, snapping."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Browser, Page
from sqlalchemy import text
from tests.browser.conftest import Live, screenshot_path
from tests.browser.test_map import Watched, _context, _open, _pixel, _search

CURRENT = text(
    "SELECT code, version, ST_AsBinary(geom) AS wkb FROM grid WHERE valid_to IS NULL ORDER BY code"
)
POINTS = text(
    "SELECT g.code, ST_X(d.geom) AS x, ST_Y(d.geom) AS y FROM grid g, "
    "LATERAL ST_DumpPoints(g.geom) d WHERE g.valid_to IS NULL AND g.code = ANY(:codes)"
)
# A vertex two grids of one community share, well inside the community.
SHARED = text(
    "WITH pts AS (SELECT g.code, (ST_DumpPoints(g.geom)).geom AS p FROM grid g "
    "WHERE g.valid_to IS NULL AND g.community_code = :community) "
    "SELECT ST_X(p) AS x, ST_Y(p) AS y, array_agg(DISTINCT pts.code ORDER BY pts.code) AS codes "
    "FROM pts JOIN region c ON c.code = left(pts.code, 12) "
    "WHERE ST_Distance(p::geography, ST_Boundary(c.geom)::geography) > 20 "
    "GROUP BY ST_X(p), ST_Y(p) HAVING count(DISTINCT pts.code) = 2 ORDER BY 1, 2 LIMIT 1"
)


def _state(live: Live) -> dict[str, tuple[int, bytes]]:
    with live.engine.connect() as conn:
        return {r.code: (r.version, bytes(r.wkb)) for r in conn.execute(CURRENT)}


def _points(live: Live, codes: list[str]) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    with live.engine.connect() as conn:
        for r in conn.execute(POINTS, {"codes": codes}):
            out.setdefault(r.code, []).append((r.x, r.y))
    return out


def _click_grid(page: Page, code: str) -> None:
    """Click the middle of grid ``code`` on screen (no tool on: its popup opens)."""
    xy: Any = page.evaluate(
        "(code) => { const m = window.gridmap.map; const c = window.gridmap.grids.get(code)"
        ".getBounds().getCenter(); const p = m.latLngToContainerPoint(c);"
        " const r = m.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }",
        code,
    )
    page.mouse.click(xy[0], xy[1])
    page.locator(f".leaflet-popup-content .popup[data-grid='{code}']").wait_for(timeout=5000)


def _drag(page: Page, start: tuple[float, float], dx: float, dy: float) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(start[0] + dx * i / 10, start[1] + dy * i / 10)
    page.mouse.up()


def _batches(watched: Watched) -> list[dict[str, Any]]:
    return [json.loads(b) for b in getattr(watched, "posted", [])]


def _watch_posts(watched: Watched) -> None:
    posted: list[str] = []
    watched.page.on(
        "request",
        lambda r: posted.append(r.post_data or "") if "/grids/batch" in r.url else None,
    )
    watched.posted = posted  # type: ignore[attr-defined]


def test_dragging_a_shared_vertex_moves_it_in_both_grids_and_nothing_else(
    browser: Browser, live: Live
) -> None:
    with live.engine.connect() as conn:
        x0, y0, codes = conn.execute(SHARED, {"community": "110108010008"}).one()
    a, b = codes
    before = _state(live)
    points = _points(live, [a, b])
    watched = _open(_context(browser, live, token=True), live)
    _watch_posts(watched)
    page = watched.page
    _search(page, a)
    _click_grid(page, a)
    page.locator(".leaflet-popup-content button.edit-grid").click()
    page.locator("#panel button.save-grid").wait_for()
    _drag(page, _pixel(page, x0, y0), 14, -9)
    page.wait_for_timeout(200)
    page.screenshot(path=screenshot_path("editor-shared-vertex-dragged"))
    page.locator("#panel button.save-grid").click()
    page.locator("#panel .message.ok").wait_for(timeout=10_000)
    page.screenshot(path=screenshot_path("editor-shared-vertex-saved"))
    assert set(page.evaluate("document.body.dataset.saved").split(",")) == {a, b}
    [sent] = _batches(watched)
    assert sorted(c["code"] for c in sent["changes"]) == [a, b]
    after = _state(live)
    # One new version of each of the two grids, no other grid touched.
    assert {c for c in after if after[c] != before.get(c)} == {a, b}
    assert after[a][0] == before[a][0] + 1 and after[b][0] == before[b][0] + 1
    moved = _points(live, [a, b])
    for code in (a, b):
        gone = set(points[code]) - set(moved[code])
        new = set(moved[code]) - set(points[code])
        # Exactly the shared vertex moved, to the same place in both; every other one is kept.
        assert gone == {(x0, y0)} and len(new) == 1
    assert set(moved[a]) - set(points[a]) == set(moved[b]) - set(points[b])
    assert watched.problems() == []
    page.context.close()


RING = text(
    "SELECT ST_X(d.geom) AS x, ST_Y(d.geom) AS y FROM grid g, "
    "LATERAL ST_DumpPoints(ST_ExteriorRing(ST_GeometryN(g.geom, 1))) d "
    "WHERE g.code = :c AND g.valid_to IS NULL ORDER BY d.path"
)


def _retire(live: Live, code: str) -> list[tuple[float, float]]:
    """Retire grid ``code`` behind the page's back; answers its ring (closed) as stored."""
    with live.engine.begin() as conn:
        ring = [(r.x, r.y) for r in conn.execute(RING, {"c": code})]
        conn.execute(
            text(
                "UPDATE grid SET valid_to = clock_timestamp() WHERE code = :c AND valid_to IS NULL"
            ),
            {"c": code},
        )
    return ring


def _in_view(page: Page, points: list[tuple[float, float]]) -> bool:
    box: Any = page.evaluate(
        "() => { const r = window.gridmap.map.getContainer().getBoundingClientRect();"
        " return [r.left, r.top, r.right, r.bottom]; }"
    )
    return all(
        box[0] + 40 < x < box[2] - 360 and box[1] + 40 < y < box[3] - 40
        for x, y in (_pixel(page, lon, lat) for lon, lat in points)
    )


def test_a_grid_drawn_on_its_neighbours_vertices_is_sent_as_stored(
    browser: Browser, live: Live
) -> None:
    code, neighbour = "110108010019006", "110108010019005"
    ring = _retire(live, code)
    watched = _open(_context(browser, live, token=True), live)
    _watch_posts(watched)
    page = watched.page
    _search(page, neighbour)
    # Zoom out with the mouse wheel until the whole gap is on screen.
    for _ in range(4):
        if _in_view(page, ring):
            break
        page.mouse.move(*_pixel(page, *ring[0]))
        page.mouse.wheel(0, 300)
        page.wait_for_timeout(700)
    assert _in_view(page, ring)
    page.locator(".leaflet-pm-icon-polygon").click()
    # Each click lands 3-5 px away from the neighbours' vertex: snapping puts it there.
    offsets = [(4, 3), (-3, 4), (5, -2), (-4, -3), (3, 5)]
    for (lon, lat), (dx, dy) in zip(ring[:-1], offsets, strict=True):
        x, y = _pixel(page, lon, lat)
        page.mouse.move(x + dx, y + dy)
        page.mouse.click(x + dx, y + dy)
    page.screenshot(path=screenshot_path("editor-draw-on-vertices"))
    x, y = _pixel(page, *ring[0])
    page.mouse.click(x + 2, y - 2)
    page.locator("#new-grid-name").fill("补画网格")
    page.locator("#panel button.save-new-grid").click()
    page.locator("#panel .message.ok").wait_for(timeout=10_000)
    page.screenshot(path=screenshot_path("editor-draw-saved"))
    [sent] = _batches(watched)
    [change] = sent["changes"]
    coords = change["geometry"]["coordinates"][0]
    # Every vertex is the neighbours' stored pair, bit for bit (orientation may differ).
    assert sorted(map(tuple, coords[:-1])) == sorted(ring[:-1])
    assert page.locator("#panel .coverage").get_attribute("data-gaps-m2") == "0"
    assert watched.problems((404, "/api/v1/lookup")) == []
    page.context.close()
