"""The public page of a community (/public/{code}): served to anyone, 404 for a code that names
no community (the page says so in words), and never an error for hostile paths."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.utils.fixtures import COMMUNITY, STREET, two_grids


@pytest.fixture
def places(db: Session) -> None:
    two_grids(db)


@pytest.mark.usefixtures("places")
def test_the_page_of_a_community_is_served_without_a_token(client: TestClient) -> None:
    r = client.get(f"/public/{COMMUNITY}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert 'src="/public.js"' in r.text and 'id="need-form"' in r.text
    # Served from a path one level down: every asset is addressed from the root.
    assert 'href="vendor/' not in r.text and 'src="vendor/' not in r.text
    assert "max-age" in r.headers["cache-control"]
    assert client.get(f"/public/{COMMUNITY}/").status_code == 200


@pytest.mark.usefixtures("places")
def test_a_street_or_an_unknown_community_is_a_404_with_the_page(client: TestClient) -> None:
    for code in (STREET, "110108010999", "999999999999"):
        r = client.get(f"/public/{code}")
        assert r.status_code == 404, code
        assert r.headers["content-type"].startswith("text/html")
        assert 'src="/public.js"' in r.text


@pytest.mark.usefixtures("places")
@pytest.mark.parametrize(
    "path",
    [
        "abc",
        "1101080100011",
        "11010801000",
        "110108010001'%20OR%201=1--",
        "%00",
        "NaN",
        "x" * 5000,
        "%E7%A4%BE%E5%8C%BA",
        "-1",
    ],
)
def test_hostile_codes_get_the_404_page_and_nothing_else(client: TestClient, path: str) -> None:
    r = client.get(f"/public/{path}")
    assert r.status_code in (404, 422), r.status_code
    if r.status_code == 404:
        assert r.headers["content-type"].startswith("text/html")
        assert 'src="/public.js"' in r.text
    else:
        assert r.json()["code"] == "control_character"


@pytest.mark.usefixtures("places")
def test_only_get_and_head_are_answered(client: TestClient) -> None:
    assert client.head(f"/public/{COMMUNITY}").status_code == 200
    r = client.post(f"/public/{COMMUNITY}", json={"title": "x"})
    assert r.status_code == 405
