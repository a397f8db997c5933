// gridmap browser map: layers of the district, lookups, search, and grid editing with a token.
(function () {
  "use strict";

  const API = "/api/v1";
  const TEXT = window.GRIDMAP_TEXT;
  let lang = localStorage.getItem("gridmap.lang") === "en" ? "en" : "zh";
  const ROLE = { zh: { leader: "网格长", worker: "网格员", guide: "指导员", police: "社区民警",
                       mediator: "调解员", safety: "安全员", volunteer: "志愿者" }, en: {} };
  const STATE_COLOUR = { reported: "#9e9e9e", accepted: "#1e88e5", dispatched: "#3949ab",
    handling: "#fb8c00", resolved: "#43a047", closed: "#2e7d32", evaluated: "#1b5e20",
    returned: "#e53935", extended: "#8e24aa", parked: "#6d4c41", cancelled: "#bdbdbd" };
  const LIST_COLOUR = { resource: "#00897b", need: "#d81b60", project: "#5e35b1" };
  const statusEl = document.getElementById("status");
  const panel = document.getElementById("panel");
  const panelBody = document.getElementById("panel-body");

  function t(key, vars) {
    let s = (TEXT[lang] && TEXT[lang][key]) || TEXT.zh[key] || key;
    Object.entries(vars || {}).forEach(([k, v]) => { s = s.split(`{${k}}`).join(String(v)); });
    return s;
  }
  function say(text) { statusEl.textContent = text; }

  // DOM from data with textContent only: names from the data are never parsed as HTML.
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
    });
    (children || []).forEach((c) => { if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c))); });
    return node;
  }
  function rows(pairs) {
    return el("table", {}, pairs.filter((p) => p[1] !== null && p[1] !== undefined && p[1] !== "")
      .map(([k, v]) => el("tr", {}, [el("td", {}, [k]), el("td", {}, [v])])));
  }
  function showPanel(children) {
    panelBody.replaceChildren(...children);
    panel.hidden = false;
  }
  document.getElementById("panel-close").addEventListener("click", () => { panel.hidden = true; });

  // --- HTTP ---------------------------------------------------------------------------------
  let token = sessionStorage.getItem("gridmap.token") || "";
  async function api(url, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers = Object.assign({ Accept: "application/json" }, opts.headers);
    if (token) opts.headers.Authorization = `Bearer ${token}`;
    if (opts.json !== undefined) { opts.body = JSON.stringify(opts.json); opts.headers["Content-Type"] = "application/json"; }
    const res = await fetch(url, opts);
    const body = res.status === 204 ? {} : await res.json().catch(() => ({}));
    if (!res.ok) {
      const e = new Error(body.detail || res.statusText);
      e.status = res.status; e.body = body; e.etag = res.headers.get("ETag");
      throw e;
    }
    body.__etag = res.headers.get("ETag");
    return body;
  }

  // --- GCJ-02: overlays follow an AMap/Tencent base map ---------------------------------------
  let gcj = false;
  function outOfChina(lon, lat) { return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271; }
  function gcjDelta(lon, lat) {
    const a = 6378245.0, ee = 0.00669342162296594323, x = lon - 105.0, y = lat - 35.0;
    let dLat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    dLat += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    dLat += (20 * Math.sin(y * Math.PI) + 40 * Math.sin(y / 3 * Math.PI)) * 2 / 3;
    dLat += (160 * Math.sin(y / 12 * Math.PI) + 320 * Math.sin(y * Math.PI / 30)) * 2 / 3;
    let dLon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    dLon += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    dLon += (20 * Math.sin(x * Math.PI) + 40 * Math.sin(x / 3 * Math.PI)) * 2 / 3;
    dLon += (150 * Math.sin(x / 12 * Math.PI) + 300 * Math.sin(x / 30 * Math.PI)) * 2 / 3;
    const rad = lat / 180 * Math.PI, magic = 1 - ee * Math.sin(rad) ** 2, sq = Math.sqrt(magic);
    return [(dLon * 180) / (a / sq * Math.cos(rad) * Math.PI), (dLat * 180) / ((a * (1 - ee)) / (magic * sq) * Math.PI)];
  }
  function toView(lon, lat) {
    if (!gcj || outOfChina(lon, lat)) return L.latLng(lat, lon);
    const [dx, dy] = gcjDelta(lon, lat); return L.latLng(lat + dy, lon + dx);
  }
  function fromView(ll) {
    if (!gcj || outOfChina(ll.lng, ll.lat)) return [ll.lng, ll.lat];
    let lon = ll.lng, lat = ll.lat;
    for (let i = 0; i < 8; i++) { const v = toView(lon, lat); lon += ll.lng - v.lng; lat += ll.lat - v.lat; }
    return [lon, lat];
  }
  const geo = (options) => L.geoJSON(null, Object.assign({ coordsToLatLng: (c) => toView(c[0], c[1]) }, options));
  function geometryOf(layer) {
    const g = layer.toGeoJSON().geometry;
    const back = (ring) => ring.map(([x, y]) => fromView(L.latLng(y, x)));
    if (g.type === "Polygon") return { type: "Polygon", coordinates: g.coordinates.map(back) };
    if (g.type === "MultiPolygon") return { type: "MultiPolygon", coordinates: g.coordinates.map((p) => p.map(back)) };
    return g;
  }

  // --- the map and its layers ---------------------------------------------------------------
  const map = L.map("map", { zoomControl: true, maxZoom: 19 }).setView([40.0, 116.35], 14);
  map.attributionControl.addAttribution("数据 © OpenStreetMap 贡献者 (ODbL) · adcode (CC BY 4.0)");
  const ignore = { pmIgnore: true };
  const streets = geo(Object.assign({ style: { color: "#333", weight: 2.5, fill: false }, interactive: false }, ignore));
  const communities = geo({ style: { color: "#6a1b9a", weight: 1.5, dashArray: "5 4", fill: false }, interactive: false, snapIgnore: false });
  const problems = geo(Object.assign({ style: { color: "#d50000", weight: 2, fillColor: "#ff1744", fillOpacity: 0.5 } }, ignore));
  const errors = geo(Object.assign({ style: { color: "#d50000", weight: 3, fillColor: "#ff1744", fillOpacity: 0.6 } }, ignore));
  const highlight = geo(Object.assign({ style: { color: "#ffd600", weight: 5, fill: false }, interactive: false }, ignore));
  const circles = geo(Object.assign({ style: (f) => ({ color: "#2e7d32", weight: 1, fillColor: "#66bb6a", fillOpacity: 0.12, dashArray: f.properties.method === "buffer" ? "4 4" : null }) }, ignore));
  const centers = geo(Object.assign({ pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 7, color: "#b71c1c", fillColor: "#ffeb3b", fillOpacity: 1, weight: 2 }) }, ignore));
  const uncovered = geo(Object.assign({ style: { color: "#d50000", weight: 1, fillColor: "#ff5252", fillOpacity: 0.7 } }, ignore));
  const designated = geo(Object.assign({ pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 6, color: "#c62828", fillColor: "#ffcdd2", fillOpacity: 1, weight: 2 }) }, ignore));
  const served = geo(Object.assign({ pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 4, color: f.properties.cross_grid ? "#ff6f00" : "#c62828", weight: 1, fillOpacity: 0.6 }) }, ignore));
  const incidents = L.markerClusterGroup({ pmIgnore: true, maxClusterRadius: 45 });
  const lists = geo(Object.assign({ pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 6, color: "#fff", weight: 1.5, fillColor: LIST_COLOUR[f.properties.list] || "#777", fillOpacity: 1 }) }, ignore));
  const gridStyle = (f) => f.properties.kind === "exclusive"
    ? { color: "#e65100", weight: 1, fillColor: "#ffa726", fillOpacity: 0.3 }
    : { color: "#1565c0", weight: 1, fillColor: "#42a5f5", fillOpacity: 0.2 };
  const grids = geo({ style: gridStyle, onEachFeature: bindGrid });
  const gridLayers = new Map();
  let buildings = null;

  function bindGrid(f, layer) {
    const p = f.properties;
    gridLayers.set(p.code, layer);
    // A DOM node, not a string: Leaflet would read a string as HTML.
    layer.bindTooltip(el("span", {}, [`${p.code.slice(-3)} ${p.name}`]), { permanent: true, direction: "center", className: "grid-label" });
    layer.on("click", (ev) => { L.DomEvent.stopPropagation(ev); showLookup(ev.latlng); });
  }
  function setGridLabels() {
    const show = map.getZoom() >= 15;
    grids.eachLayer((layer) => { if (layer.getTooltip()) { if (show) layer.openTooltip(); else layer.closeTooltip(); } });
  }
  map.on("zoomend", setGridLabels);

  // --- figures of a grid ----------------------------------------------------------------------
  const figureCache = new Map();
  async function communityFigures(community) {
    if (!figureCache.has(community)) {
      figureCache.set(community, Promise.all([
        api(`${API}/households/summary?region=${community}`).catch(() => ({ grids: [] })),
        api(`${API}/coverage?region=${community}`).catch(() => ({ grids: [] })),
        api(`${API}/stats/incidents?region=${community}&group_by=grid`).catch(() => ({ groups: [] })),
      ]));
    }
    const [hh, cov, stats] = await figureCache.get(community);
    return { hh, cov, stats };
  }
  const pct = (x) => (x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`);

  async function gridFigures(code) {
    const { hh, cov, stats } = await communityFigures(code.slice(0, 12));
    const h = (hh.grids || []).find((g) => g.grid === code) || {};
    const c = (cov.grids || []).find((g) => g.code === code) || {};
    const s = (stats.groups || []).find((g) => g.grid === code) || {};
    const open = s.total !== undefined ? s.total - (s.closed || 0) - ((s.by_state || {}).cancelled || 0) : 0;
    const items = await api(`${API}/lists?grid=${code}&limit=50`).catch(() => ({ features: [] }));
    return el("div", {}, [
      rows([[t("households"), h.households ?? c.households ?? 0], [t("designated_n"), h.designated ?? 0],
            [t("coverage_share"), pct(c.share)], [t("open_incidents"), open], [t("on_time"), pct(s.on_time_rate)]]),
      el("div", { class: "muted" }, [t("lists_of_grid")]),
      el("ul", { class: "items" }, items.features.length
        ? items.features.map((f) => el("li", {}, [el("b", { style: `color:${LIST_COLOUR[f.properties.list]}` }, [t(f.properties.list)]), " ", f.properties.title, ` · ${f.properties.status}`]))
        : [el("li", {}, [t("none")])]),
    ]);
  }

  function lookupPopup(data) {
    const g = data.grid;
    const kind = g.kind === "exclusive" ? `${t("exclusive")}（${g.subtype || ""}）` : t("basic");
    const team = (data.team || []).map((m) => `${(ROLE[lang] || {})[m.role] || m.role} ${m.name} ${m.phone || ""}`);
    const box = el("div", { class: "popup", "data-grid": g.code }, [
      el("h3", {}, [g.name]),
      rows([[t("grid_code"), g.code], [t("kind"), kind], [t("community"), data.community && `${data.community.name}（${data.community.code}）`],
            [t("street"), data.street && `${data.street.name}（${data.street.code}）`], [t("district"), data.district && data.district.name]]),
      el("div", { class: "muted" }, [t("team")]),
      el("div", {}, team.length ? team.map((x) => el("div", {}, [x])) : ["—"]),
    ]);
    const figures = el("div", { class: "figures" }, ["…"]);
    box.append(figures);
    gridFigures(g.code).then((node) => figures.replaceChildren(node)).catch(() => figures.replaceChildren());
    if (token) {
      box.append(el("div", { class: "actions" }, [
        el("button", { type: "button", class: "edit-grid", onclick: () => startEdit(g.code) }, [t("edit")]),
        el("button", { type: "button", class: "cut-grid", onclick: () => startCut(g.code) }, [t("cut")]),
        el("button", { type: "button", class: "delete-grid", onclick: () => deleteGrid(g.code) }, [t("delete")]),
        el("button", { type: "button", class: "history-grid", onclick: () => showHistory(g.code) }, [t("history")]),
      ]));
    }
    box.append(el("div", { class: "muted" }, [t("coords", { lon: data.point.lon.toFixed(6), lat: data.point.lat.toFixed(6) })]));
    return box;
  }

  async function showLookup(latlng) {
    const [lon, lat] = fromView(latlng);
    try {
      const data = await api(`${API}/lookup?lon=${lon.toFixed(7)}&lat=${lat.toFixed(7)}`);
      L.popup({ maxWidth: 360 }).setLatLng(latlng).setContent(lookupPopup(data)).openOn(map);
    } catch (e) {
      const b = e.body || {};
      const lines = [el("div", { class: "error" }, [e.status === 404 ? t("not_in_grid") : t("lookup_failed", { m: e.message })])];
      if (b.community) lines.push(el("div", {}, [`${t("community")}：${b.community.name}`]));
      if (b.street) lines.push(el("div", {}, [`${t("street")}：${b.street.name}`]));
      if (b.nearest_grid) lines.push(el("div", {}, [t("nearest_grid", { name: b.nearest_grid.name, code: b.nearest_grid.code, m: b.nearest_grid.distance_m })]));
      L.popup().setLatLng(latlng).setContent(el("div", { class: "popup" }, lines)).openOn(map);
    }
  }
  map.on("click", (ev) => { if (!editing) showLookup(ev.latlng); });

  // --- search -------------------------------------------------------------------------------
  function flyToGrid(code, feature) {
    highlight.clearLayers().addData(feature);
    highlight.addTo(map);
    map.flyToBounds(highlight.getBounds(), { maxZoom: 17, duration: 0.6 });
    document.body.dataset.highlight = code;
  }
  document.getElementById("search").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = document.getElementById("search-q").value.trim();
    if (!q) return;
    try {
      if (/^[0-9]{14,15}$/.test(q)) {
        const f = await api(`${API}/grids/${q}`);
        flyToGrid(q, f);
        say(t("found_grid", { code: q, name: f.properties.name }));
        return;
      }
      const found = await api(`${API}/lookup/address?q=${encodeURIComponent(q)}&limit=5`);
      const best = (found.candidates || [])[0];
      if (!best || !best.grid) { say(t("not_found", { q })); return; }
      const f = await api(`${API}/grids/${best.grid.code}`);
      flyToGrid(best.grid.code, f);
      say(`${best.building.address} → ${t("found_grid", { code: best.grid.code, name: best.grid.name })}`);
    } catch (e) {
      say(e.status === 404 ? t("not_found", { q }) : t("lookup_failed", { m: e.message }));
    }
  });

  // --- editing --------------------------------------------------------------------------------
  let editing = null;
  const etags = new Map();

  function editPanel(message, buttons, cls) {
    showPanel([el("div", { class: `message ${cls || ""}` }, [message]), el("div", { class: "actions" }, buttons)]);
  }
  function showRejection(e) {
    errors.clearLayers();
    const b = e.body || {};
    (b.overlaps || []).forEach((o) => errors.addData(o.geometry));
    if (b.outside) errors.addData(b.outside);
    errors.addTo(map);
    document.body.dataset.lastError = String(e.status);
    return t("rejected", { m: e.message });
  }
  async function reloadGrid(code) {
    const f = await api(`${API}/grids/${code}`);
    etags.set(code, f.__etag);
    const old = gridLayers.get(code);
    if (old) grids.removeLayer(old);
    grids.addData(f);
    setGridLabels();
    return f;
  }
  function finishEdit() {
    if (editing && editing.layer && editing.layer.pm) editing.layer.pm.disable();
    editing = null;
    map.pm.disableDraw();
  }
  async function saveGrid(code, geometry, method, extra) {
    const headers = { "If-Match": etags.get(code) || "" };
    try {
      const f = await api(`${API}/grids/${code}`, { method, headers, json: Object.assign({ type: "Feature", geometry, properties: {} }, extra || {}) });
      errors.clearLayers();
      finishEdit();
      await reloadGrid(code);
      figureCache.clear();
      refreshTiles();
      editPanel(t("saved", { code, v: f.properties.version }), [], "ok");
      document.body.dataset.saved = code;
    } catch (e) {
      if (e.status === 412) {
        editPanel(t("stale", { etag: e.etag || "" }), [
          el("button", { type: "button", class: "reload-grid", onclick: async () => { finishEdit(); await reloadGrid(code); panel.hidden = true; } }, [t("reload")]),
        ], "error stale");
        document.body.dataset.lastError = "412";
        return;
      }
      editPanel(showRejection(e), [el("button", { type: "button", onclick: async () => { finishEdit(); errors.clearLayers(); await reloadGrid(code); panel.hidden = true; } }, [t("cancel")])], "error");
    }
  }
  async function startEdit(code) {
    map.closePopup();
    if (!etags.has(code)) await reloadGrid(code);
    const layer = gridLayers.get(code);
    layer.pm.enable({ snappable: true, snapDistance: 15, allowSelfIntersection: false });
    editing = { code, layer };
    editPanel(`${t("edit")} ${code}`, [
      el("button", { type: "button", class: "save-grid", onclick: () => saveGrid(code, geometryOf(layer), "PATCH") }, [t("save")]),
      el("button", { type: "button", onclick: async () => { finishEdit(); await reloadGrid(code); panel.hidden = true; } }, [t("cancel")]),
    ]);
  }
  async function startCut(code) {
    map.closePopup();
    if (!etags.has(code)) await reloadGrid(code);
    const layer = gridLayers.get(code);
    editing = { code, layer };
    map.pm.enableGlobalCutMode({ layersToCut: [layer], allowSelfIntersection: false });
    map.once("pm:cut", (e) => {
      map.pm.disableGlobalCutMode();
      editing = { code, layer: e.layer };
      saveGrid(code, geometryOf(e.layer), "PATCH");
    });
    editPanel(`${t("cut")} ${code}`, [el("button", { type: "button", onclick: () => { map.pm.disableGlobalCutMode(); finishEdit(); panel.hidden = true; } }, [t("cancel")])]);
  }
  async function deleteGrid(code) {
    map.closePopup();
    if (!window.confirm(t("confirm_delete", { code }))) return;
    if (!etags.has(code)) await reloadGrid(code);
    try {
      await api(`${API}/grids/${code}`, { method: "DELETE", headers: { "If-Match": etags.get(code) } });
      const old = gridLayers.get(code);
      if (old) grids.removeLayer(old);
      gridLayers.delete(code);
      refreshTiles();
      editPanel(t("deleted", { code }), [], "ok");
    } catch (e) {
      editPanel(e.status === 412 ? t("stale", { etag: e.etag || "" }) : t("rejected", { m: e.message }), [], "error");
    }
  }
  async function showHistory(code) {
    map.closePopup();
    const h = await api(`${API}/grids/${code}/history`);
    const current = h.features.length ? h.features[h.features.length - 1].properties.version : null;
    showPanel([el("h3", {}, [`${t("history")} ${code}`]), el("table", { class: "history" }, [
      el("tr", {}, [el("th", {}, [t("version")]), el("th", {}, [t("when")]), el("th", {}, [t("by")]), el("th", {}, [t("note")]), el("th", {}, [])]),
      ...h.features.slice().reverse().map((f) => {
        const p = f.properties;
        const restore = p.version !== current && f.geometry
          ? el("button", { type: "button", class: "restore-version", "data-version": String(p.version), onclick: async () => {
              await reloadGrid(code);
              saveGrid(code, f.geometry, "PATCH", { properties: { name: p.name, kind: p.kind, subtype: p.subtype } });
            } }, [t("restore")]) : "";
        return el("tr", {}, [el("td", {}, [p.version]), el("td", {}, [(p.valid_from || "").slice(0, 16).replace("T", " ")]),
                             el("td", {}, [p.changed_by || p.actor || ""]), el("td", {}, [p.note || ""]), el("td", {}, [restore])]);
      }),
    ])]);
  }
  map.on("pm:create", async (e) => {
    const layer = e.layer;
    const geometry = geometryOf(layer);
    const [lon, lat] = fromView(layer.getBounds().getCenter());
    let community = null;
    try { community = (await api(`${API}/lookup?lon=${lon}&lat=${lat}`)).community; }
    catch (err) { community = (err.body || {}).community; }
    const name = el("input", { id: "new-grid-name", maxlength: "100", value: community ? `${community.name}${t("new_grid")}` : "" });
    const kind = el("select", { id: "new-grid-kind" }, [el("option", { value: "basic" }, [t("basic")]), el("option", { value: "exclusive" }, [t("exclusive")])]);
    const cancel = () => { map.removeLayer(layer); errors.clearLayers(); panel.hidden = true; };
    const save = async () => {
      try {
        const f = await api(`${API}/grids`, { method: "POST", json: { type: "Feature", geometry,
          properties: { community_code: community && community.code, name: name.value.trim(), kind: kind.value } } });
        map.removeLayer(layer);
        errors.clearLayers();
        await reloadGrid(f.properties.code);
        figureCache.clear();
        refreshTiles();
        editPanel(t("saved", { code: f.properties.code, v: f.properties.version }), [], "ok");
        document.body.dataset.saved = f.properties.code;
      } catch (err) {
        map.removeLayer(layer);
        editPanel(showRejection(err), [], "error");
      }
    };
    showPanel([el("h3", {}, [t("new_grid_title", { community: community ? community.name : "—" })]),
      el("label", {}, [t("name"), " ", name]), el("label", {}, [" ", t("kind"), " ", kind]),
      el("div", { class: "actions" }, [el("button", { type: "button", class: "save-new-grid", onclick: save }, [t("save")]),
                                       el("button", { type: "button", onclick: cancel }, [t("cancel")])])]);
  });

  function setToken(value) {
    token = value || "";
    if (token) sessionStorage.setItem("gridmap.token", token); else sessionStorage.removeItem("gridmap.token");
    map.pm.removeControls();
    if (token) {
      map.pm.addControls({ position: "topleft", drawMarker: false, drawCircleMarker: false, drawPolyline: false,
        drawCircle: false, drawText: false, drawRectangle: true, drawPolygon: true, editMode: false,
        dragMode: false, cutPolygon: false, removalMode: false, rotateMode: false });
      map.pm.setGlobalOptions({ snappable: true, snapDistance: 15, allowSelfIntersection: false });
    }
    renderText();
  }
  document.getElementById("token-btn").addEventListener("click", () => {
    if (token) { setToken(""); return; }
    const value = window.prompt(t("token_prompt"));
    if (value) setToken(value.trim());
  });

  // --- lazily loaded layers -------------------------------------------------------------------
  let startRegion = "110108010";
  const loaded = new Set();
  const loaders = {
    problems: async () => {
      const cs = await api(`${API}/regions?level=community&parent=${startRegion}&limit=500&geometry=false`);
      await Promise.all(cs.features.filter((c) => c.properties.grid_count > 0).map(async (c) => {
        const r = await api(`${API}/regions/${c.properties.code}/coverage`).catch(() => null);
        if (r) { problems.addData(r.gaps); problems.addData(r.overlaps); problems.addData(r.outside); }
      }));
    },
    circles: async () => circles.addData(await api(`${API}/service-circles?region=${startRegion}`)),
    centers: async () => centers.addData(await api(`${API}/service-centers?region=${startRegion}&limit=1000`)),
    uncovered: async () => uncovered.addData(await api(`${API}/coverage/uncovered?region=${startRegion}`).catch(() => ({ type: "FeatureCollection", features: [] }))),
    designated: async () => designated.addData(await api(`${API}/households?designated=true&region=${startRegion}&limit=10000`)),
    incidents: async () => {
      const fc = await api(`${API}/incidents?region=${startRegion}&limit=10000`);
      incidents.addLayers(fc.features.map((f) => {
        const p = f.properties, [x, y] = f.geometry.coordinates;
        const m = L.circleMarker(toView(x, y), { radius: 7, weight: p.overdue ? 3 : 1, color: p.overdue ? "#d50000" : "#fff",
          fillColor: STATE_COLOUR[p.status] || "#777", fillOpacity: 0.95 });
        m.bindPopup(() => el("div", { class: "popup" }, [el("h3", {}, [`#${p.id} ${p.category}`]),
          rows([[t("state"), p.status], [t("severity"), p.severity], [t("grid_code"), p.grid_code], [t("overdue"), p.overdue ? "✔" : ""]])]));
        return m;
      }));
    },
    lists: async () => lists.addData(await api(`${API}/lists?region=${startRegion}&limit=10000`)),
  };
  const lazy = { problems, circles, centers, uncovered, designated, incidents, lists };
  map.on("overlayadd", (ev) => {
    const key = Object.keys(lazy).find((k) => lazy[k] === ev.layer);
    if (key && !loaded.has(key)) { loaded.add(key); loaders[key]().catch((e) => say(t("load_failed", { m: e.message }))); }
  });
  designated.on("click", async (ev) => {
    L.DomEvent.stopPropagation(ev);
    const p = ev.layer.feature.properties;
    const h = await api(`${API}/households/${p.id}`);
    served.clearLayers().addData(h.served || { type: "FeatureCollection", features: [] }).addTo(map);
    L.popup().setLatLng(ev.latlng).setContent(el("div", { class: "popup" }, [el("h3", {}, [`${t("designated")} #${p.id}`]),
      rows([[t("grid_code"), p.grid_code], ["", p.address], ["", t("serves", { n: p.serves })], ["", `${p.contact_name || ""} ${p.contact_phone || ""}`]])])).openOn(map);
  });
  lists.on("click", (ev) => {
    L.DomEvent.stopPropagation(ev);
    const p = ev.layer.feature.properties;
    L.popup().setLatLng(ev.latlng).setContent(el("div", { class: "popup" }, [el("h3", {}, [`${t(p.list)} · ${p.title}`]),
      rows([[t("category"), p.category], [t("state"), p.status], [t("grid_code"), p.grid_code], ["", p.owner_name], ["", `${p.contact_name || ""} ${p.contact_phone || ""}`]])])).openOn(map);
  });
  uncovered.on("click", (ev) => {
    L.DomEvent.stopPropagation(ev);
    const p = ev.layer.feature.properties;
    L.popup().setLatLng(ev.latlng).setContent(el("div", { class: "popup" }, [el("h3", {}, [p.address || p.code]),
      rows([[t("households"), p.households], ["", t("distance", { m: p.metres_to_nearest_circle })], [t("centers"), p.nearest_center]])])).openOn(map);
  });
  centers.on("click", (ev) => {
    L.DomEvent.stopPropagation(ev);
    const p = ev.layer.feature.properties;
    const c = (p.circles || []).map((x) => `${t("minutes", { n: x.minutes })} · ${x.method === "buffer" ? t("no_network") : x.method}`);
    L.popup().setLatLng(ev.latlng).setContent(el("div", { class: "popup" }, [el("h3", {}, [p.name]), rows([[t("kind"), p.kind], ["", p.opening_hours], [t("method"), c.join("; ")]])])).openOn(map);
  });

  // Roads from gridmap's own data: a background that needs no tile server.
  let roads = null;
  async function addRoads() {
    const meta = await api("/tiles/roads.json").catch(() => null);
    if (!meta || gcj || roads) return;
    const width = { primary: 3, secondary: 2.5, tertiary: 2, trunk: 3, motorway: 3.5, residential: 1.5 };
    roads = L.vectorGrid.protobuf(meta.tiles[0], {
      minZoom: meta.minzoom, maxNativeZoom: 18, interactive: false, pmIgnore: true, pane: "tilePane",
      vectorTileLayerStyles: { roads: (p) => ({ weight: width[p.highway] || 1, color: "#ffffff", opacity: 0.95 }) },
    });
    roads.addTo(map);
  }

  // Building tiles, their URL carrying the layer's version so an edit is never hidden by a cache.
  async function refreshTiles() {
    const meta = await api("/tiles/buildings.json").catch(() => null);
    if (!meta || gcj) return;
    if (buildings) { buildings.setUrl(meta.tiles[0]); return; }
    buildings = L.vectorGrid.protobuf(meta.tiles[0], {
      minZoom: meta.minzoom, maxNativeZoom: 18, interactive: false, pmIgnore: true,
      vectorTileLayerStyles: { buildings: { weight: 0.5, color: "#8d6e63", fill: true, fillColor: "#d7ccc8", fillOpacity: 0.8 } },
    });
    layersControl.addOverlay(buildings, t("buildings"));
    buildings.addTo(map);
  }

  // --- words, legend, language ------------------------------------------------------------------
  let layersControl = null;
  function overlays() {
    return [["streets", streets], ["communities", communities], ["grids", grids], ["problems", problems],
            ["circles", circles], ["centers", centers], ["uncovered", uncovered], ["designated", designated],
            ["incidents", incidents], ["lists", lists]];
  }
  function renderText() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-t]").forEach((n) => { n.textContent = t(n.dataset.t); });
    document.querySelectorAll("[data-tp]").forEach((n) => { n.placeholder = t(n.dataset.tp); });
    document.getElementById("lang-btn").textContent = lang === "zh" ? "English" : "中文";
    document.getElementById("token-btn").textContent = token ? t("sign_out") : t("sign_in");
    const sw = (cls, key) => el("div", {}, [el("i", { class: `sw ${cls}` }), t(key)]);
    document.getElementById("legend").replaceChildren(sw("street", "streets"), sw("community", "communities"), sw("basic", "basic"),
      sw("exclusive", "exclusive"), sw("problem", "problems"), sw("circle", "circles"), sw("uncovered", "uncovered"),
      el("div", {}, [el("i", { class: "dot", style: "background:#ffeb3b;border-color:#b71c1c" }), t("centers")]),
      el("div", {}, [el("i", { class: "dot", style: "background:#ffcdd2;border-color:#c62828" }), t("designated")]),
      el("div", {}, [el("i", { class: "dot", style: "background:#fb8c00" }), `${t("incidents")}（${t("overdue")}：`, el("i", { class: "dot", style: "border-color:#d50000;border-width:3px" }), "）"]),
      el("div", {}, ["resource", "need", "project"].flatMap((k) => [el("i", { class: "dot", style: `background:${LIST_COLOUR[k]}` }), t(k), " "])));
    if (layersControl) {
      const visible = new Set(overlays().filter(([, l]) => map.hasLayer(l)).map(([k]) => k));
      map.removeControl(layersControl);
      buildControl();
      overlays().forEach(([k, l]) => { if (visible.has(k) && !map.hasLayer(l)) l.addTo(map); });
    }
  }
  let baseLayers = null;
  function buildControl() {
    const o = {};
    overlays().forEach(([k, l]) => { o[t(k)] = l; });
    if (buildings) o[t("buildings")] = buildings;
    layersControl = L.control.layers(baseLayers, o, { collapsed: false }).addTo(map);
  }
  document.getElementById("lang-btn").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("gridmap.lang", lang);
    renderText();
  });

  async function start() {
    const t0 = performance.now();
    say(t("loading"));
    const config = await api(`${API}/map-config`).catch(() => ({}));
    startRegion = config.start_region || startRegion;
    if (config.tile_url) {
      gcj = config.tile_crs === "GCJ-02";
      const base = L.tileLayer(config.tile_url, { attribution: config.tile_attribution || "", maxZoom: 19 });
      base.addTo(map);
      baseLayers = { [t("base")]: base };
    }
    buildControl();
    const [streetFc, communityFc, gridFc, region] = await Promise.all([
      api(`${API}/regions?level=street&limit=1000&simplify=0.00002`),
      api(`${API}/regions?level=community&limit=5000&simplify=0.00002`),
      api(`${API}/grids?limit=10000`),
      api(`${API}/regions/${startRegion}`).catch(() => null),
    ]);
    streets.addData(streetFc).addTo(map);
    communities.addData(communityFc).addTo(map);
    grids.addData(gridFc).addTo(map);
    if (region && region.geometry) {
      map.fitBounds(geo().addData(region).getBounds(), { padding: [10, 10] });
      document.getElementById("region-title").textContent = region.properties.name;
    }
    setGridLabels();
    setToken(token);
    if (!config.tile_url) addRoads();
    refreshTiles();
    say(t("ready", { n: gridFc.numberMatched }));
    document.body.dataset.loadMs = String(Math.round(performance.now() - t0));
    // A handle for scripts and tests driving the map (pixel positions of places, for instance).
    window.gridmap = { map, grids: gridLayers };
    document.body.dataset.ready = "true";
  }

  renderText();
  start().catch((e) => { say(t("load_failed", { m: e.message })); document.body.dataset.ready = "error"; });
})();
