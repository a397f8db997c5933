// The queue of what the phone has to send: items kept in IndexedDB, each with the key that is
// also its Idempotency-Key, so sending one twice (after an answer was lost) stores it once.
// States: waiting → sending → (removed when the server took it) or refused (kept, in words,
// until the person deletes it).
import * as store from "./store.js";

/**
 * The queue: add/list/onChange/onSend of the app object, and what the sync engine and the
 * waiting list need (handler, mark, finish, refuse, drop, answer).
 */
export function makeQueue() {
  const handlers = new Map();
  const listeners = [];
  const added = [];
  let last = 0;
  let current = [];

  async function changed() {
    current = await store.items();
    listeners.forEach((fn) => { try { fn(current); } catch (e) { console.error(e); } });
  }

  /** Queues an item; a key already queued keeps the first item (adding is idempotent too). */
  async function add({ kind, key, label, payload, after }) {
    if (!kind || !key) throw new Error("a queued item needs a kind and a key");
    if (await store.item(key)) return key;
    last = Math.max(Date.now() * 1000, last + 1);
    await store.putItem({ kind, key, label: label || "", payload: payload === undefined ? null : payload,
      after: after || null, state: "waiting", seq: last, created_at: new Date().toISOString(), tries: 0,
      refused: null });
    await changed();
    added.forEach((fn) => fn());
    return key;
  }

  /** Every item still on the phone, oldest first. */
  function list() {
    return store.items();
  }

  /** Calls fn(items) after every change (and once at once). */
  function onChange(fn) {
    listeners.push(fn);
    store.items().then((all) => fn(all));
  }

  /** Who sends items of kind: fn(item, app) → "done" | "retry" | {refused: {code, detail}}. */
  function onSend(kind, fn) {
    handlers.set(kind, fn);
  }

  async function mark(key, changes) {
    const it = await store.item(key);
    if (!it) return;
    await store.putItem(Object.assign(it, changes));
    await changed();
  }

  /** An item left "sending" by a page that closed mid-send is waiting again. */
  async function recover() {
    const all = await store.items();
    last = all.reduce((m, i) => Math.max(m, i.seq), 0);
    await Promise.all(all.filter((i) => i.state === "sending").map((i) => store.putItem(Object.assign(i, { state: "waiting" }))));
    await changed();
  }

  /** Removes a person's deleted item with every item waiting on it (a report's photos). */
  async function drop(key) {
    const all = await store.items();
    const gone = new Set([key]);
    let grew = true;
    while (grew) {
      grew = false;
      all.forEach((i) => { if (i.after && gone.has(i.after) && !gone.has(i.key)) { gone.add(i.key); grew = true; } });
    }
    await store.dropItems([...gone]);
    await changed();
    return gone.size;
  }

  return {
    add, list, onChange, onSend,
    handler: (kind) => handlers.get(kind),
    onAdded: (fn) => added.push(fn),
    mark,
    finish: async (key, answer) => { await store.finishItem(key, answer); await changed(); },
    refuse: (key, refused) => mark(key, { state: "refused", refused }),
    drop, recover,
    answer: (key) => store.answer(key),
    current: () => current,
  };
}
