"""The page's words files: each word is defined in one file only (a later file would silently
override an earlier one's wording), in both languages alike."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

TEXT = Path(__file__).parents[1] / "web" / "lib" / "text"
KEY = re.compile(r"(?:^|[\s{,])(\w+):\s*[\"`{\[]", re.M)


def _keys(lang: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(TEXT.glob(f"*_{lang}.js")):
        for key in KEY.findall(path.read_text("utf-8")):
            found[key].append(path.name)
    return found


def test_every_word_is_defined_in_one_file_only() -> None:
    for lang in ("zh", "en"):
        found = _keys(lang)
        assert "err_household_outside_group" in found, lang
        twice = {k: files for k, files in found.items() if len(set(files)) > 1}
        assert twice == {}, (lang, twice)


def test_a_group_that_does_not_hold_the_building_has_one_wording() -> None:
    """PATCH /households and the reassignment after a redraw refuse with the same code."""
    for lang in ("zh", "en"):
        assert _keys(lang)["err_household_outside_group"] == [f"errors_org_{lang}.js"], lang
