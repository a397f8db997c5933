"""gridmap.vocab.kinds: the kinds of regions, grids, staff, centres, list items and incidents.

Each is a ``Literal`` type (for request and answer models, so ``/docs`` lists the words) and the
tuple of its words (for checks and constraints), the one made from the other.
"""

from __future__ import annotations

from typing import Literal, get_args

RegionLevel = Literal["district", "street", "community"]
REGION_LEVELS: tuple[str, ...] = get_args(RegionLevel)
GridKind = Literal["basic", "exclusive"]
GRID_KINDS: tuple[str, ...] = get_args(GridKind)
EXCLUSIVE_SUBTYPES = ("campus", "hospital", "market", "office", "park", "school", "other")
CenterKind = Literal["party_mass_center", "red_station", "convenience_station"]
CENTER_KINDS: tuple[str, ...] = get_args(CenterKind)
ListKind = Literal["resource", "need", "project"]
LIST_KINDS: tuple[str, ...] = get_args(ListKind)
OwnerKind = Literal["unit", "resident", "branch"]
OWNER_KINDS: tuple[str, ...] = get_args(OwnerKind)
# How a need came in: a resident's public form (群众点单, no token), a grid worker or an office on
# a resident's behalf, a Party member, a loaded data set.
ListSource = Literal["public", "worker", "office", "member", "import"]
LIST_SOURCES: tuple[str, ...] = get_args(ListSource)
# To whom a branch assigns a need (支部派单): a Party member, a resident unit, the grid's team.
ListAssignee = Literal["member", "unit", "team"]
LIST_ASSIGNEES: tuple[str, ...] = get_args(ListAssignee)
# The Party organisation on the map: 社区大党委 (a community's big Party committee, with member
# units), 网格党支部 (a grid branch), 楼栋(院落)党小组 (a building or yard group).
OrgKind = Literal["committee", "branch", "group"]
ORG_KINDS: tuple[str, ...] = get_args(OrgKind)
# What a resident unit (驻区单位) is: 机关, 事业单位, 企业, 学校, 医院, 社会组织, other.
UnitKind = Literal[
    "government", "institution", "enterprise", "school", "hospital", "social_org", "other"
]
UNIT_KINDS: tuple[str, ...] = get_args(UnitKind)
Severity = Literal["general", "important", "urgent"]
SEVERITIES: tuple[str, ...] = get_args(Severity)
# How a street came to own an incident: claimed from its pool (抢单), dispatched by the district
# (派单), or dispatched by itself when the pool's window closed and the district dispatches at
# once. team/split/joint/escalate are the modes of the first loop, kept in older incidents.
DispatchMode = Literal["claim", "dispatch", "auto", "team", "split", "joint", "escalate"]
DISPATCH_MODES: tuple[str, ...] = get_args(DispatchMode)
CATEGORY_CLASSES = ("city_management", "social_governance")
DEPARTMENT_LEVELS = ("district", "street")
# A sub-task goes down to a community or grid (分单, ``split``) or sideways to a department
# (联单/吹哨, ``whistle``); ``other`` holds an assignee named in free text by the first loop.
TaskKind = Literal["split", "whistle"]
TASK_KINDS: tuple[str, ...] = get_args(TaskKind)
AssigneeKind = Literal["grid", "community", "department", "other"]
ASSIGNEE_KINDS: tuple[str, ...] = get_args(AssigneeKind)
# 延期 (more time) and 挂账 (parked: cannot be solved now, the clock stops).
ApprovalKind = Literal["extend", "park"]
APPROVAL_KINDS: tuple[str, ...] = get_args(ApprovalKind)
# calendar_day: a public holiday, or a weekend day worked in exchange (调休).
CalendarKind = Literal["holiday", "workday"]
CALENDAR_KINDS: tuple[str, ...] = get_args(CalendarKind)
# A household's care need (关爱对象), each visited at least every so many days (see
# ``ApiSettings.visit_interval_days``): 困难群众, 独居老人, 空巢老人, 留守儿童, 残疾人, 低保户,
# 大病患者.
CareTag = Literal[
    "hardship",
    "elderly_alone",
    "empty_nest",
    "left_behind_child",
    "disabled",
    "subsistence",
    "serious_illness",
]
CARE_TAGS: tuple[str, ...] = get_args(CareTag)
# What came of a household visit (走访): met (见到本人), nobody home, refused, moved away, or
# met and something needs following up (需跟进).
VisitOutcome = Literal["met", "not_home", "refused", "moved", "follow_up"]
VISIT_OUTCOMES: tuple[str, ...] = get_args(VisitOutcome)
# The outcomes that reached the household and so satisfy its visit interval: knocking on a door
# nobody opened (``not_home``) leaves a 独居老人 as unseen as before, so it stays due.
VISITS_REACHED: tuple[str, ...] = tuple(o for o in VISIT_OUTCOMES if o != "not_home")
