"""The grid worker's phone at work: a patrol walked along demo streets, a visit (and a report)
made offline and sent once, a sub-task started and answered with a photo.

A phone-sized Chromium with a scripted position (``fieldwalk``); the person's taps are clicks
at the elements' places and typing; what was stored is read from PostGIS.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Route
from sqlalchemy import text
from tests.browser.conftest import Live, failed
from tests.browser.fieldwalk import (
    FieldGrid,
    Staff,
    Walk,
    clock_start,
    field_grid,
    staff_token,
    track_m,
    walk,
    walk_phone,
)

from gridmap.settings import project_root

PHONE = {"width": 390, "height": 844}
SHOTS = Path("/tmp/shots-fieldwork")
DOCS = project_root() / "docs"
SPEED_MS = 5.0
PIECE_SECONDS = 20
CATEGORY = "市容环境/暴露垃圾"


@dataclass(frozen=True)
class Field:
    """The demo grid the tests work in, its worker, its neighbour's worker and a walk."""

    grid: FieldGrid
    worker: Staff
    neighbour: Staff
    walk: Walk


@pytest.fixture(scope="module")
def field(own_live: Live) -> Field:
    grid = field_grid(own_live.engine)
    return Field(
        grid=grid,
        worker=staff_token(own_live.engine, grid.code),
        neighbour=staff_token(own_live.engine, grid.neighbour),
        walk=walk(own_live.engine, grid.code),
    )


@dataclass
class Phone:
    context: BrowserContext
    page: Page


def _phone(browser: Browser, live: Live, field: Field, clock: datetime | None = None) -> Phone:
    first = field.walk.points[0]
    context = browser.new_context(
        viewport=PHONE,
        locale="zh-CN",
        permissions=["geolocation"],
        geolocation={"longitude": first[0], "latitude": first[1], "accuracy": 8},
        service_workers="allow",
    )
    # The patrol's knob (web/m/lib/patrol.js): a piece every 20 s of the page's clock.
    context.add_init_script(f"localStorage.setItem('gridmap.m.pieceSeconds', '{PIECE_SECONDS}')")
    page = context.new_page()
    if clock is not None:
        page.clock.install(time=clock)
    page.goto(live.base + "/m/")
    page.locator("#m-token").click()
    page.keyboard.type(field.worker.token)
    page.locator("#m-signin-submit").click()
    page.wait_for_selector(f"#home-grids li[data-grid='{field.grid.code}']", timeout=20_000)
    return Phone(context=context, page=page)


@pytest.fixture
def phone_factory(
    browser: Browser, own_live: Live, field: Field, request: pytest.FixtureRequest
) -> Iterator[Any]:
    made: list[Phone] = []

    def make(clock: datetime | None = None) -> Phone:
        p = _phone(browser, own_live, field, clock)
        made.append(p)
        return p

    yield make
    for i, p in enumerate(made):
        if failed(request):
            SHOTS.mkdir(parents=True, exist_ok=True)
            p.page.screenshot(path=str(SHOTS / f"failed-{request.node.name}-{i}.png"))
        p.context.close()


def _tab(page: Page, name: str) -> None:
    page.locator(f"#tab-{name}").click()
    page.wait_for_selector(f"#screen-{name}:not([hidden])")


def _all_sent(page: Page, *, clock: bool = False, timeout_s: float = 30) -> None:
    """Wait until nothing waits to be sent (running the page's clock, when faked, so its
    sending timer fires)."""
    for _ in range(int(timeout_s * 2)):
        if page.locator("#waiting-btn[data-waiting='0'][data-refused='0']").count():
            return
        if clock:
            page.clock.run_for(2000)
        page.wait_for_timeout(500)
    raise AssertionError("still waiting: " + str(page.locator("#waiting-btn").text_content()))


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _jpeg(path: Path, colour: tuple[int, int, int] = (200, 80, 40)) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", (1200, 900), colour).save(buf, "JPEG", quality=90)
    path.write_bytes(buf.getvalue())
    return path


# --- patrol ------------------------------------------------------------------------------------


