// Incidents, clustered, coloured by state, the overdue ones ringed red.
import { card } from "../dom.js";
import { t } from "../i18n.js";
import { toView } from "../view.js";
import { word } from "../words.js";
import { inView } from "./inview.js";

/** The colour of each incident state. */
export const STATE_COLOUR = { reported: "#9e9e9e", pooled: "#1e88e5", queued: "#00838f",
  dispatched: "#3949ab", handling: "#fb8c00", resolved: "#43a047", closed: "#2e7d32", evaluated: "#1b5e20",
  parked: "#6d4c41", cancelled: "#bdbdbd" };

/** One incident's marker, its popup made (in the language in use) when opened. */
export function incidentMarker(f) {
  const p = f.properties, [x, y] = f.geometry.coordinates;
  const m = L.circleMarker(toView(x, y), { radius: 7, weight: p.overdue ? 3 : 1, color: p.overdue ? "#d50000" : "#fff",
    fillColor: STATE_COLOUR[p.status] || "#777", fillOpacity: 0.95 });
  m.feature = f;
  m.bindPopup(() => card(`#${p.id} ${p.category}`,
    [[t("state"), word("incident_state", p.status)], [t("severity"), word("severity", p.severity)],
     [t("grid_code"), p.grid_code], [t("overdue"), p.overdue ? "✔" : ""]]), { autoPanPaddingTopLeft: L.point(50, 50) });
  return m;
}

/** The incidents in the view, in clusters. */
export function incidentsLayer() {
  const layer = L.markerClusterGroup({ pmIgnore: true, maxClusterRadius: 45 });
  return inView("incidents", layer, "/incidents", (fs) => layer.addLayers(fs.map(incidentMarker)));
}
