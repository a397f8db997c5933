"""The demo's field work as loaded: care tags, visits and patrol tracks, moved to the load day,
each stored once however often the data set is loaded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from gridmap import loader
from gridmap.loader import load_dataset
from gridmap.settings import project_root

DEMO = project_root() / "data" / "boundaries"


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM care_tag) AS care_tags, "
                "(SELECT count(*) FROM visit) AS visits, "
                "(SELECT count(*) FROM patrol) AS patrols, "
                "(SELECT coalesce(sum(points), 0) FROM patrol) AS patrol_points, "
                "(SELECT count(*) FROM patrol_piece) AS pieces"
            )
        ).one()
    return dict(row._mapping)


def test_the_field_work_of_the_manifest_is_loaded(demo_engine: Engine) -> None:
    manifest = json.loads((DEMO / "manifest.json").read_text("utf-8"))["counts"]
    counts = _counts(demo_engine)
    for name in ("care_tags", "visits", "patrols", "patrol_points"):
        assert counts[name] == manifest[name], name
    households = manifest["households"]
    # about 8 % of households carry a tag, elderly people living alone the most
    with demo_engine.connect() as conn:
        tagged, by_tag = conn.execute(
            text(
                "SELECT count(DISTINCT household_id), "
                "(SELECT tag FROM care_tag GROUP BY tag ORDER BY count(*) DESC LIMIT 1) "
                "FROM care_tag"
            )
        ).one()
    assert 0.06 * households < tagged < 0.10 * households and by_tag == "elderly_alone"


def test_visits_are_made_by_a_worker_of_the_households_grid(demo_engine: Engine) -> None:
    with demo_engine.connect() as conn:
        strangers, gridless, tagless = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM grid_staff s "
                " WHERE s.person_id = v.person_id AND s.grid_code = v.grid_code "
                " AND s.role = 'worker')), "
                "count(*) FILTER (WHERE v.grid_code IS DISTINCT FROM b.grid_code), "
                "count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM care_tag c "
                " WHERE c.household_id = v.household_id)) "
                "FROM visit v JOIN household h ON h.id = v.household_id "
                "JOIN building b ON b.id = h.building_id"
            )
        ).one()
    assert strangers == gridless == tagless == 0


def test_some_tagged_households_are_past_their_interval(demo_engine: Engine) -> None:
    # The interval rule of the settings' defaults: 7 days for elderly_alone, else 30.
    with demo_engine.connect() as conn:
        overdue, tagged = conn.execute(
            text(
                "WITH due AS (SELECT c.household_id, min(coalesce(c.interval_days, "
                " CASE c.tag WHEN 'elderly_alone' THEN 7 ELSE 30 END)) AS days, "
                " min(c.since) AS since FROM care_tag c GROUP BY 1) "
                "SELECT count(*) FILTER (WHERE coalesce((SELECT max(v.at) FROM visit v "
                " WHERE v.household_id = d.household_id), d.since) "
                " + make_interval(days => d.days) < now()), count(*) FROM due d"
            )
        ).one()
    assert 0.05 * tagged < overdue < 0.35 * tagged


def test_patrols_end_on_the_day_of_the_load_and_walk_their_grid(demo_engine: Engine) -> None:
    with demo_engine.connect() as conn:
        last, loaded, outside, broken = conn.execute(
            text(
                "SELECT (SELECT max(ended_at) FROM patrol), "
                "(SELECT loaded_at FROM data_set WHERE name = 'haidian-demo'), "
                # points further than 50 m from the grid the patrol walked
                "(SELECT count(*) FROM patrol p JOIN patrol_piece pp ON pp.patrol_id = p.id "
                " JOIN grid g ON g.code = p.grid_codes[1] AND g.valid_to IS NULL, "
                " ST_DumpPoints(pp.geom) d "
                " WHERE NOT ST_DWithin(g.geom::geography, d.geom::geography, 50)), "
                # pieces whose times are not those of their points
                "(SELECT count(*) FROM patrol_piece WHERE "
                " to_timestamp(ST_M(ST_StartPoint(geom))) <> first_at "
                " OR to_timestamp(ST_M(ST_EndPoint(geom))) <> last_at)"
            )
        ).one()
    assert loaded - timedelta(days=1) < last <= loaded - timedelta(minutes=5)
    assert outside == 0 and broken == 0


def test_field_shift_keeps_the_time_of_day_when_the_load_is_later() -> None:
    last = datetime(2026, 11, 15, 2, 30, tzinfo=UTC)
    now = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    shifted = last + loader.field_shift(last, now, timezone="Asia/Shanghai")
    assert shifted == datetime(2026, 12, 4, 2, 30, tzinfo=UTC)
    early = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
    assert last + loader.field_shift(last, early, timezone="Asia/Shanghai") == early - timedelta(
        minutes=5
    )


def test_a_reload_stores_nothing_twice_and_a_missing_patrol_comes_back_in_joined_pieces(
    demo_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _counts(demo_engine)
    with demo_engine.begin() as conn:
        key, points, length, had = conn.execute(
            text(
                "SELECT key, points, length_m, (SELECT count(*) FROM patrol_piece "
                "WHERE patrol_id = p.id) FROM patrol p ORDER BY points DESC LIMIT 1"
            )
        ).one()
        conn.execute(text("DELETE FROM patrol WHERE key = :k"), {"k": key})
    monkeypatch.setattr(loader, "PIECE_POINTS", 40)
    # a load on another day moves the times otherwise: still nothing is stored twice
    report = load_dataset(demo_engine, DEMO, commit=True, now=datetime.now(UTC) + timedelta(days=3))
    assert report.tables["patrol"].inserted == 1
    assert report.tables["visit"].inserted == report.tables["care_tag"].inserted == 0
    after = _counts(demo_engine)
    pieces = -(-(points - 1) // 39)
    assert after == before | {"pieces": before["pieces"] - had + pieces}
    with demo_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT pp.seq, pp.points, ST_StartPoint(pp.geom) = ST_EndPoint(lag(pp.geom) "
                " OVER (ORDER BY pp.seq)) AS joins, p.length_m "
                "FROM patrol_piece pp JOIN patrol p ON p.id = pp.patrol_id "
                "WHERE p.key = :k ORDER BY pp.seq"
            ),
            {"k": key},
        ).all()
    assert [r.seq for r in rows] == list(range(pieces))
    assert all(r.joins for r in rows[1:]) and all(r.points <= 40 for r in rows)
    assert sum(r.points for r in rows) - (pieces - 1) == points
    assert rows[0].length_m == pytest.approx(length, rel=1e-6)
