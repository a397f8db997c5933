"""Report maps (folium): what they hold, that they need no network, that data text is escaped."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridmap import reports
from gridmap.geo.rules import GridRules
from gridmap.settings import Settings

STREET = "110108010"


@pytest.fixture
def demo(demo_engine: Engine) -> Iterator[Session]:
    conn = demo_engine.connect()
    trans = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        trans.rollback()
        conn.close()


def test_report_map_of_a_street(demo: Session, settings: Settings) -> None:
    demo.execute(
        text(
            "UPDATE grid SET name = '<img src=x onerror=alert(1)>' WHERE code = "
            "'110108010002001' AND valid_to IS NULL"
        )
    )
    m = reports.build_map(demo, region=STREET, rules=GridRules.from_settings(settings.api))
    layers = [c.layer_name for c in m._children.values() if hasattr(c, "layer_name")]
    assert layers[:2] == ["社区", "网格"]
    assert {"15分钟服务圈", "服务圈外楼栋", "党员中心户"} <= set(layers)
    grids = next(c for c in m._children.values() if getattr(c, "layer_name", "") == "网格")
    features = {f["properties"]["code"]: f["properties"] for f in grids.data["features"]}
    expected = demo.execute(
        text("SELECT count(*) FROM grid WHERE valid_to IS NULL AND code LIKE :p"),
        {"p": STREET + "%"},
    ).scalar_one()
    assert len(features) == expected
    one = features["110108010002001"]
    assert one["name"] == "&lt;img src=x onerror=alert(1)&gt;"
    assert one["households"] > 0 and one["coverage"].endswith("%")
    assert {"resources", "needs", "projects", "designated"} <= set(one)
    page = reports.render(m, settings.api.web_dir)
    # Nothing is fetched from anywhere: Leaflet is in the file.
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=\"https?:", page)
    assert "L.map(" in page and ".leaflet-container" in page
    assert "<img src=x onerror" not in page


def test_report_map_refuses_what_it_cannot_draw(demo: Session, settings: Settings) -> None:
    from gridmap.errors import InvalidInput, RegionNotFound

    rules = GridRules.from_settings(settings.api)
    with pytest.raises(InvalidInput):
        reports.build_map(demo, region="110108", rules=rules)
    with pytest.raises(RegionNotFound):
        reports.build_map(demo, region="999999999", rules=rules)
