// Popups of clicked features: the click stops at the feature, its content comes from its properties.
// While a drawing or editing tool owns the mouse, clicks pass through to it and no popup opens.
import { mapBusy } from "../modes.js";

/** Opens content (a DOM node) in a popup at latlng on map. */
export function popupAt(map, latlng, content, options) {
  return L.popup(options).setLatLng(latlng).setContent(content).openOn(map);
}

/** On a click on a feature of layer, opens the popup content(properties, event) answers (may be async). */
export function popupOnClick(map, layer, content) {
  layer.on("click", async (ev) => {
    if (mapBusy()) return;
    L.DomEvent.stopPropagation(ev);
    popupAt(map, ev.latlng, await content(ev.layer.feature.properties, ev));
  });
}

/** Leaflet options that keep a layer out of Geoman's drawing, snapping and editing. */
export const IGNORE = Object.freeze({ pmIgnore: true });
