// The grid worker's phone page (/m/): the shell every screen plugs into. It keeps the token and
// the field pack on the phone, runs one watchPosition for the page, and owns the queue of what
// waits to be sent. Feature modules (web/m/lib/features.js) get the app object below. When the
// kept token is refused (401: revoked or expired), sending stops, the queue is kept and a notice
// asks the person to sign in again; the same person's new token sends the kept queue.
import { el } from "../lib/dom.js";
import { language, onLanguage, t, toggleLanguage, translatePage } from "../lib/i18n.js";
import { word } from "../lib/words.js";
import * as api from "./lib/api.js";
import { FEATURES } from "./lib/features.js";
import { gridFinder } from "./lib/grid_of.js";
import * as home from "./lib/home.js";
import { makeQueue } from "./lib/queue.js";
import * as report from "./lib/report.js";
import * as signin from "./lib/signin.js";
import * as store from "./lib/store.js";
import { makeSync } from "./lib/sync.js";
import * as waiting from "./lib/waiting.js";

const PACK_KEY = "pack";
const PACK_ETAG_KEY = "pack_etag";
const ME_KEY = "me";

const screens = new Map();
const positionListeners = [];
const packListeners = [];
let pack = null;
let me = null;
let lastFix = null;
let findGrid = () => null;
let homeMap = null;
let toastTimer = null;
let ended = false;

const queue = makeQueue();

/**
 * The object feature modules are installed with (install(app)); see the contract of issue 17.
 * A send handler may also just throw the Error of app.api: a 4xx (but 401/408/429) refuses the
 * item with the server's code, anything else sends it again later.
 */
export const app = {
  addScreen,
  addHomeCard: (mount) => home.addCard(mount),
  api: (path, options) => callApi(path, options),
  queue: {
    add: (item) => queue.add(item),
    onSend: (kind, fn) => queue.onSend(kind, fn),
    list: () => queue.list(),
    onChange: (fn) => queue.onChange(fn),
    answer: (key) => queue.answer(key),
    sync: () => { if (ended) toast(t("m_ended_first")); return sync.kick(); },
  },
  pack: () => pack,
  onPack: (fn) => { packListeners.push(fn); },
  me: () => me,
  position: () => lastFix,
  onPosition: (fn) => { positionListeners.push(fn); },
  gridAt: (lon, lat) => {
    const f = findGrid(lon, lat);
    return f ? { code: f.properties.code, name: f.properties.name } : null;
  },
  map: () => homeMap,
  t,
  word,
  toast,
  show,
  onLanguage,
};

const sync = makeSync(queue, app, { paused: () => ended });

/** app.api: a call with the kept token that answers 401 ends the sign-in (see signInEnded). */
async function callApi(path, options) {
  try {
    return await api.call(path, options);
  } catch (e) {
    if (e.status === 401 && (!options || options.token === undefined)) signInEnded();
    throw e;
  }
}

/** The kept token no longer works: hold the queue and say so until the person signs in again. */
function signInEnded() {
  if (ended) return;
  ended = true;
  renderEnded();
}

// The notice under the header while the sign-in has ended; --notice makes room for it.
function renderEnded() {
  const box = document.getElementById("m-ended");
  box.hidden = !ended;
  if (ended) {
    const { n } = waitingCounts(queue.current());
    box.replaceChildren(
      el("strong", {}, [t("m_ended_title")]),
      el("p", {}, [t("m_ended_text")]),
      el("p", { id: "m-ended-kept" }, [n ? t("m_ended_kept", { n }) : t("m_ended_none")]),
      el("button", { type: "button", id: "m-ended-signin", class: "primary", onclick: signInAgain }, [t("m_ended_signin")]),
    );
  }
  document.documentElement.style.setProperty("--notice", ended ? `${box.offsetHeight}px` : "0px");
}

