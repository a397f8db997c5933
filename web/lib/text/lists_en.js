// The words of the three lists' flow, posts and the public need form's refusals (English).
export const WORDS = {
  err_list_wrong_state: "This item's status does not allow this step",
  err_list_item_taken: "Someone else has already taken this item",
  err_sheet_on_project_only: "Service content, standard, deadline, responsible unit and person are for projects only",
  err_wish_on_need_only: "A small wish must be a need",
  err_assignee_outside: "Assign only to a Party member, resident unit or grid team of this community",
  err_not_a_member: "Only a Party member serving in this community (or registered with it) may claim this",
  err_post_taken: "Another member already holds this post",
  err_post_not_taken: "Nobody holds this post",
  err_not_a_community: "Use a community's code (12 digits)",
  err_no_grid_here: "This place lies in none of the community's grids",
  err_outside_community: "The place you chose lies outside this community",
  err_outside_china: "These coordinates lie outside China: check longitude and latitude",
  err_too_many_requests: "Too many submissions: please try again later",
  err_region_not_found: "No such community",
};
