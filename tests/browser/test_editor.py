"""The grid editor in the hands of a street office: mouse and keyboard at pixel positions,
every outcome checked in PostGIS (stored coordinates compared as exact floats)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import text
from tests.browser import people
from tests.browser.conftest import Live, demo_served, failed, screenshot_path
from tests.browser.people import LonLat

import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import split

STREET = "110108010"
TOLERANCE_M2 = 1.0
# Latin words in a message meant for a person reading Chinese: API text leaking through.
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


# -- what PostGIS holds -----------------------------------------------------------------------


def current_grids(live: Live, community: str | None = None) -> dict[str, BaseGeometry]:
    """Every current grid (of ``community``, or all), as stored: WKB keeps the doubles exact."""
    where = "AND community_code = :c" if community else ""
    with live.engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT code, ST_AsBinary(geom) FROM grid WHERE valid_to IS NULL {where}"),
            {"c": community},
        ).all()
    return {code: shapely.from_wkb(bytes(wkb)) for code, wkb in rows}


def vertices(geom: BaseGeometry) -> Counter[LonLat]:
    """Every stored vertex of a geometry (ring closing points included), counted."""
    return Counter((float(x), float(y)) for x, y in shapely.get_coordinates(geom))


def all_vertices(live: Live) -> dict[str, Counter[LonLat]]:
    """Every vertex of every current grid, by code."""
    return {code: vertices(g) for code, g in current_grids(live).items()}


def outer_ring(geom: BaseGeometry) -> list[LonLat]:
    """The vertices of the (first) polygon's outer ring, without the closing point."""
    poly = geom.geoms[0] if geom.geom_type == "MultiPolygon" else geom
    return [(float(x), float(y)) for x, y in poly.exterior.coords[:-1]]


def versions(live: Live) -> dict[str, int]:
    """The version of every current grid, by code."""
    with live.engine.connect() as conn:
        rows = conn.execute(text("SELECT code, version FROM grid WHERE valid_to IS NULL")).all()
    return {code: int(v) for code, v in rows}


def audit_counts(live: Live) -> dict[str, int]:
    """How many audit entries each grid has."""
    with live.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT entity_key, count(*) FROM audit_log WHERE entity = 'grid' GROUP BY 1")
        ).all()
    return {key: int(n) for key, n in rows}


def whole_tables(live: Live) -> dict[str, list[tuple[Any, ...]]]:
    """The grid and audit_log tables, every row and every column."""
    with live.engine.connect() as conn:
        return {
            table: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
            for table in ("grid", "audit_log")
        }


def retire(live: Live, code: str) -> None:
    """Retire grid ``code`` behind the page's back (the set-up of a gap to draw in)."""
    with live.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE grid SET valid_to = clock_timestamp() WHERE code = :c AND valid_to IS NULL"
            ),
            {"c": code},
        )


def inside(live: Live, code: str) -> LonLat:
    """A point inside grid ``code`` (its point on surface)."""
    with live.engine.connect() as conn:
        lon, lat = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grid "
                "WHERE code = :c AND valid_to IS NULL) x"
            ),
            {"c": code},
        ).one()
    return float(lon), float(lat)


def area_m2(live: Live, geom: BaseGeometry) -> float:
    """The area of a WGS84 geometry in m² (on the spheroid, as PostGIS measures)."""
    with live.engine.connect() as conn:
        return float(
            conn.execute(
                text("SELECT ST_Area(ST_GeomFromWKB(:w, 4326)::geography)"),
                {"w": shapely.to_wkb(geom)},
            ).scalar_one()
        )


def metres(a: LonLat, b: LonLat) -> float:
    """The distance between two WGS84 points in metres (near enough for a few metres)."""
    dx = (a[0] - b[0]) * 111_320 * math.cos(math.radians((a[1] + b[1]) / 2))
    dy = (a[1] - b[1]) * 110_540
    return math.hypot(dx, dy)


# -- the coverage checks: the API's and the command line's ------------------------------------


def coverage(live: Live, community: str) -> dict[str, Any]:
    """``GET /api/v1/regions/<community>/coverage``."""
    with urllib.request.urlopen(f"{live.base}/api/v1/regions/{community}/coverage") as r:
        return dict(json.loads(r.read()))


def findings(report: dict[str, Any]) -> dict[str, Any]:
    """What a coverage report finds: whether exact, and every gap, overlap, spill and bad edge."""
    areas = lambda key: sorted(f["properties"]["area_m2"] for f in report[key]["features"])  # noqa: E731
    return {
        "exact": report["exact"],
        "gaps_m2": areas("gaps"),
        "overlaps_m2": areas("overlaps"),
        "outside_m2": areas("outside"),
        "invalid_edges": len(report["invalid_edges"]["features"]),
    }


