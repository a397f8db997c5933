"""tile versions kept in rows, so a streaming replica reads them exactly

The vector tiles' layer versions were sequences (0006, 0014). A sequence is written to the WAL
32 values ahead of its use, so a hot standby reads a value the primary reaches only 32 bumps
later, and the same value for the 31 bumps in between: a replica would serve new data under an
old version and old data under a version the primary has not reached yet, both as immutable.
Rows in ``tile_version`` are replicated as they are, and they are read in the reader's snapshot,
with the data. A bump now holds the layer's row until its transaction ends, so writers of one
layer queue for the moment between their statement and their commit (the price of versions that
are true everywhere; rolled-back bumps no longer cost a cache miss either).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LAYERS = ("grids", "buildings", "incidents", "roads", "regions")

# The triggers of 0006/0014/0016 stay: they pass the old sequence's name, now a row's key.
BUMP = """
CREATE OR REPLACE FUNCTION gridmap_bump_tiles() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tile_version SET version = version + 1 WHERE name = TG_ARGV[0];
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
    op.create_table(
        "tile_version",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    for layer in LAYERS:
        op.execute(
            f"INSERT INTO tile_version (name, version) SELECT 'tiles_{layer}_version', "
            f"CASE WHEN is_called THEN last_value ELSE 0 END FROM tiles_{layer}_version"
        )
    op.execute(BUMP)
    for layer in LAYERS:
        op.execute(f"DROP SEQUENCE tiles_{layer}_version")


def downgrade() -> None:
    for layer in LAYERS:
        op.execute(f"CREATE SEQUENCE tiles_{layer}_version")
        op.execute(
            f"SELECT setval('tiles_{layer}_version', greatest(version, 1), version > 0) "
            f"FROM tile_version WHERE name = 'tiles_{layer}_version'"
        )
    op.execute(BUMP_0006)
    op.drop_table("tile_version")
