// The interface's words in Chinese (the default language).
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
  signin_can_edit: "可编辑网格", signin_read_only: "只读", signin_until: "有效期至 {d}",
  signin_hint: "令牌由 gridmap token create 生成，只保存在本标签页。", menu: "菜单",
  region_everywhere: "全部区域", code_unknown: "{code}（未收录的代码）", hours: "开放时间",
  centre_kind: "类别", list_status: "状态", owner: "提供方", circle: "{minutes} · {method}",
  figures_loading: "正在读取本网格数据…", layer_cut: "{layer}：本视图共 {n} 个，仅显示 {shown} 个，请放大地图查看全部",
  layer_zoom_in: "{layer}：范围过大，请放大地图后显示", layer_shown: "{layer}：本视图 {n} 个",
  oh_Mo: "周一", oh_Tu: "周二", oh_We: "周三", oh_Th: "周四", oh_Fr: "周五", oh_Sa: "周六", oh_Su: "周日",
  oh_range: "{from}至{to}", oh_every_day: "每天", oh_holidays: "法定节假日", oh_always: "全天24小时开放",
  oh_all_day: "全天", oh_off: "休息", oh_list_sep: "、", oh_rule_sep: "；", oh_as_given: "（原文）{text}",
  kind_with_subtype: "{kind}（{subtype}）",
};

// Grid team roles by name; a role missing here is shown as its code.
export const ROLES = {
  leader: "网格长", worker: "网格员", guide: "指导员", police: "社区民警",
  mediator: "调解员", safety: "安全员", volunteer: "志愿者",
};

// The domain's codes in words, per vocabulary (web/lib/words.js lists the codes).
export const CODES = {
  grid_kind: { basic: "基础网格", exclusive: "专属网格" },
  subtype: { campus: "校园", hospital: "医院", market: "商场市场", office: "商务楼宇", park: "园区公园", school: "学校", other: "其他" },
  incident_state: { reported: "已上报", accepted: "已立案", cancelled: "已作废", dispatched: "已派遣", handling: "处置中",
    resolved: "已处置", closed: "已结案", returned: "已返工", evaluated: "已考评", extended: "已延期", parked: "已挂账" },
  severity: { general: "一般", important: "重要", urgent: "紧急" },
  list_kind: { resource: "资源清单", need: "需求清单", project: "项目清单" },
  list_status: { open: "待对接", matched: "已对接", in_progress: "实施中", done: "已完成", closed: "已关闭" },
  owner_kind: { unit: "驻区单位", resident: "居民", branch: "党支部" },
  centre_kind: { party_mass_center: "党群服务中心", red_station: "红色驿站", convenience_station: "便民服务站" },
  circle_method: { network: "按步行路网", buffer: "按直线距离（无路网）" },
  region_level: { district: "区", street: "街道", community: "社区", grid: "网格" },
  token_role: { admin: "管理员", district: "区", street: "街道", community: "社区", worker: "网格员", viewer: "查看者" },
  holder_kind: { office: "机关", staff: "网格工作人员", party_member: "党员", department: "部门" },
  staff_role: { leader: "网格长", worker: "网格员", guide: "指导员", police: "社区民警", mediator: "调解员", safety: "安全员", volunteer: "志愿者" },
  dispatch_mode: { team: "派网格团队", claim: "街道抢单", split: "分单", joint: "联单", escalate: "返单" },
  category_class: { city_management: "城市管理", social_governance: "社会治理" },
};
