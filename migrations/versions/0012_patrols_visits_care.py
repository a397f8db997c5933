"""the grid worker's day: patrols and their tracks, street pieces for patrol coverage, care tags
and household visits

A patrol (巡查) is started, uploaded piece by piece and ended from the phone, addressed by a key the
phone chose (so a start sent again after a lost answer is the same patrol); each piece is a line
with each point's time as M. ``street_piece`` holds each current grid's walkable streets cut
short, so coverage is a count of pieces near the day's tracks. Care tags (关爱对象) carry a visit
interval; visits (走访) are idempotent by key like incident reports. Care tags and visit notes are
personal data.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from geoalchemy2 import Geometry

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CARE_TAGS = (
    "hardship",
    "elderly_alone",
    "empty_nest",
    "left_behind_child",
    "disabled",
    "subsistence",
    "serious_illness",
)
VISIT_OUTCOMES = ("met", "not_home", "refused", "moved", "follow_up")


def _in(column: str, words: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(w) for w in words)})"


def upgrade() -> None:
    op.create_table(
        "patrol",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("key", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "grid_codes",
            postgresql.ARRAY(sa.String(length=15)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("points", sa.Integer(), server_default="0", nullable=False),
        sa.Column("length_m", sa.Float(), server_default="0", nullable=False),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at", name="patrol_times_ordered"
        ),
        sa.CheckConstraint("points >= 0 AND length_m >= 0", name="patrol_totals_nonneg"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("patrol_person_started_idx", "patrol", ["person_id", "started_at"])
    op.create_index("patrol_grid_codes_gin", "patrol", ["grid_codes"], postgresql_using="gin")
    op.create_index("patrol_started_idx", "patrol", ["started_at"])

    op.create_table(
        "patrol_piece",
        sa.Column("patrol_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column(
            "geom",
            Geometry("LINESTRINGM", srid=4326, dimension=3, spatial_index=False),
            nullable=False,
        ),
        sa.CheckConstraint("seq >= 0", name="patrol_piece_seq_nonneg"),
        sa.CheckConstraint("points >= 1", name="patrol_piece_points_positive"),
        sa.CheckConstraint("last_at >= first_at", name="patrol_piece_times_ordered"),
        sa.ForeignKeyConstraint(["patrol_id"], ["patrol.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("patrol_id", "seq"),
    )
    op.create_index("patrol_piece_geom_gist", "patrol_piece", ["geom"], postgresql_using="gist")
    op.create_index("patrol_piece_first_at_idx", "patrol_piece", ["first_at"])

    op.create_table(
        "street_piece",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("grid_id", sa.BigInteger(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column("road_edge_id", sa.BigInteger(), nullable=True),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column(
            "geom",
            Geometry("LINESTRING", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.CheckConstraint("length_m > 0", name="street_piece_length_positive"),
        sa.ForeignKeyConstraint(["grid_id"], ["grid.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["road_edge_id"], ["road_edge.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("street_piece_geom_gist", "street_piece", ["geom"], postgresql_using="gist")
    op.create_index("street_piece_grid_idx", "street_piece", ["grid_code"])
    op.create_index(op.f("ix_street_piece_grid_id"), "street_piece", ["grid_id"])

    op.create_table(
        "care_tag",
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("tag", sa.String(length=24), nullable=False),
        sa.Column("interval_days", sa.Integer(), nullable=True),
        sa.Column("since", sa.Date(), server_default=sa.func.current_date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.CheckConstraint(_in("tag", CARE_TAGS), name="care_tag_known"),
        sa.CheckConstraint(
            "interval_days IS NULL OR interval_days BETWEEN 1 AND 366", name="care_tag_interval"
        ),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("household_id", "tag"),
    )

    op.create_table(
        "visit",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(_in("outcome", VISIT_OUTCOMES), name="visit_outcome_known"),
        sa.CheckConstraint("note IS NULL OR length(note) <= 2000", name="visit_note_length"),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    op.create_index("visit_household_at_idx", "visit", ["household_id", "at"])
    op.create_index("visit_grid_at_idx", "visit", ["grid_code", "at"])


def downgrade() -> None:
    op.drop_table("visit")
    op.drop_table("care_tag")
    op.drop_table("street_piece")
    op.drop_table("patrol_piece")
    op.drop_table("patrol")
