"""Open311 GeoReport v2: several requests by id, the 90-day window, discovery, XML, errors."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import WEST_GRID, bearer, two_grids

V2 = "/open311/v2"
GARBAGE = "市容环境/暴露垃圾"
STALLS = "街面秩序/占道经营"


@pytest.fixture
def worker(db: Session) -> dict[str, str]:
    two_grids(db)
    return bearer(db, "worker", WEST_GRID, "西网格员")


def report(
    client: TestClient,
    headers: dict[str, str],
    *,
    category: str = GARBAGE,
    description: str = "楼下垃圾堆积",
    days_ago: int = 0,
    db: Session | None = None,
) -> int:
    r = client.post(
        "/api/v1/incidents",
        json={"x": 116.342, "y": 40.005, "category": category, "description": description},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    incident_id: int = r.json()["properties"]["id"]
    if days_ago:
        assert db is not None
        db.execute(
            text(
                "UPDATE incident SET reported_at = now() - make_interval(days => :d) WHERE id = :id"
            ),
            {"d": days_ago, "id": incident_id},
        )
    return incident_id


def ids(answer: list[dict[str, str]]) -> list[int]:
    return [int(r["service_request_id"]) for r in answer]


def xml_of(r) -> ET.Element:  # type: ignore[no-untyped-def]
    assert r.headers["content-type"] == "text/xml; charset=utf-8", r.headers
    assert r.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(r.content)


def test_several_requests_by_id_ignore_the_other_filters(
    client: TestClient, db: Session, worker: dict[str, str]
) -> None:
    a = report(client, worker)
    b = report(client, worker, category=STALLS)
    old = report(client, worker, days_ago=400, db=db)
    got = client.get(f"{V2}/requests.json", params={"service_request_id": f"{a},{old}"})
    assert got.status_code == 200, got.text
    assert sorted(ids(got.json())) == sorted([a, old])
    # The filters that would exclude both are ignored, as the spec says.
    got = client.get(
        f"{V2}/requests.json",
        params={
            "service_request_id": f"{a}, {b}",
            "service_code": "没有这类",
            "status": "closed",
            "start_date": "2001-01-01T00:00:00Z",
            "end_date": "2001-01-02T00:00:00Z",
        },
    ).json()
    assert sorted(ids(got)) == sorted([a, b])
    assert client.get(f"{V2}/requests.json", params={"service_request_id": "999999"}).json() == []
    bad = client.get(f"{V2}/requests.json", params={"service_request_id": "1,abc"})
    assert bad.status_code == 400
    assert bad.json() == [
        {
            "code": 400,
            "description": "service_request_id='1,abc' must be request ids separated by "
            "commas, e.g. 12,15",
        }
    ]
    # Several service codes, comma-separated.
    both = client.get(f"{V2}/requests.json", params={"service_code": f"{GARBAGE},{STALLS}"})
    assert sorted(ids(both.json())) == sorted([a, b])


def test_the_window_is_the_last_90_days_unless_dates_say_otherwise(
    client: TestClient, db: Session, worker: dict[str, str]
) -> None:
    new = report(client, worker)
    month = report(client, worker, days_ago=30, db=db)
    old = report(client, worker, days_ago=100, db=db)
    older = report(client, worker, days_ago=200, db=db)
    assert ids(client.get(f"{V2}/requests.json").json()) == [new, month]

    def window(**params: str) -> list[int]:
        r = client.get(f"{V2}/requests.json", params=params)
        assert r.status_code == 200, r.text
        return ids(r.json())

    row = db.execute(
        text(
            "SELECT to_char(now() - interval '150 days', 'YYYY-MM-DD\"T\"HH24:MI:SSOF'),"
            " to_char(now() - interval '95 days', 'YYYY-MM-DD\"T\"HH24:MI:SSOF')"
        )
    ).one()
    ago_150, ago_95 = row
    # Only a start: the 90 days after it (100 days ago is in, 30 days ago is not).
    assert window(start_date=ago_150) == [old]
    # Only an end: the 90 days before it.
    assert window(end_date=ago_95) == [old]
    assert window(end_date=ago_150) == [older]
    assert window(start_date=ago_150, end_date=ago_95) == [old]
    # A time without an offset is read in the deployment's time zone.
    assert window(start_date=ago_150[:19]) == [old]

    too_long = client.get(
        f"{V2}/requests.json",
        params={"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
    )
    assert too_long.status_code == 400
    [error] = too_long.json()
    assert error["code"] == 400 and "at most 90 days" in error["description"]
    backwards = client.get(
        f"{V2}/requests.json",
        params={"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
    )
    assert (
        backwards.status_code == 400 and "before start_date" in backwards.json()[0]["description"]
    )
    for value in ("yesterday", "2026-13-01", "0001-01-01T00:00:00"):
        r = client.get(f"{V2}/requests.json", params={"end_date": value})
        assert r.status_code == 400, (value, r.text)
        assert r.json()[0]["code"] == 400
    r = client.get(f"{V2}/requests.xml", params={"start_date": "yesterday"})
    assert r.status_code == 400
    [e] = xml_of(r).findall("error")
    assert e.findtext("code") == "400"
    assert "start_date='yesterday' is not a w3 date" in (e.findtext("description") or "")


def test_discovery(client: TestClient) -> None:
    doc = client.get(f"{V2}/discovery.json")
    assert doc.status_code == 200
    body = doc.json()
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    [endpoint] = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["type"] == "production"
    assert endpoint["formats"] == ["application/json", "text/xml"]
    # The url follows the host the request came to.
    other = client.get(f"{V2}/discovery.json", headers={"Host": "gridmap.example.cn:8443"})
    assert other.json()["endpoints"][0]["url"] == "http://gridmap.example.cn:8443/open311/v2"

    root = xml_of(client.get(f"{V2}/discovery.xml"))
    assert root.tag == "discovery"
    assert root.findtext("changeset") == body["changeset"]
    assert root.findtext("key_service") == body["key_service"]
    [node] = root.findall("endpoints/endpoint")
    assert node.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert node.findtext("url") == "http://testserver/open311/v2"
    assert [f.text for f in node.findall("formats/format")] == ["application/json", "text/xml"]


def test_xml_has_the_spec_elements_and_escapes_text(
    client: TestClient, db: Session, worker: dict[str, str]
) -> None:
    hostile = '<b>垃圾</b> & "more" </description><script>x</script>'
    first = report(client, worker, description=hostile)
    second = report(client, worker, category=STALLS)

    services = xml_of(client.get(f"{V2}/services.xml"))
    assert services.tag == "services"
    as_json = client.get(f"{V2}/services.json").json()
    nodes = services.findall("service")
    assert len(nodes) == len(as_json) > 0
    garbage = next(n for n in nodes if n.findtext("service_code") == GARBAGE)
    assert garbage.findtext("service_name") == "暴露垃圾"
    assert garbage.findtext("metadata") == "false" and garbage.findtext("type") == "realtime"
    assert garbage.findtext("group") == "市容环境"

    root = xml_of(client.get(f"{V2}/requests.xml"))
    assert root.tag == "service_requests"
    requests = root.findall("request")
    assert [int(r.findtext("service_request_id") or 0) for r in requests] == [second, first]
    json_first = client.get(f"{V2}/requests/{first}.json").json()[0]
    node = requests[1]
    assert [child.tag for child in node] == list(json_first)
    assert node.findtext("description") == hostile
    assert node.findtext("status") == "open"
    assert float(node.findtext("lat") or 0) == json_first["lat"]
    assert node.findtext("zipcode") == ""
    raw = client.get(f"{V2}/requests/{first}.xml")
    assert b"&lt;b&gt;" in raw.content and b"&amp;" in raw.content
    assert b"<script>" not in raw.content
    [one] = xml_of(raw).findall("request")
    assert one.findtext("description") == hostile

    by_ids = xml_of(
        client.get(f"{V2}/requests.xml", params={"service_request_id": f"{first},{second}"})
    )
    assert len(by_ids.findall("request")) == 2


def test_errors_are_the_spec_list(client: TestClient) -> None:
    missing = client.get(f"{V2}/requests/999999.json")
    assert missing.status_code == 404
    assert missing.json() == [{"code": 404, "description": "no service request 999999"}]
    missing_xml = client.get(f"{V2}/requests/999999.xml")
    assert missing_xml.status_code == 404
    root = xml_of(missing_xml)
    assert root.tag == "errors"
    assert [(e.findtext("code"), e.findtext("description")) for e in root] == [
        ("404", "no service request 999999")
    ]
    # Validation errors are 400 in GeoReport v2.
    for path, params in (
        ("requests.json", {"status": "maybe"}),
        ("requests.json", {"limit": "0"}),
        ("requests/abc.json", {}),
        ("requests/0.json", {}),
        ("services.csv", {}),
    ):
        r = client.get(f"{V2}/{path}", params=params)
        assert r.status_code == 400, (path, r.text)
        [error] = r.json()
        assert error["code"] == 400 and error["description"], error
    r = client.get(f"{V2}/requests.xml", params={"status": "maybe"})
    assert r.status_code == 400
    assert xml_of(r).findtext("error/code") == "400"
    # Unknown resources and methods say so in the same shape.
    r = client.get(f"{V2}/nothing.json")
    assert r.status_code == 404 and r.json()[0]["code"] == 404
    r = client.post(f"{V2}/services.json")
    assert r.status_code == 405 and r.json()[0]["code"] == 405
    # The rest of the API keeps its own error shape.
    r = client.get("/api/v1/incidents/999999")
    assert r.status_code == 404 and "detail" in r.json()


def test_every_state_of_the_flow_is_open_until_finished(
    client: TestClient, db: Session, worker: dict[str, str]
) -> None:
    from gridmap.vocab.states import INCIDENT_STATES

    made = {}
    for state in INCIDENT_STATES:
        made[state] = report(client, worker, description=state)
        db.execute(
            text("UPDATE incident SET status = :s WHERE id = :id"), {"s": state, "id": made[state]}
        )
    answer = client.get(f"{V2}/requests.json").json()
    got = {int(r["service_request_id"]): r["status"] for r in answer}
    finished = ("closed", "evaluated", "cancelled")
    assert {s: got[i] for s, i in made.items()} == {
        s: "closed" if s in finished else "open" for s in INCIDENT_STATES
    }
    opened = ids(client.get(f"{V2}/requests.json", params={"status": "open"}).json())
    assert sorted(opened) == sorted(i for s, i in made.items() if s not in finished)
