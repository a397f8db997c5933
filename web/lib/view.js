// Where overlays are drawn: WGS84 as stored, or shifted into GCJ-02 to follow an AMap/Tencent base map.
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

/** A drawn or edited layer's geometry in stored WGS84 coordinates. */
export function geometryOf(layer) {
  const g = layer.toGeoJSON().geometry;
  const back = (ring) => ring.map(([x, y]) => fromView(L.latLng(y, x)));
  if (g.type === "Polygon") return { type: "Polygon", coordinates: g.coordinates.map(back) };
  if (g.type === "MultiPolygon") return { type: "MultiPolygon", coordinates: g.coordinates.map((p) => p.map(back)) };
  return g;
}
