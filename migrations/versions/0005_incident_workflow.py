"""incident categories with their time limits, and what the workflow needs on an incident

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A starting taxonomy after the city-management (城市管理部件事件) and social-governance classes in
# use in Beijing's grid centres; limits are hours from dispatch (working hours where marked).
# Editable: this is data, not code.
SEED = [
    # code, class, limit_hours, working_time
    ("市容环境/暴露垃圾", "city_management", 24, False),
    ("市容环境/积存垃圾渣土", "city_management", 48, False),
    ("市容环境/道路不洁", "city_management", 24, False),
    ("市容环境/绿地脏乱", "city_management", 48, False),
    ("宣传广告/非法小广告", "city_management", 24, False),
    ("宣传广告/违规户外广告", "city_management", 40, True),
    ("施工管理/施工扰民", "city_management", 8, False),
    ("施工管理/无证施工", "city_management", 40, True),
    ("施工管理/道路破损", "city_management", 48, False),
    ("街面秩序/占道经营", "city_management", 4, False),
    ("街面秩序/机动车乱停放", "city_management", 4, False),
    ("街面秩序/共享单车乱停放", "city_management", 8, False),
    ("突发事件/路面塌陷", "city_management", 2, False),
    ("突发事件/燃气泄漏", "city_management", 1, False),
    ("突发事件/井盖缺失", "city_management", 2, False),
    ("矛盾纠纷/邻里纠纷", "social_governance", 72, True),
    ("矛盾纠纷/物业纠纷", "social_governance", 120, True),
    ("矛盾纠纷/劳资纠纷", "social_governance", 120, True),
    ("安全隐患/消防通道堵塞", "social_governance", 8, False),
    ("安全隐患/电动车违规充电", "social_governance", 8, False),
    ("安全隐患/高空坠物隐患", "social_governance", 24, False),
    ("民生服务/独居老人帮扶", "social_governance", 48, True),
    ("民生服务/老旧小区设施损坏", "social_governance", 120, True),
    ("民生服务/供暖问题", "social_governance", 24, False),
]


def upgrade() -> None:
    category = op.create_table('incident_category',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('class_', sa.String(length=32), nullable=False),
    sa.Column('limit_hours', sa.Integer(), nullable=False),
    sa.Column('working_time', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.CheckConstraint("class_ IN ('city_management', 'social_governance')", name='incident_category_class_known'),
    sa.CheckConstraint("code ~ '^[^/]+/[^/]+$'", name='incident_category_code_major_minor'),
    sa.CheckConstraint('limit_hours BETWEEN 1 AND 8760', name='incident_category_limit_range'),
    sa.PrimaryKeyConstraint('code')
    )
    op.bulk_insert(category, [
        {"code": c, "class_": k, "limit_hours": h, "working_time": w} for c, k, h, w in SEED
    ])
    op.add_column('incident', sa.Column('dispatch_mode', sa.String(length=16), nullable=True))
    op.add_column('incident', sa.Column('assignees', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False))
    op.add_column('incident', sa.Column('merged_into', sa.BigInteger(), nullable=True))
    op.add_column('incident', sa.Column('returned_count', sa.Integer(), server_default=sa.text('0'), nullable=False))
    op.add_column('incident', sa.Column('photos', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False))
    op.create_foreign_key('incident_merged_into_fkey', 'incident', 'incident', ['merged_into'], ['id'], ondelete='SET NULL')
    op.create_check_constraint('incident_dispatch_mode_known', 'incident', "dispatch_mode IS NULL OR dispatch_mode IN ('team', 'claim', 'split', 'joint', 'escalate')")
    op.create_check_constraint('incident_not_merged_into_itself', 'incident', 'merged_into IS NULL OR merged_into <> id')
    op.create_index('incident_category_idx', 'incident', ['category'], unique=False)
    op.create_index('incident_community_idx', 'incident', ['community_code'], unique=False)


def downgrade() -> None:
    op.drop_index('incident_community_idx', table_name='incident')
    op.drop_index('incident_category_idx', table_name='incident')
    op.drop_constraint('incident_not_merged_into_itself', 'incident', type_='check')
    op.drop_constraint('incident_dispatch_mode_known', 'incident', type_='check')
    op.drop_constraint('incident_merged_into_fkey', 'incident', type_='foreignkey')
    for column in ('photos', 'returned_count', 'merged_into', 'assignees', 'dispatch_mode'):
        op.drop_column('incident', column)
    op.drop_table('incident_category')
