"""Make the 2.5-D view's label glyphs (web/fonts/): signed distance fields in MapLibre's PBF format.

Run ``python scripts/make_glyphs.py`` on a machine with Debian's fonts-dejavu-core and
fonts-wqy-microhei; the PBFs are committed, so the page needs neither at run time. Latin, digits
and punctuation come from DejaVu Sans; CJK punctuation and full-width forms from WenQuanYi Micro
Hei. Chinese characters are not in these files: the page draws them with the browser's own font
(MapLibre's ``localIdeographFontFamily``), which keeps the files small.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy.ndimage import distance_transform_edt

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "web" / "fonts"
FONTSTACK = "Gridmap Sans"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
LICENCES = {
    "LICENSE-DejaVu.txt": Path("/usr/share/doc/fonts-dejavu-core/copyright"),
    "LICENSE-WenQuanYi.txt": Path("/usr/share/doc/fonts-wqy-microhei/copyright"),
}
# Each 256-code-point range MapLibre may ask for, and the font its glyphs are drawn from.
RANGES = {
    0: DEJAVU,  # Basic Latin and Latin-1
    256: DEJAVU,  # Latin Extended-A/B: pinyin with tone marks
    8192: DEJAVU,  # General Punctuation: – — ‘ ’ “ ” … ·
    8448: DEJAVU,  # Letterlike symbols, arrows: № ℃ → ←
    9472: DEJAVU,  # Box drawing and geometric shapes: ■ □ ▲ ● ○
    12288: WQY,  # CJK Symbols and Punctuation: 、 。 《 》 「 」 【 】
    65280: WQY,  # Halfwidth and Fullwidth Forms: （ ） ， ： ０-９
}
SIZE = 24  # MapLibre's glyph size in pixels
BUFFER = 3  # pixels of field around each glyph
RADIUS = 8.0  # how far the field reaches, in pixels
CUTOFF = 0.25  # where the outline sits in the 0-1 field (MapLibre draws the edge at 0.75)
SCALE = 4  # glyphs are drawn this much larger, the field read back at SIZE
# MapLibre places a glyph's top this far above its own line top (as for its locally drawn
# ideographs), so Latin and Chinese in one label share a baseline.
TOP_ADJUSTMENT = 27


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, bytes):
        return _varint(number << 3 | 2) + _varint(len(value)) + value
    return _varint(number << 3) + _varint(value)


def sdf(font: ImageFont.FreeTypeFont, char: str) -> tuple[bytes, int, int, int, int, int]:
    """The field of ``char`` drawn with ``font`` (at SIZE × SCALE px) and its metrics at SIZE:
    (bitmap, width, height, left, top, advance)."""
    advance = round(font.getlength(char) / SCALE)
    x0, y0, x1, y1 = font.getbbox(char, anchor="ls")
    if x1 <= x0 or y1 <= y0:
        return b"", 0, 0, 0, 0, advance
    left = int(np.floor(x0 / SCALE))
    ascent = int(np.ceil(-y0 / SCALE))
    width = int(np.ceil(x1 / SCALE)) - left
    height = int(np.ceil(y1 / SCALE)) + ascent
    w, h = width + 2 * BUFFER, height + 2 * BUFFER
    img = Image.new("L", (w * SCALE, h * SCALE), 0)
    origin = ((BUFFER - left) * SCALE, (BUFFER + ascent) * SCALE)
    ImageDraw.Draw(img).text(origin, char, font=font, fill=255, anchor="ls")
    inside = np.asarray(img) >= 128
    # Positive outside the outline, negative inside, in pixels of the SIZE glyph.
    dist = (distance_transform_edt(~inside) - distance_transform_edt(inside)) / SCALE
    centres = dist[SCALE // 2 :: SCALE, SCALE // 2 :: SCALE][:h, :w]
    values = np.clip(np.round(255 - 255 * (centres / RADIUS + CUTOFF)), 0, 255).astype(np.uint8)
    return values.tobytes(), width, height, left, ascent - TOP_ADJUSTMENT, advance


def _missing(font: ImageFont.FreeTypeFont) -> bytes:
    """What the font draws for a code point it has no glyph for (its .notdef box)."""
    return bytes(font.getmask("\U0010fffd"))


def glyphs(font: ImageFont.FreeTypeFont, codes: Iterable[int]) -> bytes:
    """The encoded glyph messages of the ``codes`` the font has."""
    notdef = _missing(font)
    out = bytearray()
    for code in codes:
        char = chr(code)
        if code < 32 or 0x7F <= code < 0xA0 or 0xD800 <= code < 0xE000:
            continue
        if code != 32 and bytes(font.getmask(char)) == notdef:
            continue
        bitmap, width, height, left, top, advance = sdf(font, char)
        msg = _field(1, code)
        if bitmap:
            msg += _field(2, bitmap)
        msg += _field(3, width) + _field(4, height)
        msg += _field(5, _zigzag(left)) + _field(6, _zigzag(top)) + _field(7, advance)
        out += _field(3, msg)
    return bytes(out)


def fontstack_pbf(name: str, start: int, body: bytes) -> bytes:
    """One range's PBF: a ``glyphs`` message holding one fontstack."""
    stack = _field(1, name.encode()) + _field(2, f"{start}-{start + 255}".encode()) + body
    return _field(1, stack)


def main() -> None:
    """Write web/fonts/Gridmap Sans/{start}-{end}.pbf and the fonts' licences beside them."""
    folder = OUT / FONTSTACK
    folder.mkdir(parents=True, exist_ok=True)
    for start, path in RANGES.items():
        font = ImageFont.truetype(str(path), SIZE * SCALE, layout_engine=ImageFont.Layout.BASIC)
        data = fontstack_pbf(FONTSTACK, start, glyphs(font, range(start, start + 256)))
        (folder / f"{start}-{start + 255}.pbf").write_bytes(data)
        print(f"{start}-{start + 255}.pbf: {len(data):,} bytes from {path.name}")
    for name, source in LICENCES.items():
        shutil.copyfile(source, OUT / name)


if __name__ == "__main__":
    main()
