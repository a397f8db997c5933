// Splitting a grid along a drawn line and merging it with a neighbour picked on the map, each
// previewed as a dry run before it is written.
import { button, el } from "./dom.js";
import { t } from "./i18n.js";
import { hidePanel, showPanel } from "./panels.js";
import { geometryOf } from "./view.js";

const LINE = { snappable: true, snapDistance: 15, snapSegment: true, snapMiddle: false, allowSelfIntersection: true };

/** Whether latlng lies in ring (map positions), by ray casting. */
function inRing(latlng, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    const a = ring[i], b = ring[j];
    if ((a.lat > latlng.lat) !== (b.lat > latlng.lat)
      && latlng.lng < ((b.lng - a.lng) * (latlng.lat - a.lat)) / (b.lat - a.lat) + a.lng) inside = !inside;
  }
  return inside;
}

/** Whether a polygon layer holds latlng (inside an outer ring and in none of its holes). */
function holds(layer, latlng) {
  if (!layer.getBounds().contains(latlng)) return false;
  const lls = layer.getLatLngs();
  const polygons = Array.isArray(lls[0][0]) ? lls : [lls];
  return polygons.some((rings) => inRing(latlng, rings[0]) && !rings.slice(1).some((h) => inRing(latlng, h)));
}

/**
 * Split and merge on map. ctx: { grids, writer, etagOf, label, nameOf, index(), finish(), reload(codes) }.
 * Answers { busy(), split(code), merge(code) }.
 */
export function splitMerge(map, ctx) {
  let splitting = null;
  let picking = null;

  /** Ends any split or merge under way. */
  function stop() {
    splitting = null;
    picking = null;
    map.pm.disableDraw();
  }
  const cancel = () => button("cancel-edit", t("cancel"), () => { stop(); ctx.writer.clear(); hidePanel(); });

  /** Starts drawing the line that splits grid code. */
  function split(code) {
    ctx.finish();
    ctx.writer.clear();
    map.closePopup();
    splitting = code;
    map.pm.enableDraw("Line", LINE);
    showPanel([el("h3", {}, [t("split_title", { grid: ctx.label(code) })]), el("div", { class: "muted" }, [t("split_hint")]),
      el("div", { class: "actions" }, [cancel()])]);
  }
  map.on("pm:create", async (e) => {
    if (e.shape !== "Line") return;
    map.removeLayer(e.layer);
    const code = splitting;
    splitting = null;
    if (!code) return;
    const line = geometryOf(e.layer, ctx.index());
    const name = el("input", { id: "split-name", maxlength: "100", value: `${ctx.nameOf(code)}${t("split_suffix")}` });
    const req = { path: `${code}/split`, codes: [code], body: { line, if_match: ctx.etagOf(code) },
      fields: [el("label", {}, [t("split_name"), " ", name])],
      prepare: () => { const v = name.value.trim(); if (v) req.body.name = v; else delete req.body.name; },
      undo: () => ctx.reload([code]) };
    await ctx.writer.dryRun(req, t("split_intro", { grid: ctx.label(code) }));
  });

  /** Waits for a click on the neighbour grid code is to be merged with. */
  function merge(code) {
    ctx.finish();
    ctx.writer.clear();
    map.closePopup();
    splitting = null;
    picking = code;
    showPanel([el("h3", {}, [t("merge_title", { grid: ctx.label(code) })]), el("div", { class: "muted" }, [t("merge_hint")]),
      el("div", { class: "actions" }, [cancel()])]);
  }
  map.on("click", async (ev) => {
    if (!picking) return;
    const code = picking;
    const other = [...ctx.grids.byCode.entries()].find(([c, l]) => c !== code && holds(l, ev.latlng));
    if (!other) return;
    const req = { path: `${code}/merge`, codes: [code, other[0]], body: { with: other[0], if_match: { [code]: ctx.etagOf(code), [other[0]]: ctx.etagOf(other[0]) } } };
    try {
      await ctx.writer.dryRun(req, t("merge_intro", { a: ctx.label(code), b: ctx.label(other[0]) }));
    } finally {
      // Cleared after the click has gone by, so the page does not open a lookup for it.
      picking = null;
    }
  });

  return { busy: () => Boolean(splitting || picking), split, merge };
}
