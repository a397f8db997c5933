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
};

// Grid team roles by name; a role missing here is shown as its code.
export const ROLES = {
  leader: "网格长", worker: "网格员", guide: "指导员", police: "社区民警",
  mediator: "调解员", safety: "安全员", volunteer: "志愿者",
};
