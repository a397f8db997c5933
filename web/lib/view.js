// Where overlays are drawn: WGS84 as stored, or shifted into GCJ-02 to follow an AMap/Tencent base map;
// and the way back, exact: a vertex drawn where a stored vertex is drawn is sent as the stored pair.
import { gcj02ToWgs84, wgs84ToGcj02 } from "./gcj02.js";

let gcj = false;

/** Draws overlays in GCJ-02 (on) or WGS84 (off); set once, before any layer is filled. */
export function useGcj02(on) {
  gcj = Boolean(on);
}

/** Whether overlays are drawn in GCJ-02. */
export function isGcj02() {
  return gcj;
}

/** The map position (L.LatLng) of a stored WGS84 point. */
export function toView(lon, lat) {
  const [x, y] = gcj ? wgs84ToGcj02(lon, lat) : [lon, lat];
  return L.latLng(y, x);
}

/** The stored WGS84 [lon, lat] of a map position. */
export function fromView(ll) {
  return gcj ? gcj02ToWgs84(ll.lng, ll.lat) : [ll.lng, ll.lat];
}

/** An empty L.geoJSON layer drawing its features where toView puts them. */
export const geo = (options) => L.geoJSON(null, Object.assign({ coordsToLatLng: (c) => toView(c[0], c[1]) }, options));

/** The key of a map position in a vertex index: its two doubles exactly. */
export const viewKey = (ll) => `${ll.lat} ${ll.lng}`;

/** Every [lon, lat] pair of a GeoJSON geometry (Polygon, MultiPolygon, LineString…). */
function pairsOf(geometry) {
  const out = [];
  const walk = (c) => { if (typeof c[0] === "number") out.push(c); else c.forEach(walk); };
  if (geometry && geometry.coordinates) walk(geometry.coordinates);
  return out;
}

/**
 * An index from the map position of every stored vertex of geometries (GeoJSON, stored WGS84) to
 * its stored [lon, lat]: answers { add(geometry), get(latlng), near(map, latlng, px, skip), keys(), size() }.
 */
export function vertexIndex(geometries) {
  const index = new Map();
  const views = [];
  const add = (geometry) => pairsOf(geometry).forEach((p) => {
    const ll = toView(p[0], p[1]);
    const key = viewKey(ll);
    if (!index.has(key)) views.push(ll);
    index.set(key, p);
  });
  (geometries || []).forEach(add);
  /** The map position of the stored vertex nearest ll on map, if one is within px pixels (skip(v): leave v out). */
  const near = (map, ll, px, skip) => {
    const at = map.latLngToContainerPoint(ll);
    let best = null, dist = px;
    views.forEach((v) => { if (skip && skip(v)) return; const d = map.latLngToContainerPoint(v).distanceTo(at); if (d <= dist) { best = v; dist = d; } });
    return best;
  };
  return { add, near, get: (ll) => index.get(viewKey(ll)), size: () => index.size, keys: () => index.keys() };
}

/** The stored [lon, lat] of a map position: the stored pair of the vertex drawn there, else fromView at full precision. */
export function exactPoint(ll, index) {
  const stored = index && index.get(ll);
  return stored ? [stored[0], stored[1]] : fromView(ll);
}

/** A ring of map positions as a closed GeoJSON ring of stored coordinates. */
function exactRing(latlngs, index) {
  const ring = latlngs.map((ll) => exactPoint(ll, index));
  if (ring.length && (ring[0][0] !== ring[ring.length - 1][0] || ring[0][1] !== ring[ring.length - 1][1])) ring.push(ring[0].slice());
  return ring;
}

/**
 * A drawn or edited polygon layer's geometry in stored WGS84 coordinates, never rounded: every
 * vertex on a stored vertex's position (index) is sent as the stored pair.
 */
export function geometryOf(layer, index) {
  const lls = layer.getLatLngs();
  const isMulti = Array.isArray(lls[0]) && Array.isArray(lls[0][0]);
  if (isMulti) return { type: "MultiPolygon", coordinates: lls.map((p) => p.map((r) => exactRing(r, index))) };
  if (Array.isArray(lls[0])) return { type: "Polygon", coordinates: lls.map((r) => exactRing(r, index)) };
  return { type: "LineString", coordinates: lls.map((ll) => exactPoint(ll, index)) };
}
