// What the patrol, visit and task senders share: keys for queued items, and what a failed
// call means for the queue (send again later, or refused for good with the server's words).

/** A new random key (a UUID): a patrol's key, a visit's or a photo's Idempotency-Key. */
export function newKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Answers that may succeed when sent again as they are: no network, a server or database
// that is down or busy, a token the person may still fix by signing in again.
const AGAIN = new Set([0, 401, 408, 425, 429]);

/** What the queue does with an item whose call threw error: "retry" or {refused: {code, detail}}. */
export function outcome(error) {
  const status = Number(error && error.status) || 0;
  if (AGAIN.has(status) || status >= 500) return "retry";
  const body = (error && error.body) || {};
  return { refused: { code: body.code || (error && error.code) || `http_${status}`, detail: body.detail || String(error && error.message) } };
}

/** Calls send() and answers "done", or what its failure means for the queue. */
export async function attempt(send) {
  try {
    await send();
    return "done";
  } catch (e) {
    return outcome(e);
  }
}

/** The time now as the server takes it (ISO 8601 with the zone). */
export function nowIso() {
  return new Date().toISOString();
}
