// Editing grids with Geoman: draw, edit vertices (grids sharing a vertex follow), delete, restore;
// every write goes through the batch with the ETag each grid was read at, in exact coordinates.
import { API, api } from "./api.js";
import { batchWriter } from "./batch.js";
import { followBorders } from "./borders.js";
import { button, el } from "./dom.js";
import { language, onLanguage, t } from "./i18n.js";
import { hidePanel, showPanel } from "./panels.js";
import { splitMerge } from "./splitmerge.js";
import { fromView, geo, geometryOf, vertexIndex, viewKey } from "./view.js";

/** Geoman's snapping: to vertices and edges of grids and communities within 15 px. */
export const SNAP = { snappable: true, snapDistance: 15, snapSegment: true, snapMiddle: false, allowSelfIntersection: false };
// More communities than this in view: zoomed too far out to draw; their drawn outlines will do.
const OUTLINES_AT_ONCE = 30;
const CONTROLS = { position: "topleft", drawMarker: false, drawCircleMarker: false, drawPolyline: false,
  drawCircle: false, drawText: false, drawRectangle: true, drawPolygon: true, editMode: false,
  dragMode: false, cutPolygon: false, removalMode: false, rotateMode: false };

/**
 * Puts every vertex clicked while drawing within snapping distance of a stored vertex exactly on
 * it: Geoman snaps to the nearest layer's edge first, which may pass a neighbour's vertex by.
 */
function settleVertices(map, working, index) {
  working.on("pm:vertexadded", (e) => {
    const lls = working.getLatLngs();
    const i = lls.length - 1;
    const to = i >= 0 && index().near(map, lls[i], SNAP.snapDistance);
    if (!to || to === lls[i]) return;
    lls[i] = to;
    working.setLatLngs(lls);
    if (e.marker) e.marker.setLatLng(to);
  });
}

/** Geoman's language for the page's. */
const pmLang = () => (language() === "zh" ? "zh" : "en");

/**
 * The grid editor of map. grids: the grid layer (put, remove, byCode); refusal: the red layer
 * showing why a write was refused and what a write left; changed(): runs after every write
 * (figures, tiles, problems); communities: the community outlines (their vertices are snapped to).
 * Answers { busy(), editing(), tools(on), edit, split, merge, remove, restore, reload }.
 */
