// The phone's API client: the token kept on the device (localStorage), JSON or multipart bodies,
// Idempotency-Key and If-Match headers, failures as Errors carrying status and the server's code.
import { t } from "../../lib/i18n.js";

const TOKEN_KEY = "gridmap.m.token";

/** The token kept on this phone ("" when signed out). */
export function token() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

/** Keeps (or, given "", forgets) the token on this phone. */
export function setToken(value) {
  if (value) localStorage.setItem(TOKEN_KEY, value); else localStorage.removeItem(TOKEN_KEY);
}

/** The URL of an API path: "/me" → "/api/v1/me"; "/api/…" stays as it is. */
export function url(path) {
  return path.startsWith("/api/") ? path : `/api/v1${path.startsWith("/") ? "" : "/"}${path}`;
}

/**
 * Calls the API and answers its JSON body (null for 204/304), with body.__etag and
 * body.__status. options: method, body (an object sent as JSON, or FormData sent as it is),
 * headers, idempotencyKey (Idempotency-Key), ifMatch (If-Match), ifNoneMatch, token.
 * A failed call throws an Error with status (0: no network), code and body.
 */
export async function call(path, options) {
  const o = options || {};
  const headers = Object.assign({ Accept: "application/json" }, o.headers || {});
  const secret = o.token !== undefined ? o.token : token();
  if (secret && !headers.Authorization) headers.Authorization = `Bearer ${secret}`;
  if (o.idempotencyKey) headers["Idempotency-Key"] = o.idempotencyKey;
  if (o.ifMatch) headers["If-Match"] = o.ifMatch;
  if (o.ifNoneMatch) headers["If-None-Match"] = o.ifNoneMatch;
  let body = o.body;
  if (body !== undefined && body !== null && !(body instanceof FormData) && !(body instanceof Blob)) {
    body = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  let res;
  try {
    res = await fetch(url(path), { method: o.method || "GET", headers, body, cache: "no-store" });
  } catch (cause) {
    throw Object.assign(new Error(t("network")), { status: 0, code: "network", body: {}, cause });
  }
  const text = res.status === 204 || res.status === 304 ? "" : await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok && res.status !== 304) {
    const b = data && typeof data === "object" ? data : {};
    throw Object.assign(new Error(typeof b.detail === "string" ? b.detail : `HTTP ${res.status}`),
      { status: res.status, code: b.code || `http_${res.status}`, body: b });
  }
  const out = data && typeof data === "object" ? data : {};
  Object.defineProperty(out, "__etag", { value: res.headers.get("ETag"), enumerable: false });
  Object.defineProperty(out, "__status", { value: res.status, enumerable: false });
  return out;
}
