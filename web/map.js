// The map page: layers of the district, lookups, search, and grid editing with a token.
import { API, api, apiOr, currentToken, setToken } from "./lib/api.js";
import { gridEditor } from "./lib/editor.js";
import { showHistory } from "./lib/history.js";
import { setHolder } from "./lib/holder.js";
import { language, onLanguage, t, toggleLanguage, translatePage } from "./lib/i18n.js";
import { centresLayer, circlesLayer } from "./lib/layers/centres.js";
import { problemsLayer, refusalLayer, uncoveredLayer } from "./lib/layers/coverage.js";
import { designatedLayer } from "./lib/layers/households.js";
import { incidentsLayer } from "./lib/layers/incidents.js";
import { viewBox, viewFits } from "./lib/layers/inview.js";
import { listsLayer } from "./lib/layers/lists.js";
import { orgLayer } from "./lib/layers/org.js";
import { coverageLayer, overdueLayer, streetPieces } from "./lib/layers/patrols.js";
import { gridLayer, highlighter, regionLayers } from "./lib/layers/regions.js";
import { addRoads, buildingTiles } from "./lib/layers/tiles.js";
import { warningsLayer } from "./lib/layers/warnings.js";
import { renderLegend } from "./lib/legend.js";
import { showLookup } from "./lib/lookup.js";
import { mapBusy, whenBusy } from "./lib/modes.js";
import { showGridOrg } from "./lib/org/grid.js";
import { showTree } from "./lib/org/tree.js";
import { forgetFigures, hidePanel, onStreetPieces } from "./lib/panels.js";
import { bindSearch } from "./lib/search.js";
import { describe, refusal as tokenRefusal, signInForm, whoIs } from "./lib/signin.js";
import { geo, useGcj02 } from "./lib/view.js";

const $ = (id) => document.getElementById(id);
const say = (text) => { $("status").textContent = text; };

const map = L.map("map", { zoomControl: true, maxZoom: 19 }).setView([40.0, 116.35], 14);
map.attributionControl.addAttribution("数据 © OpenStreetMap 贡献者 (ODbL) · adcode (CC BY 4.0)");
let startRegion = "110108010";

const { streets, communities } = regionLayers();
const grids = gridLayer(map, (latlng) => showLookup(map, latlng, actions, gridExtras));
const refusal = refusalLayer(map);
const buildings = buildingTiles(map, (layer) => layersControl.addOverlay(layer, t("buildings")));
const editor = gridEditor(map, grids, refusal, () => {
  forgetFigures();
  buildings.refresh();
  grids.labels();
  const problems = lazy.find((x) => x.key === "problems");
  if (map.hasLayer(problems.layer)) { problems.reset(); loadInView(problems); }
  refreshOrg();
}, communities);
const actions = [
  { cls: "edit-grid", label: () => t("edit"), run: editor.edit },
  { cls: "split-grid", label: () => t("split"), run: editor.split },
  { cls: "merge-grid", label: () => t("merge"), run: editor.merge },
  { cls: "delete-grid", label: () => t("delete"), run: editor.remove },
  { cls: "history-grid", label: () => t("history"), run: (code) => showHistory(map, editor, code) },
];
// A grid's Party organisation and team, for everyone (names masked as the API answers), with the
// team's editing for an office covering the grid.
const orgContext = {
  grids: () => [...grids.byCode.entries()].map(([code, l]) => [code, l.feature.properties.name]).sort(),
  onChange: () => { refreshOrg(); },
};
const gridExtras = [{ cls: "org-grid", label: () => t("org_of_grid"), run: (code) => showGridOrg(code, orgContext) }];
whenBusy(editor.busy);
map.on("click", (ev) => { if (!mapBusy()) showLookup(map, ev.latlng, actions, gridExtras); });
bindSearch($("search"), $("search-q"), highlighter(map), say, map);
$("panel-close").addEventListener("click", hidePanel);

