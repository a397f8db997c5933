// The incident beside its map: a small Leaflet map of its point and grid, its facts, the steps the
// API allows now (properties.actions), sub-tasks with their own steps, approvals to decide,
// photos and the timeline.
import { API, api, apiOr } from "../api.js";
import { el } from "../dom.js";
import { t } from "../i18n.js";
import { word } from "../words.js";
import { inWords } from "./errors.js";
import { stateWord, stepWord, taskStateWord } from "./names.js";
import { openStep } from "./steps.js";
import { when } from "./time.js";
import { leaflet } from "./vendor.js";

/**
 * The pane in aside (with #pane-title, #pane-map, #pane-body). changed() runs after a step
 * (the board reads again); say(text) puts words in the status line.
 */
export function incidentPane(aside, changed, say) {
  const title = aside.querySelector("#pane-title");
  const body = aside.querySelector("#pane-body");
  let map = null;
  let shapes = null;
  let current = null; // { id, version, etag, feature }
  let names = {};
  let reading = null;
  let queued = null; // a read asked for while one was under way: "soft", or "force" to re-render

  function ensureMap() {
    if (map || !window.L) return;
    map = L.map(aside.querySelector("#pane-map"), { zoomControl: false, attributionControl: false });
    shapes = L.featureGroup().addTo(map);
  }

  async function drawPlace(feature) {
    await leaflet().catch(() => null);
    ensureMap();
    if (!map) return;
    shapes.clearLayers();
    map.invalidateSize();
    const [lon, lat] = feature.geometry ? feature.geometry.coordinates : [null, null];
    const code = feature.properties.grid_code;
    const grid = code ? await apiOr(`${API}/grids/${code}`, null) : null;
    if (grid && grid.geometry) L.geoJSON(grid, { style: { color: "#1565c0", weight: 2, fillOpacity: 0.1 } }).addTo(shapes);
    if (lat !== null) L.circleMarker([lat, lon], { radius: 7, color: "#fff", weight: 2, fillColor: "#c62828", fillOpacity: 1 }).addTo(shapes);
    const bounds = shapes.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12], maxZoom: 17 });
  }

  const message = el("div", { class: "message", role: "status" });
  function note(text, cls) { message.textContent = text; message.className = `message ${cls || ""}`; }

  function after(ok, text, stale, answer) {
    note(text, ok ? "ok" : "error");
    say(text);
    changed();
    // A step answers the incident as it now is: shown at once, so no button of the state before
    // stays under the pointer.
    const p = answer && answer.type === "Feature" ? answer.properties : null;
    if (p && current && p.id === current.id && answer.__etag) {
      current = { id: p.id, version: p.version, etag: answer.__etag, feature: answer };
      aside.dataset.version = String(p.version);
      if (!body.querySelector(".step-form")) render(answer, answer.__etag);
    } else {
      reload(false);
    }
    if (stale) aside.dataset.stale = String(Number(aside.dataset.stale || 0) + 1);
  }

  function stepButtons(steps, holder, target, cls) {
    return el("div", { class: `steps ${cls || ""}` }, steps.map((s) => el("button", {
      type: "button", "data-step": s, class: s === "close" || s === "accept" ? "primary" : "",
      onclick: () => openStep(holder, s, target, after),
    }, [stepWord(s)])));
  }

  function render(feature, etag) {
    const p = feature.properties;
    title.textContent = t("board_pane_title", { id: p.id, category: p.category });
    const target = { incident: p, etag };
    const forms = el("div", { class: "forms" });
    const facts = [
      [t("state"), stateWord(p.status)],
      [t("severity"), word("severity", p.severity)],
      [t("board_col_place"), [names.street_name || p.street_code, names.community_name || p.community_code, names.grid_name || p.grid_code].filter(Boolean).join(" / ")],
      [t("board_col_reported"), when(p.reported_at)],
      [t("board_due"), when(p.due_at)],
      [t("board_pool_until"), p.status === "pooled" && p.pool_until ? when(p.pool_until) : null],
      [t("board_owner"), p.owner_name || (p.owner_code && p.owner_code === p.street_code && names.street_name) || p.owner_code || "—"],
      [t("board_description"), p.description || "—"],
      [t("board_score"), p.score === null || p.score === undefined ? null : String(p.score)],
    ].filter(([, v]) => v !== null && v !== undefined);
    const parts = [
      el("table", { class: "facts" }, facts.map(([k, v]) => el("tr", {}, [el("td", {}, [k]), el("td", {}, [v])]))),
      message,
    ];
    const actions = p.actions || [];
    parts.push(el("h3", {}, [t("board_steps_now")]));
    parts.push(actions.length ? stepButtons(actions, forms, target, "incident-steps") : el("div", { class: "muted" }, [t("board_no_steps")]));
    parts.push(forms);

    const tasks = p.tasks || [];
    if (tasks.length) {
      parts.push(el("h3", {}, [t("board_tasks")]));
      tasks.forEach((task) => {
        const holder = el("div", {});
        const line = [
          el("strong", {}, [task.assignee_name || task.assignee_code || "—"]),
          ` · ${taskStateWord(task.state)}`,
          task.due_at ? ` · ${t("board_due")} ${when(task.due_at)}` : "",
          task.suggested === false ? ` · ${t("board_not_suggested")}` : "",
        ];
        const extra = [];
        if (task.feedback) extra.push(el("div", {}, [t("board_feedback", { text: task.feedback, by: task.answered_by || "" })]));
        const photos = (task.photos || []).map((ph) => el("img", { src: ph.url, alt: "" }));
        if (photos.length) extra.push(el("div", { class: "photos" }, photos));
        const steps = task.actions || [];
        parts.push(el("div", { class: "task", "data-task": String(task.id), "data-state": task.state }, [
          el("div", {}, line), ...extra,
          steps.length ? stepButtons(steps, holder, { ...target, task }, "task-steps") : null, holder,
        ]));
      });
    }

    const approvals = p.approvals || [];
    if (approvals.length) {
      parts.push(el("h3", {}, [t("board_approvals")]));
      approvals.forEach((a) => {
        const holder = el("div", {});
        const decide = a.decision === "pending" && a.may_decide ? ["approve", "refuse"] : [];
        parts.push(el("div", { class: "approval", "data-approval": String(a.id) }, [
          el("div", {}, [
            el("strong", {}, [t(`approval_${a.kind}`)]),
            a.hours ? ` · ${t("board_hours_n", { n: a.hours })}` : "",
            ` · ${t(`decision_${a.decision}`)}`,
          ]),
          el("div", {}, [a.reason, el("span", { class: "muted" }, [` — ${a.requested_by || ""} ${when(a.requested_at)}`])]),
          decide.length ? stepButtons(decide, holder, { ...target, approval: a }, "approval-steps") : null, holder,
        ]));
      });
    }

    const photos = (p.photos || []).map((ph) => el("img", { src: ph.url, alt: "" }));
    if (photos.length) parts.push(el("h3", {}, [t("board_photos")]), el("div", { class: "photos" }, photos));

    parts.push(el("h3", {}, [t("board_timeline")]));
    parts.push(el("ol", { class: "timeline" }, (p.events || []).map((e) => {
      // The server's own steps (the pool's window, a resolution by the sub-tasks) are told in
      // words here; their notes are the API's English record of the same.
      const bySystem = /^system\b/.test(e.actor || "");
      const said = bySystem ? t(`system_${e.action}`) : e.note;
      return el("li", {}, [
        `${when(e.at)} · ${stepWord(e.action)} → ${stateWord(e.to_status)}`,
        e.actor ? el("span", { class: "muted" }, [` · ${bySystem ? t("system_actor") : e.actor}`]) : null,
        said && !said.startsWith("system_") ? el("div", { class: "muted" }, [said]) : null,
      ]);
    })));
    body.replaceChildren(...parts);
  }

  /** Reads the open incident again; re-renders when its version moved (or when forced). */
  async function reload(force) {
    if (!current) return;
    // Someone filling in a step keeps their form: what they send is checked against the version
    // they read (If-Match), and a stale one is refused and reloaded then.
    const busy = () => !force && body.querySelector(".step-form");
    if (busy()) return;
    if (reading) { queued = queued === "force" || force ? "force" : "soft"; return; }
    const id = current.id;
    reading = api(`${API}/incidents/${id}`, { cache: "no-store" });
    try {
      const feature = await reading;
      if (!current || current.id !== id || busy()) return;
      const version = feature.properties.version;
      if (force || version !== current.version) {
        current = { id, version, etag: feature.__etag, feature };
        aside.dataset.version = String(version);
        render(feature, feature.__etag);
      }
    } catch (e) {
      note(inWords(e), "error");
    } finally {
      reading = null;
      if (queued) { const again = queued === "force"; queued = null; reload(again); }
    }
  }

  // A form put away: catch up with whatever changed while it was open.
  body.addEventListener("step-cancelled", () => reload(false));

  return {
    /** Opens incident row (a board row: its id and place names). */
    async open(row) {
      names = row;
      aside.hidden = false;
      document.body.classList.add("pane-open");
      aside.dataset.id = String(row.id);
      current = { id: row.id, version: null };
      note("", "");
      body.replaceChildren(el("div", { class: "muted" }, [t("loading")]));
      try {
        const feature = await api(`${API}/incidents/${row.id}`, { cache: "no-store" });
        current = { id: row.id, version: feature.properties.version, etag: feature.__etag, feature };
        aside.dataset.version = String(feature.properties.version);
        render(feature, feature.__etag);
        await drawPlace(feature);
      } catch (e) {
        body.replaceChildren(el("div", { class: "message error" }, [inWords(e)]));
      }
    },
    close() {
      current = null;
      aside.hidden = true;
      document.body.classList.remove("pane-open");
    },
    reload,
    openId: () => (current ? current.id : null),
    rerender: () => { if (current && current.feature) render(current.feature, current.etag); },
  };
}
