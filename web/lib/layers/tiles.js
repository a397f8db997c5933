// gridmap's own vector tiles: roads (a background that needs no tile server) and buildings.
import { apiOr } from "../api.js";
import { isGcj02 } from "../view.js";

const ROAD_WIDTH = { primary: 3, secondary: 2.5, tertiary: 2, trunk: 3, motorway: 3.5, residential: 1.5 };
const BUILDING = { weight: 0.5, color: "#8d6e63", fill: true, fillColor: "#d7ccc8", fillOpacity: 0.8 };
// Below z15 buildings under a few pixels come as one box per pixel cell (count: how many).
const MERGED = { weight: 0, fill: true, fillColor: "#bcaaa4", fillOpacity: 0.6 };
const buildingStyle = (p) => (p.count > 1 ? MERGED : BUILDING);

/** A VectorGrid layer of a tile set described by its TileJSON, styled per source layer. */
function vectorTiles(meta, styles, extra) {
  return L.vectorGrid.protobuf(meta.tiles[0], Object.assign({
    minZoom: meta.minzoom, maxNativeZoom: 18, interactive: false, pmIgnore: true, vectorTileLayerStyles: styles,
  }, extra));
}

/** Adds the road tiles under everything else on map, once (not over a GCJ-02 base map). */
export async function addRoads(map) {
  const meta = await apiOr("/tiles/roads.json", null);
  if (!meta || isGcj02()) return;
  const roads = (p) => ({ weight: ROAD_WIDTH[p.highway] || 1, color: "#ffffff", opacity: 0.95 });
  vectorTiles(meta, { roads }, { pane: "tilePane" }).addTo(map);
}

/**
 * The building tiles of map; refresh() reads the tile URL again (it carries the layer's version, so
 * an edit is never hidden by a cache) and adds the layer the first time, telling onAdd(layer).
 */
export function buildingTiles(map, onAdd) {
  let layer = null;
  const refresh = async () => {
    const meta = await apiOr("/tiles/buildings.json", null);
    if (!meta || isGcj02()) return;
    if (layer) { layer.setUrl(meta.tiles[0]); return; }
    layer = vectorTiles(meta, { buildings: buildingStyle });
    onAdd(layer);
    layer.addTo(map);
  };
  return { refresh, current: () => layer };
}
