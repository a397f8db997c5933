"""a log of changed grids, grid staff and regions, in commit order

Processes that read from a streaming replica get no NOTIFY (PostgreSQL does not deliver it to a
standby), and a country-sized lookup index should patch the few grids an edit touched rather than
rebuild. Both read ``grid_change``: one row per changed grid code (or region code, or NULL for a
TRUNCATE: everything), written by statement triggers in the changing transaction. The triggers
take one transaction-level advisory lock before numbering their rows, so a row's ``seq`` is
never overtaken by a later commit: a reader that has seen ``seq <= N`` has seen every change up
to N, on the primary and on a replica alike.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The advisory lock key of the log (any constant; "gridchg" in ASCII).
LOCK_KEY = 0x67726964636867

# TG_ARGV[0]: the column holding the code in the changed rows.
LOG = f"""
CREATE FUNCTION gridmap_log_grid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({LOCK_KEY});
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO grid_change (tbl, code) VALUES (TG_TABLE_NAME, NULL);
    ELSIF TG_OP = 'INSERT' THEN
        EXECUTE format(
            'INSERT INTO grid_change (tbl, code) SELECT DISTINCT %L, %I FROM new_rows',
            TG_TABLE_NAME, TG_ARGV[0]);
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE format(
            'INSERT INTO grid_change (tbl, code) SELECT DISTINCT %L, %I FROM old_rows',
            TG_TABLE_NAME, TG_ARGV[0]);
    ELSE
        EXECUTE format(
            'INSERT INTO grid_change (tbl, code) SELECT DISTINCT %L, c FROM ('
            'SELECT %I AS c FROM new_rows UNION SELECT %I FROM old_rows) AS changed',
            TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[0]);
    END IF;
    RETURN NULL;
END
$$;
"""

TABLES = {"grid": "code", "grid_staff": "grid_code", "region": "code"}


def upgrade() -> None:
    op.create_table(
        "grid_change",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column("tbl", sa.String(16), nullable=False),
        sa.Column("code", sa.String(15)),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.execute(LOG)
    for table, column in TABLES.items():
        for event, refs in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "NEW TABLE AS new_rows OLD TABLE AS old_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ):
            op.execute(
                f"CREATE TRIGGER {table}_log_change_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {refs} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION gridmap_log_grid_change('{column}')"
            )
        op.execute(
            f"CREATE TRIGGER {table}_log_change_truncate AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_grid_change('{column}')"
        )


def downgrade() -> None:
    for table in TABLES:
        for event in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_log_change_{event} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS gridmap_log_grid_change()")
    op.drop_table("grid_change")