def validate(live: Live, region: str) -> tuple[int, list[dict[str, Any]]]:
    """Run ``gridmap validate REGION --json`` against the test's database: exit code, reports."""
    env = {**os.environ, "DATABASE_URL": live.engine.url.render_as_string(hide_password=False)}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "gridmap"), "validate", region, "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.stdout.strip(), done.stderr
    return done.returncode, list(json.loads(done.stdout))


# -- the page ---------------------------------------------------------------------------------


class Watched:
    """A page, and every uncaught exception and console error it produced."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on(
            "console",
            lambda m: (
                self.errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        )


def new_context(browser: Browser) -> BrowserContext:
    """A browser window (1400×900, Chinese)."""
    return browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")


def open_map(context: BrowserContext, live: Live, *, signed_in: bool = True) -> Watched:
    """The map page, loaded; ``signed_in``: signed in through the sign-in form."""
    watched = Watched(context.new_page())
    watched.page.goto(live.base + "/")
    watched.page.wait_for_selector("body[data-ready='true']", timeout=15_000)
    if signed_in:
        people.sign_in(watched.page, live.token)
    return watched


@pytest.fixture
def office(browser: Browser, own_live: Live, request: pytest.FixtureRequest) -> Iterator[Watched]:
    """The map in the street office's browser, signed in (a screenshot kept if the test fails)."""
    context = new_context(browser)
    watched = open_map(context, own_live)
    yield watched
    if failed(request):
        shot(watched.page, f"failed-{request.node.name}")
    context.close()


def open_popup(page: Page, live: Live, code: str) -> None:
    """Click inside grid ``code`` (no tool on): its popup opens."""
    at = inside(live, code)
    if not people.on_map(page, *people.pixel(page, *at), margin=40):
        people.pan_to(page, at)
    people.click(page, at)
    page.locator(f".leaflet-popup-content .popup[data-grid='{code}']").wait_for(timeout=10_000)


def popup_action(page: Page, live: Live, code: str, action: str) -> None:
    """Open grid ``code``'s popup and press its button ``action`` (edit-grid, split-grid, …)."""
    open_popup(page, live, code)
    page.locator(f".leaflet-popup-content .popup[data-grid='{code}'] button.{action}").click()


def press(page: Page, selector: str) -> None:
    """Click the button ``selector`` in the panel and wait for the panel to move on from it."""
    button = page.locator(selector)
    button.click()
    button.wait_for(state="detached", timeout=15_000)


def saved(page: Page) -> list[str]:
    """Wait for a save to be reported (ok or warn); the codes it wrote."""
    page.locator("#panel .message.ok, #panel .message.warn").first.wait_for(timeout=15_000)
    return [c for c in (page.evaluate("document.body.dataset.saved") or "").split(",") if c]


def message(page: Page) -> str:
    """The words of the panel's message."""
    return page.locator("#panel .message").first.inner_text()


def draw_polygon(page: Page, points: list[tuple[LonLat, tuple[float, float]]]) -> None:
    """Choose the polygon tool, click each (place, pixel offset), finish on the first vertex."""
    page.locator(".leaflet-pm-icon-polygon").click()
    for at, offset in points:
        people.click(page, at, offset)
    people.click(page, points[0][0], points[0][1])
    page.locator("#new-grid-name").wait_for(timeout=10_000)


def type_into(page: Page, selector: str, words: str) -> None:
    """Click the input ``selector``, select what is in it and type ``words`` over it."""
    page.locator(selector).click()
    page.keyboard.press("Control+A")
    page.keyboard.type(words)


def name_and_save(page: Page, name: str) -> None:
    """Type the new grid's name and press save."""
    type_into(page, "#new-grid-name", name)
    press(page, "#panel button.save-new-grid")


def shot(page: Page, name: str) -> None:
    """Save a screenshot of the page under build/screenshots/."""
    page.screenshot(path=screenshot_path(name))


def moved(ring: list[LonLat], i: int, to: LonLat) -> Polygon:
    """The polygon of ``ring`` with its vertex ``i`` moved to ``to``."""
    return Polygon([to if j == i else p for j, p in enumerate(ring)])


# -- 1. drawing into a gap, on the neighbours' vertices and edges ------------------------------

GAP_GRID = "110108010019006"
GAP_COMMUNITY = "110108010019"


