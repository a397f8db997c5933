"""notify listeners when grids, their staff or regions change

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("grid", "grid_staff", "region")

# Servers keep the current grids in memory for fast lookups; one notification per statement
# (not per row) tells them, after the change commits, to reload.
NOTIFY = """
CREATE FUNCTION gridmap_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gridmap_changed', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
"""


def upgrade() -> None:
    op.execute(NOTIFY)
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION gridmap_notify_change()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_change ON {table}")
    op.execute("DROP FUNCTION IF EXISTS gridmap_notify_change()")
