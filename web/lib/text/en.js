// The interface's words in English.
import { WORDS as PHONE } from "./phone_en.js";
import { WORDS as FIELD } from "./field_en.js";
import { WORDS as LISTS } from "./lists_en.js";
import { WORDS as TEAMS } from "./teams_en.js";
import { WORDS as ORG } from "./org_en.js";
import { WORDS as ORG_ERRORS } from "./errors_org_en.js";
import { WORDS as PARTITION_ERRORS } from "./errors_partition_en.js";
import { WORDS as PUBLIC } from "./public_en.js";
import { WORDS as OGC_ERRORS } from "./errors_ogc_en.js";
import { WORDS as VIEW3D } from "./view3d_en.js";
export const WORDS = {
  title: "Grid map", search: "Search", search_placeholder: "Address or grid code", sign_in: "Sign in to edit",
  signed_in: "Signed in", sign_out: "Stop editing", token_prompt: "Access token (from gridmap token create):",
  loading: "Loading…", ready: "{n} grids · click the map to find the grid", load_failed: "Failed to load: {m}",
  streets: "Streets", communities: "Communities", grids: "Grids", basic: "Basic grid", exclusive: "Exclusive grid",
  problems: "Coverage gaps and overlaps", buildings: "Buildings", centers: "Service centres",
  circles: "15-minute circles", uncovered: "Buildings outside circles", designated: "Designated households",
  incidents: "Incidents", lists: "Three lists",
  grid_code: "Grid code", kind: "Kind", community: "Community", street: "Street", district: "District",
  team: "Grid team", coords: "Point {lon}, {lat} (WGS84)", not_in_grid: "This point is in no grid",
  nearest_grid: "Nearest grid: {name} ({code}), {m} m", lookup_failed: "Lookup failed: {m}",
  households: "Households", designated_n: "Designated households", coverage_share: "Circle coverage",
  open_incidents: "Open incidents", on_time: "On-time closure", lists_of_grid: "Lists of this grid",
  resource: "Resource", need: "Need", project: "Project", none: "none",
  edit: "Edit boundary", cut: "Cut", delete: "Delete", history: "History", save: "Save", cancel: "Cancel",
  draw_hint: "Draw the new grid on the map, then save", saved: "Saved {code} (version {v})",
  rejected: "Not saved: {m}", stale: "Someone else changed this grid (now version {version}); your change was not saved.",
  reload: "Reload", deleted: "Deleted {code}", confirm_delete: "Delete grid {code}?",
  restore: "Restore this version", version: "Version", by: "By", when: "When", note: "Note",
  need_token: "Sign in to edit first", not_found: "Not found: {q}", found_grid: "Grid {code} {name}",
  serves: "serves {n}", cross_grid: "other grid", overdue: "overdue", state: "State",
  severity: "Severity", category: "Category", distance: "{m} m from the nearest circle",
  no_network: "no network: buffer", minutes: "{n} min", method: "Method", base: "Base map", new_grid: " new grid", new_grid_title: "New grid · {community}", name: "Name",
  http_400: "Bad request", http_401: "Not signed in, or the token is not valid", http_403: "Not allowed",
  http_404: "Not found", http_409: "In conflict with existing data", http_412: "Changed by someone else",
  http_413: "Too large", http_422: "Not valid", http_429: "Too many requests; try again shortly",
  http_500: "Server error", http_503: "Service unavailable", network: "No network",
  // Address search: the candidate list, what matched, weak matches.
  weak_match: "weak match", weak_note: " (weak match)", candidates_head: "Candidates: {n}", no_grid_here: "in no grid",
  matched_building_name: "building name", matched_community_and_number: "community and number",
  matched_road_and_number: "road and door number", matched_partial_name: "part of the name",
  matched_similar_name: "similar name", matched_road_only: "same road, other number",

  // The map page: sign-in, opening hours, layers read for the view, the phone-width header.
  signin_title: "Sign in to edit", signin_label: "Access token", signin_submit: "Sign in",
  signin_checking: "Checking the token…", signin_empty: "Enter an access token",
  signin_bad: "This token is unknown, revoked or expired: not signed in.",
  signin_failed: "Could not check the token: {m}", signin_who: "{name} · {role} ({region}) {rights}",
  signin_can_edit: "may edit grids", signin_read_only: "read only",
  signin_member: "Party member {name}{place} · {rights}", signin_within: " ({place})", signin_member_rights: "takes on list items and posts; grids read only",
  signin_party_org: "Party organisation {name}{place} · {rights}", signin_party_org_rights: "assigns list items, runs its groups and members; grids read only", signin_until: "valid until {d}",
  signin_hint: "Tokens are made with gridmap token create and kept in this tab only.", menu: "Menu",
  region_everywhere: "all areas", code_unknown: "{code} (unlisted code)", hours: "Opening hours",
  centre_kind: "Kind", list_status: "Status", owner: "Offered by", circle: "{minutes} · {method}",
  figures_loading: "Reading this grid's figures…",
  layer_cut: "{layer}: {n} in this view, {shown} shown; zoom in to see them all",
  layer_zoom_in: "{layer}: zoom in to show them", layer_shown: "{layer}: {n} in this view",
  oh_Mo: "Mon", oh_Tu: "Tue", oh_We: "Wed", oh_Th: "Thu", oh_Fr: "Fri", oh_Sa: "Sat", oh_Su: "Sun",
  oh_range: "{from}–{to}", oh_every_day: "every day", oh_holidays: "public holidays",
  oh_always: "open 24 hours, every day", oh_all_day: "all day", oh_off: "closed", oh_list_sep: ", ",
  oh_rule_sep: "; ", oh_as_given: "(as given) {text}",
  kind_with_subtype: "{kind} ({subtype})",
  // History notes the service writes.
  hn_created: "created", hn_edited: "edited", hn_merged: "merged with {code}", hn_split: "split; the cut-off part is a new grid",
  hn_split_from: "split from {code}", hn_noded: "vertex added where {code} meets it", hn_renumbered: "renumbered from {code}",
  left_edges: "{n} edges that do not meet vertex for vertex", left_outside: "a grid reaches outside the community",
};