def _rings(geom: BaseGeometry) -> list[list[LonLat]]:
    """Every ring of a (multi)polygon, outer and inner, without closing points."""
    polys = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
    return [
        [(float(x), float(y)) for x, y in ring.coords[:-1]]
        for poly in polys
        for ring in (poly.exterior, *poly.interiors)
    ]


def _shared_edge(ring: list[LonLat], siblings: dict[str, BaseGeometry]) -> tuple[int, str]:
    """An edge (i → i+1) of ``ring`` that is also an edge of a sibling: i and the sibling."""
    for code, geom in sorted(siblings.items()):
        edges = {
            frozenset((other[j], other[(j + 1) % len(other)]))
            for other in _rings(geom)
            for j in range(len(other))
        }
        for i in range(len(ring)):
            a, b = ring[i], ring[(i + 1) % len(ring)]
            if frozenset((a, b)) in edges and metres(a, b) > 40:
                return i, code
    raise AssertionError("no edge shared with a sibling")


def test_a_grid_drawn_on_the_neighbours_vertices_and_edges_closes_the_gap_exactly(
    office: Watched, own_live: Live
) -> None:
    page, live = office.page, own_live
    before_api = findings(coverage(live, GAP_COMMUNITY))
    before_code, before_reports = validate(live, GAP_COMMUNITY)
    assert before_code == 0 and before_api["exact"]
    grids = current_grids(live, GAP_COMMUNITY)
    ring = outer_ring(grids.pop(GAP_GRID))
    siblings = grids
    corners = Counter(p for g in siblings.values() for p in vertices(g))
    assert all(p in corners for p in ring), "every vertex of the gap is a neighbour's vertex"
    i, neighbour = _shared_edge(ring, siblings)
    before_versions = versions(live)
    before_vertices = all_vertices(live)

    retire(live, GAP_GRID)
    page.reload()
    page.wait_for_selector("body[data-ready='true']", timeout=15_000)
    people.search(page, neighbour)
    people.fit(page, ring, most=19)
    # Every corner clicked on a neighbour's vertex; one more click 3 px off the middle of the
    # edge shared with ``neighbour``, on the gap's side: snapping must put it on the edge.
    a, b = ring[i], ring[(i + 1) % len(ring)]
    ax, ay = people.pixel(page, *a)
    bx, by = people.pixel(page, *b)
    cx, cy = people.pixel(page, *shapely.Polygon(ring).representative_point().coords[0])
    mx, my = (ax + bx) / 2, (ay + by) / 2
    nx, ny = -(by - ay), bx - ax
    norm = math.hypot(nx, ny)
    side = 1 if (cx - mx) * nx + (cy - my) * ny > 0 else -1
    middle = people.place(page, mx, my)
    off = (side * 3 * nx / norm, side * 3 * ny / norm)
    clicks: list[tuple[LonLat, tuple[float, float]]] = []
    for j, p in enumerate(ring):
        clicks.append((p, (0.0, 0.0)))
        if j == i:
            clicks.append((middle, off))
    draw_polygon(page, clicks)
    shot(page, "editor-gap-drawn")
    name_and_save(page, "月华分校专属网格（重画）")
    page.locator("#panel .message.ok").wait_for(timeout=15_000)
    written = saved(page)
    shot(page, "editor-gap-saved")

    now = current_grids(live, GAP_COMMUNITY)
    new = [c for c in now if c not in siblings]
    assert len(new) == 1 and new[0] != GAP_GRID and new[0] in written
    drawn = vertices(now[new[0]])
    # The drawn grid's corners are the neighbours' vertices, bit for bit ...
    assert all(p in drawn for p in ring)
    extra = [p for p in drawn if p not in set(ring)]
    assert len(extra) == 1, extra
    # ... and the click off the edge became a vertex on it, shared with the neighbour.
    assert LineString([a, b]).distance(Point(extra[0])) < 1e-9
    after_versions = versions(live)
    assert after_versions[neighbour] == before_versions[neighbour] + 1 and neighbour in written
    assert vertices(now[neighbour]) == before_vertices[neighbour] + Counter(extra)
    # Nobody else changed.
    after_vertices = all_vertices(live)
    for code, counted in before_vertices.items():
        if code not in (GAP_GRID, neighbour):
            assert after_vertices[code] == counted, code
            assert after_versions[code] == before_versions[code], code
    # The coverage is exactly as clean as before: the API's check and gridmap validate.
    assert findings(coverage(live, GAP_COMMUNITY)) == before_api
    after_code, after_reports = validate(live, GAP_COMMUNITY)
    assert after_code == before_code == 0
    assert [findings(r) for r in after_reports] == [findings(r) for r in before_reports]
    assert office.errors == []


