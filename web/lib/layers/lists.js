// The three lists (resources, needs, projects) as coloured points.
import { API, api } from "../api.js";
import { card } from "../dom.js";
import { t } from "../i18n.js";
import { geo } from "../view.js";
import { IGNORE, popupOnClick } from "./popups.js";

/** The colour of each list. */
export const LIST_COLOUR = { resource: "#00897b", need: "#d81b60", project: "#5e35b1" };

/** The list items of a region, loaded on demand. */
export function listsLayer(map) {
  const pointToLayer = (f, ll) => L.circleMarker(ll, { radius: 6, color: "#fff", weight: 1.5, fillColor: LIST_COLOUR[f.properties.list] || "#777", fillOpacity: 1 });
  const layer = geo(Object.assign({ pointToLayer }, IGNORE));
  popupOnClick(map, layer, (p) => card(`${t(p.list)} · ${p.title}`, [[t("category"), p.category], [t("state"), p.status],
    [t("grid_code"), p.grid_code], ["", p.owner_name], ["", `${p.contact_name || ""} ${p.contact_phone || ""}`]]));
  return { key: "lists", layer, load: async (region) => layer.addData(await api(`${API}/lists?region=${region}&limit=10000`)) };
}