// Grid editor: drawing, vertex editing, shared borders, batch writes, coverage, refusals, split and merge.
Object.assign(WORDS, {
  split: "Split", merge: "Merge", editing: "Editing {grid}",
  edit_hint: "Drag vertices to move the boundary; vertices and edges shared with neighbouring grids move with it. Click an edge's middle dot to add a vertex, right-click one to remove it.",
  new_grid_short: "New grid", this_grid: "This grid", list_sep: "; ",
  left_gaps: "{n} gap(s), {m2} m² in all", left_overlaps: "{n} overlap(s), {m2} m² in all",
  coverage_line: "Community covered by grids: {share} · gaps {gaps} m² · overlaps {overlaps} m²",
  saved_exact: "Saved {codes}; the community is covered exactly ({share})", saved_left: "Saved ({codes}), but the community still has {left}",
  unchanged_exact: "Nothing changed, no new version written (the community is covered exactly, {share})", unchanged_left: "Nothing changed, no new version written; the community still has {left}",
  preview_exact: "Preview: after saving, the community is covered exactly ({share}).", preview_left: "Preview: after saving, the community still has {left}.",
  confirm_preview: "Confirm and save", fill_gap: "Fill the gap", give_way: "Give way (drop the overlap)", clip_outside: "Clip to the community",
  resume_edit: "Keep editing", fill_intro: "{grid} extends into the neighbouring gaps.",
  stale_grid: "{grid} was changed by someone else (now version {version}); your change was not saved.",
  overlap_item: "{name} ({code}) by {m2} m²", refused_overlap: "Not saved: {grid} overlaps {list}",
  refused_outside: "Not saved: {m2} m² of {grid} lie outside its community", refused_gap: "Not saved: {grid} would leave a gap of {m2} m²",
  refused_other: "Not saved: {grid}: {why}", http_other: "the server refused this change",
  refusal_invalid_geometry: "the boundary is not a valid shape (crosses itself, not closed or too small)", refusal_if_match_required: "the version is missing; reload the grid",
  refusal_grid_not_found: "the grid does not exist or was deleted", refusal_forbidden: "your token may not change this community's grids",
  refused_split_end: "Not saved: one end of the line lies inside {grid}; draw it from outside the grid (or its edge) across to the other side",
  refused_split_parts: "Not saved: the line cuts {grid} into {n} parts; it must cut it into exactly two",
  refused_not_adjacent: "Not merged: the two grids are not neighbours (they meet at a point at most)", refused_merge_with: "Not merged: only two grids of one community can be merged",
  refusal_outside_china: "the coordinates are outside China", refusal_try_again: "someone else was saving at the same moment; nothing was saved, try again",
  note_edit: "Boundary edited", note_border: "Shared border moved", note_create: "Grid created", note_retire: "Grid deleted",
  note_restore: "Version {v} restored", note_fill: "Gap filled",
  delete_intro: "Delete {grid}:", split_title: "Split {grid}", split_suffix: " (part)", split_name: "Name of the new grid",
  split_hint: "Draw a line across the grid (both ends outside it or on its boundary); click the last point again to finish.",
  split_intro: "{grid} becomes two grids:", merge_title: "Merge {grid}", merge_hint: "Click the neighbouring grid to merge it with.",
  merge_intro: "{a} and {b} merged (the lower code stays):",
});

