"""generalised tile copies: simplified grids and regions, merged buildings per zoom, kept current
by a log of the changed parts; regions get a tile version like the other tiled layers

``tile_shape`` holds each copy's features per zoom, ``tile_copy`` the layer version each copy was
built from, and ``tile_dirty`` the boxes (lon/lat) of rows changed since: written by statement
triggers in the changing transaction, so a tile read after the commit sees them and rebuilds that
part first (a NULL box: the whole layer).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from geoalchemy2 import Geometry

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The zooms of the building copies (gridmap.queries.tiles.BUILDING_COPY_ZOOMS).
BUILDING_ZOOMS = (12, 13, 14)

# The box of the buildings a statement changed as they were, and as they are now.
BUILDING_DIRTY = """
CREATE FUNCTION gridmap_tile_dirty_building() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    box box2d;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT ST_Extent(geom) INTO box FROM old_rows;
        IF box IS NOT NULL THEN
            INSERT INTO tile_dirty (layer, west, south, east, north)
            VALUES ('buildings', ST_XMin(box), ST_YMin(box), ST_XMax(box), ST_YMax(box));
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT ST_Extent(geom) INTO box FROM new_rows;
        IF box IS NOT NULL THEN
            INSERT INTO tile_dirty (layer, west, south, east, north)
            VALUES ('buildings', ST_XMin(box), ST_YMin(box), ST_XMax(box), ST_YMax(box));
        END IF;
    END IF;
    RETURN NULL;
END
$$;
"""

# The whole layer: grids and regions are few, their copy is rebuilt at once.
WHOLE_DIRTY = """
CREATE FUNCTION gridmap_tile_dirty_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tile_dirty (layer) VALUES (TG_ARGV[0]);
    RETURN NULL;
END
$$;
"""


def upgrade() -> None:
    op.create_table(
        "tile_copy",
        sa.Column("layer", sa.String(16), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "built_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_table(
        "tile_dirty",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("layer", sa.String(16), nullable=False),
        sa.Column("west", sa.Float()),
        sa.Column("south", sa.Float()),
        sa.Column("east", sa.Float()),
        sa.Column("north", sa.Float()),
    )
    op.create_index("tile_dirty_layer_idx", "tile_dirty", ["layer"])
    op.create_table(
        "tile_shape",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("layer", sa.String(16), nullable=False),
        sa.Column("zoom", sa.Integer(), nullable=False),
        sa.Column("cell", sa.BigInteger()),
        sa.Column("count", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "props", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column(
            "geom",
            Geometry("GEOMETRY", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.CheckConstraint("count >= 1", name="tile_shape_count_positive"),
    )
    op.create_index("tile_shape_geom_gist", "tile_shape", ["geom"], postgresql_using="gist")
    op.create_index("tile_shape_cell_idx", "tile_shape", ["layer", "zoom", "cell"])
    # One spatial index per building copy: a tile's box then finds only its zoom's features.
    for z in BUILDING_ZOOMS:
        op.create_index(
            f"tile_shape_buildings_{z}_gist",
            "tile_shape",
            ["geom"],
            postgresql_using="gist",
            postgresql_where=sa.text(f"layer = 'buildings' AND zoom = {z}"),
        )

    op.execute(BUILDING_DIRTY)
    for event, refs in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "NEW TABLE AS new_rows OLD TABLE AS old_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER building_tile_dirty_{event.lower()} AFTER {event} ON building "
            f"REFERENCING {refs} FOR EACH STATEMENT "
            "EXECUTE FUNCTION gridmap_tile_dirty_building()"
        )
    op.execute(WHOLE_DIRTY)
    op.execute(
        "CREATE TRIGGER building_tile_dirty_truncate AFTER TRUNCATE ON building "
        "FOR EACH STATEMENT EXECUTE FUNCTION gridmap_tile_dirty_all('buildings')"
    )
    for table, layer in (("grid", "grids"), ("region", "regions")):
        op.execute(
            f"CREATE TRIGGER {table}_tile_dirty AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION gridmap_tile_dirty_all('{layer}')"
        )
    # Regions become a tiled layer with a version of their own (the function of 0006/0009).
    op.execute("CREATE SEQUENCE tiles_regions_version")
    op.execute(
        "CREATE TRIGGER region_bump_tiles AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        "ON region FOR EACH STATEMENT "
        "EXECUTE FUNCTION gridmap_bump_tiles('tiles_regions_version')"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS region_bump_tiles ON region")
    op.execute("DROP SEQUENCE IF EXISTS tiles_regions_version")
    for table in ("grid", "region"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_tile_dirty ON {table}")
    for event in ("insert", "update", "delete", "truncate"):
        op.execute(f"DROP TRIGGER IF EXISTS building_tile_dirty_{event} ON building")
    op.execute("DROP FUNCTION IF EXISTS gridmap_tile_dirty_all()")
    op.execute("DROP FUNCTION IF EXISTS gridmap_tile_dirty_building()")
    op.drop_table("tile_shape")
    op.drop_table("tile_dirty")
    op.drop_table("tile_copy")
