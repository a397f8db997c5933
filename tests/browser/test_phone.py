"""The phone page /m/ at phone size: signing in, home, a report made offline and synced once,
a sync whose answer was lost, a refusal in words. Results are checked in PostGIS."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from playwright.sync_api import Dialog, Page, Request, Route
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.browser.conftest import Live, screenshot_path
from tests.browser.phone import (
    OTHER_GRID,
    Worker,
    inside_point,
    phone,
    sign_in,
    wait_registered,
    worker,
)

from gridmap.auth import Holder, create_token, revoke_token

__all__ = ["phone", "worker"]  # fixtures used by name


def test_sign_in_shows_my_grids_and_my_position(phone: Page, worker: Worker) -> None:
    sign_in(phone, worker.token)
    assert worker.grid in phone.locator("#home-grids").inner_text()
    assert worker.name in phone.locator("#home-who").inner_text()
    grid_name = phone.locator(f"#home-grids li[data-grid='{worker.grid}'] strong").inner_text()
    phone.wait_for_function(
        "(name) => document.querySelector('#home-position').textContent.endsWith(`在${name}内`)",
        arg=grid_name,
        timeout=10_000,
    )
    where = phone.locator("#home-position").inner_text()
    assert f"{worker.on_road[0]:.5f}" in where and "±8" in where
    # My grid's outline is drawn inside the map's view (once the map stands still).
    phone.wait_for_function(
        "() => !document.querySelector('#home-map .leaflet-zoom-anim') && [...document"
        ".querySelectorAll('#home-map path.m-grid')].some((p) => p.getBoundingClientRect()"
        ".width > 100)",
        timeout=10_000,
    )
    box = phone.locator("#home-map").bounding_box()
    outlines = [
        phone.locator("#home-map path.m-grid").nth(i).bounding_box()
        for i in range(phone.locator("#home-map path.m-grid").count())
    ]
    outline = max((o for o in outlines if o), key=lambda o: o["width"])
    assert box and outline["width"] > 100
    assert box["x"] <= outline["x"] + outline["width"] / 2 <= box["x"] + box["width"]
    assert box["y"] <= outline["y"] + outline["height"] / 2 <= box["y"] + box["height"]
    assert phone.locator("#waiting-btn").inner_text() == "已全部发送"
    phone.screenshot(path=str(screenshot_path("phone-home")))


def test_served_types(own_live: Live) -> None:
    with httpx.Client(base_url=own_live.base) as client:
        sw = client.get("/m/sw.js")
        manifest = client.get("/m/manifest.webmanifest")
        page = client.get("/m/")
    assert sw.status_code == 200 and "javascript" in sw.headers["content-type"]
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.json()["scope"] == "/m/"
    assert page.status_code == 200 and "/m/app.js" in page.text


def photo_file(tmp_path: Path) -> Path:
    """A real camera-sized JPEG (3200×2400, detailed enough to be several MB)."""
    rng = random.Random(17)
    small = Image.new("RGB", (320, 240))
    small.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(320 * 240)]
    )
    big = small.resize((3200, 2400), Image.Resampling.BICUBIC)
    grain = Image.effect_noise((3200, 2400), 60).convert("RGB")
    out = io.BytesIO()
    Image.blend(big, grain, 0.35).save(out, "JPEG", quality=95)
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(out.getvalue())
    return path


def queued(page: Page) -> list[dict[str, Any]]:
    """The phone's queue as stored (kind, key, after, state, photo size)."""
    items: list[dict[str, Any]] = page.evaluate(
        "async () => (await window.gridmapPhone.queue.list()).map((i) => ({kind: i.kind,"
        " key: i.key, after: i.after, state: i.state, refused: i.refused,"
        " bytes: i.payload && i.payload.blob ? i.payload.blob.size : null}))"
    )
    return items


def make_report(page: Page, what: str, photo: Path | None, shot: str = "") -> None:
    """On the report screen: a category, 重要, a text, a photo; then 提交上报 (after a
    screenshot named ``shot``, when given)."""
    page.locator("#tab-report").tap()
    category = page.locator("#r-category")
    category.tap()
    category.select_option(index=1)
    page.locator("#r-severity label", has_text="重要").tap()
    page.locator("#r-text").tap()
    page.keyboard.type(what)
    if photo is not None:
        page.locator("#r-photos").set_input_files(str(photo))
        page.wait_for_function(
            "() => document.querySelectorAll('#r-thumbs img').length === 1", timeout=20_000
        )
    if shot:
        page.locator("#r-submit").scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_path(shot)))
    page.locator("#r-submit").tap()


