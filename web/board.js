// The board (/board): the queues a command centre works from, live; an incident beside its map
// with the steps the API allows now; bulk accept/claim/dispatch; the monthly assessment.
import { API, api, currentToken, setToken } from "./lib/api.js";
import { el } from "./lib/dom.js";
import { language, onLanguage, t, toggleLanguage, translatePage } from "./lib/i18n.js";
import { describe, refusal as tokenRefusal, signInForm, whoIs } from "./lib/signin.js";
import { word } from "./lib/words.js";
import { assessment } from "./lib/board/assess.js";
import { inWords } from "./lib/board/errors.js";
import { livePoll } from "./lib/board/live.js";
import { stateWord, stepWord } from "./lib/board/names.js";
import { incidentPane } from "./lib/board/pane.js";
import { renderRows, renderTabs, tickCell } from "./lib/board/queue.js";

/** Runs the board on a page that has one (a module may be imported elsewhere, by tests). */
function boardPage() {
  const $ = (id) => document.getElementById(id);
  const say = (text) => { $("status").textContent = text; };
  const PAGE = 50;
  const ASSESS = "assess";
  const STATES = ["reported", "pooled", "queued", "dispatched", "handling", "resolved", "closed", "evaluated", "cancelled", "parked"];
  const SEVERITIES = ["general", "important", "urgent"];

  let who = null;
  let queue = null;
  let offset = 0;
  let last = null;
  let readAt = Date.now();
  let filters = {};
  const selected = new Set();

  const pane = incidentPane($("pane"), () => live.refresh(), say);
  $("pane-close").addEventListener("click", () => { pane.close(); draw(); });
  const assess = assessment($("assess-form"), $("a-chart"), $("a-table"), say);

  function boardUrl() {
    const p = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    if (queue && queue !== ASSESS) p.set("queue", queue);
    Object.entries(filters).forEach(([k, v]) => { if (v) p.set(k, v); });
    return `${API}/board?${p}`;
  }

  function chosenRows() {
    return last ? last.rows.filter((r) => selected.has(r.id)) : [];
  }

  function drawBulk() {
    const n = chosenRows().length;
    $("bulk-count").textContent = t("board_selected", { n });
    document.querySelectorAll("#bulk button").forEach((b) => { b.disabled = n === 0; });
    $("select-all").checked = Boolean(last && last.rows.length && n === last.rows.length);
  }

  function draw() {
    if (!last) return;
    const extra = who && who.role !== "department" ? [[ASSESS, t("board_assessment")]] : [];
    renderTabs($("tabs"), last, queue || last.queue, extra, choose);
    const assessing = queue === ASSESS;
    $("queue-view").hidden = assessing;
    $("assess-view").hidden = !assessing;
    if (assessing) return;
    const ids = new Set(last.rows.map((r) => r.id));
    [...selected].forEach((id) => { if (!ids.has(id)) selected.delete(id); });
    renderRows($("rows").tBodies[0], last.rows, { selected, openId: pane.openId(), open: openRow, changedSelection: drawBulk, readAt });
    $("empty").hidden = last.rows.length > 0;
    $("pager").replaceChildren(...[
      el("span", {}, [t("board_page", { from: last.rows.length ? offset + 1 : 0, to: offset + last.rows.length, n: last.numberMatched })]),
      offset > 0 ? el("button", { type: "button", onclick: () => { offset = Math.max(0, offset - PAGE); live.refresh(); } }, [t("board_prev")]) : null,
      offset + PAGE < last.numberMatched ? el("button", { type: "button", onclick: () => { offset += PAGE; live.refresh(); } }, [t("board_next")]) : null,
    ].filter(Boolean));
    drawBulk();
  }

  function openRow(row) {
    pane.open(row);
    document.querySelectorAll("#rows tbody tr").forEach((tr) => tr.classList.toggle("open", tr.dataset.id === String(row.id)));
  }

  function choose(q) {
    queue = q;
    offset = 0;
    selected.clear();
    if (q === ASSESS) { draw(); assess.show(); return; }
    live.refresh();
  }

  const live = livePoll(boardUrl, (body) => {
    readAt = Date.now();
    const first = !last;
    last = body;
    if (!queue) queue = body.queue;
    draw();
    if (pane.openId() !== null) pane.reload(false);
    document.body.dataset.change = String(body.change);
    if (first) {
      // First paint: milliseconds since navigation began, in the frame after the rows went in.
      requestAnimationFrame(() => {
        document.body.dataset.paintMs = String(Math.round(performance.now()));
        document.body.dataset.ready = "true";
      });
      say(t("board_ready"));
    }
  }, (message, status) => {
    say(t("load_failed", { m: message }));
    if (status === 401 || status === 403) { live.stop(); document.body.dataset.ready = "error"; }
  });

  // Time left counts down between reads.
  setInterval(() => { const now = Date.now(); document.querySelectorAll("#rows td.left").forEach((c) => tickCell(c, now)); }, 1000);

  // Bulk steps: each selected row with the version it showed; what became of each is told.
  document.querySelectorAll("#bulk button").forEach((b) => b.addEventListener("click", async () => {
    const step = b.dataset.step;
    const items = chosenRows().map((r) => ({ id: r.id, version: r.version }));
    if (!items.length) return;
    b.disabled = true;
    try {
      const answer = await api(`${API}/incidents/bulk/${step}`, { method: "POST", json: { items } });
      const ok = answer.results.filter((r) => r.status === 200).length;
      const stale = answer.results.filter((r) => r.status === 412).length;
      const refused = answer.results.length - ok - stale;
      say(t("board_bulk_done", { step: stepWord(step), ok, stale, refused }));
      selected.clear();
    } catch (e) {
      say(inWords(e));
    } finally {
      live.refresh();
    }
  }));
  $("select-all").addEventListener("change", (ev) => {
    (last ? last.rows : []).forEach((r) => { if (ev.target.checked) selected.add(r.id); else selected.delete(r.id); });
    draw();
  });

  // Filters.
  function fillFilters() {
    const sev = $("f-severity");
    const keepSev = sev.value;
    sev.replaceChildren(el("option", { value: "" }, [t("board_all")]), ...SEVERITIES.map((s) => el("option", { value: s }, [word("severity", s)])));
    sev.value = keepSev;
    const st = $("f-state");
    const keepSt = st.value;
    st.replaceChildren(el("option", { value: "" }, [t("board_all")]), ...STATES.map((s) => el("option", { value: s }, [stateWord(s)])));
    st.value = keepSt;
  }
  // "To" a day includes that day: the API's "to" is the instant before which reports count.
  function dayAfter(day) {
    if (!day) return "";
    const d = new Date(`${day}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString().slice(0, 10);
  }
  async function fillStreets() {
    const region = who && who.region ? who.region.slice(0, 6) : "";
    const url = region ? `${API}/regions?level=street&parent=${region}&limit=200` : `${API}/regions?level=street&limit=200`;
    const fc = await api(url).catch(() => ({ features: [] }));
    const sel = $("f-street");
    sel.replaceChildren(el("option", { value: "" }, [t("board_all")]),
      ...fc.features.map((f) => el("option", { value: f.properties.code }, [f.properties.name])));
  }
  $("filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    filters = { street: $("f-street").value, category: $("f-category").value.trim(), severity: $("f-severity").value,
      state: $("f-state").value, from: $("f-from").value, to: dayAfter($("f-to").value) };
    offset = 0;
    live.refresh();
  });
  $("filters").addEventListener("reset", () => { filters = {}; offset = 0; setTimeout(() => live.refresh(), 0); });

  // Language and sign-in, as on the map page.
  function renderText() {
    translatePage();
    $("lang-btn").textContent = language() === "zh" ? "English" : "中文";
    $("token-btn").textContent = currentToken() ? t("board_sign_out") : t("board_sign_in");
    $("signin-who").textContent = who ? describe(who) : "";
    $("signin-who").hidden = !who;
    fillFilters();
    const anyStreet = $("f-street").options[0];
    if (anyStreet) anyStreet.textContent = t("board_all");
    if (document.body.dataset.ready === "true") say(t("board_ready"));
    assess.retranslate();
    draw();
    pane.rerender();
  }
  onLanguage(renderText);
  $("lang-btn").addEventListener("click", toggleLanguage);

  function signIn(value, holder, reading) {
    setToken(value);
    who = currentToken() ? holder || null : null;
    document.body.dataset.signedIn = who ? who.role : "";
    if (!reading) {
      last = null;
      queue = null;
      selected.clear();
      pane.close();
    }
    renderText();
    if (who) { fillStreets(); if (!reading) live.refresh(); } else {
      live.stop();
      $("tabs").replaceChildren();
      $("rows").tBodies[0].replaceChildren();
      say(t("board_need_sign_in"));
    }
  }
  const signInBox = signInForm($("token-btn"), (token, holder) => { signIn(token, holder); });
  $("token-btn").addEventListener("click", () => {
    if (currentToken()) { signIn(""); return; }
    signInBox.toggle();
  });

  new ResizeObserver(() => {
    document.documentElement.style.setProperty("--bar-h", `${$("bar").offsetHeight}px`);
  }).observe($("bar"));

  async function start() {
    renderText();
    const kept = currentToken();
    if (!kept) { signIn(""); signInBox.open(); return; }
    // The board is read while the token is checked: the API refuses it there too.
    const holder = whoIs(kept);
    live.refresh();
    try {
      signIn(kept, await holder, true);
    } catch (e) {
      signIn("");
      say(tokenRefusal(e));
      signInBox.open();
    }
  }
  start();
}

if (document.getElementById("board")) boardPage();
