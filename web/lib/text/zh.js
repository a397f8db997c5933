// The interface's words in Chinese (the default language).
import { WORDS as PHONE } from "./phone_zh.js";
import { WORDS as FIELD } from "./field_zh.js";
import { WORDS as LISTS } from "./lists_zh.js";
import { WORDS as TEAMS } from "./teams_zh.js";
import { WORDS as ORG } from "./org_zh.js";
import { WORDS as ORG_ERRORS } from "./errors_org_zh.js";
import { WORDS as PARTITION_ERRORS } from "./errors_partition_zh.js";
import { WORDS as PUBLIC } from "./public_zh.js";
import { WORDS as OGC_ERRORS } from "./errors_ogc_zh.js";
import { WORDS as VIEW3D } from "./view3d_zh.js";
export const WORDS = {
  title: "网格地图", search: "搜索", search_placeholder: "地址或网格编码", sign_in: "登录编辑",
  signed_in: "已登录", sign_out: "退出编辑", token_prompt: "请输入访问令牌（gridmap token create 生成）：",
  loading: "加载中…", ready: "{n} 个网格 · 点击地图查询所在网格", load_failed: "加载失败：{m}",
  streets: "街道", communities: "社区", grids: "网格", basic: "基础网格", exclusive: "专属网格",
  problems: "覆盖缺口与重叠", buildings: "楼栋", centers: "服务中心", circles: "15分钟服务圈",
  uncovered: "服务圈外楼栋", designated: "党员中心户", incidents: "事件", lists: "三张清单",
  grid_code: "网格编码", kind: "类型", community: "社区", street: "街道", district: "区",
  team: "网格团队", coords: "坐标 {lon}, {lat}（WGS84）", not_in_grid: "此处不在任何网格内",
  nearest_grid: "最近网格：{name}（{code}），{m} 米", lookup_failed: "查询失败：{m}",
  households: "户数", designated_n: "党员中心户", coverage_share: "服务圈覆盖率",
  open_incidents: "未办结事件", on_time: "按时办结率", lists_of_grid: "本网格清单",
  resource: "资源", need: "需求", project: "项目", none: "无",
  edit: "编辑边界", cut: "切割", delete: "删除", history: "历史版本", save: "保存", cancel: "取消",
  draw_hint: "在地图上绘制新网格，完成后保存", saved: "已保存 {code}（版本 {v}）",
  rejected: "未保存：{m}", stale: "此网格已被他人修改（现为第 {version} 版），你的修改未保存。",
  reload: "重新加载", deleted: "已删除 {code}", confirm_delete: "确定删除网格 {code}？",
  restore: "恢复此版本", version: "版本", by: "修改人", when: "时间", note: "说明",
  need_token: "请先登录编辑", not_found: "未找到：{q}", found_grid: "网格 {code} {name}",
  serves: "服务 {n} 户", cross_grid: "跨网格", overdue: "超时", state: "状态",
  severity: "等级", category: "类别", distance: "距最近服务圈 {m} 米", no_network: "无路网，按缓冲区",
  minutes: "{n} 分钟", method: "方法", base: "底图", new_grid: "新网格", new_grid_title: "新网格 · {community}", name: "名称",
  http_400: "请求有误", http_401: "未登录或令牌无效", http_403: "无权进行此操作", http_404: "未找到",
  http_409: "与现有数据冲突", http_412: "数据已被他人修改", http_413: "内容过大", http_422: "内容不符合要求",
  http_429: "请求过于频繁，请稍后再试", http_500: "服务器出错", http_503: "服务暂不可用", network: "网络不通",
  // Address search: the candidate list, what matched, weak matches.
  weak_match: "匹配较弱", weak_note: "（匹配较弱）", candidates_head: "候选地址 {n} 个", no_grid_here: "不在任何网格内",
  matched_building_name: "楼名相符", matched_community_and_number: "社区与楼号相符",
  matched_road_and_number: "道路门牌相符", matched_partial_name: "名称部分相符",
  matched_similar_name: "名称相近", matched_road_only: "同一道路，门牌号不同",

  // The map page: sign-in, opening hours, layers read for the view, the phone-width header.
  signin_title: "登录编辑", signin_label: "访问令牌", signin_submit: "登录", signin_checking: "正在核对令牌…",
  signin_empty: "请输入访问令牌", signin_bad: "令牌无效、已吊销或已过期，未登录。",
  signin_failed: "无法核对令牌：{m}", signin_who: "{name} · {role}（{region}）{rights}",
  signin_can_edit: "可编辑网格", signin_read_only: "只读",
  signin_member: "党员 {name}{place} · {rights}", signin_within: "（{place}）", signin_member_rights: "可接单、认领岗位，网格只读",
  signin_party_org: "党组织 {name}{place} · {rights}", signin_party_org_rights: "可派单、管理党小组和党员，网格只读", signin_until: "有效期至 {d}",
  signin_hint: "令牌由 gridmap token create 生成，只保存在本标签页。", menu: "菜单",
  region_everywhere: "全部区域", code_unknown: "{code}（未收录的代码）", hours: "开放时间",
  centre_kind: "类别", list_status: "状态", owner: "提供方", circle: "{minutes} · {method}",
  figures_loading: "正在读取本网格数据…", layer_cut: "{layer}：本视图共 {n} 个，仅显示 {shown} 个，请放大地图查看全部",
  layer_zoom_in: "{layer}：范围过大，请放大地图后显示", layer_shown: "{layer}：本视图 {n} 个",
  oh_Mo: "周一", oh_Tu: "周二", oh_We: "周三", oh_Th: "周四", oh_Fr: "周五", oh_Sa: "周六", oh_Su: "周日",
  oh_range: "{from}至{to}", oh_every_day: "每天", oh_holidays: "法定节假日", oh_always: "全天24小时开放",
  oh_all_day: "全天", oh_off: "休息", oh_list_sep: "、", oh_rule_sep: "；", oh_as_given: "（原文）{text}",
  kind_with_subtype: "{kind}（{subtype}）",
  // History notes the service writes.
  hn_created: "新建", hn_edited: "修改", hn_merged: "与 {code} 合并", hn_split: "拆分，切出部分成为新网格",
  hn_split_from: "由 {code} 拆分而来", hn_noded: "在与 {code} 相接处加点", hn_renumbered: "由 {code} 重新编号",
  left_edges: "{n} 处边界未逐点相接", left_outside: "有网格超出社区边界",
};

