// The interface's words in English.
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
};

// Grid team roles by name; a role missing here is shown as its code.
export const ROLES = {};
