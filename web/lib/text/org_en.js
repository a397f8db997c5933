// The words of the organisation on the map (English): the Party layer, its tree, a grid's
// organisation and team, the grid warnings layer, and the lists' flow (assign, take on, done).
export const WORDS = {
  org: "Party organisation", org_warnings: "Grid warnings",
  org_grid_branch: "Grid with a Party branch", org_grid_no_branch: "Grid without a Party branch",
  org_building_no_group: "Building with households but no Party group", org_central: "Party-member central household (number: households served)",
  org_central_bad: "Serving fewer than {min} or more than {max}", org_unit: "Resident unit", org_unit_member: "Member unit of the big committee",
  org_tree: "Organisation", org_tree_title: "{name} · organisation", org_tree_pick: "Community",
  org_tree_empty: "No Party organisation in this community yet", org_tree_loading: "Reading the organisation…",
  org_counts: "{members} members · {households} households", org_serves: "serves {n}", org_central_short: "Central household",
  org_central_at: "{building} {unit} {room}", org_warnings_n: "{n} warnings",
  org_layer_ready: "Party organisation: {communities} communities, {grids} grids with a branch ({ms} ms)",
  org_warnings_ready: "Grid warnings: {n}", org_warnings_list: "List of warnings", org_warnings_none: "No warnings here",
  org_of_grid: "Party and team", org_grid_title: "{name} · Party and team", org_branch: "Grid Party branch",
  org_no_branch: "This grid has no Party branch yet", org_secretary: "Secretary", org_groups: "Party groups", org_no_groups: "No groups",
  org_members: "Party members", org_no_members: "No members", org_units: "Resident units", org_no_units: "No resident units",
  org_team: "Grid team", org_no_team: "No one on the grid team yet", org_warnings_head: "Warnings", org_no_warnings: "No warnings",
  org_hidden: "hidden", org_in_service: "in service", org_registered: "registered with the community", org_hours: "{n} h served",
  org_committee_member: "member of the big committee", org_since: "since {d}", org_team_name: "team: {team}",
  org_loading: "Reading this grid's organisation…", org_failed: "Could not read: {m}",
  team_name: "Name", team_phone: "Phone",
  team_save: "Save", team_change: "Change", team_move_to: "Move to",
  team_move_go: "Move", team_retire_confirm: "Retire {name} from this grid?", team_retire_yes: "Retire",
  team_added: "Added {name} ({role})", team_changed: "Changed", team_moved: "Moved to {grid}", team_retired: "Retired: {name}",
  team_name_needed: "Give a name", team_refused: "Not saved: {m}", team_pick_grid: "Pick a grid",
  flow: "Progress", flow_entered: "Entered", flow_assigned: "Assigned", flow_taken: "Taken on", flow_done: "Done", flow_closed: "Closed",
  flow_to_member: "member {name}", flow_to_unit: "resident unit {name}", flow_to_team: "the grid team",
  flow_by: "{who}", flow_hours: "{n} h", flow_report: "Report", flow_source: "Source", flow_wish: "Small wish",
  list_assign: "Assign", list_claim: "Take on", list_complete: "Done", list_close: "Close",
  assign_to: "Assign to", assign_member: "Party member", assign_unit: "Resident unit", assign_team: "Grid team", assign_note: "Note (optional)",
  assign_send: "Assign", assign_pick: "Pick whom to assign it to", assign_no_members: "No members in this grid to assign to",
  complete_report: "What was done", complete_hours: "Hours served", complete_send: "Report done",
  complete_report_needed: "Say what was done", complete_hours_bad: "Hours must be between 0 and 1000",
  list_assigned_ok: "Assigned", list_claimed_ok: "Taken on", list_completed_ok: "Done", list_closed_ok: "Closed",
  list_refused: "Not done: {m}", list_reload: "This item changed; shown as it is now",
  err_org_parent_kind: "Wrong parent: a branch goes under a committee, a group under a branch",
  err_grid_has_branch: "The grid already has a branch", err_building_has_group: "The building already has a group",
  err_org_outside_community: "A grid or building outside the organisation's community", err_org_has_children: "The organisation still has organisations under it",
  err_org_has_members: "The organisation still has members",
  err_list_item_taken: "Another member took it on first", err_list_wrong_state: "Not possible in its current state",
  err_outside_community: "The place is outside the community", err_too_many_requests: "Too many requests; try again later",
  err_validation_error: "Something entered is not accepted",
  err_grid_staff_not_found: "No longer on this grid's team", err_person_not_found: "No such person",
 
 
 
  err_member_not_found: "No such member", err_unit_not_found: "No such resident unit",
};


Object.assign(WORDS, {
  warn_grid_no_leader: "no grid leader", warn_grid_no_worker: "no full-time worker", warn_leader_too_many_grids: "leader of too many grids",
  warn_grid_too_few_households: "too few households", warn_grid_too_many_households: "too many households", warn_grid_no_branch: "no Party branch",
  warn_building_no_group: "buildings without a group", warn_central_too_few: "central household serving too few", warn_central_too_many: "central household serving too many",
  warn_reassign_after_redraw: "to reassign after a redraw",
});