def test_a_patrol_along_demo_streets_is_stored_and_covers_the_grid(
    own_live: Live, field: Field, phone_factory: Any
) -> None:
    w = field.walk
    walk_s = track_m(w.points) / SPEED_MS
    start = clock_start(walk_s)
    day = start.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    coverage = f"{own_live.base}/api/v1/patrol-coverage/{field.grid.code}?day={day}"
    before = httpx.get(coverage).json()["share"] or 0
    phone = phone_factory(start)
    page = phone.page
    _tab(page, "patrol")
    page.locator("#f-patrol-start").click()
    page.wait_for_selector("#f-patrol-stop")
    # The middle third of the walk has no network: its pieces wait on the phone, in order.
    third = len(w.points) // 3
    walk_phone(phone.context, page, w.points[1:third], speed_ms=SPEED_MS)
    phone.context.set_offline(True)
    walk_phone(phone.context, page, w.points[third : 2 * third], speed_ms=SPEED_MS)
    # The header counts the patrol as one thing waiting; its list shows the pieces.
    page.locator("#waiting-btn").click()
    assert page.locator("#q-list li[data-kind='patrol_piece']").count() >= 2
    # Today's figures count what waits on the phone too.
    _tab(page, "home")
    km = float((page.locator("#f-today-km").text_content() or "0").split()[0])
    # Shown to 10 m: half of that is rounding, not a missing fix.
    assert km + 0.005 >= 0.9 * track_m(w.points[: 2 * third]) / 1000, km
    _tab(page, "patrol")
    phone.context.set_offline(False)
    walk_phone(phone.context, page, w.points[2 * third :], speed_ms=SPEED_MS)
    page.wait_for_function(
        "(n) => Number(document.getElementById('f-patrol-points').textContent) >= n",
        arg=int(len(w.points) * 0.9),
        timeout=10_000,
    )
    # The live track is on the home map.
    _tab(page, "home")
    assert page.locator("path.f-track").count() == 1
    _shot(page, "patrol-home-live")
    _tab(page, "patrol")
    _shot(page, "patrol-walking")
    page.locator("#f-patrol-stop").click()
    page.wait_for_selector("#f-patrol-start")
    _all_sent(page, clock=True)

    with own_live.engine.connect() as c:
        patrol = c.execute(
            text(
                "SELECT id, started_at, ended_at, points, length_m, grid_codes FROM patrol "
                "WHERE person_id = :p ORDER BY id DESC LIMIT 1"
            ),
            {"p": field.worker.person_id},
        ).one()
        pieces = c.execute(
            text(
                "SELECT seq, points, ST_Length(geom::geography) AS m FROM patrol_piece "
                "WHERE patrol_id = :id ORDER BY seq"
            ),
            {"id": patrol.id},
        ).all()
    assert patrol.ended_at is not None
    walked_s = (patrol.ended_at - patrol.started_at).total_seconds()
    assert [p.seq for p in pieces] == list(range(len(pieces)))
    assert len(pieces) >= walked_s / PIECE_SECONDS * 0.8, (len(pieces), walked_s)
    assert patrol.points >= int(len(w.points) * 0.9)
    stored_m = sum(p.m for p in pieces)
    assert abs(stored_m - w.road_m) <= 0.1 * w.road_m, (stored_m, w.road_m)
    assert abs(patrol.length_m - w.road_m) <= 0.1 * w.road_m, (patrol.length_m, w.road_m)
    assert field.grid.code in patrol.grid_codes

    r = httpx.get(coverage)
    assert r.status_code == 200, r.text
    assert r.json()["share"] > 0 and r.json()["share"] >= before
    # The street pieces of the roads walked are (nearly all) walked.
    ours = set(w.edges)
    walked = sum(
        f["properties"]["length_m"]
        for f in r.json()["walked"]["features"]
        if f["properties"]["road_edge_id"] in ours
    )
    unwalked = sum(
        f["properties"]["length_m"]
        for f in r.json()["unwalked"]["features"]
        if f["properties"]["road_edge_id"] in ours
    )
    assert walked >= 0.9 * (walked + unwalked), (walked, unwalked)

    # The home card shows today's figures with the grid's share.
    _tab(page, "home")
    share = page.locator(f"#f-card-patrol li.f-share[data-grid='{field.grid.code}']")
    share.wait_for(timeout=15_000)
    page.wait_for_function(
        "(code) => Number(document.querySelector("
        "`#f-card-patrol li.f-share[data-grid='${code}']`).dataset.share) > 0",
        arg=field.grid.code,
        timeout=70_000,
        polling=1000,
    )
    page.clock.run_for(5000)
    page.wait_for_selector("#toast", state="hidden")
    # A tall phone, so the map with the track and the figures card fit in one picture.
    page.set_viewport_size({"width": PHONE["width"], "height": 1120})
    page.screenshot(path=str(DOCS / "phone-patrol.png"))


