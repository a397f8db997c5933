"""The board (/board) as dispatchers use it: queues in words with time left, live between two
browsers, steps through the page with their If-Match, a stale click refused once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.browser.conftest import Live

from gridmap.auth import create_token

DISTRICT = "110108"
STREET = "110108010"
SHOTS = "/tmp/board-{}.png"


def token(live: Live, role: str, region: str, name: str) -> str:
    with Session(live.engine) as session, session.begin():
        secret, _ = create_token(session, name=name, role=role, region=region)
    return secret


def sql(live: Live, statement: str, **params: Any) -> list[Any]:
    with live.engine.begin() as conn:
        result = conn.execute(text(statement), params)
        return list(result.all()) if result.returns_rows else []


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for c in made:
        c.close()


def board(browser: Browser, contexts: list[BrowserContext], live: Live, secret: str) -> Page:
    """A new browser context on /board, signed in through the form with the keyboard."""
    context = browser.new_context(viewport={"width": 1500, "height": 900}, locale="zh-CN")
    contexts.append(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live.base + "/board")
    field = page.locator("#signin-token")
    expect(field).to_be_visible()
    field.click()
    page.keyboard.type(secret)
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-ready='true']", timeout=15_000)
    assert not errors, errors
    return page


def tab(page: Page, queue: str) -> None:
    page.locator(f"#tabs button[data-queue='{queue}']").click()
    expect(page.locator(f"#tabs button[data-queue='{queue}']")).to_have_attribute(
        "aria-selected", "true"
    )


def test_queues_show_in_words_with_counts_and_time_left(
    browser: Browser, contexts: list[BrowserContext], live: Live
) -> None:
    secret = token(live, "district", DISTRICT, "海淀区指挥中心")
    page = board(browser, contexts, live, secret)
    expect(page.locator("#tabs button[data-queue='to_dispatch']")).to_contain_text("待派单")
    (queued,) = sql(
        live,
        "SELECT count(*) FROM incident WHERE status = 'queued' AND owner_code = :d",
        d=DISTRICT,
    )[0]
    count = page.locator("#tabs button[data-queue='to_dispatch'] .count")
    expect(count).to_have_text(str(queued))
    tab(page, "overdue")
    rows = page.locator("#rows tbody tr")
    if rows.count():
        expect(rows.first.locator("td.left")).to_have_class("left red")
        expect(rows.first.locator("td.left")).to_contain_text("超时")
    page.screenshot(path=SHOTS.format("queues-zh"), full_page=False)
    page.locator("#lang-btn").click()
    expect(page.locator("#tabs button[data-queue='overdue']")).to_contain_text("Overdue")
    page.screenshot(path=SHOTS.format("queues-en"), full_page=False)
