// Visit (走访): pick a household near me or by building and room (from the field pack, offline
// too), choose the outcome, add a note; queued with its own Idempotency-Key. The home card lists
// the overdue visits of my grids, less those visited on this phone since the pack was read.
import { distanceM } from "./track.js";
import { attempt, newKey, nowIso } from "./fieldsend.js";
import { button, card, el, injectStyle } from "./fieldui.js";

const VISITED_KEY = "gridmap.m.visited";
const OUTCOMES = ["met", "not_home", "refused", "moved", "follow_up"];
const NEAR_SHOWN = 30;
const FOUND_SHOWN = 50;
const OVERDUE_SHOWN = 5;

/** Visits made on this phone: household id → ISO time (the card drops them from "overdue"). */
function visited() {
  try {
    return JSON.parse(localStorage.getItem(VISITED_KEY) || "{}") || {};
  } catch {
    return {};
  }
}

function remember(householdId, at) {
  const v = visited();
  v[householdId] = at;
  localStorage.setItem(VISITED_KEY, JSON.stringify(v));
}

/** The middle of a building's outline (the mean of its outer ring's corners), as {lon, lat}. */
function middle(geometry) {
  if (!geometry) return null;
  let ring = null;
  if (geometry.type === "Polygon") ring = geometry.coordinates[0];
  else if (geometry.type === "MultiPolygon") ring = geometry.coordinates[0][0];
  else if (geometry.type === "Point") return { lon: geometry.coordinates[0], lat: geometry.coordinates[1] };
  if (!ring || ring.length === 0) return null;
  const pts = ring.length > 1 ? ring.slice(0, -1) : ring;
  const sum = pts.reduce((a, p) => [a[0] + p[0], a[1] + p[1]], [0, 0]);
  return { lon: sum[0] / pts.length, lat: sum[1] / pts.length };
}

/** The pack's households, each with its building's address and middle point. */
function households(pack) {
  if (!pack) return [];
  const buildings = new Map();
  ((pack.buildings && pack.buildings.features) || []).forEach((f) => {
    const p = f.properties || {};
    buildings.set(String(p.id), { ...p, at: middle(f.geometry) });
  });
  return (pack.households || []).map((h) => ({ ...h, building: buildings.get(String(h.building_id)) || null }));
}

/** Whether household h is past its visit interval and not visited on this phone since. */
function overdue(h, local) {
  if (!h.overdue) return false;
  const here = local[h.id];
  return !(here && (!h.last_visit_at || here > h.last_visit_at));
}

