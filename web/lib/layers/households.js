// Designated households (党员中心户); a click shows the households one serves, another grid's in orange.
import { API, EMPTY, api } from "../api.js";
import { card } from "../dom.js";
import { t } from "../i18n.js";
import { geo } from "../view.js";
import { inView } from "./inview.js";
import { IGNORE, popupOnClick } from "./popups.js";

/** The designated households in the view. */
export function designatedLayer(map) {
  const dot = (f, ll) => L.circleMarker(ll, { radius: 6, color: "#c62828", fillColor: "#ffcdd2", fillOpacity: 1, weight: 2 });
  const layer = geo(Object.assign({ pointToLayer: dot }, IGNORE));
  const servedDot = (f, ll) => L.circleMarker(ll, { radius: 4, color: f.properties.cross_grid ? "#ff6f00" : "#c62828", weight: 1, fillOpacity: 0.6 });
  const served = geo(Object.assign({ pointToLayer: servedDot }, IGNORE));
  popupOnClick(map, layer, async (p) => {
    const h = await api(`${API}/households/${p.id}`);
    served.clearLayers().addData(h.served || EMPTY).addTo(map);
    return card(`${t("designated")} #${p.id}`, [[t("grid_code"), p.grid_code], ["", p.address],
      ["", t("serves", { n: p.serves })], ["", `${p.contact_name || ""} ${p.contact_phone || ""}`.trim()]]);
  });
  return inView("designated", layer, "/households?designated=true", (fs) => layer.addData(fs));
}
