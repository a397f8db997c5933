"""Alembic: up, down and up again on an empty database; the migrations match the models."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, MetaData, inspect, text

from gridmap import migrate
from gridmap.database import make_engine
from gridmap.migrate import EXTENSION_TABLES, model_differences
from gridmap.models import Base

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
    assert owned == EXTENSION_TABLES
    assert tables - owned == set(Base.metadata.tables)


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
