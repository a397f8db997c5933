// The grid worker's phone page (/m/): the shell every screen plugs into. It keeps the token and
// the field pack on the phone, runs one watchPosition for the page, and owns the queue of what
// waits to be sent. Feature modules (web/m/lib/features.js) get the app object below.
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

const queue = makeQueue();

/**
 * The object feature modules are installed with (install(app)); see the contract of issue 17.
 * A send handler may also just throw the Error of app.api: a 4xx (but 401/408/429) refuses the
 * item with the server's code, anything else sends it again later.
 */
export const app = {
  addScreen,
  addHomeCard: (mount) => home.addCard(mount),
  api: (path, options) => api.call(path, options),
  queue: {
    add: (item) => queue.add(item),
    onSend: (kind, fn) => queue.onSend(kind, fn),
    list: () => queue.list(),
    onChange: (fn) => queue.onChange(fn),
    answer: (key) => queue.answer(key),
    sync: () => sync.kick(),
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

const sync = makeSync(queue, app);

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
    const fresh = await api.call("/me/field", { ifNoneMatch: pack && etag ? etag : undefined });
    if (fresh.__status === 304) return;
    await store.setValue(PACK_KEY, fresh);
    await store.setValue(PACK_ETAG_KEY, fresh.__etag || "");
    setPack(fresh);
  } catch (e) {
    if (e.status && e.status !== 0) toast(t("m_pack_failed", { m: waiting.refusalWords(e) }));
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
  return { n, refused: items.filter((i) => i.state === "refused").length };
}

function showWaitingCount(items) {
  const btn = document.getElementById("waiting-btn");
  const { n, refused } = waitingCounts(items);
  btn.textContent = n || refused ? t("m_waiting_n", { n }) + (refused ? ` · ${t("m_refused_n", { n: refused })}` : "")
    : t("m_all_sent");
  btn.dataset.waiting = String(n);
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
  onLanguage(() => { translatePage(); label(); showWaitingCount(queue.current()); showNetwork(); });
  translatePage();
  label();
  document.getElementById("waiting-btn").addEventListener("click", () => show("waiting"));
  window.addEventListener("online", showNetwork);
  window.addEventListener("offline", showNetwork);
  showNetwork();
  waiting.install(app, queue, document.getElementById("screen-waiting"));
  queue.onChange(showWaitingCount);
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

window.gridmapPhone = app;
main();
