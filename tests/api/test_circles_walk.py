"""Service circles of many centres walked at once, held to pgRouting's one call per centre, on
the real walking network of western Futian, Shenzhen (OSM via OSMnx, ODbL; tests/data)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

import shapely
from shapely.geometry import shape

from gridmap.geo.isochrone import CircleRules
from gridmap.geo.metric import transformer, utm_epsg
from gridmap.queries.circles import pgrouting_reach, pgrouting_reached
from gridmap.services.circles import reach, reach_many, reached, rebuild

WALK = Path(__file__).resolve().parents[1] / "data" / "shenzhen_futian_walk.geojson.gz"
RULES = CircleRules()


def _load_walk(db: Session) -> list[dict[str, Any]]:
    """The Futian walking graph as ``road_edge`` rows (OSM node ids as junctions)."""
    with gzip.open(WALK, "rt", encoding="utf-8") as fh:
        features = json.load(fh)["features"]
    db.execute(
        text(
            "INSERT INTO road_edge (source, target, length_m, highway, geom) "
            "VALUES (:u, :v, :length, :highway, ST_GeomFromText(:wkt, 4326))"
        ),
        [
            {
                **{k: f["properties"][k] for k in ("u", "v", "length")},
                "highway": (f["properties"]["highway"] or "")[:32] or None,
                "wkt": shape(f["geometry"]).wkt,
            }
            for f in features
        ],
    )
    db.flush()
    return list(features)


def _centres(features: list[dict[str, Any]], n: int) -> list[tuple[float, float]]:
    """``n`` reproducible points 20 m north of the middle of randomly chosen streets."""
    rng = np.random.default_rng(20261122)
    epsg = utm_epsg(114.02, 22.53)
    there, back = transformer(4326, epsg), transformer(epsg, 4326)
    out = []
    for i in rng.choice(len(features), n, replace=False):
        line = shape(features[i]["geometry"])
        mid = line.interpolate(0.5, normalized=True)
        x, y = there.transform(mid.x, mid.y)
        lon, lat = back.transform(x, y + 20.0)
        out.append((float(lon), float(lat)))
    return out


def _metric(geom: Any) -> Any:
    fn = transformer(4326, utm_epsg(114.02, 22.53)).transform
    return shapely.transform(geom, lambda xy: np.column_stack(fn(xy[:, 0], xy[:, 1])))


def _same_area(a: Any, b: Any) -> None:
    ma, mb = _metric(a), _metric(b)
    assert ma.area == pytest.approx(mb.area, rel=0.005)
    assert ma.symmetric_difference(mb).area / mb.area < 0.005


def test_many_centres_at_once_draw_what_pgrouting_draws_one_by_one(db: Session) -> None:
    features = _load_walk(db)
    # Two points out in Shenzhen Bay, far from any street, get a buffer.
    points = [*_centres(features, 40), (114.02, 22.49), (113.99, 22.50)]
    many = reach_many(db, points=points, rules=RULES)
    before = [pgrouting_reach(db, lon=x, lat=y, rules=RULES) for x, y in points]
    assert [c["method"] for c in many] == [c["method"] for c in before]
    assert sum(c["method"] == "network" for c in many) >= 35
    assert [c["method"] for c in many[-2:]] == ["buffer", "buffer"]
    for new, old in zip(many, before, strict=True):
        assert new["params"] == old["params"]
        _same_area(new["geom"], old["geom"])


def test_the_walk_reaches_the_junctions_pgrouting_reaches_at_the_same_cost(db: Session) -> None:
    features = _load_walk(db)
    points = _centres(features, 25)
    walked = reached(db, points=points, rules=RULES)
    for (x, y), ours in zip(points, walked, strict=True):
        theirs = pgrouting_reached(db, lon=x, lat=y, rules=RULES)
        assert ours.keys() == theirs.keys()
        assert max(abs(ours[k] - theirs[k]) for k in ours) < 1e-6
    assert sum(len(w) for w in walked) > 25 * 100


def test_many_at_once_equals_one_at_a_time(db: Session) -> None:
    features = _load_walk(db)
    points = _centres(features, 15)
    many = reach_many(db, points=points, rules=RULES)
    for (x, y), together in zip(points, many, strict=True):
        alone = reach(db, lon=x, lat=y, rules=RULES)
        assert alone["params"] == together["params"]
        assert _metric(alone["geom"]).symmetric_difference(_metric(together["geom"])).area < 1.0


def test_rebuild_stores_each_centres_circle(db: Session) -> None:
    features = _load_walk(db)
    points = _centres(features, 12)
    db.execute(
        text(
            "INSERT INTO service_center (code, kind, name, geom) "
            "VALUES (:code, 'party_mass_center', '党群服务中心（生成）', "
            "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
        ),
        [{"code": f"SZ{i}", "x": x, "y": y} for i, (x, y) in enumerate(points)],
    )
    counts = rebuild(db, rules=[RULES, CircleRules(minutes=10)])
    assert counts["centres"] == 12 and counts["network"] + counts["buffer"] == 24
    stored = db.execute(
        text(
            "SELECT s.code, c.method, ST_AsBinary(c.geom) AS wkb FROM service_circle c "
            "JOIN service_center s ON s.id = c.center_id WHERE c.minutes = 15 ORDER BY s.id"
        )
    ).all()
    assert [r.code for r in stored] == [f"SZ{i}" for i in range(12)]
    for r, (x, y) in zip(stored, points, strict=True):
        old = pgrouting_reach(db, lon=x, lat=y, rules=RULES)
        assert r.method == old["method"]
        _same_area(shapely.from_wkb(bytes(r.wkb)), old["geom"])
    ten = db.execute(text("SELECT count(*) FROM service_circle WHERE minutes = 10")).scalar_one()
    assert ten == 12
