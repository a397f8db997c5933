// The three lists (resources, needs, projects) as coloured points; a click shows an item's flow
// and the buttons of the token signed in (web/lib/listflow.js).
import { API, api } from "../api.js";
import { flowCard } from "../listflow.js";
import { geo } from "../view.js";
import { inView } from "./inview.js";
import { IGNORE, popupOnClick } from "./popups.js";

/** The colour of each list. */
export const LIST_COLOUR = { resource: "#00897b", need: "#d81b60", project: "#5e35b1" };

/** The list items in the view. */
export function listsLayer(map) {
  const pointToLayer = (f, ll) => L.circleMarker(ll, { radius: 6, color: "#fff", weight: 1.5, fillColor: LIST_COLOUR[f.properties.list] || "#777", fillOpacity: 1 });
  const layer = geo(Object.assign({ pointToLayer }, IGNORE));
  // The item is read again at the click: its status and what the token signed in may see of it.
  popupOnClick(map, layer, async (p, ev) => {
    const fresh = await api(`${API}/lists/${p.id}`).then((f) => f.properties || f).catch(() => p);
    return flowCard(fresh, (now) => { ev.layer.feature.properties = now; });
  });
  return inView("lists", layer, "/lists", (fs) => layer.addData(fs));
}