# -- 2. dragging one vertex of one grid --------------------------------------------------------

LONE_COMMUNITY = "110108010025"


def _lone_vertex(live: Live, community: str) -> tuple[str, int, list[LonLat]]:
    """A grid of ``community`` and a vertex of it no other grid has (not its ring's first),
    between two long edges: code, index, ring."""
    everyone = all_vertices(live)
    for code, geom in sorted(current_grids(live, community).items()):
        ring = outer_ring(geom)
        others = Counter[LonLat]()
        for c, counted in everyone.items():
            if c != code:
                others += counted
        for i in range(1, len(ring)):
            p = ring[i]
            if p in others or ring.count(p) != 1:
                continue
            if metres(p, ring[i - 1]) > 60 and metres(p, ring[(i + 1) % len(ring)]) > 60:
                return code, i, ring
    raise AssertionError(f"no lone vertex in {community}")


def test_dragging_one_vertex_changes_that_vertex_and_nothing_else(
    office: Watched, own_live: Live
) -> None:
    page, live = office.page, own_live
    code, i, ring = _lone_vertex(live, LONE_COMMUNITY)
    vertex = ring[i]
    before_vertices = all_vertices(live)
    before_versions = versions(live)
    before_audit = audit_counts(live)
    people.search(page, code)
    people.fit(page, [vertex, ring[i - 1], ring[(i + 1) % len(ring)]], most=18)
    popup_action(page, live, code, "edit-grid")
    page.locator("#panel button.save-grid").wait_for(timeout=10_000)
    # The popup may have panned the map to stay on screen: bring the vertex back to the middle.
    people.pan_to(page, vertex)
    # Inwards, 50 px towards the grid's inside (or near that), clear of every other edge.
    ix, iy = people.pixel(page, *inside(live, code))
    vx, vy = people.pixel(page, *vertex)
    target = _a_free_move(
        page, live, vertex, [code], 50, math.atan2(iy - vy, ix - vx), current_grids(live)[code]
    )
    people.drag_place(page, vertex, target)
    shot(page, "editor-vertex-dragged")
    press(page, "#panel button.save-grid")
    # Saved, and said to leave a gap (the vertex went inwards from the community's edge).
    page.locator("#panel .message.warn").wait_for(timeout=15_000)
    gaps = float(page.locator("#panel .coverage").get_attribute("data-gaps-m2") or "0")
    assert gaps > TOLERANCE_M2
    shot(page, "editor-vertex-saved")

    after_vertices = all_vertices(live)
    after_versions = versions(live)
    assert after_versions == {**before_versions, code: before_versions[code] + 1}
    assert audit_counts(live) == {**before_audit, code: before_audit.get(code, 0) + 1}
    for other, counted in before_vertices.items():
        if other != code:
            assert after_vertices[other] == counted, other
    lost = before_vertices[code] - after_vertices[code]
    gained = after_vertices[code] - before_vertices[code]
    assert lost == Counter([vertex]), lost
    assert len(gained) == 1 and sum(gained.values()) == 1, gained
    (landed,) = gained
    assert metres(landed, target) < 1.0
    assert office.errors == []


# -- 3. dragging a vertex shared by several grids ----------------------------------------------

SHARED_COMMUNITY = "110108010018"


def _shared_vertex(live: Live, community: str) -> tuple[LonLat, list[str]]:
    """The vertex of ``community`` shared by the most grids, off the community's boundary."""
    with live.engine.connect() as conn:
        boundary = shapely.from_wkb(
            bytes(
                conn.execute(
                    text("SELECT ST_AsBinary(ST_Boundary(geom)) FROM region WHERE code = :c"),
                    {"c": community},
                ).scalar_one()
            )
        )
    owners: dict[LonLat, set[str]] = {}
    for code, geom in current_grids(live, community).items():
        for p in vertices(geom):
            owners.setdefault(p, set()).add(code)
    inner = [(p, c) for p, c in owners.items() if boundary.distance(Point(p)) > 1e-4]
    p, codes = max(inner, key=lambda pc: (len(pc[1]), pc[0]))
    assert len(codes) >= 2
    return p, sorted(codes)