/** The sign-in form again, over the screens (the tabs stay, to look at things meanwhile). */
function signInAgain() {
  const section = document.getElementById("screen-signin");
  signin.install(section, acceptAgain);
  document.querySelectorAll(".screen").forEach((s) => { s.hidden = s !== section; });
  document.querySelectorAll(".tab").forEach((b) => b.removeAttribute("aria-current"));
  section.querySelector("#m-token").focus();
}

/**
 * A new token after the sign-in ended. The kept items were made by the person of the kept field
 * pack and are sent in their name, so only that person's token sends them; another person's
 * token is refused while any wait (signing out deletes them), and taken on an empty queue.
 */
async function acceptAgain(secret, who) {
  const fresh = await api.call("/me/field", { token: secret });
  const before = pack && pack.person ? pack.person : null;
  const same = before ? fresh.person && fresh.person.id === before.id : !me || me.name === who.name;
  const items = (await queue.list()).length;
  if (!same && items) {
    return t("m_ended_other", { name: who.name, owner: (before && before.name) || (me && me.name) || "", n: items });
  }
  if (!same) await store.clearAll();
  api.setToken(secret);
  await store.setValue(ME_KEY, who);
  await store.setValue(PACK_KEY, fresh);
  await store.setValue(PACK_ETAG_KEY, fresh.__etag || "");
  location.hash = "";
  location.reload();
  return "";
}

/** Adds a screen with a tab in the bottom bar: {icon (a glyph), titleKey, mount(el), show()}. */
function addScreen(name, { icon, titleKey, mount, show: onShow }) {
  const section = el("section", { id: `screen-${name}`, class: "screen", "data-screen": name, hidden: "" });
  document.getElementById("screens").append(section);
  const tab = el("button", { type: "button", class: "tab", id: `tab-${name}`, "data-screen": name,
    onclick: () => show(name) }, [
    el("span", { class: "tab-icon", "aria-hidden": "true" }, [icon || "•"]),
    el("span", { class: "tab-label", "data-t": titleKey }, [t(titleKey)]),
  ]);
  document.getElementById("tabs").append(tab);
  screens.set(name, { section, show: onShow, tab });
  mount(section);
}

/** Opens the screen name (its tab marked, its show() run), remembered in the address's hash. */
function show(name) {
  const wanted = screens.has(name) || name === "waiting" ? name : "home";
  document.querySelectorAll(".screen").forEach((s) => { s.hidden = s.dataset.screen !== wanted; });
  document.querySelectorAll(".tab").forEach((b) => {
    if (b.dataset.screen === wanted) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  });
  if (location.hash.slice(1) !== wanted) history.replaceState(null, "", `#${wanted}`);
  const s = screens.get(wanted);
  if (wanted === "waiting") waiting.render();
  if (s && s.show) s.show();
}

