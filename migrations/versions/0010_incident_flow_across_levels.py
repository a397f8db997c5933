"""the incident flow across levels: street pool and district dispatch, sub-tasks, approvals,
departments by kind and the whistle list, department tokens in a role of their own

Incidents already stored are carried into the new flow: an accepted one waits in its district's
dispatch queue; one dispatched, in hand, extended or returned for rework is handled through a
sub-task to whom it was dispatched (its grid's team when no one was named); an extension or a
parking it had is recorded as approved. Its times, score, rework count and events stay as they
were, so every figure of the history is the same before and after.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = (
    "reported",
    "pooled",
    "queued",
    "dispatched",
    "handling",
    "resolved",
    "closed",
    "evaluated",
    "cancelled",
    "parked",
)
STATES_0005 = (
    "reported",
    "accepted",
    "cancelled",
    "dispatched",
    "handling",
    "resolved",
    "closed",
    "returned",
    "evaluated",
    "extended",
    "parked",
)
MODES = ("claim", "dispatch", "auto", "team", "split", "joint", "escalate")
MODES_0005 = ("team", "claim", "split", "joint", "escalate")

HOLDER_CHECK = (
    "(holder_kind = 'office' AND person_id IS NULL AND department_code IS NULL AND "
    "((role = 'admin' AND region_code IS NULL) OR "
    "(role <> 'admin' AND region_code ~ '^[0-9]{6}([0-9]{3}([0-9]{3}([0-9]{2,3})?)?)?$'))"
    ") OR "
    "(holder_kind = 'staff' AND role = 'worker' AND person_id IS NOT NULL "
    "AND department_code IS NULL AND region_code IS NULL) OR "
    "(holder_kind = 'party_member' AND role = 'viewer' AND person_id IS NOT NULL "
    "AND department_code IS NULL AND region_code IS NULL) OR "
    "(holder_kind = 'department' AND role = 'DEPARTMENT_ROLE' AND person_id IS NULL "
    "AND department_code IS NOT NULL AND region_code IS NULL)"
)
ROLES = ("admin", "district", "street", "community", "worker", "department", "viewer")
ROLES_0008 = ("admin", "district", "street", "community", "worker", "viewer")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# Every insert and update of an incident takes the next number of one sequence: the board's
# "has anything changed since N" is one index probe.
CHANGED = """
CREATE FUNCTION gridmap_incident_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_seq := nextval('incident_change_seq');
    RETURN NEW;
END
$$;
CREATE TRIGGER incident_changed BEFORE UPDATE ON incident
    FOR EACH ROW EXECUTE FUNCTION gridmap_incident_changed();
"""

# Who dispatched an incident of the first loop handles it now: each assignee it was dispatched
# to becomes a sub-task (a grid team by its code, a department by its code or name, anyone else
# by the words it was given), or its grid's team (else its community) when none was named.
CARRY_TASKS = """
WITH carried AS (
    SELECT i.id, i.status, i.grid_code, i.community_code, i.due_at, i.returned_count,
           coalesce(i.dispatched_at, i.reported_at) AS since, i.closed_at,
           CASE WHEN jsonb_typeof(i.assignees) = 'array' AND jsonb_array_length(i.assignees) > 0
                THEN i.assignees
                WHEN i.grid_code IS NOT NULL THEN jsonb_build_array('grid ' || i.grid_code || ' team')
                WHEN i.community_code IS NOT NULL THEN jsonb_build_array('community ' || i.community_code)
                ELSE jsonb_build_array('—') END AS named
    FROM incident i
    WHERE i.status IN ('dispatched', 'handling', 'extended', 'returned', 'resolved', 'closed',
                       'evaluated')
       OR (i.status = 'parked' AND i.dispatched_at IS NOT NULL)
), assignee AS (
    SELECT c.*, a.value AS said,
           substring(a.value FROM '^grid ([0-9]{14,15}) team$') AS grid,
           substring(a.value FROM '^community ([0-9]{12})$') AS community,
           (SELECT d.code FROM department d WHERE d.code = a.value OR d.name = a.value
            ORDER BY d.code = a.value DESC, d.code LIMIT 1) AS department
    FROM carried c, jsonb_array_elements_text(c.named) a
), answered AS (
    SELECT DISTINCT ON (e.incident_id) e.incident_id, e.at, e.note, e.actor
    FROM incident_event e WHERE e.to_status = 'resolved'
    ORDER BY e.incident_id, e.seq DESC
)
INSERT INTO incident_task (incident_id, kind, assignee_kind, assignee_code, assignee_name, state,
                           created_at, created_by, due_at, reported_in_at, answered_at,
                           answered_by, feedback, returned_count)
