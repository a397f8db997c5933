"""people behind tokens: one row a person, grid staff as links to people, departments, and
tokens issued to an office, a grid staff member, a Party member or a department

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OFFICE_REGION = "(role = 'admin' AND region_code IS NULL) OR (role <> 'admin' AND region_code ~ '^[0-9]{6}([0-9]{3}([0-9]{3}([0-9]{2,3})?)?)?$')"


def upgrade() -> None:
    op.create_table(
        'person',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=True),
        sa.Column('key', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint('length(btrim(name)) > 0', name='person_name_not_blank'),
        sa.CheckConstraint("phone IS NULL OR phone ~ '^[0-9+ -]{5,20}$'", name='person_phone'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key', name='person_key_key'),
    )
    # How loaded data tells people apart (see gridmap.loader.person_key): the same name and
    # phone is one person; a name without a phone is a person of its grid, never merged with a
    # namesake elsewhere (that would widen what their token may do).
    op.execute(
        "INSERT INTO person (name, phone, key) "
        "SELECT DISTINCT ON (k) n, phone, k FROM (SELECT coalesce(nullif(btrim(name), ''), '(no name)') AS n, "
        "phone, CASE WHEN phone IS NOT NULL THEN name || '|' || phone ELSE name || '|' || grid_code END AS k "
        "FROM grid_staff) s ORDER BY k"
    )
    op.add_column('grid_staff', sa.Column('person_id', sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE grid_staff s SET person_id = p.id FROM person p WHERE p.key = "
        "CASE WHEN s.phone IS NOT NULL THEN s.name || '|' || s.phone ELSE s.name || '|' || s.grid_code END"
    )
    op.alter_column('grid_staff', 'person_id', nullable=False)
    op.create_foreign_key('grid_staff_person_id_fkey', 'grid_staff', 'person', ['person_id'], ['id'], ondelete='RESTRICT')
    op.create_index('grid_staff_person_idx', 'grid_staff', ['person_id'])
    op.drop_constraint('grid_staff_unique', 'grid_staff', type_='unique')
    op.create_unique_constraint('grid_staff_unique', 'grid_staff', ['grid_code', 'role', 'person_id'])
    op.drop_constraint('grid_staff_phone', 'grid_staff', type_='check')
    op.drop_column('grid_staff', 'phone')
    op.drop_column('grid_staff', 'name')
    # The in-memory lookups show people's names and phones: a change to a person reloads them.
    op.execute(
        "CREATE TRIGGER person_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        "ON person FOR EACH STATEMENT EXECUTE FUNCTION gridmap_notify_change()"
    )

    op.create_table(
        'department',
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('level', sa.String(length=16), nullable=False),
        sa.Column('region_code', sa.String(length=12), nullable=False),
        sa.CheckConstraint("code ~ '^[0-9A-Za-z_-]{2,32}$'", name='department_code_format'),
        sa.CheckConstraint("level IN ('district', 'street')", name='department_level_known'),
        sa.CheckConstraint('length(btrim(name)) > 0', name='department_name_not_blank'),
        sa.ForeignKeyConstraint(['region_code'], ['region.code'], ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('code'),
    )

    op.add_column('api_token', sa.Column('holder_kind', sa.String(length=16), server_default='office', nullable=False))
    op.add_column('api_token', sa.Column('person_id', sa.BigInteger(), nullable=True))
    op.add_column('api_token', sa.Column('department_code', sa.String(length=32), nullable=True))
    op.create_foreign_key('api_token_person_id_fkey', 'api_token', 'person', ['person_id'], ['id'], ondelete='RESTRICT')
    op.create_foreign_key('api_token_department_code_fkey', 'api_token', 'department', ['department_code'], ['code'], ondelete='RESTRICT')
    op.create_check_constraint('api_token_holder_kind_known', 'api_token', "holder_kind IN ('office', 'staff', 'party_member', 'department')")
    op.drop_constraint('api_token_region_matches_role', 'api_token', type_='check')
    op.create_check_constraint(
        'api_token_holder_matches',
        'api_token',
        f"(holder_kind = 'office' AND person_id IS NULL AND department_code IS NULL AND ({OFFICE_REGION})) OR "
        "(holder_kind = 'staff' AND role = 'worker' AND person_id IS NOT NULL AND department_code IS NULL AND region_code IS NULL) OR "
        "(holder_kind = 'party_member' AND role = 'viewer' AND person_id IS NOT NULL AND department_code IS NULL AND region_code IS NULL) OR "
        "(holder_kind = 'department' AND role = 'viewer' AND person_id IS NULL AND department_code IS NOT NULL AND region_code IS NULL)",
    )


def downgrade() -> None:
    # Lossy: tokens issued to people and departments have nowhere to go and are deleted, and
    # two namesakes holding the same post in one grid become one row again.
    op.execute("DELETE FROM api_token WHERE holder_kind <> 'office'")
    op.drop_constraint('api_token_holder_matches', 'api_token', type_='check')
    op.create_check_constraint('api_token_region_matches_role', 'api_token', OFFICE_REGION)
    op.drop_constraint('api_token_holder_kind_known', 'api_token', type_='check')
    op.drop_constraint('api_token_department_code_fkey', 'api_token', type_='foreignkey')
    op.drop_constraint('api_token_person_id_fkey', 'api_token', type_='foreignkey')
    op.drop_column('api_token', 'department_code')
    op.drop_column('api_token', 'person_id')
    op.drop_column('api_token', 'holder_kind')
    op.drop_table('department')

    op.add_column('grid_staff', sa.Column('name', sa.Text(), nullable=True))
    op.add_column('grid_staff', sa.Column('phone', sa.String(length=20), nullable=True))
    op.execute("UPDATE grid_staff s SET name = p.name, phone = p.phone FROM person p WHERE p.id = s.person_id")
    op.alter_column('grid_staff', 'name', nullable=False)
    op.create_check_constraint('grid_staff_phone', 'grid_staff', "phone IS NULL OR phone ~ '^[0-9+ -]{5,20}$'")
    op.drop_constraint('grid_staff_unique', 'grid_staff', type_='unique')
    op.execute(
        "DELETE FROM grid_staff a USING grid_staff b WHERE a.grid_code = b.grid_code "
        "AND a.role = b.role AND a.name = b.name AND a.id > b.id"
    )
    op.create_unique_constraint('grid_staff_unique', 'grid_staff', ['grid_code', 'role', 'name'])
    op.drop_index('grid_staff_person_idx', table_name='grid_staff')
    op.drop_constraint('grid_staff_person_id_fkey', 'grid_staff', type_='foreignkey')
    op.drop_column('grid_staff', 'person_id')
    op.execute("DROP TRIGGER IF EXISTS person_notify_change ON person")
    op.drop_table('person')
