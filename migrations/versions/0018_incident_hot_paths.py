"""the open incidents in a small table of their own, and an index on incident.merged_into

A grid's open incidents carry no time bound, so a list of them over ``incident`` plans and probes
every month's partition (124 at ten years). ``incident_open`` holds the incidents that are not
finished (one row each: id, month, state, category, place, point), kept by row triggers on
``incident`` in the changing transaction; the open lists read it first and then fetch their page
by id and month, which prunes to the months on the page. Bulk paths that write no rows through
``incident`` (a month attached or detached) call ``gridmap_incident_open_sync(lo, hi)``.

Deleting an incident deletes its ``incident_key`` row, whose foreign key from
``incident.merged_into`` then looks for incidents merged into it: without an index that is a full
scan of every partition per deleted incident.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DONE = "('closed', 'evaluated', 'cancelled')"
COLUMNS = "id, reported_at, status, category, grid_code, community_code, geom"

OPEN = f"""
CREATE FUNCTION gridmap_incident_open_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM incident_open WHERE id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status NOT IN {DONE} THEN
        INSERT INTO incident_open ({COLUMNS})
        VALUES (NEW.id, NEW.reported_at, NEW.status, NEW.category, NEW.grid_code,
                NEW.community_code, NEW.geom)
        ON CONFLICT (id) DO UPDATE SET reported_at = EXCLUDED.reported_at,
            status = EXCLUDED.status, category = EXCLUDED.category,
            grid_code = EXCLUDED.grid_code, community_code = EXCLUDED.community_code,
            geom = EXCLUDED.geom;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION gridmap_incident_open_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE incident_open;
    RETURN NULL;
END
$$;

-- The open incidents reported in [lo, hi) read again from incident: after a month is attached
-- (its rows came in without a trigger) or detached (its rows are gone).
CREATE FUNCTION gridmap_incident_open_sync(lo timestamptz, hi timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM incident_open WHERE reported_at >= lo AND reported_at < hi;
    INSERT INTO incident_open ({COLUMNS})
    SELECT {COLUMNS} FROM incident
    WHERE reported_at >= lo AND reported_at < hi AND status NOT IN {DONE};
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
"""


def upgrade() -> None:
    op.execute(
        "CREATE INDEX incident_merged_into_idx ON incident (merged_into) "
        "WHERE merged_into IS NOT NULL"
    )
    op.execute(
        "CREATE TABLE incident_open (id bigint PRIMARY KEY, reported_at timestamptz NOT NULL, "
        "status varchar(16) NOT NULL, category text NOT NULL, grid_code varchar(15), "
        "community_code varchar(12), geom geometry(Point, 4326))"
    )
    op.execute("CREATE INDEX incident_open_grid_idx ON incident_open (grid_code, status)")
    op.execute("CREATE INDEX incident_open_community_idx ON incident_open (community_code)")
    op.execute("CREATE INDEX incident_open_geom_gist ON incident_open USING gist (geom)")
    op.execute(OPEN)
    op.execute(
        f"INSERT INTO incident_open ({COLUMNS}) SELECT {COLUMNS} FROM incident "
        f"WHERE status NOT IN {DONE}"
    )
    op.execute("ANALYZE incident_open")
    op.execute(
        "CREATE TRIGGER incident_open_row AFTER INSERT OR DELETE OR UPDATE OF "
        "status, category, grid_code, community_code, geom, reported_at ON incident "
        "FOR EACH ROW EXECUTE FUNCTION gridmap_incident_open_row()"
    )
    op.execute(
        "CREATE TRIGGER incident_open_truncate AFTER TRUNCATE ON incident "
        "FOR EACH STATEMENT EXECUTE FUNCTION gridmap_incident_open_truncate()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER incident_open_truncate ON incident")
    op.execute("DROP TRIGGER incident_open_row ON incident")
    op.execute("DROP FUNCTION gridmap_incident_open_sync(timestamptz, timestamptz)")
    op.execute("DROP FUNCTION gridmap_incident_open_truncate()")
    op.execute("DROP FUNCTION gridmap_incident_open_row()")
    op.execute("DROP TABLE incident_open")
    op.execute("DROP INDEX incident_merged_into_idx")
