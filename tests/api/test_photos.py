"""Incident photos: only whole JPEG/PNG/WebP images within the pixel limit are stored, encoded
again upright and without the EXIF place unless asked to keep it; anything else is 422 and
leaves nothing on disk or in the incident."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import EAST_GRID, WEST_GRID, bearer, two_grids

INC = "/api/v1/incidents"
GPS_IFD = 0x8825
ORIENTATION = 0x0112
GPS = {1: "N", 2: (40.0, 0.0, 18.0), 3: "E", 4: (116.0, 20.0, 31.0)}


def image(fmt: str, size: tuple[int, int] = (40, 20), *, gps: bool = False, turn: int = 1) -> bytes:
    """A real image; with ``gps`` its EXIF says where it was taken, ``turn`` its orientation."""
    exif = Image.Exif()
    exif[ORIENTATION] = turn
    if gps:
        exif.get_ifd(GPS_IFD).update(GPS)
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, fmt, exif=exif.tobytes())
    return buf.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that says it is ``width``×``height`` and holds a few compressed bytes: a bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 100_000, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture
def setup(settings: Any, db: Session, tmp_path: Path) -> Iterator[dict[str, Any]]:
    from gridmap.dependencies import get_session
    from gridmap.main import create_app

    s = settings.model_copy(deep=True)
    s.api.media_dir = tmp_path
    s.api.max_photo_bytes = 200_000
    s.api.max_photos = 3
    s.api.max_photo_pixels = 1_000_000
    app = create_app(s)

    def one_session() -> Iterator[Session]:
        yield db

    app.dependency_overrides[get_session] = one_session
    two_grids(db)
    worker = bearer(db, "worker", WEST_GRID, "西网格员")
    with TestClient(app) as client:
        made = client.post(
            INC,
            json={"x": 116.342, "y": 40.005, "category": "市容环境/暴露垃圾"},
            headers=worker,
        )
        assert made.status_code == 201
        yield {
            "client": client,
            "worker": worker,
            "other": bearer(db, "worker", EAST_GRID, "东网格员"),
            "incident": made.json()["properties"]["id"],
            "media": tmp_path,
        }


def upload(env: dict[str, Any], data: bytes, name: str, headers: Any = None, **form: str) -> Any:
    return env["client"].post(
        f"{INC}/{env['incident']}/photos",
        headers=env["worker"] if headers is None else headers,
        files={"file": (name, data, "application/octet-stream")},
        data=form,
    )


def stored(db: Session, env: dict[str, Any]) -> tuple[int, int]:
    """Photos referenced by the incident, and files in the media folder."""
    n = db.execute(
        text("SELECT jsonb_array_length(photos) FROM incident WHERE id = :id"),
        {"id": env["incident"]},
    ).scalar_one()
    return int(n), len([p for p in env["media"].rglob("*") if p.is_file()])


def test_a_jpeg_is_stored_upright_without_its_gps(setup: dict[str, Any], db: Session) -> None:
    sent = image("JPEG", gps=True, turn=6)
    r = upload(setup, sent, "site.jpg")
    assert r.status_code == 201, r.text
    assert r.json()["type"] == "image/jpeg" and r.json()["url"].endswith(".jpg")
    got = setup["client"].get(r.json()["url"])
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert got.content != sent and len(got.content) == r.json()["bytes"]
    with Image.open(io.BytesIO(got.content)) as im:
        assert im.format == "JPEG" and im.size == (20, 40)  # turned as its EXIF said
        assert not im.getexif().get_ifd(GPS_IFD) and ORIENTATION not in im.getexif()
    assert stored(db, setup) == (1, 1)


def test_keep_location_keeps_the_exif(setup: dict[str, Any]) -> None:
    r = upload(setup, image("JPEG", gps=True, turn=6), "site.jpg", keep_location="true")
    assert r.status_code == 201
    with Image.open(io.BytesIO(setup["client"].get(r.json()["url"]).content)) as im:
        assert im.getexif().get_ifd(GPS_IFD) == GPS
        assert im.getexif()[ORIENTATION] == 1 and im.size == (20, 40)


@pytest.mark.parametrize(("fmt", "media"), [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_stay_what_they_are(setup: dict[str, Any], fmt: str, media: str) -> None:
    r = upload(setup, image(fmt, gps=True), f"site.{fmt.lower()}")
    assert r.status_code == 201 and r.json()["type"] == media
    with Image.open(io.BytesIO(setup["client"].get(r.json()["url"]).content)) as im:
        assert im.format == fmt and not im.getexif().get_ifd(GPS_IFD)


def test_a_phones_multi_picture_jpeg_is_stored_as_a_jpeg(
    setup: dict[str, Any], db: Session
) -> None:
    first, second = Image.new("RGB", (40, 20), (200, 30, 30)), Image.new("RGB", (40, 20))
    buf = io.BytesIO()
    first.save(buf, "MPO", save_all=True, append_images=[second])
    with Image.open(io.BytesIO(buf.getvalue())) as sent:
        assert sent.format == "MPO"
    r = upload(setup, buf.getvalue(), "3d.jpg")
    assert r.status_code == 201, r.text
    assert r.json()["type"] == "image/jpeg"
    with Image.open(io.BytesIO(setup["client"].get(r.json()["url"]).content)) as im:
        assert im.format == "JPEG" and im.size == (40, 20)
    assert stored(db, setup) == (1, 1)


def _gif() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "GIF")
    return buf.getvalue()


HOSTILE = [
    ("png_header_and_zeros", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "broken"),
    ("jpeg_magic_and_zeros", b"\xff\xd8\xff\xe0" + b"\x00" * 100, "broken"),
    ("truncated_jpeg", image("JPEG", (200, 200))[:300], "broken"),
    ("bomb_60000", png_header(60_000, 60_000), "too many pixels"),
    ("over_the_setting", png_header(1_001, 1_000), "1001×1000 pixels"),
    ("gif", _gif(), "not a JPEG, PNG or WebP"),
    ("script", b"<script>alert(1)</script>", "not a JPEG, PNG or WebP"),
    ("empty", b"", "not a JPEG, PNG or WebP"),
]


@pytest.mark.parametrize(("data", "words"), [pytest.param(d, w, id=i) for i, d, w in HOSTILE])
def test_what_is_not_a_whole_image_is_refused(
    setup: dict[str, Any], db: Session, data: bytes, words: str
) -> None:
    r = upload(setup, data, "site.png")
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_file" and r.json()["field"] == "file"
    assert words in r.json()["detail"] and "/tmp" not in r.text
    assert stored(db, setup) == (0, 0)


def test_who_may_add_and_how_many(setup: dict[str, Any], db: Session) -> None:
    jpeg = image("JPEG")
    assert upload(setup, jpeg, "x.jpg", setup["other"]).status_code == 403
    assert upload(setup, jpeg, "x.jpg", {}).status_code == 401
    noise = Image.frombytes("L", (500, 500), bytes(range(256)) * 977)
    buf = io.BytesIO()
    noise.save(buf, "PNG", compress_level=0)
    assert len(buf.getvalue()) > 200_000
    assert upload(setup, buf.getvalue(), "big.png").status_code == 422
    for shade in range(3):
        big = image("PNG", (1000, 1000 - shade))
        assert upload(setup, big, "ok.png").status_code == 201
    r = upload(setup, jpeg, "fourth.jpg")
    assert r.status_code == 409
    client, inc = setup["client"], setup["incident"]
    photos = client.get(f"{INC}/{inc}").json()["properties"]["photos"]
    assert [p["type"] for p in photos] == ["image/png"] * 3
    assert client.get(f"{INC}/{inc}/photos/{'0' * 32}.png").status_code == 404
    assert client.get(f"{INC}/{inc}/photos/..%2F..%2Fetc.png").status_code in (404, 422)
    # The same picture again is the photo stored (see test_photo_replay.py): nothing added.
    assert upload(setup, big, "again.png").status_code == 200
    assert stored(db, setup) == (3, 3)
