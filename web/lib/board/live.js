// Live: the board is read again every second with If-None-Match; an unchanged board is a 304
// with no body, so two dispatchers see each other's steps within the second.
import { currentToken } from "../api.js";
import { t } from "../i18n.js";

/**
 * Polls url() every interval ms; changed(body) runs when the answer is new, failed(message)
 * when it cannot be read. Answers { refresh(), stop() }: refresh() reads at once (after a step).
 */
export function livePoll(url, changed, failed, interval = 1000) {
  let etag = null;
  let lastUrl = null;
  let timer = null;
  let running = null;
  let again = false;
  let stopped = false;
  async function read() {
    const target = url();
    if (target !== lastUrl) { etag = null; lastUrl = target; }
    const headers = { Accept: "application/json" };
    if (currentToken()) headers.Authorization = `Bearer ${currentToken()}`;
    if (etag) headers["If-None-Match"] = etag;
    let res;
    try {
      res = await fetch(target, { headers, cache: "no-store" });
    } catch {
      failed(t("network"));
      return;
    }
    if (res.status === 304) return;
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      etag = null;
      failed(body.detail || t(`http_${res.status}`), res.status, body);
      return;
    }
    etag = res.headers.get("ETag");
    if (url() === target) changed(body);
  }
  async function tick() {
    clearTimeout(timer);
    if (stopped) return;
    if (running) { again = true; return; }
    running = read();
    try { await running; } finally { running = null; }
    if (again) { again = false; tick(); return; }
    if (!stopped) timer = setTimeout(tick, interval);
  }
  return {
    refresh: () => { stopped = false; tick(); },
    stop: () => { stopped = true; clearTimeout(timer); },
  };
}
