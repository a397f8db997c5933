"""the matching key of each building's standard address, trigram-indexed

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Filled by the loader with gridmap.address.parse(address).key: the address without its
    # region prefix, unit or room, with digits for Chinese numerals and 号 for 号楼/栋/幢/座.
    op.add_column('building', sa.Column('address_key', sa.Text(), nullable=True))
    op.create_index('building_address_key_trgm', 'building', ['address_key'], unique=False, postgresql_using='gin', postgresql_ops={'address_key': 'gin_trgm_ops'})


def downgrade() -> None:
    op.drop_index('building_address_key_trgm', table_name='building', postgresql_using='gin', postgresql_ops={'address_key': 'gin_trgm_ops'})
    op.drop_column('building', 'address_key')
