"""gridmap.address: read Chinese standard addresses (标准地址) the way people type them, and score
a stored address against what was typed.

Everything that varies without changing *which* building is meant is normalised away, on both
the stored addresses and the query, so that fuzzy matching (pg_trgm) compares what matters:
full-width characters (３号楼), Chinese numerals of a number (三号楼, but not 二里庄 or 北京大学's
words: only numerals before 号/楼/单元/室/栋/幢/座 … are numbers), the building word (号楼, 栋,
幢, 座, #), the province/city/district/street prefix (北京 only when a district or street follows:
北京大学 is a name), and unit/floor/room (which the standard address of a building does not
hold). What is stripped is kept, so answers can say why they matched. Pure functions: no
database here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from gridmap.vocab.address import WEAK_BELOW, AddressMatch

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
_CN = "零〇一二两三四五六七八九十百千"
_CN_NUMBER = re.compile(f"[{_CN}]+")
# A run of Chinese numerals is a number only before a word that counts (三号楼, 五单元, 十楼), or
# at the end after one (2单元五〇二); elsewhere it is part of a name (二里庄, 六道口, 十四所).
_COUNTED = "号|楼|单元|门|层|室|户|房|栋|幢|座|#"
_CN_COUNTED = re.compile(f"[{_CN}]+(?={_COUNTED})|(?<=[0-9元门楼层号])[{_CN}]+$")
_PUNCT = re.compile(r"[\s\-—–_·・.,，。、;；:：'\"“”‘’()（）\[\]【】{}<>《》/\\|]+")
_BUILDING = re.compile(r"(\d+)(?:号楼|号院|栋|幢|座|楼|号)")
_UNIT = re.compile(r"(\d+)(?:单元|门)")
_FLOOR = re.compile(r"(\d+)(?:层|楼层)")
_ROOM = re.compile(r"(\d+)(?:室|户|房)")
# A door plate on a road: the road's name, then the number (学院路18号, 清华东路27号院).
_ROAD = re.compile(r"^(\D{1,12}?(?:大街|路|街|胡同|巷))(\d+)号")
_COMMUNITY_WORD = re.compile("(社区|小区)$")
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
    return _CN_NUMBER.sub(lambda m: _number(m.group(0)), text)


def _number(run: str) -> str:
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


def numbers_as_digits(text: str) -> str:
    """The Chinese numerals of ``text`` that count something as digits; those of names kept.

    Examples
    --------
    >>> numbers_as_digits("二里庄十六号楼"), numbers_as_digits("六道口社区五号楼")
    ('二里庄16号楼', '六道口社区5号楼')
    >>> numbers_as_digits("东十三楼"), numbers_as_digits("十四所"), numbers_as_digits("3单元五〇二")
    ('东13楼', '十四所', '3单元502')
    """
    return _CN_COUNTED.sub(lambda m: _number(m.group(0)), text)


_NAME_DIGITS = re.compile(rf"(?<!\d)([1-9]\d?)(?!\d|{_COUNTED})")


def digits_as_numerals(text: str) -> str:
    """``text`` with the small numbers that count nothing written in Chinese, as names hold them:
    a person may type 第2教学楼 for 第二教学楼 or 城建4社区 for 城建四社区.

    Examples
    --------
    >>> digits_as_numerals("第2教学楼"), digits_as_numerals("2里庄社区16号楼")
    ('第二教学楼', '二里庄社区16号楼')
    >>> digits_as_numerals("东13楼"), digits_as_numerals("城建4社区")
    ('东13楼', '城建四社区')
    """
    return _NAME_DIGITS.sub(lambda m: _numeral(int(m.group(1))), text)


def _numeral(n: int) -> str:
    names = "零一二三四五六七八九"
    if n < 10:
        return names[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else names[tens]) + "十" + (names[ones] if ones else "")


@dataclass
class Parsed:
    """An address reduced to what tells buildings apart, and what was set aside."""

    key: str
    street: str | None = None
    unit: str | None = None
    floor: str | None = None
    room: str | None = None
    road: str | None = None
    door: str | None = None
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

    def district_forms(self) -> list[str]:
        """Each district's name, and without 区/县 (海淀) when that leaves two characters."""
        forms = []
        for district in self.districts:
            forms.append(district)
            if district[-1] in "区县" and len(district) > 2:
                forms.append(district[:-1])
        return forms

    def street_forms(self) -> list[str]:
        """Each street's name, and without 街道/镇/乡/地区 (学院路 for 学院路街道)."""
        forms = [*self.streets]
        forms += [s for s in (street_short_name(n) for n in self.streets) if s]
        return forms


