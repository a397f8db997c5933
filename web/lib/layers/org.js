// The Party organisation (党组织) on the map: grids with a branch and grids without one (red),
// buildings with households but no group (red), central households with the number of households
// each serves (red when fewer than 10 or more than 20), and resident units (member units of the
// big committee marked). Read per community of the grids in view, each community once.
import { API, EMPTY, api, apiOr } from "../api.js";
import { card, el } from "../dom.js";
import { t } from "../i18n.js";
import { named } from "../listflow.js";
import { mapBusy } from "../modes.js";
import { geo } from "../view.js";
import { word } from "../words.js";
import { IGNORE, popupOnClick } from "./popups.js";

/** How many households a central household serves at least and at most (the settings' figures). */
export const CENTRAL_MIN = 10;
export const CENTRAL_MAX = 20;
/** The fills of grids with and without a branch. */
export const BRANCH_FILL = "#66bb6a";
export const NO_BRANCH_FILL = "#e53935";

/** Whether a central household serving n households is outside 10–20. */
export const centralBad = (n) => n < CENTRAL_MIN || n > CENTRAL_MAX;

/** The committees of a tree answer (a list, or an object holding them). */
export function committeesOf(answer) {
  if (Array.isArray(answer)) return answer;
  if (!answer) return [];
  return answer.committees || answer.tree || answer.children || (answer.kind ? [answer] : []);
}

/** Every node of a tree below (and with) nodes, depth first. */
export function walk(nodes, out = []) {
  (nodes || []).forEach((n) => { out.push(n); walk(n.children, out); });
  return out;
}

/** The codes of the communities whose grids (byCode: code → Leaflet layer) reach into bounds. */
export function communitiesIn(byCode, bounds) {
  const found = new Set();
  byCode.forEach((l, code) => { if (bounds.intersects(l.getBounds())) found.add(code.slice(0, 12)); });
  return [...found].sort();
}

/**
 * The org layer over the grids (byCode: grid code → its Leaflet layer). onGrid(code, latlng) runs
 * on a click on a grid while the layer is on. Answers { key, layer, load, anyView, trees, ... }.
 */