def stored(live: Live, key: str) -> list[tuple[int, int, int | None]]:
    """The incidents of Idempotency-Key ``key``: (id, photos, bytes of the first photo)."""
    with live.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, jsonb_array_length(photos), (photos->0->>'bytes')::int"
                " FROM incident WHERE idempotency_key = :k"
            ),
            {"k": key},
        ).all()
    return [(int(r[0]), int(r[1]), r[2]) for r in rows]


def wait_all_sent(page: Page) -> None:
    """Wait until the header says nothing waits or was refused, and the queue is empty."""
    page.wait_for_function(
        "() => { const b = document.querySelector('#waiting-btn');"
        " return b.dataset.waiting === '0' && b.dataset.refused === '0'; }",
        timeout=30_000,
    )
    assert queued(page) == []


def test_report_made_offline_is_stored_once_when_the_network_returns(
    phone: Page, worker: Worker, own_live: Live, tmp_path: Path
) -> None:
    sign_in(phone, worker.token)
    wait_registered(phone)
    phone.context.set_offline(True)
    make_report(phone, "井盖缺失（离线）", photo_file(tmp_path), shot="phone-report")
    assert worker.grid in phone.locator("#r-where").inner_text()
    assert phone.locator("#r-where").get_attribute("data-grid") == worker.grid
    phone.wait_for_function("() => document.querySelector('#waiting-btn').dataset.waiting === '1'")
    assert phone.locator("#waiting-btn").get_attribute("data-items") == "2"
    assert phone.locator("#waiting-btn").inner_text() == "1 条待发送"
    items = queued(phone)
    assert [i["kind"] for i in items] == ["report", "photo"]
    report, photo = items
    assert photo["after"] == report["key"] and 0 < photo["bytes"] <= 1_000_000
    side = phone.evaluate(
        "async () => { const q = await window.gridmapPhone.queue.list();"
        " const b = await createImageBitmap(q.find((i) => i.kind === 'photo').payload.blob);"
        " return Math.max(b.width, b.height); }"
    )
    assert side == 1600  # shrunk from 3200 px on the phone
    assert stored(own_live, report["key"]) == []

    # The page opens again with no network, from its service worker, with the queue kept.
    phone.reload()
    phone.locator("#tab-home").tap()
    phone.locator("#home-grids li[data-grid]").first.wait_for(timeout=30_000)
    assert phone.locator("#net").inner_text() == "离线"
    assert phone.locator("#waiting-btn").inner_text() == "1 条待发送"
    phone.locator("#waiting-btn").tap()
    assert phone.locator("#q-list li").count() == 2
    phone.screenshot(path=str(screenshot_path("phone-waiting")))

    phone.context.set_offline(False)
    wait_all_sent(phone)
    phone.wait_for_function(
        "() => document.querySelector('#waiting-btn').textContent === '已全部发送'"
    )
    [(_, photos, size)] = stored(own_live, report["key"])
    assert photos == 1 and size is not None and size <= 1_000_000


def test_a_sync_whose_answer_was_lost_stores_nothing_twice(
    phone: Page, worker: Worker, own_live: Live, tmp_path: Path
) -> None:
    sign_in(phone, worker.token)
    dropped: dict[str, int] = {}
    posts: dict[str, list[str]] = {"report": [], "photo": []}

    def store_then_drop(kind: str) -> Callable[[Route], None]:
        def handle(route: Route) -> None:
            if route.request.method != "POST":
                route.continue_()
                return
            posts[kind].append(route.request.headers.get("idempotency-key", ""))
            if kind in dropped:
                route.continue_()
                return
            answer = route.fetch()  # the server stores it ...
            dropped[kind] = answer.status
            route.abort("connectionreset")  # ... and the phone never hears the answer

        return handle

    phone.context.route("**/api/v1/incidents", store_then_drop("report"))
    phone.context.route("**/api/v1/incidents/*/photos", store_then_drop("photo"))
    make_report(phone, "路灯不亮（中断）", photo_file(tmp_path))
    phone.locator("#waiting-btn").tap()
    for _ in range(3):
        # Each lost answer leaves the item waiting; a person taps 立即发送 (the timer would too).
        while len(dropped) < 2 and phone.locator("#q-list li[data-state='sending']").count():
            phone.wait_for_timeout(100)
        if phone.locator("#q-list li").count():
            phone.locator("#q-send").tap()
    wait_all_sent(phone)
    assert dropped == {"report": 201, "photo": 201}
    # Each went at least twice, always with its own key; the server kept one of each.
    [key] = set(posts["report"])
    assert len(posts["report"]) >= 2
    assert len(posts["photo"]) >= 2 and len(set(posts["photo"])) == 1
    [(_, photos, _)] = stored(own_live, key)
    assert photos == 1


