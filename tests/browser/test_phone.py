"""The phone page /m/ at phone size: signing in, home, a report made offline and synced once,
a sync whose answer was lost, a refusal in words. Results are checked in PostGIS."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from playwright.sync_api import Page, Route
from sqlalchemy import text
from tests.browser.conftest import Live
from tests.browser.phone import (
    OTHER_GRID,
    Worker,
    inside_point,
    phone,
    sign_in,
    wait_registered,
    worker,
)

__all__ = ["phone", "worker"]  # fixtures used by name

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_sign_in_shows_my_grids_and_my_position(phone: Page, worker: Worker) -> None:
    sign_in(phone, worker.token)
    assert worker.grid in phone.locator("#home-grids").inner_text()
    assert worker.name in phone.locator("#home-who").inner_text()
    phone.wait_for_function(
        "() => document.querySelector('#home-position').textContent.includes('在')", timeout=10_000
    )
    where = phone.locator("#home-position").inner_text()
    assert f"{worker.on_road[0]:.5f}" in where and "±8" in where
    assert phone.locator("#home-map path.leaflet-interactive, #home-map path").count() > 0
    assert phone.locator("#waiting-btn").inner_text() == "已全部发送"


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


def make_report(page: Page, what: str, photo: Path | None) -> None:
    """On the report screen: a category, 重要, a text, a photo; then 提交上报."""
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
    make_report(phone, "井盖缺失（离线）", photo_file(tmp_path))
    assert worker.grid in phone.locator("#r-where").inner_text()
    assert phone.locator("#r-where").get_attribute("data-grid") == worker.grid
    phone.wait_for_function("() => document.querySelector('#waiting-btn').dataset.waiting === '1'")
    assert phone.locator("#waiting-btn").inner_text() == "1 条待发送"
    items = queued(phone)
    assert [i["kind"] for i in items] == ["report", "photo"]
    report, photo = items
    assert photo["after"] == report["key"] and 0 < photo["bytes"] <= 1_000_000
    assert stored(own_live, report["key"]) == []

    # The page opens again with no network, from its service worker, with the queue kept.
    phone.reload()
    phone.locator("#tab-home").tap()
    phone.locator("#home-grids li[data-grid]").first.wait_for(timeout=15_000)
    assert phone.locator("#net").inner_text() == "离线"
    assert phone.locator("#waiting-btn").inner_text() == "1 条待发送"
    phone.locator("#waiting-btn").tap()
    assert phone.locator("#q-list li").count() == 2
    phone.screenshot(path=str(DOCS / "phone-waiting.png"))

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
    dropped: list[int] = []
    posts: list[str] = []

    def store_then_drop(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        posts.append(route.request.headers.get("idempotency-key", ""))
        if dropped:
            route.continue_()
            return
        answer = route.fetch()  # the server stores the report ...
        dropped.append(answer.status)
        route.abort("connectionreset")  # ... and the phone never hears it

    phone.context.route("**/api/v1/incidents", store_then_drop)
    make_report(phone, "路灯不亮（中断）", photo_file(tmp_path))
    while not dropped:
        phone.wait_for_timeout(100)
    assert dropped == [201]
    key = posts[0]
    phone.locator("#waiting-btn").tap()
    if phone.locator("#q-list li").count():
        phone.locator("#q-send").tap()
    wait_all_sent(phone)
    # The report went twice with its one key; the server kept one incident with one photo.
    assert len(posts) >= 2 and set(posts) == {key}
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
