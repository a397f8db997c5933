// Sending the queue: on the `online` event, on a timer while anything waits, after each new item
// and on demand. Items go oldest first; one whose `after` item is still queued waits for it, and
// one kind stops for the pass at its first failure, so a chain never overtakes itself. While the
// sign-in has ended (a 401), nothing is sent: every item stays queued for the next sign-in.

const EVERY_MS = 20_000;

/**
 * What a failed call means for its item: no network, a 5xx, a 401 (sign in again), 408 or 429
 * are tried again later; any other 4xx will never succeed and is refused with the server's code.
 */
export function outcomeOf(e) {
  const s = e && typeof e.status === "number" ? e.status : 0;
  if (s === 0) return "offline";
  if (s >= 500 || s === 401 || s === 408 || s === 425 || s === 429) return "retry";
  const b = e.body || {};
  return { refused: { code: b.code || `http_${s}`, detail: typeof b.detail === "string" ? b.detail : "", status: s } };
}

/**
 * The sync engine of queue for app: { kick(), start(), running() }. paused() says whether
 * sending is held (the sign-in has ended); it is asked before each item.
 */
export function makeSync(queue, app, { paused = () => false } = {}) {
  let pass = null;
  let again = false;

  async function once() {
    const items = await queue.list();
    const queued = new Set(items.map((i) => i.key));
    const stopped = new Set();
    for (const item of items) {
      if (paused()) break;
      if (item.state === "refused") continue;
      if (item.after && queued.has(item.after)) continue;
      if (stopped.has(item.kind)) continue;
      const send = queue.handler(item.kind);
      if (!send) continue;
      await queue.mark(item.key, { state: "sending" });
      let outcome;
      try {
        outcome = await send(item, app);
      } catch (e) {
        outcome = outcomeOf(e);
      }
      if (outcome === "done") {
        await queue.finish(item.key, item.answer);
        queued.delete(item.key);
      } else if (outcome && outcome.refused) {
        await queue.refuse(item.key, outcome.refused);
      } else {
        await queue.mark(item.key, { state: "waiting", tries: (item.tries || 0) + 1, tried_at: new Date().toISOString() });
        stopped.add(item.kind);
        if (outcome === "offline") break;
      }
    }
  }

  /** Starts a pass now (or one more right after the pass under way). */
  function kick() {
    if (pass) { again = true; return pass; }
    pass = once().catch((e) => console.error(e)).finally(() => {
      pass = null;
      if (again) { again = false; kick(); }
    });
    return pass;
  }

  /** Sends on `online`, every 20 s while anything waits, and right after each new item. */
  function start() {
    window.addEventListener("online", () => kick());
    setInterval(() => {
      if (queue.current().some((i) => i.state === "waiting")) kick();
    }, EVERY_MS);
    queue.onAdded(() => kick());
    kick();
  }

  return { kick, start, running: () => pass !== null };
}
