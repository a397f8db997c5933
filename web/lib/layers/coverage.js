// Coverage problems: gaps, overlaps and parts outside the community; buildings outside every circle.
import { API, EMPTY, api, apiOr } from "../api.js";
import { card } from "../dom.js";
import { t } from "../i18n.js";
import { geo } from "../view.js";
import { IGNORE, popupOnClick } from "./popups.js";

const RED = { color: "#d50000", weight: 2, fillColor: "#ff1744", fillOpacity: 0.5 };

/** The gaps, overlaps and outside parts of every community with grids in a region, loaded on demand. */
export function problemsLayer() {
  const layer = geo(Object.assign({ style: RED }, IGNORE));
  const load = async (region) => {
    const cs = await api(`${API}/regions?level=community&parent=${region}&limit=500&geometry=false`);
    await Promise.all(cs.features.filter((c) => c.properties.grid_count > 0).map(async (c) => {
      const r = await apiOr(`${API}/regions/${c.properties.code}/coverage`, null);
      if (r) { layer.addData(r.gaps); layer.addData(r.overlaps); layer.addData(r.outside); }
    }));
  };
  return { key: "problems", layer, load };
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

/** Buildings outside every service circle (click: households, distance, nearest centre), loaded on demand. */
export function uncoveredLayer(map) {
  const layer = geo(Object.assign({ style: { color: "#d50000", weight: 1, fillColor: "#ff5252", fillOpacity: 0.7 } }, IGNORE));
  popupOnClick(map, layer, (p) => card(p.address || p.code,
    [[t("households"), p.households], ["", t("distance", { m: p.metres_to_nearest_circle })], [t("centers"), p.nearest_center]]));
  const load = async (region) => layer.addData(await apiOr(`${API}/coverage/uncovered?region=${region}`, EMPTY));
  return { key: "uncovered", layer, load };
}