// Grid editor: drawing, vertex editing, shared borders, batch writes, coverage, refusals, split and merge.
Object.assign(WORDS, {
  split: "拆分", merge: "合并", editing: "编辑 {grid}",
  edit_hint: "拖动顶点改边界；与相邻网格共用的顶点和边一起移动。点边中间的小点加顶点，右键删顶点。",
  new_grid_short: "新网格", this_grid: "此网格", list_sep: "；",
  left_gaps: "{n} 处缺口，共 {m2} m²", left_overlaps: "{n} 处重叠，共 {m2} m²",
  coverage_line: "社区网格覆盖 {share} · 缺口 {gaps} m² · 重叠 {overlaps} m²",
  saved_exact: "已保存 {codes}，社区网格覆盖完整（{share}）", saved_left: "已保存（{codes}），但社区内仍有 {left}",
  unchanged_exact: "没有改动，未写入新版本（社区网格覆盖完整，{share}）", unchanged_left: "没有改动，未写入新版本；社区内仍有 {left}",
  preview_exact: "预览：保存后社区网格覆盖完整（{share}）。", preview_left: "预览：保存后社区内仍有 {left}。",
  confirm_preview: "确认保存", fill_gap: "填补缺口", give_way: "让出重叠部分", clip_outside: "裁去社区外部分",
  resume_edit: "继续修改", fill_intro: "{grid} 扩展到相邻的缺口。",
  stale_grid: "{grid} 已被他人修改（现为第 {version} 版），你的修改未保存。",
  overlap_item: "{name}（{code}）重叠 {m2} m²", refused_overlap: "未保存：{grid} 与 {list}",
  refused_outside: "未保存：{grid} 有 {m2} m² 超出所在社区", refused_gap: "未保存：{grid} 会留下 {m2} m² 缺口",
  refused_other: "未保存：{grid}：{why}", http_other: "服务器拒绝了这次修改",
  refusal_invalid_geometry: "边界图形无效（自相交、不闭合或太小）", refusal_if_match_required: "缺少版本信息，请重新加载",
  refusal_grid_not_found: "网格不存在或已删除", refusal_forbidden: "你的令牌无权修改这个社区的网格",
  refused_split_end: "未保存：线的一端落在 {grid} 内部，请从网格外（或边界上）画到另一侧",
  refused_split_parts: "未保存：这条线把 {grid} 切成了 {n} 块，须正好切成两块",
  refused_not_adjacent: "未合并：两个网格不相邻（最多只在一点相接）", refused_merge_with: "未合并：只能合并同一社区的两个网格",
  refusal_outside_china: "坐标不在中国境内", refusal_try_again: "他人正在同时修改，未保存；请稍后重试",
  note_edit: "编辑边界", note_border: "移动共用边界", note_create: "新建网格", note_retire: "删除网格",
  note_restore: "恢复第 {v} 版", note_fill: "填补缺口",
  delete_intro: "删除 {grid}：", split_title: "拆分 {grid}", split_suffix: "（分）", split_name: "新网格名称",
  split_hint: "在地图上画一条穿过网格的线（两端在网格外或边界上），在最后一点上再点一次结束。",
  split_intro: "{grid} 将拆成两块：", merge_title: "合并 {grid}", merge_hint: "在地图上点击要与它合并的相邻网格。",
  merge_intro: "{a} 与 {b} 合并（编码小的保留）：",
});

