"""the organisation on the map: Party organisations, members, resident units, posts; grid teams'
N: teams and terms; the three lists run by the people they name; branch secretaries' tokens

``party_org`` holds a community's big Party committee (社区大党委), its grid branches (网格党支部,
linked to their grids) and building or yard groups (楼栋(院落)党小组, linked to their buildings);
designated households (党员中心户) belong to a group. ``party_member`` holds members, in-service
members registered with a community (双报到) among them, with the hours they served;
``resident_unit`` the resident units (驻区单位), members of the big committee when linked to it;
``party_post`` the posts members claim (设岗定责). A list item now says how it came in, whom the
branch assigned it to (支部派单), which member took it on (党员接单), its completion report and
hours, and a project's sheet (服务内容, 服务标准, 时限, 责任单位, 责任人); a wish (微心愿) is a small
need. ``public_submission`` keeps a keyed hash of each public form's client, to limit how many
needs one client sends in an hour. A token may be issued to a Party organisation (role
``branch``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from geoalchemy2 import Geometry

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORG_KINDS = ("committee", "branch", "group")
UNIT_KINDS = (
    "government",
    "institution",
    "enterprise",
    "school",
    "hospital",
    "social_org",
    "other",
)
LIST_SOURCES = ("public", "worker", "office", "member", "import")
LIST_ASSIGNEES = ("member", "unit", "team")
OLD_STAFF_ROLES = ("leader", "worker", "guide", "police", "mediator", "safety", "volunteer")
STAFF_ROLES = (*OLD_STAFF_ROLES[:6], "vanguard", "volunteer")
OLD_LIST_STATUSES = ("open", "matched", "in_progress", "done", "closed")
LIST_STATUSES = ("open", "assigned", "matched", "in_progress", "done", "closed")
OLD_TOKEN_ROLES = ("admin", "district", "street", "community", "worker", "department", "viewer")
TOKEN_ROLES = (*OLD_TOKEN_ROLES[:6], "branch", "viewer")
OLD_HOLDER_KINDS = ("office", "staff", "party_member", "department")
HOLDER_KINDS = ("office", "staff", "party_member", "party_org", "department")
PHONE = r"^[0-9+ -]{5,20}$"
REGION = "'^[0-9]{6}([0-9]{3}([0-9]{3}([0-9]{2,3})?)?)?$'"
OLD_HOLDER_MATCHES = (
    "(holder_kind = 'office' AND person_id IS NULL AND department_code IS NULL AND "
    "((role = 'admin' AND region_code IS NULL) OR "
    f"(role <> 'admin' AND region_code ~ {REGION}))"
    ") OR "
    "(holder_kind = 'staff' AND role = 'worker' AND person_id IS NOT NULL "
    "AND department_code IS NULL AND region_code IS NULL) OR "
    "(holder_kind = 'party_member' AND role = 'viewer' AND person_id IS NOT NULL "
    "AND department_code IS NULL AND region_code IS NULL) OR "
    "(holder_kind = 'department' AND role = 'department' AND person_id IS NULL "
    "AND department_code IS NOT NULL AND region_code IS NULL)"
)
HOLDER_MATCHES = (
    "(holder_kind = 'office' AND person_id IS NULL AND department_code IS NULL "
    "AND org_id IS NULL AND "
    "((role = 'admin' AND region_code IS NULL) OR "
    "(role <> 'admin' AND role <> 'branch' AND "
    f"region_code ~ {REGION}))"
    ") OR "
    "(holder_kind = 'staff' AND role = 'worker' AND person_id IS NOT NULL "
    "AND department_code IS NULL AND region_code IS NULL AND org_id IS NULL) OR "
    "(holder_kind = 'party_member' AND role = 'viewer' AND person_id IS NOT NULL "
    "AND department_code IS NULL AND region_code IS NULL AND org_id IS NULL) OR "
    "(holder_kind = 'party_org' AND role = 'branch' AND org_id IS NOT NULL "
    "AND person_id IS NULL AND department_code IS NULL AND region_code IS NULL) OR "
    "(holder_kind = 'department' AND role = 'department' AND person_id IS NULL "
    "AND department_code IS NOT NULL AND region_code IS NULL AND org_id IS NULL)"
)


def _in(column: str, words: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(w) for w in words)})"


def _recheck(table: str, name: str, condition: str) -> None:
    op.drop_constraint(name, table, type_="check")
    op.create_check_constraint(name, table, condition)


def upgrade() -> None:
    op.create_table(
        "party_org",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("community_code", sa.String(length=12), nullable=False),
        sa.Column("secretary_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(_in("kind", ORG_KINDS), name="party_org_kind_known"),
        sa.CheckConstraint("length(btrim(name)) > 0", name="party_org_name_not_blank"),
        sa.CheckConstraint("(kind = 'committee') = (parent_id IS NULL)", name="party_org_parent"),
        sa.CheckConstraint("code ~ '^[A-Za-z][0-9A-Za-z-]{1,31}$'", name="party_org_code_format"),
        sa.ForeignKeyConstraint(["parent_id"], ["party_org.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["community_code"], ["region.code"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["secretary_id"], ["person.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("party_org_parent_idx", "party_org", ["parent_id"])
    op.create_index("party_org_community_idx", "party_org", ["community_code"])
    op.create_table(
        "party_org_grid",
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.CheckConstraint("grid_code ~ '^[0-9]{14,15}$'", name="party_org_grid_code_format"),
        sa.ForeignKeyConstraint(["org_id"], ["party_org.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("org_id", "grid_code"),
        sa.UniqueConstraint("grid_code"),
    )
    op.create_table(
        "party_org_building",
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["party_org.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["building_id"], ["building.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("org_id", "building_id"),
        sa.UniqueConstraint("building_id"),
    )
    op.create_table(
        "resident_unit",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("community_code", sa.String(length=12), nullable=True),
        sa.Column("committee_id", sa.BigInteger(), nullable=True),
        sa.Column("joined_at", sa.Date(), nullable=True),
        sa.Column("contact_name", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.String(length=20), nullable=True),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.CheckConstraint(_in("kind", UNIT_KINDS), name="resident_unit_kind_known"),
        sa.CheckConstraint("length(btrim(name)) > 0", name="resident_unit_name_not_blank"),
        sa.CheckConstraint(
            "code ~ '^[A-Za-z][0-9A-Za-z-]{1,31}$'", name="resident_unit_code_format"
        ),
        sa.CheckConstraint(
            f"contact_phone IS NULL OR contact_phone ~ '{PHONE}'", name="resident_unit_phone"
        ),
        sa.ForeignKeyConstraint(["committee_id"], ["party_org.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("resident_unit_geom_gist", "resident_unit", ["geom"], postgresql_using="gist")
    op.create_index("resident_unit_grid_idx", "resident_unit", ["grid_code"])
    op.create_index("resident_unit_community_idx", "resident_unit", ["community_code"])
    op.create_table(
        "party_member",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=True),
        sa.Column("in_service", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("employer", sa.Text(), nullable=True),
        sa.Column("employer_unit_id", sa.BigInteger(), nullable=True),
        sa.Column("registered_community", sa.String(length=12), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("household_id", sa.BigInteger(), nullable=True),
        sa.Column("hours_served", sa.Numeric(8, 1), server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("hours_served >= 0", name="party_member_hours_nonneg"),
        sa.CheckConstraint(
            "(registered_community IS NULL) = (registered_at IS NULL)",
            name="party_member_registered_when",
        ),
        sa.CheckConstraint(
            "org_id IS NOT NULL OR registered_community IS NOT NULL", name="party_member_belongs"
        ),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["org_id"], ["party_org.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["employer_unit_id"], ["resident_unit.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["registered_community"], ["region.code"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id"),
    )
    op.create_index("party_member_org_idx", "party_member", ["org_id"])
    op.create_index("party_member_registered_idx", "party_member", ["registered_community"])
    op.create_index(op.f("ix_party_member_household_id"), "party_member", ["household_id"])
    op.create_table(
        "party_post",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("duty", sa.Text(), nullable=True),
        sa.Column("community_code", sa.String(length=12), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("org_id", sa.BigInteger(), nullable=True),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hours", sa.Numeric(8, 1), server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("length(btrim(title)) > 0", name="party_post_title_not_blank"),
        sa.CheckConstraint("code ~ '^[A-Za-z][0-9A-Za-z-]{1,31}$'", name="party_post_code_format"),
        sa.CheckConstraint(
            "(member_id IS NULL) = (claimed_at IS NULL)", name="party_post_claimed_when"
        ),
        sa.ForeignKeyConstraint(["community_code"], ["region.code"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["org_id"], ["party_org.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["member_id"], ["party_member.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("party_post_community_idx", "party_post", ["community_code"])
    op.create_table(
        "public_submission",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("public_submission_client_at_idx", "public_submission", ["client", "at"])

    op.add_column("household", sa.Column("group_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        "household_group_id_fkey",
        "household",
        "party_org",
        ["group_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_household_group_id"), "household", ["group_id"])

    op.add_column("grid_staff", sa.Column("team", sa.Text(), nullable=True))
    op.add_column("grid_staff", sa.Column("since", sa.Date(), nullable=True))
    _recheck("grid_staff", "grid_staff_role_known", _in("role", STAFF_ROLES))

    for column in (
        sa.Column("wish", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=True),
        sa.Column("org_id", sa.BigInteger(), nullable=True),
        sa.Column("unit_id", sa.BigInteger(), nullable=True),
        sa.Column("assignee_kind", sa.String(length=16), nullable=True),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        sa.Column("assigned_by", sa.Text(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("taken_by", sa.Text(), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("hours", sa.Numeric(6, 1), nullable=True),
        sa.Column("service_content", sa.Text(), nullable=True),
        sa.Column("service_standard", sa.Text(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("responsible_unit", sa.Text(), nullable=True),
        sa.Column("responsible_person", sa.Text(), nullable=True),
    ):
        op.add_column("list_item", column)
    op.create_foreign_key(
        "list_item_org_id_fkey", "list_item", "party_org", ["org_id"], ["id"], ondelete="SET NULL"
    )
    op.create_foreign_key(
        "list_item_unit_id_fkey",
        "list_item",
        "resident_unit",
        ["unit_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_foreign_key(
        "list_item_member_id_fkey",
        "list_item",
        "party_member",
        ["member_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.create_index("list_item_member_idx", "list_item", ["member_id"])
    _recheck("list_item", "list_item_status_known", _in("status", LIST_STATUSES))
    op.create_check_constraint(
        "list_item_source_known", "list_item", f"source IS NULL OR {_in('source', LIST_SOURCES)}"
    )
    op.create_check_constraint(
        "list_item_assignee_kind_known",
        "list_item",
        f"assignee_kind IS NULL OR {_in('assignee_kind', LIST_ASSIGNEES)}",
    )
    op.create_check_constraint(
        "list_item_hours", "list_item", "hours IS NULL OR hours BETWEEN 0 AND 1000"
    )
    op.create_check_constraint("list_item_wish_is_need", "list_item", "NOT wish OR list = 'need'")

    op.add_column("api_token", sa.Column("org_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        "api_token_org_id_fkey", "api_token", "party_org", ["org_id"], ["id"], ondelete="RESTRICT"
    )
    _recheck("api_token", "api_token_role_known", _in("role", TOKEN_ROLES))
    _recheck("api_token", "api_token_holder_kind_known", _in("holder_kind", HOLDER_KINDS))
    _recheck("api_token", "api_token_holder_matches", HOLDER_MATCHES)


def downgrade() -> None:
    # What the older schema cannot hold goes: organisations' tokens, the assigned state (back to
    # open), the vanguard post (a volunteer), and everything of the organisation.
    op.execute("DELETE FROM api_token WHERE holder_kind = 'party_org'")
    _recheck("api_token", "api_token_holder_matches", OLD_HOLDER_MATCHES)
    _recheck("api_token", "api_token_holder_kind_known", _in("holder_kind", OLD_HOLDER_KINDS))
    _recheck("api_token", "api_token_role_known", _in("role", OLD_TOKEN_ROLES))
    op.drop_constraint("api_token_org_id_fkey", "api_token", type_="foreignkey")
    op.drop_column("api_token", "org_id")

    op.execute("UPDATE list_item SET status = 'open' WHERE status = 'assigned'")
    for name in (
        "list_item_wish_is_need",
        "list_item_hours",
        "list_item_assignee_kind_known",
        "list_item_source_known",
    ):
        op.drop_constraint(name, "list_item", type_="check")
    _recheck("list_item", "list_item_status_known", _in("status", OLD_LIST_STATUSES))
    op.drop_index("list_item_member_idx", table_name="list_item")
    for fk in ("list_item_member_id_fkey", "list_item_unit_id_fkey", "list_item_org_id_fkey"):
        op.drop_constraint(fk, "list_item", type_="foreignkey")
    for name in (
        "responsible_person",
        "responsible_unit",
        "due_date",
        "service_standard",
        "service_content",
        "hours",
        "report",
        "done_at",
        "taken_at",
        "taken_by",
        "assigned_at",
        "assigned_by",
        "member_id",
        "assignee_kind",
        "unit_id",
        "org_id",
        "source",
        "wish",
    ):
        op.drop_column("list_item", name)

    # A vanguard already a volunteer in the same grid keeps that one post.
    op.execute(
        "DELETE FROM grid_staff v USING grid_staff o WHERE v.role = 'vanguard' "
        "AND o.role = 'volunteer' AND o.grid_code = v.grid_code AND o.person_id = v.person_id"
    )
    op.execute("UPDATE grid_staff SET role = 'volunteer' WHERE role = 'vanguard'")
    _recheck("grid_staff", "grid_staff_role_known", _in("role", OLD_STAFF_ROLES))
    op.drop_column("grid_staff", "since")
    op.drop_column("grid_staff", "team")

    op.drop_index(op.f("ix_household_group_id"), table_name="household")
    op.drop_constraint("household_group_id_fkey", "household", type_="foreignkey")
    op.drop_column("household", "group_id")

    op.drop_table("public_submission")
    op.drop_table("party_post")
    op.drop_table("party_member")
    op.drop_table("resident_unit")
    op.drop_table("party_org_building")
    op.drop_table("party_org_grid")
    op.drop_table("party_org")
