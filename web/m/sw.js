// The phone page's service worker: keeps the shell (page, modules, styles, vendored libraries,
// icons) so /m/ opens with no network after one visit. API answers are never cached here: the
// page keeps the field pack and the queue in IndexedDB itself.
const VERSION = "gridmap-m-4";
const SHELL = [
  "/m/", "/m/index.html", "/m/app.js", "/m/app.css", "/m/manifest.webmanifest",
  "/m/icons/icon-192.png", "/m/icons/icon-512.png", "/m/icons/icon-maskable-512.png",
  "/m/lib/api.js", "/m/lib/store.js", "/m/lib/queue.js", "/m/lib/sync.js", "/m/lib/signin.js",
  "/m/lib/home.js", "/m/lib/report.js", "/m/lib/photo.js", "/m/lib/map.js", "/m/lib/grid_of.js",
  "/m/lib/waiting.js", "/m/lib/features.js",
  "/m/lib/patrol.js", "/m/lib/track.js", "/m/lib/visit.js", "/m/lib/tasks.js",
  "/m/lib/fieldsend.js", "/m/lib/fieldui.js",
  "/lib/i18n.js", "/lib/dom.js", "/lib/words.js", "/lib/text/zh.js", "/lib/text/en.js",
  "/lib/text/phone_zh.js", "/lib/text/phone_en.js", "/lib/text/field_zh.js", "/lib/text/field_en.js",
  "/lib/text/lists_zh.js", "/lib/text/lists_en.js",
  "/lib/text/teams_zh.js", "/lib/text/teams_en.js", "/lib/text/org_zh.js", "/lib/text/org_en.js",
  "/lib/text/errors_org_zh.js", "/lib/text/errors_org_en.js",
  "/lib/text/errors_partition_zh.js", "/lib/text/errors_partition_en.js",
  "/lib/text/errors_ogc_zh.js", "/lib/text/errors_ogc_en.js",
  "/lib/text/public_zh.js", "/lib/text/public_en.js",
  "/lib/text/view3d_zh.js", "/lib/text/view3d_en.js",
  "/vendor/leaflet/leaflet.js", "/vendor/leaflet/leaflet.css", "/vendor/idb/umd.js",
];
// Files the shell fetches besides SHELL (a feature's own module) are kept as they pass.
const KEPT = ["/m/", "/lib/", "/vendor/"];

self.addEventListener("install", (event) => {
  // One file missing (a feature not installed) must not stop the rest from being kept.
  event.waitUntil(caches.open(VERSION).then((cache) => Promise.allSettled(SHELL.map((u) => cache.add(u))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

/** The network's answer (kept for next time), or the kept copy when the network fails. */
async function networkFirst(request) {
  const cache = await caches.open(VERSION);
  try {
    const fresh = await fetch(request);
    if (fresh.ok) cache.put(request, fresh.clone());
    return fresh;
  } catch (e) {
    const kept = await cache.match(request, { ignoreSearch: true });
    if (kept) return kept;
    if (request.mode === "navigate") {
      const page = await cache.match("/m/");
      if (page) return page;
    }
    throw e;
  }
}

self.addEventListener("fetch", (event) => {
  const u = new URL(event.request.url);
  if (event.request.method !== "GET" || u.origin !== self.location.origin) return;
  if (u.pathname.startsWith("/api/")) return;
  if (!KEPT.some((p) => u.pathname.startsWith(p))) return;
  event.respondWith(networkFirst(event.request));
});
