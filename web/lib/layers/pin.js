// The pin of an address search: a marker on the building found, labelled with its address.
import { toView } from "../view.js";

/** A pin on map: place(lon, lat, label, weak) puts it on a stored WGS84 point, clear() removes it. */
export function pinLayer(map) {
  let marker = null;
  const icon = (weak) => L.divIcon({ className: weak ? "search-pin weak" : "search-pin", iconSize: [24, 32], iconAnchor: [12, 32], tooltipAnchor: [0, -30] });
  return {
    place(lon, lat, label, weak) {
      if (marker) marker.remove();
      marker = L.marker(toView(lon, lat), { icon: icon(weak), keyboard: false, interactive: false, pmIgnore: true })
        .bindTooltip(label, { permanent: true, direction: "top", className: "search-pin-label" })
        .addTo(map);
    },
    clear() {
      if (marker) marker.remove();
      marker = null;
    },
  };
}