def _edges_clear_of(live: Live, vertex: LonLat, codes: list[str]) -> list[LineString]:
    """The edges near ``vertex`` a vertex dragged from it could snap to, in local metres: every
    edge of every current grid and community, but the edges of ``codes`` (the grids dragged
    along) ending at ``vertex``."""
    lat0 = math.radians(vertex[1])

    def local(p: LonLat) -> tuple[float, float]:
        return (p[0] - vertex[0]) * 111_320 * math.cos(lat0), (p[1] - vertex[1]) * 110_540

    with live.engine.connect() as conn:
        shapes = [
            (code, shapely.from_wkb(bytes(wkb)))
            for code, wkb in conn.execute(
                text(
                    "SELECT code, ST_AsBinary(geom) FROM grid WHERE valid_to IS NULL "
                    "AND ST_DWithin(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326), 0.005) "
                    "UNION ALL SELECT code, ST_AsBinary(geom) FROM region "
                    "WHERE level = 'community' "
                    "AND ST_DWithin(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326), 0.005)"
                ),
                {"x": vertex[0], "y": vertex[1]},
            )
        ]
    return [
        LineString([local(a), local(b)])
        for code, geom in shapes
        for ring in _rings(geom)
        for a, b in zip(ring, ring[1:] + ring[:1], strict=True)
        if code not in codes or vertex not in (a, b)
    ]


def _a_free_move(
    page: Page,
    live: Live,
    vertex: LonLat,
    codes: list[str],
    px: float,
    first: float = 0.0,
    within: BaseGeometry | None = None,
) -> LonLat:
    """Where ``vertex`` can be dragged ``px`` pixels away: every grid having it stays valid and
    the place is well beyond snapping distance (15 px) of any other edge (and ``within``, if
    given). Directions are tried from angle ``first`` (radians, screen axes) round."""
    grids = current_grids(live)
    edges = _edges_clear_of(live, vertex, codes)
    x, y = people.pixel(page, *vertex)
    m_per_px = metres(people.place(page, x, y), people.place(page, x + 1, y))
    lat0 = math.radians(vertex[1])
    for k in range(16):
        angle = first + k * math.pi / 8
        to = people.place(page, x + px * math.cos(angle), y + px * math.sin(angle))
        here = Point((to[0] - vertex[0]) * 111_320 * math.cos(lat0), (to[1] - vertex[1]) * 110_540)
        if min(e.distance(here) for e in edges) < 25 * m_per_px:
            continue
        if within is not None and not within.contains(Point(to)):
            continue
        rings = [outer_ring(grids[code]) for code in codes]
        if all(moved(r, r.index(vertex), to).is_valid for r in rings):
            return to
    raise AssertionError("no direction keeps every grid valid and clear of other edges")


def test_dragging_a_shared_vertex_moves_it_in_every_grid_once(
    office: Watched, own_live: Live
) -> None:
    page, live = office.page, own_live
    vertex, codes = _shared_vertex(live, SHARED_COMMUNITY)
    before_api = findings(coverage(live, SHARED_COMMUNITY))
    assert before_api["exact"]
    before_vertices = all_vertices(live)
    before_versions = versions(live)
    before_audit = audit_counts(live)
    people.search(page, codes[0])
    people.fit(page, [vertex], most=18)
    popup_action(page, live, codes[0], "edit-grid")
    page.locator("#panel button.save-grid").wait_for(timeout=10_000)
    people.pan_to(page, vertex)
    target = _a_free_move(page, live, vertex, codes, 40)
    people.drag_place(page, vertex, target)
    shot(page, "editor-shared-dragged")
    press(page, "#panel button.save-grid")
    page.locator("#panel .message.ok").wait_for(timeout=15_000)
    assert sorted(saved(page)) == codes
    shot(page, "editor-shared-saved")

    after_vertices = all_vertices(live)
    landed: set[LonLat] = set()
    for code in codes:
        lost = before_vertices[code] - after_vertices[code]
        gained = after_vertices[code] - before_vertices[code]
        assert set(lost) == {vertex} and len(gained) == 1, (code, lost, gained)
        assert sum(lost.values()) == sum(gained.values())
        landed |= set(gained)
    # The same new vertex, bit for bit, in every grid that had the old one.
    assert len(landed) == 1
    assert metres(landed.pop(), target) < 1.0
    touched = set(codes)
    assert versions(live) == {c: v + (c in touched) for c, v in before_versions.items()}
    assert audit_counts(live) == {
        c: before_audit.get(c, 0) + (c in touched) for c in set(before_audit) | touched
    }
    for other, counted in before_vertices.items():
        if other not in touched:
            assert after_vertices[other] == counted, other
    assert findings(coverage(live, SHARED_COMMUNITY)) == before_api
    assert office.errors == []


