"""incident_open carries what the board's queues ask of an incident

The command centre's board counts its queues and picks its page from the unfinished incidents
only, but over ``incident`` that is every month's partition (124 at ten years: 1.6–2.3 s a board
on a province of 20,000,000 incidents, 5 s for a grid worker's own queue). ``incident_open``
(migration 0018) gets the other columns the queues read — severity, street, holder, due time and
the street pool's window — so the board reads that one small table and then its page's rows by
id and month. The row trigger fires on changes of these columns too.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DONE = "('closed', 'evaluated', 'cancelled')"
BEFORE = ("id", "reported_at", "status", "category", "grid_code", "community_code", "geom")
ADDED = ("severity", "street_code", "owner_code", "due_at", "pool_until")


def _functions(columns: Sequence[str]) -> str:
    """The row trigger's and the month sync's functions over ``columns``."""
    listed = ", ".join(columns)
    new = ", ".join(f"NEW.{c}" for c in columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != "id")
    return f"""
CREATE OR REPLACE FUNCTION gridmap_incident_open_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM incident_open WHERE id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status NOT IN {DONE} THEN
        INSERT INTO incident_open ({listed}) VALUES ({new})
        ON CONFLICT (id) DO UPDATE SET {updates};
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION gridmap_incident_open_sync(lo timestamptz, hi timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM incident_open WHERE reported_at >= lo AND reported_at < hi;
    INSERT INTO incident_open ({listed})
    SELECT {listed} FROM incident
    WHERE reported_at >= lo AND reported_at < hi AND status NOT IN {DONE};
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
"""


def _trigger(columns: Sequence[str]) -> str:
    watched = ", ".join(c for c in columns if c != "id")
    return (
        f"CREATE TRIGGER incident_open_row AFTER INSERT OR DELETE OR UPDATE OF {watched} "
        "ON incident FOR EACH ROW EXECUTE FUNCTION gridmap_incident_open_row()"
    )


def upgrade() -> None:
    op.execute(
        "ALTER TABLE incident_open ADD COLUMN severity varchar(16), "
        "ADD COLUMN street_code varchar(9), ADD COLUMN owner_code varchar(12), "
        "ADD COLUMN due_at timestamptz, ADD COLUMN pool_until timestamptz"
    )
    # The open rows of every month, each partition read by its status index.
    op.execute(
        "UPDATE incident_open o SET "
        + ", ".join(f"{c} = i.{c}" for c in ADDED)
        + f" FROM incident i WHERE i.status NOT IN {DONE} AND i.id = o.id "
        "AND i.reported_at = o.reported_at"
    )
    op.execute("CREATE INDEX incident_open_owner_idx ON incident_open (owner_code, status)")
    op.execute("CREATE INDEX incident_open_street_idx ON incident_open (street_code)")
    op.execute(_functions((*BEFORE, *ADDED)))
    op.execute("DROP TRIGGER incident_open_row ON incident")
    op.execute(_trigger((*BEFORE, *ADDED)))
    op.execute("ANALYZE incident_open")


def downgrade() -> None:
    op.execute("DROP TRIGGER incident_open_row ON incident")
    op.execute(_functions(BEFORE))
    op.execute(_trigger(BEFORE))
    op.execute("DROP INDEX incident_open_street_idx")
    op.execute("DROP INDEX incident_open_owner_idx")
    op.execute("ALTER TABLE incident_open " + ", ".join(f"DROP COLUMN {c}" for c in ADDED))
