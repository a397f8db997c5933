// The interface's words: the language in use (kept in localStorage), t() and the switch.
import * as en from "./text/en.js";
import * as zh from "./text/zh.js";

const TABLES = { zh, en };
const KEY = "gridmap.lang";
let lang = localStorage.getItem(KEY) === "en" ? "en" : "zh";
const listeners = [];

/** The language in use: "zh" (default) or "en". */
export function language() {
  return lang;
}

/** The word for key in the language in use (Chinese where English has none), {name}s filled from vars. */
export function t(key, vars) {
  let s = TABLES[lang].WORDS[key] || zh.WORDS[key] || key;
  Object.entries(vars || {}).forEach(([k, v]) => { s = s.split(`{${k}}`).join(String(v)); });
  return s;
}

/** A grid team role in words (its code where the language has no word for it). */
export function roleName(role) {
  return TABLES[lang].ROLES[role] || role;
}

/** Switches between Chinese and English, remembers the choice and tells every listener. */
export function toggleLanguage() {
  lang = lang === "zh" ? "en" : "zh";
  localStorage.setItem(KEY, lang);
  listeners.forEach((fn) => fn(lang));
}

/** Calls fn(lang) after every switch of language. */
export function onLanguage(fn) {
  listeners.push(fn);
}

/** Sets the page's lang and every [data-t] text and [data-tp] placeholder below root. */
export function translatePage(root = document) {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  root.querySelectorAll("[data-t]").forEach((n) => { n.textContent = t(n.dataset.t); });
  root.querySelectorAll("[data-tp]").forEach((n) => { n.placeholder = t(n.dataset.tp); });
}
