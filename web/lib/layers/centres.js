// Service centres (click: kind, hours, how their circles were made) and their 15-minute circles.
import { card } from "../dom.js";
import { t } from "../i18n.js";
import { geo } from "../view.js";
import { openingHours, word } from "../words.js";
import { inView } from "./inview.js";
import { IGNORE, popupOnClick } from "./popups.js";

/** The 15-minute circles reaching into the view (dashed where a buffer stands in for the network). */
export function circlesLayer() {
  const style = (f) => ({ color: "#2e7d32", weight: 1, fillColor: "#66bb6a", fillOpacity: 0.12, dashArray: f.properties.method === "buffer" ? "4 4" : null });
  const layer = geo(Object.assign({ style }, IGNORE));
  return inView("circles", layer, "/service-circles", (fs) => layer.addData(fs));
}

/** A centre's circles in words: 15 分钟 · 按步行路网. */
export function circlesInWords(circles) {
  return (circles || []).map((x) => t("circle", { minutes: t("minutes", { n: x.minutes }), method: word("circle_method", x.method) })).join(t("oh_rule_sep"));
}

/** The service centres in the view. */
export function centresLayer(map) {
  const pointToLayer = (f, ll) => L.circleMarker(ll, { radius: 7, color: "#b71c1c", fillColor: "#ffeb3b", fillOpacity: 1, weight: 2 });
  const layer = geo(Object.assign({ pointToLayer }, IGNORE));
  popupOnClick(map, layer, (p) => card(p.name, [[t("centre_kind"), word("centre_kind", p.kind)],
    [t("hours"), openingHours(p.opening_hours)], [t("method"), circlesInWords(p.circles)]]));
  return inView("centers", layer, "/service-centers", (fs) => layer.addData(fs));
}
