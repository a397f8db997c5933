"""Alembic environment: the URL comes from gridmap's settings, the target from its models."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from geoalchemy2 import alembic_helpers

from gridmap.database import database_url
from gridmap.migrate import EXTENSION_TABLES
from gridmap.models import Base
from gridmap.settings import DatabaseSettings

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    # A caller (tests, the CLI) may hand over a URL; otherwise the settings decide.
    explicit = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    return str(explicit) if explicit else database_url(DatabaseSettings())


def _include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # PostGIS and pgRouting own tables of their own; leave them alone. Any other table in the
    # database without a model is reported, so a model cannot go missing unnoticed.
    if type_ == "table" and reflected and compare_to is None and name in EXTENSION_TABLES:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        include_object=_include_object,
        render_item=alembic_helpers.render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
