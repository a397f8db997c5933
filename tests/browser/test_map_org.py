"""The Party organisation on the office map, driven by the mouse and keyboard: grids without a
branch drawn red, a grid's branch, team and members (masked for a viewer, named for the community
office), the office changing the grid team (add, change, move, retire: checked in grid_staff), the
warnings layer off until ticked, the tree panel zooming to a branch, English, and a need assigned
by the branch and taken on and reported done by a member (checked in list_item)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.browser import people
from tests.browser.conftest import Live

from gridmap.auth import Holder, create_token

COMMUNITY = "110108010019"
ORG = "党组织"
WARNINGS = "网格提醒"
# Generated people of the test (not real persons).
MEMBERS = ("测试党员甲", "测试党员乙")
NO_BRANCH_FILL = "#e53935"
BRANCH_FILL = "#66bb6a"


@dataclass
class Org:
    """The organisation the tests set up in one community, and the tokens of its people."""

    bare: str  # a grid left without a branch
    grid: str  # a grid with a branch, members and a team
    branch: str  # that grid's branch's name
    member_id: int
    office: str  # the community office's token
    branch_token: str
    member_token: str
    need_id: int


def _one(live: Live, sql: str, **params: object) -> object:
    with live.engine.connect() as c:
        return c.execute(text(sql), params).scalar()


@pytest.fixture(scope="module")
def org(own_live: Live) -> Org:
    """A committee for the community, a branch in every grid but one, two members of one branch,
    a need in that grid; the tokens of the community office, the branch and a member."""
    with Session(own_live.engine) as s, s.begin():
        grids = list(
            s.execute(
                text(
                    "SELECT code FROM grid WHERE community_code = :c AND valid_to IS NULL "
                    "ORDER BY code"
                ),
                {"c": COMMUNITY},
            ).scalars()
        )
        bare, grid = grids[-1], grids[0]
        committee = s.execute(
            text("SELECT id FROM party_org WHERE kind = 'committee' AND community_code = :c"),
            {"c": COMMUNITY},
        ).scalar()
        if committee is None:
            committee = s.execute(
                text(
                    "INSERT INTO party_org (code, kind, name, community_code) "
                    "VALUES ('T-C19', 'committee', '测试社区大党委', :c) RETURNING id"
                ),
                {"c": COMMUNITY},
            ).scalar_one()
        s.execute(text("DELETE FROM party_org_grid WHERE grid_code = :g"), {"g": bare})
        for i, code in enumerate(grids[:-1]):
            if s.execute(
                text("SELECT 1 FROM party_org_grid WHERE grid_code = :g"), {"g": code}
            ).scalar():
                continue
            branch_id = s.execute(
                text(
                    "INSERT INTO party_org (code, kind, name, parent_id, community_code) "
                    "VALUES (:code, 'branch', :name, :p, :c) RETURNING id"
                ),
                {
                    "code": f"T-B{i}",
                    "name": f"测试第{i + 1}网格党支部",
                    "p": committee,
                    "c": COMMUNITY,
                },
            ).scalar_one()
            s.execute(
                text("INSERT INTO party_org_grid (org_id, grid_code) VALUES (:o, :g)"),
                {"o": branch_id, "g": code},
            )
        branch_id, branch = s.execute(
            text(
                "SELECT o.id, o.name FROM party_org o JOIN party_org_grid g ON g.org_id = o.id "
                "WHERE g.grid_code = :g"
            ),
            {"g": grid},
        ).one()
        member_ids = []
        for n, name in enumerate(MEMBERS):
            person = s.execute(
                text("INSERT INTO person (name, phone) VALUES (:n, :p) RETURNING id"),
                {"n": name, "p": f"1390000{n:04d}"},
            ).scalar_one()
            member_ids.append(
                s.execute(
                    text(
                        "INSERT INTO party_member (person_id, org_id) VALUES (:p, :o) RETURNING id"
                    ),
                    {"p": person, "o": branch_id},
                ).scalar_one()
            )
        lon, lat = s.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grid "
                "WHERE code = :g AND valid_to IS NULL) x"
            ),
            {"g": grid},
        ).one()
        need_id = s.execute(
            text(
                "INSERT INTO list_item (code, list, category, title, owner_kind, status, "
                "grid_code, source, org_id, geom) VALUES ('T-NEED-1', 'need', '助老', "
                "'测试：帮独居老人买菜', 'resident', 'open', :g, 'worker', :o, "
                "ST_SetSRID(ST_MakePoint(:x, :y), 4326)) RETURNING id"
            ),
            {"g": grid, "o": branch_id, "x": lon, "y": lat},
        ).scalar_one()
        office, _ = create_token(s, name="测试社区居委会", role="community", region=COMMUNITY)
        branch_token, _ = create_token(s, holder=Holder("party_org", org=int(branch_id)))
        person_of = s.execute(
            text("SELECT person_id FROM party_member WHERE id = :m"), {"m": member_ids[0]}
        ).scalar_one()
        member_token, _ = create_token(s, holder=Holder("party_member", person=int(person_of)))
    return Org(
        bare=bare,
        grid=grid,
        branch=str(branch),
        member_id=int(member_ids[0]),
        office=office,
        branch_token=branch_token,
        member_token=member_token,
        need_id=int(need_id),
    )


@pytest.fixture
def page(browser: Browser, own_live: Live, org: Org) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(own_live.base + "/")
    page.wait_for_selector("body[data-ready='true']", timeout=20_000)
    yield page
    context.close()
    assert errors == []


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("map-org")


def _tick(page: Page, name: str) -> None:
    box = page.locator(".leaflet-control-layers-overlays label", has_text=name).locator("input")
    box.click()
    assert box.is_checked()


def _sign_in(page: Page, token: str) -> str:
    page.locator("#token-btn").click()
    page.locator("#signin-token").click()
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => { const w = document.querySelector('#signin-who'); return w && !w.hidden"
        " && w.textContent; }",
        timeout=10_000,
    )
    return page.locator("#signin-who").inner_text()


def _inside(live: Live, code: str) -> tuple[float, float]:
    with live.engine.connect() as c:
        lon, lat = c.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grid "
                "WHERE code = :c AND valid_to IS NULL) x"
            ),
            {"c": code},
        ).one()
    return float(lon), float(lat)


def _fly(page: Page, code: str) -> None:
    people.search(page, code)


def _org_on(page: Page) -> None:
    _tick(page, ORG)
    page.wait_for_selector("body[data-org-layer]", timeout=30_000)


def _open_grid_panel(page: Page, live: Live, code: str) -> None:
    """Click inside the grid on the map (the org layer on): its organisation fills the panel."""
    page.locator(f"path.org-grid-{code}").wait_for(state="attached", timeout=30_000)
    if page.locator("#panel").is_visible():
        page.locator("#panel-close").click()
    people.click(page, _inside(live, code))
    page.locator(f".org-panel[data-grid='{code}']:not([aria-busy])").wait_for(timeout=15_000)


def test_a_grid_without_a_branch_is_drawn_red(
    page: Page, own_live: Live, org: Org, shots: Path
) -> None:
    _fly(page, org.bare)
    _org_on(page)
    # The fill of the path under the grid's inner point, as the screen shows it.
    x, y = people.pixel(page, *_inside(own_live, org.bare))
    under = page.evaluate(
        "([x, y]) => { const e = document.elementFromPoint(x, y);"
        " return e ? [e.getAttribute('class') || '', e.getAttribute('fill') || ''] : null; }",
        [x, y],
    )
    assert under is not None and "no-branch" in under[0] and under[1] == NO_BRANCH_FILL, under
    assert page.locator(f"path.org-grid-{org.grid}").get_attribute("fill") == BRANCH_FILL
    # exactly the grids of the view without a branch are red (PostGIS says which have none)
    with own_live.engine.connect() as c:
        bare_here = set(
            c.execute(
                text(
                    "SELECT code FROM grid WHERE community_code = :c AND valid_to IS NULL "
                    "AND code NOT IN (SELECT grid_code FROM party_org_grid)"
                ),
                {"c": COMMUNITY},
            ).scalars()
        )
    red = set(
        page.evaluate(
            "() => [...document.querySelectorAll('path.org-grid.no-branch')]"
            ".map((p) => [...p.classList].find((c) => /^org-grid-\\d+$/.test(c)).slice(9))"
        )
    )
    assert org.bare in red and {g for g in red if g.startswith(COMMUNITY)} == bare_here
    legend = page.locator("#legend").inner_text()
    assert "未建网格党支部" in legend and "党员中心户" in legend
    assert float(page.evaluate("document.body.dataset.orgMs")) >= 0
    page.screenshot(path=str(shots / "org-layer.png"))


def test_a_grids_organisation_masked_for_a_viewer_named_for_the_office(
    page: Page, own_live: Live, org: Org, shots: Path
) -> None:
    _fly(page, org.grid)
    _org_on(page)
    _open_grid_panel(page, own_live, org.grid)
    panel = page.locator(".org-panel").inner_text()
    assert org.branch in panel and "网格党支部" in panel
    assert "网格长" in panel or "网格员" in panel  # the demo's team, roles in words
    assert "已隐去" in panel
    for name in MEMBERS:
        assert name not in panel
    assert page.locator(".org-panel .member").count() >= len(MEMBERS)
    assert page.locator(".org-panel button.team-add").count() == 0
    page.screenshot(path=str(shots / "grid-viewer.png"))
    _sign_in(page, org.office)
    _open_grid_panel(page, own_live, org.grid)
    panel = page.locator(".org-panel").inner_text()
    for name in MEMBERS:
        assert name in panel
    assert page.locator(".org-panel button.team-add").count() == 1
    page.screenshot(path=str(shots / "grid-office.png"))


def _staff(live: Live, name: str) -> list[tuple[int, str, str, str | None]]:
    with live.engine.connect() as c:
        return [
            (int(r[0]), r[1], r[2], r[3])
            for r in c.execute(
                text(
                    "SELECT s.id, s.grid_code, s.role, s.team FROM grid_staff s "
                    "JOIN person p ON p.id = s.person_id WHERE p.name = :n ORDER BY s.id"
                ),
                {"n": name},
            )
        ]


def test_the_office_adds_changes_moves_and_retires_a_team_member(
    page: Page, own_live: Live, org: Org, shots: Path
) -> None:
    name = "测试网格员丙"
    _sign_in(page, org.office)
    _fly(page, org.grid)
    # from the grid's popup, as without the org layer
    people.click(page, _inside(own_live, org.grid))
    page.locator(f".popup[data-grid='{org.grid}'] button.org-grid").click()
    page.locator(f".org-panel[data-grid='{org.grid}']:not([aria-busy])").wait_for(timeout=15_000)
    page.locator(".org-panel button.team-add").click()
    page.keyboard.type(name)  # the name field has the focus
    page.locator(".team-add-form .team-phone").click()
    page.keyboard.type("13912345678")
    page.locator(".team-add-form select.team-role").select_option("vanguard")
    page.locator(".team-add-form .team-team").click()
    page.keyboard.type("党员先锋队")
    page.locator(".team-add-form button.team-add-send").click()
    page.wait_for_selector(".org-message.ok", timeout=10_000)
    assert "已添加" in page.locator(".org-message").inner_text()
    rows = _staff(own_live, name)
    assert [(g, r, t) for _, g, r, t in rows] == [(org.grid, "vanguard", "党员先锋队")]
    staff_id = rows[0][0]
    row = page.locator(f".org-panel li.team-member[data-staff='{staff_id}']")
    assert "党员先锋队" in row.inner_text()
    # change the role
    row.locator("button.team-change").click()
    row.locator("select.team-role").select_option("volunteer")
    row.locator("button.team-save").click()
    page.locator(".org-message.ok", has_text="已修改").wait_for(timeout=10_000)
    assert _staff(own_live, name)[0][2] == "volunteer"
    # move to another grid of the office
    target = sorted(
        set(
            _one_all(
                own_live,
                "SELECT code FROM grid WHERE community_code = :c AND valid_to IS NULL",
                c=COMMUNITY,
            )
        )
        - {org.grid}
    )[0]
    row = page.locator(f".org-panel li.team-member[data-staff='{staff_id}']")
    row.locator("button.team-move").click()
    row.locator("select.team-move-to").select_option(target)
    page.screenshot(path=str(shots / "team-move.png"))
    row.locator("button.team-move-go").click()
    page.locator(".org-message.ok", has_text="已调往").wait_for(timeout=10_000)
    moved = _staff(own_live, name)
    assert [g for _, g, _, _ in moved] == [target]
    assert page.locator(f".org-panel li.team-member[data-staff='{moved[0][0]}']").count() == 0
    # retire, from the grid it now serves (confirmed first)
    _open_grid_panel_from_popup(page, own_live, target)
    row = page.locator(f".org-panel li.team-member[data-staff='{moved[0][0]}']")
    row.locator("button.team-retire").click()
    assert _staff(own_live, name) != []  # nothing happens before the confirmation
    row.locator("button.team-retire-yes").click()
    page.locator(".org-message.ok", has_text="已离任").wait_for(timeout=10_000)
    assert _staff(own_live, name) == []
    page.screenshot(path=str(shots / "team-retired.png"))


def _one_all(live: Live, sql: str, **params: object) -> list[str]:
    with live.engine.connect() as c:
        return [str(x) for x in c.execute(text(sql), params).scalars()]


def _open_grid_panel_from_popup(page: Page, live: Live, code: str) -> None:
    _fly(page, code)
    if page.locator("#panel").is_visible():
        page.locator("#panel-close").click()
    people.click(page, _inside(live, code))
    page.locator(f".popup[data-grid='{code}'] button.org-grid").click()
    page.locator(f".org-panel[data-grid='{code}']:not([aria-busy])").wait_for(timeout=15_000)


def test_a_refused_team_change_is_said_in_words_and_writes_nothing(
    page: Page, own_live: Live, org: Org
) -> None:
    """A grid worker named into an N: team is refused by the API; the page says why in words."""
    before = _one(own_live, "SELECT count(*) FROM grid_staff")
    _sign_in(page, org.office)
    _open_grid_panel_from_popup(page, own_live, org.grid)
    page.locator(".org-panel button.team-add").click()
    page.keyboard.type("测试网格员丁")
    page.locator(".team-add-form select.team-role").select_option("worker")
    page.locator(".team-add-form .team-team").click()
    page.keyboard.type("志愿服务队")
    page.locator(".team-add-form button.team-add-send").click()
    page.wait_for_selector(".org-message.error", timeout=10_000)
    said = page.locator(".org-message").inner_text()
    assert "未保存" in said and "所属队伍" in said and "staff_team_role" not in said, said
    assert _one(own_live, "SELECT count(*) FROM grid_staff") == before
    # an office of another community is offered no editing of this grid's team
    with Session(own_live.engine) as s, s.begin():
        other, _ = create_token(s, name="另一社区居委会", role="community", region="110108010021")
    page.locator("#token-btn").click()  # sign out
    _sign_in(page, other)
    _open_grid_panel_from_popup(page, own_live, org.grid)
    assert page.locator(".org-panel button.team-add").count() == 0
    assert page.locator(".org-panel button.team-retire").count() == 0


def test_the_warnings_layer_is_off_until_ticked(
    page: Page, own_live: Live, org: Org, shots: Path
) -> None:
    box = page.locator(".leaflet-control-layers-overlays label", has_text=WARNINGS).locator("input")
    assert not box.is_checked()
    assert WARNINGS not in page.locator("#legend").inner_text()
    assert page.locator("path.org-warning").count() == 0
    _fly(page, org.bare)
    _tick(page, WARNINGS)
    page.wait_for_selector("body[data-org-warnings]", timeout=30_000)
    street = COMMUNITY[:9]
    fc = httpx.get(f"{own_live.base}/api/v1/org/checks", params={"region": street}).json()
    assert int(page.evaluate("document.body.dataset.orgWarnings")) >= len(fc["features"]) > 0
    assert page.locator(".org-warning").count() > 0
    assert WARNINGS in page.locator("#legend").inner_text()
    page.locator("button.org-warnings-list").click()
    listed = page.locator(".org-warnings-items").inner_text()
    assert "网格未建党支部" in listed
    assert "grid_no_branch" not in listed and "check_" not in listed
    page.screenshot(path=str(shots / "warnings.png"))
    box.click()
    assert WARNINGS not in page.locator("#legend").inner_text()


def test_the_tree_lists_the_branches_and_a_click_zooms(
    page: Page, own_live: Live, org: Org, shots: Path
) -> None:
    _fly(page, org.grid)
    _org_on(page)
    page.locator("button.org-tree-btn").click()
    tree = page.locator(f".org-tree[data-community='{COMMUNITY}']:not([aria-busy])")
    tree.wait_for(timeout=15_000)
    with own_live.engine.connect() as c:
        branches = list(
            c.execute(
                text("SELECT name FROM party_org WHERE kind = 'branch' AND community_code = :c"),
                {"c": COMMUNITY},
            ).scalars()
        )
    text_ = tree.inner_text()
    assert branches and all(b in text_ for b in branches)
    assert "社区大党委" in text_ and "网格党支部" in text_
    # zoom out, then a click on the branch flies to its grid
    people.wheel_zoom(page, people.pixel(page, *_inside(own_live, org.grid)), -3)
    people.settle(page)
    before = people.zoom(page)
    tree.locator("li.branch button.org-zoom", has_text=org.branch).first.click()
    people.settle(page)
    # The flight ends on the branch's grid (at least as close as before: the wheel may have
    # stopped at the zoom that fits the grid).
    assert people.zoom(page) >= before
    x, y = people.pixel(page, *_inside(own_live, org.grid))
    assert people.on_map(page, x, y)
    page.screenshot(path=str(shots / "tree.png"))


def _grid_popup(page: Page, live: Live, code: str) -> str:
    """Click inside the grid on the map: its popup; answers the popup's buttons' classes."""
    page.keyboard.press("Escape")
    people.click(page, _inside(live, code))
    popup = page.locator(f".leaflet-popup-content .popup[data-grid='{code}']")
    popup.wait_for(timeout=10_000)
    return " ".join(popup.locator("button").evaluate_all("bs => bs.map(b => b.className)"))


def test_members_and_branches_are_named_and_see_no_grid_editing(
    page: Page, own_live: Live, org: Org, shots: Path
) -> None:
    _fly(page, org.grid)
    who = _sign_in(page, org.member_token)
    assert who.startswith(f"党员 {MEMBERS[0]}") and org.branch in who, who
    assert "接单" in who and "查看者" not in who and "（）" not in who, who
    buttons = _grid_popup(page, own_live, org.grid)
    assert "org-grid" in buttons and "edit-grid" not in buttons, buttons
    assert page.locator(".leaflet-popup-content", has_text="编辑边界").count() == 0
    page.screenshot(path=str(shots / "member-popup.png"))
    page.locator("#token-btn").click()  # sign out
    who = _sign_in(page, org.branch_token)
    assert who.startswith(f"党组织 {org.branch}") and "派单" in who and "查看者" not in who, who
    assert "edit-grid" not in _grid_popup(page, own_live, org.grid)
    page.locator("#token-btn").click()
    # The community office edits its grids: the tools are there.
    _sign_in(page, org.office)
    assert "edit-grid" in _grid_popup(page, own_live, org.grid)


def test_a_tree_that_cannot_be_read_says_why_in_words(
    page: Page, own_live: Live, org: Org, shots: Path
) -> None:
    # The server answers the tree with a failure whose reason is in English.
    page.route(
        "**/api/v1/party-orgs/tree*",
        lambda route: route.fulfill(
            status=503,
            content_type="application/json",
            body='{"detail": "the database did not answer in time"}',
        ),
    )
    _fly(page, org.grid)
    _org_on(page)
    page.locator("button.org-tree-btn").click()
    failed = page.locator("#panel .org-tree .error")
    failed.wait_for(timeout=15_000)
    said = failed.inner_text()
    assert "服务暂不可用" in said and "database" not in said, said
    page.screenshot(path=str(shots / "tree-failed.png"))


def test_in_english(page: Page, own_live: Live, org: Org, shots: Path) -> None:
    page.locator("#lang-btn").click()
    _fly(page, org.grid)
    _tick(page, "Party organisation")
    page.wait_for_selector("body[data-org-layer]", timeout=30_000)
    assert "Grid without a Party branch" in page.locator("#legend").inner_text()
    _open_grid_panel(page, own_live, org.grid)
    panel = page.locator(".org-panel").inner_text()
    assert "Grid Party branch" in panel and "hidden" in panel and "Grid team" in panel
    page.locator("button.org-tree-btn").click()
    page.locator(".org-tree:not([aria-busy])").wait_for(timeout=15_000)
    assert "Community Party committee" in page.locator("#panel").inner_text()
    page.screenshot(path=str(shots / "english.png"))


def _open_need(page: Page, live: Live, org: Org) -> None:
    """The need from the grid's popup: its list of items, a click on the need's title."""
    _fly(page, org.grid)
    people.click(page, _inside(live, org.grid))
    button = page.locator(
        f".popup[data-grid='{org.grid}'] button.list-open[data-list-id='{org.need_id}']"
    )
    button.wait_for(timeout=15_000)
    button.click()
    # The card waits on the item's read: a busy machine is given as long as the layers get.
    page.locator(f".list-flow[data-list-id='{org.need_id}']").wait_for(timeout=30_000)


def _item(live: Live, org: Org) -> tuple[str, str | None, int | None, float | None, str | None]:
    with live.engine.connect() as c:
        row = c.execute(
            text(
                "SELECT status, assignee_kind, member_id, hours, report FROM list_item "
                "WHERE id = :i"
            ),
            {"i": org.need_id},
        ).one()
    return row[0], row[1], row[2], row[3], row[4]


@contextmanager
def _desk(browser: Browser, live: Live, token: str) -> Iterator[Page]:
    """A new browser tab on the map, signed in with ``token``; no page error while it is open."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live.base + "/")
    page.wait_for_selector("body[data-ready='true']", timeout=20_000)
    _sign_in(page, token)
    yield page
    context.close()
    assert errors == []


