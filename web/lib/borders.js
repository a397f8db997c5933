// Moving a shared border once: while one grid is edited, every grid holding the same vertex (the
// same map position, hence the same stored pair) follows its moves, insertions and removals.

const same = (a, b) => a.lat === b.lat && a.lng === b.lng;

/** Every ring (array of L.LatLng) of a polygon layer, outer rings and holes. */
export function ringsOf(layer) {
  const lls = layer.getLatLngs();
  if (!Array.isArray(lls[0])) return [lls];
  if (!Array.isArray(lls[0][0])) return lls;
  return lls.flat();
}

/** The positions { r: ring number, i: index } in layer where a vertex sits at latlng exactly. */
function positionsAt(layer, latlng) {
  const found = [];
  ringsOf(layer).forEach((ring, r) => ring.forEach((ll, i) => { if (same(ll, latlng)) found.push({ r, i }); }));
  return found;
}

/** Redraws a layer whose rings were changed in place. */
const redraw = (layer) => layer.setLatLngs(layer.getLatLngs());

/** The ring of the edited layer an indexPath ([ring, i] or [polygon, ring, i]) points into. */
function ringAt(layer, indexPath) {
  let node = layer.getLatLngs();
  indexPath.slice(0, -1).forEach((k) => { node = node[k]; });
  return Array.isArray(node[0]) ? node[0] : node;
}

/**
 * Makes the neighbours of layer (the other grid layers others() answers) follow its Geoman vertex
 * events; settle(latlng, from) answers where a vertex dragged from `from` and dropped at latlng lands
 * (a stored vertex near it, or itself).
 * Answers { touched(): Set of neighbour layers changed, stop() }.
 */
export function followBorders(layer, others, settle) {
  const touched = new Set();
  let drag = null;

  /** Neighbours holding a vertex at latlng, with where. */
  function holders(latlng) {
    return others().map((n) => ({ layer: n, at: positionsAt(n, latlng) })).filter((h) => h.at.length);
  }
  function moveTo(latlng) {
    if (!drag) return;
    // Looked up afresh each time: redrawing a layer gives it new ring arrays.
    drag.followers.forEach((h) => {
      const rings = ringsOf(h.layer);
      h.at.forEach(({ r, i }) => { rings[r][i] = L.latLng(latlng.lat, latlng.lng); });
      redraw(h.layer);
      touched.add(h.layer);
    });
  }
  function dragStart(e) {
    const marker = e.markerEvent && e.markerEvent.target;
    if (!marker) return;
    const followers = holders(marker.getLatLng());
    // A neighbour's vertex moving under the marker must not pull the marker back to it by snapping.
    followers.forEach((h) => { h.layer.options.snapIgnore = true; });
    drag = { marker, followers, from: marker.getLatLng() };
  }
  function dragMove(e) {
    const marker = e.markerEvent && e.markerEvent.target;
    if (drag && marker === drag.marker) moveTo(marker.getLatLng());
  }
  function dragEnd(e) {
    const marker = e.markerEvent && e.markerEvent.target;
    if (!drag || marker !== drag.marker) return;
    const dropped = marker.getLatLng();
    const to = settle ? settle(dropped, drag.from) : dropped;
    if (to !== dropped && e.indexPath) {
      marker.setLatLng(to);
      ringAt(layer, e.indexPath)[e.indexPath[e.indexPath.length - 1]] = to;
      redraw(layer);
    }
    moveTo(marker.getLatLng());
    drag.followers.forEach((h) => { delete h.layer.options.snapIgnore; });
    drag = null;
  }
  function vertexAdded(e) {
    if (!e.indexPath) return;
    const ring = ringAt(layer, e.indexPath);
    const i = e.indexPath[e.indexPath.length - 1];
    const prev = ring[(i - 1 + ring.length) % ring.length];
    const next = ring[(i + 1) % ring.length];
    others().forEach((n) => {
      let changed = false;
      ringsOf(n).forEach((r) => {
        for (let k = 0; k < r.length; k += 1) {
          const a = r[k], b = r[(k + 1) % r.length];
          if ((same(a, prev) && same(b, next)) || (same(a, next) && same(b, prev))) {
            r.splice(k + 1, 0, L.latLng(e.latlng.lat, e.latlng.lng));
            changed = true;
            break;
          }
        }
      });
      if (changed) { redraw(n); touched.add(n); }
    });
  }
  function vertexRemoved(e) {
    const gone = e.marker && e.marker.getLatLng();
    if (!gone) return;
    holders(gone).forEach((h) => {
      const rings = ringsOf(h.layer);
      h.at.slice().reverse().forEach(({ r, i }) => { if (rings[r].length > 3) rings[r].splice(i, 1); });
      redraw(h.layer);
      touched.add(h.layer);
    });
  }
  const handlers = { "pm:markerdragstart": dragStart, "pm:markerdrag": dragMove, "pm:markerdragend": dragEnd,
    "pm:vertexadded": vertexAdded, "pm:vertexremoved": vertexRemoved };
  layer.on(handlers);
  return {
    touched: () => touched,
    stop: () => { layer.off(handlers); if (drag) drag.followers.forEach((h) => { delete h.layer.options.snapIgnore; }); drag = null; },
  };
}
