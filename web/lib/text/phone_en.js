// The words of the phone page's shell, sign-in, home, report and sync (English).
export const WORDS = {
  m_title: "Grid worker", m_locale: "en-GB", m_offline: "Offline", m_tab_home: "Home", m_tab_report: "Report",
  m_waiting_n: "{n} waiting", m_refused_n: "{n} refused", m_all_sent: "All sent",
  m_pack_failed: "Could not update the grid data: {m}", m_pack_loading: "Reading my grids…",
  // Signing in and out.
  m_signin_title: "Grid worker sign-in", m_signin_label: "Access token", m_signin_submit: "Sign in",
  m_signin_hint: "Your community or street office gives you the token; sign in once, it stays on this phone.",
  m_signin_empty: "Enter the access token", m_signin_checking: "Checking the token…",
  m_signin_bad: "The token is not valid, revoked or expired.",
  m_signin_not_staff: "“{name}” is not a grid worker's token; use the one issued to you.",
  m_signin_offline: "No network; the first sign-in needs one.", m_signin_failed: "Could not check the token: {m}",
  m_signout: "Sign out", m_signout_waiting: "{n} items have not been sent; signing out deletes them. Sign out?",
  // Home.
  m_hello: "Hello, {name}", m_my_grids: "My grids", m_no_grids: "Your token serves no grid",
  m_position_none: "Finding my position… (allow location)", m_position: "My position {lon}, {lat} (±{m} m)",
  m_in_grid: "in {name}", m_in_no_grid: "outside my grids",
  // Report.
  m_r_title: "Report an incident", m_r_pick_category: "Choose a category", m_r_text: "What happened",
  m_r_text_hint: "What happened, and where", m_r_add_photo: "Take / choose photos", m_r_photos_n: "{n}/{max} photos",
  m_r_photos_busy: "Shrinking photos…", m_r_photos_max: "At most {max} photos", m_r_photo_n: "Photo {n}",
  m_r_photo_remove: "Remove photo {n}", m_r_photo_unreadable: "Cannot read the photo {name}",
  m_r_point: "Place (tap the map to change)", m_r_no_point: "No place yet: wait for a fix or tap the map",
  m_r_grid: "Grid: {name} ({code})", m_r_outside: "Outside my grids", m_r_tapped: "tapped {lon}, {lat}",
  m_r_from_gps: "GPS {lon}, {lat}", m_r_use_position: "Use my position", m_r_submit: "Send report",
  m_r_need_category: "Choose a category", m_r_need_point: "Wait for a fix or tap the place on the map",
  m_r_label: "Report: {category} · {grid}", m_r_photo_label: "Photo {n} ({category})",
  m_r_queued: "Kept on this phone; it is sent as soon as there is a network",
  // The queue.
  m_waiting_title: "Waiting to be sent", m_waiting_none: "Nothing is waiting.",
  m_waiting_hint: "Sent in order when there is a network; refused items need you.", m_send_now: "Send now",
  m_offline_later: "Offline now; sent when the network returns", m_kind_report: "Incident report",
  m_kind_photo: "Incident photo", m_kind_other: "Other", m_state_waiting: "Waiting", m_state_sending: "Sending",
  m_state_after: "After the item before it", m_state_refused: "Refused", m_tries: "{n} tries",
  m_refused_why: "Not accepted: {why}", m_delete: "Delete", m_deleted_n: "{n} deleted",
  // Refusals of queued items, by the server's code.
  m_err_forbidden: "Your token may not do this: the place or household is outside your grids",
  m_err_invalid_input: "Something filled in is not accepted", m_err_invalid_file: "The photo cannot be read or its type is not accepted",
  m_err_outside_china: "The place is outside China; check the position", m_err_not_found: "What it is about no longer exists",
  m_err_conflict: "It conflicts with the data on the server", m_err_outside_grids: "The place lies in no grid",
  m_err_report_lost: "The report it belongs to was not accepted", m_err_unknown: "The server did not accept it",
};
