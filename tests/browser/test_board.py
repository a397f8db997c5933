"""The board (/board) as dispatchers use it: queues in words with time left, live between two
browsers, steps through the page with their If-Match, a stale click refused once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.browser.conftest import Live

from gridmap.auth import Holder, create_token

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


def test_a_second_browser_sees_a_change_within_two_seconds(
    browser: Browser, contexts: list[BrowserContext], live: Live
) -> None:
    secret = token(live, "district", DISTRICT, "海淀区指挥中心")
    first = board(browser, contexts, live, secret)
    second = board(browser, contexts, live, secret)
    tab(second, "to_dispatch")
    count = second.locator("#tabs button[data-queue='to_dispatch'] .count")
    before = int(count.inner_text())
    ((moved,),) = sql(
        live,
        "UPDATE incident SET status = 'queued', owner_code = :d, version = version + 1 "
        "WHERE id = (SELECT min(id) FROM incident WHERE status = 'handling') RETURNING id",
        d=DISTRICT,
    )
    started = time.monotonic()
    expect(count).to_have_text(str(before + 1), timeout=2_000)
    expect(second.locator(f"#rows tbody tr[data-id='{moved}']")).to_be_visible(timeout=2_000)
    assert time.monotonic() - started < 2.0
    # The first browser opens it: the pane shows the incident beside its grid.
    tab(first, "to_dispatch")
    first.locator(f"#rows tbody tr[data-id='{moved}'] td:nth-child(4)").click()
    expect(first.locator("#pane")).to_be_visible()
    expect(first.locator("#pane-title")).to_contain_text(f"#{moved}")
    expect(first.locator("#pane-map .leaflet-interactive").first).to_be_attached(timeout=5_000)
    first.screenshot(path=SHOTS.format("pane"))


CATEGORY = "市容环境/看板测试联单"


def seed_whistle(live: Live) -> tuple[str, str]:
    """A category of its own whose whistle-list line suggests exactly two departments of the
    street: 看板测试城管 (lead) and 看板测试住建."""
    sql(
        live,
        "INSERT INTO incident_category (code, class_, limit_hours) "
        "VALUES (:c, 'city_management', 48) ON CONFLICT DO NOTHING",
        c=CATEGORY,
    )
    sql(
        live,
        "INSERT INTO whistle_class (code, name) VALUES ('BT', '看板测试') ON CONFLICT DO NOTHING",
    )
    sql(
        live,
        "INSERT INTO whistle_item (code, class_code, matter, category, lead_kind, partner_kinds, "
        "report_hours, answer_hours) VALUES ('BT-001', 'BT', '看板测试事项', :c, '看板测试城管', "
        "ARRAY['看板测试住建'], 2, 24) ON CONFLICT DO NOTHING",
        c=CATEGORY,
    )
    sql(
        live,
        "INSERT INTO department (code, name, level, region_code, kind) VALUES "
        "('bt-cg', '学院路看板测试城管队', 'street', :s, '看板测试城管'), "
        "('bt-zj', '学院路看板测试住建所', 'street', :s, '看板测试住建') ON CONFLICT DO NOTHING",
        s=STREET,
    )
    return "bt-cg", "bt-zj"


def reported(live: Live) -> int:
    """A new reported incident at the middle of a grid of the street."""
    ((incident,),) = sql(
        live,
        "INSERT INTO incident (category, severity, grid_code, community_code, street_code, status, "
        "description, geom) SELECT :c, 'important', g.code, g.community_code, CAST(:s AS text), 'reported', "
        "'看板测试：人行道垃圾堆放', ST_PointOnSurface(g.geom) FROM grid g "
        "WHERE g.code LIKE CAST(:s AS text) || '%' AND g.valid_to IS NULL ORDER BY g.code LIMIT 1 "
        "RETURNING id",
        c=CATEGORY,
        s=STREET,
    )
    return int(incident)


def state(live: Live, incident: int) -> tuple[str, int]:
    ((status, version),) = sql(
        live, "SELECT status, version FROM incident WHERE id = :i", i=incident
    )
    return str(status), int(version)


def step(
    page: Page, name: str, *, within: str = "#pane", fill: dict[str, str] | None = None
) -> None:
    """Clicks the step's button in the pane, fills its form with the keyboard and sends it."""
    page.locator(f"{within} .steps button[data-step='{name}']").first.click()
    form = page.locator(f"#pane form.step-form[data-step='{name}']")
    expect(form).to_be_visible()
    for field, value in (fill or {}).items():
        form.locator(f"[name='{field}']").click()
        page.keyboard.type(value)
    form.locator("button[type='submit']").click()