export function orgLayer(map, byCode, onGrid) {
  const branchOf = new Map();
  const gridStyle = (f) => {
    const has = branchOf.has(f.properties.code);
    return { color: has ? "#1b5e20" : "#b71c1c", weight: has ? 1 : 2, fillColor: has ? BRANCH_FILL : NO_BRANCH_FILL,
      fillOpacity: has ? 0.25 : 0.5, className: `org-grid org-grid-${f.properties.code} ${has ? "has-branch" : "no-branch"}` };
  };
  const grids = geo(Object.assign({ style: gridStyle, onEachFeature: (f, l) => {
    l.on("click", (ev) => { if (mapBusy()) return; L.DomEvent.stopPropagation(ev); onGrid(f.properties.code, ev.latlng); });
  } }, IGNORE));
  const buildingDot = (f, ll) => L.circleMarker(ll, { radius: 5, color: "#7f0000", weight: 1.5, fillColor: NO_BRANCH_FILL, fillOpacity: 0.9, className: "org-building-no-group" });
  const buildings = geo(Object.assign({ pointToLayer: buildingDot }, IGNORE));
  const centralIcon = (n) => L.divIcon({ className: `central-n${centralBad(n) ? " bad" : ""}`, html: "", iconSize: [22, 18] });
  const central = geo(Object.assign({ pointToLayer: (f, ll) => {
    const n = Number(f.properties.serves || 0);
    const m = L.marker(ll, Object.assign({ icon: centralIcon(n), keyboard: false }, IGNORE));
    // The number as text (a div icon's html would be read as HTML).
    m.on("add", () => { const node = m.getElement(); if (node) { node.textContent = String(n); node.dataset.household = String(f.properties.id); } });
    return m;
  } }, IGNORE));
  const unitIcon = (member) => L.divIcon({ className: `unit-pin${member ? " member" : ""}`, html: "", iconSize: [12, 12] });
  const units = geo(Object.assign({ pointToLayer: (f, ll) => L.marker(ll, Object.assign({ icon: unitIcon(Boolean(f.properties.committee_id)), keyboard: false }, IGNORE)) }, IGNORE));
  const layer = L.layerGroup([grids, buildings, units, central]);
  // What was read per community: its tree, and the central households and units drawn.
  const trees = new Map();
  const centralById = new Map();
  const groupOfCentral = new Map();

  popupOnClick(map, central, (p) => {
    const g = groupOfCentral.get(p.id);
    return card(`${t("designated")} #${p.id}`, [[t("grid_code"), p.grid_code], ["", p.address],
      [t("org_serves", { n: p.serves }), centralBad(Number(p.serves || 0)) ? t("org_central_bad", { min: CENTRAL_MIN, max: CENTRAL_MAX }) : ""],
      [word("org_kind", "group"), g ? g.name : ""], ["", named(p.contact_name, p.masked)]]);
  });
  popupOnClick(map, units, (p) => card(p.name, [[t("kind"), word("unit_kind", p.kind)], ["", p.address],
    ["", p.committee_id ? t("org_committee_member") : ""], [t("grid_code"), p.grid_code],
    ["", [named(p.contact_name, p.masked), p.contact_phone].filter(Boolean).join(" ")]]));
  popupOnClick(map, buildings, (p) => card(t("check_building_no_group"), [[t("grid_code"), p.grid_code], ["", p.address || p.building || ""]]));

  const readCommunity = async (community) => {
    const [tree, checks, hh, un] = await Promise.all([
      api(`${API}/party-orgs/tree?community=${community}`).catch(() => []),
      apiOr(`${API}/org/checks?region=${community}`, EMPTY),
      apiOr(`${API}/households?designated=true&region=${community}&limit=2000`, EMPTY),
      apiOr(`${API}/resident-units?community=${community}&limit=2000`, EMPTY),
    ]);
    const committees = committeesOf(tree);
    trees.set(community, committees);
    walk(committees).forEach((n) => {
      if (n.kind === "branch") (n.grid_codes || []).forEach((g) => branchOf.set(g, n));
      if (n.kind === "group") (n.central_households || []).forEach((c) => groupOfCentral.set(c.id, n));
    });
    buildings.addData((checks.features || []).filter((f) => f.properties.check === "building_no_group"));
    const fresh = (hh.features || []).filter((f) => !centralById.has(f.properties.id));
    fresh.forEach((f) => centralById.set(f.properties.id, f));
    central.addData(fresh);
    units.addData(un.features || []);
    byCode.forEach((l, code) => {
      if (code.startsWith(community)) grids.addData({ type: "Feature", properties: { code }, geometry: l.feature.geometry });
    });
  };
  // Communities being read: a pan while a read is under way must not read (and draw) them twice.
  const reading = new Set();
  const load = async () => {
    const t0 = performance.now();
    const wanted = communitiesIn(byCode, map.getBounds()).filter((c) => !trees.has(c) && !reading.has(c));
    wanted.forEach((c) => reading.add(c));
    try {
      await Promise.all(wanted.map(readCommunity));
    } finally {
      wanted.forEach((c) => reading.delete(c));
    }
    // Branches read after a grid was drawn change its colour.
    grids.setStyle(gridStyle);
    const ms = Math.round(performance.now() - t0);
    document.body.dataset.orgLayer = `${trees.size}:${branchOf.size}`;
    document.body.dataset.orgMs = String(ms);
    return { shown: wanted.length, matched: wanted.length, ms, communities: trees.size, grids: branchOf.size };
  };
  /** Forgets what was read (after an edit of the organisation or of grids). */
  const reset = () => {
    trees.clear(); branchOf.clear(); centralById.clear(); groupOfCentral.clear();
    [grids, buildings, central, units].forEach((x) => x.clearLayers());
  };
  const ready = (a) => t("org_layer_ready", { communities: a.communities, grids: a.grids, ms: a.ms });
  return { key: "org", layer, load, anyView: true, followsView: true, ready, reset, trees, centralById, branchOf };
}

/** The legend rows of the org layer. */
export function orgLegend() {
  return [
    el("div", {}, [el("i", { class: "sw", style: `border-color:#1b5e20;background:${BRANCH_FILL}66` }), t("org_grid_branch")]),
    el("div", {}, [el("i", { class: "sw", style: `border-color:#b71c1c;background:${NO_BRANCH_FILL}` }), t("org_grid_no_branch")]),
    el("div", {}, [el("i", { class: "dot", style: `background:${NO_BRANCH_FILL};border-color:#7f0000` }), t("org_building_no_group")]),
    el("div", {}, [el("i", { class: "dot", style: "background:#fff;box-shadow:0 0 0 2px #2e7d32" }), t("org_central")]),
    el("div", {}, [el("i", { class: "dot", style: "background:#d50000" }), t("org_central_bad", { min: CENTRAL_MIN, max: CENTRAL_MAX })]),
    el("div", {}, [el("i", { class: "dot", style: "background:#fff;box-shadow:0 0 0 2px #455a64;border-radius:0" }), t("org_unit"), " ",
      el("i", { class: "dot", style: "background:#c62828;border-radius:0" }), t("org_unit_member")]),
  ];
}