def test_a_refusal_shows_in_words(phone: Page, worker: Worker, own_live: Live) -> None:
    sign_in(phone, worker.token)
    other = inside_point(own_live, OTHER_GRID)
    phone.context.set_geolocation({"longitude": other[0], "latitude": other[1], "accuracy": 10})
    phone.locator("#tab-report").tap()
    phone.wait_for_function(
        "() => document.querySelector('#r-where').textContent.includes('不在我的网格内')",
        timeout=10_000,
    )
    make_report(phone, "在别的网格", None)
    phone.wait_for_function(
        "() => document.querySelector('#waiting-btn').dataset.refused === '1'", timeout=15_000
    )
    phone.locator("#waiting-btn").tap()
    why = phone.locator("#q-list .q-why").inner_text()
    assert "无权" in why and "forbidden" not in why
    phone.locator("#lang-btn").tap()
    why = phone.locator("#q-list .q-why").inner_text()
    assert "outside your grids" in why and "forbidden" not in why
    assert phone.locator("#waiting-btn").inner_text() == "0 waiting · 1 refused"
    phone.locator("#q-list button.danger").tap()
    phone.wait_for_function("() => document.querySelectorAll('#q-list li').length === 0")
    with own_live.engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM incident WHERE description = '在别的网格'")
        ).scalar_one()
    assert n == 0


def test_signing_out_asks_while_something_waits(phone: Page, worker: Worker) -> None:
    sign_in(phone, worker.token)
    phone.context.set_offline(True)
    make_report(phone, "退出前未发送", None)
    phone.wait_for_function("() => document.querySelector('#waiting-btn').dataset.waiting === '1'")
    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        if len(asked) == 1:
            dialog.dismiss()
        else:
            dialog.accept()

    phone.on("dialog", answer)
    phone.locator("#tab-home").tap()
    phone.locator("#m-signout").tap()
    while not asked:
        phone.wait_for_timeout(100)
    assert "1 条内容没有发送" in asked[0]
    assert phone.locator("#waiting-btn").get_attribute("data-waiting") == "1"
    assert phone.evaluate("localStorage.getItem('gridmap.m.token')") == worker.token
    phone.locator("#m-signout").tap()
    phone.locator("#m-token").wait_for(timeout=15_000)
    assert len(asked) == 2
    assert phone.evaluate("localStorage.getItem('gridmap.m.token')") is None
    assert queued(phone) == []


def staff_token(live: Live, person_id: int) -> tuple[str, int]:
    """A new staff token of the person ``person_id``: (secret, token id)."""
    with Session(live.engine) as session, session.begin():
        return create_token(session, holder=Holder("staff", person=person_id))


