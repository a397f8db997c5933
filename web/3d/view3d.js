// The 2.5-D view (/3d): MapLibre GL over gridmap's own vector tiles, buildings raised by their
// floors, grids filled and labelled, roads beneath; a click on a grid shows what it is.
import * as maplibregl from "../vendor/maplibre/maplibre-gl.mjs";
import { API, api, apiOr } from "../lib/api.js";
import { card, el } from "../lib/dom.js";
import { language, onLanguage, t, toggleLanguage, translatePage } from "../lib/i18n.js";
import { word } from "../lib/words.js";
import { DEFAULT_FLOORS, GRID_PALETTE, HEIGHTS, KIND_COLOURS, NO_GRID, buildingColour, style3d } from "./style.js";

const START_PITCH = 55;
const START_BEARING = -20;

/** The [west, south, east, north] of a GeoJSON geometry. */
export function bboxOf(geometry) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === "number") {
      box[0] = Math.min(box[0], c[0]); box[1] = Math.min(box[1], c[1]);
      box[2] = Math.max(box[2], c[0]); box[3] = Math.max(box[3], c[1]);
    } else c.forEach(walk);
  };
  walk(geometry.coordinates);
  return box;
}

/** Runs the view on a page that has one (a module may be imported elsewhere, by tests). */
function view3dPage() {
  const $ = (id) => document.getElementById(id);
  const say = (text) => { $("status").textContent = text; };
  const communityNames = new Map();
  let regionName = "";
  let shown = null;

  new ResizeObserver(() => {
    document.documentElement.style.setProperty("--bar-h", `${$("bar").offsetHeight}px`);
  }).observe($("bar"));

  function legendRow(swatch, text) {
    return el("div", {}, [swatch, el("span", {}, [text])]);
  }

  function renderLegend() {
    const by = document.querySelector("input[name=colour-by]:checked").value;
    const box = (colour) => el("span", { class: "swatch", style: `background:${colour}` });
    const rows = [el("h4", {}, [t("v3_legend")])];
    if (by === "grid") {
      rows.push(legendRow(el("span", {}, GRID_PALETTE.slice(0, 5).map(box)), t("v3_grid_colours")));
      rows.push(legendRow(box(NO_GRID), t("v3_no_grid")));
    } else {
      HEIGHTS.forEach(([a, colour], i) => {
        const next = HEIGHTS[i + 1];
        const text = next ? t("v3_floors", { a, b: next[0] - 1 }) : t("v3_floors_more", { a: a - 1 });
        rows.push(legendRow(box(colour), text));
      });
      rows.push(legendRow(el("span", {}, []), t("v3_floors_unknown", { n: DEFAULT_FLOORS })));
    }
    Object.entries(KIND_COLOURS).forEach(([kind, colour]) => {
      rows.push(legendRow(el("span", { class: "swatch", style: `background:${colour}33;border-color:${colour}` }), word("grid_kind", kind)));
    });
    rows.push(legendRow(el("span", { class: "line", style: "border-color:#b5ad9f" }), t("v3_roads")));
    $("legend").replaceChildren(...rows);
  }

  function renderText() {
    translatePage();
    $("lang-btn").textContent = language() === "zh" ? "English" : "中文";
    $("map3d").setAttribute("aria-label", t("v3_map_label"));
    $("panel-close").setAttribute("aria-label", t("v3_close"));
    document.title = `gridmap ${t("v3_title")}`;
    $("region-title").textContent = regionName ? `${regionName} · ${t("v3_title")}` : t("v3_title");
    renderLegend();
    if (shown) showGrid(shown);
    if (document.body.dataset.ready === "true") say(t("v3_ready", { name: regionName }));
  }

  async function communityName(code) {
    if (!code) return "";
    if (!communityNames.has(code)) {
      const region = await apiOr(`${API}/regions/${encodeURIComponent(code)}`, null);
      communityNames.set(code, region && region.properties ? region.properties.name : code);
    }
    return communityNames.get(code);
  }

  function showGrid(props) {
    shown = props;
    const pairs = [
      [t("v3_grid_code"), props.code],
      [t("v3_grid_name"), props.name],
      [t("v3_community"), props.community || props.community_code],
      [t("v3_kind"), word("grid_kind", props.kind)],
    ];
    if (props.kind === "exclusive" && props.subtype) pairs.push([t("v3_subtype"), word("subtype", props.subtype)]);
    const body = card(`${t("v3_grid")} ${props.code}`, pairs);
    body.dataset.code = props.code;
    $("panel-body").replaceChildren(body);
    $("panel").hidden = false;
  }

  const map = new maplibregl.Map({
    container: "map3d",
    style: { version: 8, sources: {}, layers: [] },
    center: [116.35, 39.99],
    zoom: 14,
    pitch: START_PITCH,
    bearing: START_BEARING,
    maxPitch: 85,
    attributionControl: false,
    // Chinese characters are drawn with the browser's font; gridmap's glyphs hold the rest.
    localIdeographFontFamily: "'WenQuanYi Micro Hei', 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif",
  });
  map.addControl(new maplibregl.NavigationControl({ visualizePitch: true }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
  map.addControl(new maplibregl.AttributionControl({ compact: true, customAttribution: "© OpenStreetMap contributors" }));

  const syncControls = () => {
    const pitch = Math.round(map.getPitch());
    const bearing = Math.round(map.getBearing());
    $("pitch").value = String(pitch); $("pitch-out").textContent = `${pitch}°`;
    $("bearing").value = String(bearing); $("bearing-out").textContent = `${bearing}°`;
  };
  map.on("move", syncControls);
  $("pitch").addEventListener("input", (e) => map.setPitch(Number(e.target.value)));
  $("bearing").addEventListener("input", (e) => map.setBearing(Number(e.target.value)));
  $("reset-view").addEventListener("click", () => map.easeTo({ pitch: 0, bearing: 0 }));
  $("tilt-view").addEventListener("click", () => map.easeTo({ pitch: START_PITCH, bearing: START_BEARING }));
  document.querySelectorAll("input[name=colour-by]").forEach((r) => r.addEventListener("change", () => {
    map.setPaintProperty("buildings-3d", "fill-extrusion-color", buildingColour(r.value));
    renderLegend();
  }));
  $("panel-close").addEventListener("click", () => {
    $("panel").hidden = true; shown = null;
    map.setFilter("grids-selected", ["==", ["get", "code"], ""]);
  });
  $("lang-btn").addEventListener("click", toggleLanguage);
  onLanguage(renderText);

  map.on("click", async (e) => {
    const hit = map.queryRenderedFeatures(e.point, { layers: ["grids-fill"] })[0];
    if (!hit) { $("panel").hidden = true; shown = null; return; }
    const props = { ...hit.properties };
    map.setFilter("grids-selected", ["==", ["get", "code"], props.code]);
    showGrid(props);
    props.community = await communityName(props.community_code);
    if (shown && shown.code === props.code) showGrid(props);
  });
  map.on("mousemove", (e) => {
    const over = map.queryRenderedFeatures(e.point, { layers: ["grids-fill"] }).length > 0;
    map.getCanvas().style.cursor = over ? "pointer" : "";
  });

  async function start() {
    renderText();
    say(t("v3_loading"));
    const config = await apiOr(`${API}/map-config`, {});
    const code = config.start_region || "110108010";
    const region = await api(`${API}/regions/${encodeURIComponent(code)}`);
    regionName = region.properties.name;
    renderText();
    const origin = window.location.origin;
    const tiles = Object.fromEntries(["roads", "grids", "buildings"].map((l) => [l, `${origin}/tiles/${l}.json`]));
    map.setStyle(style3d(origin, tiles, "height"));
    const [w, s, e, n] = bboxOf(region.geometry);
    map.fitBounds([[w, s], [e, n]], { padding: 20, pitch: START_PITCH, bearing: START_BEARING, duration: 0 });
    await map.once("idle");
    syncControls();
    say(t("v3_ready", { name: regionName }));
    // A handle for tests and scripts reading the map's state.
    window.gridmap3d = { map };
    document.body.dataset.ready = "true";
  }

  start().catch((e) => { say(t("v3_load_failed", { m: e.message })); document.body.dataset.ready = "error"; });
}

if (document.getElementById("map3d")) view3dPage();
