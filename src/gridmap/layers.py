"""gridmap.layers: every layer gridmap serves to GIS tools, who may read it and how it is masked.

One place says, for each layer, what its rows are (the same selects the API reads), which rows a
caller may see and how their personal data is masked (the services' own mask functions), so the
OGC API and the file exports can never show more than the API shows the same caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from typing import cast as cast_type

from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    Select,
    Table,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.elements import Label

from gridmap.auth import ANONYMOUS, Principal
from gridmap.errors import Forbidden, Unauthorized
from gridmap.models import (
    Building,
    Grid,
    Incident,
    ListItem,
    PartyMember,
    PartyOrg,
    PartyOrgBuilding,
    PartyOrgGrid,
    Patrol,
    PatrolPiece,
    Region,
    ResidentUnit,
    ServiceCenter,
    ServiceCircle,
    Visit,
)
from gridmap.queries import circles as circle_queries
from gridmap.queries import households as household_queries
from gridmap.queries import incidents as incident_queries
from gridmap.queries import lists as list_queries
from gridmap.queries import units as unit_queries
from gridmap.queries import visits as visit_queries
from gridmap.queries.grids import NAMED_COLUMNS, WITH_NAMES, area_m2, valid_at
from gridmap.services import contacts, lists, visits
from gridmap.services import incidents as incident_service
from gridmap.services.org import unit_out
from gridmap.vocab.roles import PERSONAL_DATA_ROLES, STAFF

FieldType = Literal["string", "integer", "number", "boolean", "datetime", "date", "json"]
Box = tuple[float, float, float, float]
Mask = Callable[[dict[str, Any], Principal], dict[str, Any]]

_r = cast_type(Table, Region.__table__)
_g = cast_type(Table, Grid.__table__)
_b = cast_type(Table, Building.__table__)
_sc = cast_type(Table, ServiceCenter.__table__)
_ci = cast_type(Table, ServiceCircle.__table__)
_o = cast_type(Table, PartyOrg.__table__)
_og = cast_type(Table, PartyOrgGrid.__table__)
_ob = cast_type(Table, PartyOrgBuilding.__table__)
_m = cast_type(Table, PartyMember.__table__)
_p = cast_type(Table, Patrol.__table__)
_pp = cast_type(Table, PatrolPiece.__table__)
_i = cast_type(Table, Incident.__table__)
_li = cast_type(Table, ListItem.__table__)
_u = cast_type(Table, ResidentUnit.__table__)
_v = cast_type(Table, Visit.__table__)


@dataclass(frozen=True)
class Field:
    """One property of a layer, in order: its name, type, titles and SQL expression."""

    name: str
    type: FieldType
    title_zh: str
    title_en: str
    # The SQL expression (for filters and sorting).
    column: ColumnElement[Any]
    # Personal data: masked for some callers, so never offered as a queryable (a filter on it
    # would tell what the mask hides).
    personal: bool = False


def _no_mask(props: dict[str, Any], _principal: Principal) -> dict[str, Any]:
    return props


@dataclass(frozen=True)
class Layer:
    """A layer: its rows, who may read them, which of them a caller sees and how masked."""

    id: str
    title_zh: str
    title_en: str
    fields: tuple[Field, ...]
    # The feature id (grids and regions: code; the others: id).
    id_field: str
    geometry_type: str
    # What ``datetime`` filters (None: the layer has no time); grids: valid_from/valid_to.
    time_field: str | None
    # Who may read at all: None for everyone (anonymous too), else the roles of the tokens
    # that may (anonymous → 401, another role → 403).
    readers: tuple[str, ...] | None
    # Every field labelled, then the geometry as ``geom`` (EPSG:4326).
    base: Select[Any]
    # The output geometry, and the indexed column whose box holds it (for bbox probes).
    geometry: ColumnElement[Any]
    boxed: ColumnElement[Any] | None
    # The code (grid or region) a row lies in, for ``region`` (a code prefix).
    place: ColumnElement[Any] | None
    # The rows a reader may see (beyond ``readers``).
    scope: Callable[[Principal], list[ColumnElement[bool]]] = field(
        default=lambda _p: [], compare=False
    )
    # The API's masking of one feature's properties for a caller.
    masker: Mask = field(default=_no_mask, compare=False)
    # Grids: versions with valid_from/valid_to (``datetime`` picks the versions valid then).
    versioned: bool = False
    # A sentence on the masks (shown in the collection's description).
    masks_en: str = ""
    masks_zh: str = ""

    @property
    def by_name(self) -> dict[str, Field]:
        """The fields by name."""
        return {f.name: f for f in self.fields}

    @property
    def queryables(self) -> dict[str, Field]:
        """The fields a caller may filter and sort on (never personal data)."""
        return {f.name: f for f in self.fields if not f.personal}

    @property
    def same_for_everyone(self) -> bool:
        """Whether every caller who may read the layer sees the same features: readable by
        everyone, no personal field, no scope, no mask, one version per feature."""
        return (
            self.readers is None
            and self.masker is _no_mask
            and not any(f.personal for f in self.fields)
            and not self.versioned
            and not self.scope(ANONYMOUS)
        )

    @property
    def id_column(self) -> ColumnElement[Any]:
        """The SQL expression of the feature id."""
        return self.by_name[self.id_field].column


# Titles of every property name, in Chinese and English.
_TITLES: dict[str, tuple[str, str]] = {
    "id": ("编号", "id"),
    "code": ("代码", "code"),
    "name": ("名称", "name"),
    "level": ("层级", "level"),
    "official_name": ("正式名称", "official name"),
    "parent_code": ("上级代码", "parent code"),
    "kind": ("类型", "kind"),
    "subtype": ("子类型", "subtype"),
    "community_code": ("社区代码", "community code"),
    "community_name": ("社区", "community"),
    "street_code": ("街道代码", "street code"),
    "street_name": ("街道", "street"),
    "households": ("户数", "households"),
    "version": ("版本", "version"),
    "valid_from": ("生效时间", "valid from"),
    "valid_to": ("失效时间", "valid to"),
    "changed_by": ("修改人", "changed by"),
    "area_m2": ("面积（平方米）", "area (m²)"),
    "area_km2": ("面积（平方公里）", "area (km²)"),
    "address": ("地址", "address"),
    "use": ("用途", "use"),
    "floors": ("层数", "floors"),
    "grid_code": ("网格代码", "grid code"),
    "building_id": ("楼栋编号", "building id"),
    "building_code": ("楼栋代码", "building code"),
    "unit": ("单元", "unit"),
    "room": ("房号", "room"),
    "designated": ("党员中心户", "designated household"),
    "party_members": ("党员人数", "Party members"),
    "served_by": ("联系的中心户", "served by"),
    "group_id": ("党小组编号", "Party group id"),
    "served_by_grid": ("中心户所在网格", "grid of the designated household"),
    "cross_grid": ("跨网格联系", "served across grids"),
    "serves": ("联系户数", "households served"),
    "contact_name": ("联系人", "contact"),
    "contact_phone": ("联系电话", "contact phone"),
    "opening_hours": ("开放时间", "opening hours"),
    "region_code": ("所在区域代码", "region code"),
    "source": ("来源", "source"),
    "center_id": ("服务中心编号", "service centre id"),
    "center_code": ("服务中心代码", "service centre code"),
    "center_name": ("服务中心", "service centre"),
    "center_kind": ("服务中心类型", "service centre kind"),
    "minutes": ("步行分钟", "walking minutes"),
    "method": ("计算方法", "method"),
    "computed_at": ("计算时间", "computed at"),
    "list": ("清单", "list"),
    "category": ("类别", "category"),
    "title": ("标题", "title"),
    "description": ("描述", "description"),
    "owner_kind": ("提供方类型", "owner kind"),
    "owner_name": ("提供方", "owner"),
    "status": ("状态", "status"),
    "need_id": ("需求编号", "need id"),
    "resource_id": ("资源编号", "resource id"),
    "created_at": ("创建时间", "created at"),
    "wish": ("微心愿", "wish"),
    "org_id": ("党组织编号", "Party organisation id"),
    "unit_id": ("驻区单位编号", "resident unit id"),
    "unit_name": ("驻区单位", "resident unit"),
    "assignee_kind": ("承接方类型", "assignee kind"),
    "member_id": ("党员编号", "Party member id"),
    "member_name": ("承接党员", "Party member"),
    "assigned_by": ("派单人", "assigned by"),
    "assigned_at": ("派单时间", "assigned at"),
    "taken_by": ("接单人", "taken by"),
    "taken_at": ("接单时间", "taken at"),
    "done_at": ("完成时间", "done at"),
    "hours": ("服务时长（小时）", "hours"),
    "service_content": ("服务内容", "service content"),
    "service_standard": ("服务标准", "service standard"),
    "due_date": ("时限", "due date"),
    "responsible_unit": ("责任单位", "responsible unit"),
    "responsible_person": ("责任人", "responsible person"),
    "severity": ("紧急程度", "severity"),
    "distance_to_grid_m": ("距网格距离（米）", "distance to grid (m)"),
    "reported_at": ("上报时间", "reported at"),
    "dispatched_at": ("派遣时间", "dispatched at"),
    "due_at": ("办结时限", "due at"),
    "closed_at": ("结案时间", "closed at"),
    "score": ("评分", "score"),
    "dispatch_mode": ("派遣方式", "dispatch mode"),
    "merged_into": ("合并至", "merged into"),
    "returned_count": ("返工次数", "times returned"),
    "crs_in": ("上报坐标系", "CRS reported in"),
    "reporter_name": ("上报人", "reporter"),
    "reporter_phone": ("上报人电话", "reporter's phone"),
    "owner_code": ("承办区域代码", "held by (code)"),
    "pool_until": ("抢单截止", "in the pool until"),
    "parked_at": ("挂账时间", "parked at"),
    "overdue": ("已超时", "overdue"),
    "key": ("巡查标识", "patrol key"),
    "person_id": ("人员编号", "person id"),
    "person_name": ("走访人", "visitor"),
    "grid_codes": ("经过网格", "grids"),
    "started_at": ("开始时间", "started at"),
    "ended_at": ("结束时间", "ended at"),
    "points": ("轨迹点数", "points"),
    "length_m": ("长度（米）", "length (m)"),
    "created_by": ("记录人", "recorded by"),
    "household_id": ("户编号", "household id"),
    "visited_at": ("走访时间", "visited at"),
    "outcome": ("走访结果", "outcome"),
    "parent_id": ("上级党组织编号", "parent organisation id"),
    "building_ids": ("楼栋编号", "building ids"),
    "members_n": ("党员人数", "members"),
    "committee_id": ("所属大党委编号", "big committee id"),
    "joined_at": ("加入时间", "joined at"),
}


def _kind(column: ColumnElement[Any]) -> FieldType:
    t = column.type
    if isinstance(t, Boolean):
        return "boolean"
    if isinstance(t, Integer):
        return "integer"
    if isinstance(t, Float | Numeric):
        return "number"
    if isinstance(t, DateTime):
        return "datetime"
    if isinstance(t, Date):
        return "date"
    if isinstance(t, JSON | ARRAY):
        return "json"
    return "string"


def _fields(
    rows: Select[Any], personal: Sequence[str] = (), types: Mapping[str, FieldType] | None = None
) -> tuple[Field, ...]:
    """The fields of a select (every column but ``geom``), typed from their SQL types."""
    out = []
    for col in rows.selected_columns:
        if col.key == "geom":
            continue
        name = str(col.key)
        zh, en = _TITLES.get(name, (name, name.replace("_", " ")))
        expr = col.element if isinstance(col, Label) else col
        out.append(
            Field(
                name=name,
                type=(types or {}).get(name) or _kind(col),
                title_zh=zh,
                title_en=en,
                column=expr,
                personal=name in personal,
            )
        )
    return tuple(out)


def _pick(rows: Select[Any], *names: str, rename: Mapping[str, str] | None = None) -> Select[Any]:
    """``rows`` with only the columns ``names`` (in that order, ``rename``d), then ``geom``."""
    by_key = {str(c.key): c for c in rows.selected_columns}
    chosen = []
    for name in (*names, "geom"):
        col = by_key[name]
        new = (rename or {}).get(name)
        if new is not None:
            col = (col.element if isinstance(col, Label) else col).label(new)
        chosen.append(col)
    return rows.with_only_columns(*chosen, maintain_column_froms=True)


def _starts(code: ColumnElement[Any], prefix: str) -> ColumnElement[bool]:
    return func.coalesce(code, "").startswith(prefix)


def area_of(principal: Principal, place: ColumnElement[Any]) -> ColumnElement[bool]:
    """SQL: the row's ``place`` (a grid or region code) lies where ``principal`` acts (its
    region, or the grids a staff member serves; everywhere for an administrator)."""
    if principal.role == "admin":
        return true()
    if principal.grids is not None:
        return place.in_(sorted(principal.grids)) if principal.grids else false()
    if principal.region:
        return _starts(place, principal.region)
    return false()


# --- the layers ----------------------------------------------------------------------------

_REGIONS = select(
    _r.c.code,
    _r.c.level,
    _r.c.name,
    _r.c.official_name,
    _r.c.parent_code,
    func.ST_X(_r.c.label_point).label("label_lon"),
    func.ST_Y(_r.c.label_point).label("label_lat"),
    _r.c.geom,
)

_GRIDS = select(
    *NAMED_COLUMNS,
    _g.c.valid_from,
    _g.c.valid_to,
    cast(area_m2(_g.c.geom), Float).label("area_m2"),
    _g.c.geom,
).select_from(WITH_NAMES)

_BUILDINGS = select(
    _b.c.id,
    _b.c.code,
    _b.c.address,
    _b.c.name,
    _b.c.use,
    _b.c.floors,
    _b.c.households,
    _b.c.grid_code,
    _b.c.community_code,
    _b.c.geom,
)

_HOUSEHOLDS = _pick(
    household_queries.ROW,
    "id",
    "building_id",
    "building_code",
    "address",
    "unit",
    "room",
    "designated",
    "party_members",
    "served_by",
    "group_id",
    "grid_code",
    "community_code",
    "served_by_grid",
    "cross_grid",
    "serves",
    "contact_name",
    "contact_phone",
)

_CENTRES = _pick(
    circle_queries.CENTER_ROW,
    "id",
    "code",
    "kind",
    "name",
    "opening_hours",
    "address",
    "region_code",
    "source",
)

_CIRCLES = select(
    _ci.c.id,
    _ci.c.center_id,
    _sc.c.code.label("center_code"),
    _sc.c.name.label("center_name"),
    _sc.c.kind.label("center_kind"),
    _ci.c.minutes,
    _ci.c.method,
    _ci.c.computed_at,
    cast(func.round(cast(func.ST_Area(func.geography(_ci.c.geom)) / 1e6, Numeric), 4), Float).label(
        "area_km2"
    ),
    _ci.c.geom,
).select_from(_ci.join(_sc, _sc.c.id == _ci.c.center_id))

_LIST_ITEMS = _pick(
    list_queries.ROW,
    "id",
    "code",
    "list",
    "category",
    "title",
    "description",
    "owner_kind",
    "owner_name",
    "contact_name",
    "contact_phone",
    "status",
    "need_id",
    "resource_id",
    "grid_code",
    "community_code",
    "created_at",
    "wish",
    "org_id",
    "unit_id",
    "unit_name",
    "assignee_kind",
    "member_id",
    "member_name",
    "assigned_by",
    "assigned_at",
    "taken_by",
    "taken_at",
    "done_at",
    "hours",
    "service_content",
    "service_standard",
    "due_date",
    "responsible_unit",
    "responsible_person",
)

_INCIDENTS = _pick(
    incident_queries.ROW,
    "id",
    "category",
    "severity",
    "description",
    "status",
    "grid_code",
    "community_code",
    "street_code",
    "distance_to_grid_m",
    "reported_at",
    "dispatched_at",
    "due_at",
    "closed_at",
    "score",
    "dispatch_mode",
    "merged_into",
    "returned_count",
    "crs_in",
    "reporter_name",
    "reporter_phone",
    "version",
    "owner_code",
    "owner_name",
    "pool_until",
    "parked_at",
    "overdue",
)

# A patrol's track: its pieces in order, as one MultiLineString without times.
_TRACK = (
    select(
        func.ST_Force2D(
            func.ST_Multi(func.ST_Collect(aggregate_order_by(_pp.c.geom, _pp.c.seq))),
            type_=_pp.c.geom.type,
        )
    )
    .where(_pp.c.patrol_id == _p.c.id)
    .scalar_subquery()
)
_PATROLS = select(
    _p.c.id,
    cast(_p.c.key, _p.c.created_by.type).label("key"),
    _p.c.person_id,
    _p.c.grid_codes,
    _p.c.started_at,
    _p.c.ended_at,
    _p.c.points,
    _p.c.length_m,
    _TRACK.label("geom"),
)

_VISITS = _pick(
    visit_queries.ROW.add_columns(func.ST_PointOnSurface(_b.c.geom).label("geom")),
    "id",
    "household_id",
    "grid_code",
    "community_code",
    "person_id",
    "person_name",
    "at",
    "outcome",
    "created_by",
    "created_at",
    rename={"at": "visited_at"},
)

# A Party organisation's area: a committee's community, a branch's current grids, a group's
# buildings (no secretary, member or phone: these never leave through OGC or files).
_ORG_GRIDS = (
    select(func.ST_Multi(func.ST_Union(_g.c.geom)))
    .select_from(_og.join(_g, and_(_g.c.code == _og.c.grid_code, _g.c.valid_to.is_(None))))
    .where(_og.c.org_id == _o.c.id)
    .scalar_subquery()
)
_ORG_BUILDINGS = (
    select(func.ST_Multi(func.ST_Union(_b.c.geom)))
    .select_from(_ob.join(_b, _b.c.id == _ob.c.building_id))
    .where(_ob.c.org_id == _o.c.id)
    .scalar_subquery()
)
_ORG_COMMUNITY = select(_r.c.geom).where(_r.c.code == _o.c.community_code).scalar_subquery()
_ORG_GEOM = type_coerce(
    case(
        (_o.c.kind == "branch", _ORG_GRIDS),
        (_o.c.kind == "group", _ORG_BUILDINGS),
        else_=_ORG_COMMUNITY,
    ),
    _r.c.geom.type,
)
_PARTY_ORGS = select(
    _o.c.id,
    _o.c.code,
    _o.c.kind,
    _o.c.name,
    _o.c.parent_id,
    _o.c.community_code,
    select(func.coalesce(func.array_agg(aggregate_order_by(_og.c.grid_code, _og.c.grid_code)), []))
    .where(_og.c.org_id == _o.c.id)
    .scalar_subquery()
    .label("grid_codes"),
    select(func.count()).where(_m.c.org_id == _o.c.id).scalar_subquery().label("members_n"),
    _o.c.created_at,
    _ORG_GEOM.label("geom"),
)

_UNITS = _pick(
    unit_queries.ROW,
    "id",
    "code",
    "name",
    "kind",
    "address",
    "grid_code",
    "community_code",
    "committee_id",
    "joined_at",
    "contact_name",
    "contact_phone",
)


def _props(mask: Callable[[dict[str, Any], Principal], dict[str, Any]]) -> Mask:
    """A feature mask of the services as a mask of properties."""

    def masked(props: dict[str, Any], principal: Principal) -> dict[str, Any]:
        return dict(mask({"type": "Feature", "properties": props}, principal)["properties"])

    return masked


def _households(props: dict[str, Any], principal: Principal) -> dict[str, Any]:
    feature = {"type": "Feature", "properties": props}
    return dict(contacts.masked(feature, principal, "grid_code", "community_code")["properties"])


def _list_item(props: dict[str, Any], principal: Principal) -> dict[str, Any]:
    shown = lists.shown({"type": "Feature", "properties": dict(props)}, principal)["properties"]
    member = shown.pop("member", None)
    unit = shown.pop("unit", None)
    shown["member_name"] = member["name"] if member else None
    shown["unit_name"] = unit["name"] if unit else None
    return dict(shown)


def _visit(props: dict[str, Any], principal: Principal) -> dict[str, Any]:
    # The API's mask of a visit (the visitor's name, who recorded it); the note itself never
    # leaves through OGC or files.
    out = visits.public({**props, "note": None}, principal)
    return {**out, "community_code": props.get("community_code")}


def _patrol_scope(principal: Principal) -> list[ColumnElement[bool]]:
    # A patrol is its walker's, its grids' team's and their offices' (as GET /api/v1/patrols).
    code = func.unnest(_p.c.grid_codes).column_valued("c")
    grids = exists(select(1).where(area_of(principal, code)))
    own = _p.c.person_id == principal.person_id if principal.person_id is not None else false()
    return [or_(own, grids)]


def _patrol_place(prefix: str) -> ColumnElement[bool]:
    code = func.unnest(_p.c.grid_codes).column_valued("c")
    return exists(select(1).where(_starts(code, prefix)))


def _visit_scope(principal: Principal) -> list[ColumnElement[bool]]:
    return [area_of(principal, _VISIT_PLACE)]


_VISIT_PLACE = func.coalesce(_v.c.grid_code, _b.c.community_code)
_HOUSEHOLD_PLACE = func.coalesce(_b.c.community_code, _b.c.grid_code)


def _layer(
    id: str,
    zh: str,
    en: str,
    rows: Select[Any],
    *,
    id_field: str = "id",
    geometry_type: str,
    time_field: str | None = None,
    readers: tuple[str, ...] | None = None,
    boxed: ColumnElement[Any] | None,
    place: ColumnElement[Any] | None,
    personal: Sequence[str] = (),
    types: Mapping[str, FieldType] | None = None,
    **more: Any,
) -> Layer:
    geom = rows.selected_columns["geom"]
    return Layer(
        id=id,
        title_zh=zh,
        title_en=en,
        fields=_fields(rows, personal, types),
        id_field=id_field,
        geometry_type=geometry_type,
        time_field=time_field,
        readers=readers,
        base=rows,
        geometry=geom.element if isinstance(geom, Label) else geom,
        boxed=boxed,
        place=place,
        **more,
    )


_LAYERS = (
    _layer(
        "regions",
        "行政区划",
        "Regions (district, streets, communities)",
        _REGIONS,
        id_field="code",
        geometry_type="MultiPolygon",
        boxed=_r.c.geom,
        place=_r.c.code,
        types={"label_lon": "number", "label_lat": "number"},
    ),
    _layer(
        "grids",
        "网格",
        "Grids",
        _GRIDS,
        id_field="code",
        geometry_type="MultiPolygon",
        time_field="valid_from",
        boxed=_g.c.geom,
        place=_g.c.community_code,
        versioned=True,
        types={"street_code": "string"},
    ),
    _layer(
        "buildings",
        "楼栋",
        "Buildings",
        _BUILDINGS,
        geometry_type="Polygon",
        boxed=_b.c.geom,
        place=func.coalesce(_b.c.grid_code, _b.c.community_code),
    ),
    _layer(
        "households",
        "住户",
        "Households (at their building)",
        _HOUSEHOLDS,
        geometry_type="Point",
        boxed=_b.c.geom,
        place=_HOUSEHOLD_PLACE,
        personal=("contact_name", "contact_phone"),
        masker=_households,
        masks_en="contact names and phones masked unless the token's role and area may see them",
        masks_zh="联系人姓名和电话仅对有权查看本区域个人信息的令牌显示",
    ),
    _layer(
        "service-centres",
        "党群服务中心",
        "Service centres",
        _CENTRES,
        geometry_type="Point",
        boxed=_sc.c.geom,
        place=_sc.c.region_code,
    ),
    _layer(
        "service-circles",
        "15分钟服务圈",
        "15-minute service circles",
        _CIRCLES,
        geometry_type="MultiPolygon",
        time_field="computed_at",
        boxed=_ci.c.geom,
        place=_sc.c.region_code,
    ),
    _layer(
        "list-items",
        "三张清单",
        "Items of the three lists",
        _LIST_ITEMS,
        geometry_type="Point",
        time_field="created_at",
        boxed=_li.c.geom,
        place=_li.c.grid_code,
        personal=(
            "contact_name",
            "contact_phone",
            "member_name",
            "assigned_by",
            "taken_by",
            "responsible_person",
        ),
        types={"community_code": "string"},
        masker=_list_item,
        masks_en="contacts, the member who took an item on, who assigned or took it and the "
        "responsible person masked unless the token may see the grid's personal data",
        masks_zh="联系人、承接党员、派单人、接单人和责任人仅对有权查看本网格个人信息的令牌显示",
    ),
    _layer(
        "incidents",
        "事件",
        "Incidents",
        _INCIDENTS,
        geometry_type="Point",
        time_field="reported_at",
        boxed=_i.c.geom,
        place=func.coalesce(_i.c.grid_code, _i.c.community_code),
        personal=("reporter_name", "reporter_phone"),
        masker=_props(incident_service.mask),
        masks_en="the reporter's name and phone masked unless the token may see the grid's "
        "personal data",
        masks_zh="上报人姓名和电话仅对有权查看本网格个人信息的令牌显示",
    ),
    _layer(
        "patrols",
        "巡查轨迹",
        "Patrol tracks",
        _PATROLS,
        geometry_type="MultiLineString",
        time_field="started_at",
        readers=STAFF,
        boxed=None,
        place=None,
        personal=("person_id",),
        types={"key": "string", "grid_codes": "json"},
        scope=_patrol_scope,
        masks_en="for tokens only: a worker's own patrols, a grid's for its team and offices",
        masks_zh="仅限令牌：网格员本人的巡查，网格的巡查仅限其网格团队和所属办公室",
    ),
    _layer(
        "visits",
        "走访记录",
        "Household visits",
        _VISITS,
        geometry_type="Point",
        time_field="visited_at",
        readers=PERSONAL_DATA_ROLES,
        boxed=_b.c.geom,
        place=_VISIT_PLACE,
        personal=("person_id", "person_name", "created_by"),
        scope=_visit_scope,
        masker=_visit,
        masks_en="for tokens of the grid's team and offices only; visit notes never included",
        masks_zh="仅限网格团队和所属办公室的令牌；不含走访记录内容",
    ),
    _layer(
        "party-orgs",
        "党组织",
        "Party organisations (committees, grid branches, building groups)",
        _PARTY_ORGS,
        geometry_type="MultiPolygon",
        boxed=None,
        place=_o.c.community_code,
        types={"grid_codes": "json"},
        masks_en="no secretary or member names or phones",
        masks_zh="不含书记和党员的姓名、电话",
    ),
    _layer(
        "resident-units",
        "驻区单位",
        "Resident units",
        _UNITS,
        geometry_type="Point",
        boxed=_u.c.geom,
        place=func.coalesce(_u.c.grid_code, _u.c.community_code),
        personal=("contact_name", "contact_phone"),
        masker=_props(unit_out),
        masks_en="contacts shown only to the staff and organisations of the unit's place",
        masks_zh="联系人仅对本区域工作人员和党组织显示",
    ),
)

LAYERS: dict[str, Layer] = {layer.id: layer for layer in _LAYERS}


def require_reader(layer: Layer, principal: Principal) -> None:
    """Raise :class:`Unauthorized` / :class:`Forbidden` unless ``principal`` may read ``layer``
    at all (as the API's list of the same rows does)."""
    if layer.readers is None:
        return
    if not principal.authenticated:
        raise Unauthorized(f"{layer.id} are personal data: reading them needs a bearer token")
    if principal.role not in layer.readers:
        raise Forbidden(
            f"a {principal.role} token may not read {layer.id}; readers are "
            f"{', '.join(layer.readers)}",
            role=principal.role,
        )


def may_read(layer: Layer, principal: Principal) -> bool:
    """Whether ``principal`` may read ``layer`` at all."""
    try:
        require_reader(layer, principal)
    except (Unauthorized, Forbidden):
        return False
    return True


def when(
    layer: Layer, start: datetime | None, end: datetime | None, *, instant: bool = False
) -> list[ColumnElement[bool]]:
    """SQL: ``layer``'s rows of a time (``instant``: ``start``) or an interval (open ends as
    None); grids: the versions valid then."""
    if layer.versioned:
        if instant:
            return [valid_at(start)]
        return [
            *([_g.c.valid_from <= end] if end is not None else []),
            *([or_(_g.c.valid_to.is_(None), _g.c.valid_to > start)] if start is not None else []),
        ]
    if layer.time_field is None:
        return []
    column = layer.by_name[layer.time_field].column
    if instant:
        return [column == start]
    return [
        *([column >= start] if start is not None else []),
        *([column <= end] if end is not None else []),
    ]


def conditions(
    layer: Layer,
    principal: Principal,
    *,
    region: str | None = None,
    at: datetime | None = None,
    bbox: Box | None = None,
    where: Sequence[ColumnElement[bool]] = (),
    all_versions: bool = False,
) -> list[ColumnElement[bool]]:
    """The WHERE of :func:`rows`."""
    require_reader(layer, principal)
    out: list[ColumnElement[bool]] = list(layer.scope(principal))
    if layer.versioned and not all_versions:
        out.append(valid_at(at))
    elif at is not None:
        out.extend(when(layer, at, None, instant=True))
    if region:
        if layer.place is not None:
            out.append(_starts(layer.place, region))
        else:
            out.append(_patrol_place(region))
    if bbox is not None:
        box = func.ST_MakeEnvelope(*bbox, 4326)
        if layer.boxed is not None:
            out.append(layer.boxed.op("&&")(box))
        out.append(func.ST_Intersects(layer.geometry, box))
    out.extend(where)
    return out


def rows(
    layer: Layer,
    principal: Principal,
    *,
    region: str | None = None,
    at: datetime | None = None,
    bbox: Box | None = None,
    where: Sequence[ColumnElement[bool]] = (),
    all_versions: bool = False,
) -> Select[Any]:
    """Every field of ``layer`` as a labelled column and ``geom`` (EPSG:4326), the rows
    ``principal`` may see (in ``region``, a code prefix; valid ``at``; meeting ``bbox``, west,
    south, east, north in WGS 84; and ``where``), ordered by the feature id.

    Raises :class:`Unauthorized` / :class:`Forbidden` for a caller who may not read the layer.
    Grids are the versions valid ``at`` (now when None), or with ``all_versions`` every version
    (``where`` then picks them, see :func:`when`).
    """
    chosen = conditions(
        layer, principal, region=region, at=at, bbox=bbox, where=where, all_versions=all_versions
    )
    order = [layer.id_column]
    if all_versions and layer.versioned:
        order.append(layer.by_name["version"].column)
    return layer.base.where(*chosen).order_by(*order)


def count(
    layer: Layer,
    principal: Principal,
    *,
    region: str | None = None,
    at: datetime | None = None,
    bbox: Box | None = None,
    where: Sequence[ColumnElement[bool]] = (),
    all_versions: bool = False,
) -> Select[Any]:
    """How many rows :func:`rows` gives with the same arguments (one value)."""
    chosen = conditions(
        layer, principal, region=region, at=at, bbox=bbox, where=where, all_versions=all_versions
    )
    return layer.base.with_only_columns(func.count(), maintain_column_froms=True).where(*chosen)


def mask(layer: Layer, props: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """``props`` (one row of :func:`rows`, as JSON) as the API shows them to ``principal``:
    the services' own masks, then only ``layer``'s fields, in order."""
    shown = layer.masker(dict(props), principal)
    return {f.name: shown.get(f.name) for f in layer.fields}
