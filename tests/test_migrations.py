"""Alembic: up, down and up again on an empty database; the migrations match the models; the
incidents of the first loop are carried into the new flow with the same figures."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Connection, Engine, MetaData, inspect, text
from sqlalchemy.orm import Session

from gridmap import migrate
from gridmap.auth import ANONYMOUS
from gridmap.database import make_engine
from gridmap.migrate import EXTENSION_TABLES, model_differences
from gridmap.models import Base
from gridmap.services import stats
from gridmap.vocab.states import LEGACY_STATES

TABLES = {
    "region",
    "grid",
    "grid_piece",
    "grid_staff",
    "building",
    "household",
    "service_center",
    "service_circle",
    "list_item",
    "incident",
    "incident_key",
    "incident_archive",
    "incident_event",
    "road_edge",
    "audit_log",
    "data_set",
    "api_token",
    "incident_category",
    "calendar_day",
    "person",
    "department",
    "incident_task",
    "approval",
    "whistle_class",
    "whistle_item",
}


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) & (TABLES | {"alembic_version"})


def test_up_down_up(fresh_database) -> None:  # type: ignore[no-untyped-def]
    url = fresh_database("gridmap_test_migrations")
    engine = make_engine(url, pool_size=1)
    try:
        migrate.upgrade(url)
        assert _tables(engine) == TABLES | {"alembic_version"}
        with engine.connect() as conn:
            extensions = set(conn.execute(text("SELECT extname FROM pg_extension")).scalars())
            assert {"postgis", "pg_trgm", "pgrouting"} <= extensions
            # Every geometry column has a GiST index and SRID 4326.
            srids = conn.execute(
                text(
                    "SELECT f_table_name, srid FROM geometry_columns WHERE f_table_schema = 'public'"
                )
            ).all()
            assert srids and all(srid == 4326 for _, srid in srids)
            gist = {
                r[0]
                for r in conn.execute(
                    text("SELECT tablename FROM pg_indexes WHERE indexdef ILIKE '%USING gist%'")
                )
            }
            assert {t for t, _ in srids} <= gist
        migrate.downgrade(url, "base")
        assert _tables(engine) == {"alembic_version"}
        migrate.upgrade(url)
        assert _tables(engine) == TABLES | {"alembic_version"}
    finally:
        engine.dispose()


def test_models_match_migrations(engine: Engine) -> None:
    with engine.connect() as conn:
        assert model_differences(conn, Base.metadata) == []


def test_every_table_has_a_model(engine: Engine) -> None:
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
        # The tables extensions own are exactly those left out of the comparison.
        owned = set(
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_depend d JOIN pg_class c ON c.oid = d.objid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE d.deptype = 'e' AND c.relkind = 'r' AND n.nspname = 'public'"
                )
            ).scalars()
        )
        # Partitions are the months of their partitioned table, not tables of their own.
        months = migrate.partitions(conn)
    assert owned == EXTENSION_TABLES
    assert {m for m in months if not m.startswith("incident_")} == set()
    assert tables - owned - months == set(Base.metadata.tables)


@pytest.mark.parametrize("missing", ["calendar_day", "audit_log", "grid_staff"])
def test_a_missing_model_fails_the_comparison(engine: Engine, missing: str) -> None:
    partial = MetaData()
    for table in Base.metadata.tables.values():
        if table.name != missing:
            table.to_metadata(partial)
    with engine.connect() as conn:
        diff = model_differences(conn, partial)
    removed = {d[1].name for d in diff if isinstance(d, tuple) and d[0] == "remove_table"}
    assert removed == {missing}


def test_constraints_refuse_bad_rows(engine: Engine) -> None:
    bad = [
        # a street code that is not 9 digits
        "INSERT INTO region (code, level, name) VALUES ('11010801', 'street', 'x')",
        # a community not under its parent
        "INSERT INTO region (code, level, name) VALUES ('110108', 'district', 'd');"
        "INSERT INTO region (code, level, name, parent_code) "
        "VALUES ('120108010001', 'community', 'c', '110108')",
        # a self-intersecting (bow-tie) grid
        "INSERT INTO region (code, level, name) VALUES ('110108', 'district', 'd');"
        "INSERT INTO region (code, level, name, parent_code) VALUES ('110108010', 'street', 's', '110108');"
        "INSERT INTO region (code, level, name, parent_code) "
        "VALUES ('110108010001', 'community', 'c', '110108010');"
        "INSERT INTO grid (code, community_code, name, geom) VALUES ('110108010001001', "
        "'110108010001', 'g', 'SRID=4326;MULTIPOLYGON(((0 0,1 1,1 0,0 1,0 0)))')",
        # a grid code that is not its community's
        "INSERT INTO region (code, level, name) VALUES ('110108', 'district', 'd');"
        "INSERT INTO region (code, level, name, parent_code) VALUES ('110108010', 'street', 's', '110108');"
        "INSERT INTO region (code, level, name, parent_code) "
        "VALUES ('110108010001', 'community', 'c', '110108010');"
        "INSERT INTO grid (code, community_code, name, geom) VALUES ('110108010002001', "
        "'110108010001', 'g', 'SRID=4326;MULTIPOLYGON(((0 0,1 0,1 1,0 1,0 0)))')",
        # a grid in the wrong SRID
        "INSERT INTO region (code, level, name) VALUES ('110108', 'district', 'd');"
        "INSERT INTO region (code, level, name, parent_code) VALUES ('110108010', 'street', 's', '110108');"
        "INSERT INTO region (code, level, name, parent_code) "
        "VALUES ('110108010001', 'community', 'c', '110108010');"
        "INSERT INTO grid (code, community_code, name, geom) VALUES ('110108010001001', "
        "'110108010001', 'g', 'SRID=3857;MULTIPOLYGON(((0 0,1 0,1 1,0 1,0 0)))')",
        "INSERT INTO incident (category, severity, geom) VALUES ('x', 'catastrophic', "
        "'SRID=4326;POINT(116 40)')",
    ]
    for sql in bad:
        with engine.connect() as conn:
            trans = conn.begin()
            try:
                raised = False
                try:
                    for stmt in sql.split(";"):
                        conn.execute(text(stmt))
                except Exception:
                    raised = True
                assert raised, sql
            finally:
                trans.rollback()


def test_people_are_made_from_existing_staff_and_back(fresh_database) -> None:  # type: ignore[no-untyped-def]
    url = fresh_database("gridmap_test_people")
    engine = make_engine(url, pool_size=1)
    staff = [
        # namesakes without a phone in two grids: two people, never merged
        ("110108010001001", "leader", "王芳", None),
        ("110108010001002", "worker", "王芳", None),
        # the same name and phone in two grids: one person
        ("110108010001001", "worker", "李静", "13900005678"),
        ("110108010001002", "leader", "李静", "13900005678"),
        # a blank name, which grid_staff allowed
        ("110108010001003", "volunteer", " ", None),
    ]
    try:
        migrate.upgrade(url, "0007")
        with engine.begin() as conn:
            for grid, role, name, phone in staff:
                conn.execute(
                    text(
                        "INSERT INTO grid_staff (grid_code, role, name, phone) "
                        "VALUES (:g, :r, :n, :p)"
                    ),
                    {"g": grid, "r": role, "n": name, "p": phone},
                )
            conn.execute(
                text(
                    "INSERT INTO api_token (name, role, region_code, token_hash) "
                    "VALUES ('社区办', 'community', '110108010001', repeat('a', 64))"
                )
            )
        migrate.upgrade(url)
        with engine.connect() as conn:
            people = conn.execute(text("SELECT name, phone FROM person ORDER BY name, phone")).all()
            assert [tuple(p) for p in people] == [
                ("(no name)", None),
                ("李静", "13900005678"),
                ("王芳", None),
                ("王芳", None),
            ]
            posts = conn.execute(
                text("SELECT count(DISTINCT person_id), count(*) FROM grid_staff")
            ).one()
            assert tuple(posts) == (4, 5)
            token = conn.execute(text("SELECT holder_kind, role FROM api_token")).one()
            assert tuple(token) == ("office", "community")
        migrate.downgrade(url, "0007")
        with engine.connect() as conn:
            back = conn.execute(
                text("SELECT grid_code, role, name, phone FROM grid_staff ORDER BY id")
            ).all()
            assert [tuple(r) for r in back] == [
                (g, r, "(no name)" if not n.strip() else n, p) for g, r, n, p in staff
            ]
            assert conn.execute(text("SELECT count(*) FROM api_token")).scalar_one() == 1
    finally:
        engine.dispose()


FIGURE_GROUPS = ("grid", "community", "street", "category")


def _figures(engine: Engine, group_by: str) -> dict[object, dict[str, object]]:
    """The figures per group as the API computes them, by key, without the counts by state
    (whose words the migration changes)."""
    with Session(engine) as session:
        result = stats.figures(
            session,
            principal=ANONYMOUS,
            group_by=group_by,
            region=None,
            period=stats.Period(None, None),
        )
    return {
        g["key"]: {k: v for k, v in g.items() if k not in ("by_state", "rank")}
        for g in result["groups"]
    }


def _by_state(engine: Engine, group_by: str) -> dict[object, dict[str, int]]:
    with Session(engine) as session:
        result = stats.figures(
            session,
            principal=ANONYMOUS,
            group_by=group_by,
            region=None,
            period=stats.Period(None, None),
        )
    return {g["key"]: g["by_state"] for g in result["groups"]}


def _in_new_words(by_state: dict[str, int]) -> dict[str, int]:
    carried: dict[str, int] = {}
    for state, n in by_state.items():
        new = LEGACY_STATES.get(state, "handling" if state == "dispatched" else state)
        carried[new] = carried.get(new, 0) + n
    return carried


# Incidents of the first loop, one per old state (and the ways it was dispatched): the key is
# the description, then status, dispatch mode, assignees, hours since report of dispatch, close
# and due (None: not set), returned count, score, and the events (to_status, note).
OLD = [
    ("reported", "reported", None, [], None, None, None, 0, None, []),
    ("accepted", "accepted", None, [], None, None, None, 0, None, [("accepted", None)]),
    (
        "dispatched to a department by name and a free text",
        "dispatched", "joint", ["海淀区城管执法局", "物业公司"], 1, None, 30, 0, None,
        [("accepted", None), ("dispatched", None)],
    ),
    (
        "dispatched to a department by code",
        "dispatched", "joint", ["hd-cgzf"], 1, None, 30, 0, None, [("dispatched", None)],
    ),
    (
        "handling by its grid's team, overdue",
        "handling", "team", [], 1, None, 2, 0, None, [("dispatched", None), ("handling", None)],
    ),
    (
        "extended",
        "extended", "team", ["grid 110108010001001 team"], 1, None, 200, 0, None,
        [("dispatched", None), ("extended", "等待配件")],
    ),
    (
        "parked after dispatch",
        "parked", "claim", [], 1, None, 3, 0, None, [("dispatched", None), ("parked", "待拆迁")],
    ),
    ("parked before dispatch", "parked", None, [], None, None, None, 0, None, [("parked", "历史遗留")]),
    (
        "resolved",
        "resolved", "team", [], 1, None, 48, 0, None,
        [("dispatched", None), ("resolved", "已清理")],
    ),
    (
        "returned for rework",
        "returned", "team", [], 1, None, 48, 1, None,
        [("dispatched", None), ("resolved", "清理"), ("returned", "未清理干净")],
    ),
    (
        "closed on time",
        "closed", "team", [], 1, 10, 24, 0, None, [("dispatched", None), ("closed", None)],
    ),
    (
        "evaluated late and reworked",
        "evaluated", "split", ["community 110108010001"], 2, 60, 24, 1, 70,
        [("dispatched", None), ("resolved", "好了"), ("closed", None), ("evaluated", None)],
    ),
    (
        "escalated to the district",
        "handling", "escalate", ["hd-cgzf"], 1, None, 100, 0, None, [("dispatched", None)],
    ),
    ("cancelled", "cancelled", None, [], None, None, None, 0, None, [("cancelled", "无效")]),
]  # fmt: skip


def _insert_old(conn: Connection) -> dict[str, int]:
    area = "SRID=4326;MULTIPOLYGON(((116.34 40,116.35 40,116.35 40.01,116.34 40.01,116.34 40)))"
    conn.execute(
        text(
            "INSERT INTO region (code, level, name, parent_code, geom) VALUES "
            "('110108', 'district', '海淀区', NULL, :g), "
            "('110108010', 'street', '学院路街道', '110108', :g), "
            "('110108010001', 'community', '测试社区', '110108010', :g)"
        ),
        {"g": area},
    )
    conn.execute(
        text(
            "INSERT INTO grid (code, community_code, name, geom) "
            "VALUES ('110108010001001', '110108010001', '一网格', :g)"
        ),
        {"g": area},
    )
    conn.execute(
        text(
            "INSERT INTO department (code, name, level, region_code) "
            "VALUES ('hd-cgzf', '海淀区城管执法局', 'district', '110108')"
        )
    )
    ids: dict[str, int] = {}
    for n, (
        key,
        status,
        mode,
        named,
        dispatched,
        closed,
        due,
        returned,
        score,
        events,
    ) in enumerate(OLD):
        reported = f"now() - interval '{100 + n} hours'"

        def later(hours: int | None, base: str = reported) -> str:
            return "NULL" if hours is None else f"{base} + interval '{hours} hours'"

        ids[key] = conn.execute(
            text(
                "INSERT INTO incident (category, description, grid_code, community_code, "
                "street_code, status, reported_at, dispatched_at, closed_at, due_at, "
                "dispatch_mode, assignees, returned_count, score, geom) VALUES "
                f"(:category, :key, '110108010001001', '110108010001', '110108010', :status, "
                f"{reported}, {later(dispatched)}, {later(closed)}, {later(due)}, :mode, "
                "CAST(:named AS jsonb), :returned, :score, "
                "ST_SetSRID(ST_MakePoint(116.342, 40.005), 4326)) RETURNING id"
            ),
            {
                "category": "市容环境/暴露垃圾" if n % 2 else "街面秩序/占道经营",
                "key": key,
                "status": status,
                "mode": mode,
                "named": json.dumps(named, ensure_ascii=False),
                "returned": returned,
                "score": score,
            },
        ).scalar_one()
        for seq, (to_status, note) in enumerate([("reported", None), *events], start=1):
            conn.execute(
                text(
                    "INSERT INTO incident_event (incident_id, seq, action, to_status, actor, at, "
                    f"note) VALUES (:i, :seq, :to, :to, '学院路街道', {reported} + "
                    "make_interval(mins => :seq), :note)"
                ),
                {"i": ids[key], "seq": seq, "to": to_status, "note": note},
            )
    return ids


def test_old_incidents_are_carried_into_the_new_flow(fresh_database) -> None:  # type: ignore[no-untyped-def]
    url = fresh_database("gridmap_test_carry_incidents")
    engine = make_engine(url, pool_size=1)
    try:
        migrate.upgrade(url, "0009")
        with engine.begin() as conn:
            ids = _insert_old(conn)
        before = {g: _figures(engine, g) for g in FIGURE_GROUPS}
        states_before = {g: _by_state(engine, g) for g in FIGURE_GROUPS}
        assert before["street"]["110108010"]["incidents"] == len(OLD)
        # open, past due and not parked: both dispatched, handling, resolved, returned, escalated
        assert before["street"]["110108010"]["overdue_now"] == 6
        migrate.upgrade(url)
        after = {g: _figures(engine, g) for g in FIGURE_GROUPS}
        assert after == before
        for g in FIGURE_GROUPS:
            assert _by_state(engine, g) == {
                k: _in_new_words(v) for k, v in states_before[g].items()
            }
        with engine.connect() as conn:
            incidents = {
                r.description: r
                for r in conn.execute(
                    text(
                        "SELECT description, status, owner_code, parked_from, parked_at "
                        "IS NOT NULL AS parked_at, (SELECT count(*) FROM incident_event e "
                        "WHERE e.incident_id = i.id) AS events FROM incident i"
                    )
                )
            }
            tasks: dict[str, list[tuple[object, ...]]] = {}
            for r in conn.execute(
                text(
                    "SELECT i.description, t.kind, t.assignee_kind, t.assignee_code, "
                    "t.assignee_name, t.state, t.returned_count, t.feedback, "
                    "t.answered_at IS NOT NULL AS answered, t.due_at = i.due_at AS same_due "
                    "FROM incident_task t JOIN incident i ON i.id = t.incident_id ORDER BY t.id"
                )
            ):
                tasks.setdefault(r[0], []).append(tuple(r[1:]))
            approvals = {
                r[0]: tuple(r[1:])
                for r in conn.execute(
                    text(
                        "SELECT i.description, a.kind, a.reason, a.decision, a.decider_code "
                        "FROM approval a JOIN incident i ON i.id = a.incident_id"
                    )
                )
            }
        expected = {
            "reported": ("reported", None, None),
            "accepted": ("queued", "110108", None),
            "dispatched to a department by name and a free text": ("handling", "110108010", None),
            "dispatched to a department by code": ("handling", "110108010", None),
            "handling by its grid's team, overdue": ("handling", "110108010", None),
            "extended": ("handling", "110108010", None),
            "parked after dispatch": ("parked", "110108010", "handling"),
            "parked before dispatch": ("parked", "110108", "queued"),
            "resolved": ("resolved", "110108010", None),
            "returned for rework": ("handling", "110108010", None),
            "closed on time": ("closed", "110108010", None),
            "evaluated late and reworked": ("evaluated", "110108010", None),
            "escalated to the district": ("handling", "110108", None),
            "cancelled": ("cancelled", "110108", None),
        }
        assert {k: (r.status, r.owner_code, r.parked_from) for k, r in incidents.items()} == (
            expected
        )
        assert incidents["parked after dispatch"].parked_at
        # every event kept
        for key, *_, events in OLD:
            assert incidents[key].events == len(events) + 1, key
        grid, community = "110108010001001", "110108010001"
        assert tasks == {
            "dispatched to a department by name and a free text": [
                ("whistle", "department", "hd-cgzf", "海淀区城管执法局", "assigned", 0, None, False, True),
                ("split", "other", None, "物业公司", "assigned", 0, None, False, True),
            ],
            "dispatched to a department by code": [
                ("whistle", "department", "hd-cgzf", "海淀区城管执法局", "assigned", 0, None, False, True),
            ],
            "handling by its grid's team, overdue": [
                ("split", "grid", grid, "一网格", "working", 0, None, False, True),
            ],
            "extended": [("split", "grid", grid, "一网格", "working", 0, None, False, True)],
            "parked after dispatch": [
                ("split", "grid", grid, "一网格", "working", 0, None, False, True),
            ],
            "resolved": [("split", "grid", grid, "一网格", "answered", 0, "已清理", True, True)],
            "returned for rework": [
                ("split", "grid", grid, "一网格", "working", 1, None, False, True),
            ],
            "closed on time": [("split", "grid", grid, "一网格", "answered", 0, None, True, True)],
            "evaluated late and reworked": [
                ("split", "community", community, "测试社区", "answered", 1, "好了", True, True),
            ],
            "escalated to the district": [
                ("whistle", "department", "hd-cgzf", "海淀区城管执法局", "working", 0, None, False, True),
            ],
        }  # fmt: skip
        assert approvals == {
            "extended": ("extend", "等待配件", "approved", "110108"),
            "parked after dispatch": ("park", "待拆迁", "approved", "110108"),
            "parked before dispatch": ("park", "历史遗留", "approved", "110108"),
        }
        assert set(ids) == set(incidents)
        # the carried tasks give the department its figures: three tasks, none answered yet
        department = _figures(engine, "department")["hd-cgzf"]
        assert (department["tasks"], department["incidents"], department["closed"]) == (3, 3, 0)
        assert department["name"] == "海淀区城管执法局" and department["overdue_now"] == 3
    finally:
        engine.dispose()


def test_demo_figures_survive_down_and_up(fresh_database) -> None:  # type: ignore[no-untyped-def]
    from gridmap.loader import load_dataset
    from gridmap.settings import project_root

    url = fresh_database("gridmap_test_demo_down_up")
    migrate.upgrade(url)
    engine = make_engine(url, pool_size=2)
    try:
        load_dataset(engine, project_root() / "data" / "boundaries", commit=True)
        groups = ("street", "community", "category")
        before = {g: _figures(engine, g) for g in groups}
        with engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM incident")).scalar_one()
        assert count == sum(g["incidents"] for g in before["street"].values()) > 0
        # the demo's tasks give departments and workers their figures
        assert len(_figures(engine, "department")) >= 10 and len(_figures(engine, "worker")) > 50
        migrate.downgrade(url, "0009")
        assert {g: _figures(engine, g) for g in groups} == before
        migrate.upgrade(url)
        assert {g: _figures(engine, g) for g in groups} == before
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM incident")).scalar_one() == count
    finally:
        engine.dispose()