// Grid team roles by name; a role missing here is shown as its code.
export const ROLES = {
  leader: "网格长", worker: "网格员", guide: "指导员", police: "社区民警",
  mediator: "调解员", safety: "安全员", vanguard: "党员先锋队", volunteer: "志愿者",
};

// The domain's codes in words, per vocabulary (web/lib/words.js lists the codes).
export const CODES = {
  grid_kind: { basic: "基础网格", exclusive: "专属网格" },
  subtype: { campus: "校园", hospital: "医院", market: "商场市场", office: "商务楼宇", park: "园区公园", school: "学校", other: "其他" },
  incident_state: { reported: "已上报", pooled: "待抢单", queued: "待派单", dispatched: "已派单", handling: "处置中",
    resolved: "待核查", closed: "已结案", evaluated: "已考评", cancelled: "已作废", parked: "已挂账" },
  severity: { general: "一般", important: "重要", urgent: "紧急" },
  list_kind: { resource: "资源清单", need: "需求清单", project: "项目清单" },
  list_status: { open: "待对接", assigned: "已派单", matched: "已对接", in_progress: "实施中", done: "已完成", closed: "已关闭" },
  owner_kind: { unit: "驻区单位", resident: "居民", branch: "党支部" },
  centre_kind: { party_mass_center: "党群服务中心", red_station: "红色驿站", convenience_station: "便民服务站" },
  circle_method: { network: "按步行路网", buffer: "按直线距离（无路网）" },
  region_level: { district: "区", street: "街道", community: "社区", grid: "网格" },
  token_role: { admin: "管理员", district: "区", street: "街道", community: "社区", worker: "网格员", department: "部门", branch: "党支部", viewer: "查看者" },
  holder_kind: { office: "机关", staff: "网格工作人员", party_member: "党员", party_org: "党组织", department: "部门" },
  staff_role: { leader: "网格长", worker: "网格员", guide: "指导员", police: "社区民警", mediator: "调解员", safety: "安全员", vanguard: "党员先锋队", volunteer: "志愿服务队" },
  dispatch_mode: { claim: "街道抢单", dispatch: "区派单", auto: "抢单超时自动派单", team: "派网格团队", split: "分单", joint: "联单", escalate: "返单" },
  category_class: { city_management: "城市管理", social_governance: "社会治理" },
  care_tag: { hardship: "困难群众", elderly_alone: "独居老人", empty_nest: "空巢老人", left_behind_child: "留守儿童", disabled: "残疾人", subsistence: "低保户", serious_illness: "大病患者" },
  visit_outcome: { met: "已见面", not_home: "不在家", refused: "拒绝走访", moved: "已搬离", follow_up: "需跟进" },
  org_kind: { committee: "社区大党委", branch: "网格党支部", group: "楼栋(院落)党小组" },
  unit_kind: { government: "机关", institution: "事业单位", enterprise: "企业", school: "学校", hospital: "医院", social_org: "社会组织", other: "其他" },
  list_assignee: { member: "党员", unit: "驻区单位", team: "网格团队" },
  list_source: { public: "群众点单", worker: "网格员代录", office: "社区登记", member: "党员登记", import: "批量导入" },
};

