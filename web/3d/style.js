// The 2.5-D view's MapLibre style: gridmap's own vector tiles (roads, grids, buildings) and glyphs.

/** Metres a floor adds to a building's height. */
export const FLOOR_M = 3;
/** The floors a building without a known count is drawn with. */
export const DEFAULT_FLOORS = 2;
/** The glyph font stack gridmap serves (web/fonts/); Chinese is drawn with the browser's font. */
export const FONT = "Gridmap Sans";
/** The height classes of the legend: [lowest floors, colour]. */
export const HEIGHTS = [[1, "#fde0c5"], [4, "#facba6"], [7, "#f59e72"], [13, "#e9694a"], [19, "#c0392b"]];
/** Grid kinds as on the flat map: basic blue, exclusive orange. */
export const KIND_COLOURS = { basic: "#1565c0", exclusive: "#ef6c00" };
/** The colours buildings take by their grid (its code's last digits pick one). */
export const GRID_PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
export const NO_GRID = "#9e9e9e";
const ROAD = "#ffffff";
const ROAD_CASING = "#b5ad9f";

const floors = ["coalesce", ["get", "floors"], DEFAULT_FLOORS];

/** The fill-extrusion-color expression for colouring buildings "height" or "grid". */
export function buildingColour(by) {
  if (by === "grid") {
    const digits = ["to-number", ["slice", ["to-string", ["coalesce", ["get", "grid_code"], "0"]], -3], 0];
    return ["case", ["has", "grid_code"],
      ["to-color", ["at", ["%", digits, GRID_PALETTE.length], ["literal", GRID_PALETTE]]],
      NO_GRID];
  }
  return ["step", floors, HEIGHTS[0][1], ...HEIGHTS.slice(1).flat()];
}

/** The style: ``tiles`` maps a layer to its TileJSON URL; ``by`` is how buildings are coloured. */
export function style3d(origin, tiles, by) {
  return {
    version: 8,
    glyphs: `${origin}/fonts/{fontstack}/{range}.pbf`,
    sources: {
      roads: { type: "vector", url: tiles.roads },
      grids: { type: "vector", url: tiles.grids },
      buildings: { type: "vector", url: tiles.buildings },
    },
    layers: [
      { id: "background", type: "background", paint: { "background-color": "#f2efe9" } },
      {
        id: "roads-casing", type: "line", source: "roads", "source-layer": "roads",
        layout: { "line-cap": "round", "line-join": "round" },
        paint: { "line-color": ROAD_CASING, "line-width": ["interpolate", ["linear"], ["zoom"], 12, 1.5, 18, 12] },
      },
      {
        id: "roads", type: "line", source: "roads", "source-layer": "roads",
        layout: { "line-cap": "round", "line-join": "round" },
        paint: { "line-color": ROAD, "line-width": ["interpolate", ["linear"], ["zoom"], 12, 0.8, 18, 9] },
      },
      {
        id: "grids-fill", type: "fill", source: "grids", "source-layer": "grids",
        paint: {
          "fill-color": ["match", ["get", "kind"], "exclusive", KIND_COLOURS.exclusive, KIND_COLOURS.basic],
          "fill-opacity": 0.12,
        },
      },
      {
        id: "grids-outline", type: "line", source: "grids", "source-layer": "grids",
        paint: {
          "line-color": ["match", ["get", "kind"], "exclusive", KIND_COLOURS.exclusive, KIND_COLOURS.basic],
          "line-width": ["interpolate", ["linear"], ["zoom"], 12, 1, 17, 2.5],
        },
      },
      {
        id: "grids-selected", type: "line", source: "grids", "source-layer": "grids",
        filter: ["==", ["get", "code"], ""],
        paint: { "line-color": "#b71c1c", "line-width": 4 },
      },
      {
        id: "buildings-3d", type: "fill-extrusion", source: "buildings", "source-layer": "buildings",
        minzoom: 13,
        paint: {
          "fill-extrusion-color": buildingColour(by),
          "fill-extrusion-height": ["*", floors, FLOOR_M],
          "fill-extrusion-base": 0,
          "fill-extrusion-opacity": 0.88,
        },
      },
      {
        id: "grids-label", type: "symbol", source: "grids", "source-layer": "grid_labels",
        minzoom: 13,
        layout: {
          "text-field": ["step", ["zoom"], ["get", "code"], 16, ["format", ["get", "name"], {}, "\n", {}, ["get", "code"], { "font-scale": 0.8 }]],
          "text-font": [FONT],
          "text-size": ["interpolate", ["linear"], ["zoom"], 13, 10, 17, 14],
          "text-max-width": 12,
          "symbol-placement": "point",
        },
        paint: { "text-color": "#0d3c78", "text-halo-color": "rgba(255,255,255,0.92)", "text-halo-width": 1.6 },
      },
    ],
  };
}
