"""gridmap.glyphs: the 2.5-D view's label glyphs (web/fonts/), a file per 256 code points."""

from __future__ import annotations

import re
from pathlib import Path

from gridmap.errors import InvalidInput, NotFound

# MapLibre asks for ranges of 256 code points: 0-255, 256-511, … up to 65280-65535.
_RANGE = re.compile(r"(\d{1,5})-(\d{1,5})")
_MAX_STACK = 256


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _text_field(number: int, value: str) -> bytes:
    data = value.encode()
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def empty_range(fontstack: str, start: int) -> bytes:
    """A range's PBF with no glyphs: MapLibre then leaves those characters out, quietly."""
    stack = _text_field(1, fontstack) + _text_field(2, f"{start}-{start + 255}")
    return _varint(1 << 3 | 2) + _varint(len(stack)) + stack


def parse_range(glyph_range: str) -> int:
    """The first code point of ``glyph_range`` ("256-511"); InvalidInput unless it is a range
    MapLibre asks for."""
    m = _RANGE.fullmatch(glyph_range)
    if m is None:
        raise InvalidInput(f"{glyph_range[:40]!r} is not a glyph range such as 0-255")
    start, end = int(m[1]), int(m[2])
    if start % 256 or end != start + 255 or end > 0xFFFF:
        raise InvalidInput(
            f"{start}-{end} is not a glyph range: ranges are 256 code points from a multiple "
            "of 256 (0-255, 256-511, …), up to 65280-65535"
        )
    return start


def glyphs(folder: Path, fontstack: str, glyph_range: str) -> bytes:
    """The PBF of ``glyph_range`` for the first font of ``fontstack`` (a comma list) that
    ``folder`` holds; an empty one when that font has no glyphs in the range."""
    start = parse_range(glyph_range)
    if len(fontstack) > _MAX_STACK:
        raise InvalidInput(f"a font stack is at most {_MAX_STACK} characters")
    known = {p.name: p for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else {}
    for name in (part.strip() for part in fontstack.split(",")):
        if name in known:
            path = known[name] / f"{start}-{start + 255}.pbf"
            return path.read_bytes() if path.is_file() else empty_range(name, start)
    raise NotFound(f"no font of {fontstack[:80]!r}; there are {', '.join(sorted(known)) or 'none'}")
