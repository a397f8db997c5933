"""Loading data/boundaries/: idempotent, dry run writes nothing, bad folders are refused whole."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gridmap import migrate
from gridmap.database import make_engine
from gridmap.errors import DataSetError
from gridmap.loader import load_dataset
from gridmap.settings import project_root

DEMO = project_root() / "data" / "boundaries"
SNAPSHOT_TABLES = (
    "region",
    "grid",
    "grid_piece",
    "grid_staff",
    "building",
    "household",
    "service_center",
    "road_edge",
    "list_item",
    "incident",
    "incident_event",
    "incident_task",
    "approval",
    "care_tag",
    "visit",
    "patrol",
    "patrol_piece",
)


def _snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row's physical version (xmin) and id: any rewrite of a row changes its xmin."""
    with engine.connect() as conn:
        return {
            t: conn.execute(text(f"SELECT ctid::text, xmin::text FROM {t} ORDER BY 1")).all()
            for t in SNAPSHOT_TABLES
        }


def test_dry_run_writes_nothing(fresh_database) -> None:  # type: ignore[no-untyped-def]
    url = fresh_database("gridmap_test_dry")
    migrate.upgrade(url)
    engine = make_engine(url, pool_size=1)
    try:
        report = load_dataset(engine, DEMO, commit=False)
        assert report.tables["region"].inserted == 684
        assert not report.committed
        assert all(not rows for rows in _snapshot(engine).values())
    finally:
        engine.dispose()


def test_second_load_changes_nothing(demo_engine: Engine) -> None:
    before = _snapshot(demo_engine)
    report = load_dataset(demo_engine, DEMO, commit=True)
    assert report.changed == 0, {k: vars(v) for k, v in report.tables.items()}
    assert _snapshot(demo_engine) == before


