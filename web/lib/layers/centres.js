// Service centres (click: kind, hours, how their circles were made) and their 15-minute circles.
import { API, api } from "../api.js";
import { card } from "../dom.js";
import { t } from "../i18n.js";
import { geo } from "../view.js";
import { IGNORE, popupOnClick } from "./popups.js";

/** The 15-minute circles of a region (dashed where a buffer stands in for the network), loaded on demand. */
export function circlesLayer() {
  const style = (f) => ({ color: "#2e7d32", weight: 1, fillColor: "#66bb6a", fillOpacity: 0.12, dashArray: f.properties.method === "buffer" ? "4 4" : null });
  const layer = geo(Object.assign({ style }, IGNORE));
  return { key: "circles", layer, load: async (region) => layer.addData(await api(`${API}/service-circles?region=${region}`)) };
}

/** The service centres of a region, loaded on demand. */
export function centresLayer(map) {
  const pointToLayer = (f, ll) => L.circleMarker(ll, { radius: 7, color: "#b71c1c", fillColor: "#ffeb3b", fillOpacity: 1, weight: 2 });
  const layer = geo(Object.assign({ pointToLayer }, IGNORE));
  popupOnClick(map, layer, (p) => {
    const c = (p.circles || []).map((x) => `${t("minutes", { n: x.minutes })} · ${x.method === "buffer" ? t("no_network") : x.method}`);
    return card(p.name, [[t("kind"), p.kind], ["", p.opening_hours], [t("method"), c.join("; ")]]);
  });
  return { key: "centers", layer, load: async (region) => layer.addData(await api(`${API}/service-centers?region=${region}&limit=1000`)) };
}