// The board (/board): queues, time left, the incident pane, step forms, assessment.
Object.assign(WORDS, {
  board_title: "指挥中心", board_to_map: "地图", board_sign_in: "登录", board_sign_out: "退出", board_need_sign_in: "请先用指挥中心或部门的令牌登录",
  board_ready: "已就绪 · 每秒自动刷新", board_all: "全部", board_from: "上报自", board_to: "至", board_filter: "筛选",
  board_clear: "清除", board_bulk_accept: "批量受理", board_bulk_claim: "批量抢单", board_bulk_dispatch: "批量派单",
  board_selected: "已选 {n} 件", board_bulk_done: "{step}：成功 {ok} 件，已被他人更新 {stale} 件，未能办理 {refused} 件",
  board_col_id: "编号", board_col_left: "剩余时间", board_col_place: "街道 / 社区 / 网格", board_col_reported: "上报时间",
  board_col_tasks: "子任务", board_empty: "此队列暂无事件", board_page: "第 {from}–{to} 件，共 {n} 件",
  board_prev: "上一页", board_next: "下一页", board_assessment: "考评",
  board_days_hours: "{d}天{h}小时", board_hours_minutes: "{h}小时{m}分", board_minutes: "{m}分钟",
  board_left: "剩 {d}", board_overdue_by: "超时 {d}", board_pool_prefix: "抢单窗口 ",
  board_tasks_summary: "{answered}/{total} 已反馈", board_stale: "此事件已被他人更新，已刷新",
  queue_to_accept: "待受理", queue_pool: "待抢单", queue_to_dispatch: "待派单", queue_dispatched: "已派单",
  queue_whistled: "已吹哨", queue_approvals: "待审批", queue_overdue: "已超时", queue_to_verify: "待核查", queue_mine: "我的任务",
  board_pane_title: "事件 #{id} · {category}", board_due: "办理时限", board_pool_until: "抢单截止", board_owner: "承办方", board_description: "描述",
  board_score: "考评分", board_steps_now: "可办理的步骤", board_no_steps: "当前无可办理的步骤", board_tasks: "子任务",
  board_not_suggested: "非清单建议部门", board_feedback: "反馈：{text}（{by}）", board_approvals: "审批",
  board_hours_n: "{n} 小时", board_photos: "照片", board_timeline: "办理经过",
  approval_extend: "延期申请", approval_park: "挂账申请",
  decision_pending: "待审批", decision_approved: "已批准", decision_refused: "已驳回",
  board_lead: "牵头", board_suggested: "清单建议", board_whistle_item: "吹哨清单事项：{item}", board_no_item: "吹哨清单中无匹配事项，请选择部门",
  board_send: "确认{step}", board_pick_department: "请至少选择一个部门", board_done: "已{step}（事件 #{id}）",
  field_note: "说明", field_reason: "理由", field_street: "派往街道", field_targets: "分派到（网格或社区编码）",
  field_departments: "吹哨部门", field_score: "考评分（0–100）", field_hours: "延长小时数",
  board_month: "月份", board_group: "按", board_show: "查看", board_csv: "下载 CSV", board_xlsx: "下载 XLSX",
  board_assessed: "{month} · 按{group}考评", board_rank: "排名", board_incidents: "事件数", board_closed: "已结案",
  board_on_time: "按时办结率", board_rework: "返工率", board_satisfaction: "满意度（考评分）",
  board_mean_hours: "平均用时（小时）", board_p90_hours: "P90 用时（小时）", board_overdue_now: "当前超时",
  group_worker: "网格员", group_grid: "网格", group_community: "社区", group_street: "街道", group_department: "部门",
  state_reported: "上报", state_pooled: "待抢单", state_queued: "待派单", state_dispatched: "已派单", state_handling: "处置中",
  state_resolved: "待核查", state_closed: "已结案", state_evaluated: "已考评", state_cancelled: "已作废", state_parked: "已挂账",
  state_accepted: "已立案", state_returned: "已返工", state_extended: "已延期",
  task_state_assigned: "待报到", task_state_working: "处置中", task_state_answered: "已反馈", task_state_withdrawn: "已撤回",
  system_actor: "系统", step_pool_close: "抢单时限到",
  system_pool_close: "抢单时限已到，转区指挥中心派单", system_dispatch: "抢单时限已到，自动派往所在街道",
  system_resolve: "全部子任务已反馈",
  step_start: "开始处置", step_extend: "延期", step_park: "挂账", step_return: "退回重办",
  step_accept: "受理立案", step_claim: "抢单", step_dispatch: "派单", step_split: "分单", step_whistle: "吹哨(联单)",
  step_return_up: "返单", step_resume: "恢复", step_close: "结案", step_rework: "退回重办", step_evaluate: "考评",
  step_cancel: "作废", step_request_extend: "申请延期", step_request_park: "申请挂账", step_report_in: "报到",
  step_answer: "反馈", step_withdraw: "撤回", step_approve: "批准", step_refuse: "驳回", step_report: "上报",
  step_resolve: "全部反馈", step_merge: "合并",
  err_stale_etag: "此事件已被他人更新", err_if_match_required: "缺少版本信息，请刷新后再试",
  err_conflict: "当前状态下不能办理此步骤", err_wrong_step: "当前状态下不能办理此步骤", err_forbidden: "你的令牌无权办理此步骤",
  err_unauthorized: "未登录或令牌无效", err_not_found: "未找到", err_invalid_input: "填写的内容不符合要求",
  err_try_again: "他人正在同时办理，请稍后重试", err_database_unavailable: "数据库暂不可用，请稍后再试",
});

