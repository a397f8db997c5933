"""The grid editor driven by the mouse in Chromium: exact coordinates, shared borders, snapping."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Browser, Page
from sqlalchemy import text
from tests.browser import people
from tests.browser.conftest import Live, screenshot_path
from tests.browser.test_map import Watched, _context, _open, _search

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
    """Click the middle of grid ``code`` on screen once the map stands still (no tool on: its
    popup opens)."""
    people.settle(page)
    page.mouse.click(*people.grid_middle(page, code))
    page.locator(f".leaflet-popup-content .popup[data-grid='{code}']").wait_for(timeout=10_000)


def _drag(page: Page, start: tuple[float, float], dx: float, dy: float) -> None:
    page.mouse.move(*start)
    page.wait_for_timeout(150)
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
    watched = _open(_context(browser), live, token=True)
    _watch_posts(watched)
    page = watched.page
    _search(page, a)
    _click_grid(page, a)
    page.locator(".leaflet-popup-content button.edit-grid").click()
    page.locator("#panel button.save-grid").wait_for()
    _drag(page, people.pixel(page, x0, y0), 14, -9)
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


# A one-part grid with a few vertices, each held by another grid too and none within 15 m of
# another: drawn again by clicking near its neighbours' vertices.
DRAWABLE = text(
    "WITH g AS (SELECT code, geom FROM grid WHERE valid_to IS NULL "
    "AND community_code IN ('110108010002', '110108010008', '110108010021', '110108010025') "
    "AND ST_NumGeometries(geom) = 1 AND ST_NPoints(geom) <= 9), "
    "v AS (SELECT g.code, d.path[3] AS i, d.geom AS p FROM g, LATERAL ST_DumpPoints(g.geom) d) "
    "SELECT g.code FROM g WHERE NOT EXISTS (SELECT 1 FROM v a WHERE a.code = g.code AND NOT EXISTS "
    "(SELECT 1 FROM grid o, LATERAL ST_DumpPoints(o.geom) od WHERE o.valid_to IS NULL "
    "AND o.code <> g.code AND ST_Equals(od.geom, a.p))) "
    "AND NOT EXISTS (SELECT 1 FROM v a JOIN v b ON a.code = b.code AND a.i < b.i "
    "WHERE a.code = g.code AND NOT ST_Equals(a.p, b.p) "
    "AND ST_Distance(a.p::geography, b.p::geography) < 15) "
    "AND NOT EXISTS (SELECT 1 FROM v a, grid o, LATERAL ST_DumpPoints(o.geom) od "
    "WHERE a.code = g.code AND o.valid_to IS NULL AND o.code <> g.code "
    "AND NOT ST_Equals(od.geom, a.p) AND ST_DWithin(od.geom::geography, a.p::geography, 15)) "
    "ORDER BY g.code LIMIT 1"
)


def _neighbour(live: Live, code: str) -> str:
    with live.engine.connect() as conn:
        return str(
            conn.execute(
                text(
                    "SELECT o.code FROM grid g JOIN grid o ON o.valid_to IS NULL AND o.code <> g.code "
                    "AND ST_Intersects(o.geom, g.geom) WHERE g.code = :c AND g.valid_to IS NULL "
                    "ORDER BY o.code LIMIT 1"
                ),
                {"c": code},
            ).scalar_one()
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


def _zoom_out_to(page: Page, points: list[tuple[float, float]]) -> None:
    """Turn the mouse wheel over the map, a step at a time, until ``points`` are all on screen."""
    for _ in range(6):
        if _in_view(page, points):
            return
        r = _map_rect(page)
        page.mouse.move((r[0] + r[2]) / 2, (r[1] + r[3]) / 2)
        page.mouse.wheel(0, 60)
        page.wait_for_timeout(800)
    assert _in_view(page, points)


def _map_rect(page: Page) -> tuple[float, float, float, float]:
    """The map's rectangle on the page: left, top, right, bottom."""
    r = page.locator("#map").bounding_box()
    assert r is not None
    return r["x"], r["y"], r["x"] + r["width"], r["y"] + r["height"]


def _in_view(page: Page, points: list[tuple[float, float]]) -> bool:
    box = _map_rect(page)
    return all(
        box[0] + 40 < x < box[2] - 360 and box[1] + 40 < y < box[3] - 40
        for x, y in (people.pixel(page, lon, lat) for lon, lat in points)
    )


def test_a_grid_drawn_on_its_neighbours_vertices_is_sent_as_stored(
    browser: Browser, live: Live
) -> None:
    with live.engine.connect() as conn:
        code = conn.execute(DRAWABLE).scalar_one()
    neighbour = _neighbour(live, code)
    ring = _retire(live, code)
    watched = _open(_context(browser), live, token=True)
    _watch_posts(watched)
    page = watched.page
    _search(page, neighbour)
    _zoom_out_to(page, ring)
    page.locator(".leaflet-pm-icon-polygon").click()
    # Each click lands 3-5 px away from the neighbours' vertex: snapping puts it there.
    offsets = [(4, 3), (-3, 4), (5, -2), (-4, -3), (3, 5)]
    for i, (lon, lat) in enumerate(ring[:-1]):
        dx, dy = offsets[i % len(offsets)]
        x, y = people.pixel(page, lon, lat)
        page.mouse.move(x + dx, y + dy)
        page.mouse.click(x + dx, y + dy)
    page.screenshot(path=screenshot_path("editor-draw-on-vertices"))
    x, y = people.pixel(page, *ring[0])
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