def test_a_piece_whose_answer_was_lost_is_stored_once(
    own_live: Live, field: Field, phone_factory: Any
) -> None:
    w = field.walk
    points = w.points[: len(w.points) // 3]
    phone = phone_factory(clock_start(track_m(points) / SPEED_MS + 60))
    page = phone.page
    lost: list[int] = []

    def store_then_drop(route: Route) -> None:
        if route.request.method == "PUT" and not lost:
            lost.append(route.fetch().status)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/patrols/*/pieces/0", store_then_drop)
    _tab(page, "patrol")
    page.locator("#f-patrol-start").click()
    page.wait_for_selector("#f-patrol-stop")
    walk_phone(phone.context, page, points[1:], speed_ms=SPEED_MS)
    page.locator("#f-patrol-stop").click()
    page.wait_for_selector("#f-patrol-start")
    _all_sent(page, clock=True)
    assert lost == [201]
    with own_live.engine.connect() as c:
        key, pieces, length = c.execute(
            text(
                "SELECT p.key, count(q.seq), p.length_m FROM patrol p "
                "JOIN patrol_piece q ON q.patrol_id = p.id WHERE p.person_id = :p "
                "GROUP BY p.id ORDER BY p.id DESC LIMIT 1"
            ),
            {"p": field.worker.person_id},
        ).one()
        seqs = (
            c.execute(
                text(
                    "SELECT q.seq FROM patrol_piece q JOIN patrol p ON p.id = q.patrol_id "
                    "WHERE p.key = :k ORDER BY q.seq"
                ),
                {"k": key},
            )
            .scalars()
            .all()
        )
    assert list(seqs) == list(range(pieces)) and pieces >= 2
    assert abs(length - track_m(points)) <= 0.1 * track_m(points)


# --- visits offline ----------------------------------------------------------------------------


def _a_household(live: Live, grid: str) -> Any:
    """Two households of ``grid`` with a room number, never visited and without care tags
    (the demo's own visits and tags are elsewhere), and their building's address."""
    with live.engine.connect() as c:
        return c.execute(
            text(
                "SELECT h.id, h.unit, h.room, b.address FROM household h "
                "JOIN building b ON b.id = h.building_id WHERE b.grid_code = :g "
                "AND b.address IS NOT NULL AND h.room <> '' "
                "AND NOT EXISTS (SELECT 1 FROM visit v WHERE v.household_id = h.id) "
                "AND NOT EXISTS (SELECT 1 FROM care_tag t WHERE t.household_id = h.id) "
                "ORDER BY h.id LIMIT 2"
            ),
            {"g": grid},
        ).all()


def _visit(page: Page, household: Any, outcome: str, note: str, shot: Path | None = None) -> None:
    """Find the household by building and room, choose the outcome, write the note, save
    (a picture of the filled form taken first when ``shot`` names a file)."""
    _tab(page, "visit")
    page.locator("#f-visit-find").click()
    page.locator("#f-visit-q").click()
    page.keyboard.type(f"{household.address} {household.room}")
    page.locator(f"#f-visit-list button[data-household='{household.id}']").click()
    page.locator(f"#f-visit-outcomes button[data-outcome='{outcome}']").click()
    page.locator("#f-visit-note").click()
    page.keyboard.type(note)
    if shot is not None:
        page.screenshot(path=str(shot))
    page.locator("#f-visit-save").click()
    page.wait_for_selector("#f-visit-q")


def _visits(live: Live, household_id: int) -> list[Any]:
    with live.engine.connect() as c:
        return list(
            c.execute(
                text(
                    "SELECT idempotency_key, person_id, outcome, note FROM visit "
                    "WHERE household_id = :h ORDER BY id"
                ),
                {"h": household_id},
            ).all()
        )


def _incidents_by(live: Live, description: str) -> int:
    with live.engine.connect() as c:
        return int(
            c.execute(
                text("SELECT count(*) FROM incident WHERE description = :d"), {"d": description}
            ).scalar_one()
        )


def _report(page: Page, photo: Path, description: str) -> None:
    """A report at my position: category, severity, text, one photo from the camera, send."""
    _tab(page, "report")
    page.locator("#r-category").select_option(CATEGORY)
    page.locator("#r-severity input").first.check()
    page.locator("#r-text").click()
    page.keyboard.type(description)
    page.locator("#r-photos").set_input_files(str(photo))
    page.wait_for_selector("#r-thumbs img")
    page.locator("#r-submit").click()


def test_a_visit_and_a_report_made_offline_are_stored_once(
    own_live: Live, field: Field, phone_factory: Any, tmp_path: Path
) -> None:
    first, second = _a_household(own_live, field.grid.code)
    # The first lives alone (独居老人) since two months and was never visited: overdue.
    with own_live.engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO care_tag (household_id, tag, since, created_by) "
                "VALUES (:h, 'elderly_alone', current_date - 60, 'test')"
            ),
            {"h": first.id},
        )
    phone = phone_factory()
    page = phone.page
    overdue = page.locator(f"#f-card-overdue button[data-household='{first.id}']")
    overdue.wait_for(timeout=15_000)
    late = int(page.locator("#f-overdue-count").get_attribute("data-n") or 0)
    assert late >= 1
    # One online visit lets the service worker keep the shell.
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_selector(f"#home-grids li[data-grid='{field.grid.code}']", state="attached")
    phone.context.set_offline(True)
    _visit(page, first, "met", "老人身体尚好，需帮助买菜")
    _shot(page, "visit-queued")
    # The overdue card counts the visit made on the phone at once, offline.
    assert page.locator("#f-overdue-count").get_attribute("data-n") == str(late - 1)
    assert overdue.count() == 0
    description = "离线上报：楼下垃圾堆积"
    _report(page, _jpeg(tmp_path / "trash.jpg"), description)
    # Two things wait: the visit, and the report with its photo.
    page.wait_for_selector("#waiting-btn[data-waiting='2']")
    page.reload()
    page.wait_for_selector(
        f"#home-grids li[data-grid='{field.grid.code}']", state="attached", timeout=20_000
    )
    page.wait_for_selector("#waiting-btn[data-waiting='2']")
    page.locator("#waiting-btn").click()
    kinds = page.locator("#q-list li").evaluate_all("(li) => li.map((x) => x.dataset.kind)")
    assert sorted(kinds) == ["photo", "report", "visit"]
    assert _visits(own_live, first.id) == [] and _incidents_by(own_live, description) == 0
    _shot(page, "offline-reloaded")
    phone.context.set_offline(False)
    _all_sent(page)
    stored = _visits(own_live, first.id)
    assert len(stored) == 1
    assert (stored[0].person_id, stored[0].outcome, stored[0].note) == (
        field.worker.person_id,
        "met",
        "老人身体尚好，需帮助买菜",
    )
    assert _incidents_by(own_live, description) == 1
    with own_live.engine.connect() as c:
        photos = c.execute(
            text("SELECT jsonb_array_length(photos) FROM incident WHERE description = :d"),
            {"d": description},
        ).scalar_one()
    assert photos == 1

    # A sync cut after the server stored the visit but before the phone heard the answer.
    cut: list[int] = []

    def store_then_drop(route: Route) -> None:
        if route.request.method == "POST" and not cut:
            answer = route.fetch()
            cut.append(answer.status)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/visits", store_then_drop)
    _visit(page, second, "not_home", "敲门无人应答", shot=DOCS / "phone-visit.png")
    for _ in range(60):
        if cut:
            break
        page.wait_for_timeout(250)
    assert cut == [201]
    assert len(_visits(own_live, second.id)) == 1
    # The item still waits; the person sends it again.
    page.locator("#waiting-btn").click()
    page.locator("#q-send").click()
    _all_sent(page)
    again = _visits(own_live, second.id)
    assert len(again) == 1 and again[0].outcome == "not_home"
    _tab(page, "visit")
    page.locator("#f-visit-near").click()
    page.wait_for_selector("#f-visit-list")
    _shot(page, "visit-near")


# --- tasks -------------------------------------------------------------------------------------


def _api(live: Live, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
    return httpx.request(method, f"{live.base}/api/v1{path}", headers=headers, timeout=30, **kw)


def _step(live: Live, inc: int, step: str, token: str, **body: Any) -> httpx.Response:
    tag = _api(live, "GET", f"/incidents/{inc}", token).headers["etag"]
    r = _api(live, "POST", f"/incidents/{inc}/{step}", token, json=body, headers={"If-Match": tag})
    assert r.status_code == 200, r.text
    return r


def _split_to_grids(live: Live, field: Field) -> tuple[int, dict[str, int]]:
    """An incident in the worker's grid, accepted and split by the street's command centre to
    the grid and its neighbour (as tests/utils/flow.py does); its id and task per grid."""
    lon, lat = field.walk.points[len(field.walk.points) // 2]
    r = _api(
        live,
        "POST",
        "/incidents",
        live.token,
        json={"x": lon, "y": lat, "category": CATEGORY, "description": "人行道井盖缺失"},
    )
    assert r.status_code == 201, r.text
    inc = int(r.json()["properties"]["id"])
    _step(live, inc, "accept", live.token)
    _step(live, inc, "claim", live.token)
    _step(live, inc, "split", live.token, targets=[field.grid.code, field.grid.neighbour])
    with live.engine.connect() as c:
        tasks = dict(
            c.execute(
                text("SELECT assignee_code, id FROM incident_task WHERE incident_id = :i"),
                {"i": inc},
            ).all()
        )
    return inc, tasks


def test_a_sub_task_is_started_and_answered_with_a_photo_despite_a_stale_version(
    own_live: Live, field: Field, phone_factory: Any, tmp_path: Path
) -> None:
    inc, tasks = _split_to_grids(own_live, field)
    mine = tasks[field.grid.code]
    phone = phone_factory()
    page = phone.page
    page.wait_for_selector("#f-task-count")
    _tab(page, "tasks")
    page.locator(f"#f-task-list button[data-incident='{inc}']").click()
    page.locator("#f-task-report-in").click()
    page.wait_for_selector("#f-task-report-in", state="detached")
    _all_sent(page)
    page.wait_for_selector("#f-task-answer")
    with own_live.engine.connect() as c:
        state = c.execute(
            text("SELECT state FROM incident_task WHERE id = :t"), {"t": mine}
        ).scalar_one()
    assert state == "working"

    # Someone else changes the incident after the phone read it: the neighbour reports in.
    _step_task = f"/incidents/{inc}/tasks/{tasks[field.grid.neighbour]}/report_in"
    tag = _api(own_live, "GET", f"/incidents/{inc}", field.neighbour.token).headers["etag"]
    r = _api(own_live, "POST", _step_task, field.neighbour.token, headers={"If-Match": tag})
    assert r.status_code == 200, r.text

    answers: list[int] = []
    page.on(
        "response",
        lambda resp: (
            answers.append(resp.status) if resp.url.endswith(f"/tasks/{mine}/answer") else None
        ),
    )
    page.locator("#f-task-note").click()
    page.keyboard.type("井盖已补装，现场已清理")
    page.locator("#f-task-photos").set_input_files(str(_jpeg(tmp_path / "done.jpg", (40, 160, 60))))
    page.wait_for_selector(".f-photos img")
    _shot(page, "task-answer")
    page.locator("#f-task-answer").click()
    page.wait_for_selector("#f-task-answer", state="detached")
    _all_sent(page)
    assert answers == [412, 200]
    with own_live.engine.connect() as c:
        row = c.execute(
            text(
                "SELECT state, feedback, jsonb_array_length(photos) AS n FROM incident_task "
                "WHERE id = :t"
            ),
            {"t": mine},
        ).one()
    assert (row.state, row.feedback, row.n) == ("answered", "井盖已补装，现场已清理", 1)
    _shot(page, "task-answered")


def test_a_patrol_sends_none_of_the_fixes_the_phone_drops(
    phone_factory: Any, field: Field, own_live: Live
) -> None:
    """The phone reports a fix it is unsure of (80 m) and a jump of a kilometre in two
    seconds in the middle of a walk: the screen counts both as dropped, and the track stored in
    PostGIS has only the walk's own points."""
    good = field.walk.points[:8]
    phone = phone_factory(clock_start(180))
    page = phone.page
    _tab(page, "patrol")
    page.locator("#f-patrol-start").click()
    page.wait_for_selector("#f-patrol-stop")
    walk_phone(phone.context, page, good[1:4], speed_ms=SPEED_MS)
    unsure = (good[3][0], good[3][1] + 0.0005)
    jump = (good[3][0] + 0.012, good[3][1])
    for where, accuracy in ((unsure, 80.0), (jump, 8.0)):
        page.clock.run_for(1000)
        phone.context.set_geolocation(
            {"longitude": where[0], "latitude": where[1], "accuracy": accuracy}
        )
        page.wait_for_timeout(40)
    page.clock.run_for(1000)
    walk_phone(phone.context, page, good[4:], speed_ms=SPEED_MS)
    page.wait_for_function(
        "() => Number(document.getElementById('f-patrol-dropped').textContent) >= 2",
        timeout=10_000,
    )
    page.locator("#f-patrol-stop").click()
    page.wait_for_selector("#f-patrol-start")
    _all_sent(page, clock=True)
    with own_live.engine.connect() as c:
        stored = c.execute(
            text(
                "SELECT ST_X(d.geom) AS lon, ST_Y(d.geom) AS lat FROM patrol_piece p "
                "CROSS JOIN LATERAL ST_DumpPoints(p.geom) d WHERE p.patrol_id = ("
                "SELECT id FROM patrol WHERE person_id = :p ORDER BY id DESC LIMIT 1)"
            ),
            {"p": field.worker.person_id},
        ).all()
    assert len(stored) >= len(good) - 2
    for point in stored:
        assert min(track_m([(point.lon, point.lat), g]) for g in good) < 1.0, point
    for bad in (unsure, jump):
        assert all(track_m([(p.lon, p.lat), bad]) > 1.0 for p in stored), bad


def test_the_track_filter_drops_bad_fixes(own_live: Live, browser: Browser) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(own_live.base + "/m/")
    settings = {"patrol_fix_accuracy_m": 50, "patrol_max_speed_kmh": 60}
    fixes = [
        {"lon": 116.35, "lat": 40.0, "accuracy": 10, "t": 100},
        {"lon": 116.3501, "lat": 40.0, "accuracy": 80, "t": 105},  # worse than 50 m
        {"lon": 116.3501, "lat": 40.0, "accuracy": 10, "t": 100},  # not later
        {"lon": 116.36, "lat": 40.0, "accuracy": 10, "t": 110},  # 850 m in 10 s
        {"lon": 116.3501, "lat": 40.0, "accuracy": 10, "t": 110},  # 8.5 m in 10 s
        {"lon": float("nan"), "lat": 40.0, "accuracy": 10, "t": 111},
    ]
    got: Any = page.evaluate(
        "async ([fixes, s]) => { const m = await import('/m/lib/track.js');"
        " const kept = m.filterFixes(fixes, s); let last = null; const why = [];"
        " for (const f of fixes) { const r = m.dropReason(last, f, s); why.push(r);"
        "   if (r === null) last = f; }"
        " return { kept: kept.map((f) => f.t), why, m: m.lengthM(kept) }; }",
        [fixes, settings],
    )
    context.close()
    assert got["why"] == [None, "inaccurate", "not_later", "too_fast", None, "bad"]
    assert got["kept"] == [100, 110]
    assert got["m"] == pytest.approx(8.53, abs=0.05)
