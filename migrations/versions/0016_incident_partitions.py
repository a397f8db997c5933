"""incidents partitioned by month of reporting (China time), their identity in ``incident_key``

``incident`` becomes ``PARTITION BY RANGE (reported_at)``: one partition per calendar month in
China time, ``incident_pYYYYMM`` (bounds at ``YYYY-MM-01 00:00+08``), and ``incident_default`` for
rows of a month that has none yet (empty in normal operation). A unique key of a partitioned table
must hold the partition key, so the primary key is ``(id, reported_at)`` and an incident's identity
lives in ``incident_key (id, idempotency_key UNIQUE, reported_at)``: the events, sub-tasks,
requests and merges point at ``incident_key.id``, and an idempotency key names one incident even
after its month has been archived (detached, written to GeoParquet and dropped).

A row trigger keeps ``incident_key`` in step with single inserts: the insert of a key already
stored for another incident is skipped (the statement returns no row), as ``ON CONFLICT DO
NOTHING`` did. Deleting an incident deletes its key, and its events and tasks with it. Bulk
writers that write the keys themselves set ``gridmap.keys = 'kept'`` for their transaction.

``gridmap_incident_month(month)`` creates a month's partition when missing, moving any rows of
that month out of the default partition.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables whose incident_id pointed at incident.id (constraint name, table).
CHILDREN = (
    ("incident_event_incident_id_fkey", "incident_event"),
    ("incident_task_incident_id_fkey", "incident_task"),
    ("approval_incident_id_fkey", "approval"),
)

# Secondary indexes of incident (name, definition after ON incident).
INDEXES = (
    ("incident_geom_gist", "USING gist (geom)"),
    ("incident_category_idx", "(category)"),
    ("incident_community_idx", "(community_code)"),
    ("incident_grid_idx", "(grid_code)"),
    ("incident_status_idx", "(status)"),
    ("incident_reported_at_idx", "(reported_at)"),
    ("incident_owner_idx", "(owner_code, status)"),
    ("incident_change_seq_idx", "(change_seq)"),
    ("incident_pool_until_idx", "(pool_until) WHERE status = 'pooled'"),
)

KEYS = """
CREATE FUNCTION gridmap_incident_key_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('gridmap.keys', true) = 'kept' THEN
        RETURN NEW;
    END IF;
    INSERT INTO incident_key (id, idempotency_key, reported_at)
    VALUES (NEW.id, NEW.idempotency_key, NEW.reported_at) ON CONFLICT DO NOTHING;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    -- The same incident again: a row moving to another month's partition, or a key written
    -- beforehand by a bulk import.
    UPDATE incident_key SET reported_at = NEW.reported_at
    WHERE id = NEW.id AND idempotency_key IS NOT DISTINCT FROM NEW.idempotency_key;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    -- The key names another incident: nothing is inserted.
    RETURN NULL;
END
$$;

CREATE FUNCTION gridmap_incident_key_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('gridmap.keys', true) = 'kept' THEN
        RETURN NULL;
    END IF;
    -- AFTER row triggers run at the end of the statement: a row that moved to another month's
    -- partition is there again by then and keeps its key (and its events).
    DELETE FROM incident_key k WHERE k.id = OLD.id
        AND NOT EXISTS (SELECT FROM incident i WHERE i.id = OLD.id);
    RETURN NULL;
