"""gridmap.models: the tables of the domain model (SQLAlchemy 2 declarative, GeoAlchemy2 columns).

Alembic's migrations in ``migrations/`` create exactly these tables; a test compares the two.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    column,
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from geoalchemy2 import Geometry

from gridmap.settings import STORAGE_SRID
from gridmap.vocab import codes
from gridmap.vocab.kinds import (
    APPROVAL_KINDS,
    ASSIGNEE_KINDS,
    CALENDAR_KINDS,
    CARE_TAGS,
    CATEGORY_CLASSES,
    CENTER_KINDS,
    DEPARTMENT_LEVELS,
    DISPATCH_MODES,
    EXCLUSIVE_SUBTYPES,
    GRID_KINDS,
    LIST_ASSIGNEES,
    LIST_KINDS,
    LIST_SOURCES,
    ORG_KINDS,
    OWNER_KINDS,
    REGION_LEVELS,
    SEVERITIES,
    TASK_KINDS,
    UNIT_KINDS,
    VISIT_OUTCOMES,
)
from gridmap.vocab.roles import HOLDER_KINDS, STAFF_ROLES, TOKEN_ROLES
from gridmap.vocab.states import (
    APPROVAL_DECISIONS,
    INCIDENT_STATES,
    LIST_STATUSES,
    TASK_OPEN,
    TASK_STATES,
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _geom(kind: str) -> Geometry:
    # spatial_index=False: the GiST indexes are declared below, named as in the migration.
    return Geometry(kind, srid=STORAGE_SRID, spatial_index=False)


class Base(DeclarativeBase):
    """Declarative base of all gridmap tables."""


class Region(Base):
    """District (6-digit code), street (9) or community (12), nested by code and by parent."""

    __tablename__ = "region"
    __table_args__ = (
        CheckConstraint(_in("level", REGION_LEVELS), name="region_level_known"),
        CheckConstraint(
            "(level = 'district' AND code ~ '^[0-9]{6}$') OR "
            "(level = 'street' AND code ~ '^[0-9]{9}$') OR "
            "(level = 'community' AND code ~ '^[0-9]{12}$')",
            name="region_code_matches_level",
        ),
        CheckConstraint(
            "parent_code IS NULL OR left(code, length(parent_code)) = parent_code",
            name="region_code_under_parent",
        ),
        CheckConstraint("geom IS NULL OR ST_IsValid(geom)", name="region_geom_valid"),
        CheckConstraint("length(btrim(name)) > 0", name="region_name_not_blank"),
        Index("region_geom_gist", "geom", postgresql_using="gist"),
        Index("region_parent_idx", "parent_code"),
    )

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    official_name: Mapped[str | None] = mapped_column(Text)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("region.code", ondelete="RESTRICT"))
    geom: Mapped[Any | None] = mapped_column(_geom("MULTIPOLYGON"))
    label_point: Mapped[Any | None] = mapped_column(_geom("POINT"))
    source: Mapped[str | None] = mapped_column(Text)


class Grid(Base):
    """One version of a grid (网格); the current version has ``valid_to`` NULL."""

    __tablename__ = "grid"
    __table_args__ = (
        UniqueConstraint("code", "version", name="grid_code_version_key"),
        CheckConstraint("code ~ '^[0-9]{14,15}$'", name="grid_code_format"),
        CheckConstraint("left(code, 12) = community_code", name="grid_code_in_community"),
        CheckConstraint("version >= 1", name="grid_version_positive"),
        CheckConstraint(_in("kind", GRID_KINDS), name="grid_kind_known"),
        CheckConstraint(
            f"(kind = 'basic' AND subtype IS NULL) OR "
            f"(kind = 'exclusive' AND {_in('subtype', EXCLUSIVE_SUBTYPES)})",
            name="grid_subtype_matches_kind",
        ),
        CheckConstraint("ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name="grid_geom_valid"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="grid_validity_ordered"),
        CheckConstraint("households IS NULL OR households >= 0", name="grid_households_nonneg"),
        Index("grid_geom_gist", "geom", postgresql_using="gist"),
        Index("grid_community_idx", "community_code"),
        Index(
            "grid_current_code_key",
            "code",
            unique=True,
            postgresql_where=column("valid_to").is_(None),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(15))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    community_code: Mapped[str] = mapped_column(ForeignKey("region.code", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), server_default="basic")
    subtype: Mapped[str | None] = mapped_column(String(32))
    households: Mapped[int | None] = mapped_column(Integer)
    geom: Mapped[Any] = mapped_column(_geom("MULTIPOLYGON"))
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    changed_by: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    # What made this version: "created", "edited", "renumbered from …", "imported from …".
    note: Mapped[str | None] = mapped_column(Text)


class GridPiece(Base):
    """A small piece of a grid version (``ST_Subdivide``), kept in step by a trigger for lookups."""

    __tablename__ = "grid_piece"
    __table_args__ = (Index("grid_piece_geom_gist", "geom", postgresql_using="gist"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id", ondelete="CASCADE"), index=True)
    geom: Mapped[Any] = mapped_column(_geom("POLYGON"))


class Person(Base):
    """A person: one row however many grids they serve (personal data: masked unless the
    caller's role and region may see it). ``key`` is how a loaded data set names them."""

    __tablename__ = "person"
    __table_args__ = (
        CheckConstraint("length(btrim(name)) > 0", name="person_name_not_blank"),
        CheckConstraint(f"phone IS NULL OR phone ~ '{codes.PHONE}'", name="person_phone"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(20))
    key: Mapped[str | None] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class GridStaff(Base):
    """A person's post in a grid: leader, worker, guide … (one person may serve several grids)."""

    __tablename__ = "grid_staff"
    __table_args__ = (
        CheckConstraint(_in("role", STAFF_ROLES), name="grid_staff_role_known"),
        CheckConstraint("grid_code ~ '^[0-9]{14,15}$'", name="grid_staff_grid_code_format"),
        UniqueConstraint("grid_code", "role", "person_id", name="grid_staff_unique"),
        Index("grid_staff_person_idx", "person_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(15), index=True)
    role: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    # The N: team a vanguard or volunteer belongs to (党员先锋队, 志愿服务队 …), in words.
    team: Mapped[str | None] = mapped_column(Text)
    # The day the post was taken up (its term).
    since: Mapped[date | None] = mapped_column(Date)


class Building(Base):
    """A building (楼栋) with its standard address; ``grid_code`` is derived from its position."""

    __tablename__ = "building"
    __table_args__ = (
        CheckConstraint("code ~ '^[0-9A-Za-z-]{4,32}$'", name="building_code_format"),
        CheckConstraint("floors IS NULL OR floors BETWEEN 1 AND 200", name="building_floors"),
        CheckConstraint("households >= 0", name="building_households_nonneg"),
        CheckConstraint("ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name="building_geom_valid"),
        Index("building_geom_gist", "geom", postgresql_using="gist"),
        Index("building_grid_idx", "grid_code"),
        Index(
            "building_address_trgm",
            "address",
            postgresql_using="gin",
            postgresql_ops={"address": "gin_trgm_ops"},
        ),
        Index(
            "building_address_key_trgm",
            "address_key",
            postgresql_using="gin",
            postgresql_ops={"address_key": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    address: Mapped[str | None] = mapped_column(Text)
    # gridmap.address.parse(address).key, what fuzzy address search compares.
    address_key: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    use: Mapped[str | None] = mapped_column(String(32))
    floors: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int] = mapped_column(Integer, server_default="0")
    grid_code: Mapped[str | None] = mapped_column(String(15))
    community_code: Mapped[str | None] = mapped_column(String(12))
    osm_id: Mapped[str | None] = mapped_column(String(32))
    geom: Mapped[Any] = mapped_column(_geom("POLYGON"))


class Household(Base):
    """A household (户); ``served_by`` links it to its designated household (党员中心户)."""

    __tablename__ = "household"
    __table_args__ = (
        UniqueConstraint("building_id", "unit", "room", name="household_address_key"),
        CheckConstraint("party_members >= 0", name="household_party_members_nonneg"),
        CheckConstraint("served_by IS NULL OR served_by <> id", name="household_not_self_served"),
        CheckConstraint(
            f"contact_phone IS NULL OR contact_phone ~ '{codes.PHONE}'", name="household_phone"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    building_id: Mapped[int] = mapped_column(
        ForeignKey("building.id", ondelete="CASCADE"), index=True
    )
    unit: Mapped[str] = mapped_column(String(16))
    room: Mapped[str] = mapped_column(String(16))
    designated: Mapped[bool] = mapped_column(Boolean, server_default=false())
    party_members: Mapped[int] = mapped_column(Integer, server_default="0")
    served_by: Mapped[int | None] = mapped_column(
        ForeignKey("household.id", ondelete="SET NULL"), index=True
    )
    contact_name: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    # The building or yard Party group (党小组) a designated household belongs to.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("party_org.id", ondelete="SET NULL"), index=True
    )


class ServiceCenter(Base):
    """A Party–mass service centre, red station or convenience station."""

    __tablename__ = "service_center"
    __table_args__ = (
        CheckConstraint(_in("kind", CENTER_KINDS), name="service_center_kind_known"),
        Index("service_center_geom_gist", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    opening_hours: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    source: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(_geom("POINT"))


class ServiceCircle(Base):
    """The area reachable from a centre within ``minutes``, by network or by plain buffer."""

    __tablename__ = "service_circle"
    __table_args__ = (
        CheckConstraint("minutes BETWEEN 1 AND 120", name="service_circle_minutes"),
        CheckConstraint("method IN ('network', 'buffer')", name="service_circle_method"),
        CheckConstraint("ST_IsValid(geom)", name="service_circle_geom_valid"),
        UniqueConstraint("center_id", "minutes", name="service_circle_center_minutes_key"),
        Index("service_circle_geom_gist", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("service_center.id", ondelete="CASCADE"))
    minutes: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    geom: Mapped[Any] = mapped_column(_geom("MULTIPOLYGON"))


class ListItem(Base):
    """One entry of the three lists (资源清单, 需求清单, 项目清单)."""

    __tablename__ = "list_item"
    __table_args__ = (
        CheckConstraint(_in("list", LIST_KINDS), name="list_item_list_known"),
        CheckConstraint(_in("status", LIST_STATUSES), name="list_item_status_known"),
        CheckConstraint(_in("owner_kind", OWNER_KINDS), name="list_item_owner_kind_known"),
        CheckConstraint(
            f"contact_phone IS NULL OR contact_phone ~ '{codes.PHONE}'", name="list_item_phone"
        ),
        CheckConstraint(
            f"source IS NULL OR {_in('source', LIST_SOURCES)}", name="list_item_source_known"
        ),
        CheckConstraint(
            f"assignee_kind IS NULL OR {_in('assignee_kind', LIST_ASSIGNEES)}",
            name="list_item_assignee_kind_known",
        ),
        CheckConstraint("hours IS NULL OR hours BETWEEN 0 AND 1000", name="list_item_hours"),
        CheckConstraint("NOT wish OR list = 'need'", name="list_item_wish_is_need"),
        Index("list_item_geom_gist", "geom", postgresql_using="gist"),
        Index("list_item_grid_idx", "grid_code"),
        Index("list_item_member_idx", "member_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    list: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    owner_kind: Mapped[str] = mapped_column(String(16))
    owner_name: Mapped[str | None] = mapped_column(Text)
    contact_name: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    need_id: Mapped[int | None] = mapped_column(ForeignKey("list_item.id", ondelete="SET NULL"))
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("list_item.id", ondelete="SET NULL"))
    grid_code: Mapped[str | None] = mapped_column(String(15))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    geom: Mapped[Any] = mapped_column(_geom("POINT"))
    # 微心愿: a need of a small kind that members claim from a list.
    wish: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # How it came in (public form, a worker or office on a resident's behalf, a member, a file).
    source: Mapped[str | None] = mapped_column(String(16))
    # The Party branch of its grid, and a resident unit (whose resource it is, or assigned to).
    org_id: Mapped[int | None] = mapped_column(ForeignKey("party_org.id", ondelete="SET NULL"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("resident_unit.id", ondelete="SET NULL"))
    # 支部派单: to whom (a member, a unit, the grid team), by whom, when; 党员接单: the member
    # who took it on (claimed, or took what was assigned) and when.
    assignee_kind: Mapped[str | None] = mapped_column(String(16))
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("party_member.id", ondelete="RESTRICT")
    )
    assigned_by: Mapped[str | None] = mapped_column(Text)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    taken_by: Mapped[str | None] = mapped_column(Text)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The completion report (personal data: may name people), the hours served, when.
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    report: Mapped[str | None] = mapped_column(Text)
    hours: Mapped[float | None] = mapped_column(Numeric(6, 1, asdecimal=False))
    # The project sheet (项目清单): 服务内容, 服务标准, 时限, 责任单位, 责任人 (personal data).
    service_content: Mapped[str | None] = mapped_column(Text)
    service_standard: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[date | None] = mapped_column(Date)
    responsible_unit: Mapped[str | None] = mapped_column(Text)
    responsible_person: Mapped[str | None] = mapped_column(Text)


class PartyOrg(Base):
    """A Party organisation: a community's big Party committee (社区大党委), a grid branch
    (网格党支部) or a building or yard group (楼栋(院落)党小组); the secretary is personal data."""

    __tablename__ = "party_org"
    __table_args__ = (
        CheckConstraint(_in("kind", ORG_KINDS), name="party_org_kind_known"),
        CheckConstraint("length(btrim(name)) > 0", name="party_org_name_not_blank"),
        CheckConstraint("(kind = 'committee') = (parent_id IS NULL)", name="party_org_parent"),
        CheckConstraint("code ~ '^[A-Za-z][0-9A-Za-z-]{1,31}$'", name="party_org_code_format"),
        Index("party_org_parent_idx", "parent_id"),
        Index("party_org_community_idx", "community_code"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("party_org.id", ondelete="RESTRICT"))
    community_code: Mapped[str] = mapped_column(ForeignKey("region.code", ondelete="RESTRICT"))
    secretary_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PartyOrgGrid(Base):
    """A grid a branch (网格党支部) is set up in: one branch per grid at most."""

    __tablename__ = "party_org_grid"
    __table_args__ = (
        CheckConstraint("grid_code ~ '^[0-9]{14,15}$'", name="party_org_grid_code_format"),
    )

    org_id: Mapped[int] = mapped_column(
        ForeignKey("party_org.id", ondelete="CASCADE"), primary_key=True
    )
    grid_code: Mapped[str] = mapped_column(String(15), primary_key=True, unique=True)


class PartyOrgBuilding(Base):
    """A building (or a yard's buildings) a group (党小组) is set up in: one group per building."""

    __tablename__ = "party_org_building"

    org_id: Mapped[int] = mapped_column(
        ForeignKey("party_org.id", ondelete="CASCADE"), primary_key=True
    )
    building_id: Mapped[int] = mapped_column(
        ForeignKey("building.id", ondelete="CASCADE"), primary_key=True, unique=True
    )


class ResidentUnit(Base):
    """A resident unit (驻区单位) at a point; a member of its community's big Party committee
    (共驻共建) when ``committee_id`` is set. Its contact is personal data."""

    __tablename__ = "resident_unit"
    __table_args__ = (
        CheckConstraint(_in("kind", UNIT_KINDS), name="resident_unit_kind_known"),
        CheckConstraint("length(btrim(name)) > 0", name="resident_unit_name_not_blank"),
        CheckConstraint("code ~ '^[A-Za-z][0-9A-Za-z-]{1,31}$'", name="resident_unit_code_format"),
        CheckConstraint(
            f"contact_phone IS NULL OR contact_phone ~ '{codes.PHONE}'",
            name="resident_unit_phone",
        ),
        Index("resident_unit_geom_gist", "geom", postgresql_using="gist"),
        Index("resident_unit_grid_idx", "grid_code"),
        Index("resident_unit_community_idx", "community_code"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(Text)
    grid_code: Mapped[str | None] = mapped_column(String(15))
    community_code: Mapped[str | None] = mapped_column(String(12))
    committee_id: Mapped[int | None] = mapped_column(
        ForeignKey("party_org.id", ondelete="SET NULL")
    )
    joined_at: Mapped[date | None] = mapped_column(Date)
    contact_name: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    geom: Mapped[Any] = mapped_column(_geom("POINT"))


class PartyMember(Base):
    """A Party member: a person (name and phone are personal data) in an organisation, or an
    in-service member (在职党员) of an employer who registered with a community (双报到)."""

    __tablename__ = "party_member"
    __table_args__ = (
        CheckConstraint("hours_served >= 0", name="party_member_hours_nonneg"),
        CheckConstraint(
            "(registered_community IS NULL) = (registered_at IS NULL)",
            name="party_member_registered_when",
        ),
        CheckConstraint(
            "org_id IS NOT NULL OR registered_community IS NOT NULL",
            name="party_member_belongs",
        ),
        Index("party_member_org_idx", "org_id"),
        Index("party_member_registered_idx", "registered_community"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="RESTRICT"), unique=True
    )
    org_id: Mapped[int | None] = mapped_column(ForeignKey("party_org.id", ondelete="RESTRICT"))
    in_service: Mapped[bool] = mapped_column(Boolean, server_default=false())
    employer: Mapped[str | None] = mapped_column(Text)
    employer_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("resident_unit.id", ondelete="SET NULL")
    )
    registered_community: Mapped[str | None] = mapped_column(
        ForeignKey("region.code", ondelete="RESTRICT")
    )
    registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("household.id", ondelete="SET NULL"), index=True
    )
    hours_served: Mapped[float] = mapped_column(Numeric(8, 1, asdecimal=False), server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PartyPost(Base):
    """A post members hold (设岗定责: 政策宣传岗, 环境监督岗 …), claimed by one member."""

    __tablename__ = "party_post"
    __table_args__ = (
        CheckConstraint("length(btrim(title)) > 0", name="party_post_title_not_blank"),
        CheckConstraint("code ~ '^[A-Za-z][0-9A-Za-z-]{1,31}$'", name="party_post_code_format"),
        CheckConstraint(
            "(member_id IS NULL) = (claimed_at IS NULL)", name="party_post_claimed_when"
        ),
        Index("party_post_community_idx", "community_code"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(Text)
    duty: Mapped[str | None] = mapped_column(Text)
    community_code: Mapped[str] = mapped_column(ForeignKey("region.code", ondelete="RESTRICT"))
    grid_code: Mapped[str | None] = mapped_column(String(15))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("party_org.id", ondelete="SET NULL"))
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("party_member.id", ondelete="RESTRICT")
    )
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hours: Mapped[float] = mapped_column(Numeric(8, 1, asdecimal=False), server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PublicSubmission(Base):
    """A need entered on a public form, kept only to limit how many one client may send in an
    hour: the client is a keyed hash of its address, never the address itself."""

    __tablename__ = "public_submission"
    __table_args__ = (Index("public_submission_client_at_idx", "client", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IncidentKey(Base):
    """The identity of every incident, its month archived or not: its id, the idempotency key
    it was reported with and when (which month's partition holds it). Kept in step with
    ``incident`` by its row triggers (migration 0016); events, tasks, requests and merges point
    here, since a unique key of the partitioned ``incident`` must hold ``reported_at``."""

    __tablename__ = "incident_key"
    __table_args__ = (UniqueConstraint("idempotency_key", name="incident_idempotency_key_key"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IncidentArchive(Base):
    """A month of incidents detached and written to a GeoParquet file (its keys, events and
    tasks stay; ``gridmap incidents partitions restore`` attaches it back)."""

    __tablename__ = "incident_archive"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(BigInteger)
    archived_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Incident(Base):
    """An incident (事件) with the grid, community and street it was reported in; partitioned
    by the month it was reported in (China time): ``incident_pYYYYMM`` and ``incident_default``
    (gridmap.services.partitions)."""

    __tablename__ = "incident"
    __table_args__ = (
        CheckConstraint(_in("severity", SEVERITIES), name="incident_severity_known"),
        CheckConstraint(_in("status", INCIDENT_STATES), name="incident_status_known"),
        CheckConstraint(
            f"reporter_phone IS NULL OR reporter_phone ~ '{codes.PHONE}'", name="incident_phone"
        ),
        CheckConstraint("score IS NULL OR score BETWEEN 0 AND 100", name="incident_score_range"),
        CheckConstraint(
            f"dispatch_mode IS NULL OR {_in('dispatch_mode', DISPATCH_MODES)}",
            name="incident_dispatch_mode_known",
        ),
        CheckConstraint(
            "merged_into IS NULL OR merged_into <> id", name="incident_not_merged_into_itself"
        ),
        Index("incident_geom_gist", "geom", postgresql_using="gist"),
        Index("incident_category_idx", "category"),
        Index("incident_community_idx", "community_code"),
        Index("incident_grid_idx", "grid_code"),
        Index("incident_status_idx", "status"),
        Index("incident_reported_at_idx", "reported_at"),
        Index("incident_owner_idx", "owner_code", "status"),
        Index("incident_change_seq_idx", "change_seq"),
        Index("incident_pool_until_idx", "pool_until", postgresql_where="status = 'pooled'"),
        # Deleting an incident's key checks the incidents merged into it (migration 0018).
        Index(
            "incident_merged_into_idx", "merged_into", postgresql_where="merged_into IS NOT NULL"
        ),
        {"postgresql_partition_by": "RANGE (reported_at)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16), server_default="general")
    description: Mapped[str | None] = mapped_column(Text)
    reporter_name: Mapped[str | None] = mapped_column(Text)
    reporter_phone: Mapped[str | None] = mapped_column(String(20))
    crs_in: Mapped[str] = mapped_column(String(16), server_default="EPSG:4326")
    grid_code: Mapped[str | None] = mapped_column(String(15))
    community_code: Mapped[str | None] = mapped_column(String(12))
    street_code: Mapped[str | None] = mapped_column(String(9))
    distance_to_grid_m: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), server_default="reported")
    reported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), primary_key=True, server_default=func.now()
    )
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    score: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    # How it was dispatched (派单 team, 抢单 claim, 分单 split, 联单 joint, 返单 escalate), to whom.
    dispatch_mode: Mapped[str | None] = mapped_column(String(16))
    assignees: Mapped[list[Any]] = mapped_column(JSONB, server_default="[]")
    merged_into: Mapped[int | None] = mapped_column(
        ForeignKey("incident_key.id", ondelete="SET NULL")
    )
    returned_count: Mapped[int] = mapped_column(Integer, server_default="0")
    photos: Mapped[list[Any]] = mapped_column(JSONB, server_default="[]")
    geom: Mapped[Any] = mapped_column(_geom("POINT"))
    # Who holds the incident now: the street whose pool it waits in or that owns it, or the
    # district that dispatches it (a region code); None while reported.
    owner_code: Mapped[str | None] = mapped_column(String(12))
    # When the street pool's window (抢单) closes.
    pool_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # While parked (挂账): the state it left and since when (its clock stops meanwhile).
    parked_from: Mapped[str | None] = mapped_column(String(16))
    parked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A number from one sequence, new on every insert and update (trigger of migration 0010):
    # the board asks "anything after N?" instead of reading every row.
    change_seq: Mapped[int] = mapped_column(
        BigInteger, server_default=text("nextval('incident_change_seq')")
    )


class IncidentOpen(Base):
    """An incident not finished yet (one row each, kept by ``incident``'s row triggers,
    migrations 0018 and 0019): the open lists, the duplicate check and the board's queues read
    these few rows first, then their page by id and month."""

    __tablename__ = "incident_open"
    __table_args__ = (
        Index("incident_open_grid_idx", "grid_code", "status"),
        Index("incident_open_community_idx", "community_code"),
        Index("incident_open_geom_gist", "geom", postgresql_using="gist"),
        Index("incident_open_owner_idx", "owner_code", "status"),
        Index("incident_open_street_idx", "street_code"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(Text)
    grid_code: Mapped[str | None] = mapped_column(String(15))
    community_code: Mapped[str | None] = mapped_column(String(12))
    geom: Mapped[Any | None] = mapped_column(_geom("POINT"), nullable=True)
    severity: Mapped[str | None] = mapped_column(String(16))
    street_code: Mapped[str | None] = mapped_column(String(9))
    owner_code: Mapped[str | None] = mapped_column(String(12))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pool_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IncidentCategory(Base):
    """A category of incident (大类/小类) and its time limit, counted from dispatch."""

    __tablename__ = "incident_category"
    __table_args__ = (
        CheckConstraint(_in("class_", CATEGORY_CLASSES), name="incident_category_class_known"),
        CheckConstraint("code ~ '^[^/]+/[^/]+$'", name="incident_category_code_major_minor"),
        CheckConstraint("limit_hours BETWEEN 1 AND 8760", name="incident_category_limit_range"),
    )

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    class_: Mapped[str] = mapped_column(String(32))
    limit_hours: Mapped[int] = mapped_column(Integer)
    # Count only working hours (configured) toward the limit, rather than calendar hours.
    working_time: Mapped[bool] = mapped_column(Boolean, server_default=false())
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())


class IncidentEvent(Base):
    """One step of an incident's life: who did what, when, with a note."""

    __tablename__ = "incident_event"
    __table_args__ = (UniqueConstraint("incident_id", "seq", name="incident_event_seq_key"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident_key.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    note: Mapped[str | None] = mapped_column(Text)
    # The sub-task the step was taken on, when it was one (报到, 反馈, 撤回 …).
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident_task.id", ondelete="CASCADE"), index=True
    )


class IncidentTask(Base):
    """A sub-task of an incident: 分单 down to a community or grid, or 联单 to a department
    (吹哨), with its own assignee, time limits, state, feedback and photos."""

    __tablename__ = "incident_task"
    __table_args__ = (
        CheckConstraint(_in("kind", TASK_KINDS), name="incident_task_kind_known"),
        CheckConstraint(_in("assignee_kind", ASSIGNEE_KINDS), name="incident_task_assignee_known"),
        CheckConstraint(_in("state", TASK_STATES), name="incident_task_state_known"),
        CheckConstraint(
            "(assignee_kind = 'department') = (kind = 'whistle') OR assignee_kind = 'other'",
            name="incident_task_kind_matches_assignee",
        ),
        CheckConstraint(
            "assignee_kind = 'other' OR assignee_code IS NOT NULL",
            name="incident_task_assignee_code",
        ),
        CheckConstraint("length(btrim(assignee_name)) > 0", name="incident_task_name_not_blank"),
        Index(
            "incident_task_open_idx",
            "assignee_kind",
            "assignee_code",
            postgresql_where=_in("state", TASK_OPEN),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident_key.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    assignee_kind: Mapped[str] = mapped_column(String(12))
    # A grid or community code, or a department's code.
    assignee_code: Mapped[str | None] = mapped_column(String(32))
    assignee_name: Mapped[str] = mapped_column(Text)
    # The line of the whistle list the department was whistled under, and whether the list
    # suggested this department for the incident's category (None for 分单).
    whistle_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("whistle_item.id", ondelete="SET NULL")
    )
    suggested: Mapped[bool | None] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(12), server_default="assigned")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str | None] = mapped_column(Text)
    # 报到 (report in) and 反馈 (answer) deadlines; when it reported in and was answered.
    report_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reported_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by: Mapped[str | None] = mapped_column(Text)
    # The person whose token answered (a grid worker or a department's officer), for figures.
    answered_by_person: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL")
    )
    feedback: Mapped[str | None] = mapped_column(Text)
    photos: Mapped[list[Any]] = mapped_column(JSONB, server_default="[]")
    returned_count: Mapped[int] = mapped_column(Integer, server_default="0")


class Approval(Base):
    """A request to extend a time limit (延期) or to park an incident (挂账), decided by the
    command centre a level up: the time moves, or the incident parks, only on approval."""

    __tablename__ = "approval"
    __table_args__ = (
        CheckConstraint(_in("kind", APPROVAL_KINDS), name="approval_kind_known"),
        CheckConstraint(_in("decision", APPROVAL_DECISIONS), name="approval_decision_known"),
        CheckConstraint(
            "(kind = 'extend') = (hours IS NOT NULL) OR decided_by = 'migration 0010'",
            name="approval_hours_for_extend",
        ),
        CheckConstraint("hours IS NULL OR hours BETWEEN 1 AND 8760", name="approval_hours_range"),
        CheckConstraint("length(btrim(reason)) > 0", name="approval_reason_not_blank"),
        Index(
            "approval_one_pending",
            "incident_id",
            "kind",
            text("coalesce(task_id, 0)"),
            unique=True,
            postgresql_where="decision = 'pending'",
        ),
        Index("approval_decider_idx", "decider_code", postgresql_where="decision = 'pending'"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident_key.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[int | None] = mapped_column(ForeignKey("incident_task.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    hours: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # The region code of the command centre that decides (None: an administrator).
    decider_code: Mapped[str | None] = mapped_column(String(12))
    decision: Mapped[str] = mapped_column(String(8), server_default="pending")
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)


class WhistleClass(Base):
    """A class of the whistle list (吹哨清单), e.g. 城市管理 or 安全生产."""

    __tablename__ = "whistle_class"
    __table_args__ = (CheckConstraint("length(btrim(name)) > 0", name="whistle_class_name"),)

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)


class WhistleItem(Base):
    """One line of the whistle list: a matter, the incident category it answers, the kind of
    department that leads and those that co-operate, and the hours to report in and to answer."""

    __tablename__ = "whistle_item"
    __table_args__ = (
        CheckConstraint("length(btrim(matter)) > 0", name="whistle_item_matter"),
        CheckConstraint("length(btrim(lead_kind)) > 0", name="whistle_item_lead"),
        CheckConstraint("report_hours BETWEEN 1 AND 8760", name="whistle_item_report_hours"),
        CheckConstraint("answer_hours BETWEEN 1 AND 8760", name="whistle_item_answer_hours"),
        CheckConstraint("report_hours <= answer_hours", name="whistle_item_report_first"),
        Index("whistle_item_category_idx", "category"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    class_code: Mapped[str] = mapped_column(
        ForeignKey("whistle_class.code", ondelete="RESTRICT", onupdate="CASCADE")
    )
    matter: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(
        ForeignKey("incident_category.code", ondelete="SET NULL")
    )
    # Department kinds (department.kind): 城管执法, 住建, 市场监管 …
    lead_kind: Mapped[str] = mapped_column(Text)
    partner_kinds: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    report_hours: Mapped[int] = mapped_column(Integer)
    answer_hours: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())


class RoadEdge(Base):
    """One edge of the walking network, with pgRouting's ``source``/``target`` node ids."""

    __tablename__ = "road_edge"
    __table_args__ = (
        CheckConstraint("length_m >= 0", name="road_edge_length_nonneg"),
        Index("road_edge_geom_gist", "geom", postgresql_using="gist"),
        Index("road_edge_source_idx", "source"),
        Index("road_edge_target_idx", "target"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    osm_id: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(Text)
    highway: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[int] = mapped_column(BigInteger)
    target: Mapped[int] = mapped_column(BigInteger)
    length_m: Mapped[float] = mapped_column(Float)
    geom: Mapped[Any] = mapped_column(_geom("LINESTRING"))


class Patrol(Base):
    """A grid worker's patrol (巡查): started and ended on the phone, its track uploaded in pieces.
    ``key`` is chosen by the phone, so a start sent twice (offline, then again) is one patrol."""

    __tablename__ = "patrol"
    __table_args__ = (
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="patrol_times_ordered"),
        CheckConstraint("points >= 0 AND length_m >= 0", name="patrol_totals_nonneg"),
        Index("patrol_person_started_idx", "person_id", "started_at"),
        Index("patrol_grid_codes_gin", "grid_codes", postgresql_using="gin"),
        Index("patrol_started_idx", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[Any] = mapped_column(UUID(as_uuid=True), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    # The grids (of those the worker serves) the track has passed through so far.
    grid_codes: Mapped[list[str]] = mapped_column(ARRAY(String(15)), server_default="{}")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    points: Mapped[int] = mapped_column(Integer, server_default="0")
    length_m: Mapped[float] = mapped_column(Float, server_default="0")
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PatrolPiece(Base):
    """One uploaded piece of a patrol's track, in order (``seq`` from 0): a line whose M is each
    point's time (Unix seconds). A piece after the first starts with the last point of the one
    before, so the pieces join into the whole track. ``digest`` is the SHA-256 of the points as
    sent: the same piece again is a replay, a different one under the same number a conflict."""

    __tablename__ = "patrol_piece"
    __table_args__ = (
        CheckConstraint("seq >= 0", name="patrol_piece_seq_nonneg"),
        CheckConstraint("points >= 1", name="patrol_piece_points_positive"),
        CheckConstraint("last_at >= first_at", name="patrol_piece_times_ordered"),
        Index("patrol_piece_geom_gist", "geom", postgresql_using="gist"),
        Index("patrol_piece_first_at_idx", "first_at"),
    )

    patrol_id: Mapped[int] = mapped_column(
        ForeignKey("patrol.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    points: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    length_m: Mapped[float] = mapped_column(Float)
    digest: Mapped[str] = mapped_column(String(64))
    geom: Mapped[Any] = mapped_column(
        Geometry("LINESTRINGM", srid=STORAGE_SRID, dimension=3, spatial_index=False)
    )


class StreetPiece(Base):
    """The walkable street length of a grid for patrol coverage (巡查覆盖率): the road edges
    clipped to the grid's current version (``grid_id``), cut into short pieces so a piece is walked
    or not as a whole."""

    __tablename__ = "street_piece"
    __table_args__ = (
        CheckConstraint("length_m > 0", name="street_piece_length_positive"),
        Index("street_piece_geom_gist", "geom", postgresql_using="gist"),
        Index("street_piece_grid_idx", "grid_code"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id", ondelete="CASCADE"), index=True)
    grid_code: Mapped[str] = mapped_column(String(15))
    road_edge_id: Mapped[int | None] = mapped_column(
        ForeignKey("road_edge.id", ondelete="SET NULL")
    )
    length_m: Mapped[float] = mapped_column(Float)
    geom: Mapped[Any] = mapped_column(_geom("LINESTRING"))


class CareTag(Base):
    """A household's care need (关爱对象: 独居老人, 留守儿童 …), personal data. ``interval_days``
    overrides the tag's configured visit interval for this household."""

    __tablename__ = "care_tag"
    __table_args__ = (
        CheckConstraint(_in("tag", CARE_TAGS), name="care_tag_known"),
        CheckConstraint(
            "interval_days IS NULL OR interval_days BETWEEN 1 AND 366", name="care_tag_interval"
        ),
    )

    household_id: Mapped[int] = mapped_column(
        ForeignKey("household.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(24), primary_key=True)
    interval_days: Mapped[int | None] = mapped_column(Integer)
    since: Mapped[date] = mapped_column(Date, server_default=func.current_date())
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(Text)


class Visit(Base):
    """A household visit (走访) by a grid worker: when, what came of it, a note (personal data).
    ``idempotency_key`` makes a visit sent twice from the phone one visit."""

    __tablename__ = "visit"
    __table_args__ = (
        CheckConstraint(_in("outcome", VISIT_OUTCOMES), name="visit_outcome_known"),
        CheckConstraint("note IS NULL OR length(note) <= 2000", name="visit_note_length"),
        Index("visit_household_at_idx", "household_id", "at"),
        Index("visit_grid_at_idx", "grid_code", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("household.id", ondelete="CASCADE"), index=False
    )
    # The household's grid when it was visited (a building's grid may change later).
    grid_code: Mapped[str | None] = mapped_column(String(15))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AuditLog(Base):
    """Every write: who, when, what, the row before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("audit_log_entity_idx", "entity", "entity_key"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_key: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class Department(Base):
    """A district or street department (or utility) that answers whistles (吹哨)."""

    __tablename__ = "department"
    __table_args__ = (
        CheckConstraint(f"code ~ '{codes.DEPARTMENT}'", name="department_code_format"),
        CheckConstraint(_in("level", DEPARTMENT_LEVELS), name="department_level_known"),
        CheckConstraint("length(btrim(name)) > 0", name="department_name_not_blank"),
        CheckConstraint("length(btrim(kind)) > 0", name="department_kind_not_blank"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code", ondelete="RESTRICT"))
    # What kind of department it is (城管执法, 住建, 市场监管 …): the whistle list names kinds,
    # and the departments of that kind in an incident's street or district are suggested.
    kind: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())


# Whom a token is issued to decides its role and which of region, person, department and
# organisation it names (the same text is in migration 0013).
API_TOKEN_HOLDER_MATCHES = (
    "(holder_kind = 'office' AND person_id IS NULL AND department_code IS NULL "
    "AND org_id IS NULL AND "
    "((role = 'admin' AND region_code IS NULL) OR "
    "(role <> 'admin' AND role <> 'branch' AND "
    "region_code ~ '^[0-9]{6}([0-9]{3}([0-9]{3}([0-9]{2,3})?)?)?$'))"
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


class ApiToken(Base):
    """A bearer token issued to an office (a role and a region), a grid staff member, a Party
    member or a department. Only the SHA-256 of the secret is kept."""

    __tablename__ = "api_token"
    __table_args__ = (
        CheckConstraint(_in("role", TOKEN_ROLES), name="api_token_role_known"),
        CheckConstraint(_in("holder_kind", HOLDER_KINDS), name="api_token_holder_kind_known"),
        CheckConstraint(
            API_TOKEN_HOLDER_MATCHES,
            name="api_token_holder_matches",
        ),
        CheckConstraint("length(btrim(name)) > 0", name="api_token_name_not_blank"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str | None] = mapped_column(String(15))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    holder_kind: Mapped[str] = mapped_column(String(16), server_default="office")
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    department_code: Mapped[str | None] = mapped_column(
        ForeignKey("department.code", ondelete="RESTRICT")
    )
    # A branch secretary's token: the Party organisation it acts for.
    org_id: Mapped[int | None] = mapped_column(ForeignKey("party_org.id", ondelete="RESTRICT"))


class DataSet(Base):
    """A data set folder loaded into the database, with its checksum and what the load changed."""

    __tablename__ = "data_set"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    checksum: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")


class CalendarDay(Base):
    """A public holiday, or a weekend day worked in exchange (调休), for working-time limits."""

    __tablename__ = "calendar_day"
    __table_args__ = (CheckConstraint(_in("kind", CALENDAR_KINDS), name="calendar_day_kind_known"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(Text)


class TileCopy(Base):
    """A generalised copy of a tiled layer (``tile_shape``): the layer version it was built from."""

    __tablename__ = "tile_copy"

    layer: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    built_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TileDirty(Base):
    """A part of a tiled layer changed since its copy was built (a box in lon/lat; NULL: all of it),
    written by the layer's triggers in the changing transaction."""

    __tablename__ = "tile_dirty"
    __table_args__ = (Index("tile_dirty_layer_idx", "layer"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer: Mapped[str] = mapped_column(String(16))
    west: Mapped[float | None] = mapped_column(Float)
    south: Mapped[float | None] = mapped_column(Float)
    east: Mapped[float | None] = mapped_column(Float)
    north: Mapped[float | None] = mapped_column(Float)


class TileShape(Base):
    """One feature of a generalised copy at one zoom: a simplified grid or region, a building, or
    the buildings of one pixel cell merged (``count`` of them); ``props``: its tile properties."""

    __tablename__ = "tile_shape"
    __table_args__ = (
        CheckConstraint("count >= 1", name="tile_shape_count_positive"),
        Index("tile_shape_geom_gist", "geom", postgresql_using="gist"),
        Index("tile_shape_cell_idx", "layer", "zoom", "cell"),
        # One spatial index per building copy: a tile's box then finds only its zoom's features.
        *(
            Index(
                f"tile_shape_buildings_{z}_gist",
                "geom",
                postgresql_using="gist",
                postgresql_where=text(f"layer = 'buildings' AND zoom = {z}"),
            )
            for z in (12, 13, 14)
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer: Mapped[str] = mapped_column(String(16))
    zoom: Mapped[int] = mapped_column(Integer)
    # The pixel cell of the feature's centre at ``zoom`` (column * cells per row + row).
    cell: Mapped[int | None] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer, server_default="1")
    props: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    geom: Mapped[Any] = mapped_column(_geom("GEOMETRY"))


class GridChange(Base):
    """One changed grid, grid team or region (``code``; NULL after a TRUNCATE: everything), in
    commit order (migration 0015): what a process reading a replica polls, and what a lookup index
    patches instead of rebuilding."""

    __tablename__ = "grid_change"

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    tbl: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(15))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TileVersion(Base):
    """A tiled layer's data version (``tiles_<layer>_version``), bumped by a statement trigger at
    every write to the layer's table (migration 0017): a row, so a replica reads it exactly."""

    __tablename__ = "tile_version"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