def open_incident(page: Page, queue: str, incident: int) -> None:
    tab(page, queue)
    row = page.locator(f"#rows tbody tr[data-id='{incident}']")
    expect(row).to_be_visible(timeout=3_000)
    row.locator("td:nth-child(4)").click()
    expect(page.locator("#pane")).to_have_attribute("data-id", str(incident))


def seen_within_two_seconds(page: Page, live: Live, incident: int) -> None:
    """The other dispatcher's open pane shows the incident's current version within 2 s."""
    _, version = state(live, incident)
    expect(page.locator("#pane")).to_have_attribute("data-version", str(version), timeout=2_000)


def test_the_closed_loop_through_the_board(
    browser: Browser, contexts: list[BrowserContext], live: Live
) -> None:
    lead, partner = seed_whistle(live)
    incident = reported(live)
    me = board(browser, contexts, live, token(live, "street", STREET, "学院路指挥中心"))
    other = board(browser, contexts, live, token(live, "street", STREET, "学院路值班长"))

    # 受理: from the queue to the street's pool; the other dispatcher sees it at once.
    open_incident(me, "to_accept", incident)
    open_incident(other, "to_accept", incident)
    step(me, "accept")
    expect(me.locator("#pane .message")).to_contain_text("受理立案")
    assert state(live, incident)[0] == "pooled"
    seen_within_two_seconds(other, live, incident)

    step(me, "claim")
    expect(me.locator("#pane .steps button[data-step='whistle']")).to_be_visible()
    assert state(live, incident)[0] == "dispatched"
    seen_within_two_seconds(other, live, incident)

    # 吹哨: the whistle list's two departments come ticked.
    me.locator("#pane .steps button[data-step='whistle']").click()
    form = me.locator("#pane form.step-form[data-step='whistle']")
    ticked = form.locator("input[name='departments']:checked")
    expect(ticked).to_have_count(2)
    assert sorted(ticked.evaluate_all("xs => xs.map(x => x.value)")) == sorted([lead, partner])
    me.screenshot(path=SHOTS.format("whistle-form"))
    form.locator("button[type='submit']").click()
    expect(me.locator("#pane .task")).to_have_count(2)
    assert state(live, incident)[0] == "handling"
    tasks = sql(
        live,
        "SELECT assignee_code, state, suggested FROM incident_task WHERE incident_id = :i "
        "ORDER BY assignee_code",
        i=incident,
    )
    assert [tuple(t) for t in tasks] == [(lead, "assigned", True), (partner, "assigned", True)]
    seen_within_two_seconds(other, live, incident)

    # Each department reports in and answers on its own board.
    for answered, (code, words) in enumerate(
        ((lead, "已清运完毕"), (partner, "已修复破损护栏")), 1
    ):
        with Session(live.engine) as session, session.begin():
            secret, _ = create_token(session, holder=Holder("department", department=code))
        dept = board(browser, contexts, live, secret)
        expect(dept.locator("#tabs button[data-queue='mine'] .count")).to_have_text("1")
        open_incident(dept, "mine", incident)
        step(dept, "report_in", within="#pane .task")
        expect(dept.locator("#pane .task[data-state='working']")).to_have_count(1)
        step(dept, "answer", within="#pane .task", fill={"note": words})
        expect(dept.locator("#pane .task[data-state='answered']")).to_have_count(answered)
        seen_within_two_seconds(other, live, incident)
        dept.screenshot(path=SHOTS.format(f"department-{code}"))
    assert state(live, incident)[0] == "resolved"

    # 结案 and 考评 by the street that owns it.
    expect(me.locator("#pane .steps button[data-step='close']")).to_be_visible(timeout=2_000)
    step(me, "close", fill={"note": "核查属实，已办结"})
    expect(me.locator("#pane .steps button[data-step='evaluate']")).to_be_visible()
    seen_within_two_seconds(other, live, incident)
    step(me, "evaluate", fill={"score": "95"})
    expect(me.locator("#pane .message")).to_contain_text("考评")
    seen_within_two_seconds(other, live, incident)
    ((status, score),) = sql(live, "SELECT status, score FROM incident WHERE id = :i", i=incident)
    assert (status, score) == ("evaluated", 95)
    actions = [
        a
        for (a,) in sql(
            live,
            "SELECT action FROM incident_event WHERE incident_id = :i ORDER BY seq",
            i=incident,
        )
    ]
    for expected in ("accept", "claim", "whistle", "report_in", "answer", "close", "evaluate"):
        assert expected in actions, actions
    me.screenshot(path=SHOTS.format("evaluated"))


