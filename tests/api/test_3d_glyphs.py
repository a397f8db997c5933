"""The 2.5-D view's page at /3d and the label glyphs gridmap serves for it (/fonts/…/{range}.pbf)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

STACK = "Gridmap%20Sans"


def _varint(data: bytes, i: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        byte = data[i]
        i += 1
        n |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return n, i


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """The top-level fields of a protobuf message: (number, int or bytes)."""
    out: list[tuple[int, int | bytes]] = []
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        if key & 7 == 2:
            size, i = _varint(data, i)
            out.append((key >> 3, data[i : i + size]))
            i += size
        else:
            value, i = _varint(data, i)
            out.append((key >> 3, value))
    return out


def _glyphs(data: bytes) -> tuple[str, str, dict[int, dict[int, int | bytes]]]:
    """The fontstack name, range and glyphs (by code point) of a glyph PBF."""
    [(number, stack)] = _fields(data)
    assert number == 1 and isinstance(stack, bytes)
    fields = _fields(stack)
    name = next(v for n, v in fields if n == 1)
    span = next(v for n, v in fields if n == 2)
    assert isinstance(name, bytes) and isinstance(span, bytes)
    glyphs = {}
    for n, v in fields:
        if n == 3:
            assert isinstance(v, bytes)
            glyph = dict(_fields(v))
            glyphs[int(glyph[1])] = glyph  # type: ignore[arg-type]
    return name.decode(), span.decode(), glyphs


def test_the_page_is_served_at_3d_with_maplibre_from_gridmap(client: TestClient) -> None:
    r = client.get("/3d")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<div id="map3d"' in r.text and "/3d/view3d.js" in r.text
    js = client.get("/vendor/maplibre/maplibre-gl.mjs")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert client.get("/vendor/maplibre/maplibre-gl-worker.mjs").status_code == 200
    assert "BSD" in client.get("/vendor/maplibre/LICENSE.txt").text


def test_latin_glyphs_are_signed_distance_fields_of_24_px(client: TestClient) -> None:
    r = client.get(f"/fonts/{STACK}/0-255.pbf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-protobuf"
    name, span, glyphs = _glyphs(r.content)
    assert (name, span) == ("Gridmap Sans", "0-255")
    # Every digit and Latin letter a grid code or English word needs.
    assert set(range(ord("0"), ord("9") + 1)) | set(range(ord("A"), ord("z") + 1)) <= set(glyphs)
    zero = glyphs[ord("0")]
    width, height = int(zero[3]), int(zero[4])  # type: ignore[call-overload]
    bitmap = zero[2]
    assert isinstance(bitmap, bytes) and len(bitmap) == (width + 6) * (height + 6)
    assert 10 <= width <= 20 and 14 <= height <= 22 and 10 <= int(zero[7]) <= 20  # type: ignore[call-overload]
    # A field: far outside is 0, the stroke well inside the 0.75 edge.
    assert bitmap[0] == 0 and max(bitmap) > 192
    assert 32 in glyphs and 2 not in glyphs[32]  # a space: an advance, no bitmap


def test_cjk_punctuation_and_full_width_forms_are_served(client: TestClient) -> None:
    for span, char in (("12288-12543", "、"), ("65280-65535", "（")):
        r = client.get(f"/fonts/{STACK}/{span}.pbf")
        assert r.status_code == 200
        assert ord(char) in _glyphs(r.content)[2], char


def test_a_stack_is_read_as_its_first_known_font(client: TestClient) -> None:
    r = client.get("/fonts/Open%20Sans%20Regular,Gridmap%20Sans/0-255.pbf")
    assert r.status_code == 200 and _glyphs(r.content)[0] == "Gridmap Sans"


def test_a_range_without_glyphs_answers_an_empty_range(client: TestClient) -> None:
    # Chinese characters are drawn by the browser; should MapLibre still ask, it gets no glyphs.
    r = client.get(f"/fonts/{STACK}/19968-20223.pbf")
    assert r.status_code == 200
    assert _glyphs(r.content) == ("Gridmap Sans", "19968-20223", {})


@pytest.mark.parametrize(
    "path",
    [
        f"/fonts/{STACK}/0-256.pbf",
        f"/fonts/{STACK}/1-256.pbf",
        f"/fonts/{STACK}/65536-65791.pbf",
        f"/fonts/{STACK}/-256-0.pbf",
        f"/fonts/{STACK}/NaN-NaN.pbf",
        f"/fonts/{STACK}/0-255;DROP TABLE grid.pbf",
        f"/fonts/{STACK}/" + "9" * 5000 + "-0.pbf",
        f"/fonts/{'A' * 300}/0-255.pbf",
    ],
)
def test_malformed_ranges_and_stacks_are_refused(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code in (414, 422), (path, r.status_code)
    assert r.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    "path",
    [
        "/fonts/Arial/0-255.pbf",
        "/fonts/..%2F..%2Fsrc/0-255.pbf",
        "/fonts/%2E%2E/0-255.pbf",
        "/fonts/' OR 1=1 --/0-255.pbf",
    ],
)
def test_unknown_fonts_are_not_found_and_no_file_outside_is_read(
    client: TestClient, path: str
) -> None:
    r = client.get(path)
    assert r.status_code == 404, (path, r.status_code)
    assert r.json()["code"] == "not_found"