def test_the_branch_assigns_a_need_and_a_member_takes_it_on_and_reports_it_done(
    browser: Browser, own_live: Live, org: Org, shots: Path
) -> None:
    with _desk(browser, own_live, org.branch_token) as page:
        _open_need(page, own_live, org)
        flow = page.locator(f".list-flow[data-list-id='{org.need_id}']")
        assert flow.locator("button.list-claim").count() == 0
        flow.locator("button.list-assign").click()
        flow.locator("select.assign-kind").select_option("member")
        flow.locator(f"select.assign-whom option[value='{org.member_id}']").wait_for(
            state="attached", timeout=10_000
        )
        flow.locator("select.assign-whom").select_option(str(org.member_id))
        flow.locator("button.assign-send").click()
        page.wait_for_selector(".list-flow[data-status='assigned']", timeout=10_000)
        assert _item(own_live, org)[:3] == ("assigned", "member", org.member_id)
        assert MEMBERS[0] in flow.inner_text()
        page.screenshot(path=str(shots / "list-assigned.png"))
    with _desk(browser, own_live, org.member_token) as page:
        _open_need(page, own_live, org)
        flow = page.locator(f".list-flow[data-list-id='{org.need_id}']")
        assert flow.locator("button.list-assign").count() == 0
        flow.locator("button.list-claim").click()
        page.wait_for_selector(".list-flow[data-status='in_progress']", timeout=10_000)
        assert _item(own_live, org)[0] == "in_progress"
        flow.locator("button.list-complete").click()
        # an empty report is refused on the page, nothing sent
        flow.locator("button.complete-send").click()
        assert "请填写完成情况" in flow.locator(".flow-message").inner_text()
        assert _item(own_live, org)[0] == "in_progress"
        flow.locator("textarea.complete-report").click()
        page.keyboard.type("已帮老人买好一周的菜")
        flow.locator("input.complete-hours").fill("2.5")
        flow.locator("button.complete-send").click()
        page.wait_for_selector(".list-flow[data-status='done']", timeout=10_000)
        status, _, member, hours, report = _item(own_live, org)
        assert (status, member, hours, report) == (
            "done",
            org.member_id,
            2.5,
            "已帮老人买好一周的菜",
        )
        assert "已完成" in flow.inner_text()
        page.screenshot(path=str(shots / "list-done.png"))
