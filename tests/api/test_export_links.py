"""Paged lists say where their other pages are: ``next``/``prev`` in a ``links`` member and an
RFC 8288 ``Link`` header, keeping every other parameter; walking ``next`` gives every row once."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from tests.api.test_races import serving

from gridmap.auth import create_token
from gridmap.dependencies import get_session
from gridmap.main import create_app
from gridmap.settings import Settings

STREET = "110108010"  # 学院路街道


@pytest.fixture(scope="module")
def demo(demo_engine: Engine) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The API over the demo data set, and a district office's token (removed afterwards)."""
    with Session(demo_engine) as s:
        secret, token_id = create_token(s, name="海淀区测试", role="district", region="110108")
        s.commit()
    app = create_app(Settings())

    def demo_session() -> Iterator[Session]:
        with Session(demo_engine) as s:
            yield s

    app.dependency_overrides[get_session] = demo_session
    with TestClient(app) as c:
        yield c, {"Authorization": f"Bearer {secret}"}
    with demo_engine.begin() as conn:
        conn.execute(text("DELETE FROM api_token WHERE id = :i"), {"i": token_id})


def link_header(value: str) -> dict[str, str]:
    """``rel`` → URL of an RFC 8288 ``Link`` header."""
    return {m.group(2): m.group(1) for m in re.finditer(r'<([^>]*)>;\s*rel="([^"]+)"[^,]*', value)}


