// The words of the Party organisation's refusals (Chinese), by error code.
export const WORDS = {
  err_org_parent_kind: "组织层级不对：社区大党委不设上级，网格党支部隶属社区大党委，楼栋党小组隶属网格党支部",
  err_org_outside_community: "所选网格、楼栋或上级组织不在本组织所在社区",
  err_grid_has_branch: "该网格已有网格党支部（一个网格只设一个支部）",
  err_building_has_group: "该楼栋已有楼栋党小组（一个楼栋只设一个党小组）",
  err_org_has_children: "该组织下还有下级组织，请先调整或删除下级组织",
  err_org_has_members: "该组织还有党员或党员中心户，请先转出",
  err_org_has_tokens: "该组织书记的令牌仍然有效，请先吊销令牌",
  err_person_is_member: "此人已是党员，不能重复登记",
  err_member_has_work: "该党员还有认领的清单事项或岗位，请先移交",
  err_unit_committee_elsewhere: "驻区单位只能加入所在社区的大党委",
  err_household_outside_group: "所选党小组不管该户所在的楼栋，请选一个管这栋楼的党小组",
  err_person_elsewhere: "无权选用此人：此人不是本辖区网格的工作人员，也不是本辖区组织的党员或书记",
  err_group_outside_branch: "楼栋党小组的楼栋须在其上级网格党支部的网格内",
  err_post_code_taken: "该岗位编号已被使用，请换一个编号",
  err_status_by_flow: "需求、微心愿和项目的状态只能通过派单、接单、完成、关闭来改变",
};