def test_a_revoked_token_holds_the_queue_until_the_same_person_signs_in_again(
    phone: Page, worker: Worker, own_live: Live
) -> None:
    first, first_id = staff_token(own_live, worker.person_id)
    sign_in(phone, first)
    wait_registered(phone)
    phone.context.set_offline(True)
    make_report(phone, "护栏损坏（令牌吊销）", None)
    phone.wait_for_function("() => document.querySelector('#waiting-btn').dataset.waiting === '1'")
    [report] = queued(phone)
    # Revoked in PostgreSQL through gridmap.auth, which also drops it from the token cache of the
    # server (it runs in this process), so the next request with it is refused at once.
    with Session(own_live.engine) as session, session.begin():
        assert revoke_token(session, first_id)
    posts: list[str] = []

    def count_posts(request: Request) -> None:
        if request.method == "POST" and "/api/v1/incidents" in request.url:
            posts.append(request.headers.get("authorization", ""))

    phone.on("request", count_posts)
    phone.context.set_offline(False)
    notice = phone.locator("#m-ended")
    notice.wait_for(state="visible", timeout=30_000)
    words = notice.inner_text()
    assert "登录已失效" in words and "1 条待发送的内容都保留在本机" in words
    Path("/tmp/shots-phonefix").mkdir(exist_ok=True)
    phone.screenshot(path="/tmp/shots-phonefix/ended-zh.png")
    phone.locator("#lang-btn").tap()
    assert "Your sign-in has ended" in notice.inner_text()
    phone.locator("#lang-btn").tap()
    # Sending holds: 立即发送 says to sign in first and sends nothing; the item stays queued.
    phone.locator("#waiting-btn").tap()
    phone.locator("#q-send").tap()
    phone.locator("#toast", has_text="请先重新登录").wait_for(timeout=5_000)
    phone.wait_for_timeout(1_000)
    assert len(posts) <= 1  # the one refused send that ended the sign-in, if it was first
    assert [(i["key"], i["state"]) for i in queued(phone)] == [(report["key"], "waiting")]
    assert stored(own_live, report["key"]) == []

    # Another worker's token does not send this worker's report: refused in words.
    with own_live.engine.connect() as conn:
        other_id, other_name = conn.execute(
            text(
                "SELECT p.id, p.name FROM grid_staff s JOIN person p ON p.id = s.person_id"
                " WHERE s.grid_code = :g AND s.role = 'worker' AND p.id <> :me"
                " ORDER BY p.id LIMIT 1"
            ),
            {"g": OTHER_GRID, "me": worker.person_id},
        ).one()
    someone_else, _ = staff_token(own_live, int(other_id))
    phone.locator("#m-ended-signin").tap()
    phone.locator("#m-token").tap()
    phone.keyboard.type(someone_else)
    phone.locator("#m-signin-submit").tap()
    message = phone.locator("#m-signin-message")
    phone.wait_for_function(
        "(name) => document.querySelector('#m-signin-message').textContent.includes(name)",
        arg=str(other_name),
        timeout=15_000,
    )
    assert worker.name in message.inner_text() and "退出登录" in message.inner_text()
    phone.screenshot(path="/tmp/shots-phonefix/ended-other.png")
    assert phone.evaluate("localStorage.getItem('gridmap.m.token')") == first
    assert len(queued(phone)) == 1 and stored(own_live, report["key"]) == []

    # The same worker's new token, typed in: the kept report is sent, once.
    second, _ = staff_token(own_live, worker.person_id)
    phone.locator("#m-token").fill("")
    phone.locator("#m-token").tap()
    phone.keyboard.type(second)
    phone.locator("#m-signin-submit").tap()
    phone.locator("#home-grids[data-pack='yes'] li[data-grid]").first.wait_for(timeout=30_000)
    wait_all_sent(phone)
    assert notice.is_hidden()
    phone.screenshot(path="/tmp/shots-phonefix/ended-resumed.png")
    assert posts[-1] == f"Bearer {second}"
    with own_live.engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM incident WHERE description = '护栏损坏（令牌吊销）'")
        ).scalar_one()
    assert n == 1
    [(_, photos, _)] = stored(own_live, report["key"])
    assert photos == 0


def test_the_photo_limit_comes_from_the_field_pack(
    phone: Page, worker: Worker, own_live: Live, tmp_path: Path
) -> None:
    api = own_live.settings.api
    before = api.max_photos
    api.max_photos = 2
    try:
        sign_in(phone, worker.token)
        phone.locator("#tab-report").tap()
        count = phone.locator("#r-photo-count")
        phone.wait_for_function(
            "() => document.querySelector('#r-photo-count').textContent === '0/2 张'"
        )
        one = photo_file(tmp_path)
        files = []
        for i in range(3):
            copy = tmp_path / f"IMG_{i + 2:04d}.jpg"
            copy.write_bytes(one.read_bytes())
            files.append(str(copy))
        phone.locator("#r-photos").set_input_files(files)
        phone.locator("#toast", has_text="最多 2 张照片").wait_for(timeout=5_000)
        phone.wait_for_function(
            "() => document.querySelectorAll('#r-thumbs img').length === 2", timeout=30_000
        )
        full = phone.locator("#r-photo-full")
        assert full.is_visible() and full.inner_text() == "已达 2 张照片的上限，删除一张才能再加"
        assert count.inner_text() == "2/2 张"
        assert phone.locator("#r-photos").is_disabled()
        phone.screenshot(path="/tmp/shots-phonefix/photo-limit.png")
        phone.locator("#r-thumbs .thumb-x").first.tap()
        assert full.is_hidden() and count.inner_text() == "1/2 张"
        assert phone.locator("#r-photos").is_enabled()
    finally:
        api.max_photos = before