def params(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


def test_walking_next_through_the_grids_gives_every_grid_once(
    demo: tuple[TestClient, dict[str, str]], demo_engine: Engine
) -> None:
    client, _ = demo
    with demo_engine.connect() as conn:
        current = conn.execute(
            text("SELECT count(*) FROM grid WHERE valid_to IS NULL")
        ).scalar_one()
    assert current > 100  # more than one default page, as the issue found
    all_kinds = client.get("/api/v1/grids").json()
    assert all_kinds["numberMatched"] == current and all_kinds["numberReturned"] == 100
    assert [link["rel"] for link in all_kinds["links"]] == ["next"]
    seen: list[str] = []
    url: str | None = "/api/v1/grids?limit=25&kind=basic"
    pages = 0
    while url is not None:
        r = client.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [f["properties"]["code"] for f in body["features"]]
        rels = {link["rel"]: link for link in body["links"]}
        assert link_header(r.headers.get("link", "")) == {k: v["href"] for k, v in rels.items()}
        assert all(link["type"] == "application/geo+json" for link in body["links"])
        assert ("prev" in rels) == (pages > 0)
        for link in body["links"]:
            assert params(link["href"])["kind"] == ["basic"]  # the other parameters are kept
            assert params(link["href"])["limit"] == ["25"]
        url = rels["next"]["href"] if "next" in rels else None
        pages += 1
    assert len(seen) == len(set(seen)) == body["numberMatched"]
    assert pages == -(-body["numberMatched"] // 25)
    everything = client.get("/api/v1/grids", params={"limit": 1000, "kind": "basic"})
    assert sorted(seen) == sorted(f["properties"]["code"] for f in everything.json()["features"])
    assert everything.json()["links"] == [] and "link" not in everything.headers


def test_prev_goes_back_a_page_and_a_page_past_the_end_points_back(
    demo: tuple[TestClient, dict[str, str]],
) -> None:
    client, _ = demo
    r = client.get("/api/v1/regions", params={"parent": STREET, "limit": 3, "offset": 4})
    body = r.json()
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert params(rels["prev"])["offset"] == ["1"] and params(rels["next"])["offset"] == ["7"]
    assert params(rels["prev"])["parent"] == [STREET]
    back = client.get(rels["prev"]).json()
    assert [f["properties"]["code"] for f in back["features"]] == [
        f["properties"]["code"]
        for f in client.get(
            "/api/v1/regions", params={"parent": STREET, "limit": 3, "offset": 1}
        ).json()["features"]
    ]
    past = client.get("/api/v1/regions", params={"parent": STREET, "limit": 3, "offset": 500})
    rels = {link["rel"]: link["href"] for link in past.json()["links"]}
    assert "next" not in rels
    last = client.get(rels["prev"]).json()
    assert last["numberReturned"] == 3 and params(rels["prev"])["offset"] == [
        str(past.json()["numberMatched"] - 3)
    ]


# Every paged list of /api/v1: its path, its parameters, the member holding its rows, and
# whether it needs a token.
PAGED = [
    ("/api/v1/grids", {"street": STREET}, "features"),
    ("/api/v1/regions", {"parent": STREET}, "features"),
    ("/api/v1/incidents", {"region": STREET}, "features"),
    ("/api/v1/households", {"region": STREET}, "features"),
    ("/api/v1/lists", {"region": STREET}, "features"),
    ("/api/v1/service-centers", {"region": STREET}, "features"),
    ("/api/v1/resident-units", {"community": STREET}, "features"),
    ("/api/v1/visits", {"region": STREET}, "visits"),
    ("/api/v1/party-orgs", {"community": STREET}, "orgs"),
    ("/api/v1/party-members", {"community": STREET}, "members"),
    ("/api/v1/party-posts", {"community": "110108010002"}, "posts"),
    ("/api/v1/departments", {}, "departments"),
    ("/api/v1/board", {"queue": "dispatched"}, "rows"),
    ("/api/v1/approvals", {}, "approvals"),
]


@pytest.mark.parametrize(("path", "query", "member"), PAGED, ids=[p[0] for p in PAGED])
def test_every_paged_list_links_its_pages(
    demo: tuple[TestClient, dict[str, str]], path: str, query: dict[str, str], member: str
) -> None:
    client, auth = demo
    first = client.get(path, params={**query, "limit": 1}, headers=auth)
    assert first.status_code == 200, first.text
    body = first.json()
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert "prev" not in rels
    if body["numberMatched"] < 2:
        assert rels == {} and "link" not in first.headers
        return
    assert link_header(first.headers["link"]) == rels
    assert params(rels["next"]) == {
        **{k: [v] for k, v in query.items()},
        "limit": ["1"],
        "offset": ["1"],
    }
    second = client.get(rels["next"], headers=auth)
    assert second.status_code == 200
    assert second.json()[member] and still(second.json()[member]) != still(body[member])
    back = {link["rel"]: link["href"] for link in second.json()["links"]}["prev"]
    assert still(client.get(back, headers=auth).json()[member]) == still(body[member])


def still(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` without what changes as the clock runs (the board's seconds left)."""
    ticking = ("seconds_left", "pool_seconds_left")
    return [{k: v for k, v in row.items() if k not in ticking} for row in rows]


def test_the_demo_lists_have_more_than_a_page(demo: tuple[TestClient, dict[str, str]]) -> None:
    # So that the test above follows real links for the lists that matter to analysts.
    client, auth = demo
    for path, query, _ in PAGED[:8]:
        body = client.get(path, params={**query, "limit": 1}, headers=auth).json()
        assert body["numberMatched"] >= 2, path


def test_gdal_reads_one_page_of_the_api_and_every_grid_from_its_links(
    demo_engine: Engine, tmp_path: object
) -> None:
    # GDAL's GeoJSON driver reads the one page it is given (the README sends GIS users to
    # /ogc); the page it reads is well-formed GeoJSON whose links name the rest.
    settings = Settings()
    settings.db.embedded_db = "gridmap_test_demo"
    with serving(settings) as base:
        out = subprocess.run(
            ["ogrinfo", "-ro", "-so", "-al", f"{base}/api/v1/grids?limit=100"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert "Feature Count: 100" in out.stdout
        full = subprocess.run(
            ["ogrinfo", "-ro", "-al", f"{base}/api/v1/grids?limit=100"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "name (String) = " in full.stdout and "网格" in full.stdout
