// The words of the 2.5-D view (/3d): buildings by height, grids and roads (English).
export const WORDS = {
  v3_title: "3-D view", v3_to_map: "Flat map", v3_loading: "Loading…",
  v3_ready: "{name} · drag with the right button or Ctrl to rotate and tilt", v3_load_failed: "Could not load: {m}",
  v3_pitch: "Tilt", v3_bearing: "Rotate", v3_reset: "North up, flat", v3_tilt: "Tilted view",
  v3_colour_by: "Buildings by", v3_by_height: "height", v3_by_grid: "grid",
  v3_legend: "Legend", v3_floors: "{a}–{b} floors", v3_floors_more: "over {a} floors", v3_floors_unknown: "floors unknown (drawn as {n})",
  v3_grid_colours: "buildings coloured by their grid", v3_no_grid: "in no grid", v3_roads: "Roads",
  v3_grid: "Grid", v3_grid_name: "Name", v3_grid_code: "Grid code", v3_community: "Community", v3_kind: "Kind",
  v3_subtype: "Subtype", v3_close: "Close", v3_map_label: "3-D grid map",
};