// Patrols (巡查) and visits (走访) on the map and the board.
Object.assign(WORDS, {
  patrol_coverage: "巡查覆盖", visit_overdue: "走访逾期", patrol_period: "巡查覆盖的时段",
  patrol_day: "今天", patrol_week: "本周",
  patrol_share_day: "今日巡查覆盖率", patrol_share_week: "本周巡查覆盖率", patrol_no_street: "网格内无道路",
  patrol_n: "{n} 次巡查", patrol_unwalked: "未巡查路段", patrol_walked: "已巡查路段",
  patrol_band_high: "≥85%", patrol_band_good: "60–85%", patrol_band_part: "30–60%", patrol_band_low: "<30%",
  patrol_band_none: "无道路", patrol_legend: "巡查覆盖率（今天/本周）",
  visit_overdue_n: "逾期未走访户数", visit_sign_in: "登录后可查看走访逾期的住户", visit_sign_in_short: "登录后可见",
  visit_not_yours: "无权查看", visit_home: "单元/房间", visit_last: "上次走访", visit_never: "从未走访",
  visit_days_overdue: "逾期天数", visit_care_tags: "关爱标签", visit_masked: "（已隐去）",
  visit_legend: "逾期未走访（深色：逾期超过 7 天）",
  patrol_share_month: "巡查覆盖率（月均）", patrol_km: "巡查里程（公里）", patrol_hours: "巡查时长（小时）",
  visit_made: "走访次数", visit_overdue_now: "逾期未走访",
});

// The phone page (/m/): its shell, sign-in, report and sync; its patrol, visits and tasks.
Object.assign(WORDS, PHONE, FIELD, ORG_ERRORS, PARTITION_ERRORS);
// The three lists' flow, posts and the public need form.
Object.assign(WORDS, LISTS);

// Grid teams, the organisation's checks and figures.
Object.assign(WORDS, TEAMS);

// The organisation on the map: the Party layer and tree, a grid's organisation and team, the lists' flow.
Object.assign(WORDS, ORG);
// The public page of a community (/public/{community}): its lists and the need form.
Object.assign(WORDS, PUBLIC);
// Refusals of the OGC API (filters and edits over /ogc).
Object.assign(WORDS, OGC_ERRORS);
// The 2.5-D view (/3d).
Object.assign(WORDS, VIEW3D);
