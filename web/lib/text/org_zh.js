// The words of the organisation on the map (Chinese): the 党组织 layer, its tree, a grid's
// organisation and team, the 网格提醒 layer, and the lists' flow (派单, 接单, 完成).
export const WORDS = {
  // The layers and their legend.
  org: "党组织", org_warnings: "网格提醒",
  org_grid_branch: "已建网格党支部", org_grid_no_branch: "未建网格党支部",
  org_building_no_group: "有住户未建党小组的楼栋", org_central: "党员中心户（数字：联系户数）",
  org_central_bad: "联系户数少于 {min} 或多于 {max}", org_unit: "驻区单位", org_unit_member: "大党委成员单位",
  org_tree: "组织架构", org_tree_title: "{name} · 组织架构", org_tree_pick: "社区",
  org_tree_empty: "本社区尚未建立党组织", org_tree_loading: "正在读取组织架构…",
  org_counts: "党员 {members} · 户 {households}", org_serves: "联系 {n} 户", org_central_short: "中心户",
  org_central_at: "{building} {unit} {room}", org_warnings_n: "{n} 条提醒",
  org_layer_ready: "党组织：{communities} 个社区，{grids} 个网格建有党支部（{ms} 毫秒）",
  org_warnings_ready: "网格提醒：{n} 条", org_warnings_list: "提醒列表", org_warnings_none: "此范围内没有提醒",
  // A grid's organisation (click on a grid).
  org_of_grid: "党组织与团队", org_grid_title: "{name} · 党组织与团队", org_branch: "网格党支部",
  org_no_branch: "本网格尚未建立党支部", org_secretary: "书记", org_groups: "党小组", org_no_groups: "无党小组",
  org_members: "党员", org_no_members: "无党员", org_units: "驻区单位", org_no_units: "无驻区单位",
  org_team: "网格团队", org_no_team: "尚无网格团队成员", org_warnings_head: "提醒", org_no_warnings: "无提醒",
  org_hidden: "已隐去", org_in_service: "在职党员", org_registered: "已到社区报到", org_hours: "服务 {n} 小时",
  org_committee_member: "大党委成员单位", org_since: "{d} 起", org_team_name: "队伍：{team}",
  org_loading: "正在读取本网格的党组织…", org_failed: "读取失败：{m}",
  // Team editing.
  team_name: "姓名", team_phone: "电话",
  team_save: "保存", team_change: "修改", team_move_to: "调往",
  team_move_go: "确认调动", team_retire_confirm: "确认 {name} 离任？", team_retire_yes: "确认离任",
  team_added: "已添加 {name}（{role}）", team_changed: "已修改", team_moved: "已调往 {grid}", team_retired: "已离任：{name}",
  team_name_needed: "请填写姓名", team_refused: "未保存：{m}", team_pick_grid: "请选择网格",
  // The lists' flow.
  flow: "办理经过", flow_entered: "登记", flow_assigned: "派单", flow_taken: "接单", flow_done: "完成", flow_closed: "关闭",
  flow_to_member: "党员 {name}", flow_to_unit: "驻区单位 {name}", flow_to_team: "网格团队",
  flow_by: "{who}", flow_hours: "{n} 小时", flow_report: "完成情况", flow_source: "来源", flow_wish: "微心愿",
  list_assign: "派单", list_claim: "接单", list_complete: "完成", list_close: "关闭",
  assign_to: "派给", assign_member: "党员", assign_unit: "驻区单位", assign_team: "网格团队", assign_note: "说明（可选）",
  assign_send: "确认派单", assign_pick: "请选择派给谁", assign_no_members: "本网格没有可派的党员",
  complete_report: "完成情况", complete_hours: "服务时长（小时）", complete_send: "确认完成",
  complete_report_needed: "请填写完成情况", complete_hours_bad: "服务时长须在 0 到 1000 小时之间",
  list_assigned_ok: "已派单", list_claimed_ok: "已接单", list_completed_ok: "已完成", list_closed_ok: "已关闭",
  list_refused: "未办理：{m}", list_reload: "此条目已变化，已刷新",
  // Refusals of the organisation's, teams' and lists' endpoints, by code.
  err_org_parent_kind: "上级组织类型不对：支部须在大党委下，党小组须在支部下",
  err_grid_has_branch: "该网格已有党支部", err_building_has_group: "该楼栋已有党小组",
  err_org_outside_community: "网格或楼栋不在本组织所在社区", err_org_has_children: "该组织下还有下级组织",
  err_org_has_members: "该组织还有党员",
  err_list_item_taken: "已被其他党员接单", err_list_wrong_state: "当前状态下不能办理此步骤",
  err_outside_community: "位置不在本社区", err_too_many_requests: "提交过于频繁，请稍后再试",
  err_validation_error: "填写的内容不符合要求",
  err_grid_staff_not_found: "该成员已不在本网格", err_person_not_found: "未找到此人",
 
 
 
  err_member_not_found: "未找到该党员", err_unit_not_found: "未找到该驻区单位",
};


// A check named without its figures (in the tree and a grid's panel).
Object.assign(WORDS, {
  warn_grid_no_leader: "无网格长", warn_grid_no_worker: "无专职网格员", warn_leader_too_many_grids: "网格长兼任过多网格",
  warn_grid_too_few_households: "户数过少", warn_grid_too_many_households: "户数过多", warn_grid_no_branch: "未建党支部",
  warn_building_no_group: "有楼栋未建党小组", warn_central_too_few: "中心户联系户数过少", warn_central_too_many: "中心户联系户数过多",
  warn_reassign_after_redraw: "网格重划后待重新分配",
});
