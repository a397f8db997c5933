"""a version per tiled layer, bumped by every statement that changes it

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Vector tile URLs carry their layer's version, so a browser never shows a tile from before an
# edit. A sequence, not a counter row: bumping it takes no lock that concurrent writers would
# queue on (a rolled-back change bumps it too, which only costs a cache miss).
LAYERS = {
    "grid": "grids",
    "building": "buildings",
    "incident": "incidents",
    "road_edge": "roads",
}

BUMP = """
CREATE FUNCTION gridmap_bump_tiles() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval(TG_ARGV[0]);
    RETURN NULL;
END
$$;
"""


def upgrade() -> None:
    op.execute(BUMP)
    for table, layer in LAYERS.items():
        op.execute(f"CREATE SEQUENCE tiles_{layer}_version")
        op.execute(
            f"CREATE TRIGGER {table}_bump_tiles AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION gridmap_bump_tiles('tiles_{layer}_version')"
        )


def downgrade() -> None:
    for table, layer in LAYERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_tiles ON {table}")
        op.execute(f"DROP SEQUENCE IF EXISTS tiles_{layer}_version")
    op.execute("DROP FUNCTION IF EXISTS gridmap_bump_tiles()")
