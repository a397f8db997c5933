// Grid writes through the batch (and merge/split, which answer alike): send, preview a dry run,
// show the community's coverage after it, explain a refusal in words and offer what fixes it.
import { API, api } from "./api.js";
import { button, el, pct } from "./dom.js";
import { t } from "./i18n.js";
import { hidePanel, showPanel } from "./panels.js";
import { geo } from "./view.js";

const PREVIEW = { color: "#00897b", weight: 3, dashArray: "6 4", fillColor: "#4db6ac", fillOpacity: 0.35 };

/** The number of polygons in a FeatureCollection (a MultiPolygon counts its parts). */
function parts(fc) {
  return ((fc && fc.features) || []).reduce((n, f) => n + (f.geometry && f.geometry.type === "MultiPolygon" ? f.geometry.coordinates.length : f.geometry ? 1 : 0), 0);
}

/** The coverage of every community an answer touched, summed: share (the lowest), gaps, overlaps. */
export function coverageOf(answer) {
  const cs = Object.values(answer.coverage || {});
  const sum = (k) => cs.reduce((s, c) => s + (Number(c[k]) || 0), 0);
  return {
    // Edges that do not meet vertex for vertex (T-junctions) count as left to fix, as gaps do.
    exact: cs.every((c) => c.exact && !(Number(c.invalid_edges) > 0)),
    edges: sum("invalid_edges"),
    share: cs.length ? Math.min(...cs.map((c) => Number(c.share))) : 1,
    gaps: parts({ features: cs.flatMap((c) => (c.gaps && c.gaps.features) || []) }),
    gapsM2: sum("gaps_m2"),
    overlaps: parts({ features: cs.flatMap((c) => (c.overlaps && c.overlaps.features) || []) }),
    overlapsM2: sum("overlaps_m2"),
    shapes: cs.flatMap((c) => [c.gaps, c.overlaps]).filter(Boolean),
  };
}

const m2 = (x) => (Math.round(x * 10) / 10).toLocaleString("en-US");

/** The coverage in words: what is left (gaps, overlaps), or that the community is covered exactly. */
export function coverageWords(cov) {
  const left = [];
  if (cov.gaps || cov.gapsM2 > 0) left.push(t("left_gaps", { n: cov.gaps, m2: m2(cov.gapsM2) }));
  if (cov.overlaps || cov.overlapsM2 > 0) left.push(t("left_overlaps", { n: cov.overlaps, m2: m2(cov.overlapsM2) }));
  if (cov.edges > 0) left.push(t("left_edges", { n: cov.edges }));
  if (!left.length && !cov.exact) left.push(t("left_outside"));
  return left.join(t("list_sep"));
}

/** The coverage figures as a node carrying them in data attributes. */
function coverageNode(cov) {
  return el("div", { class: "coverage", "data-share": String(cov.share), "data-gaps-m2": String(cov.gapsM2),
    "data-overlaps-m2": String(cov.overlapsM2) }, [t("coverage_line", { share: pct(cov.share), gaps: m2(cov.gapsM2), overlaps: m2(cov.overlapsM2) })]);
}

/** The version number in a grid's ETag ("110108010021001.v2" → "2"), or "?" without one. */
export function versionOf(etag) {
  const m = /\.v(\d+)"?$/.exec(etag || "");
  return m ? m[1] : "?";
}

/**
 * The writer of grid changes on map. ctx: { grids (put, remove, byCode), refusal (the red layer),
 * changed() (after every write), etags (Map code → ETag), nameOf(code) }.
 * A request is { path (under /grids), body, batch: whether body.changes are batch entries, codes
 * (the grids it is about: previewed even when noding also touched them),
 * done(answer) (after a real write), undo() (cancel after a refusal), fields (extra inputs of a
 * preview), prepare() (reads them into body before the real call), resume() (back to the tool
 * after a refusal) }.
 */