// Layers read for whatever the map shows, when switched on and after every move (debounced);
// the status line says when a layer holds more in the view than one read brings.
// The patrol layers read the whole district (coverage) or the token's area (overdue visits) at once.
const district = () => startRegion.slice(0, 6);
// A grid's walked and unwalked streets (of the period the coverage layer shows) are drawn while
// the coverage layer is on.
let lastPieces = null;
const showPieces = () => { if (lastPieces && map.hasLayer(patrolCoverage.layer)) pieces.show(lastPieces[patrolCoverage.period()]); };
const patrolCoverage = coverageLayer(map, grids.byCode, district, showPieces);
const overdueVisits = overdueLayer(map, () => who, district);
// The Party organisation: a click on a grid while it is on shows the grid's organisation too.
const org = orgLayer(map, grids.byCode, (code, latlng) => { showLookup(map, latlng, actions, gridExtras); showGridOrg(code, orgContext); });
const warnings = warningsLayer(map, grids.byCode);
const lazy = [problemsLayer(map, communities), circlesLayer(), centresLayer(map), uncoveredLayer(map), designatedLayer(map), incidentsLayer(), listsLayer(map), patrolCoverage, overdueVisits, org, warnings];
/** Reads the organisation and the warnings again (after a change of grids, teams or sign-in). */
function refreshOrg() {
  [org, warnings].forEach((x) => { x.reset(); if (map.hasLayer(x.layer)) loadInView(x); });
}
// The tree of the community in the middle of the view, from a button shown while the org layer is on.
let communityNames = [];
const treeControl = L.control({ position: "topright" });
treeControl.onAdd = () => {
  const box = L.DomUtil.create("div", "leaflet-bar org-control org-tree-control");
  L.DomEvent.disableClickPropagation(box);
  return box;
};
function renderTreeControl() {
  const box = treeControl.getContainer();
  if (!box) return;
  const b = document.createElement("button");
  b.type = "button";
  b.className = "org-tree-btn";
  b.textContent = t("org_tree");
  b.addEventListener("click", () => {
    const inView = communitiesHere();
    const withGrids = communityNames.filter(([c]) => [...grids.byCode.keys()].some((g) => g.startsWith(c)));
    const first = inView[0] || (withGrids[0] || [startRegion])[0];
    showTree(first, { map, byCode: grids.byCode, communities: withGrids, centralAt: (id) => {
      const f = org.centralById.get(id);
      return f ? [f.geometry.coordinates[1], f.geometry.coordinates[0]] : null;
    } });
  });
  box.replaceChildren(b);
}
/** The communities of the grids nearest the middle of the view first. */
function communitiesHere() {
  const c = map.getCenter();
  const hit = [...grids.byCode.entries()].filter(([, l]) => l.getBounds().contains(c)).map(([code]) => code.slice(0, 12));
  return hit;
}
org.layer.on("add", () => { treeControl.addTo(map); renderTreeControl(); });
org.layer.on("remove", () => { treeControl.remove(); });
const pieces = streetPieces(map);
onStreetPieces((both) => { lastPieces = both; showPieces(); });
patrolCoverage.layer.on("remove", pieces.clear);
const VIEW_DELAY_MS = 250;
async function loadInView(entry) {
  const box = viewBox(map);
  if (!entry.anyView && !viewFits(box)) { say(t("layer_zoom_in", { layer: t(entry.key) })); return; }
  try {
    const answer = await entry.load(box);
    const { shown, matched } = answer;
    entry.cut = matched > shown;
    if (entry.ready) say(entry.ready(answer));
    if (entry.cut) say(t("layer_cut", { layer: t(entry.key), n: matched, shown }));
  } catch (e) {
    say(e.signIn ? e.message : t("load_failed", { m: e.message }));
  }
  document.body.dataset.viewLoads = String(Number(document.body.dataset.viewLoads || 0) + 1);
}
async function loadVisible() {
  await Promise.all(lazy.filter((x) => (!x.anyView || x.followsView) && map.hasLayer(x.layer)).map(loadInView));
  document.body.dataset.view = viewBox(map).join(",");
}
let moveTimer = null;
map.on("moveend", () => { clearTimeout(moveTimer); moveTimer = setTimeout(loadVisible, VIEW_DELAY_MS); });
/** The keys of the layers on the map now (the legend shows only theirs). */
function layersOn() {
  return new Set(overlays().filter(([, l]) => map.hasLayer(l)).map(([k]) => k));
}
map.on("overlayadd overlayremove", () => renderLegend($("legend"), layersOn()));
map.on("overlayadd", (ev) => {
  const entry = lazy.find((x) => x.layer === ev.layer);
  if (entry) loadInView(entry).then(() => { document.body.dataset.view = viewBox(map).join(","); });
});

