"""previews leave tile versions alone: the tile-version trigger skips a write made for a dry run

A dry run writes in a savepoint and rolls it back, but a sequence ignores rollback: without this,
every preview in the editor moved the tile version and emptied every browser's tile cache.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# gridmap.dry_run is set (SET LOCAL, undone with its savepoint) only around a dry run's writes.
BUMP = """
CREATE OR REPLACE FUNCTION gridmap_bump_tiles() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('gridmap.dry_run', true), '') <> 'on' THEN
        PERFORM nextval(TG_ARGV[0]);
    END IF;
    RETURN NULL;
END
$$;
"""

BUMP_0006 = """
CREATE OR REPLACE FUNCTION gridmap_bump_tiles() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval(TG_ARGV[0]);
    RETURN NULL;
END
$$;
"""


def upgrade() -> None:
    op.execute(BUMP)


def downgrade() -> None:
    op.execute(BUMP_0006)
