"""The layer registry over the demo data set: every layer has rows, each caller sees only what
the API shows it (who may read, which rows, which personal data)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from gridmap import layers
from gridmap.auth import ANONYMOUS, Principal
from gridmap.errors import Forbidden, Unauthorized
from gridmap.queries import feature_collection

STREET = "110108010"  # 学院路街道
OTHER_STREET = "110108001"  # another street of Haidian


@pytest.fixture(scope="module")
def demo(demo_engine: Engine) -> Iterator[Session]:
    with Session(demo_engine) as s:
        yield s


def office(role: str, region: str) -> Principal:
    return Principal(role=role, region=region, name=f"{role} {region}", authenticated=True)


def features(
    db: Session, layer: layers.Layer, who: Principal, limit: int = 200, **kw: Any
) -> list[dict[str, Any]]:
    page = layers.rows(layer, who, **kw).limit(limit)
    found = db.execute(feature_collection(page, order_by=layer.id_field)).scalar_one()
    return [{**f, "properties": layers.mask(layer, f["properties"], who)} for f in found]


def test_every_layer_is_listed_with_its_fields() -> None:
    assert set(layers.LAYERS) == {
        "regions",
        "grids",
        "buildings",
        "households",
        "service-centres",
        "service-circles",
        "list-items",
        "incidents",
        "patrols",
        "visits",
        "party-orgs",
        "resident-units",
    }
    for layer in layers.LAYERS.values():
        names = [f.name for f in layer.fields]
        assert layer.id_field in names and len(set(names)) == len(names)
        assert all(f.title_zh and f.title_en for f in layer.fields)
        assert layer.time_field is None or layer.time_field in names
        # Personal fields are never queryable.
        assert not set(layer.queryables) & {f.name for f in layer.fields if f.personal}
    assert "secretary_name" not in layers.LAYERS["party-orgs"].by_name
    assert "note" not in layers.LAYERS["visits"].by_name


@pytest.mark.parametrize("layer_id", sorted(layers.LAYERS))
def test_every_layer_has_rows_for_the_street_office(demo: Session, layer_id: str) -> None:
    layer = layers.LAYERS[layer_id]
    who = office("street", STREET)
    found = features(demo, layer, who, limit=5, region=STREET)
    assert found, layer_id
    # A region may be known without its boundary; every other row has its geometry.
    assert any(f["geometry"] for f in found)
    for f in found:
        if layer_id == "regions" and f["geometry"] is None:
            continue
        assert f["geometry"] is not None and f["geometry"]["type"] in (
            layer.geometry_type,
            layer.geometry_type.removeprefix("Multi"),
            "Multi" + layer.geometry_type,
        )
        assert list(f["properties"]) == [x.name for x in layer.fields]
    total = demo.execute(layers.count(layer, who, region=STREET)).scalar_one()
    assert total >= len(found)


@pytest.mark.parametrize("layer_id", ["patrols", "visits"])
def test_token_only_layers_refuse_anonymous_and_viewers(layer_id: str) -> None:
    layer = layers.LAYERS[layer_id]
    with pytest.raises(Unauthorized):
        layers.rows(layer, ANONYMOUS)
    with pytest.raises(Forbidden):
        layers.rows(layer, office("viewer", STREET))


@pytest.mark.parametrize("layer_id", ["patrols", "visits"])
def test_token_only_layers_hold_only_the_callers_area(demo: Session, layer_id: str) -> None:
    layer = layers.LAYERS[layer_id]
    mine = demo.execute(layers.count(layer, office("street", STREET))).scalar_one()
    assert mine > 0
    assert demo.execute(layers.count(layer, office("street", OTHER_STREET))).scalar_one() == 0
    everything = demo.execute(layers.count(layer, office("admin", ""))).scalar_one()
    assert everything >= mine


PERSONAL = {
    "households": ("contact_name", "contact_phone"),
    "incidents": ("reporter_name", "reporter_phone"),
    "list-items": ("contact_name", "contact_phone"),
    "resident-units": ("contact_name", "contact_phone"),
}


def _shown(value: Any) -> bool:
    return isinstance(value, str) and "*" not in value and value != ""


@pytest.mark.parametrize("layer_id", sorted(PERSONAL))
def test_personal_fields_masked_for_anonymous_and_other_offices(
    demo: Session, layer_id: str
) -> None:
    layer = layers.LAYERS[layer_id]
    name, phone = PERSONAL[layer_id]
    has = layer.by_name[name].column.is_not(None)
    own = features(demo, layer, office("street", STREET), region=STREET, where=[has])
    assert own and all(_shown(f["properties"][name]) for f in own), layer_id
    for who in (ANONYMOUS, office("street", OTHER_STREET), office("viewer", STREET)):
        seen = features(demo, layer, who, region=STREET, where=[has])
        assert len(seen) == len(own)
        for f in seen:
            assert not _shown(f["properties"][name]), (layer_id, who.role)
            assert not _shown(f["properties"][phone]), (layer_id, who.role)


def test_party_orgs_carry_no_person(demo: Session) -> None:
    # Every member's and secretary's name and phone, read from the people behind them.
    people = demo.execute(
        text(
            "SELECT p.name, p.phone FROM person p WHERE p.id IN "
            "(SELECT person_id FROM party_member UNION SELECT secretary_id FROM party_org)"
        )
    ).all()
    personal = {v for row in people for v in row if v}
    assert len(personal) > 100
    layer = layers.LAYERS["party-orgs"]
    orgs = features(demo, layer, office("admin", ""), limit=10_000)
    assert len(orgs) == demo.execute(text("SELECT count(*) FROM party_org")).scalar_one()
    for f in orgs:
        values = {str(v) for v in f["properties"].values() if v is not None}
        # No value names a person, whole or as part of a longer text.
        assert not values & personal, f["properties"]
        assert not any(p in v for v in values for p in personal if len(p) >= 3), f["properties"]


def test_grids_at_a_time_and_current(demo: Session) -> None:
    layer = layers.LAYERS["grids"]
    now = demo.execute(layers.count(layer, ANONYMOUS, region=STREET)).scalar_one()
    assert now > 0
    long_ago = demo.execute(select(layers._g.c.valid_from).order_by(layers._g.c.valid_from))
    first = long_ago.scalars().first()
    assert first is not None
    before = first.replace(year=first.year - 1)
    assert demo.execute(layers.count(layer, ANONYMOUS, at=before)).scalar_one() == 0


def test_bbox_narrows_rows(demo: Session) -> None:
    layer = layers.LAYERS["buildings"]
    everything = demo.execute(layers.count(layer, ANONYMOUS)).scalar_one()
    box = (116.35, 39.99, 116.36, 40.0)
    inside = demo.execute(layers.count(layer, ANONYMOUS, bbox=box)).scalar_one()
    assert 0 < inside < everything
    for f in features(demo, layer, ANONYMOUS, bbox=box, limit=20):
        xs = [p[0] for ring in f["geometry"]["coordinates"] for p in ring]
        assert min(xs) <= box[2] and max(xs) >= box[0]


def test_patrols_carry_no_more_than_the_patrol_api() -> None:
    # What GET /api/v1/patrols answers for a patrol (services/patrols.py), and nothing more:
    # who recorded a patrol names a person.
    api = {"key", "id", "person_id", "grid_codes", "started_at", "ended_at", "points", "length_m"}
    api |= {"duration_s", "pieces"}
    fields = {f.name for f in layers.LAYERS["patrols"].fields}
    assert fields <= api, fields - api
