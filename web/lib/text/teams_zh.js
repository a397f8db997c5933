// The words of grid teams, the organisation's checks and figures (Chinese).
export const WORDS = {
  // Refusals of the team and reassignment endpoints, by error code.
  err_staff_not_found: "未找到该网格岗位，可能已被他人调整",
  err_staff_exists: "此人已在该网格担任这一岗位",
  err_staff_person_unknown: "未找到此人，请重新选择或填写姓名",
  err_staff_team_role: "只有党员先锋队、志愿服务队成员可填写所属队伍",
  err_grid_not_found: "未找到该网格（可能已被撤销）",
  err_reassign_not_pending: "此项无需在该网格重新分配，请刷新后再试",
  err_household_outside_group: "所选党小组所属支部不在该户楼栋所在的网格",
  // The checks (warnings, never errors); {n} {min} {max} are filled in.
  check_grid_no_leader: "网格没有网格长",
  check_grid_no_worker: "网格没有专职网格员",
  check_leader_too_many_grids: "网格长同时负责 {n} 个网格（最多 {max} 个）",
  check_grid_too_few_households: "基础网格仅 {n} 户（宜 {min}–{max} 户）",
  check_grid_too_many_households: "基础网格有 {n} 户（宜 {min}–{max} 户）",
  check_grid_no_branch: "网格未建党支部",
  check_building_no_group: "楼栋有 {n} 户居民，未建党小组",
  check_central_too_few: "党员中心户仅联系 {n} 户（宜 {min}–{max} 户）",
  check_central_too_many: "党员中心户联系 {n} 户（宜 {min}–{max} 户）",
  check_reassign_after_redraw: "网格调整后需重新分配（网格团队或党员中心户）",
  checks_layer: "网格提醒",
  // Grid team editing.
  team_add: "添加成员", team_role: "岗位", team_team: "所属队伍", team_since: "任职起始",
  team_move: "调往网格", team_retire: "离任", team_reassign: "重新分配", team_suggested: "建议",
  // The organisation's figures (GET /stats/org).
  org_stat_grids: "网格数", org_stat_grids_with_branch: "已建支部的网格", org_stat_branches: "网格党支部",
  org_stat_buildings_with_households: "有住户的楼栋", org_stat_buildings_with_group: "已建党小组的楼栋",
  org_stat_group_share: "楼栋党小组覆盖率", org_stat_central_households: "党员中心户",
  org_stat_households_served: "联系户数", org_stat_members: "党员", org_stat_in_service_registered: "在职党员报到",
  org_stat_hours_served: "服务时长（小时）",
};
