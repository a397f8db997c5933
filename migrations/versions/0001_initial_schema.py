"""initial schema: extensions, the domain tables, and the trigger that keeps grid pieces current

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from geoalchemy2 import Geometry

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


EXTENSIONS = ("postgis", "pg_trgm", "pgrouting")

# Point-in-grid lookups test small pieces of each grid, not whole grids: ST_Subdivide keeps each
# piece under 64 vertices, so the GiST index narrows a lookup to a handful of cheap tests. The
# trigger rebuilds a grid's pieces whenever its geometry is written, so they can never go stale.
GRID_PIECE_TRIGGER = """
CREATE FUNCTION grid_piece_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM grid_piece WHERE grid_id = OLD.id;
    END IF;
    INSERT INTO grid_piece (grid_id, geom)
    SELECT NEW.id, d.geom
    FROM ST_Subdivide(NEW.geom, 64) AS s(geom), LATERAL ST_Dump(s.geom) AS d
    WHERE ST_GeometryType(d.geom) = 'ST_Polygon';
    RETURN NULL;
END
$$;
CREATE TRIGGER grid_piece_refresh AFTER INSERT OR UPDATE OF geom ON grid
    FOR EACH ROW EXECUTE FUNCTION grid_piece_refresh();
"""


def upgrade() -> None:
    for name in EXTENSIONS:
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {name}")
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_key', sa.Text(), nullable=True),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('audit_log_entity_idx', 'audit_log', ['entity', 'entity_key'], unique=False)
    op.create_geospatial_table('building',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('use', sa.String(length=32), nullable=True),
    sa.Column('floors', sa.Integer(), nullable=True),
    sa.Column('households', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('grid_code', sa.String(length=15), nullable=True),
    sa.Column('community_code', sa.String(length=12), nullable=True),
    sa.Column('osm_id', sa.String(length=32), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("code ~ '^[0-9A-Za-z-]{4,32}$'", name='building_code_format'),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name='building_geom_valid'),
    sa.CheckConstraint('floors IS NULL OR floors BETWEEN 1 AND 200', name='building_floors'),
    sa.CheckConstraint('households >= 0', name='building_households_nonneg'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index('building_address_trgm', 'building', ['address'], unique=False, postgresql_using='gin', postgresql_ops={'address': 'gin_trgm_ops'})
    op.create_geospatial_index('building_geom_gist', 'building', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('building_grid_idx', 'building', ['grid_code'], unique=False)
    op.create_table('data_set',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('summary', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('grid_staff',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('grid_code', sa.String(length=15), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.CheckConstraint("grid_code ~ '^[0-9]{14,15}$'", name='grid_staff_grid_code_format'),
    sa.CheckConstraint("phone IS NULL OR phone ~ '^[0-9+ -]{5,20}$'", name='grid_staff_phone'),
    sa.CheckConstraint("role IN ('leader', 'worker', 'guide', 'police', 'mediator', 'safety', 'volunteer')", name='grid_staff_role_known'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('grid_code', 'role', 'name', name='grid_staff_unique')
    )
    op.create_index(op.f('ix_grid_staff_grid_code'), 'grid_staff', ['grid_code'], unique=False)
    op.create_geospatial_table('incident',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=True),
    sa.Column('category', sa.Text(), nullable=False),
    sa.Column('severity', sa.String(length=16), server_default=sa.text("'general'"), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('reporter_name', sa.Text(), nullable=True),
    sa.Column('reporter_phone', sa.String(length=20), nullable=True),
    sa.Column('crs_in', sa.String(length=16), server_default=sa.text("'EPSG:4326'"), nullable=False),
    sa.Column('grid_code', sa.String(length=15), nullable=True),
    sa.Column('community_code', sa.String(length=12), nullable=True),
    sa.Column('street_code', sa.String(length=9), nullable=True),
    sa.Column('distance_to_grid_m', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=16), server_default=sa.text("'reported'"), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("reporter_phone IS NULL OR reporter_phone ~ '^[0-9+ -]{5,20}$'", name='incident_phone'),
    sa.CheckConstraint("severity IN ('general', 'important', 'urgent')", name='incident_severity_known'),
    sa.CheckConstraint("status IN ('reported', 'accepted', 'cancelled', 'dispatched', 'handling', 'resolved', 'closed', 'returned', 'evaluated', 'extended', 'parked')", name='incident_status_known'),
    sa.CheckConstraint('score IS NULL OR score BETWEEN 0 AND 100', name='incident_score_range'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    op.create_geospatial_index('incident_geom_gist', 'incident', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('incident_grid_idx', 'incident', ['grid_code'], unique=False)
    op.create_index('incident_reported_at_idx', 'incident', ['reported_at'], unique=False)
    op.create_index('incident_status_idx', 'incident', ['status'], unique=False)
    op.create_geospatial_table('list_item',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('list', sa.String(length=16), nullable=False),
    sa.Column('category', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('owner_kind', sa.String(length=16), nullable=False),
    sa.Column('owner_name', sa.Text(), nullable=True),
    sa.Column('contact_name', sa.Text(), nullable=True),
    sa.Column('contact_phone', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=16), server_default=sa.text("'open'"), nullable=False),
    sa.Column('need_id', sa.BigInteger(), nullable=True),
    sa.Column('resource_id', sa.BigInteger(), nullable=True),
    sa.Column('grid_code', sa.String(length=15), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("contact_phone IS NULL OR contact_phone ~ '^[0-9+ -]{5,20}$'", name='list_item_phone'),
    sa.CheckConstraint("list IN ('resource', 'need', 'project')", name='list_item_list_known'),
    sa.CheckConstraint("owner_kind IN ('unit', 'resident', 'branch')", name='list_item_owner_kind_known'),
    sa.CheckConstraint("status IN ('open', 'matched', 'in_progress', 'done', 'closed')", name='list_item_status_known'),
    sa.ForeignKeyConstraint(['need_id'], ['list_item.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resource_id'], ['list_item.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('list_item_geom_gist', 'list_item', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('list_item_grid_idx', 'list_item', ['grid_code'], unique=False)
    op.create_geospatial_table('region',
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('official_name', sa.Text(), nullable=True),
    sa.Column('parent_code', sa.String(length=12), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('label_point', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.CheckConstraint("(level = 'district' AND code ~ '^[0-9]{6}$') OR (level = 'street' AND code ~ '^[0-9]{9}$') OR (level = 'community' AND code ~ '^[0-9]{12}$')", name='region_code_matches_level'),
    sa.CheckConstraint("level IN ('district', 'street', 'community')", name='region_level_known'),
    sa.CheckConstraint('geom IS NULL OR ST_IsValid(geom)', name='region_geom_valid'),
    sa.CheckConstraint('length(btrim(name)) > 0', name='region_name_not_blank'),
    sa.CheckConstraint('parent_code IS NULL OR left(code, length(parent_code)) = parent_code', name='region_code_under_parent'),
    sa.ForeignKeyConstraint(['parent_code'], ['region.code'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_geospatial_index('region_geom_gist', 'region', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('region_parent_idx', 'region', ['parent_code'], unique=False)
    op.create_geospatial_table('road_edge',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('osm_id', sa.String(length=32), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('highway', sa.String(length=32), nullable=True),
    sa.Column('source', sa.BigInteger(), nullable=False),
    sa.Column('target', sa.BigInteger(), nullable=False),
    sa.Column('length_m', sa.Float(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='LINESTRING', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint('length_m >= 0', name='road_edge_length_nonneg'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_geospatial_index('road_edge_geom_gist', 'road_edge', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('road_edge_source_idx', 'road_edge', ['source'], unique=False)
    op.create_index('road_edge_target_idx', 'road_edge', ['target'], unique=False)
    op.create_geospatial_table('grid',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=15), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('community_code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), server_default=sa.text("'basic'"), nullable=False),
    sa.Column('subtype', sa.String(length=32), nullable=True),
    sa.Column('households', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('changed_by', sa.Text(), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.CheckConstraint("(kind = 'basic' AND subtype IS NULL) OR (kind = 'exclusive' AND subtype IN ('campus', 'hospital', 'market', 'office', 'park', 'school', 'other'))", name='grid_subtype_matches_kind'),
    sa.CheckConstraint("code ~ '^[0-9]{14,15}$'", name='grid_code_format'),
    sa.CheckConstraint("kind IN ('basic', 'exclusive')", name='grid_kind_known'),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name='grid_geom_valid'),
    sa.CheckConstraint('households IS NULL OR households >= 0', name='grid_households_nonneg'),
    sa.CheckConstraint('left(code, 12) = community_code', name='grid_code_in_community'),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name='grid_validity_ordered'),
    sa.CheckConstraint('version >= 1', name='grid_version_positive'),
    sa.ForeignKeyConstraint(['community_code'], ['region.code'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code', 'version', name='grid_code_version_key')
    )
    op.create_index('grid_community_idx', 'grid', ['community_code'], unique=False)
    op.create_index('grid_current_code_key', 'grid', ['code'], unique=True, postgresql_where=sa.text('valid_to IS NULL'))
    op.create_geospatial_index('grid_geom_gist', 'grid', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('household',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('building_id', sa.BigInteger(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('room', sa.String(length=16), nullable=False),
    sa.Column('designated', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('party_members', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('served_by', sa.BigInteger(), nullable=True),
    sa.Column('contact_name', sa.Text(), nullable=True),
    sa.Column('contact_phone', sa.String(length=20), nullable=True),
    sa.CheckConstraint("contact_phone IS NULL OR contact_phone ~ '^[0-9+ -]{5,20}$'", name='household_phone'),
    sa.CheckConstraint('party_members >= 0', name='household_party_members_nonneg'),
    sa.CheckConstraint('served_by IS NULL OR served_by <> id', name='household_not_self_served'),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['served_by'], ['household.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('building_id', 'unit', 'room', name='household_address_key')
    )
    op.create_index(op.f('ix_household_building_id'), 'household', ['building_id'], unique=False)
    op.create_index(op.f('ix_household_served_by'), 'household', ['served_by'], unique=False)
    op.create_table('incident_event',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('incident_id', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('incident_id', 'seq', name='incident_event_seq_key')
    )
    op.create_geospatial_table('service_center',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('opening_hours', sa.Text(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('region_code', sa.String(length=12), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("kind IN ('party_mass_center', 'red_station', 'convenience_station')", name='service_center_kind_known'),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('service_center_geom_gist', 'service_center', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('grid_piece',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('grid_id', sa.BigInteger(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_geospatial_index('grid_piece_geom_gist', 'grid_piece', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_grid_piece_grid_id'), 'grid_piece', ['grid_id'], unique=False)
    op.create_geospatial_table('service_circle',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('center_id', sa.BigInteger(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('params', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("method IN ('network', 'buffer')", name='service_circle_method'),
    sa.CheckConstraint('ST_IsValid(geom)', name='service_circle_geom_valid'),
    sa.CheckConstraint('minutes BETWEEN 1 AND 120', name='service_circle_minutes'),
    sa.ForeignKeyConstraint(['center_id'], ['service_center.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('center_id', 'minutes', name='service_circle_center_minutes_key')
    )
    op.create_geospatial_index('service_circle_geom_gist', 'service_circle', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})

    op.execute(GRID_PIECE_TRIGGER)

def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS grid_piece_refresh ON grid")
    op.execute("DROP FUNCTION IF EXISTS grid_piece_refresh()")
    op.drop_geospatial_index('service_circle_geom_gist', table_name='service_circle', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('service_circle')
    op.drop_index(op.f('ix_grid_piece_grid_id'), table_name='grid_piece')
    op.drop_geospatial_index('grid_piece_geom_gist', table_name='grid_piece', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('grid_piece')
    op.drop_geospatial_index('service_center_geom_gist', table_name='service_center', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('service_center')
    op.drop_table('incident_event')
    op.drop_index(op.f('ix_household_served_by'), table_name='household')
    op.drop_index(op.f('ix_household_building_id'), table_name='household')
    op.drop_table('household')
    op.drop_geospatial_index('grid_geom_gist', table_name='grid', postgresql_using='gist', column_name='geom')
    op.drop_index('grid_current_code_key', table_name='grid', postgresql_where=sa.text('valid_to IS NULL'))
    op.drop_index('grid_community_idx', table_name='grid')
    op.drop_geospatial_table('grid')
    op.drop_index('road_edge_target_idx', table_name='road_edge')
    op.drop_index('road_edge_source_idx', table_name='road_edge')
    op.drop_geospatial_index('road_edge_geom_gist', table_name='road_edge', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('road_edge')
    op.drop_index('region_parent_idx', table_name='region')
    op.drop_geospatial_index('region_geom_gist', table_name='region', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('region')
    op.drop_index('list_item_grid_idx', table_name='list_item')
    op.drop_geospatial_index('list_item_geom_gist', table_name='list_item', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('list_item')
    op.drop_index('incident_status_idx', table_name='incident')
    op.drop_index('incident_reported_at_idx', table_name='incident')
    op.drop_index('incident_grid_idx', table_name='incident')
    op.drop_geospatial_index('incident_geom_gist', table_name='incident', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('incident')
    op.drop_index(op.f('ix_grid_staff_grid_code'), table_name='grid_staff')
    op.drop_table('grid_staff')
    op.drop_table('data_set')
    op.drop_index('building_grid_idx', table_name='building')
    op.drop_geospatial_index('building_geom_gist', table_name='building', postgresql_using='gist', column_name='geom')
    op.drop_index('building_address_trgm', table_name='building', postgresql_using='gin', postgresql_ops={'address': 'gin_trgm_ops'})
    op.drop_geospatial_table('building')
    op.drop_index('audit_log_entity_idx', table_name='audit_log')
    op.drop_table('audit_log')
    for name in reversed(EXTENSIONS):
        op.execute(f"DROP EXTENSION IF EXISTS {name}")
