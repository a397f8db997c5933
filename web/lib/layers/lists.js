// The three lists (resources, needs, projects) as coloured points.
import { card } from "../dom.js";
import { t } from "../i18n.js";
import { geo } from "../view.js";
import { word } from "../words.js";
import { inView } from "./inview.js";
import { IGNORE, popupOnClick } from "./popups.js";

/** The colour of each list. */
export const LIST_COLOUR = { resource: "#00897b", need: "#d81b60", project: "#5e35b1" };

/** The list items in the view. */
export function listsLayer(map) {
  const pointToLayer = (f, ll) => L.circleMarker(ll, { radius: 6, color: "#fff", weight: 1.5, fillColor: LIST_COLOUR[f.properties.list] || "#777", fillOpacity: 1 });
  const layer = geo(Object.assign({ pointToLayer }, IGNORE));
  popupOnClick(map, layer, (p) => card(`${word("list_kind", p.list)} · ${p.title}`, [[t("category"), p.category],
    [t("list_status"), word("list_status", p.status)], [t("grid_code"), p.grid_code],
    [t("owner"), [word("owner_kind", p.owner_kind), p.owner_name].filter(Boolean).join(" ")],
    ["", `${p.contact_name || ""} ${p.contact_phone || ""}`.trim()]]));
  return inView("lists", layer, "/lists", (fs) => layer.addData(fs));
}