def test_changed_grid_becomes_a_new_version(demo_engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "changed"
    shutil.copytree(DEMO, folder)
    doc = json.loads((folder / "grids.geojson").read_text("utf-8"))
    doc["features"][0]["properties"]["name"] = "改名后的网格"
    code = doc["features"][0]["properties"]["code"]
    (folder / "grids.geojson").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    report = load_dataset(demo_engine, folder, commit=False)
    assert report.tables["grid"].updated == 1
    assert report.changed == 1
    with demo_engine.connect() as conn:
        versions = conn.execute(
            text("SELECT count(*) FROM grid WHERE code = :c"), {"c": code}
        ).scalar_one()
    assert versions == 1  # dry run: nothing kept


def test_a_changed_phone_moves_the_post_to_the_person_it_names(
    demo_engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "phone"
    shutil.copytree(DEMO, folder)
    lines = (folder / "grid_staff.csv").read_text("utf-8").splitlines()
    grid, role, name, _phone = lines[1].split(",")
    lines[1] = ",".join([grid, role, name, "13012345678"])
    (folder / "grid_staff.csv").write_text("\n".join(lines) + "\n", "utf-8")
    report = load_dataset(demo_engine, folder, commit=False)
    people, posts = report.tables["person"], report.tables["grid_staff"]
    # Another phone is another person: a new person, their post, and the old post gone.
    assert (people.inserted, people.updated) == (1, 0)
    assert (posts.inserted, posts.deleted) == (1, 1)
    assert report.changed == 3


@pytest.mark.parametrize("breakage", ["no_manifest", "swapped", "bad_json", "self_intersection"])
def test_bad_data_set_is_refused_and_writes_nothing(
    demo_engine: Engine, tmp_path: Path, breakage: str
) -> None:
    folder = tmp_path / breakage
    shutil.copytree(DEMO, folder)
    grids = folder / "grids.geojson"
    if breakage == "no_manifest":
        (folder / "manifest.json").unlink()
    elif breakage == "bad_json":
        grids.write_text("{not json", "utf-8")
    else:
        doc = json.loads(grids.read_text("utf-8"))
        if breakage == "swapped":
            ring = doc["features"][0]["geometry"]["coordinates"][0][0]
            doc["features"][0]["geometry"]["coordinates"][0][0] = [[y, x] for x, y in ring]
        else:
            doc["features"][0]["geometry"] = {
                "type": "Polygon",
                "coordinates": [
                    [
                        [116.34, 40.0],
                        [116.35, 40.01],
                        [116.35, 40.0],
                        [116.34, 40.01],
                        [116.34, 40.0],
                    ]
                ],
            }
        grids.write_text(json.dumps(doc), "utf-8")
    before = _snapshot(demo_engine)
    with pytest.raises(DataSetError):
        load_dataset(demo_engine, folder, commit=True)
    assert _snapshot(demo_engine) == before


def test_demo_grids_cover_their_communities_exactly(demo_engine: Engine) -> None:
    with demo_engine.connect() as conn:
        rows = conn.execute(
            text("""
            SELECT c.code,
                   ST_Area(ST_SymDifference(c.geom, ST_Union(g.geom))::geography) AS diff_m2,
                   count(*) AS grids
            FROM region c JOIN grid g ON g.community_code = c.code AND g.valid_to IS NULL
            GROUP BY c.code, c.geom""")
        ).all()
        overlaps = conn.execute(
            text("""
            SELECT a.code, b.code, ST_Area(ST_Intersection(a.geom, b.geom)::geography)
            FROM grid a JOIN grid b ON a.code < b.code AND a.geom && b.geom
            WHERE a.valid_to IS NULL AND b.valid_to IS NULL
              AND ST_Area(ST_Intersection(a.geom, b.geom)::geography) > 1.0""")
        ).all()
        xueyuanlu = conn.execute(
            text(
                "SELECT count(*) FROM region WHERE parent_code = '110108010' AND geom IS NOT NULL "
                "AND code NOT IN (SELECT community_code FROM grid WHERE valid_to IS NULL)"
            )
        ).scalar_one()
        outside = conn.execute(
            text("""
            SELECT c.code FROM region c JOIN region s ON s.code = c.parent_code
            WHERE c.level = 'community' AND c.geom IS NOT NULL
              -- the tolerance of DESIGN.md: slivers narrower than 0.5 m are ignored
              AND ST_Area(ST_Buffer(ST_Difference(c.geom, s.geom)::geography, -0.25)) > 0
        """)
        ).all()
    assert len(rows) >= 12
    assert all(r.diff_m2 < 1.0 for r in rows), [r for r in rows if r.diff_m2 >= 1.0]
    assert overlaps == []
    assert xueyuanlu == 0  # every mapped community of 学院路街道 is divided into grids
    assert outside == []


def test_incidents_and_buildings_got_their_grids(demo_engine: Engine) -> None:
    with demo_engine.connect() as conn:
        unassigned = conn.execute(
            text("SELECT count(*) FROM incident WHERE grid_code IS NULL")
        ).scalar_one()
        wrong = conn.execute(
            text("""
            SELECT count(*) FROM incident i JOIN grid g ON g.code = i.grid_code
            WHERE g.valid_to IS NULL AND NOT ST_Intersects(g.geom, i.geom)""")
        ).scalar_one()
        buildings = conn.execute(
            text("SELECT count(*) FILTER (WHERE grid_code IS NULL), count(*) FROM building")
        ).one()
        served = conn.execute(
            text("""
            SELECT count(*) FROM household h JOIN household d ON d.id = h.served_by
            WHERE NOT d.designated""")
        ).scalar_one()
    assert unassigned == 0 and wrong == 0
    assert buildings[1] > 500 and buildings[0] == 0
    assert served == 0


def test_every_demo_community_passes_the_coverage_report(demo_engine: Engine) -> None:
    from sqlalchemy.orm import Session

    from gridmap.geo.rules import GridRules
    from gridmap.queries.coverage import community_coverage

    with Session(demo_engine) as session:
        communities = (
            session.execute(text("SELECT DISTINCT community_code FROM grid WHERE valid_to IS NULL"))
            .scalars()
            .all()
        )
        assert len(communities) >= 30
        for code in communities:
            report = community_coverage(session, community=code, rules=GridRules())
            assert report["exact"] and report["valid_coverage"], (code, report["gaps"])
            assert report["covered_share"] > 0.9999


def test_demo_keeps_edits_made_since_its_data_set_was_loaded(
    demo_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    from gridmap.cli import _load
    from gridmap.settings import Settings

    load_dataset(demo_engine, DEMO, commit=True)
    with demo_engine.begin() as conn:
        code = conn.execute(text("SELECT min(code) FROM grid WHERE valid_to IS NULL")).scalar_one()
        conn.execute(
            text("UPDATE grid SET name = '改过的名字' WHERE code = :c AND valid_to IS NULL"),
            {"c": code},
        )
    settings = Settings()
    settings.db.url = demo_engine.url.render_as_string(hide_password=False)
    _load(settings, DEMO, commit=True, unless_loaded=True)
    assert "edits made since are kept" in capsys.readouterr().out
    with demo_engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT name FROM grid WHERE code = :c AND valid_to IS NULL"), {"c": code}
            ).scalar_one()
            == "改过的名字"
        )


def test_loaded_incidents_get_their_times_from_their_events(demo_engine: Engine) -> None:
    with demo_engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE e.dispatched AND i.dispatched_at IS NULL) AS no_dispatch,"
                " count(*) FILTER (WHERE e.dispatched AND i.due_at IS NULL) AS no_due,"
                " count(*) FILTER (WHERE e.closed AND i.closed_at IS NULL) AS no_close,"
                " count(*) FILTER (WHERE i.due_at <= i.dispatched_at) AS due_before_dispatch,"
                " count(*) FILTER (WHERE e.closed) AS closed"
                " FROM incident i JOIN (SELECT incident_id, bool_or(to_status = 'dispatched') AS dispatched,"
                " bool_or(to_status = 'closed') AS closed FROM incident_event GROUP BY 1) e"
                " ON e.incident_id = i.id"
            )
        ).one()
    assert row.no_dispatch == row.no_due == row.no_close == row.due_before_dispatch == 0
    assert row.closed > 100