/** A short message at the bottom of the screen for a few seconds. */
function toast(text) {
  const box = document.getElementById("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 3500);
}

function setPack(value) {
  pack = value || null;
  findGrid = gridFinder(pack && pack.grids);
  packListeners.forEach((fn) => fn(pack));
}

/** Reads the field pack again (If-None-Match), keeping the phone's copy when offline. */
async function refreshPack() {
  try {
    const etag = await store.getValue(PACK_ETAG_KEY);
    const fresh = await callApi("/me/field", { ifNoneMatch: pack && etag ? etag : undefined });
    if (fresh.__status === 304) return;
    await store.setValue(PACK_KEY, fresh);
    await store.setValue(PACK_ETAG_KEY, fresh.__etag || "");
    setPack(fresh);
  } catch (e) {
    if (e.status && e.status !== 401) toast(t("m_pack_failed", { m: waiting.refusalWords(e) }));
  }
}

function watchPosition() {
  if (!navigator.geolocation) return;
  navigator.geolocation.watchPosition((p) => {
    const fix = { lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy, t: p.timestamp / 1000 };
    if (!Number.isFinite(fix.lon) || !Number.isFinite(fix.lat)) return;
    lastFix = fix;
    positionListeners.forEach((fn) => { try { fn(fix); } catch (e) { console.error(e); } });
  }, () => {}, { enableHighAccuracy: true, maximumAge: 5000 });
}

/**
 * How many things wait, as a person made them: an item sent after another still queued (a
 * report's photos, a patrol's next pieces) is part of that one; refused items are counted apart.
 */
export function waitingCounts(items) {
  const queued = new Set(items.map((i) => i.key));
  const n = items.filter((i) => i.state !== "refused" && !(i.after && queued.has(i.after))).length;
  return { n, items: items.filter((i) => i.state !== "refused").length,
    refused: items.filter((i) => i.state === "refused").length };
}

// The button says the count in words; data-waiting is that count, data-items the items behind it.
function showWaitingCount(all) {
  const btn = document.getElementById("waiting-btn");
  const { n, items, refused } = waitingCounts(all);
  btn.textContent = n || refused ? t("m_waiting_n", { n }) + (refused ? ` · ${t("m_refused_n", { n: refused })}` : "")
    : t("m_all_sent");
  btn.dataset.waiting = String(n);
  btn.dataset.items = String(items);
  btn.dataset.refused = String(refused);
  btn.classList.toggle("has-waiting", n > 0);
  btn.classList.toggle("has-refused", refused > 0);
}

function showNetwork() {
  const net = document.getElementById("net");
  net.textContent = navigator.onLine ? "" : t("m_offline");
  net.hidden = navigator.onLine;
}

/** Everything a signed-in person sees: home, report, the features, the queue being sent. */
async function startSignedIn() {
  me = (await store.getValue(ME_KEY)) || null;
  setPack((await store.getValue(PACK_KEY)) || null);
  document.getElementById("tabs").hidden = false;
  homeMap = home.install(app);
  report.install(app);
  FEATURES.forEach((f) => { try { f.install(app); } catch (e) { console.error(e); } });
  watchPosition();
  sync.start();
  window.addEventListener("online", () => refreshPack());
  show(location.hash.slice(1) || "home");
  refreshPack();
}

async function signOut() {
  const items = await queue.list();
  if (items.length && !window.confirm(t("m_signout_waiting", { n: items.length }))) return;
  await store.clearAll();
  api.setToken("");
  location.hash = "";
  location.reload();
}
app.signOut = signOut;

async function main() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/m/sw.js", { scope: "/m/" }).catch((e) => console.error(e));
  }
  const lang = document.getElementById("lang-btn");
  const label = () => { lang.textContent = language() === "zh" ? "EN" : "中文"; lang.lang = language() === "zh" ? "en" : "zh-CN"; };
  lang.addEventListener("click", () => toggleLanguage());
  const tabs = document.getElementById("tabs");
  const landmarks = () => { tabs.setAttribute("aria-label", t("m_tabs")); };
  onLanguage(() => {
    translatePage(); label(); landmarks(); showWaitingCount(queue.current()); showNetwork(); renderEnded();
  });
  landmarks();
  translatePage();
  label();
  document.getElementById("waiting-btn").addEventListener("click", () => show("waiting"));
  window.addEventListener("online", showNetwork);
  window.addEventListener("offline", showNetwork);
  showNetwork();
  waiting.install(app, queue, document.getElementById("screen-waiting"));
  queue.onChange((all) => { showWaitingCount(all); if (ended) renderEnded(); });
  await queue.recover();
  if (!api.token()) {
    signin.install(document.getElementById("screen-signin"), async (secret, who) => {
      api.setToken(secret);
      await store.setValue(ME_KEY, who);
      location.reload();
    });
    document.querySelectorAll(".screen").forEach((s) => { s.hidden = s.dataset.screen !== "signin"; });
    return;
  }
  await startSignedIn();
}

// Only the phone page starts the shell (a test may import this module into another page).
if (document.body && document.body.dataset.page === "phone") {
  window.gridmapPhone = app;
  main();
}