// The layer switch, named in the language in use.
let layersControl = null;
// At phone width the layer switch folds into its button.
const PHONE = window.matchMedia("(max-width: 640px)");
let baseLayers = null;
const overlays = () => [["streets", streets], ["communities", communities], ["grids", grids.layer], ...lazy.map((x) => [x.key, x.layer])];
function buildControl() {
  const o = {};
  overlays().forEach(([k, l]) => { o[t(k)] = l; });
  if (buildings.current()) o[t("buildings")] = buildings.current();
  layersControl = L.control.layers(baseLayers, o, { collapsed: PHONE.matches }).addTo(map);
}
function renderText() {
  translatePage();
  $("lang-btn").textContent = language() === "zh" ? "English" : "中文";
  $("token-btn").textContent = currentToken() ? t("sign_out") : t("sign_in");
  $("signin-who").textContent = who ? describe(who) : "";
  $("signin-who").hidden = !who;
  renderLegend($("legend"), layersOn());
  patrolCoverage.retranslate();
  warnings.retranslate();
  renderTreeControl();
  if (layersControl) {
    const visible = new Set(overlays().filter(([, l]) => map.hasLayer(l)).map(([k]) => k));
    map.removeControl(layersControl);
    buildControl();
    overlays().forEach(([k, l]) => { if (visible.has(k) && !map.hasLayer(l)) l.addTo(map); });
  }
}
onLanguage(renderText);
$("lang-btn").addEventListener("click", toggleLanguage);

// Who the token of this tab is (GET /me), once checked; null when not signed in.
let who = null;
function signIn(value, holder) {
  setToken(value);
  who = currentToken() ? holder || null : null;
  editor.tools(Boolean(currentToken()) && Boolean(who && who.edits_grids));
  setHolder(who);
  refreshOrg();
  document.body.dataset.signedIn = who ? who.role : "";
  // Overdue visits are read for the token signed in (or dropped when signing out).
  overdueVisits.reset();
  if (map.hasLayer(overdueVisits.layer)) loadInView(overdueVisits);
  renderText();
}
const signInBox = signInForm($("token-btn"), (token, holder) => { signIn(token, holder); say(t("signed_in")); });
$("token-btn").addEventListener("click", () => {
  if (currentToken()) { signIn(""); map.closePopup(); return; }
  signInBox.toggle();
});

/** Checks the token kept in this tab (from before a reload) against the API before using it. */
async function restoreSignIn() {
  const kept = currentToken();
  if (!kept) { signIn(""); return; }
  try {
    signIn(kept, await whoIs(kept));
  } catch (e) {
    signIn("");
    say(tokenRefusal(e));
  }
}

// The map starts below the header, whose height changes when it wraps at phone width.
new ResizeObserver(() => {
  document.documentElement.style.setProperty("--bar-h", `${$("bar").offsetHeight}px`);
  map.invalidateSize();
}).observe($("bar"));

async function start() {
  const t0 = performance.now();
  say(t("loading"));
  const config = await apiOr(`${API}/map-config`, {});
  startRegion = config.start_region || startRegion;
  if (config.tile_url) {
    useGcj02(config.tile_crs === "GCJ-02");
    const base = L.tileLayer(config.tile_url, { attribution: config.tile_attribution || "", maxZoom: 19 });
    base.addTo(map);
    baseLayers = { [t("base")]: base };
  }
  buildControl();
  const [streetFc, communityFc, gridFc, region] = await Promise.all([
    api(`${API}/regions?level=street&limit=1000&simplify=0.00002`),
    api(`${API}/regions?level=community&limit=5000&simplify=0.00002`),
    api(`${API}/grids?limit=10000`),
    apiOr(`${API}/regions/${startRegion}`, null),
  ]);
  streets.addData(streetFc).addTo(map);
  communities.addData(communityFc).addTo(map);
  communityNames = communityFc.features.map((f) => [f.properties.code, f.properties.name]).sort();
  grids.layer.addData(gridFc).addTo(map);
  if (region && region.geometry) {
    map.fitBounds(geo().addData(region).getBounds(), { padding: [10, 10] });
    $("region-title").textContent = region.properties.name;
  }
  grids.labels();
  await restoreSignIn();
  if (!config.tile_url) addRoads(map);
  buildings.refresh();
  say(t("ready", { n: gridFc.numberMatched }));
  document.body.dataset.loadMs = String(Math.round(performance.now() - t0));
  // A handle for scripts and tests driving the map (pixel positions of places, for instance).
  window.gridmap = { map, grids: grids.byCode, overlays: Object.fromEntries(lazy.map((x) => [x.key, x.layer])), patrolCoverage, org };
  document.body.dataset.ready = "true";
}

renderText();
start().catch((e) => { say(t("load_failed", { m: e.message })); document.body.dataset.ready = "error"; });
