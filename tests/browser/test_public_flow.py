"""The three lists run by the people they name, end to end in browsers: a resident orders on a
community's public page (群众点单), the grid's branch secretary finds the need on the office map
and assigns it (支部派单), a Party member takes it on and reports it done (党员接单), and the public
page shows it done with no one's name or phone on it; the fourth need in an hour is refused in
words; every other refusal is in words too; the page works at phone width and in English."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.browser.conftest import Live
from tests.utils.org import add_member, add_org, branch_bearer, member_bearer

COMMUNITY = "110108010021"  # 石科院社区, 学院路街道
# Generated people (for this test only): the resident who orders and the member who does it.
RESIDENT_NAME, RESIDENT_PHONE = "示例居民林秀英", "13912345678"
MEMBER_NAME, MEMBER_PHONE = "示例党员周明远", "13700001111"
SHOTS = Path(tempfile.gettempdir()) / "gridmap-public-shots"


@dataclass
class Branch:
    """The grid the need is placed in, a point inside it, its branch and one of its members."""

    grid: str
    grid_name: str
    lon: float
    lat: float
    org: int
    member: int
    branch_token: str
    member_token: str


def sql(live: Live, statement: str, **params: Any) -> list[Any]:
    with live.engine.begin() as conn:
        result = conn.execute(text(statement), params)
        return list(result.all()) if result.returns_rows else []


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.fixture(scope="module")
def branch(own_live: Live) -> Branch:
    """The community's largest basic grid, a point inside both it and the community, the grid's
    Party branch (the demo's, or one made here) with a new member, and both their tokens."""
    with Session(own_live.engine) as db, db.begin():
        grid, name, lon, lat = db.execute(
            text(
                "SELECT g.code, g.name, ST_X(p.pt), ST_Y(p.pt) FROM grid g JOIN region r ON "
                "r.code = g.community_code, LATERAL (SELECT ST_PointOnSurface("
                "ST_Intersection(g.geom, r.geom)) AS pt) p WHERE g.valid_to IS NULL AND "
                "g.community_code = :c AND g.kind = 'basic' ORDER BY ST_Area(g.geom) DESC LIMIT 1"
            ),
            {"c": COMMUNITY},
        ).one()
        org = db.execute(
            text("SELECT org_id FROM party_org_grid WHERE grid_code = :g"), {"g": grid}
        ).scalar()
        if org is None:
            committee = add_org(db, "committee", "T-PUB-C", "石科院社区大党委", COMMUNITY)
            org = add_org(
                db, "branch", "T-PUB-B", f"{name}党支部", COMMUNITY, parent=committee, grids=(grid,)
            )
        member = add_member(db, MEMBER_NAME, MEMBER_PHONE, org=org)
        branch_token = branch_bearer(db, org)["Authorization"].removeprefix("Bearer ")
        member_token = member_bearer(db, member)["Authorization"].removeprefix("Bearer ")
    return Branch(grid, name, lon, lat, org, member, branch_token, member_token)


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for c in made:
        c.close()


@pytest.fixture(autouse=True)
def a_new_hour(own_live: Live) -> None:
    """Each test starts with no public submission in the last hour."""
    sql(own_live, "DELETE FROM public_submission")


def open_page(
    browser: Browser,
    contexts: list[BrowserContext],
    url: str,
    *,
    width: int = 1400,
    height: int = 900,
    ready: str = "true",
) -> Page:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    contexts.append(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    setattr(page, "errors", errors)  # noqa: B010
    page.goto(url)
    page.wait_for_selector(f"body[data-ready='{ready}']", timeout=20_000)
    return page


def public_page(browser: Browser, contexts: list[BrowserContext], live: Live, **kw: Any) -> Page:
    return open_page(browser, contexts, f"{live.base}/public/{COMMUNITY}", **kw)


def pixel(page: Page, lon: float, lat: float) -> tuple[float, float]:
    """Where a WGS84 point is on the page's map (read from the map; the click is the mouse's)."""
    xy: Any = page.evaluate(
        "([lon, lat]) => { const m = window.gridmap.map; const p = m.latLngToContainerPoint("
        "[lat, lon]); const r = m.getContainer().getBoundingClientRect();"
        " return [p.x + r.left, p.y + r.top]; }",
        [lon, lat],
    )
    return float(xy[0]), float(xy[1])


def tap(page: Page, lon: float, lat: float) -> None:
    x, y = pixel(page, lon, lat)
    page.mouse.click(x, y)


def type_into(page: Page, selector: str, value: str) -> None:
    page.locator(selector).click()
    page.keyboard.type(value)


def fill_need(
    page: Page, title: str, *, category: str = "助老服务", description: str = "", wish: bool = False
) -> None:
    """Type a need into the form as a resident does (the point is chosen on the map first)."""
    type_into(page, "#need-title", title)
    page.locator("#need-category").select_option(category)
    if description:
        type_into(page, "#need-description", description)
    if wish:
        page.locator("#need-wish").check()


def send(page: Page) -> str:
    page.locator("#need-send").click()
    result = page.locator("#need-result")
    expect(result).not_to_be_empty(timeout=10_000)
    expect(page.locator("#need-send")).to_be_enabled()
    return result.inner_text()


def sent_code(said: str) -> str:
    """The need's code in the words the page answered with."""
    found = re.search(r"编号 (\S+)，", said)
    assert found, said
    return found.group(1)


def sign_in(page: Page, token: str) -> None:
    """The office map's sign-in, as a person does it: the button, the token typed, Enter."""
    page.locator("#token-btn").click()
    page.locator("#signin-token").click()
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    expect(page.locator("#signin-who")).to_be_visible(timeout=10_000)


def office_map(browser: Browser, contexts: list[BrowserContext], live: Live, token: str) -> Page:
    """The office map signed in with ``token``, the lists layer on, flown to the grid's need."""
    page = open_page(browser, contexts, f"{live.base}/")
    sign_in(page, token)
    lists = page.locator(".leaflet-control-layers-overlays label", has_text="三张清单")
    lists.locator("input").check()
    return page


def find_need(page: Page, b: Branch, title: str) -> Any:
    """Fly to the grid by its code, click the need's point, answer its flow card."""
    box = page.locator("#search-q")
    box.click()
    box.fill(b.grid)
    box.press("Enter")
    page.wait_for_selector(f"body[data-highlight='{b.grid}']", timeout=10_000)
    page.wait_for_load_state("networkidle")
    card = page.locator(".list-flow", has_text=title)
    for _ in range(10):
        tap(page, b.lon, b.lat)
        page.wait_for_timeout(500)
        if card.count():
            break
        # The lists were not drawn yet, and the click opened the grid's card: close it, again.
        page.keyboard.press("Escape")
        page.wait_for_timeout(500)
    expect(card).to_be_visible(timeout=5_000)
    return card


def answering(status: int, body: dict[str, Any]) -> Any:
    """A route handler that answers every request with ``status`` and the JSON ``body``."""

    def handle(route: Any, _request: Any) -> None:
        route.fulfill(status=status, json=body)

    return handle


def in_words(page: Page) -> None:
    """No placeholder, raw code or missing value is shown on the page."""
    seen = page.locator("body").inner_text()
    for raw in ("{", "undefined", "null", "NaN", "p_", "in_progress", "too_many"):
        assert raw not in seen, raw


def names_nowhere(text_seen: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text_seen, secret


def test_a_residents_need_is_assigned_taken_done_and_shown_done_with_no_name(
    browser: Browser, contexts: list[BrowserContext], own_live: Live, branch: Branch
) -> None:
    live, b = own_live, branch
    title = "楼道扶手松动需要加固"
    public_before = sql(live, "SELECT count(*) FROM list_item WHERE source = 'public'")[0][0]

    # 群众点单: the resident taps the map, types, sends.
    resident = public_page(browser, contexts, live)
    expect(resident.locator("#p-name")).to_have_text("石科院社区")
    expect(resident.locator("#p-street")).to_have_text("学院路街道")
    tap(resident, b.lon, b.lat)
    expect(resident.locator("#need-point")).to_contain_text(b.grid_name)
    fill_need(resident, title, description="3单元2楼到3楼的扶手晃动，老人上下楼不安全")
    type_into(resident, "#need-contact-name", RESIDENT_NAME)
    type_into(resident, "#need-contact-phone", RESIDENT_PHONE)
    shot(resident, "1-resident-form")
    said = send(resident)
    code = sent_code(said)
    assert b.grid_name in said and "已收到" in said
    shot(resident, "2-resident-sent")
    # The contact is never shown back: the form is emptied and the page holds neither.
    assert resident.locator("#need-contact-name").input_value() == ""
    assert resident.locator("#need-contact-phone").input_value() == ""
    names_nowhere(resident.locator("body").inner_text(), RESIDENT_NAME, RESIDENT_PHONE)
    expect(resident.locator(f"ul.items li[data-code='{code}']")).to_contain_text("待对接")

    # In PostGIS: a public need of the grid, for its branch, at the tapped point, with its contact.
    row = sql(
        live,
        "SELECT source, org_id, grid_code, status, wish, contact_name, contact_phone, "
        "ST_X(geom), ST_Y(geom) FROM list_item WHERE code = :c",
        c=code,
    )[0]
    assert row[:7] == ("public", b.org, b.grid, "open", False, RESIDENT_NAME, RESIDENT_PHONE)
    assert row[7] == pytest.approx(b.lon, abs=2e-5) and row[8] == pytest.approx(b.lat, abs=2e-5)
    assert sql(live, "SELECT count(*) FROM list_item WHERE source = 'public'")[0][0] == (
        public_before + 1
    )

    # 支部派单: the branch secretary finds it on the map in the lists layer and assigns it.
    secretary = office_map(browser, contexts, live, b.branch_token)
    card = find_need(secretary, b, title)
    expect(card).to_contain_text("待对接")
    card.locator("button.list-assign").click()
    whom = card.locator("select.assign-whom")
    expect(whom.locator(f"option[value='{b.member}']")).to_have_count(1, timeout=10_000)
    whom.select_option(str(b.member))
    card.locator("button.assign-send").click()
    expect(secretary.locator(".list-flow[data-status='assigned']")).to_be_visible(timeout=10_000)
    shot(secretary, "3-secretary-assigned")
    assigned = sql(
        live,
        "SELECT status, assignee_kind, member_id, assigned_at IS NOT NULL FROM list_item "
        "WHERE code = :c",
        c=code,
    )[0]
    assert tuple(assigned) == ("assigned", "member", b.member, True)

    # 党员接单: the member (another browser) takes it on and reports it done with hours.
    hours_before = sql(live, "SELECT hours_served FROM party_member WHERE id = :m", m=b.member)[0][
        0
    ]
    member = office_map(browser, contexts, live, b.member_token)
    card = find_need(member, b, title)
    card.locator("button.list-claim").click()
    expect(member.locator(".list-flow[data-status='in_progress']")).to_be_visible(timeout=10_000)
    card = member.locator(".list-flow[data-status='in_progress']")
    card.locator("button.list-complete").click()
    card.locator("textarea.complete-report").click()
    member.keyboard.type(f"已上门加固扶手，{MEMBER_NAME}（{MEMBER_PHONE}）回访了{RESIDENT_NAME}")
    hours = card.locator("input.complete-hours")
    hours.click()
    hours.press("Control+a")
    member.keyboard.type("2.5")
    card.locator("button.complete-send").click()
    expect(member.locator(".list-flow[data-status='done']")).to_be_visible(timeout=10_000)
    shot(member, "4-member-done")
    done = sql(
        live,
        "SELECT l.status, l.member_id, l.hours, l.done_at IS NOT NULL, m.hours_served "
        "FROM list_item l JOIN party_member m ON m.id = l.member_id WHERE l.code = :c",
        c=code,
    )[0]
    assert tuple(done[:4]) == ("done", b.member, 2.5, True)
    assert float(done[4]) == pytest.approx(float(hours_before) + 2.5)

    # 公开: the public page shows it done, with its steps dated, and nobody's name or phone.
    resident.reload()
    resident.wait_for_selector("body[data-ready='true']", timeout=20_000)
    item = resident.locator(f"ul.items li[data-code='{code}']")
    expect(item).to_contain_text("已完成")
    for step in ("提出", "派单", "接单", "完成"):
        expect(item.locator("ol.steps li.reached", has_text=step)).to_have_count(1)
    expect(resident.locator("#p-count-list li[data-state='done']")).to_be_visible()
    shot(resident, "5-public-done")
    secrets = (RESIDENT_NAME, RESIDENT_PHONE, MEMBER_NAME, MEMBER_PHONE, "已上门加固扶手")
    for tab in resident.locator("#p-tabs button").all():
        tab.click()
        names_nowhere(resident.locator("body").inner_text(), *secrets)
        in_words(resident)
    answer = httpx.get(f"{live.base}/api/v1/public/{COMMUNITY}").text
    names_nowhere(answer, *secrets)
    assert code in answer

    # The English switch, once: the same page in words of the other language.
    resident.locator("#lang-btn").click()
    resident.locator("#p-tabs button[data-tab='needs']").click()
    expect(resident.locator(f"ul.items li[data-code='{code}']")).to_contain_text("Done")
    expect(resident.locator(f"ul.items li[data-code='{code}'] .meta")).to_contain_text(
        "Elderly care"
    )
    expect(resident.locator("#need-head")).to_have_text("Ask the community for help")
    expect(resident.locator("#lang-btn")).to_have_text("中文")
    shot(resident, "6-public-english")
    in_words(resident)
    for page in (resident, secretary, member):
        assert page.errors == [], page.errors  # type: ignore[attr-defined]


def test_the_fourth_need_in_an_hour_is_refused_in_words_with_when_to_try_again(
    browser: Browser, contexts: list[BrowserContext], own_live: Live, branch: Branch
) -> None:
    live, b = own_live, branch
    page = public_page(browser, contexts, live)
    tap(page, b.lon, b.lat)
    # Text from a resident is shown as text, never read as HTML.
    titles = ["<b>井盖</b>松动", "路灯不亮 & 漏电？", "需要代取药品"]
    codes = []
    for title in titles:
        fill_need(page, title, category="环境整治", wish=title == titles[2])
        said = send(page)
        assert "已收到" in said, said
        codes.append(sent_code(said))
    expect(page.locator("#p-tabs button[data-tab='wishes'][aria-selected='true']")).to_be_visible()
    page.locator("#p-tabs button[data-tab='needs']").click()
    expect(page.locator(f"ul.items li[data-code='{codes[0]}'] strong")).to_have_text(titles[0])
    assert page.locator("ul.items b").count() == 0

    fill_need(page, "第四个需求", category="其他")
    said = send(page)
    shot(page, "7-public-429")
    in_words(page)
    m = re.search(r"请在 (\d\d):(\d\d)（约 (\d+) 分钟后）再试", said)
    assert m, said
    assert int(m.group(3)) in (59, 60) and "{" not in said
    beijing = (datetime.now(UTC) + timedelta(hours=1)).astimezone(ZoneInfo("Asia/Shanghai"))
    shown = beijing.replace(hour=int(m.group(1)), minute=int(m.group(2)))
    assert abs((shown - beijing).total_seconds()) <= 120
    assert "请在" in page.locator("#need-result.error").inner_text()
    assert sql(live, "SELECT count(*) FROM list_item WHERE title = '第四个需求'")[0][0] == 0
    # The refused need stays in the form, to be sent later.
    assert page.locator("#need-title").input_value() == "第四个需求"
    assert page.errors == []  # type: ignore[attr-defined]


def test_every_refusal_is_in_words_and_writes_nothing(
    browser: Browser, contexts: list[BrowserContext], own_live: Live, branch: Branch
) -> None:
    live, b = own_live, branch
    before = sql(live, "SELECT count(*) FROM list_item")[0][0]
    page = public_page(browser, contexts, live)

    assert "请先在地图上点击" in send(page)
    tap(page, b.lon, b.lat)
    assert send(page) == "请填写标题"
    type_into(page, "#need-title", "   ")
    assert send(page) == "请填写标题"
    type_into(page, "#need-title", "门口台阶破损")
    assert send(page) == "请选择类别"
    page.locator("#need-category").select_option("其他")
    type_into(page, "#need-contact-phone", "电话abc")
    assert "电话号码格式不对" in send(page)
    page.locator("#need-contact-phone").fill("")

    # A place outside the community: said when tapped, and the form is not sent.
    x, y = pixel(page, b.lon, b.lat)
    left = page.locator("#p-map").bounding_box()
    assert left is not None
    page.mouse.click(left["x"] + 8, left["y"] + left["height"] - 30)
    expect(page.locator("#need-point.outside")).to_contain_text("不在石科院社区范围内")
    assert "不在石科院社区范围内" in send(page)
    page.mouse.click(x, y)
    expect(page.locator("#need-point.chosen")).to_be_visible()

    # What only the server can say, and the server away.
    post = f"**/api/v1/public/{COMMUNITY}/needs"
    answers = [
        (422, {"detail": "x", "code": "outside_community"}, "不在本社区范围内"),
        (
            422,
            {
                "detail": "x",
                "code": "invalid_input",
                "errors": [{"loc": ["body", "contact_phone"]}],
            },
            "电话号码格式不对",
        ),
        (500, {"detail": "internal error", "code": "internal_error"}, "服务器暂时出错"),
        (503, {"detail": "db", "code": "database_unavailable"}, "无法访问"),
    ]
    for status, body, words in answers:
        page.route(post, answering(status, body))
        said = send(page)
        assert words in said, (status, said)
        assert body["detail"] not in said and body["code"] not in said
        page.unroute(post)
    page.route(post, lambda r: r.abort())
    assert "网络不通" in send(page)
    page.unroute(post)
    shot(page, "8-public-refused")
    assert sql(live, "SELECT count(*) FROM list_item")[0][0] == before
    assert page.errors == []  # type: ignore[attr-defined]


def test_an_unknown_community_is_said_in_words(
    browser: Browser, contexts: list[BrowserContext], own_live: Live
) -> None:
    page = open_page(browser, contexts, f"{own_live.base}/public/110108010999", ready="missing")
    expect(page.locator("#p-message")).to_have_text(re.compile("没有找到这个社区（110108010999）"))
    expect(page.locator("#need-form")).to_be_hidden()
    page.locator("#lang-btn").click()
    expect(page.locator("#p-message")).to_contain_text("There is no community 110108010999")


def test_the_page_reads_on_a_phone_and_a_tap_places_the_need(
    browser: Browser, contexts: list[BrowserContext], own_live: Live, branch: Branch
) -> None:
    page = public_page(browser, contexts, own_live, width=390, height=844)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    tap(page, branch.lon, branch.lat)
    expect(page.locator("#need-point.chosen")).to_contain_text(branch.grid_name)
    send_box = page.locator("#need-send").bounding_box()
    assert send_box is not None and send_box["x"] + send_box["width"] <= 390
    shot(page, "9-phone-top")
    for tab in page.locator("#p-tabs button").all():
        box = tab.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390
    page.mouse.wheel(0, -100_000)
    page.screenshot(path=str(SHOTS / "10-phone-full.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]
