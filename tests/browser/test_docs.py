"""/docs and /redoc render in a real Chromium that can reach nothing but the service."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, expect
from sqlalchemy import Engine

from gridmap.settings import Settings

from .conftest import screenshot_path, serving


@pytest.fixture(scope="module")
def base(engine: Engine, settings: Settings) -> Iterator[str]:
    # The docs read no data: the migrated, empty test database is enough.
    with serving(settings) as url:
        yield url


def offline_page(browser: Browser, blocked: list[tuple[str, str]]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname in {"127.0.0.1", "localhost"}:
            route.continue_()
        else:
            blocked.append((route.request.resource_type, route.request.url))
            route.abort()

    context.route("**/*", only_loopback)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_swagger_ui_shows_the_operations_offline(base: str, browser: Browser) -> None:
    blocked: list[tuple[str, str]] = []
    for page in offline_page(browser, blocked):
        page.goto(f"{base}/docs")
        expect(page.locator(".opblock-tag", has_text="lookup").first).to_be_visible(timeout=20000)
        expect(page.locator(".opblock-summary-path", has_text="/api/v1/grids/{code}").first)
        # An error answer is shown with the service's own schema.
        page.locator(".opblock-summary-path", has_text="/api/v1/regions/{code}").first.click()
        expect(page.get_by_text("Error").first).to_be_visible()
        page.screenshot(path=str(screenshot_path("docs-swagger-offline")), full_page=False)
    assert blocked == []


def test_redoc_shows_the_operations_offline(base: str, browser: Browser) -> None:
    blocked: list[tuple[str, str]] = []
    for page in offline_page(browser, blocked):
        page.goto(f"{base}/redoc")
        heading = page.locator("h2", has_text="The grid, community, street and team at a point")
        expect(heading.first).to_be_visible(timeout=30000)
        page.screenshot(path=str(screenshot_path("docs-redoc-offline")), full_page=False)
    # ReDoc's footer shows Redocly's logo from their CDN and hides it when it fails to load;
    # nothing the page needs (script, style, font, the document) comes from outside.
    assert [(kind, url) for kind, url in blocked if kind != "image"] == []