// Grid team roles by name; a role missing here is shown as its code.
export const ROLES = {};

// The domain's codes in words, per vocabulary (web/lib/words.js lists the codes).
export const CODES = {
  grid_kind: { basic: "Basic grid", exclusive: "Exclusive grid" },
  subtype: { campus: "campus", hospital: "hospital", market: "market", office: "office building", park: "park", school: "school", other: "other" },
  incident_state: { reported: "Reported", pooled: "In the street's pool", queued: "To dispatch", dispatched: "Dispatched", handling: "Being handled",
    resolved: "To verify", closed: "Closed", evaluated: "Evaluated", cancelled: "Cancelled", parked: "Parked" },
  severity: { general: "General", important: "Important", urgent: "Urgent" },
  list_kind: { resource: "Resource list", need: "Needs list", project: "Project list" },
  list_status: { open: "Open", assigned: "Assigned", matched: "Matched", in_progress: "In progress", done: "Done", closed: "Closed" },
  owner_kind: { unit: "Resident unit", resident: "Resident", branch: "Party branch" },
  centre_kind: { party_mass_center: "Party–mass service centre", red_station: "Red station", convenience_station: "Convenience station" },
  circle_method: { network: "along the walking network", buffer: "straight-line distance (no network)" },
  region_level: { district: "District", street: "Street", community: "Community", grid: "Grid" },
  token_role: { admin: "Administrator", district: "District office", street: "Street office", community: "Community office", worker: "Grid worker", department: "Department", branch: "Party branch", viewer: "Viewer" },
  holder_kind: { office: "Office", staff: "Grid staff", party_member: "Party member", party_org: "Party organisation", department: "Department" },
  staff_role: { leader: "Grid leader", worker: "Grid worker", guide: "Guide", police: "Community police", mediator: "Mediator", safety: "Safety officer", vanguard: "Party vanguard", volunteer: "Volunteer" },
  dispatch_mode: { claim: "claimed by the street", dispatch: "dispatched by the district", auto: "dispatched when the pool's window closed", team: "to the grid team", split: "split down", joint: "whistled to departments", escalate: "returned up" },
  category_class: { city_management: "City management", social_governance: "Social governance" },
  care_tag: { hardship: "Hardship", elderly_alone: "Elderly living alone", empty_nest: "Empty-nest elderly", left_behind_child: "Left-behind child", disabled: "Disabled", subsistence: "Subsistence allowance", serious_illness: "Serious illness" },
  visit_outcome: { met: "Met", not_home: "Nobody home", refused: "Refused", moved: "Moved away", follow_up: "Needs follow-up" },
  org_kind: { committee: "Community Party committee", branch: "Grid Party branch", group: "Building Party group" },
  unit_kind: { government: "Government office", institution: "Public institution", enterprise: "Company", school: "School", hospital: "Hospital", social_org: "Social organisation", other: "Other" },
  list_assignee: { member: "Party member", unit: "Resident unit", team: "Grid team" },
  list_source: { public: "Resident's request", worker: "Entered by a grid worker", office: "Entered by the office", member: "Entered by a member", import: "Imported" },
};

