// Patrol (巡查): start and stop, the track recorded from the page's fixes, uploaded in pieces as
// it goes (queued while offline), drawn live on the home map; today's figures on a home card.
//
// Knob for tests and demos: localStorage "gridmap.m.pieceSeconds" sets the seconds between
// uploaded pieces (default 30); a piece is also cut at 60 points.
import { asTriple, dropReason, lengthM, limits } from "./track.js";
import { attempt, newKey, nowIso } from "./fieldsend.js";
import { button, card, el, figure, injectStyle } from "./fieldui.js";

const STATE_KEY = "gridmap.m.patrol";
const PIECE_SECONDS_KEY = "gridmap.m.pieceSeconds";
const PIECE_SECONDS = 30;
const PIECE_POINTS = 60;
const CHECK_MS = 1000;

/** The open patrol as kept on the phone (survives a reload), or null. */
function loadState() {
  try {
    const s = JSON.parse(localStorage.getItem(STATE_KEY) || "null");
    return s && s.key ? s : null;
  } catch {
    return null;
  }
}

function saveState(s) {
  if (s) localStorage.setItem(STATE_KEY, JSON.stringify(s)); else localStorage.removeItem(STATE_KEY);
}

function pieceSeconds() {
  const v = Number(localStorage.getItem(PIECE_SECONDS_KEY));
  return v > 0 ? v : PIECE_SECONDS;
}

function pieceKey(key, seq) {
  return `patrol:${key}:${seq}`;
}

