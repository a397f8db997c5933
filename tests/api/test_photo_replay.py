"""Photos sent twice (the phone resends after a lost answer): the same Idempotency-Key or the
same image on the same incident or sub-task answers 200 with the stored photo and adds nothing."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.flow import report, step, tasks_of, world

INC = "/api/v1/incidents"


def picture(shade: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (60, 40), (shade, 80, 80)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def env(settings: Any, db: Session, tmp_path: Path) -> Iterator[dict[str, Any]]:
    from gridmap.dependencies import get_session
    from gridmap.main import create_app

    s = settings.model_copy(deep=True)
    s.api.media_dir = tmp_path
    s.api.max_photos = 2
    app = create_app(s)

    def one_session() -> Iterator[Session]:
        yield db

    app.dependency_overrides[get_session] = one_session
    w = world(db)
    with TestClient(app) as client:
        inc = report(client, w["worker"])
        yield {"client": client, "w": w, "incident": inc, "media": tmp_path}


def send(env: dict[str, Any], url: str, data: bytes, key: str | None, who: str = "worker") -> Any:
    headers = dict(env["w"][who])
    if key is not None:
        headers["Idempotency-Key"] = key
    return env["client"].post(url, files={"file": ("p.jpg", data, "image/jpeg")}, headers=headers)


def incident_photos(db: Session, incident: int) -> list[dict[str, Any]]:
    return list(
        db.execute(text("SELECT photos FROM incident WHERE id = :i"), {"i": incident}).scalar_one()
    )


def files(env: dict[str, Any]) -> int:
    return len([p for p in env["media"].rglob("*") if p.is_file()])


def test_an_incident_photo_sent_again_is_stored_once(env: dict[str, Any], db: Session) -> None:
    url = f"{INC}/{env['incident']}/photos"
    first = send(env, url, picture(10), "photo-key-0001")
    assert first.status_code == 201, first.text
    assert first.json()["key"] == "photo-key-0001"
    # The same key: the photo stored, whatever bytes came this time (a resend re-encoded).
    again = send(env, url, picture(11), "photo-key-0001")
    assert again.status_code == 200 and again.json() == first.json()
    # The same image without a key, or under a new key: the photo stored.
    same = send(env, url, picture(10), None)
    assert same.status_code == 200 and same.json()["sha256"] == first.json()["sha256"]
    assert send(env, url, picture(10), "photo-key-0002").status_code == 200
    assert incident_photos(db, env["incident"]) == [first.json()] and files(env) == 1
    # A resend of the last photo that fits is still 200 once the incident is full.
    second = send(env, url, picture(200), "photo-key-0003")
    assert second.status_code == 201
    assert send(env, url, picture(200), "photo-key-0003").status_code == 200
    third = send(env, url, picture(90), "photo-key-0004")
    assert third.status_code == 409
    assert len(incident_photos(db, env["incident"])) == 2 and files(env) == 2


def test_a_replay_is_still_checked_for_who_sends_it(env: dict[str, Any], db: Session) -> None:
    url = f"{INC}/{env['incident']}/photos"
    assert send(env, url, picture(10), "photo-key-0001").status_code == 201
    r = send(env, url, picture(10), "photo-key-0001", who="other_worker")
    assert r.status_code == 403
    r = send(env, url, picture(10), "bad key")
    assert r.status_code == 422
    assert len(incident_photos(db, env["incident"])) == 1


def test_a_task_photo_sent_again_is_stored_once(env: dict[str, Any], db: Session) -> None:
    w, client, inc = env["w"], env["client"], env["incident"]
    for name in ("accept", "claim", "split"):
        step(client, inc, name, w["street"])
    (task,) = tasks_of(db, inc)
    url = f"{INC}/{inc}/tasks/{task.id}/photos"
    first = send(env, url, picture(30), "task-photo-0001")
    assert first.status_code == 201, first.text
    assert send(env, url, picture(31), "task-photo-0001").status_code == 200
    assert send(env, url, picture(30), None).json() == first.json()
    (row,) = tasks_of(db, inc)
    assert row.photos == [first.json()]
    # The incident's own photos are another list: the same image there is a new photo.
    assert send(env, f"{INC}/{inc}/photos", picture(30), None).status_code == 201
