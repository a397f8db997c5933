// Grid warnings (网格提醒, GET /org/checks): grids without a leader or a worker, leaders of too many
// grids, grids too small or too large, grids without a branch, buildings without a group, central
// households serving too few or too many, teams to reassign after a redraw. Off by default; read
// per street of the grids in view, each street once; listed in words in the side panel.
import { API, EMPTY, apiOr } from "../api.js";
import { button, card, el } from "../dom.js";
import { t } from "../i18n.js";
import { mapBusy } from "../modes.js";
import { showPanel } from "../panels.js";
import { geo } from "../view.js";
import { IGNORE, popupAt } from "./popups.js";

const COLOUR = "#ff6d00";

/** A warning (a check's feature properties) in words, with its figures. */
export function warningWords(p) {
  return t(`check_${p.check}`, p);
}

/**
 * The warnings layer; byCode maps grid codes to their Leaflet layers (to know the streets in view).
 * Answers { key, layer, load, anyView, list() → the features read }.
 */
export function warningsLayer(map, byCode) {
  const streets = new Set();
  const read = [];
  const style = () => ({ color: COLOUR, weight: 3, dashArray: "6 4", fillColor: COLOUR, fillOpacity: 0.15, className: "org-warning" });
  const pointToLayer = (f, ll) => L.circleMarker(ll, { radius: 7, color: "#bf360c", weight: 2, fillColor: COLOUR, fillOpacity: 0.9, className: "org-warning" });
  const layer = geo(Object.assign({ style, pointToLayer, onEachFeature: (f, l) => {
    l.on("click", (ev) => {
      if (mapBusy()) return;
      L.DomEvent.stopPropagation(ev);
      popupAt(map, ev.latlng, card(warningWords(f.properties), [[t("grid_code"), f.properties.grid_code], [t("community"), f.properties.community_code]]));
    });
  } }, IGNORE));
  const control = L.control({ position: "topright" });
  control.onAdd = () => {
    const box = el("div", { class: "leaflet-bar org-control org-warnings-control" }, []);
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  const renderControl = () => {
    const box = control.getContainer();
    if (box) box.replaceChildren(button("org-warnings-list", `${t("org_warnings_list")}（${read.length}）`, () => showList()));
  };
  const zoomTo = (f) => {
    const shape = L.geoJSON(f);
    const b = shape.getBounds();
    if (b.isValid()) map.flyToBounds(b, { maxZoom: 18, duration: 0.6, padding: [30, 30] });
  };
  const showList = () => {
    const items = read.map((f) => el("li", { "data-check": f.properties.check, "data-grid": f.properties.grid_code || "" }, [
      button("link", warningWords(f.properties), () => zoomTo(f)),
      el("span", { class: "muted" }, [f.properties.grid_code ? ` · ${f.properties.grid_code}` : ""])]));
    showPanel([el("h3", {}, [t("org_warnings_ready", { n: read.length })]),
      el("ul", { class: "org-warnings-items" }, items.length ? items : [el("li", {}, [t("org_warnings_none")])])]);
  };
  const load = async () => {
    const bounds = map.getBounds();
    const wanted = new Set();
    byCode.forEach((l, code) => { if (bounds.intersects(l.getBounds())) wanted.add(code.slice(0, 9)); });
    const fresh = [...wanted].filter((s) => !streets.has(s));
    fresh.forEach((s) => streets.add(s));
    const answers = await Promise.all(fresh.map((s) => apiOr(`${API}/org/checks?region=${s}`, EMPTY)));
    answers.forEach((fc) => { (fc.features || []).forEach((f) => read.push(f)); layer.addData(fc.features || []); });
    renderControl();
    document.body.dataset.orgWarnings = String(read.length);
    return { shown: read.length, matched: read.length };
  };
  const reset = () => { streets.clear(); read.length = 0; layer.clearLayers(); };
  layer.on("add", () => { control.addTo(map); renderControl(); });
  layer.on("remove", () => { control.remove(); delete document.body.dataset.orgWarnings; });
  const ready = (a) => t("org_warnings_ready", { n: a.shown });
  return { key: "org_warnings", layer, load, anyView: true, followsView: true, ready, reset, retranslate: renderControl, list: () => read };
}
