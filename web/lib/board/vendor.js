// Vendored libraries the board needs only later (the map of an incident, the assessment chart):
// loaded on first use, so the queues paint without waiting for them.
const loading = new Map();

/** Loads a classic script once; resolves when it ran. */
export function script(src) {
  if (!loading.has(src)) {
    loading.set(src, new Promise((resolve, reject) => {
      const tag = document.createElement("script");
      tag.src = src;
      tag.onload = () => resolve();
      tag.onerror = () => { loading.delete(src); reject(new Error(`cannot load ${src}`)); };
      document.head.append(tag);
    }));
  }
  return loading.get(src);
}

/** Leaflet (window.L). */
export const leaflet = () => (window.L ? Promise.resolve() : script("vendor/leaflet/leaflet.js"));
/** Chart.js (window.Chart). */
export const chartjs = () => (window.Chart ? Promise.resolve() : script("vendor/chartjs/chart.umd.js"));
