// What the phone keeps on the device, in IndexedDB (through idb's UMD build, window.idb): the
// queue of items to send, the answers of sent items later items need, and small values (the
// field pack, the signed-in person).

const DB_NAME = "gridmap-m";
const DB_VERSION = 1;
let opened = null;

/** The page's database, opened once (stores: queue by key, answers by key, kv). */
export function db() {
  if (!opened) {
    opened = window.idb.openDB(DB_NAME, DB_VERSION, {
      upgrade(d) {
        d.createObjectStore("queue", { keyPath: "key" });
        d.createObjectStore("answers");
        d.createObjectStore("kv");
      },
    });
  }
  return opened;
}

/** The value kept under key (undefined when none). */
export async function getValue(key) {
  return (await db()).get("kv", key);
}

/** Keeps value under key. */
export async function setValue(key, value) {
  await (await db()).put("kv", value, key);
}

/** Forgets the value under key. */
export async function dropValue(key) {
  await (await db()).delete("kv", key);
}

/** Every queued item, oldest first. */
export async function items() {
  const all = await (await db()).getAll("queue");
  return all.sort((a, b) => a.seq - b.seq);
}

/** The queued item of key (undefined when none). */
export async function item(key) {
  return (await db()).get("queue", key);
}

/** Stores item (a new one, or a change of state of one queued). */
export async function putItem(value) {
  await (await db()).put("queue", value);
}

/** Removes the item of key and keeps its answer (when given) in one transaction. */
export async function finishItem(key, answer) {
  const tx = (await db()).transaction(["queue", "answers"], "readwrite");
  tx.objectStore("queue").delete(key);
  if (answer !== undefined) tx.objectStore("answers").put(answer, key);
  await tx.done;
}

/** Removes the items of keys without an answer (a person deleted them). */
export async function dropItems(keys) {
  const tx = (await db()).transaction("queue", "readwrite");
  keys.forEach((k) => tx.store.delete(k));
  await tx.done;
}

/** The answer the server gave to the sent item of key (undefined when none is kept). */
export async function answer(key) {
  return (await db()).get("answers", key);
}

/** Empties every store (signing out). */
export async function clearAll() {
  const tx = (await db()).transaction(["queue", "answers", "kv"], "readwrite");
  await Promise.all([tx.objectStore("queue").clear(), tx.objectStore("answers").clear(),
    tx.objectStore("kv").clear(), tx.done]);
}
