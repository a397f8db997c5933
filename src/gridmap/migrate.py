"""gridmap.migrate: run the Alembic migrations of ``migrations/`` against a database URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData

from gridmap.settings import project_root


def alembic_config(url: str) -> Config:
    """An Alembic config for the project's migrations and ``url``."""
    root = project_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(Path(root) / "migrations"))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Revert migrations down to ``revision``."""
    command.downgrade(alembic_config(url), revision)


# Tables that PostGIS and pgRouting create for themselves; gridmap has no model of them.
EXTENSION_TABLES = frozenset({"spatial_ref_sys"})


def model_differences(connection: Connection, metadata: MetaData) -> list[Any]:
    """What Alembic's autogenerate finds between the database and ``metadata``: every table,
    column, index and constraint of one that the other lacks or has otherwise, leaving out only
    the tables that extensions own (:data:`EXTENSION_TABLES`)."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        d
        for d in compare_metadata(context, metadata)
        if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name in EXTENSION_TABLES)
    ]
