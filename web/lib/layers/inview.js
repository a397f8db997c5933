// Overlays read for whatever the map shows: the view's bbox, at most LIMIT features a read, each
// feature added once however often the view moves over it.
import { API, api } from "../api.js";
import { fromView } from "../view.js";

/** The most features one layer reads for one view. */
export const LIMIT = 2000;
/** The largest view the API answers for, in square degrees (its VIEW_MAX_DEG2). */
export const MAX_VIEW_DEG2 = 0.25;

/** The map's view as a WGS84 bbox [west, south, east, north], rounded outwards to 1e-5°. */
export function viewBox(map) {
  const b = map.getBounds();
  const [w, s] = fromView(b.getSouthWest());
  const [e, n] = fromView(b.getNorthEast());
  const down = (x) => (Math.floor(x * 1e5) / 1e5).toFixed(5), up = (x) => (Math.ceil(x * 1e5) / 1e5).toFixed(5);
  return [down(w), down(s), up(e), up(n)].map(Number);
}

/** Whether a bbox is small enough for the API to answer. */
export function viewFits(box) {
  return (box[2] - box[0]) * (box[3] - box[1]) <= MAX_VIEW_DEG2;
}

/**
 * A layer read for the view: path is the list endpoint with its own filters ("/lists?"), add(features)
 * puts new features on the layer. load(box) reads the view and answers { matched, shown } (shown:
 * how many the view's answer held, matched: how many there are in the view).
 */
export function inView(key, layer, path, add, idOf = (f) => f.properties.id) {
  const seen = new Set();
  const load = async (box) => {
    const sep = path.includes("?") ? "&" : "?";
    const fc = await api(`${API}${path}${sep}bbox=${box.join(",")}&limit=${LIMIT}`);
    const fresh = fc.features.filter((f) => { const id = idOf(f); if (seen.has(id)) return false; seen.add(id); return true; });
    if (fresh.length) add(fresh);
    const shown = fc.features.length;
    return { shown, matched: fc.numberMatched ?? shown };
  };
  return { key, layer, load, has: (id) => seen.has(id) };
}