export function gridEditor(map, grids, refusal, changed, communities) {
  let editing = null;
  const etags = new Map();
  const nameOf = (code) => { const l = grids.byCode.get(code); return l && l.feature ? l.feature.properties.name : code; };
  const label = (code) => `${nameOf(code)}（${code}）`;
  /** The ETag grid code was read at: from its last answer, else from the version it was drawn at. */
  const etagOf = (code) => {
    if (etags.has(code)) return etags.get(code);
    const l = grids.byCode.get(code);
    return l && l.feature ? `"${code}.v${l.feature.properties.version}"` : "";
  };
  const writer = batchWriter(map, { grids, refusal, changed, etags, nameOf });

  // The communities' outlines are drawn simplified; where a tool is used, their stored outlines are
  // read and snapped to instead (invisible), so a vertex put on a community's edge lies on it.
  const outlines = geo({ style: { opacity: 0, fill: false }, interactive: false, snapIgnore: false });
  const precise = new Set();
  /** Reads the stored outlines of the communities in view (a few at a time, not the district). */
  async function loadOutlines() {
    if (!communities) return;
    const view = map.getBounds();
    const wanted = [];
    communities.eachLayer((l) => {
      const code = l.feature && l.feature.properties.code;
      if (code && !precise.has(code) && l.getBounds().intersects(view)) wanted.push([code, l]);
    });
    if (wanted.length > OUTLINES_AT_ONCE) return;
    outlines.addTo(map);
    await Promise.all(wanted.map(async ([code, l]) => {
      precise.add(code);
      try {
        outlines.addData(await api(`${API}/regions/${code}`));
        l.options.snapIgnore = true;
      } catch (err) {
        precise.delete(code);
      }
    }));
  }
  /** The stored vertices of every grid and community, by where they are drawn. */
  function index() {
    const geoms = [];
    if (communities) communities.eachLayer((l) => { if (l.feature) geoms.push(l.feature.geometry); });
    outlines.eachLayer((l) => { if (l.feature) geoms.push(l.feature.geometry); });
    grids.byCode.forEach((l) => { if (l.feature) geoms.push(l.feature.geometry); });
    return vertexIndex(geoms);
  }
  /** Reads grids codes again and draws them as stored. */
  async function reload(codes) {
    await Promise.all([].concat(codes).map(async (code) => {
      const f = await api(`${API}/grids/${code}`);
      etags.set(code, f.__etag);
      delete f.__etag;
      grids.put(f);
    }));
  }
  function finish() {
    if (editing) {
      editing.follow.stop();
      if (editing.layer.pm) editing.layer.pm.disable();
    }
    editing = null;
    map.pm.disableDraw();
  }
  const sm = splitMerge(map, { grids, writer, etagOf, label, nameOf, index, finish, reload });

  function editPanel() {
    const { code } = editing;
    showPanel([el("h3", {}, [t("editing", { grid: label(code) })]), el("div", { class: "muted" }, [t("edit_hint")]),
      el("div", { class: "actions" }, [button("save-grid", t("save"), save),
        button("cancel-edit", t("cancel"), async () => { const codes = touchedCodes(); finish(); writer.clear(); await reload(codes); hidePanel(); })])]);
  }
  const touchedCodes = () => (editing ? [editing.code, ...[...editing.follow.touched()].map((l) => l.feature.properties.code)] : []);

  /** Vertex editing of grid code; grids sharing a vertex with it follow. */
  async function edit(code) {
    finish();
    writer.clear();
    map.closePopup();
    const layer = grids.byCode.get(code);
    if (!layer) return;
    const near = [...grids.byCode.values()].filter((l) => l !== layer && l.getBounds().pad(0.01).intersects(layer.getBounds()));
    layer.pm.enable(Object.assign({}, SNAP, { preventMarkerRemoval: false }));
    const now = { code, layer, idx: index() };
    // A dropped vertex lands on a neighbour's stored vertex near it, never back on where it was
    // dragged from nor on another vertex of the grid being edited.
    const own = new Set(vertexIndex([layer.feature.geometry]).keys());
    const elsewhere = (from) => (v) => own.has(viewKey(v)) || (from && viewKey(v) === viewKey(from));
    now.follow = followBorders(layer, () => near, (ll, from) => now.idx.near(map, ll, SNAP.snapDistance, elsewhere(from)) || ll);
    editing = now;
    editPanel();
    // The grids' features keep their stored geometry while edited: the index may be rebuilt.
    loadOutlines().then(() => { now.idx = index(); });
  }
  /** Sends the edited grid and every neighbour that followed it as one batch. */
  async function save() {
    if (!editing) return;
    const { code, layer, idx, follow } = editing;
    const changes = [{ code, if_match: etagOf(code), geometry: geometryOf(layer, idx) }];
    follow.touched().forEach((n) => {
      const c = n.feature.properties.code;
      changes.push({ code: c, if_match: etagOf(c), geometry: geometryOf(n, idx) });
    });
    const codes = changes.map((c) => c.code);
    await writer.commit({ path: "batch", batch: true, body: { note: t(codes.length > 1 ? "note_border" : "note_edit"), changes },
      done: finish, undo: async () => { finish(); await reload(codes); }, resume: () => { if (editing) editPanel(); } });
  }

  /** A newly drawn polygon: its name and kind, then a create entry of the batch. */
  async function create(layer) {
    const idx = index();
    const geometry = geometryOf(layer, idx);
    const [lon, lat] = fromView(insidePoint(layer));
    let community = null;
    try { community = (await api(`${API}/lookup?lon=${lon}&lat=${lat}`)).community; }
    catch (err) { community = (err.body || {}).community; }
    const name = el("input", { id: "new-grid-name", maxlength: "100", value: community ? `${community.name}${t("new_grid")}` : "" });
    const kind = el("select", { id: "new-grid-kind" }, [el("option", { value: "basic" }, [t("basic")]), el("option", { value: "exclusive" }, [t("exclusive")])]);
    const drop = () => { map.removeLayer(layer); };
    const post = () => writer.commit({ path: "batch", batch: true, body: { note: t("note_create"), changes: [
      { geometry, properties: { community_code: community && community.code, name: name.value.trim(), kind: kind.value } }] },
    done: drop, undo: drop });
    showPanel([el("h3", {}, [t("new_grid_title", { community: community ? community.name : "—" })]),
      el("label", {}, [t("name"), " ", name]), el("label", {}, [" ", t("kind"), " ", kind]),
      el("div", { class: "actions" }, [button("save-new-grid", t("save"), post),
        button("cancel-edit", t("cancel"), () => { drop(); writer.clear(); hidePanel(); })])]);
  }
  map.on("pm:create", (e) => { if (e.shape === "Polygon" || e.shape === "Rectangle") create(e.layer); });
  map.on("pm:drawstart", (e) => {
    if (e.workingLayer) settleVertices(map, e.workingLayer, index);
    loadOutlines();
  });

  /** Retiring grid code: a dry run first, showing the gap it would leave, then confirm. */
  async function remove(code) {
    finish();
    map.closePopup();
    await writer.dryRun({ path: "batch", batch: true, body: { note: t("note_retire"), changes: [{ code, if_match: etagOf(code), retire: true }] } },
      t("delete_intro", { grid: label(code) }));
  }

  /**
   * Writes an earlier version f of grid code (its geometry, name and kind) as the newest, over
   * version `over` (the one the history was read at): a change made since is refused as stale.
   */
  async function restore(code, f, over) {
    finish();
    const p = f.properties;
    await writer.commit({ path: "batch", batch: true, body: { note: t("note_restore", { v: p.version }), changes: [
      { code, if_match: `"${code}.v${over}"`, geometry: f.geometry, properties: { name: p.name, kind: p.kind, subtype: p.subtype } }] },
    undo: () => reload([code]) });
  }

  /** Shows Geoman's drawing tools (signed in) or takes them away. */
  function tools(on) {
    map.pm.removeControls();
    if (!on) { finish(); return; }
    map.pm.addControls(CONTROLS);
    map.pm.setGlobalOptions(SNAP);
  }
  map.pm.setLang(pmLang());
  onLanguage(() => {
    const shown = map.pm.controlsVisible();
    map.pm.setLang(pmLang());
    if (!shown) map.pm.removeControls();
    if (editing) editPanel();
  });

  /** Whether a tool owns the mouse: vertex editing, drawing, a split line, a merge pick. */
  const busy = () => Boolean(editing) || sm.busy() || map.pm.globalDrawModeEnabled() || map.pm.globalEditModeEnabled()
    || map.pm.globalCutModeEnabled() || map.pm.globalRemovalModeEnabled();
  return { busy, editing: () => editing, tools, edit, split: sm.split, merge: sm.merge, remove, restore, reload, save };
}

/**
 * A point inside a drawn polygon (its bounds' centre may lie outside a concave one): the middle of
 * the first stretch inside it along the line of latitude through its bounds' centre.
 */
function insidePoint(layer) {
  const mid = layer.getBounds().getCenter();
  const ring = layer.getLatLngs().flat(2);
  const xs = [];
  ring.forEach((a, i) => {
    const b = ring[(i + 1) % ring.length];
    if ((a.lat > mid.lat) !== (b.lat > mid.lat)) xs.push(a.lng + ((mid.lat - a.lat) / (b.lat - a.lat)) * (b.lng - a.lng));
  });
  xs.sort((p, q) => p - q);
  return xs.length >= 2 ? L.latLng(mid.lat, (xs[0] + xs[1]) / 2) : mid;
}
