// The list of what waits to be sent, with each item's state in words; a refused item says why
// (the page's words for the server's code, never the code) and may be deleted.
import { el } from "../../lib/dom.js";
import { t } from "../../lib/i18n.js";

let box = null;
let appRef = null;
let queueRef = null;

/** Words for a refusal {code, detail, status} or an API Error: the page's words for its code. */
export function refusalWords(r) {
  const code = r.code || (r.body && r.body.code) || "";
  for (const key of [`m_err_${code}`, `err_${code}`]) {
    const w = t(key);
    if (w !== key) return w;
  }
  const status = r.status || 0;
  const http = t(`http_${status}`);
  if (status && http !== `http_${status}`) return http;
  return t("m_err_unknown");
}

/** The kind of an item in words (the feature's word when it brought one, else a general one). */
function kindWords(kind) {
  for (const key of [`m_kind_${kind}`, `f_kind_${kind}`]) {
    const w = t(key);
    if (w !== key) return w;
  }
  return t("m_kind_other");
}

function when(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleString(t("m_locale"), { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

function row(item, queued) {
  const blocked = item.after && queued.has(item.after);
  const state = item.state === "refused" ? t("m_state_refused") : item.state === "sending" ? t("m_state_sending")
    : blocked ? t("m_state_after") : t("m_state_waiting");
  const parts = [
    el("div", { class: "q-head" }, [el("strong", {}, [item.label || kindWords(item.kind)]),
      el("span", { class: `q-state q-${item.state}` }, [state])]),
    el("div", { class: "muted" }, [`${kindWords(item.kind)} · ${when(item.created_at)}`
      + (item.tries ? ` · ${t("m_tries", { n: item.tries })}` : "")]),
  ];
  if (item.state === "refused" && item.refused) {
    parts.push(el("p", { class: "q-why" }, [t("m_refused_why", { why: refusalWords(item.refused) })]));
    parts.push(el("button", { type: "button", class: "danger", "data-key": item.key, onclick: async () => {
      const n = await queueRef.drop(item.key);
      appRef.toast(t("m_deleted_n", { n }));
    } }, [t("m_delete")]));
  }
  return el("li", { class: `q-item q-${item.state}`, "data-key": item.key, "data-kind": item.kind, "data-state": item.state,
    "data-tries": String(item.tries || 0) }, parts);
}

/** Draws the list again (the queue's current items). */
export function render() {
  if (!box) return;
  const items = queueRef.current();
  const queued = new Set(items.map((i) => i.key));
  box.replaceChildren(
    el("h1", {}, [t("m_waiting_title")]),
    el("p", { class: "muted" }, [items.length ? t("m_waiting_hint") : t("m_waiting_none")]),
    el("ul", { id: "q-list", class: "q-list" }, items.map((i) => row(i, queued))),
    el("button", { type: "button", id: "q-send", class: "primary big", onclick: () => {
      if (!navigator.onLine) appRef.toast(t("m_offline_later"));
      appRef.queue.sync();
    } }, [t("m_send_now")]),
  );
}

/** The waiting list in section, drawn again whenever the queue or the language changes. */
export function install(app, queue, section) {
  box = section;
  appRef = app;
  queueRef = queue;
  queue.onChange(() => { if (!box.hidden) render(); });
  app.onLanguage(() => { if (!box.hidden) render(); });
}
