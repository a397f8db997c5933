"""The columnar export gives exactly what the API's masks give: every layer read back from its
GeoParquet file, row by row, equals :func:`gridmap.layers.mask` of the same row for anonymous
callers, a district office and a community office (who sees the personal data of its own
community only)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

import shapely

from gridmap import layers
from gridmap.auth import ANONYMOUS, authenticate, create_token
from gridmap.dependencies import get_session
from gridmap.main import create_app
from gridmap.queries.export import unhex
from gridmap.settings import Settings

STREET = "110108010"  # 学院路街道
COMMUNITY = "110108010002"  # 六道口社区


@pytest.fixture(scope="module")
def demo(demo_engine: Engine) -> Iterator[tuple[TestClient, dict[str, str], Engine]]:
    """The API over the demo data, and the tokens of a district and a community office."""
    with Session(demo_engine) as s:
        district, d_id = create_token(s, name="海淀区测试", role="district", region="110108")
        community, c_id = create_token(s, name="六道口测试", role="community", region=COMMUNITY)
        s.commit()
    app = create_app(Settings())

    def demo_session() -> Iterator[Session]:
        with Session(demo_engine) as s:
            yield s

    app.dependency_overrides[get_session] = demo_session
    with TestClient(app) as c:
        yield c, {"": "", "district": district, "community": community}, demo_engine
    with demo_engine.begin() as conn:
        conn.execute(text("DELETE FROM api_token WHERE id IN (:a, :b)"), {"a": d_id, "b": c_id})


def _plain(value: Any) -> Any:
    """A value as the API's JSON gives it (times as instants, JSON as its text)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(microsecond=value.microsecond // 1000 * 1000)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _as_api(layer: layers.Layer, engine: Engine, secret: str) -> dict[Any, dict[str, Any]]:
    """The layer's rows in the street, each masked by layers.mask for the caller, by id."""
    with Session(engine) as s:
        principal = authenticate(s, secret) if secret else ANONYMOUS
        x = layers.rows(layer, principal, region=STREET).subquery("x")
        query = select(
            func.to_jsonb(literal_column("x"), type_=JSONB).op("-")("geom").label("props")
        ).select_from(x)
        out = {}
        for (props,) in s.execute(query):
            shown = layers.mask(layer, props, principal)
            out[shown[layer.id_field]] = shown
    return out


def _typed(layer: layers.Layer, shown: dict[str, Any]) -> dict[str, Any]:
    kinds = {f.name: f.type for f in layer.fields}
    out = {}
    for k, v in shown.items():
        if v is not None and kinds[k] == "datetime":
            v = _plain(datetime.fromisoformat(v))
        elif v is not None and kinds[k] == "date":
            v = date.fromisoformat(v)
        out[k] = _plain(v)
    return out


@pytest.mark.parametrize("layer_id", sorted(layers.LAYERS))
@pytest.mark.parametrize("who", ["", "district", "community"])
def test_export_rows_equal_the_api_masks(
    demo: tuple[TestClient, dict[str, str], Engine], tmp_path: Path, layer_id: str, who: str
) -> None:
    client, tokens, engine = demo
    layer = layers.LAYERS[layer_id]
    headers = {"Authorization": f"Bearer {tokens[who]}"} if who else {}
    r = client.get(
        f"/api/v1/export/{layer_id}",
        params={"format": "parquet", "region": STREET},
        headers=headers,
    )
    if layer.readers is not None and (not who or who not in layer.readers):
        assert r.status_code in (401, 403), r.text
        return
    want = {k: _typed(layer, v) for k, v in _as_api(layer, engine, tokens[who]).items()}
    if not want:
        assert r.status_code == 404 and r.json()["code"] == "not_found", r.text
        return
    assert r.status_code == 200, r.text
    path = tmp_path / "x.parquet"
    path.write_bytes(r.content)
    table = pq.read_table(path)
    got = {row[layer.id_field]: row for row in table.drop_columns(["geometry"]).to_pylist()}
    assert len(got) == len(want) > 0
    assert {k: {n: _plain(v) for n, v in row.items()} for k, row in got.items()} == want
    personal = [f.name for f in layer.fields if f.personal]
    if layer_id == "incidents" and who == "community":
        # Some rows shown, some masked: the decision is per row's place.
        names = {row["reporter_name"] for row in got.values() if row["reporter_name"]}
        assert any("*" in n for n in names) and any("*" not in n for n in names), names
    if layer_id == "incidents" and who == "":
        assert all("*" in (row[n] or "*") for row in got.values() for n in personal)
    geoms = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    assert shapely.is_valid(geoms[~shapely.is_missing(geoms)]).all()


def test_hex_geometry_is_read_back_as_its_bytes() -> None:
    wkb = [shapely.to_wkb(shapely.Point(116.3, 39.9)), None, b"", bytes(range(256))]
    text_ = pa.array([None if w is None else w.hex() for w in wkb]).slice(0)
    assert unhex(text_).to_pylist() == wkb
    assert unhex(pa.array(["00ff", "10"]).slice(1)).to_pylist() == [b"\x10"]
