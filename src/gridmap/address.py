"""gridmap.address: read Chinese standard addresses (标准地址) the way people type them.

Everything that varies without changing *which* building is meant is normalised away, on both
the stored addresses and the query, so that fuzzy matching (pg_trgm) compares what matters:
full-width characters (３号楼), Chinese numerals (三号楼), the building word (号楼, 栋, 幢, 座,
#), the province/city/district/street prefix, and unit/floor/room (which the standard address
of a building does not hold). What is stripped is kept, so answers can say why they matched.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_NUMBER = re.compile("[零〇一二两三四五六七八九十百千]+")
_PUNCT = re.compile(r"[\s\-—–_·・.,，。、;；:：'\"“”‘’()（）\[\]【】{}<>《》/\\|]+")
_BUILDING = re.compile(r"(\d+)(?:号楼|号院|栋|幢|座|楼|号)")
_UNIT = re.compile(r"(\d+)(?:单元|门)")
_FLOOR = re.compile(r"(\d+)(?:层|楼层)")
_ROOM = re.compile(r"(\d+)(?:室|户|房)")
MUNICIPALITIES = ("北京", "天津", "上海", "重庆")


def chinese_to_arabic(text: str) -> str:
    """Chinese numerals in ``text`` as Arabic digits.

    Examples
    --------
    >>> chinese_to_arabic("三号楼"), chinese_to_arabic("二十一栋"), chinese_to_arabic("十号")
    ('3号楼', '21栋', '10号')
    >>> chinese_to_arabic("一百零五室"), chinese_to_arabic("二〇二"), chinese_to_arabic("两千")
    ('105室', '202', '2000')
    """

    def convert(m: re.Match[str]) -> str:
        run = m.group(0)
        if not any(c in _UNITS for c in run):
            return "".join(str(_DIGITS[c]) for c in run)
        total, current = 0, 0
        for c in run:
            if c in _DIGITS:
                current = _DIGITS[c]
            else:
                total += (current or 1) * _UNITS[c]
                current = 0
        return str(total + current)

    return _CN_NUMBER.sub(convert, text)


@dataclass
class Parsed:
    """An address reduced to what tells buildings apart, and what was set aside."""

    key: str
    street: str | None = None
    unit: str | None = None
    floor: str | None = None
    room: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def numbers(self) -> list[str]:
        """The numbers left in the key (road number, building number …)."""
        return re.findall(r"\d+", self.key)


@dataclass(frozen=True)
class Places:
    """Names of the regions an address may start with: districts and streets."""

    districts: tuple[str, ...] = ()
    streets: tuple[str, ...] = ()

    @classmethod
    def of(cls, regions: Iterable[tuple[str, str]]) -> Places:
        """From (level, name) pairs."""
        pairs = list(regions)
        return cls(
            districts=tuple(
                sorted({n for lv, n in pairs if lv == "district"}, key=len, reverse=True)
            ),
            streets=tuple(sorted({n for lv, n in pairs if lv == "street"}, key=len, reverse=True)),
        )


def _strip_prefixes(s: str, places: Places, notes: list[str]) -> tuple[str, str | None]:
    street = None
    changed = True
    while changed:
        changed = False
        for prefix in ("中华人民共和国", "中国"):
            if s.startswith(prefix):
                s, changed = s[len(prefix) :], True
        for city in MUNICIPALITIES:
            for form in (city + "市", city):
                if s.startswith(form) and len(s) > len(form):
                    s, changed = s[len(form) :], True
                    notes.append(f"dropped {form}")
                    break
        for district in places.districts:
            forms = [district]
            if district[-1] in "区县" and len(district) > 2:
                forms.append(district[:-1])
            for form in forms:
                if s.startswith(form) and len(s) > len(form):
                    s, changed = s[len(form) :], True
                    notes.append(f"dropped {form}")
                    break
        for name in places.streets:
            if s.startswith(name) and len(s) > len(name):
                s, street, changed = s[len(name) :], name, True
                break
    return s, street


def parse(address: str, places: Places = Places()) -> Parsed:
    """Reduce an address (stored or typed) to its matching key.

    Examples
    --------
    >>> p = Places(districts=("海淀区",), streets=("学院路街道",))
    >>> parse("北京市海淀区学院路街道石科院生活区2号楼", p).key
    '石科院生活区2号'
    >>> q = parse("石科院生活区二号楼３单元５０２室", p)
    >>> q.key, q.unit, q.room
    ('石科院生活区2号', '3', '502')
    >>> parse("海淀 石科院生活区 2#楼", p).key, parse("石科院生活区2栋", p).key
    ('石科院生活区2号', '石科院生活区2号')
    """
    notes: list[str] = []
    s = unicodedata.normalize("NFKC", address).lower()
    converted = chinese_to_arabic(s)
    if converted != s:
        notes.append("Chinese numerals read as digits")
    s = _PUNCT.sub("", converted.replace("#", "号"))
    s, street = _strip_prefixes(s, places, notes)
    unit = floor = room = None
    m = _UNIT.search(s)
    if m:
        unit = m.group(1)
        tail = s[m.end() :]
        s = s[: m.start()]
        r = _ROOM.search(tail) or re.match(r"(\d+)$", tail)
        if r:
            room = r.group(1)
    for pattern, name in ((_ROOM, "room"), (_FLOOR, "floor")):
        m = pattern.search(s)
        if m and m.end() == len(s):
            if name == "room":
                room = m.group(1)
            else:
                floor = m.group(1)
            s = s[: m.start()]
    # "2号楼502": a bare number after the building is a room.
    m = re.search(r"((?:\d+)(?:号楼|栋|幢|座))(\d{3,4})$", s)
    if m:
        room = room or m.group(2)
        s = s[: m.start(2)]
    key = _BUILDING.sub(lambda b: b.group(1) + "号", s)
    if unit or room or floor:
        notes.append("unit/floor/room set aside: standard addresses stop at the building")
    return Parsed(key=key, street=street, unit=unit, floor=floor, room=room, notes=notes)