/** Adds the visit screen, its sender and the overdue card to app. */
export function install(app) {
  injectStyle();
  let screen = null;
  let overdueEl = null;
  let mode = "near";
  let query = "";
  let chosen = null;

  app.queue.onSend("visit", (item) => attempt(() =>
    app.api("/visits", { method: "POST", body: item.payload, idempotencyKey: item.key })));

  const place = (h) => {
    const b = h.building || {};
    // Data sets write "1单元" or just "1"; a bare number gets the word, a worded one stays.
    const numbered = (v, key, name) => (/^[0-9A-Za-z-]+$/.test(v) ? app.t(key, { [name]: v }) : v);
    const room = [h.unit ? numbered(h.unit, "f_unit", "u") : "", h.room ? numbered(h.room, "f_room", "r") : ""].join(" ").trim();
    return { title: b.address || b.name || b.code || app.t("f_building_unknown"), room };
  };

  const tagsOf = (h) => (h.care_tags || []).map((c) => app.word("care_tag", c.tag)).join("、");

  function row(h, extra) {
    const p = place(h);
    const local = visited();
    const b = button("", () => openHousehold(h.id), "f-row", undefined);
    b.dataset.household = String(h.id);
    b.append(
      el("span", { text: `${p.title} ${p.room}`.trim() }),
      el("small", { text: [tagsOf(h), extra || ""].filter(Boolean).join(" · ") }),
    );
    if (overdue(h, local)) b.append(el("small", { className: "f-overdue", text: app.t("f_overdue_days", { d: daysLate(h) }) }));
    else if (local[h.id]) b.append(el("small", { text: app.t("f_visited_here") }));
    return el("li", {}, [b]);
  }

  function daysLate(h) {
    if (!h.due_at) return 0;
    return Math.max(0, Math.floor((Date.now() - Date.parse(h.due_at)) / 86_400_000));
  }

  function nearList() {
    const here = app.position();
    const all = households(app.pack());
    if (!here) return [el("p", { className: "f-hint", text: app.t("f_no_fix_near") })];
    const near = all
      .filter((h) => h.building && h.building.at)
      .map((h) => ({ h, m: distanceM(here, h.building.at) }))
      .sort((a, b) => a.m - b.m || String(a.h.room || "").localeCompare(String(b.h.room || "")))
      .slice(0, NEAR_SHOWN);
    if (near.length === 0) return [el("p", { className: "f-hint", text: app.t("f_no_households") })];
    return [el("ul", { className: "f-list", id: "f-visit-list" }, near.map(({ h, m }) => row(h, app.t("f_metres", { m: Math.round(m) }))))];
  }

  function foundList() {
    const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
    if (words.length === 0) return [el("p", { className: "f-hint", text: app.t("f_search_hint") })];
    const found = households(app.pack()).filter((h) => {
      const b = h.building || {};
      const hay = [b.address, b.name, b.code, h.unit, h.room, h.unit && h.room ? `${h.unit}-${h.room}` : ""]
        .filter(Boolean).join(" ").toLowerCase();
      return words.every((w) => hay.includes(w));
    }).slice(0, FOUND_SHOWN);
    if (found.length === 0) return [el("p", { className: "f-hint", text: app.t("f_none_found") })];
    return [el("ul", { className: "f-list", id: "f-visit-list" }, found.map((h) => row(h)))];
  }

  function renderList() {
    const tabs = el("div", { className: "f-tabs" }, [
      button(app.t("f_near"), () => { mode = "near"; render(); }, "", "f-visit-near"),
      button(app.t("f_by_building"), () => { mode = "find"; render(); }, "", "f-visit-find"),
    ]);
    tabs.children[0].setAttribute("aria-pressed", String(mode === "near"));
    tabs.children[1].setAttribute("aria-pressed", String(mode === "find"));
    screen.append(el("h2", { text: app.t("f_visit") }), tabs);
    if (mode === "near") {
      screen.append(...nearList());
      return;
    }
    const box = el("input", { type: "search", className: "f-search", id: "f-visit-q", placeholder: app.t("f_search_placeholder"), value: query });
    const results = el("div", {}, foundList());
    box.addEventListener("input", () => {
      query = box.value;
      results.replaceChildren(...foundList());
    });
    screen.append(box, results);
  }

  function renderForm(h) {
    const p = place(h);
    let outcome = null;
    const choices = OUTCOMES.map((o) => {
      const b = el("button", { type: "button", className: "f-btn", text: app.word("visit_outcome", o), dataset: { outcome: o } });
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", () => {
        outcome = o;
        choices.forEach((c) => c.setAttribute("aria-pressed", String(c === b)));
      });
      return b;
    });
    const note = el("textarea", { className: "f-note", id: "f-visit-note", maxLength: 2000, placeholder: app.t("f_note_placeholder") });
    const last = h.last_visit_at ? new Date(h.last_visit_at).toLocaleDateString() : app.t("f_never");
    screen.append(
      el("h2", { text: `${p.title} ${p.room}`.trim() }),
      el("p", { className: "f-hint", text: [tagsOf(h), app.t("f_last_visit", { d: last })].filter(Boolean).join(" · ") }),
      el("div", { className: "f-outcomes", id: "f-visit-outcomes" }, choices),
      note,
      button(app.t("f_visit_save"), async () => {
        if (!outcome) {
          app.toast(app.t("f_pick_outcome"));
          return;
        }
        const at = nowIso();
        const payload = { household_id: h.id, at, outcome };
        if (note.value.trim()) payload.note = note.value.trim();
        await app.queue.add({ kind: "visit", key: newKey(), label: app.t("f_visit_label", { where: `${p.title} ${p.room}`.trim() }), payload });
        // A door nobody opened leaves the household due (the server counts it the same way).
        if (outcome !== "not_home") remember(h.id, at);
        app.toast(app.t("f_visit_queued"));
        chosen = null;
        render();
        renderOverdue();
      }, "f-big f-primary", "f-visit-save"),
      button(app.t("f_back"), () => { chosen = null; render(); }, "", "f-visit-back"),
    );
  }

  function render() {
    if (!screen) return;
    screen.replaceChildren();
    const h = chosen === null ? null : households(app.pack()).find((x) => x.id === chosen);
    if (h) renderForm(h); else renderList();
  }

  function openHousehold(id) {
    chosen = id;
    app.show("visit");
    render();
  }

  function renderOverdue() {
    if (!overdueEl) return;
    const local = visited();
    const late = households(app.pack()).filter((h) => overdue(h, local))
      .sort((a, b) => String(a.due_at || "").localeCompare(String(b.due_at || "")));
    overdueEl.replaceChildren(
      el("h3", { text: app.t("f_overdue_title") }),
      el("p", { id: "f-overdue-count", dataset: { n: String(late.length) }, text: app.t("f_overdue_count", { n: late.length }) }),
      el("ul", { className: "f-list" }, late.slice(0, OVERDUE_SHOWN).map((h) => row(h))),
    );
  }

  app.addScreen("visit", {
    icon: "♥",
    titleKey: "f_visit",
    mount(elm) {
      screen = elm;
      render();
    },
    show() {
      render();
    },
  });
  app.addHomeCard((elm) => {
    overdueEl = card(elm, "f-card-overdue");
    renderOverdue();
  });
  // The pack may arrive (or be read again) after the cards are drawn.
  app.onPack(() => {
    renderOverdue();
    if (chosen === null) render();
  });
  app.onLanguage(() => {
    renderOverdue();
    render();
  });
}
