// Which cached grid a point falls in, on the phone, offline: point in polygon over GeoJSON
// (Polygon and MultiPolygon, holes counted) with a bounding-box test first.

/** Whether (x, y) is inside the ring [[x, y], …] (even-odd rule). */
export function inRing(x, y, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Whether (x, y) is inside a GeoJSON Polygon or MultiPolygon geometry. */
export function inGeometry(x, y, geometry) {
  if (!geometry) return false;
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates]
    : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
  return polygons.some((rings) => rings.length > 0 && inRing(x, y, rings[0])
    && !rings.slice(1).some((hole) => inRing(x, y, hole)));
}

function bounds(geometry) {
  let minX = Infinity; let minY = Infinity; let maxX = -Infinity; let maxY = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === "number") {
      minX = Math.min(minX, c[0]); maxX = Math.max(maxX, c[0]); minY = Math.min(minY, c[1]); maxY = Math.max(maxY, c[1]);
    } else c.forEach(walk);
  };
  walk(geometry.coordinates);
  return [minX, minY, maxX, maxY];
}

/**
 * A finder over a GeoJSON FeatureCollection of grids: find(lon, lat) answers the first feature
 * containing the point, or null.
 */
export function gridFinder(collection) {
  const features = ((collection && collection.features) || []).filter((f) => f.geometry)
    .map((f) => ({ f, box: bounds(f.geometry) }));
  return (lon, lat) => {
    const hit = features.find(({ f, box }) => lon >= box[0] && lon <= box[2] && lat >= box[1] && lat <= box[3]
      && inGeometry(lon, lat, f.geometry));
    return hit ? hit.f : null;
  };
}
