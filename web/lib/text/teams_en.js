// The words of grid teams, the organisation's checks and figures (English).
export const WORDS = {
  // Refusals of the team and reassignment endpoints, by error code.
  err_staff_not_found: "This post no longer exists; someone may have changed it",
  err_staff_exists: "This person already holds that post in the grid",
  err_staff_person_unknown: "No such person: choose again or enter a name",
  err_staff_team_role: "Only vanguard and volunteer posts belong to a team",
  err_grid_not_found: "No such grid (it may have been retired)",
  err_reassign_not_pending: "Nothing to reassign here for this item; reload and try again",
  err_household_outside_group: "The chosen group's branch does not hold the grid of this household's building",
  // The checks (warnings, never errors); {n} {min} {max} are filled in.
  check_grid_no_leader: "Grid without a leader",
  check_grid_no_worker: "Grid without a grid worker",
  check_leader_too_many_grids: "Leader of {n} grids (at most {max})",
  check_grid_too_few_households: "Basic grid of only {n} households ({min}–{max} expected)",
  check_grid_too_many_households: "Basic grid of {n} households ({min}–{max} expected)",
  check_grid_no_branch: "Grid without a Party branch",
  check_building_no_group: "Building of {n} households without a Party group",
  check_central_too_few: "Designated household serving only {n} households ({min}–{max} expected)",
  check_central_too_many: "Designated household serving {n} households ({min}–{max} expected)",
  check_reassign_after_redraw: "To reassign after a redraw (grid team or designated household)",
  checks_layer: "Grid warnings",
  // Grid team editing.
  team_add: "Add member", team_role: "Post", team_team: "Team", team_since: "Since",
  team_move: "Move to grid", team_retire: "Retire", team_reassign: "Reassign", team_suggested: "Suggested",
  // The organisation's figures (GET /stats/org).
  org_stat_grids: "Grids", org_stat_grids_with_branch: "Grids with a branch", org_stat_branches: "Branches",
  org_stat_buildings_with_households: "Buildings with households", org_stat_buildings_with_group: "Buildings with a group",
  org_stat_group_share: "Share of buildings with a group", org_stat_central_households: "Designated households",
  org_stat_households_served: "Households served", org_stat_members: "Party members",
  org_stat_in_service_registered: "In-service members registered", org_stat_hours_served: "Hours served",
};
