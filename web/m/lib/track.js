// The patrol track's fix filter and lengths: pure functions, no page, no network.
//
// A fix is {lon, lat, accuracy, t} (t in Unix seconds). The filter keeps what the server would
// accept as a walk: a fix worse than the pack's accuracy limit, a jump faster than its speed
// limit from the last kept fix, or a fix not later than the last kept one is dropped.

const EARTH_M = 6371008.8;
const RAD = Math.PI / 180;

/** The limits the pack's settings give, with the server's defaults where the pack has none. */
export function limits(settings) {
  const s = settings || {};
  return {
    accuracyM: Number(s.patrol_fix_accuracy_m) > 0 ? Number(s.patrol_fix_accuracy_m) : 50,
    maxSpeedKmh: Number(s.patrol_max_speed_kmh) > 0 ? Number(s.patrol_max_speed_kmh) : 60,
    piecePoints: Number(s.patrol_piece_points) > 0 ? Number(s.patrol_piece_points) : 3600,
  };
}

/** Metres between two {lon, lat} points on the sphere (haversine; under 0.5 % off the ellipsoid). */
export function distanceM(a, b) {
  const dLat = (b.lat - a.lat) * RAD;
  const dLon = (b.lon - a.lon) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * Why fix is dropped after last (the last kept fix, or null), or null when it is kept:
 * "bad" (no finite place or time), "inaccurate", "not_later" (same or earlier time: a repeat of
 * a cached fix), "too_fast" (an impossible jump).
 */
export function dropReason(last, fix, settings) {
  const lim = limits(settings);
  if (!fix || ![fix.lon, fix.lat, fix.t].every(Number.isFinite)) return "bad";
  if (!(Number(fix.accuracy) <= lim.accuracyM)) return "inaccurate";
  if (!last) return null;
  const dt = fix.t - last.t;
  if (!(dt > 0)) return "not_later";
  const kmh = (distanceM(last, fix) / dt) * 3.6;
  // 1 % under the server's limit: it measures on the ellipsoid, this on a sphere (up to 0.5 %
  // apart), and a step the phone keeps but the server refuses would hold up the whole patrol.
  return kmh > lim.maxSpeedKmh * 0.99 ? "too_fast" : null;
}

/** The fixes a walk keeps, in order (each judged against the last one kept). */
export function filterFixes(fixes, settings) {
  const kept = [];
  for (const fix of fixes) {
    if (dropReason(kept[kept.length - 1] || null, fix, settings) === null) kept.push(fix);
  }
  return kept;
}

/** The length in metres of a track of {lon, lat} points or [lon, lat, t] triples. */
export function lengthM(points) {
  let total = 0;
  for (let i = 1; i < points.length; i += 1) total += distanceM(asFix(points[i - 1]), asFix(points[i]));
  return total;
}

/** A [lon, lat, t] triple as the server takes it (coordinates to ~1 cm, time to 1 ms). */
export function asTriple(fix) {
  return [round(fix.lon, 7), round(fix.lat, 7), round(fix.t, 3)];
}

function asFix(p) {
  return Array.isArray(p) ? { lon: p[0], lat: p[1], t: p[2] } : p;
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
