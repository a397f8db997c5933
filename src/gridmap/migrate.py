"""gridmap.migrate: run the Alembic migrations of ``migrations/`` against a database URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, text

from gridmap.settings import project_root


def alembic_config(url: str) -> Config:
    """An Alembic config for the project's migrations and ``url``."""
    root = project_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(Path(root) / "migrations"))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``; at head, make this month's incident partition and
    the next two's when missing."""
    command.upgrade(alembic_config(url), revision)
    if revision == "head":
        ensure_months(url)


def ensure_months(url: str) -> None:
    """Make this month's incident partition and the next two's when missing."""
    from sqlalchemy.orm import Session

    from gridmap.database import make_engine
    from gridmap.services.partitions import ensure_months as ensure

    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine) as session, session.begin():
            ensure(session)
    finally:
        engine.dispose()


def downgrade(url: str, revision: str = "base") -> None:
    """Revert migrations down to ``revision``."""
    command.downgrade(alembic_config(url), revision)


# Tables that PostGIS and pgRouting create for themselves; gridmap has no model of them.
EXTENSION_TABLES = frozenset({"spatial_ref_sys"})


def partitions(connection: Connection) -> set[str]:
    """The partitions of partitioned tables (``incident_p202605``, ``incident_default``): made by
    gridmap.services.partitions, not by a model, and compared as their parent."""
    return set(
        connection.execute(
            # Kept as SQL: the system catalogs.
            text("SELECT relname FROM pg_class WHERE relispartition AND relkind = 'r'")
        ).scalars()
    )


def model_differences(connection: Connection, metadata: MetaData) -> list[Any]:
    """What Alembic's autogenerate finds between the database and ``metadata``: every table,
    column, index and constraint of one that the other lacks or has otherwise, leaving out only
    the tables that extensions own (:data:`EXTENSION_TABLES`) and the partitions of partitioned
    tables (:func:`partitions`)."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    months = partitions(connection)
    return [
        d
        for d in compare_metadata(context, metadata)
        if not (
            isinstance(d, tuple)
            and (
                (d[0] == "remove_table" and d[1].name in EXTENSION_TABLES | months)
                # A partition's own indexes follow its parent's.
                or (d[0] == "remove_index" and d[1].table.name in months)
            )
        )
    ]