END
$$;
"""

MONTH = """
CREATE FUNCTION gridmap_incident_month(month date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    first date := date_trunc('month', month)::date;
    name text := 'incident_p' || to_char(first, 'YYYYMM');
    lo timestamptz := first::timestamp AT TIME ZONE 'Asia/Shanghai';
    hi timestamptz := (first + 1 * interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai';
    kept text := coalesce(current_setting('gridmap.keys', true), '');
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN name;
    END IF;
    -- Two sessions making the same month: the second finds it made.
    PERFORM pg_advisory_xact_lock(hashtext('gridmap_incident_month'));
    IF to_regclass(name) IS NOT NULL THEN
        RETURN name;
    END IF;
    EXECUTE format(
        'CREATE TABLE %I (LIKE incident INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
    -- The month's rows that waited in the default partition move in; they keep their keys.
    PERFORM set_config('gridmap.keys', 'kept', true);
    EXECUTE format(
        'WITH moved AS (DELETE FROM incident_default WHERE reported_at >= $1 '
        'AND reported_at < $2 RETURNING *) INSERT INTO %I SELECT * FROM moved', name)
        USING lo, hi;
    PERFORM set_config('gridmap.keys', kept, true);
    EXECUTE format(
        'ALTER TABLE incident ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
    RETURN name;
END
$$;
"""

CHANGED = (
    "CREATE TRIGGER incident_changed BEFORE UPDATE ON incident "
    "FOR EACH ROW EXECUTE FUNCTION gridmap_incident_changed()"
)
BUMP = (
    "CREATE TRIGGER incident_bump_tiles AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
    "ON incident FOR EACH STATEMENT EXECUTE FUNCTION gridmap_bump_tiles('tiles_incidents_version')"
)


def _own_sequences(table: str | None) -> None:
    # The id and change_seq sequences belong to the table that holds incidents (or to none
    # while the rows move between tables).
    for sequence, column in (("incident_id_seq", "id"), ("incident_change_seq", "change_seq")):
        owner = f"{table}.{column}" if table else "NONE"
        op.execute(f"ALTER SEQUENCE {sequence} OWNED BY {owner}")


def _indexes() -> None:
    for name, definition in INDEXES:
        op.execute(f"CREATE INDEX {name} ON incident {definition}")


def upgrade() -> None:
    # The key's constraint keeps its name, on the table of keys.
    op.execute("ALTER TABLE incident DROP CONSTRAINT incident_idempotency_key_key")
    op.execute(
        "CREATE TABLE incident_key (id bigint PRIMARY KEY, idempotency_key varchar(128), "
        "reported_at timestamptz NOT NULL, "
        "CONSTRAINT incident_idempotency_key_key UNIQUE (idempotency_key))"
    )
    op.execute(
        "INSERT INTO incident_key (id, idempotency_key, reported_at) "
        "SELECT id, idempotency_key, reported_at FROM incident"
    )
    for name, table in CHILDREN:
        op.execute(
            f"ALTER TABLE {table} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} FOREIGN KEY "
            "(incident_id) REFERENCES incident_key (id) ON DELETE CASCADE"
        )
    op.execute("ALTER TABLE incident DROP CONSTRAINT incident_merged_into_fkey")

    # The rows wait in the old table while the partitioned one is built under its name.
    op.execute("ALTER TABLE incident RENAME TO incident_flat")
    _own_sequences(None)
    op.execute("DROP TRIGGER incident_changed ON incident_flat")
    op.execute("DROP TRIGGER incident_bump_tiles ON incident_flat")
    op.execute("ALTER TABLE incident_flat DROP CONSTRAINT incident_pkey")
    for name, _ in INDEXES:
        op.execute(f"DROP INDEX {name}")

    op.execute(
        "CREATE TABLE incident (LIKE incident_flat INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
        "PARTITION BY RANGE (reported_at)"
    )
    _own_sequences("incident")
    op.execute("ALTER TABLE incident ADD CONSTRAINT incident_pkey PRIMARY KEY (id, reported_at)")
    op.execute(
        "ALTER TABLE incident ADD CONSTRAINT incident_merged_into_fkey FOREIGN KEY (merged_into) "
        "REFERENCES incident_key (id) ON DELETE SET NULL"
    )
    _indexes()
    op.execute("CREATE TABLE incident_default PARTITION OF incident DEFAULT")
    op.execute(MONTH)
    op.execute(KEYS)
    # Every month that has rows, and this month and the next two.
    op.execute(
        "SELECT gridmap_incident_month(m) FROM ("
        "SELECT DISTINCT (reported_at AT TIME ZONE 'Asia/Shanghai')::date AS m FROM incident_flat "
        "UNION SELECT ((now() AT TIME ZONE 'Asia/Shanghai')::date + n * interval '1 month')::date "
        "FROM generate_series(0, 2) AS n) AS months ORDER BY m"
    )
    op.execute("INSERT INTO incident SELECT * FROM incident_flat")
    op.execute("DROP TABLE incident_flat")
    op.execute(CHANGED)
    op.execute(BUMP)
    op.execute(
        "CREATE TABLE incident_archive (month date PRIMARY KEY, path text NOT NULL, "
        "rows bigint NOT NULL, archived_at timestamptz NOT NULL DEFAULT now())"
    )
    op.execute(
        "CREATE TRIGGER incident_key_insert BEFORE INSERT ON incident "
        "FOR EACH ROW EXECUTE FUNCTION gridmap_incident_key_insert()"
    )
    op.execute(
        "CREATE TRIGGER incident_key_delete AFTER DELETE ON incident "
        "FOR EACH ROW EXECUTE FUNCTION gridmap_incident_key_delete()"
    )


def downgrade() -> None:
    # An archived month has keys (and events) but no rows here: restore it first.
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT FROM incident_key k WHERE NOT EXISTS "
        "(SELECT FROM incident i WHERE i.id = k.id)) THEN RAISE EXCEPTION "
        "'incidents of archived months: restore them (gridmap incidents partitions restore) "
        "before going back to one incident table'; END IF; END $$"
    )
    op.execute("DROP TABLE incident_archive")
    op.execute("DROP TRIGGER incident_key_insert ON incident")
    op.execute("DROP TRIGGER incident_key_delete ON incident")
    op.execute(
        "CREATE TABLE incident_flat (LIKE incident INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    op.execute("INSERT INTO incident_flat SELECT * FROM incident")
    _own_sequences(None)
    for name, table in CHILDREN:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    op.execute("DROP TABLE incident CASCADE")
    op.execute("DROP FUNCTION gridmap_incident_month(date)")
    op.execute("DROP FUNCTION gridmap_incident_key_insert()")
    op.execute("DROP FUNCTION gridmap_incident_key_delete()")
    op.execute("ALTER TABLE incident_flat RENAME TO incident")
    _own_sequences("incident")
    op.execute("DROP TABLE incident_key")
    op.execute("ALTER TABLE incident ADD CONSTRAINT incident_pkey PRIMARY KEY (id)")
    op.execute(
        "ALTER TABLE incident ADD CONSTRAINT incident_idempotency_key_key UNIQUE (idempotency_key)"
    )
    op.execute(
        "ALTER TABLE incident ADD CONSTRAINT incident_merged_into_fkey FOREIGN KEY (merged_into) "
        "REFERENCES incident (id) ON DELETE SET NULL"
    )
    _indexes()
    for name, table in CHILDREN:
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (incident_id) "
            "REFERENCES incident (id) ON DELETE CASCADE"
        )
    op.execute(CHANGED)
    op.execute(BUMP)
