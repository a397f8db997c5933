// The words of the phone page's patrol, household visits and tasks (English).
export const WORDS = {
  // Patrol.
  f_patrol: "Patrol", f_patrol_start: "Start patrol", f_patrol_stop: "End patrol", f_patrol_on: "Patrolling: the track is being recorded",
  f_patrol_hint: "Once started, the page records your track from your position and uploads it in pieces; offline, it keeps them on the phone and sends them when the network returns.",
  f_patrol_start_label: "Patrol start", f_patrol_piece_label: "Patrol track, piece {n}", f_patrol_end_label: "Patrol end",
  f_patrol_stopped: "Patrol ended: {km} km, {n} fixes", f_length: "Distance", f_km: "km", f_duration: "Time",
  f_minutes: "{n} min", f_points: "Fixes", f_dropped: "Fixes dropped", f_accuracy: "Position accurate to about {m} m",
  f_no_fix: "No position yet", f_today_patrol: "Today's patrols", f_patrols: "Patrols",
  f_grid_share: "{name}: {pct}% of streets walked", f_figures_offline: "Offline: the figures last read",
  // Visits.
  f_visit: "Visit", f_near: "Near me", f_by_building: "By building", f_search_placeholder: "Building address, unit or room",
  f_search_hint: "Type a building's address, name or a room number", f_none_found: "No household matches",
  f_no_fix_near: "No position yet, so no households near you; search by building instead", f_no_households: "No households cached",
  f_metres: "{m} m", f_unit: "Unit {u}", f_room: "Room {r}", f_building_unknown: "Unknown building",
  f_last_visit: "Last visit: {d}", f_never: "never visited", f_note_placeholder: "How it went (optional, up to 2000 characters)",
  f_visit_save: "Record visit", f_pick_outcome: "Choose the visit's outcome first", f_visit_queued: "Visit recorded; it is sent by itself (once online, if offline)",
  f_visit_label: "Visit {where}", f_visited_here: "Visit recorded on this phone", f_overdue_title: "Overdue visits",
  f_overdue_count: "{n} households are past their visit interval", f_overdue_days: "{d} days overdue", f_back: "Back",
  // Tasks.
  f_tasks: "Tasks", f_open_tasks: "My open tasks", f_task_count: "{n} open", f_no_tasks: "No tasks for you",
  f_tasks_offline: "Offline: the tasks last read", f_loading: "Loading…", f_due: "Due {d}",
  f_feedback: "Feedback", f_feedback_placeholder: "What was done (required)", f_feedback_needed: "Write the feedback first",
  f_photos: "Photos (up to {n})", f_answer_send: "Send feedback", f_feedback_was: "Feedback: {text}",
  f_nothing_to_do: "Nothing for you to do on this task now", f_step_queued: "{step} recorded; it is sent by itself (once online, if offline)",
  f_step_waiting: "{step} waiting to be sent", f_task_label: "{step}: {what}", f_task_photo_label: "Feedback photo: {what}",
  f_step_gone: "Someone else has already acted on this task; {step} is no longer possible",
  // What waits to be sent, by kind (the list of waiting items).
  f_kind_patrol_start: "Patrol start", f_kind_patrol_piece: "Patrol track", f_kind_patrol_end: "Patrol end", f_kind_visit: "Visit", f_kind_task_step: "Task step", f_kind_task_photo: "Task photo",
};