def test_a_stale_click_is_refused_once_and_reloaded(
    browser: Browser, contexts: list[BrowserContext], live: Live
) -> None:
    seed_whistle(live)
    incident = reported(live)
    me = board(browser, contexts, live, token(live, "street", STREET, "学院路指挥中心"))
    other = board(browser, contexts, live, token(live, "street", STREET, "学院路值班长"))
    open_incident(me, "to_accept", incident)
    open_incident(other, "to_accept", incident)
    # The other dispatcher starts to cancel it; meanwhile this one accepts it.
    other.locator("#pane .steps button[data-step='cancel']").click()
    reason = other.locator("#pane form.step-form[data-step='cancel'] [name='reason']")
    reason.click()
    other.keyboard.type("重复上报")
    step(me, "accept")
    expect(me.locator("#pane .message")).to_contain_text("受理立案")
    _, version = state(live, incident)
    other.locator("#pane form.step-form[data-step='cancel'] button[type='submit']").click()
    expect(other.locator("#pane .message")).to_have_text("此事件已被他人更新，已刷新")
    expect(other.locator("#pane")).to_have_attribute("data-version", str(version))
    other.screenshot(path=SHOTS.format("stale"))
    assert state(live, incident) == ("pooled", version)
    ((cancels, accepts),) = sql(
        live,
        "SELECT count(*) FILTER (WHERE action = 'cancel'), count(*) FILTER (WHERE action = 'accept') "
        "FROM incident_event WHERE incident_id = :i",
        i=incident,
    )
    assert (cancels, accepts) == (0, 1)


def test_assessment_ranks_a_month_in_a_table_and_a_chart(
    browser: Browser, contexts: list[BrowserContext], live: Live
) -> None:
    page = board(browser, contexts, live, token(live, "district", DISTRICT, "海淀区指挥中心"))
    tab(page, "assess")
    page.locator("#a-month").fill("2026-09")
    page.locator("#a-group").select_option("street")
    page.locator("#assess-form button[type='submit']").click()
    rows = page.locator("#a-table tbody tr")
    expect(rows.first).to_be_visible(timeout=5_000)
    expect(page.locator("#a-table thead")).to_contain_text("按时办结率")
    assert page.locator("#a-chart").evaluate("c => c.width > 0 && !!window.Chart")
    csv = page.locator("#a-csv").get_attribute("href") or ""
    assert "group_by=street" in csv and "month=2026-09" in csv and "format=csv" in csv
    assert "format=xlsx" in (page.locator("#a-xlsx").get_attribute("href") or "")
    page.screenshot(path=SHOTS.format("assessment"))
    with page.expect_download() as got:
        page.locator("#a-csv").click()
    assert got.value.suggested_filename == "assessment-street-2026-09.csv"
    header = Path(got.value.path()).read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("排名,") and "按期办结率" in header, header
    # Ranked by the API: the table keeps its order, names in words.
    first = page.locator("#a-table tbody tr").first.locator("td").nth(1).inner_text()
    assert not first.isdigit(), first
    for group in ("worker", "department"):
        page.locator("#a-group").select_option(group)
        page.locator("#assess-form button[type='submit']").click()
        expect(page.locator("#status")).to_contain_text("2026-09")
    page.screenshot(path=SHOTS.format("assessment-department"))