def street_short_name(name: str) -> str | None:
    """A street office's name without its office word, or None when it has none.

    >>> street_short_name("学院路街道"), street_short_name("四季青地区"), street_short_name("海淀")
    ('学院路', '四季青', None)
    """
    short = re.sub("(街道|镇|乡|地区)$", "", name)
    return short if short != name and short else None


def _region_follows(s: str, places: Places) -> bool:
    return any(s.startswith(f) for f in (*places.district_forms(), *places.street_forms()))


def _strip_prefixes(s: str, places: Places, notes: list[str]) -> tuple[str, str | None]:
    street = None
    city_done = False
    changed = True
    while changed:
        changed = False
        for prefix in ("中华人民共和国", "中国"):
            if s.startswith(prefix):
                s, changed = s[len(prefix) :], True
        for city in () if city_done else MUNICIPALITIES:
            # 北京市 is the city; a bare 北京 only when a district or street follows it, for
            # 北京大学 and 北京交通大学 are names.
            if s.startswith(city + "市") and len(s) > len(city) + 1:
                s, changed, city_done = s[len(city) + 1 :], True, True
                notes.append(f"dropped {city}市")
            elif s.startswith(city) and _region_follows(s[len(city) :], places):
                s, changed, city_done = s[len(city) :], True, True
                notes.append(f"dropped {city}")
            if city_done:
                break
        for form in places.district_forms():
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
    >>> parse("北京大学", p).key, parse("二里庄16号楼", p).key
    ('北京大学', '二里庄16号')
    >>> r = parse("学院路街道学院路18号院", p)
    >>> r.street, r.road, r.door, r.key
    ('学院路街道', '学院路', '18', '学院路18号')
    """
    notes: list[str] = []
    s = unicodedata.normalize("NFKC", address).lower()
    converted = numbers_as_digits(s)
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
    road = _ROAD.match(key)
    return Parsed(
        key=key,
        street=street,
        unit=unit,
        floor=floor,
        room=room,
        road=road.group(1) if road else None,
        door=road.group(2) if road else None,
        notes=notes,
    )


def _trigrams(s: str) -> set[str]:
    padded = f"  {s} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def name_similarity(typed: str, stored: str) -> tuple[float, str]:
    """How alike two place names are (0–1), and how to say it.

    Trigrams (as pg_trgm counts them) reward long shared runs; edit distance forgives a typo in
    a short name, where one wrong character spoils most trigrams; a community's name without its
    社区/小区 is the community (二里庄 for 二里庄社区); a typed name found whole in the stored one
    (燕东园 in 北京大学燕东园) is a shortened name, the closer the more of it was typed.

    Examples
    --------
    >>> name_similarity("石科院生活区", "石科院生活区")
    (1.0, 'same name')
    >>> round(name_similarity("艺海大夏", "艺海大厦")[0], 2)
    0.75
    >>> name_similarity("燕东园", "北京大学燕东园")[1]
    'name found within 北京大学燕东园'
    >>> name_similarity("二里庄", "二里庄社区")
    (0.95, 'community name')
    """
    if typed == stored:
        return 1.0, "same name"
    if not typed or not stored:
        return 0.0, "no name to compare"
    if _COMMUNITY_WORD.sub("", typed) == _COMMUNITY_WORD.sub("", stored):
        return 0.95, "community name"
    a, b = _trigrams(typed), _trigrams(stored)
    trigram = len(a & b) / len(a | b)
    edit = 1 - _edit_distance(typed, stored) / max(len(typed), len(stored))
    within = 0.8 + 0.1 * len(typed) / len(stored) if len(typed) >= 3 and typed in stored else 0.0
    best = max(trigram, edit, within)
    if best == within:
        return best, f"name found within {stored}"
    return best, f"similar name ({best:.2f})"


@dataclass(frozen=True)
class Match:
    """How well a stored address matches a parsed query: score 0–1, what matched, and why."""

    score: float
    matched: AddressMatch
    why: list[str]

    @property
    def weak(self) -> bool:
        """Below :data:`gridmap.vocab.address.WEAK_BELOW`: to be checked before it is trusted."""
        return self.score < WEAK_BELOW


def score(parsed: Parsed, stored_key: str, street: str | None) -> Match:
    """Score a stored building (its address key and street office's name) against a query.

    A different building number is a different building, however alike the names; a road's
    door plate must be on that road; a street office named in the query must be the building's.

    Examples
    --------
    >>> p = Places(districts=("海淀区",), streets=("学院路街道", "清华园街道"))
    >>> m = score(parse("二里庄16号楼", p), "二里庄社区16号", "学院路街道")
    >>> m.matched, m.weak
    ('community_and_number', False)
    >>> m = score(parse("学院路18号院", p), "学院路18号号院1号", "学院路街道")
    >>> m.matched, m.weak
    ('road_and_number', False)
    >>> m = score(parse("学院路30号", p), "学院路18号号院1号", "学院路街道")
    >>> m.matched, m.weak, m.why[0]
    ('road_only', True, 'on 学院路, but at number 18, not 30')
    >>> score(parse("学院路30号", p), "30号1号", "清华园街道").score < 0.5
    True
    """
    on_road: list[str] = []
    if parsed.road and parsed.door:
        stored_road = _ROAD.match(stored_key)
        if stored_road and stored_road.group(1) == parsed.road:
            if stored_road.group(2) != parsed.door:
                other = f"on {parsed.road}, but at number {stored_road.group(2)}, not {parsed.door}"
                return _in_street(0.55, "road_only", [other], parsed, street)
            on_road = [f"number {parsed.door} on {parsed.road}"]
    q_name = re.sub(r"\d+号?", "", parsed.key)
    d_name = re.sub(r"\d+号?", "", stored_key)
    name, how = name_similarity(q_name, d_name)
    why = [*on_road, how]
    q_nums, d_nums = parsed.numbers, re.findall(r"\d+", stored_key)
    if q_nums:
        if q_nums == d_nums:
            value = 0.85 * name + 0.15
            why.append(f"number {q_nums[-1]} matches")
        elif q_nums == d_nums[:-1] and d_nums[-1] == "1":
            # A named building's address ends in its own "1号楼" (燕东园34号楼1号楼).
            value = 0.85 * name + 0.12
            why.append(f"number {q_nums[-1]} matches")
        else:
            value = 0.4 * name
            why.append("numbers differ")
    else:
        value = name
    return _in_street(value, _matched(parsed, how, stored_key), why, parsed, street)


def _matched(parsed: Parsed, how: str, stored_key: str) -> AddressMatch:
    if parsed.road and stored_key.startswith(f"{parsed.road}{parsed.door}号"):
        return "road_and_number"
    if how == "same name":
        return "building_name"
    if how == "community name":
        return "community_and_number"
    if how.startswith("name found within"):
        return "partial_name"
    return "similar_name"


def _in_street(
    value: float, matched: AddressMatch, why: list[str], parsed: Parsed, street: str | None
) -> Match:
    if parsed.street:
        if parsed.street == street:
            value += 0.05
            why.append(f"in {street}")
        else:
            value -= 0.3
            why.append(f"not in {parsed.street}")
    return Match(score=round(min(value, 1.0), 3), matched=matched, why=why + parsed.notes)