SELECT a.id,
       CASE WHEN a.department IS NOT NULL THEN 'whistle' ELSE 'split' END,
       CASE WHEN a.grid IS NOT NULL THEN 'grid' WHEN a.community IS NOT NULL THEN 'community'
            WHEN a.department IS NOT NULL THEN 'department' ELSE 'other' END,
       coalesce(a.grid, a.community, a.department),
       coalesce((SELECT g.name FROM grid g WHERE g.code = a.grid AND g.valid_to IS NULL LIMIT 1),
                (SELECT r.name FROM region r WHERE r.code = a.community),
                (SELECT d.name FROM department d WHERE d.code = a.department),
                a.said),
       CASE WHEN a.status = 'dispatched' THEN 'assigned'
            WHEN a.status IN ('resolved', 'closed', 'evaluated') THEN 'answered'
            ELSE 'working' END,
       a.since, 'migration 0010', a.due_at,
       CASE WHEN a.status <> 'dispatched' THEN a.since END,
       CASE WHEN a.status IN ('resolved', 'closed', 'evaluated')
            THEN coalesce(r.at, a.closed_at, a.since) END,
       CASE WHEN a.status IN ('resolved', 'closed', 'evaluated') THEN r.actor END,
       CASE WHEN a.status IN ('resolved', 'closed', 'evaluated') THEN r.note END,
       a.returned_count
FROM assignee a LEFT JOIN answered r ON r.incident_id = a.id
ORDER BY a.id
"""

# An extension a worker gave itself, or a parking, of the first loop: approved, as it stood.
CARRY_APPROVALS = """
INSERT INTO approval (incident_id, kind, reason, requested_by, requested_at, decider_code,
                      decision, decided_by, decided_at)
SELECT i.id, CASE i.status WHEN 'extended' THEN 'extend' ELSE 'park' END,
       coalesce(nullif(btrim(e.note), ''), CASE i.status WHEN 'extended' THEN '延期' ELSE '挂账' END),
       coalesce(e.actor, 'unknown'), coalesce(e.at, i.reported_at),
       CASE WHEN length(i.street_code) = 9 THEN left(i.street_code, 6) END,
       'approved', 'migration 0010', coalesce(e.at, i.reported_at)
FROM incident i
LEFT JOIN LATERAL (SELECT e.note, e.actor, e.at FROM incident_event e
                   WHERE e.incident_id = i.id AND e.to_status = i.status
                   ORDER BY e.seq DESC LIMIT 1) e ON true
WHERE i.status IN ('extended', 'parked')
"""

CARRY_INCIDENTS = """
UPDATE incident i SET
    parked_from = CASE WHEN i.status = 'parked'
                       THEN CASE WHEN i.dispatched_at IS NOT NULL THEN 'handling' ELSE 'queued' END
                  END,
    parked_at = CASE WHEN i.status = 'parked' THEN
                     (SELECT max(e.at) FROM incident_event e
                      WHERE e.incident_id = i.id AND e.to_status = 'parked') END,
    owner_code = CASE
        WHEN i.status = 'reported' OR i.street_code IS NULL THEN NULL
        WHEN i.status = 'accepted' OR i.dispatch_mode = 'escalate'
             OR (i.status IN ('parked', 'cancelled') AND i.dispatched_at IS NULL)
            THEN left(i.street_code, 6)
        ELSE i.street_code END,
    status = CASE i.status WHEN 'accepted' THEN 'queued' WHEN 'dispatched' THEN 'handling'
                           WHEN 'extended' THEN 'handling' WHEN 'returned' THEN 'handling'
                           ELSE i.status END
"""

# Back to the first loop: the states it knew, and to whom each incident went.
UNDO_INCIDENTS = """
UPDATE incident i SET
    assignees = CASE WHEN jsonb_array_length(i.assignees) > 0 THEN i.assignees
                     ELSE coalesce((SELECT jsonb_agg(CASE t.assignee_kind
                                        WHEN 'grid' THEN 'grid ' || t.assignee_code || ' team'
                                        WHEN 'department' THEN t.assignee_code
                                        ELSE t.assignee_name END ORDER BY t.id)
                                    FROM incident_task t
                                    WHERE t.incident_id = i.id AND t.state <> 'withdrawn'),
                                   '[]'::jsonb) END,
    dispatch_mode = CASE WHEN i.dispatch_mode IN ('dispatch', 'auto') THEN 'team'
                         ELSE i.dispatch_mode END,
    status = CASE
        WHEN i.status IN ('pooled', 'queued') THEN 'accepted'
        WHEN i.status = 'handling' AND NOT EXISTS (
            SELECT 1 FROM incident_task t WHERE t.incident_id = i.id AND t.state <> 'assigned')
            THEN 'dispatched'
        ELSE i.status END
