"""Standard-address search: the normaliser, one class of variant at a time, and top-1 accuracy
on three held-out sets of queries written by hand (tests/data/address_queries*.txt)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridmap.address import Places, chinese_to_arabic, numbers_as_digits, parse
from gridmap.services.address import search

DATA = Path(__file__).parent / "data"
HAIDIAN = Places(districts=("海淀区",), streets=("学院路街道", "清华园街道"))


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("石科院生活区2号楼", "石科院生活区2号"),  # plain
        ("北京市海淀区学院路街道石科院生活区2号楼", "石科院生活区2号"),  # full prefix
        ("北京海淀石科院生活区2号楼", "石科院生活区2号"),  # short prefix
        ("中国北京市海淀区石科院生活区2号楼", "石科院生活区2号"),
        ("石科院生活区二号楼", "石科院生活区2号"),  # Chinese numerals
        ("石科院生活区２号楼", "石科院生活区2号"),  # full-width
        ("石科院生活区2栋", "石科院生活区2号"),  # building words
        ("石科院生活区2幢", "石科院生活区2号"),
        ("石科院生活区2座", "石科院生活区2号"),
        ("石科院生活区2#", "石科院生活区2号"),
        ("石科院生活区2号", "石科院生活区2号"),
        ("石科院生活区 2 号楼", "石科院生活区2号"),  # spaces
        ("石科院生活区2号楼3单元502室", "石科院生活区2号"),  # unit and room
        ("石科院生活区2号楼3单元502", "石科院生活区2号"),
        ("石科院生活区2号楼502", "石科院生活区2号"),
        ("石科院生活区2号楼5层", "石科院生活区2号"),
    ],
)
def test_variants_reduce_to_one_key(typed: str, key: str) -> None:
    assert parse(typed, HAIDIAN).key == key


def test_what_is_set_aside_is_kept() -> None:
    p = parse("海淀区学院路街道石科院生活区二号楼３单元５０２室", HAIDIAN)
    assert (p.street, p.unit, p.room) == ("学院路街道", "3", "502")
    assert "Chinese numerals read as digits" in p.notes
    # A place name that merely ends like a district is not a district.
    assert parse("石科院生活区2号楼", Places(districts=("生活区",))).key == "石科院生活区2号"


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("北京大学", "北京大学"),  # a name, not the city
        ("北京交通大学附属中学分校2号楼", "北京交通大学附属中学分校2号"),
        ("北京海淀北京大学出版社", "北京大学出版社"),  # the city once, then the name
        ("北京市北京大学出版社", "北京大学出版社"),
        ("二里庄16号楼", "二里庄16号"),  # numerals of a name stay
        ("二里庄十六号楼", "二里庄16号"),
        ("六道口社区五号楼", "六道口社区5号"),
        ("十四所", "十四所"),
        ("城建四社区1号楼", "城建四社区1号"),
        ("东十三楼", "东13号"),  # a counted building
    ],
)
def test_names_keep_their_words(typed: str, key: str) -> None:
    assert parse(typed, HAIDIAN).key == key


def test_road_apart_from_street_office() -> None:
    road = parse("学院路30号", HAIDIAN)
    assert (road.street, road.road, road.door) == (None, "学院路", "30")
    both = parse("北京市海淀区学院路街道学院路18号院3单元201", HAIDIAN)
    assert (both.street, both.road, both.door, both.key) == (
        "学院路街道",
        "学院路",
        "18",
        "学院路18号",
    )
    assert parse("学院路街道石科院社区5号楼", HAIDIAN).road is None
    assert numbers_as_digits("3单元五〇二") == "3单元502"


@pytest.mark.parametrize(
    ("cn", "arabic"),
    [
        ("十", "10"),
        ("十五", "15"),
        ("二十", "20"),
        ("九十九", "99"),
        ("一百", "100"),
        ("一百零八", "108"),
        ("三千零一", "3001"),
        ("二〇二六", "2026"),
        ("两", "2"),
    ],
)
def test_chinese_numerals(cn: str, arabic: str) -> None:
    assert chinese_to_arabic(cn) == arabic


def held_out(name: str) -> list[tuple[str, str, str]]:
    rows = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            kind, query, expected = line.split("|")
            rows.append((kind, query, expected))
    return rows


@pytest.mark.parametrize(
    ("name", "at_least"),
    [("address_queries.txt", 200), ("address_queries_2.txt", 60), ("address_queries_3.txt", 40)],
)
def test_held_out_top1_accuracy(demo_engine: Engine, name: str, at_least: int) -> None:
    """Every query finds its building first; a place not in the data finds nothing, or only a
    candidate marked weak (never a confident wrong answer)."""
    rows = held_out(name)
    assert len(rows) >= at_least
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    misses = []
    with Session(demo_engine) as session:
        for kind, query, expected in rows:
            found = search(session, q_text=query, limit=3)["candidates"]
            top = found[0]["building"]["code"] if found else ""
            totals[kind] += 1
            if top == expected or (not expected and found[0]["weak"]):
                hits[kind] += 1
            else:
                misses.append((kind, query, expected, top))
    accuracy = sum(hits.values()) / len(rows)
    report = ", ".join(f"{k} {hits[k]}/{totals[k]}" for k in sorted(totals))
    print(f"\n{name}: top-1 accuracy {accuracy:.1%} on {len(rows)} queries: {report}")
    for miss in misses:
        print("  miss:", miss)
    assert accuracy == 1.0, misses


def test_address_endpoint(demo_engine: Engine) -> None:
    from gridmap.dependencies import get_session
    from gridmap.main import create_app
    from gridmap.settings import Settings

    settings = Settings()
    settings.api.live_lookup = False
    app = create_app(settings)

    def demo_session() -> object:
        with Session(demo_engine) as s:
            yield s

    app.dependency_overrides[get_session] = demo_session
    with TestClient(app) as client:
        r = client.get("/api/v1/lookup/address", params={"q": "石科院生活区二号楼3单元502"})
        assert r.status_code == 200
        body = r.json()
        best = body["candidates"][0]
        assert best["building"]["code"] == "1101080100210131"
        assert best["grid"]["code"].startswith("110108010") and best["score"] == 1.0
        assert "number 2 matches" in best["why"]
        assert best["weak"] is False and best["matched"] == "building_name"
        assert body["weak"] is False and body["weak_below"] == 0.8
        assert body["understood"] == {
            "key": "石科院生活区2号",
            "street": None,
            "road": None,
            "door": None,
            "unit": "3",
            "floor": None,
            "room": "502",
        }
        scores = [c["score"] for c in body["candidates"]]
        assert scores == sorted(scores, reverse=True)
        r = client.get("/api/v1/lookup/address", params={"q": "东方明珠电视塔"})
        assert r.status_code == 200 and r.json()["candidates"] == []
        for params in ({"q": ""}, {"q": "x" * 201}, {}, {"q": "石科院", "limit": 0}):
            assert client.get("/api/v1/lookup/address", params=params).status_code == 422
        r = client.get("/api/v1/lookup/address", params={"q": "  "})
        assert r.status_code == 422 and "empty" in r.json()["detail"]
