// Coverage problems: gaps, overlaps and parts outside the community; buildings outside every circle.
import { API, apiOr } from "../api.js";
import { card } from "../dom.js";
import { t } from "../i18n.js";
import { geo } from "../view.js";
import { inView } from "./inview.js";
import { IGNORE, popupOnClick } from "./popups.js";

const RED = { color: "#d50000", weight: 2, fillColor: "#ff1744", fillOpacity: 0.5 };

/**
 * The gaps, overlaps and outside parts of every community with grids in the view; communities is
 * the layer of community outlines (each feature has its grid_count), map the map they are on.
 */
export function problemsLayer(map, communities) {
  const layer = geo(Object.assign({ style: RED }, IGNORE));
  const read = new Set();
  const load = async () => {
    const view = map.getBounds();
    const wanted = [];
    communities.eachLayer((c) => {
      const code = c.feature.properties.code;
      if (c.feature.properties.grid_count > 0 && !read.has(code) && view.intersects(c.getBounds())) wanted.push(code);
    });
    wanted.forEach((code) => read.add(code));
    await Promise.all(wanted.map(async (code) => {
      const r = await apiOr(`${API}/regions/${code}/coverage`, null);
      if (r) { layer.addData(r.gaps); layer.addData(r.overlaps); layer.addData(r.outside); } else read.delete(code);
    }));
    return { shown: wanted.length, matched: wanted.length };
  };
  // After an edit: forget what was read, so the communities in view are read again.
  const reset = () => { layer.clearLayers(); read.clear(); };
  return { key: "problems", layer, load, reset };
}

/** Why a grid was refused, drawn on the map: the overlaps and the part outside its community. */
export function refusalLayer(map) {
  const layer = geo(Object.assign({ style: Object.assign({}, RED, { weight: 3, fillOpacity: 0.6 }) }, IGNORE));
  const show = (body) => {
    layer.clearLayers();
    (body.overlaps || []).forEach((o) => layer.addData(o.geometry));
    if (body.outside) layer.addData(body.outside);
    layer.addTo(map);
  };
  return { layer, show, clear: () => layer.clearLayers() };
}

/** Buildings outside every service circle in the view (click: households, distance, nearest centre). */
export function uncoveredLayer(map) {
  const layer = geo(Object.assign({ style: { color: "#d50000", weight: 1, fillColor: "#ff5252", fillOpacity: 0.7 } }, IGNORE));
  popupOnClick(map, layer, (p) => card(p.address || p.code,
    [[t("households"), p.households], ["", t("distance", { m: p.metres_to_nearest_circle })], [t("centers"), p.nearest_center]]));
  return inView("uncovered", layer, "/coverage/uncovered", (fs) => layer.addData(fs));
}
