// The words of the three lists' flow, posts and the public need form's refusals (Chinese).
export const WORDS = {
  err_list_wrong_state: "此清单事项当前状态下不能办理此步骤",
  err_list_item_taken: "此事项已被他人认领",
  err_sheet_on_project_only: "服务内容、服务标准、时限、责任单位和责任人只用于项目清单",
  err_wish_on_need_only: "微心愿只能是需求清单事项",
  err_assignee_outside: "只能派给本社区的党员、驻区单位或本网格团队",
  err_not_a_member: "只有本社区的党员（含报到的在职党员）可以认领",
  err_post_taken: "此岗位已有党员认领",
  err_post_not_taken: "此岗位尚无党员认领",
  err_not_a_community: "请使用社区编码（12 位）",
  err_no_grid_here: "此位置不在本社区的任何网格内",
  err_outside_community: "所选位置不在本社区内",
  err_outside_china: "坐标不在中国境内，请检查经纬度",
  err_too_many_requests: "提交过于频繁，请稍后再试",
  err_region_not_found: "未找到该社区",
};
