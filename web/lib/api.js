// The API client: the token kept in sessionStorage, JSON bodies, ETags and If-Match, errors in words.
import { t } from "./i18n.js";

/** Where the API lives. */
export const API = "/api/v1";
const TOKEN_KEY = "gridmap.token";
let token = sessionStorage.getItem(TOKEN_KEY) || "";

/** The access token of this tab ("" when not signed in). */
export function currentToken() {
  return token;
}

/** Keeps (or, given "", forgets) the access token for this tab. */
export function setToken(value) {
  token = value || "";
  if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
}

/** Words for a failed answer: the server's own reason where it gave one, else the status in words. */
export function reason(status, body, statusText) {
  if (typeof body.detail === "string" && body.detail) return body.detail;
  const word = t(`http_${status}`);
  return word === `http_${status}` ? statusText || String(status) : word;
}

/**
 * Calls the API and answers the JSON body, its ETag as body.__etag.
 * options: fetch's, plus json (sent as the body) and ifMatch (sent as If-Match).
 * A failed answer throws an Error in words with status, body and etag.
 */
export async function api(url, options) {
  const { json, ifMatch, ...opts } = Object.assign({ headers: {} }, options || {});
  opts.headers = Object.assign({ Accept: "application/json" }, opts.headers);
  if (token && !opts.headers.Authorization) opts.headers.Authorization = `Bearer ${token}`;
  if (ifMatch !== undefined) opts.headers["If-Match"] = ifMatch;
  if (json !== undefined) { opts.body = JSON.stringify(json); opts.headers["Content-Type"] = "application/json"; }
  let res;
  try {
    res = await fetch(url, opts);
  } catch (cause) {
    throw Object.assign(new Error(t("network")), { status: 0, body: {}, etag: null, cause });
  }
  const body = res.status === 204 ? {} : await res.json().catch(() => ({}));
  if (!res.ok) {
    throw Object.assign(new Error(reason(res.status, body, res.statusText)), { status: res.status, body, etag: res.headers.get("ETag") });
  }
  body.__etag = res.headers.get("ETag");
  return body;
}

/** Like api(), but answers fallback instead of throwing when the call fails. */
export function apiOr(url, fallback) {
  return api(url).catch(() => fallback);
}

/** An empty GeoJSON FeatureCollection, the answer of a layer that could not be read. */
export const EMPTY = Object.freeze({ type: "FeatureCollection", features: [] });
