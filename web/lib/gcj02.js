// GCJ-02, the offset of Chinese web maps (AMap, Tencent), from and to WGS84: pure functions.

const A = 6378245.0;
const EE = 0.00669342162296594323;

/** Whether a point lies outside China, where GCJ-02 is WGS84 unshifted. */
export function outOfChina(lon, lat) {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

/** The published GCJ-02 shift [dLon, dLat] in degrees at a WGS84 point. */
export function gcjDelta(lon, lat) {
  const x = lon - 105.0, y = lat - 35.0;
  let dLat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  dLat += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
  dLat += (20 * Math.sin(y * Math.PI) + 40 * Math.sin(y / 3 * Math.PI)) * 2 / 3;
  dLat += (160 * Math.sin(y / 12 * Math.PI) + 320 * Math.sin(y * Math.PI / 30)) * 2 / 3;
  let dLon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  dLon += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
  dLon += (20 * Math.sin(x * Math.PI) + 40 * Math.sin(x / 3 * Math.PI)) * 2 / 3;
  dLon += (150 * Math.sin(x / 12 * Math.PI) + 300 * Math.sin(x / 30 * Math.PI)) * 2 / 3;
  const rad = lat / 180 * Math.PI, magic = 1 - EE * Math.sin(rad) ** 2, sq = Math.sqrt(magic);
  return [(dLon * 180) / (A / sq * Math.cos(rad) * Math.PI), (dLat * 180) / ((A * (1 - EE)) / (magic * sq) * Math.PI)];
}

/** A WGS84 point [lon, lat] in GCJ-02. */
export function wgs84ToGcj02(lon, lat) {
  if (outOfChina(lon, lat)) return [lon, lat];
  const [dx, dy] = gcjDelta(lon, lat);
  return [lon + dx, lat + dy];
}

/** A GCJ-02 point [lon, lat] back in WGS84, by iterating the forward transform (well under 1 cm). */
export function gcj02ToWgs84(lon, lat) {
  if (outOfChina(lon, lat)) return [lon, lat];
  let x = lon, y = lat;
  for (let i = 0; i < 8; i++) { const [gx, gy] = wgs84ToGcj02(x, y); x += lon - gx; y += lat - gy; }
  return [x, y];
}
