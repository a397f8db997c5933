// Popups of clicked features: the click stops at the feature, its content comes from its properties.
// While a drawing or editing tool owns the mouse, clicks pass through to it and no popup opens.
// Every popup stays inside the map (clear of its controls), scrolls when taller than the map allows,
// and is no wider than a phone's screen.
import { mapBusy } from "../modes.js";

/** Popup options that keep a popup of map on screen: pan clear of the controls, scroll when tall. */
export function onScreen(map, options) {
  const size = map.getSize();
  return Object.assign({
    autoPan: true,
    autoPanPaddingTopLeft: L.point(50, 16),
    autoPanPaddingBottomRight: L.point(16, 16),
    maxWidth: Math.max(200, Math.min(360, size.x - 60)),
    minWidth: Math.min(220, size.x - 80),
    maxHeight: Math.max(160, size.y - 90),
    className: "gm-popup",
  }, options || {});
}

/** Opens content (a DOM node) in a popup at latlng on map; answers the popup. */
export function popupAt(map, latlng, content, options) {
  return L.popup(onScreen(map, options)).setLatLng(latlng).setContent(content).openOn(map);
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