# -- 4. drawing over a neighbour, then giving way ----------------------------------------------

OVER_GRID = "110108010033002"
OVER_COMMUNITY = "110108010033"


def test_drawing_over_a_neighbour_is_refused_in_chinese_and_giving_way_saves_it(
    office: Watched, own_live: Live
) -> None:
    page, live = office.page, own_live
    grids = current_grids(live, OVER_COMMUNITY)
    gap = grids.pop(OVER_GRID)
    # The neighbour to the east, and a box over the middle of the gap reaching 40 m into it.
    neighbour = max(grids, key=lambda c: grids[c].centroid.x)
    with live.engine.connect() as conn:
        neighbour_name = conn.execute(
            text("SELECT name FROM grid WHERE code = :c AND valid_to IS NULL"), {"c": neighbour}
        ).scalar_one()
    west, south, east, north = gap.bounds
    box_w = west + (east - west) * 0.3
    box_e = east + 40 / (111_320 * math.cos(math.radians(south)))
    box_s = south + (north - south) * 0.35
    box_n = south + (north - south) * 0.65
    neighbour_area = area_m2(live, grids[neighbour])
    retire(live, OVER_GRID)
    page.reload()
    page.wait_for_selector("body[data-ready='true']", timeout=15_000)
    people.search(page, neighbour)
    people.fit(page, [(box_w, box_s), (box_e, box_n)], most=18)
    before = whole_tables(live)

    page.locator(".leaflet-pm-icon-rectangle").click()
    people.click(page, (box_w, box_n))
    people.click(page, (box_e, box_s))
    page.locator("#new-grid-name").wait_for(timeout=10_000)
    name_and_save(page, "展春园社区新网格")
    page.locator("#panel .message.error").wait_for(timeout=15_000)
    refusal = message(page)
    shot(page, "editor-overlap-refused")
    assert page.evaluate("document.body.dataset.lastError") == "409"
    assert re.search(r"[\u4e00-\u9fff]", refusal) and neighbour_name in refusal
    assert not LATIN_WORD.search(refusal), refusal
    assert whole_tables(live) == before

    page.locator("#panel button.give-way").click()
    page.locator("#panel button.confirm-preview").wait_for(timeout=15_000)
    shot(page, "editor-give-way-preview")
    assert whole_tables(live) == before
    press(page, "#panel button.confirm-preview")
    written = saved(page)
    shot(page, "editor-give-way-saved")

    now = current_grids(live, OVER_COMMUNITY)
    (new,) = [c for c in now if c not in grids]
    assert new in written
    for code, geom in now.items():
        if code != new:
            assert area_m2(live, now[new].intersection(geom)) < TOLERANCE_M2, code
    # The neighbour kept its shape (it may have got a vertex where the new grid meets it).
    assert abs(area_m2(live, now[neighbour]) - neighbour_area) < 0.5
    with live.engine.connect() as conn:
        outside = conn.execute(
            text(
                "SELECT ST_Area(ST_Difference(g.geom, r.geom)::geography) FROM grid g, region r "
                "WHERE g.code = :c AND g.valid_to IS NULL AND r.code = :r"
            ),
            {"c": new, "r": OVER_COMMUNITY},
        ).scalar_one()
    assert outside < TOLERANCE_M2
    assert office.errors == []


# -- 5. two editors, one shared border ----------------------------------------------------------

STALE_GRID = "110108010002001"
STALE_COMMUNITY = "110108010002"


def test_a_stale_second_editor_moving_the_same_border_is_refused_and_writes_nothing(
    browser: Browser, own_live: Live
) -> None:
    live = own_live
    vertex, codes = _shared_vertex(live, STALE_COMMUNITY)
    assert STALE_GRID in codes
    pages: list[Watched] = []
    targets: list[LonLat] = []
    for k in range(2):
        watched = open_map(new_context(browser), live)
        page = watched.page
        people.search(page, STALE_GRID)
        people.fit(page, [vertex], most=18)
        popup_action(page, live, STALE_GRID, "edit-grid")
        page.locator("#panel button.save-grid").wait_for(timeout=10_000)
        people.pan_to(page, vertex)
        # Each editor moves the border its own way.
        target = _a_free_move(page, live, vertex, codes, 40, k * math.pi)
        people.drag_place(page, vertex, target)
        pages.append(watched)
        targets.append(target)
    first, second = pages[0].page, pages[1].page
    press(first, "#panel button.save-grid")
    first.locator("#panel .message.ok").wait_for(timeout=15_000)
    before = whole_tables(live)

    press(second, "#panel button.save-grid")
    second.locator("#panel .message.stale").wait_for(timeout=15_000)
    words = second.locator("#panel .message.stale").inner_text()
    shot(second, "editor-stale-second")
    assert second.evaluate("document.body.dataset.lastError") == "412"
    assert re.search(r"[\u4e00-\u9fff]", words) and not LATIN_WORD.search(words), words
    # It names a grid of the border and the version it is at now, in words (第 2 版).
    assert any(code in words for code in codes), words
    assert re.search(r"第\s*\d+\s*版", words), words
    assert second.locator("#panel button.reload-grid").count() == 1
    assert whole_tables(live) == before
    for watched in pages:
        assert watched.errors == []
        watched.page.context.close()