"""


def upgrade() -> None:
    # Departments by kind; department tokens act in a role of their own.
    op.add_column("department", sa.Column("kind", sa.Text(), nullable=True))
    op.execute("UPDATE department SET kind = name")
    op.alter_column("department", "kind", nullable=False)
    op.add_column(
        "department",
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    op.create_check_constraint("department_kind_not_blank", "department", "length(btrim(kind)) > 0")
    op.drop_constraint("api_token_role_known", "api_token", type_="check")
    op.drop_constraint("api_token_holder_matches", "api_token", type_="check")
    op.execute("UPDATE api_token SET role = 'department' WHERE holder_kind = 'department'")
    op.create_check_constraint("api_token_role_known", "api_token", _in("role", ROLES))
    op.create_check_constraint(
        "api_token_holder_matches",
        "api_token",
        HOLDER_CHECK.replace("DEPARTMENT_ROLE", "department"),
    )

    # The whistle list (吹哨清单): classes and items.
    op.create_table(
        "whistle_class",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.CheckConstraint("length(btrim(name)) > 0", name="whistle_class_name"),
        sa.PrimaryKeyConstraint("code"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "whistle_item",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("class_code", sa.String(length=16), nullable=False),
        sa.Column("matter", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("lead_kind", sa.Text(), nullable=False),
        sa.Column(
            "partner_kinds",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("report_hours", sa.Integer(), nullable=False),
        sa.Column("answer_hours", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.CheckConstraint("length(btrim(matter)) > 0", name="whistle_item_matter"),
        sa.CheckConstraint("length(btrim(lead_kind)) > 0", name="whistle_item_lead"),
        sa.CheckConstraint("report_hours BETWEEN 1 AND 8760", name="whistle_item_report_hours"),
        sa.CheckConstraint("answer_hours BETWEEN 1 AND 8760", name="whistle_item_answer_hours"),
        sa.CheckConstraint("report_hours <= answer_hours", name="whistle_item_report_first"),
        sa.ForeignKeyConstraint(
            ["class_code"], ["whistle_class.code"], ondelete="RESTRICT", onupdate="CASCADE"
        ),
        sa.ForeignKeyConstraint(["category"], ["incident_category.code"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("whistle_item_category_idx", "whistle_item", ["category"])

    # Sub-tasks, approvals, and the incident's owner, pool window, parking and change number.
    op.create_table(
        "incident_task",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("assignee_kind", sa.String(length=12), nullable=False),
        sa.Column("assignee_code", sa.String(length=32), nullable=True),
        sa.Column("assignee_name", sa.Text(), nullable=False),
        sa.Column("whistle_item_id", sa.BigInteger(), nullable=True),
        sa.Column("suggested", sa.Boolean(), nullable=True),
        sa.Column("state", sa.String(length=12), server_default="assigned", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("report_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.Text(), nullable=True),
        sa.Column("answered_by_person", sa.BigInteger(), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column(
            "photos",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("returned_count", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("kind IN ('split', 'whistle')", name="incident_task_kind_known"),
        sa.CheckConstraint(
            "assignee_kind IN ('grid', 'community', 'department', 'other')",
            name="incident_task_assignee_known",
        ),
        sa.CheckConstraint(
            "state IN ('assigned', 'working', 'answered', 'withdrawn')",
            name="incident_task_state_known",
        ),
        sa.CheckConstraint(
            "(assignee_kind = 'department') = (kind = 'whistle') OR assignee_kind = 'other'",
            name="incident_task_kind_matches_assignee",
        ),
        sa.CheckConstraint(
            "assignee_kind = 'other' OR assignee_code IS NOT NULL",
            name="incident_task_assignee_code",
        ),
        sa.CheckConstraint("length(btrim(assignee_name)) > 0", name="incident_task_name_not_blank"),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["whistle_item_id"], ["whistle_item.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["answered_by_person"], ["person.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_incident_task_incident_id", "incident_task", ["incident_id"])
    op.create_index(
        "incident_task_open_idx",
        "incident_task",
        ["assignee_kind", "assignee_code"],
        postgresql_where=sa.text("state IN ('assigned', 'working')"),
    )
    op.create_table(
        "approval",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column(
            "requested_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("decider_code", sa.String(length=12), nullable=True),
        sa.Column("decision", sa.String(length=8), server_default="pending", nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('extend', 'park')", name="approval_kind_known"),
        sa.CheckConstraint(
            "decision IN ('pending', 'approved', 'refused')", name="approval_decision_known"
        ),
        sa.CheckConstraint(
            "(kind = 'extend') = (hours IS NOT NULL) OR decided_by = 'migration 0010'",
            name="approval_hours_for_extend",
        ),
        sa.CheckConstraint(
            "hours IS NULL OR hours BETWEEN 1 AND 8760", name="approval_hours_range"
        ),
        sa.CheckConstraint("length(btrim(reason)) > 0", name="approval_reason_not_blank"),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["incident_task.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_approval_incident_id", "approval", ["incident_id"])
    op.create_index(
        "approval_one_pending",
        "approval",
        ["incident_id", "kind", sa.text("coalesce(task_id, 0)")],
        unique=True,
        postgresql_where=sa.text("decision = 'pending'"),
    )
    op.create_index(
        "approval_decider_idx",
        "approval",
        ["decider_code"],
        postgresql_where=sa.text("decision = 'pending'"),
    )
    op.add_column("incident_event", sa.Column("task_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        "incident_event_task_id_fkey",
        "incident_event",
        "incident_task",
        ["task_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index("ix_incident_event_task_id", "incident_event", ["task_id"])

    op.add_column("incident", sa.Column("owner_code", sa.String(length=12), nullable=True))
    op.add_column("incident", sa.Column("pool_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("incident", sa.Column("parked_from", sa.String(length=16), nullable=True))
    op.add_column("incident", sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("CREATE SEQUENCE incident_change_seq")
    op.add_column(
        "incident",
        sa.Column(
            "change_seq",
            sa.BigInteger(),
            server_default=sa.text("nextval('incident_change_seq')"),
            nullable=False,
        ),
    )
    op.execute("ALTER SEQUENCE incident_change_seq OWNED BY incident.change_seq")

    op.drop_constraint("incident_status_known", "incident", type_="check")
    op.drop_constraint("incident_dispatch_mode_known", "incident", type_="check")
    op.execute(CARRY_TASKS)
    op.execute(CARRY_APPROVALS)
    op.execute(CARRY_INCIDENTS)
    op.create_check_constraint("incident_status_known", "incident", _in("status", STATES))
    op.create_check_constraint(
        "incident_dispatch_mode_known",
        "incident",
        f"dispatch_mode IS NULL OR {_in('dispatch_mode', MODES)}",
    )
    op.create_index("incident_owner_idx", "incident", ["owner_code", "status"])
    op.create_index("incident_change_seq_idx", "incident", ["change_seq"])
    op.create_index(
        "incident_pool_until_idx",
        "incident",
        ["pool_until"],
        postgresql_where=sa.text("status = 'pooled'"),
    )
    op.execute(CHANGED)


def downgrade() -> None:
    op.execute("DROP TRIGGER incident_changed ON incident")
    op.execute("DROP FUNCTION gridmap_incident_changed()")
    op.drop_constraint("incident_status_known", "incident", type_="check")
    op.drop_constraint("incident_dispatch_mode_known", "incident", type_="check")
    op.execute(UNDO_INCIDENTS)
    op.create_check_constraint("incident_status_known", "incident", _in("status", STATES_0005))
    op.create_check_constraint(
        "incident_dispatch_mode_known",
        "incident",
        f"dispatch_mode IS NULL OR {_in('dispatch_mode', MODES_0005)}",
    )
    op.drop_index("incident_pool_until_idx", table_name="incident")
    op.drop_index("incident_change_seq_idx", table_name="incident")
    op.drop_index("incident_owner_idx", table_name="incident")
    for column in ("change_seq", "parked_at", "parked_from", "pool_until", "owner_code"):
        op.drop_column("incident", column)
    op.drop_index("ix_incident_event_task_id", table_name="incident_event")
    op.drop_constraint("incident_event_task_id_fkey", "incident_event", type_="foreignkey")
    op.drop_column("incident_event", "task_id")
    op.drop_table("approval")
    op.drop_table("incident_task")
    op.drop_table("whistle_item")
    op.drop_table("whistle_class")
    op.drop_constraint("api_token_holder_matches", "api_token", type_="check")
    op.drop_constraint("api_token_role_known", "api_token", type_="check")
    op.execute("UPDATE api_token SET role = 'viewer' WHERE holder_kind = 'department'")
    op.create_check_constraint("api_token_role_known", "api_token", _in("role", ROLES_0008))
    op.create_check_constraint(
        "api_token_holder_matches", "api_token", HOLDER_CHECK.replace("DEPARTMENT_ROLE", "viewer")
    )
    op.drop_constraint("department_kind_not_blank", "department", type_="check")
    op.drop_column("department", "active")
    op.drop_column("department", "kind")
