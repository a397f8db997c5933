// The phone's Leaflet maps: my grids outlined (from the field pack), my position as a dot with
// its accuracy circle. No base tiles are needed, so the map works offline.

const GRID_STYLE = { color: "#c0392b", weight: 2, fillColor: "#c0392b", fillOpacity: 0.06 };
const BUILDING_STYLE = { color: "#7f8c8d", weight: 1, fillOpacity: 0.15, interactive: false };

/** A Leaflet map in el with layers for grids, buildings and my position: { map, setPack, setPosition }. */
export function phoneMap(el, options) {
  const map = L.map(el, Object.assign({ zoomControl: false, attributionControl: false, maxZoom: 20 }, options || {}))
    .setView([39.99, 116.35], 14);
  L.control.zoom({ position: "bottomright" }).addTo(map);
  const buildings = L.geoJSON(null, { style: BUILDING_STYLE }).addTo(map);
  const grids = L.geoJSON(null, { style: GRID_STYLE, interactive: false }).addTo(map);
  const accuracy = L.circle([0, 0], { radius: 1, color: "#2e86de", weight: 1, fillOpacity: 0.1, interactive: false });
  const me = L.circleMarker([0, 0], { radius: 8, color: "#fff", weight: 3, fillColor: "#2e86de", fillOpacity: 1, interactive: false });
  let fitted = false;

  /** Shows the pack's grids (and buildings) and fits the view to the grids the first time. */
  function setPack(pack) {
    grids.clearLayers();
    buildings.clearLayers();
    if (!pack) return;
    if (pack.buildings) buildings.addData(pack.buildings);
    if (pack.grids) grids.addData(pack.grids);
    const b = grids.getBounds();
    if (b.isValid() && !fitted) { map.fitBounds(b, { padding: [12, 12] }); fitted = true; }
  }

  /** Moves my dot to the fix {lon, lat, accuracy}. */
  function setPosition(fix) {
    if (!fix) return;
    me.setLatLng([fix.lat, fix.lon]).addTo(map);
    accuracy.setLatLng([fix.lat, fix.lon]).setRadius(fix.accuracy || 1).addTo(map);
  }

  return { map, setPack, setPosition, grids };
}