def _box(ring: list[tuple[float, float]], pad: float) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad


def test_an_overlap_is_refused_in_words_and_giving_way_saves_it_without(
    browser: Browser, live: Live
) -> None:
    # A grid with no vertex on its community's boundary: the rectangle overlaps only grids.
    code, neighbour = "110108010019006", "110108010019005"
    ring = _retire(live, code)
    watched = _open(_context(browser), live, token=True)
    page = watched.page
    _search(page, neighbour)
    west, south, east, north = _box(ring, 0.0001)
    _zoom_out_to(page, [(west, south), (east, north)])
    before = _state(live)
    page.locator(".leaflet-pm-icon-rectangle").click()
    for lon, lat in ((west, north), (east, south)):
        page.mouse.move(*people.pixel(page, lon, lat))
        page.mouse.click(*people.pixel(page, lon, lat))
    page.locator("#new-grid-name").fill("让出网格")
    page.locator("#panel button.save-new-grid").click()
    page.locator("#panel .message.error").wait_for(timeout=10_000)
    message = page.locator("#panel .message.error").inner_text()
    assert message.startswith("未保存") and "重叠" in message and "m²" in message
    assert page.evaluate("document.body.dataset.lastError") == "409"
    page.screenshot(path=screenshot_path("editor-overlap-refused"))
    assert _state(live) == before
    page.locator("#panel button.give-way").click()
    page.locator("#panel button.confirm-preview").wait_for(timeout=10_000)
    page.screenshot(path=screenshot_path("editor-give-way-preview"))
    assert _state(live) == before
    page.locator("#panel button.confirm-preview").click()
    page.locator("#panel .message.ok, #panel .message.warn").first.wait_for(timeout=10_000)
    page.screenshot(path=screenshot_path("editor-give-way-saved"))
    assert page.locator("#panel .coverage").get_attribute("data-overlaps-m2") == "0"
    [new] = page.evaluate("document.body.dataset.saved").split(",")
    with live.engine.connect() as conn:
        overlap = conn.execute(
            text(
                "SELECT coalesce(sum(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0) "
                "FROM grid a JOIN grid b ON b.community_code = a.community_code "
                "AND b.code <> a.code AND b.valid_to IS NULL WHERE a.code = :c AND a.valid_to IS NULL"
            ),
            {"c": new},
        ).scalar_one()
    assert overlap < 1.0
    assert watched.problems((409, "/grids/batch"), (404, "/api/v1/lookup")) == []
    page.context.close()


def test_a_grid_split_by_a_drawn_line_and_merged_back(browser: Browser, live: Live) -> None:
    code = "110108010032001"
    with live.engine.connect() as conn:
        west, south, east, north, mid = conn.execute(
            text(
                "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom), "
                "ST_Y(ST_Centroid(geom)) FROM grid WHERE code = :c AND valid_to IS NULL"
            ),
            {"c": code},
        ).one()
    before = _state(live)
    watched = _open(_context(browser), live, token=True)
    page = watched.page
    _search(page, code)
    _click_grid(page, code)
    page.locator(".leaflet-popup-content button.split-grid").click()
    # A line across the grid, from outside its west edge to outside its east edge.
    start, end = people.pixel(page, west - 0.0002, mid), people.pixel(page, east + 0.0002, mid)
    for xy in (start, end, end):
        page.mouse.move(*xy)
        page.mouse.click(*xy)
    page.locator("#split-name").wait_for(timeout=10_000)
    page.screenshot(path=screenshot_path("editor-split-preview"))
    page.locator("#split-name").fill("拆出的网格")
    page.locator("#panel button.confirm-preview").click()
    page.locator("#panel .message.ok").wait_for(timeout=10_000)
    page.screenshot(path=screenshot_path("editor-split-saved"))
    saved = page.evaluate("document.body.dataset.saved").split(",")
    # The cut-off part is a new grid (neighbours may get a vertex where the cut meets them).
    [other] = [c for c in saved if c not in before]
    with live.engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT name FROM grid WHERE code = :c AND valid_to IS NULL"), {"c": other}
            ).scalar_one()
            == "拆出的网格"
        )
    _click_grid(page, code)
    page.locator(".leaflet-popup-content button.merge-grid").click()
    # The neighbour is picked just across the cut, where it shows on screen (the middle of its
    # bounds may lie beyond the map's edge).
    with live.engine.connect() as conn:
        across = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(ST_Intersection(geom, "
                "ST_MakeEnvelope(:w, :m - 0.0006, :e, :m + 0.0006, 4326))) AS p FROM grid "
                "WHERE code = :c AND valid_to IS NULL) x"
            ),
            {"w": west, "e": east, "m": mid, "c": other},
        ).one()
    people.settle(page)
    page.mouse.click(*people.pixel(page, float(across[0]), float(across[1])))
    page.locator("#panel button.confirm-preview").wait_for(timeout=10_000)
    # Picking the neighbour opened no popup of it.
    assert page.locator(f".leaflet-popup-content .popup[data-grid='{other}']").count() == 0
    page.screenshot(path=screenshot_path("editor-merge-preview"))
    page.locator("#panel button.confirm-preview").click()
    page.locator("#panel .message.ok").wait_for(timeout=10_000)
    with live.engine.connect() as conn:
        alive = conn.execute(
            text("SELECT code FROM grid WHERE code IN (:a, :b) AND valid_to IS NULL"),
            {"a": code, "b": other},
        ).all()
    assert [r.code for r in alive] == [min(code, other)]
    page.screenshot(path=screenshot_path("editor-merge-saved"))
    assert watched.problems() == []
    page.context.close()