export function batchWriter(map, ctx) {
  const preview = geo({ style: PREVIEW, pmIgnore: true, interactive: false });

  /** Draws shapes (FeatureCollections or geometries) in red, replacing what was drawn. */
  function red(shapes) {
    ctx.refusal.clear();
    shapes.forEach((s) => { if (s && (s.type !== "FeatureCollection" || s.features.length)) ctx.refusal.layer.addData(s); });
    ctx.refusal.layer.addTo(map);
  }
  function clearAll() {
    preview.clearLayers();
    map.removeLayer(preview);
    ctx.refusal.clear();
  }
  const post = (req, dry) => api(`${API}/grids/${req.path}${req.path.includes("?") ? "&" : "?"}dry_run=${dry}`, { method: "POST", json: req.body });
  const label = (code) => (code ? `${ctx.nameOf(code)}（${code}）` : t("new_grid_short"));

  /** The codes of the grids req is about. */
  const subjects = (req) => req.codes || ((req.batch && req.body.changes) || []).map((c) => c.code).filter(Boolean);

  /** Sends req for real; shows the outcome or the refusal. */
  async function commit(req) {
    if (req.prepare) req.prepare();
    let answer;
    try {
      answer = await post(req, false);
    } catch (e) {
      refused(e, req);
      return null;
    }
    clearAll();
    await written(answer, req);
    return answer;
  }

  /** Sends req as a dry run and shows what it would write, with confirm and cancel. */
  async function dryRun(req, intro) {
    let answer;
    try {
      answer = await post(req, true);
    } catch (e) {
      refused(e, req);
      return null;
    }
    clearAll();
    // Neighbours that only get a vertex where the change meets them look as they did: not previewed.
    const noded = new Set((answer.noded || []).map((n) => n.code));
    (answer.grids || []).filter((f) => !noded.has(f.properties.code) || subjects(req).includes(f.properties.code))
      .forEach((f) => preview.addData(f));
    preview.addTo(map);
    const cov = coverageOf(answer);
    red(cov.shapes);
    preview.bringToFront();
    const words = cov.exact ? t("preview_exact", { share: pct(cov.share) }) : t("preview_left", { left: coverageWords(cov) });
    showPanel([el("div", { class: `message preview ${cov.exact ? "" : "warn"}` }, [intro ? `${intro} ` : "", words]), coverageNode(cov),
      ...(req.fields || []),
      el("div", { class: "actions" }, [button("confirm-preview", t("confirm_preview"), () => commit(req)),
        button("cancel-preview", t("cancel"), async () => { clearAll(); if (req.undo) await req.undo(); hidePanel(); })])]);
    return answer;
  }

  /** Puts what an answer wrote on the map and says what the community's coverage is now. */
  async function written(answer, req) {
    if (req.done) await req.done(answer);
    (answer.grids || []).forEach((f) => { if (f.etag) ctx.etags.set(f.properties.code, f.etag); ctx.grids.put(f); });
    (answer.retired || []).forEach((code) => { ctx.grids.remove(code); ctx.etags.delete(code); });
    const codes = (answer.grids || []).filter((f) => f.changed !== false).map((f) => f.properties.code).concat(answer.retired || []);
    ctx.changed();
    const cov = coverageOf(answer);
    red(cov.shapes);
    const saved = codes.join("、");
    let message;
    if (!codes.length) message = cov.exact ? t("unchanged_exact", { share: pct(cov.share) }) : t("unchanged_left", { left: coverageWords(cov) });
    else message = cov.exact ? t("saved_exact", { codes: saved, share: pct(cov.share) }) : t("saved_left", { codes: saved, left: coverageWords(cov) });
    const actions = [];
    const filler = (answer.grids || []).find((f) => f.changed !== false) || (answer.grids || [])[0];
    if (!cov.exact && cov.gaps && filler) actions.push(button("fill-gap", t("fill_gap"), () => fillGap(filler)));
    showPanel([el("div", { class: `message ${cov.exact ? "ok" : "warn"}` }, [message]), coverageNode(cov),
      el("div", { class: "actions" }, actions)]);
    document.body.dataset.saved = codes.join(",");
    delete document.body.dataset.lastError;
  }

  /** Previews grid f (as just written) taking the gaps of its community that touch it. */
  function fillGap(f) {
    const code = f.properties.code;
    return dryRun({ path: "batch", batch: true, body: { note: t("note_fill"), changes: [
      { code, if_match: ctx.etags.get(code), geometry: f.geometry, fill: true }] } }, t("fill_intro", { grid: label(code) }));
  }

  /** The batch entry a refusal names (by code, or by index for a new grid). */
  function entryNamed(req, body) {
    const changes = (req.batch && req.body.changes) || [];
    if (body.grid) return changes.find((c) => c.code === body.grid) || null;
    if (Number.isInteger(body.index)) return changes[body.index] || null;
    return changes.length === 1 ? changes[0] : null;
  }
  /** Who a refusal is about, in words. */
  function whoOf(req, body) {
    if (body.grid) return label(body.grid);
    const entry = entryNamed(req, body);
    if (entry && entry.code) return label(entry.code);
    return (entry && entry.properties && entry.properties.name) || t("new_grid_short");
  }
  /** An offer to send req again with flag set on the entry the refusal names, previewed first. */
  function offer(cls, words, req, body, flag) {
    const entry = entryNamed(req, body);
    if (!entry) return null;
    return button(cls, words, () => { entry[flag] = true; return dryRun(req, ""); });
  }

  /** Explains a refused write in words, draws why in red and offers what would fix it. */
  function refused(e, req) {
    const body = e.body || {};
    document.body.dataset.lastError = String(e.status);
    const cancel = button("cancel-edit", t("cancel"), async () => { clearAll(); if (req.undo) await req.undo(); hidePanel(); });
    if (e.status === 412) {
      const code = body.grid || (req.body.changes && req.body.changes.length === 1 ? req.body.changes[0].code : "") || "";
      const message = t("stale_grid", { grid: code ? label(code) : t("this_grid"), version: versionOf(body.etag || e.etag) });
      showPanel([el("div", { class: "message error stale" }, [message]), el("div", { class: "actions" }, [
        button("reload-grid", t("reload"), async () => { clearAll(); if (req.undo) await req.undo(); hidePanel(); })])]);
      return;
    }
    preview.clearLayers();
    ctx.refusal.show(body);
    const who = whoOf(req, body);
    const buttons = [];
    let message;
    if (Array.isArray(body.overlaps) && body.overlaps.length) {
      const list = body.overlaps.map((o) => t("overlap_item", { name: o.name || "", code: o.code || "", m2: m2(o.area_m2 || 0) })).join(t("list_sep"));
      message = t("refused_overlap", { grid: who, list });
      buttons.push(offer("give-way", t("give_way"), req, body, "fix"));
    } else if (body.outside_area_m2 !== undefined || body.code === "outside_community") {
      message = t("refused_outside", { grid: who, m2: m2(body.outside_area_m2 || 0) });
      buttons.push(offer("clip-outside", t("clip_outside"), req, body, "fix"));
    } else if (body.gaps_m2 !== undefined) {
      message = t("refused_gap", { grid: who, m2: m2(body.gaps_m2) });
      buttons.push(offer("fill-gap", t("fill_gap"), req, body, "fill"));
    } else if (body.where) {
      message = t("refused_split_end", { grid: who });
    } else if (body.parts !== undefined) {
      message = t("refused_split_parts", { grid: who, n: body.parts });
    } else if (/\/merge$/.test(req.path) && (e.status === 409 || body.field === "with")) {
      message = t(e.status === 409 ? "refused_not_adjacent" : "refused_merge_with", { grid: who });
    } else {
      const why = t(`refusal_${body.code}`);
      const known = why !== `refusal_${body.code}`;
      const status = e.status === 0 ? t("network") : t(`http_${e.status}`);
      message = t("refused_other", { grid: who, why: known ? why : status === `http_${e.status}` ? t("http_other") : status });
    }
    if (req.resume) buttons.push(button("resume-edit", t("resume_edit"), req.resume));
    showPanel([el("div", { class: "message error" }, [message]), el("div", { class: "actions" }, [...buttons.filter(Boolean), cancel])]);
  }

  return { commit, dryRun, clear: clearAll };
}
