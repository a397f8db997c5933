// Editing grids with Geoman: draw, edit vertices, cut, delete; every write sends the grid's ETag as If-Match.
import { API, api } from "./api.js";
import { button, el } from "./dom.js";
import { t } from "./i18n.js";
import { cancelButton, hidePanel, messagePanel, showPanel } from "./panels.js";
import { fromView, geometryOf } from "./view.js";

const SNAP = { snappable: true, snapDistance: 15, allowSelfIntersection: false };
const CONTROLS = { position: "topleft", drawMarker: false, drawCircleMarker: false, drawPolyline: false,
  drawCircle: false, drawText: false, drawRectangle: true, drawPolygon: true, editMode: false,
  dragMode: false, cutPolygon: false, removalMode: false, rotateMode: false };

/**
 * The grid editor of map. grids: the grid layer (put, remove, byCode); refusal: the layer showing why
 * a write was refused; changed(): runs after every saved change (figures, tiles).
 * Answers { editing(), tools(on), edit, cut, remove, save, reload } (edit, cut, remove take a grid code).
 */
export function gridEditor(map, grids, refusal, changed) {
  let editing = null;
  const etags = new Map();

  function refused(e) {
    refusal.show(e.body || {});
    document.body.dataset.lastError = String(e.status);
    return t("rejected", { m: e.message });
  }
  async function reload(code) {
    const f = await api(`${API}/grids/${code}`);
    etags.set(code, f.__etag);
    grids.put(f);
    return f;
  }
  function finish() {
    if (editing && editing.layer && editing.layer.pm) editing.layer.pm.disable();
    editing = null;
    map.pm.disableDraw();
  }
  const undo = (code) => async () => { finish(); refusal.clear(); await reload(code); };
  async function saved(code, version) {
    refusal.clear();
    await reload(code);
    changed();
    messagePanel(t("saved", { code, v: version }), [], "ok");
    document.body.dataset.saved = code;
  }
  async function save(code, geometry, extra) {
    try {
      const f = await api(`${API}/grids/${code}`, { method: "PATCH", ifMatch: etags.get(code) || "",
        json: Object.assign({ type: "Feature", geometry, properties: {} }, extra || {}) });
      finish();
      await saved(code, f.properties.version);
    } catch (e) {
      if (e.status === 412) {
        messagePanel(t("stale", { version: versionOf(e.etag) }), [
          button("reload-grid", t("reload"), async () => { finish(); await reload(code); hidePanel(); })], "error stale");
        document.body.dataset.lastError = "412";
        return;
      }
      messagePanel(refused(e), [cancelButton(undo(code))], "error");
    }
  }
  async function begin(code) {
    map.closePopup();
    if (!etags.has(code)) await reload(code);
    const layer = grids.byCode.get(code);
    editing = { code, layer };
    return layer;
  }
  async function edit(code) {
    const layer = await begin(code);
    layer.pm.enable(SNAP);
    messagePanel(`${t("edit")} ${code}`, [
      button("save-grid", t("save"), () => save(code, geometryOf(layer))),
      cancelButton(async () => { finish(); await reload(code); })], "");
  }
  async function cut(code) {
    const layer = await begin(code);
    map.pm.enableGlobalCutMode({ layersToCut: [layer], allowSelfIntersection: false });
    map.once("pm:cut", (e) => {
      map.pm.disableGlobalCutMode();
      editing = { code, layer: e.layer };
      save(code, geometryOf(e.layer));
    });
    messagePanel(`${t("cut")} ${code}`, [cancelButton(() => { map.pm.disableGlobalCutMode(); finish(); })], "");
  }
  async function remove(code) {
    map.closePopup();
    if (!window.confirm(t("confirm_delete", { code }))) return;
    if (!etags.has(code)) await reload(code);
    try {
      await api(`${API}/grids/${code}`, { method: "DELETE", ifMatch: etags.get(code) });
      grids.remove(code);
      changed();
      messagePanel(t("deleted", { code }), [], "ok");
    } catch (e) {
      messagePanel(e.status === 412 ? t("stale", { version: versionOf(e.etag) }) : t("rejected", { m: e.message }), [], "error");
    }
  }
  async function create(layer) {
    const geometry = geometryOf(layer);
    const [lon, lat] = fromView(layer.getBounds().getCenter());
    let community = null;
    try { community = (await api(`${API}/lookup?lon=${lon}&lat=${lat}`)).community; }
    catch (err) { community = (err.body || {}).community; }
    const name = el("input", { id: "new-grid-name", maxlength: "100", value: community ? `${community.name}${t("new_grid")}` : "" });
    const kind = el("select", { id: "new-grid-kind" }, [el("option", { value: "basic" }, [t("basic")]), el("option", { value: "exclusive" }, [t("exclusive")])]);
    const post = async () => {
      try {
        const f = await api(`${API}/grids`, { method: "POST", json: { type: "Feature", geometry,
          properties: { community_code: community && community.code, name: name.value.trim(), kind: kind.value } } });
        map.removeLayer(layer);
        await saved(f.properties.code, f.properties.version);
      } catch (err) {
        map.removeLayer(layer);
        messagePanel(refused(err), [], "error");
      }
    };
    showPanel([el("h3", {}, [t("new_grid_title", { community: community ? community.name : "—" })]),
      el("label", {}, [t("name"), " ", name]), el("label", {}, [" ", t("kind"), " ", kind]),
      el("div", { class: "actions" }, [button("save-new-grid", t("save"), post),
        cancelButton(() => { map.removeLayer(layer); refusal.clear(); })])]);
  }
  map.on("pm:create", (e) => create(e.layer));

  /** Shows Geoman's drawing tools (signed in) or takes them away. */
  function tools(on) {
    map.pm.removeControls();
    if (!on) return;
    map.pm.addControls(CONTROLS);
    map.pm.setGlobalOptions(SNAP);
  }
  return { editing: () => editing, tools, edit, cut, remove, save, reload };
}

/** The version number in a grid's ETag ("110108010021001.v2" → "2"), or "?" without one. */
function versionOf(etag) {
  const m = /\.v(\d+)"?$/.exec(etag || "");
  return m ? m[1] : "?";
}
