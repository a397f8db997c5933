// Streets, communities and grids (labelled from zoom 15), and the outline of a grid found by search.
import { el } from "../dom.js";
import { mapBusy } from "../modes.js";
import { geo } from "../view.js";
import { IGNORE } from "./popups.js";

const LABEL_ZOOM = 15;

/** The style of a grid: basic grids blue, exclusive ones orange. */
export const gridStyle = (f) => f.properties.kind === "exclusive"
  ? { color: "#e65100", weight: 1, fillColor: "#ffa726", fillOpacity: 0.3 }
  : { color: "#1565c0", weight: 1, fillColor: "#42a5f5", fillOpacity: 0.2 };

/** Street and community outlines (not clickable; community edges snap for drawing). */
export function regionLayers() {
  return {
    streets: geo(Object.assign({ style: { color: "#333", weight: 2.5, fill: false }, interactive: false }, IGNORE)),
    communities: geo({ style: { color: "#6a1b9a", weight: 1.5, dashArray: "5 4", fill: false }, interactive: false, snapIgnore: false }),
  };
}

/**
 * The grids layer on map: byCode maps each grid code to its Leaflet layer; onClick(latlng) runs on a click.
 * put(feature) adds or replaces one grid, remove(code) takes one away.
 */
export function gridLayer(map, onClick) {
  const byCode = new Map();
  const layer = geo({
    style: gridStyle,
    onEachFeature: (f, l) => {
      const p = f.properties;
      byCode.set(p.code, l);
      // A DOM node, not a string: Leaflet would read a string as HTML.
      l.bindTooltip(el("span", {}, [`${p.code.slice(-3)} ${p.name}`]), { permanent: true, direction: "center", className: "grid-label" });
      l.on("click", (ev) => { if (mapBusy()) return; L.DomEvent.stopPropagation(ev); onClick(ev.latlng); });
    },
  });
  const labels = () => {
    const show = map.getZoom() >= LABEL_ZOOM;
    layer.eachLayer((l) => { if (l.getTooltip()) { if (show) l.openTooltip(); else l.closeTooltip(); } });
  };
  map.on("zoomend", labels);
  const remove = (code) => {
    const old = byCode.get(code);
    if (old) layer.removeLayer(old);
    byCode.delete(code);
  };
  const put = (feature) => { remove(feature.properties.code); layer.addData(feature); labels(); };
  return { layer, byCode, labels, put, remove };
}

/** The yellow outline of one grid, and a function flying map to a grid feature and outlining it. */
export function highlighter(map) {
  const layer = geo(Object.assign({ style: { color: "#ffd600", weight: 5, fill: false }, interactive: false }, IGNORE));
  return (code, feature) => {
    layer.clearLayers().addData(feature);
    layer.addTo(map);
    map.flyToBounds(layer.getBounds(), { maxZoom: 17, duration: 0.6 });
    document.body.dataset.highlight = code;
  };
}