def test_bulk_accept_of_ticked_rows(
    browser: Browser, contexts: list[BrowserContext], live: Live
) -> None:
    seed_whistle(live)
    first, second = reported(live), reported(live)
    page = board(browser, contexts, live, token(live, "street", STREET, "学院路指挥中心"))
    tab(page, "to_accept")
    for incident in (first, second):
        page.locator(f"#rows tbody tr[data-id='{incident}'] input.pick").click()
    expect(page.locator("#bulk-count")).to_have_text("已选 2 件")
    page.locator("#bulk-accept").click()
    expect(page.locator("#status")).to_contain_text("成功 2 件")
    assert state(live, first)[0] == state(live, second)[0] == "pooled"
    expect(page.locator(f"#rows tbody tr[data-id='{first}']")).to_have_count(0, timeout=2_000)


def test_an_extension_asked_by_the_street_is_approved_by_the_district(
    browser: Browser, contexts: list[BrowserContext], live: Live
) -> None:
    seed_whistle(live)
    incident = reported(live)
    sql(
        live,
        "UPDATE incident SET status = 'dispatched', owner_code = :s, dispatched_at = now(), "
        "dispatch_mode = 'claim', due_at = now() + interval '90 minutes', version = version + 1 "
        "WHERE id = :i",
        s=STREET,
        i=incident,
    )
    ((due_before,),) = sql(live, "SELECT due_at FROM incident WHERE id = :i", i=incident)
    street = board(browser, contexts, live, token(live, "street", STREET, "学院路指挥中心"))
    open_incident(street, "dispatched", incident)
    left = street.locator(f"#rows tbody tr[data-id='{incident}'] td.left")
    expect(left).to_have_class("left amber")
    step(street, "request_extend", fill={"reason": "需协调物业", "hours": "24"})
    expect(street.locator("#pane .approval")).to_contain_text("待审批")

    district = board(browser, contexts, live, token(live, "district", DISTRICT, "海淀区指挥中心"))
    ((pending,),) = sql(
        live,
        "SELECT count(*) FROM approval WHERE decision = 'pending' AND decider_code = :d",
        d=DISTRICT,
    )
    count = district.locator("#tabs button[data-queue='approvals'] .count")
    expect(count).to_have_text(str(pending))
    open_incident(district, "approvals", incident)
    step(district, "approve", within="#pane .approval")
    expect(district.locator("#pane .approval")).to_contain_text("已批准")
    district.screenshot(path=SHOTS.format("approved"))
    ((due_after, decision),) = sql(
        live,
        "SELECT i.due_at, a.decision FROM incident i JOIN approval a ON a.incident_id = i.id "
        "WHERE i.id = :i",
        i=incident,
    )
    assert decision == "approved" and due_after > due_before
    expect(count).to_have_text(str(pending - 1))


def test_the_district_dispatches_from_its_queue_to_the_street_holding_the_point(
    browser: Browser, contexts: list[BrowserContext], live: Live
) -> None:
    seed_whistle(live)
    incident = reported(live)
    sql(
        live,
        "UPDATE incident SET status = 'queued', owner_code = :d, version = version + 1 "
        "WHERE id = :i",
        d=DISTRICT,
        i=incident,
    )
    page = board(browser, contexts, live, token(live, "district", DISTRICT, "海淀区指挥中心"))
    open_incident(page, "to_dispatch", incident)
    page.locator("#pane .steps button[data-step='dispatch']").click()
    street = page.locator("#pane form.step-form[data-step='dispatch'] select[name='street']")
    expect(street).to_have_value(STREET)
    assert street.locator("option").count() > 1
    page.locator("#pane form.step-form[data-step='dispatch'] button[type='submit']").click()
    expect(page.locator("#pane .message")).to_contain_text("派单")
    ((status, owner, mode),) = sql(
        live, "SELECT status, owner_code, dispatch_mode FROM incident WHERE id = :i", i=incident
    )
    assert (status, owner, mode) == ("dispatched", STREET, "dispatch")