# -- 6. an office morning ----------------------------------------------------------------------

MORNING_COMMUNITY = "110108010021"
# Renamed overnight by another client; restored from its history in the morning.
RENAMED_GRID = "110108010025001"


@pytest.fixture
def morning_live(fresh_database, server: Any) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    """A street of its own for the morning, whatever the other tests left."""
    with demo_served(fresh_database, "gridmap_test_browser_morning") as served:
        yield served


def _rename_overnight(live: Live, code: str, name: str) -> None:
    """Another client renames grid ``code`` over the API, with its If-Match."""
    url = f"{live.base}/api/v1/grids/{code}"
    auth = {"Authorization": f"Bearer {live.token}"}
    with urllib.request.urlopen(urllib.request.Request(url, headers=auth)) as r:
        tag = r.headers["ETag"]
    body = json.dumps({"type": "Feature", "properties": {"name": name}}).encode()
    headers = {**auth, "If-Match": tag, "Content-Type": "application/json"}
    req = urllib.request.Request(url, data=body, headers=headers, method="PATCH")
    with urllib.request.urlopen(req) as r:
        assert r.status == 200


def _a_cut(grid: BaseGeometry, view: Callable[[LonLat], bool]) -> tuple[LonLat, LonLat]:
    """A straight line across ``grid`` cutting it in exactly two, both ends 15 m outside it
    and on the screen (``view``)."""
    middle = grid.representative_point()
    lat = math.radians(middle.y)
    reach_m = 2 * max(grid.bounds[2] - grid.bounds[0], grid.bounds[3] - grid.bounds[1]) * 111_000
    for k in range(12):
        angle = k * math.pi / 12 + math.pi / 24
        dx = math.cos(angle) / (111_320 * math.cos(lat))
        dy = math.sin(angle) / 110_540
        far = LineString(
            [
                (middle.x - dx * reach_m, middle.y - dy * reach_m),
                (middle.x + dx * reach_m, middle.y + dy * reach_m),
            ]
        )
        piece = far.intersection(grid)
        if piece.geom_type != "LineString":
            continue
        (x0, y0), (x1, y1) = piece.coords[0], piece.coords[-1]
        n = metres((x0, y0), (x1, y1))
        ux, uy = (x1 - x0) / n, (y1 - y0) / n
        start = (x0 - ux * 15, y0 - uy * 15)
        end = (x1 + ux * 15, y1 + uy * 15)
        parts = shapely.get_parts(split(grid, LineString([start, end])))
        if len(parts) == 2 and min(p.area for p in parts) > 0.2 * grid.area:
            if view(start) and view(end):
                return start, end
    raise AssertionError("no straight cut in two")


def _adjacent_pair(grids: dict[str, BaseGeometry], skip: set[str]) -> tuple[str, str]:
    """Two grids sharing the longest border (more than a point), neither in ``skip``."""
    best: tuple[float, str, str] | None = None
    codes = sorted(c for c in grids if c not in skip)
    for i, a in enumerate(codes):
        for b in codes[i + 1 :]:
            shared = grids[a].boundary.intersection(grids[b].boundary).length
            if shared > 0 and (best is None or shared > best[0]):
                best = (shared, a, b)
    assert best is not None
    return best[1], best[2]


