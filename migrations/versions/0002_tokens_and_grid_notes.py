"""access tokens, and a note on each grid version saying what made it

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('api_token',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('region_code', sa.String(length=15), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'district', 'street', 'community', 'worker', 'viewer')", name='api_token_role_known'),
    sa.CheckConstraint("(role = 'admin' AND region_code IS NULL) OR (role <> 'admin' AND region_code ~ '^[0-9]{6}([0-9]{3}([0-9]{3}([0-9]{2,3})?)?)?$')", name='api_token_region_matches_role'),
    sa.CheckConstraint('length(btrim(name)) > 0', name='api_token_name_not_blank'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.add_column('grid', sa.Column('note', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('grid', 'note')
    op.drop_table('api_token')
