// Patrol coverage (巡查覆盖): grids coloured by the share of their streets walked today or this
// week, and one grid's walked and unwalked street pieces; overdue visits (走访逾期) as points.
import { API, api, currentToken } from "../api.js";
import { card, el, pct } from "../dom.js";
import { t } from "../i18n.js";
import { geo, toView } from "../view.js";
import { word } from "../words.js";
import { IGNORE } from "./popups.js";

/** The colour bands of a coverage share: [lowest share, fill colour, legend key]. */
export const SHARE_BANDS = [
  [0.85, "#2e7d32", "patrol_band_high"],
  [0.6, "#9ccc65", "patrol_band_good"],
  [0.3, "#ffca28", "patrol_band_part"],
  [0, "#e53935", "patrol_band_low"],
];
/** The fill of a grid without streets to walk. */
export const NO_STREET = "#bdbdbd";

/** The fill colour of a share (0..1, or null when the grid has no street). */
export function shareColour(share) {
  if (share === null || share === undefined) return NO_STREET;
  return SHARE_BANDS.find(([low]) => share >= low)[1];
}

/** The query of a period: "day" is today, "week" this ISO week (the server's, in its time zone). */
const periodQuery = (period) => (period === "week" ? "week=" + isoWeek(new Date()) : "");

/** The ISO week (2026-W49) of a date, in the browser's calendar. */
export function isoWeek(d) {
  const day = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
  const dow = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - dow);
  const jan1 = new Date(Date.UTC(day.getUTCFullYear(), 0, 1));
  const week = Math.ceil(((day - jan1) / 86400000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}

/**
 * The coverage layer over the grids (byCode: grid code → its Leaflet layer on the grid layer) of
 * region() (a code). The period (today or this week) is switched by the control it adds while on.
 */
export function coverageLayer(map, byCode, region) {
  const layer = geo(Object.assign({ interactive: false, style: (f) => ({
    color: "#37474f", weight: 1, fillColor: shareColour(f.properties.share), fillOpacity: 0.6,
  }) }, IGNORE));
  let period = "day";
  let last = null;
  const control = L.control({ position: "topright" });
  control.onAdd = () => {
    const box = el("div", { class: "leaflet-bar patrol-period", role: "group" }, []);
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  const renderControl = () => {
    const box = control.getContainer();
    if (!box) return;
    box.setAttribute("aria-label", t("patrol_period"));
    box.replaceChildren(...["day", "week"].map((p) => el("button", {
      type: "button", class: p === period ? "on" : "", "data-period": p, "aria-pressed": String(p === period),
      onclick: () => { if (p !== period) { period = p; load(); } },
    }, [t(`patrol_${p}`)])));
  };
  const load = async () => {
    const code = region();
    const answer = await api(`${API}/patrol-coverage?region=${code}&${periodQuery(period)}`);
    layer.clearLayers();
    for (const g of answer.grids || []) {
      const shape = byCode.get(g.grid);
      if (shape) layer.addData({ type: "Feature", properties: g, geometry: shape.feature.geometry });
    }
    last = answer;
    renderControl();
    document.body.dataset.patrolCoverage = `${period}:${(answer.grids || []).length}`;
    return { shown: (answer.grids || []).length, matched: (answer.grids || []).length };
  };
  layer.on("add", () => { control.addTo(map); renderControl(); });
  layer.on("remove", () => { control.remove(); delete document.body.dataset.patrolCoverage; });
  return { key: "patrol_coverage", layer, load, anyView: true, retranslate: renderControl, period: () => period, last: () => last };
}

/** The walked (green) and unwalked (red, dashed) street pieces of one grid on map. */
export function streetPieces(map) {
  const walked = geo(Object.assign({ interactive: false, style: { color: "#1b5e20", weight: 4, opacity: 0.8 } }, IGNORE));
  const unwalked = geo(Object.assign({ interactive: false, style: { color: "#d50000", weight: 4, dashArray: "6 5", opacity: 0.9 } }, IGNORE));
  const show = (answer) => {
    walked.clearLayers().addData(answer.walked || { type: "FeatureCollection", features: [] }).addTo(map);
    unwalked.clearLayers().addData(answer.unwalked || { type: "FeatureCollection", features: [] }).addTo(map);
    document.body.dataset.streetPieces = `${answer.grid}:${(answer.unwalked?.features || []).length}`;
  };
  const clear = () => { walked.remove(); unwalked.remove(); delete document.body.dataset.streetPieces; };
  return { show, clear };
}

/** One grid's coverage today and this week (the one-grid answers, with their street pieces). */
export async function gridCoverage(code) {
  const [day, week] = await Promise.all([
    api(`${API}/patrol-coverage/${code}`),
    api(`${API}/patrol-coverage/${code}?week=${isoWeek(new Date())}`),
  ]);
  return { day, week };
}

/** The region or grids whose overdue visits the signed-in token (who: GET /me) may read. */
export function overdueScopes(who, fallbackRegion) {
  if (!who) return [];
  if (who.grids && who.grids.length) return who.grids.map((g) => `grid=${g.code}`);
  if (who.region_level === "grid" && who.region) return [`grid=${who.region}`];
  return [`region=${who.region || fallbackRegion}`];
}

/** Households past their visit interval (needs a sign-in); who() answers GET /me or null. */
export function overdueLayer(map, who, fallbackRegion) {
  const dot = (f, ll) => L.circleMarker(ll, { radius: 6, color: "#4a148c", weight: 2, fillColor: f.properties.days_overdue > 7 ? "#d500f9" : "#ea80fc", fillOpacity: 0.95 });
  const layer = geo(Object.assign({ pointToLayer: dot, onEachFeature: (f, l) => {
    const p = f.properties;
    l.bindPopup(() => card(p.address || `#${p.household_id}`, [
      [t("visit_home"), [p.unit, p.room].filter(Boolean).join(" ")],
      [t("grid_code"), p.grid_code],
      [t("visit_last"), p.last_visit_at ? new Date(p.last_visit_at).toLocaleDateString() : t("visit_never")],
      [t("visit_days_overdue"), String(p.days_overdue)],
      [t("visit_care_tags"), p.masked ? t("visit_masked") : (p.care_tags || []).map((c) => word("care_tag", c.tag || c)).join("、")],
    ]));
  } }, IGNORE));
  let readFor = null;
  const load = async () => {
    if (!currentToken() || !who()) {
      layer.clearLayers();
      readFor = null;
      throw Object.assign(new Error(t("visit_sign_in")), { signIn: true });
    }
    const scopes = overdueScopes(who(), fallbackRegion());
    const key = scopes.join("&") + currentToken();
    if (readFor === key) return { shown: layer.getLayers().length, matched: layer.getLayers().length };
    const answers = await Promise.all(scopes.map((s) => api(`${API}/visits/overdue?${s}`)));
    layer.clearLayers();
    answers.forEach((fc) => layer.addData(fc));
    readFor = key;
    const n = layer.getLayers().length;
    document.body.dataset.overdueVisits = String(n);
    return { shown: n, matched: n };
  };
  const reset = () => { layer.clearLayers(); readFor = null; delete document.body.dataset.overdueVisits; };
  return { key: "visit_overdue", layer, load, reset, anyView: true };
}

/** A household point of an overdue answer as a map position (for tests and the panel). */
export const overdueAt = (f) => toView(f.geometry.coordinates[0], f.geometry.coordinates[1]);

/** The figure rows of a grid's patrols and visits for its panel: coverage today, this week, overdue. */
export async function patrolRows(code, { onPieces }) {
  const out = [];
  try {
    const { day, week } = await gridCoverage(code);
    const g = (a) => (a.grids ? a.grids.find((x) => x.grid === code) || a.grids[0] : a) || {};
    const d = g(day), w = g(week);
    out.push([t("patrol_share_day"), d.share === null ? t("patrol_no_street") : `${pct(d.share)} · ${km(d.walked_m)} / ${km(d.street_m)}`]);
    out.push([t("patrol_share_week"), w.share === null ? t("patrol_no_street") : `${pct(w.share)} · ${t("patrol_n", { n: w.patrols ?? 0 })}`]);
    if (onPieces) onPieces(Object.assign({ grid: code }, day));
  } catch (e) {
    out.push([t("patrol_share_day"), "—"]);
  }
  if (currentToken()) {
    try {
      const fc = await api(`${API}/visits/overdue?grid=${code}`);
      out.push([t("visit_overdue_n"), String(fc.features.length)]);
    } catch (e) {
      out.push([t("visit_overdue_n"), e.status === 403 ? t("visit_not_yours") : "—"]);
    }
  } else {
    out.push([t("visit_overdue_n"), t("visit_sign_in_short")]);
  }
  return out;
}

const km = (m) => (m === null || m === undefined ? "—" : `${(m / 1000).toFixed(2)} km`);
