"""The office map's patrol and visit layers, driven by the mouse: grids coloured by today's and
this week's patrol coverage, a grid's panel with its coverage and its unwalked streets drawn, and
the households overdue for a visit after sign-in (their care tags read and logged)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import text
from tests.browser import people
from tests.browser.conftest import START_STREET, Live, screenshot_path

from gridmap.settings import project_root

COVERAGE = "巡查覆盖"
OVERDUE = "走访逾期"
SHOTS = project_root() / "docs"


@pytest.fixture
def page(browser: Browser, live: Live) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live.base + "/")
    page.wait_for_selector("body[data-ready='true']", timeout=15_000)
    yield page
    context.close()
    assert errors == []


def _layer(page: Page, name: str) -> None:
    """Tick an overlay in the layer switch, by the mouse."""
    box = page.locator(".leaflet-control-layers-overlays label", has_text=name).locator("input")
    box.click()
    assert box.is_checked()


def _best_grid_today(live: Live) -> dict[str, Any]:
    """The demo grid walked most today, by the API any caller may read."""
    r = httpx.get(f"{live.base}/api/v1/patrol-coverage", params={"region": START_STREET})
    assert r.status_code == 200, r.text
    best = max(r.json()["grids"], key=lambda g: g["share"] or 0.0)
    assert best["share"] and best["share"] > 0, "the demo's patrols should reach today"
    return dict(best)


def _open_grid(page: Page, live: Live, code: str) -> None:
    """Fly to a grid by the search box, then click a point inside it on the map."""
    box = page.locator("#search-q")
    box.click()
    box.fill(code)
    box.press("Enter")
    page.wait_for_selector(f"body[data-highlight='{code}']", timeout=10_000)
    people.settle(page)
    with live.engine.connect() as conn:
        lon, lat = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grid "
                "WHERE code = :c AND valid_to IS NULL) x"
            ),
            {"c": code},
        ).one()
    people.click(page, (lon, lat))
    page.locator(
        f".leaflet-popup-content .popup[data-grid='{code}'] .figures[data-loaded]"
    ).wait_for(timeout=15_000)


def test_coverage_layer_and_a_grids_panel(page: Page, live: Live) -> None:
    best = _best_grid_today(live)
    code = best["grid"]
    _layer(page, COVERAGE)
    page.wait_for_selector("body[data-patrol-coverage^='day:']", timeout=20_000)
    assert page.locator(".patrol-period button[data-period='day'].on").count() == 1
    _open_grid(page, live, code)
    figures = page.locator(f".popup[data-grid='{code}'] .figures").inner_text()
    share = f"{best['share'] * 100:.1f}%"
    assert "今日巡查覆盖率" in figures and share in figures, figures
    assert "登录后可见" in figures
    # the grid's streets nobody walked today are drawn, as many as the API names
    one = httpx.get(f"{live.base}/api/v1/patrol-coverage/{code}").json()
    page.wait_for_selector(
        f"body[data-street-pieces='{code}:{len(one['unwalked']['features'])}']", timeout=10_000
    )
    assert len(one["unwalked"]["features"]) > 0
    page.screenshot(path=screenshot_path("map-patrol-day"))
    # this week: every grid again, from the period switch
    page.locator(".patrol-period button[data-period='week']").click()
    page.wait_for_selector(".patrol-period button[data-period='week'].on", timeout=20_000)
    week_name = page.evaluate(
        "document.querySelector('.patrol-period button.on') && window.gridmap.patrolCoverage.last().period"
    )
    week = httpx.get(
        f"{live.base}/api/v1/patrol-coverage",
        params={"region": START_STREET[:6], "week": week_name},
    ).json()
    assert page.evaluate("document.body.dataset.patrolCoverage") == f"week:{len(week['grids'])}"
    # the grid's streets now are those nobody walked this week
    this_week = httpx.get(
        f"{live.base}/api/v1/patrol-coverage/{code}", params={"week": week["period"]}
    ).json()
    page.wait_for_selector(
        f"body[data-street-pieces='{code}:{len(this_week['unwalked']['features'])}']",
        timeout=10_000,
    )
    # the legend explains the colours, in English too
    assert "巡查覆盖率" in page.locator("#legend").inner_text()
    page.locator("#lang-btn").click()
    assert "Patrol coverage" in page.locator("#legend").inner_text()
    assert page.locator(".patrol-period button[data-period='week']").inner_text() == "This week"
    # switched off: the colours and the street pieces go
    page.locator(".leaflet-control-layers-overlays label", has_text="Patrol coverage").locator(
        "input"
    ).click()
    assert page.locator(".patrol-period").count() == 0
    assert page.evaluate("document.body.dataset.streetPieces") is None


def test_overdue_visits_need_a_sign_in_and_are_read_logged(page: Page, live: Live) -> None:
    _layer(page, OVERDUE)
    page.wait_for_function(
        "document.getElementById('status').textContent.includes('登录')", timeout=10_000
    )
    assert page.evaluate("document.body.dataset.overdueVisits") is None
    with live.engine.connect() as conn:
        reads_before = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE action = 'read'")
        ).scalar_one()
    people.sign_in(page, live.token)
    expected = httpx.get(
        f"{live.base}/api/v1/visits/overdue",
        params={"region": START_STREET},
        headers={"Authorization": f"Bearer {live.token}"},
    ).json()["features"]
    assert expected, "the demo should have households overdue for a visit"
    page.wait_for_selector(f"body[data-overdue-visits='{len(expected)}']", timeout=20_000)
    # the street office saw their care tags: each household's read is in the audit log
    with live.engine.connect() as conn:
        reads = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE action = 'read'")
        ).scalar_one()
    assert reads - reads_before >= 2 * len(expected)  # the page's read and the test's
    # a household's point: click it, read its days overdue and care tags in words
    first = expected[0]
    lon, lat = first["geometry"]["coordinates"]
    _open_best_coverage_with_points(page, live)
    people.click(page, (lon, lat))
    popup = page.locator(".leaflet-popup-content .popup").last
    popup.wait_for(timeout=5000)
    text_ = popup.inner_text()
    assert "逾期天数" in text_ and "关爱标签" in text_, text_
    tags = "、".join(
        {"elderly_alone": "独居老人"}.get(t["tag"], "") for t in first["properties"]["care_tags"]
    )
    if tags.strip("、"):
        assert "独居老人" in text_
    # signing out drops the points
    page.locator("#token-btn").click()
    page.wait_for_function("document.body.dataset.overdueVisits === undefined", timeout=10_000)


def _open_best_coverage_with_points(page: Page, live: Live) -> None:
    """Fly to the first overdue household (by its grid): the point must be on screen to click."""
    code = page.evaluate(
        "(() => { const m = window.gridmap.overlays.visit_overdue; let g = null;"
        " m.eachLayer((l) => { if (!g) g = l.feature.properties.grid_code; }); return g; })()"
    )
    box = page.locator("#search-q")
    box.click()
    box.fill(code)
    box.press("Enter")
    page.wait_for_selector(f"body[data-highlight='{code}']", timeout=10_000)
    people.settle(page)


def test_docs_screenshot_of_patrols_and_visits(page: Page, live: Live) -> None:
    # a grid walked in part this week shows both kinds of street piece
    week = httpx.get(
        f"{live.base}/api/v1/patrol-coverage",
        params={"region": START_STREET, "week": _this_week(live)},
    ).json()
    best = min(week["grids"], key=lambda g: abs((g["share"] or 0.0) - 0.7))
    people.sign_in(page, live.token)
    _layer(page, COVERAGE)
    page.wait_for_selector("body[data-patrol-coverage^='day:']", timeout=20_000)
    page.locator(".patrol-period button[data-period='week']").click()
    page.wait_for_selector("body[data-patrol-coverage^='week:']", timeout=20_000)
    _layer(page, OVERDUE)
    page.wait_for_selector("body[data-overdue-visits]", timeout=20_000)
    _open_grid(page, live, best["grid"])
    page.wait_for_selector(f"body[data-street-pieces^='{best['grid']}:']", timeout=10_000)
    page.wait_for_timeout(800)
    shot = screenshot_path("map-patrol")
    page.screenshot(path=shot)
    shutil.copyfile(shot, SHOTS / "map-patrol.png")


def _this_week(live: Live) -> str:
    """This ISO week in the server's time zone (the database's clock)."""
    with live.engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT to_char(now() AT TIME ZONE 'Asia/Shanghai', 'IYYY-\"W\"IW')")
            ).scalar_one()
        )


def test_the_boards_assessment_shows_patrol_and_visit_figures(browser: Browser, live: Live) -> None:
    from tests.browser.test_board import board, tab, token

    contexts: list[Any] = []
    try:
        page = board(browser, contexts, live, token(live, "district", "110108", "海淀区指挥中心"))
        tab(page, "assess")
        month = page.locator("#a-month").input_value()
        page.locator("#a-group").select_option("grid")
        page.locator("#assess-form button[type='submit']").click()
        head = page.locator("#a-table thead")
        head.get_by_text("巡查覆盖率（月均）").wait_for(timeout=30_000)
        for words in ("巡查里程（公里）", "巡查时长（小时）", "走访次数", "逾期未走访"):
            assert words in head.inner_text()
        figures = httpx.get(
            f"{live.base}/api/v1/stats/patrols",
            params={"group_by": "grid", "month": month},
            timeout=60,
        ).json()["groups"]
        walked = max(figures, key=lambda g: g["patrol_km"])
        assert walked["patrol_km"] > 0
        # the worker table the tab opened with is replaced by the grids' when it arrives
        row = page.locator("#a-table tbody tr", has_text=walked["name"]).first
        row.wait_for(timeout=30_000)
        cells = row.locator("td").all_inner_texts()
        assert f"{walked['patrol_km']:.2f}" in cells and str(walked["visits"]) in cells, cells
        page.screenshot(path=screenshot_path("board-patrol"))
        page.locator("#a-group").select_option("worker")
        page.locator("#assess-form button[type='submit']").click()
        page.locator("#status", has_text="网格员").wait_for(timeout=30_000)
        assert "巡查里程（公里）" in head.inner_text()
    finally:
        for c in contexts:
            c.close()