def test_demo_incidents_have_their_tasks_people_and_requests(demo_engine: Engine) -> None:
    manifest = json.loads((DEMO / "manifest.json").read_text("utf-8"))["counts"]
    with demo_engine.connect() as conn:
        tasks, answered_by_people, task_events, approvals, split_without_due = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM incident_task), "
                "(SELECT count(*) FROM incident_task WHERE answered_by_person IS NOT NULL), "
                "(SELECT count(*) FROM incident_event WHERE task_id IS NOT NULL), "
                "(SELECT count(*) FROM approval WHERE decision = 'pending'), "
                "(SELECT count(*) FROM incident_task t JOIN incident i ON i.id = t.incident_id "
                " WHERE t.kind = 'split' AND t.due_at IS DISTINCT FROM i.due_at)"
            )
        ).one()
        # every resolved, closed or evaluated incident has no open task; handling ones have one
        wrong = conn.execute(
            text(
                "SELECT i.status, count(*) FROM incident i WHERE "
                "(i.status IN ('resolved', 'closed', 'evaluated') AND EXISTS (SELECT 1 FROM "
                " incident_task t WHERE t.incident_id = i.id AND t.state <> 'answered')) OR "
                "(i.status = 'handling' AND NOT EXISTS (SELECT 1 FROM incident_task t "
                " WHERE t.incident_id = i.id AND t.state IN ('assigned', 'working'))) "
                "GROUP BY 1"
            )
        ).all()
    assert tasks == manifest["incident_tasks"] and approvals == manifest["approvals"]
    assert answered_by_people > 100 and task_events > tasks and split_without_due == 0
    assert wrong == []
    with demo_engine.connect() as conn:
        settled = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE suggested IS NULL), "
                "count(*) FILTER (WHERE suggested), count(whistle_item_id) "
                "FROM incident_task WHERE kind = 'whistle'"
            )
        ).one()
    # every whistle task knows its line of the whistle list and whether the list named it
    assert settled[0] == 0 and settled[1] > 50 and settled[2] > 100