/** Adds the patrol screen, its senders and the figures card to app. */
export function install(app) {
  injectStyle();
  let state = loadState();
  let line = null;
  let screen = null;
  let figuresEl = null;
  let lastFigures = null;
  let figuresFresh = false;
  let unsent = { patrols: 0, m: 0, pieces: new Map() };
  let sentSinceRead = 0;
  const settings = () => (app.pack() && app.pack().settings) || {};

  app.queue.onSend("patrol_start", (item) => attempt(() =>
    app.api(`/patrols/${item.payload.key}`, { method: "PUT", body: { started_at: item.payload.started_at } })));
  app.queue.onSend("patrol_piece", (item) => attempt(() =>
    app.api(`/patrols/${item.payload.key}/pieces/${item.payload.seq}`, { method: "PUT", body: { points: item.payload.points } })));
  app.queue.onSend("patrol_end", async (item) => {
    const result = await attempt(() =>
      app.api(`/patrols/${item.payload.key}/end`, { method: "POST", body: { ended_at: item.payload.ended_at } }));
    if (result === "done") refreshFigures();
    return result;
  });

  // One cut at a time: a fix arriving while a piece is being queued waits for it, so two cuts
  // never take the same number.
  let cutting = Promise.resolve();

  /** Puts the fixes not yet sent into a queued piece (after the piece before it). */
  function cut(force) {
    cutting = cutting.then(() => cutNow(force), () => cutNow(force));
    return cutting;
  }

  async function cutNow(force) {
    if (!state || state.pending.length === 0) return;
    const due = force || state.pending.length >= PIECE_POINTS
      || Date.now() / 1000 - state.cutAt >= pieceSeconds();
    if (!due) return;
    const points = state.pending.slice(0, Math.min(state.pending.length, limits(settings()).piecePoints));
    const seq = state.seq;
    const key = pieceKey(state.key, seq);
    const after = seq === 0 ? `patrol:${state.key}` : pieceKey(state.key, seq - 1);
    // Kept in the queue (IndexedDB) before the fixes are taken off the pending ones (localStorage):
    // the other order loses the fixes when the page is closed while the queue is written.
    await app.queue.add({ kind: "patrol_piece", key, after, label: app.t("f_patrol_piece_label", { n: seq + 1 }),
      payload: { key: state.key, seq, points } });
    state.pending = state.pending.slice(points.length);
    state.seq = seq + 1;
    state.cutAt = Date.now() / 1000;
    saveState(state);
  }

  function onFix(fix) {
    if (!state) return;
    // The time the page got the fix, not the receiver's: some phones' GPS clocks run off the
    // system clock, and the server checks each time against its own clock and the start.
    const f = { lon: fix.lon, lat: fix.lat, accuracy: fix.accuracy, t: Date.now() / 1000 };
    if (f.t <= state.startedT) return;
    const why = dropReason(state.last, f, settings());
    if (why !== null) {
      state.dropped += 1;
      saveState(state);
      return;
    }
    if (state.last) state.length_m += lengthM([state.last, f]);
    state.last = f;
    state.points += 1;
    state.pending.push(asTriple(f));
    state.track.push([f.lat, f.lon]);
    saveState(state);
    draw();
    renderFigures();
    cut(false);
  }

  async function start() {
    if (state) return;
    const key = newKey();
    const started = nowIso();
    state = { key, started_at: started, startedT: Date.parse(started) / 1000, seq: 0, cutAt: Date.parse(started) / 1000,
      pending: [], track: [], last: null, points: 0, dropped: 0, length_m: 0 };
    saveState(state);
    await app.queue.add({ kind: "patrol_start", key: `patrol:${key}`, label: app.t("f_patrol_start_label"),
      payload: { key, started_at: started } });
    render();
    draw();
  }

  async function stop() {
    if (!state) return;
    await cut(true);
    const ended = new Date(Math.max(Date.now(), state.last ? state.last.t * 1000 : 0)).toISOString();
    const after = state.seq === 0 ? `patrol:${state.key}` : pieceKey(state.key, state.seq - 1);
    const key = state.key;
    const done = { length_m: state.length_m, points: state.points };
    await app.queue.add({ kind: "patrol_end", key: `patrol:${key}:end`, after, label: app.t("f_patrol_end_label"),
      payload: { key, ended_at: ended } });
    state = null;
    saveState(null);
    app.toast(app.t("f_patrol_stopped", { km: (done.length_m / 1000).toFixed(2), n: done.points }));
    render();
    renderFigures();
  }

  function draw() {
    const map = app.map && app.map();
    const L = globalThis.L;
    if (!map || !L) return;
    if (!line) line = L.polyline([], { color: "#d9480f", weight: 5, opacity: 0.85, className: "f-track" }).addTo(map);
    line.setLatLngs(state ? state.track : []);
  }

  // The screen is rebuilt only when the patrol starts or stops, so a button is never replaced
  // under a finger; the figures of a walk in progress are updated in place.
  let built = null;
  function render() {
    if (!screen) return;
    const on = Boolean(state);
    if (built !== on) {
      built = on;
      screen.replaceChildren();
      if (!on) {
        screen.append(
          el("p", { className: "f-hint", text: app.t("f_patrol_hint") }),
          button(app.t("f_patrol_start"), start, "f-big f-go", "f-patrol-start"),
          el("p", { className: "f-hint", id: "f-patrol-fix" }),
        );
      } else {
        screen.append(
          el("p", { className: "f-live", text: app.t("f_patrol_on") }),
          el("div", { className: "f-figures" }, [
            figure(app.t("f_length"), "", "f-patrol-km"),
            figure(app.t("f_duration"), "", "f-patrol-minutes"),
            figure(app.t("f_points"), "", "f-patrol-points"),
            figure(app.t("f_dropped"), "", "f-patrol-dropped"),
          ]),
          el("p", { className: "f-hint", id: "f-patrol-fix" }),
          button(app.t("f_patrol_stop"), stop, "f-big f-stop", "f-patrol-stop"),
        );
      }
    }
    const set = (id, text) => { const n = screen.querySelector(`#${id}`); if (n) n.textContent = text; };
    const fix = app.position();
    set("f-patrol-fix", fix ? app.t("f_accuracy", { m: Math.round(fix.accuracy) }) : app.t("f_no_fix"));
    if (state) {
      set("f-patrol-km", `${(state.length_m / 1000).toFixed(2)} ${app.t("f_km")}`);
      set("f-patrol-minutes", app.t("f_minutes", { n: Math.max(0, Math.round((Date.now() / 1000 - state.startedT) / 60)) }));
      set("f-patrol-points", String(state.points));
      set("f-patrol-dropped", String(state.dropped));
    }
  }

  async function refreshFigures() {
    try {
      const read = await app.api("/me/patrols");
      lastFigures = read;
      sentSinceRead = 0;
      figuresFresh = true;
    } catch {
      // Offline: the card keeps the last figures read and adds what waits to be sent.
      figuresFresh = false;
    }
    renderFigures();
  }

  /** The patrols and metres in the queue, not yet on the server. */
  function waitingWalk(items) {
    const w = { patrols: 0, m: 0, pieces: new Map() };
    items.forEach((i) => {
      if (i.state === "refused") return;
      if (i.kind === "patrol_start") w.patrols += 1;
      if (i.kind === "patrol_piece") {
        const m = lengthM(i.payload.points);
        w.m += m;
        w.pieces.set(i.key, m);
      }
    });
    return w;
  }

  function renderFigures() {
    if (!figuresEl) return;
    const f = lastFigures || { patrols: 0, length_m: 0, duration_s: 0, grids: [] };
    const grids = app.pack() && app.pack().grids ? app.pack().grids.features || [] : [];
    const nameOf = (code) => {
      const g = grids.find((x) => x.properties && x.properties.code === code);
      return g ? g.properties.name || code : code;
    };
    // What the server has not got yet counts too: pieces waiting in the queue and the fixes of
    // the walk in progress not yet put into a piece.
    const pendingM = state && state.pending.length ? lengthM(state.pending) : 0;
    const km = ((Number(f.length_m) || 0) + sentSinceRead + unsent.m + pendingM) / 1000;
    figuresEl.replaceChildren(
      el("h3", { text: app.t("f_today_patrol") }),
      el("div", { className: "f-figures" }, [
        figure(app.t("f_patrols"), String((Number(f.patrols) || 0) + unsent.patrols), "f-today-patrols"),
        figure(app.t("f_length"), `${km.toFixed(2)} ${app.t("f_km")}`, "f-today-km"),
        figure(app.t("f_duration"), app.t("f_minutes", { n: Math.round((Number(f.duration_s) || 0) / 60) })),
      ]),
      el("ul", { className: "f-shares" }, (f.grids || []).map((g) => el("li", {
        className: "f-share", dataset: { grid: g.grid, share: g.share === null || g.share === undefined ? "" : String(g.share) },
        text: app.t("f_grid_share", { name: nameOf(g.grid), pct: g.share === null || g.share === undefined ? "—" : (g.share * 100).toFixed(1) }),
      }))),
      state ? el("p", { className: "f-live", text: app.t("f_patrol_on") }) : el("span"),
      figuresFresh ? el("span") : el("p", { className: "f-hint", text: app.t("f_figures_offline") }),
    );
  }

  app.addScreen("patrol", {
    icon: "⚑",
    titleKey: "f_patrol",
    mount(elm) {
      screen = elm;
      render();
    },
    show() {
      render();
      draw();
    },
  });
  app.addHomeCard((elm) => {
    figuresEl = card(elm, "f-card-patrol");
    renderFigures();
    refreshFigures();
  });
  app.onPosition((fix) => {
    onFix(fix);
    render();
  });
  setInterval(() => {
    cut(false);
    if (state) render();
  }, CHECK_MS);
  setInterval(refreshFigures, 60_000);
  globalThis.addEventListener("online", refreshFigures);
  app.onPack(renderFigures);
  let later = null;
  app.queue.onChange((items) => {
    const before = unsent;
    unsent = waitingWalk(items);
    // A piece the server took moves its metres from the queue to the server's figures; until
    // they are read again (at once, or once back online) the card keeps counting them.
    const gone = [...before.pieces.keys()].filter((k) => !unsent.pieces.has(k));
    if (gone.length) {
      gone.forEach((k) => { sentSinceRead += before.pieces.get(k); });
      clearTimeout(later);
      later = setTimeout(refreshFigures, 1000);
    }
    renderFigures();
  });
  app.onLanguage(() => {
    built = null;
    render();
    renderFigures();
  });
  draw();
}
