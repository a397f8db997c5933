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
};


// Grid editor: drawing, vertex editing, shared borders, batch writes, coverage, refusals, split and merge.
Object.assign(WORDS, {
  split: "拆分", merge: "合并", editing: "编辑 {grid}",
  edit_hint: "拖动顶点改边界；与相邻网格共用的顶点和边一起移动。点边中间的小点加顶点，右键删顶点。",
  new_grid_short: "新网格", this_grid: "此网格", list_sep: "；",
  left_gaps: "{n} 处缺口，共 {m2} m²", left_overlaps: "{n} 处重叠，共 {m2} m²",
  coverage_line: "社区网格覆盖 {share} · 缺口 {gaps} m² · 重叠 {overlaps} m²",
  saved_exact: "已保存 {codes}，社区网格覆盖完整（{share}）", saved_left: "已保存（{codes}），但社区内仍有 {left}",
  nothing_changed: "没有改动",
  preview_exact: "预览：保存后社区网格覆盖完整（{share}）。", preview_left: "预览：保存后社区内仍有 {left}。",
  confirm_preview: "确认保存", fill_gap: "填补缺口", give_way: "让出重叠部分", clip_outside: "裁去社区外部分",
  resume_edit: "继续修改", fill_intro: "{grid} 扩展到相邻的缺口。",
  stale_grid: "{grid} 已被他人修改（现为第 {version} 版），你的修改未保存。",
  overlap_item: "{name}（{code}）重叠 {m2} m²", refused_overlap: "未保存：{grid} 与 {list}",
  refused_outside: "未保存：{grid} 有 {m2} m² 超出所在社区", refused_gap: "未保存：{grid} 会留下 {m2} m² 缺口",
  refused_other: "未保存：{grid}：{why}", http_other: "服务器拒绝了这次修改",
  refusal_invalid_geometry: "边界图形无效（自相交、不闭合或太小）", refusal_if_match_required: "缺少版本信息，请重新加载",
  refusal_grid_not_found: "网格不存在或已删除", refusal_forbidden: "你的令牌无权修改这个社区的网格",
  refusal_not_adjacent: "两个网格不相邻，不能合并", refusal_bad_split: "这条线没有把网格切成两块",
  refusal_outside_china: "坐标不在中国境内",
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
  mediator: "调解员", safety: "安全员", volunteer: "志愿者",
};