// The board (/board): queues, time left, the incident pane, step forms, assessment.
Object.assign(WORDS, {
  board_title: "Command centre", board_to_map: "Map", board_sign_in: "Sign in", board_sign_out: "Sign out", board_need_sign_in: "Sign in with a command centre's or a department's token",
  board_ready: "Ready · refreshed every second", board_all: "All", board_from: "Reported from", board_to: "to", board_filter: "Filter",
  board_clear: "Clear", board_bulk_accept: "Accept selected", board_bulk_claim: "Claim selected", board_bulk_dispatch: "Dispatch selected",
  board_selected: "{n} selected", board_bulk_done: "{step}: {ok} done, {stale} changed by someone else, {refused} refused",
  board_col_id: "No.", board_col_left: "Time left", board_col_place: "Street / community / grid", board_col_reported: "Reported",
  board_col_tasks: "Sub-tasks", board_empty: "Nothing waits in this queue", board_page: "{from}–{to} of {n}",
  board_prev: "Previous", board_next: "Next", board_assessment: "Assessment",
  board_days_hours: "{d} d {h} h", board_hours_minutes: "{h} h {m} min", board_minutes: "{m} min",
  board_left: "{d} left", board_overdue_by: "overdue by {d}", board_pool_prefix: "pool: ",
  board_tasks_summary: "{answered}/{total} answered", board_stale: "Someone else updated this incident; it has been reloaded",
  queue_to_accept: "To accept", queue_pool: "Pool", queue_to_dispatch: "To dispatch", queue_dispatched: "Dispatched",
  queue_whistled: "Whistled", queue_approvals: "Approvals", queue_overdue: "Overdue", queue_to_verify: "To verify", queue_mine: "My tasks",
  board_pane_title: "Incident #{id} · {category}", board_due: "Due", board_pool_until: "Pool closes", board_owner: "Held by", board_description: "Description",
  board_score: "Score", board_steps_now: "Steps you may take", board_no_steps: "No step you may take now", board_tasks: "Sub-tasks",
  board_not_suggested: "not suggested by the list", board_feedback: "Feedback: {text} ({by})", board_approvals: "Approvals",
  board_hours_n: "{n} h", board_photos: "Photos", board_timeline: "Timeline",
  approval_extend: "Extension request", approval_park: "Parking request",
  decision_pending: "pending", decision_approved: "approved", decision_refused: "refused",
  board_lead: "lead", board_suggested: "suggested", board_whistle_item: "Whistle-list item: {item}", board_no_item: "No whistle-list item matches; choose the departments",
  board_send: "{step}", board_pick_department: "Choose at least one department", board_done: "{step}: incident #{id} done",
  field_note: "Note", field_reason: "Reason", field_street: "Street", field_targets: "To (grid or community codes)",
  field_departments: "Departments", field_score: "Score (0–100)", field_hours: "Extra hours",
  board_month: "Month", board_group: "By", board_show: "Show", board_csv: "Download CSV", board_xlsx: "Download XLSX",
  board_assessed: "{month} · by {group}", board_rank: "Rank", board_incidents: "Incidents", board_closed: "Closed",
  board_on_time: "On time", board_rework: "Rework", board_satisfaction: "Satisfaction (score)",
  board_mean_hours: "Mean hours", board_p90_hours: "P90 hours", board_overdue_now: "Overdue now",
  group_worker: "grid worker", group_grid: "grid", group_community: "community", group_street: "street", group_department: "department",
  state_reported: "reported", state_pooled: "in the pool", state_queued: "to dispatch", state_dispatched: "dispatched", state_handling: "handling",
  state_resolved: "to verify", state_closed: "closed", state_evaluated: "evaluated", state_cancelled: "cancelled", state_parked: "parked",
  state_accepted: "accepted", state_returned: "returned for rework", state_extended: "extended",
  task_state_assigned: "assigned", task_state_working: "working", task_state_answered: "answered", task_state_withdrawn: "withdrawn",
  system_actor: "system", step_pool_close: "pool window closed",
  system_pool_close: "The street pool's window closed: to the district to dispatch", system_dispatch: "The street pool's window closed: dispatched to the street holding it",
  system_resolve: "Every sub-task answered",
  step_start: "Start", step_extend: "Extend", step_park: "Park", step_return: "Return for rework",
  step_accept: "Accept", step_claim: "Claim", step_dispatch: "Dispatch", step_split: "Split", step_whistle: "Whistle",
  step_return_up: "Return up", step_resume: "Resume", step_close: "Close", step_rework: "Rework", step_evaluate: "Evaluate",
  step_cancel: "Cancel", step_request_extend: "Request extension", step_request_park: "Request parking", step_report_in: "Report in",
  step_answer: "Answer", step_withdraw: "Withdraw", step_approve: "Approve", step_refuse: "Refuse", step_report: "Report",
  step_resolve: "All answered", step_merge: "Merge",
  err_stale_etag: "Someone else updated this incident", err_if_match_required: "The version is missing; reload and try again",
  err_conflict: "This step is not allowed in the incident's state", err_wrong_step: "This step is not allowed in the incident's state",
  err_forbidden: "Your token may not take this step", err_unauthorized: "Not signed in, or the token is not valid",
  err_not_found: "Not found", err_invalid_input: "Something filled in is not accepted", err_try_again: "Someone else is acting at the same time; try again", err_database_unavailable: "The database is not answering; try again shortly",
});

