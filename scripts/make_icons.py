"""Draw the phone page's icons (web/m/icons/): a grid of 3×3 cells with a location pin.

Run ``python scripts/make_icons.py`` after changing the drawing; the PNGs are committed.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

RED = (192, 57, 43, 255)
WHITE = (255, 255, 255, 255)
OUT = Path(__file__).resolve().parent.parent / "web" / "m" / "icons"


def draw(size: int, *, safe: float) -> Image.Image:
    """The icon at ``size`` px; ``safe`` is the share of the side the drawing may use (a
    maskable icon keeps it inside the central 80 % circle the launcher may crop to)."""
    img = Image.new("RGBA", (size, size), RED)
    d = ImageDraw.Draw(img)
    side = size * safe
    x0 = (size - side) / 2
    cell = side / 3
    width = max(2, round(size / 48))
    for i in range(4):
        d.line([(x0 + i * cell, x0), (x0 + i * cell, x0 + side)], fill=WHITE, width=width)
        d.line([(x0, x0 + i * cell), (x0 + side, x0 + i * cell)], fill=WHITE, width=width)
    # The pin in the middle cell: a disc with a hole over a point.
    cx, cy, r = size / 2, size / 2 - cell * 0.12, cell * 0.32
    d.polygon(
        [(cx - r * 0.8, cy + r * 0.5), (cx + r * 0.8, cy + r * 0.5), (cx, cy + r * 1.7)], fill=WHITE
    )
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=WHITE)
    d.ellipse([cx - r * 0.4, cy - r * 0.4, cx + r * 0.4, cy + r * 0.4], fill=RED)
    return img


def main() -> None:
    """Write icon-192.png, icon-512.png and icon-maskable-512.png."""
    OUT.mkdir(parents=True, exist_ok=True)
    draw(192, safe=0.8).save(OUT / "icon-192.png", optimize=True)
    draw(512, safe=0.8).save(OUT / "icon-512.png", optimize=True)
    draw(512, safe=0.6).save(OUT / "icon-maskable-512.png", optimize=True)


if __name__ == "__main__":
    main()