def test_an_office_morning_ends_with_the_street_exactly_covered(
    browser: Browser, morning_live: Live, request: pytest.FixtureRequest
) -> None:
    live = morning_live
    with live.engine.connect() as conn:
        original_name = conn.execute(
            text("SELECT name FROM grid WHERE code = :c AND valid_to IS NULL"),
            {"c": RENAMED_GRID},
        ).scalar_one()
        address, address_grid = conn.execute(
            text(
                "SELECT address, grid_code FROM building WHERE grid_code LIKE :c "
                "AND address LIKE '%号楼' ORDER BY address LIMIT 1"
            ),
            {"c": MORNING_COMMUNITY + "%"},
        ).one()
    _rename_overnight(live, RENAMED_GRID, "夜里改错的名字")
    assert validate(live, STREET)[0] == 0
    context = new_context(browser)
    request.addfinalizer(context.close)
    watched = open_map(context, live, signed_in=False)
    page = watched.page
    request.addfinalizer(lambda: shot(page, "failed-morning") if failed(request) else None)
    step = iter(range(1, 100))

    def done(name: str) -> None:
        shot(page, f"morning-{next(step):02d}-{name}")

    done("opened")
    who = people.sign_in(page, live.token)
    if who:
        assert "学院路" in who and not LATIN_WORD.search(who), who
    done("signed-in")

    # Find an address.
    people.search(page, address, highlight=address_grid)
    done("address-found")

    # Split a grid in two with a line drawn across it.
    grids = current_grids(live, MORNING_COMMUNITY)
    to_split = min(grids, key=lambda c: (len(outer_ring(grids[c])), c))
    area_before = area_m2(live, grids[to_split])
    people.search(page, to_split)
    people.fit(page, outer_ring(grids[to_split]), most=18)
    popup_action(page, live, to_split, "split-grid")
    # The popup may have moved the map to stay on screen: show the grid again, then cut.
    people.fit(page, outer_ring(grids[to_split]), most=18)
    start, end = _a_cut(
        grids[to_split], lambda p: people.on_map(page, *people.pixel(page, *p), margin=20)
    )
    people.click(page, start)
    people.click(page, end)
    people.click(page, end)
    page.locator("#panel button.confirm-preview").wait_for(timeout=15_000)
    type_into(page, "#split-name", "石科院社区新分网格")
    done("split-preview")
    press(page, "#panel button.confirm-preview")
    written = saved(page)
    done("split-saved")
    after_split = current_grids(live, MORNING_COMMUNITY)
    (split_off,) = [c for c in after_split if c not in grids]
    assert to_split in written and split_off in written
    halves = area_m2(live, after_split[to_split]) + area_m2(live, after_split[split_off])
    assert abs(halves - area_before) < TOLERANCE_M2

    # Merge two neighbouring grids (not the two halves).
    low, high = _adjacent_pair(after_split, {to_split, split_off})
    merged_area = area_m2(live, after_split[low]) + area_m2(live, after_split[high])
    people.search(page, low)
    people.fit(page, outer_ring(after_split[low]) + outer_ring(after_split[high]), most=18)
    popup_action(page, live, low, "merge-grid")
    people.fit(page, outer_ring(after_split[low]) + outer_ring(after_split[high]), most=18)
    people.click(page, inside(live, high))
    page.locator("#panel button.confirm-preview").wait_for(timeout=15_000)
    done("merge-preview")
    press(page, "#panel button.confirm-preview")
    written = saved(page)
    done("merge-saved")
    after_merge = current_grids(live, MORNING_COMMUNITY)
    assert high not in after_merge and low in written
    assert abs(area_m2(live, after_merge[low]) - merged_area) < TOLERANCE_M2

    # Move a border shared by grids.
    vertex, codes = _shared_vertex(live, MORNING_COMMUNITY)
    people.search(page, codes[0])
    people.fit(page, [vertex], most=18)
    popup_action(page, live, codes[0], "edit-grid")
    page.locator("#panel button.save-grid").wait_for(timeout=10_000)
    people.pan_to(page, vertex)
    target = _a_free_move(page, live, vertex, codes, 40)
    people.drag_place(page, vertex, target)
    done("border-dragged")
    press(page, "#panel button.save-grid")
    page.locator("#panel .message.ok").wait_for(timeout=15_000)
    assert sorted(saved(page)) == codes
    done("border-saved")

    # Restore the name a grid had before last night's change, from its history.
    people.search(page, RENAMED_GRID)
    popup_action(page, live, RENAMED_GRID, "history-grid")
    press(page, "#panel button.restore-version[data-version='1']")
    saved(page)
    done("version-restored")
    with live.engine.connect() as conn:
        name, version = conn.execute(
            text("SELECT name, version FROM grid WHERE code = :c AND valid_to IS NULL"),
            {"c": RENAMED_GRID},
        ).one()
    assert (name, version) == (original_name, 3)

    code, reports = validate(live, STREET)
    assert code == 0, [findings(r) for r in reports if not r["exact"]]
    assert all(r["exact"] and not r["invalid_edges"]["features"] for r in reports)
    assert watched.errors == []
