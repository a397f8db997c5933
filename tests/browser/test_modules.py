"""The browser modules of web/: each is served as JavaScript and loads; the pure ones answer right."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page
from tests.browser.conftest import Live

from gridmap.geo.chinacrs import gcj02_to_wgs84, wgs84_to_gcj02
from gridmap.settings import project_root

WEB = project_root() / "web"
MODULES = sorted(
    p.relative_to(WEB).as_posix() for p in WEB.rglob("*.js") if "vendor" not in p.parts
)


@pytest.fixture
def page(browser: Browser, live: Live) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.goto(live.base + "/")
    page.wait_for_selector("body[data-ready='true']", timeout=15_000)
    yield page
    context.close()


def test_every_module_is_served_as_javascript(live: Live) -> None:
    assert "map.js" in MODULES and "lib/api.js" in MODULES
    for path in MODULES:
        r = httpx.get(f"{live.base}/{path}")
        assert r.status_code == 200, path
        assert r.headers["content-type"].split(";")[0] == "text/javascript", path


def test_every_module_loads_without_error(page: Page) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    failed: Any = page.evaluate(
        "async (paths) => { const bad = []; for (const p of paths) {"
        " try { await import(`/${p}`); } catch (e) { bad.push(`${p}: ${e}`); } } return bad; }",
        MODULES,
    )
    assert failed == [] and errors == []


def test_gcj02_module_agrees_with_the_server(page: Page) -> None:
    points = [(116.3264, 40.0035), (121.4737, 31.2304), (2.35, 48.85)]
    there: Any = page.evaluate(
        "async (pts) => { const g = await import('/lib/gcj02.js');"
        " return pts.map(([x, y]) => [g.wgs84ToGcj02(x, y), g.gcj02ToWgs84(...g.wgs84ToGcj02(x, y))]); }",
        points,
    )
    for (lon, lat), (shifted, back) in zip(points, there, strict=True):
        glon, glat = wgs84_to_gcj02(lon, lat)
        assert shifted == pytest.approx([float(glon), float(glat)], abs=1e-9)
        wlon, wlat = gcj02_to_wgs84(*shifted)
        assert back == pytest.approx([float(wlon), float(wlat)], abs=1e-8)
        assert back == pytest.approx([lon, lat], abs=1e-8)


def test_api_client_turns_failures_into_words(page: Page) -> None:
    said: Any = page.evaluate(
        "async () => { const { api, reason } = await import('/lib/api.js'); let real = null;"
        " try { await api('/api/v1/lookup?lon=x&lat=1'); } catch (e) { real = [e.status, e.message]; }"
        " return { real, words: [reason(404, {}, 'Not Found'), reason(422, {detail: [{loc: ['x']}]}, ''),"
        " reason(409, {detail: 'overlaps 110108010002001'}, 'Conflict'), reason(599, {}, '')] }; }"
    )
    # The server's own reason where it gives one; else the status in the page's words.
    assert said["real"][0] == 422 and said["real"][1].startswith("lon:")
    assert said["words"] == ["未找到", "内容不符合要求", "overlaps 110108010002001", "599"]