// Patrols and visits on the map and the board.
Object.assign(WORDS, {
  patrol_coverage: "Patrol coverage", visit_overdue: "Overdue visits", patrol_period: "Period of patrol coverage",
  patrol_day: "Today", patrol_week: "This week",
  patrol_share_day: "Patrol coverage today", patrol_share_week: "Patrol coverage this week", patrol_no_street: "no street in the grid",
  patrol_n: "{n} patrols", patrol_unwalked: "Streets not walked", patrol_walked: "Streets walked",
  patrol_band_high: "≥85%", patrol_band_good: "60–85%", patrol_band_part: "30–60%", patrol_band_low: "<30%",
  patrol_band_none: "no street", patrol_legend: "Patrol coverage (today/this week)",
  visit_overdue_n: "Households overdue for a visit", visit_sign_in: "Sign in to see the households overdue for a visit", visit_sign_in_short: "after sign-in",
  visit_not_yours: "not yours to see", visit_home: "Unit/room", visit_last: "Last visit", visit_never: "never visited",
  visit_days_overdue: "Days overdue", visit_care_tags: "Care tags", visit_masked: "(hidden)",
  visit_legend: "Overdue for a visit (dark: more than 7 days)",
  patrol_share_month: "Patrol coverage (monthly mean)", patrol_km: "Patrolled km", patrol_hours: "Patrolled hours",
  visit_made: "Visits made", visit_overdue_now: "Overdue for a visit",
});

// The phone page (/m/): its shell, sign-in, report and sync; its patrol, visits and tasks.
Object.assign(WORDS, PHONE, FIELD, ORG_ERRORS, PARTITION_ERRORS);
// The three lists' flow, posts and the public need form.
Object.assign(WORDS, LISTS);

// Grid teams, the organisation's checks and figures.
Object.assign(WORDS, TEAMS);

// The organisation on the map: the Party layer and tree, a grid's organisation and team, the lists' flow.
Object.assign(WORDS, ORG);
// The public page of a community (/public/{community}): its lists and the need form.
Object.assign(WORDS, PUBLIC);
// Refusals of the OGC API (filters and edits over /ogc).
Object.assign(WORDS, OGC_ERRORS);
// The 2.5-D view (/3d).
Object.assign(WORDS, VIEW3D);