def test_bending_a_shared_edge_bends_it_in_both_grids(browser: Browser, live: Live) -> None:
    with live.engine.connect() as conn:
        codes = [
            r.code
            for r in conn.execute(
                text(
                    "SELECT code FROM grid WHERE valid_to IS NULL "
                    "AND community_code = '110108010025' ORDER BY code"
                )
            )
        ]
    points = _points(live, codes)
    # The longest edge two grids share (same two consecutive vertices): bend it in the middle.
    edges = []
    for a in codes:
        ring = points[a][:-1]
        for p, q in zip(ring, ring[1:] + ring[:1], strict=True):
            for b in codes:
                if b != a and p in points[b] and q in points[b]:
                    edges.append(((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2, a, b, p, q))
    _, a, b, (x0, y0), (x1, y1) = max(edges)
    before = _state(live)
    watched = _open(_context(browser), live, token=True)
    page = watched.page
    _search(page, a)
    _zoom_out_to(page, [(x0, y0), (x1, y1)])
    _click_grid(page, a)
    page.locator(".leaflet-popup-content button.edit-grid").click()
    page.locator("#panel button.save-grid").wait_for()
    # Geoman's middle marker of the edge: drag it sideways.
    (ax, ay), (bx, by) = people.pixel(page, x0, y0), people.pixel(page, x1, y1)
    _drag(page, ((ax + bx) / 2, (ay + by) / 2), 18, 18)
    page.wait_for_timeout(200)
    page.screenshot(path=screenshot_path("editor-shared-edge-bent"))
    page.locator("#panel button.save-grid").click()
    page.locator("#panel .message.ok").wait_for(timeout=10_000)
    after = _state(live)
    assert {c for c in after if after[c] != before.get(c)} == {a, b}
    moved = _points(live, [a, b])
    new_a = set(moved[a]) - set(_points_before(before, a))
    new_b = set(moved[b]) - set(_points_before(before, b))
    assert len(new_a) == 1 and new_a == new_b
    # Geoman speaks the page's language.
    assert "多边形" in (page.locator(".leaflet-pm-toolbar").inner_html())
    page.locator("#lang-btn").click()
    assert "Polygon" in (page.locator(".leaflet-pm-toolbar").inner_html())
    assert watched.problems() == []
    page.context.close()


def _points_before(state: dict[str, tuple[int, bytes]], code: str) -> list[tuple[float, float]]:
    from shapely import from_wkb, get_coordinates

    return [(float(x), float(y)) for x, y in get_coordinates(from_wkb(state[code][1]))]


def test_under_a_gcj02_base_map_untouched_vertices_are_sent_as_stored(
    browser: Browser, live: Live
) -> None:
    from dataclasses import replace

    from tests.browser.conftest import serving

    settings = live.settings.model_copy(deep=True)
    settings.api.tile_url = (
        "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
    )
    settings.api.tile_crs = "GCJ-02"
    code = "110108010033001"
    with live.engine.connect() as conn:
        ring = [(r.x, r.y) for r in conn.execute(RING, {"c": code})][:-1]
    before = _state(live)
    with serving(settings) as base:
        gcj = replace(live, base=base)
        watched = _open(_context(browser), gcj, token=True)
        _watch_posts(watched)
        page = watched.page
        _search(page, code)
        _click_grid(page, code)
        page.locator(".leaflet-popup-content button.edit-grid").click()
        page.locator("#panel button.save-grid").wait_for()
        # Saved unchanged: the grid's coordinates go back as stored, so nothing is written.
        page.locator("#panel button.save-grid").click()
        page.locator("#panel .message.ok, #panel .message.warn").first.wait_for(timeout=10_000)
        [sent] = _batches(watched)
        coords = [tuple(p) for p in sent["changes"][0]["geometry"]["coordinates"][0][0]][:-1]
        assert coords == ring
        assert _state(live) == before
        page.screenshot(path=screenshot_path("editor-gcj02-unchanged"))
        assert watched.problems() == []
        page.context.close()
