// The words of the Party organisation's refusals (English), by error code.
export const WORDS = {
  err_org_parent_kind:
    "Wrong level: a community committee has no parent, a grid branch sits under a committee, a building group under a branch",
  err_org_outside_community: "The chosen grid, building or parent lies outside the organisation's community",
  err_grid_has_branch: "This grid already has its Party branch (one branch per grid)",
  err_building_has_group: "This building already has its Party group (one group per building)",
  err_org_has_children: "Organisations still sit under this one: move or remove them first",
  err_org_has_members: "This organisation still has members or central households: move them first",
  err_org_has_tokens: "The secretary's token is still live: revoke it first",
  err_person_is_member: "This person is already a Party member",
  err_member_has_work: "This member still holds list items or a post: hand them on first",
  err_unit_committee_elsewhere: "A resident unit joins only its own community's committee",
  err_household_outside_group: "The chosen Party group does not look after this household's building: choose a group that does",
  err_person_elsewhere: "You may not name this person: not staff of a grid you cover, nor a member or secretary of an organisation in your area",
  err_group_outside_branch: "A group's buildings must lie in the grids of the branch it sits under",
  err_post_code_taken: "Another post already has this code: choose another",
  err_status_by_flow: "A need's, wish's or project's status moves only by assigning, claiming, completing and closing it",
};
