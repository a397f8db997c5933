// gridmap browser map: streets, communities and grids of the demo, click for the grid at a point.
(function () {
  "use strict";

  const API = "/api/v1";
  const ROLE = { leader: "网格长", worker: "网格员", guide: "指导员", police: "社区民警",
                 mediator: "调解员", safety: "安全员", volunteer: "志愿者" };
  const SUBTYPE = { campus: "校园", school: "学校", hospital: "医院", market: "商场市场",
                    office: "商务楼宇", park: "公园", other: "其他" };
  const statusEl = document.getElementById("status");

  function say(text) { statusEl.textContent = text; }

  // Build DOM from data with textContent only: names from the data are never parsed as HTML.
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    (children || []).forEach((c) => node.append(c instanceof Node ? c : document.createTextNode(String(c))));
    return node;
  }

  function rows(pairs) {
    return el("table", {}, pairs.filter((p) => p[1] !== null && p[1] !== undefined && p[1] !== "")
      .map(([k, v]) => el("tr", {}, [el("td", {}, [k]), el("td", {}, [v])])));
  }

  async function getJSON(url) {
    const res = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) { const e = new Error(body.detail || res.statusText); e.status = res.status; e.body = body; throw e; }
    return body;
  }

  const map = L.map("map", { zoomControl: true, preferCanvas: false }).setView([40.0, 116.35], 14);
  map.attributionControl.addAttribution("数据 © OpenStreetMap 贡献者 (ODbL) · adcode (CC BY 4.0)");

  const streets = L.geoJSON(null, {
    style: { color: "#333", weight: 2.5, fill: false },
    onEachFeature: (f, layer) => layer.bindTooltip(f.properties.name, { className: "street-label", direction: "center" }),
  });
  const communities = L.geoJSON(null, {
    style: { color: "#6a1b9a", weight: 1.5, dashArray: "5 4", fill: false },
    onEachFeature: (f, layer) => layer.bindTooltip(`${f.properties.name} ${f.properties.code}`, { sticky: true }),
  });
  const grids = L.geoJSON(null, {
    style: (f) => f.properties.kind === "exclusive"
      ? { color: "#e65100", weight: 1, fillColor: "#ffa726", fillOpacity: 0.3 }
      : { color: "#1565c0", weight: 1, fillColor: "#42a5f5", fillOpacity: 0.2 },
    onEachFeature: (f, layer) => {
      const p = f.properties;
      layer.bindTooltip(`${p.code.slice(-3)} ${p.name}`, { permanent: true, direction: "center", className: "grid-label" });
      layer.on("click", (ev) => { L.DomEvent.stopPropagation(ev); showLookup(ev.latlng); });
    },
  });

  function setGridLabels() {
    const show = map.getZoom() >= 15;
    grids.eachLayer((layer) => {
      const t = layer.getTooltip();
      if (!t) return;
      if (show) layer.openTooltip(); else layer.closeTooltip();
    });
  }
  map.on("zoomend", setGridLabels);

  function lookupPopup(data) {
    const g = data.grid;
    const kind = g.kind === "exclusive" ? `专属网格（${SUBTYPE[g.subtype] || g.subtype}）` : "基础网格";
    const team = (data.team || []).map((m) => `${ROLE[m.role] || m.role} ${m.name} ${m.phone || ""}`);
    return el("div", { class: "popup" }, [
      el("h3", {}, [g.name]),
      rows([["网格编码", g.code], ["类型", kind], ["社区", data.community && `${data.community.name}（${data.community.code}）`],
            ["街道", data.street && `${data.street.name}（${data.street.code}）`],
            ["区", data.district && data.district.name]]),
      el("div", { class: "muted" }, ["网格团队"]),
      el("div", {}, team.length ? team.map((t) => el("div", {}, [t])) : ["—"]),
      el("div", { class: "muted" }, [`坐标 ${data.point.lon.toFixed(6)}, ${data.point.lat.toFixed(6)}（WGS84）`]),
    ]);
  }

  async function showLookup(latlng) {
    const url = `${API}/lookup?lon=${latlng.lng.toFixed(7)}&lat=${latlng.lat.toFixed(7)}`;
    try {
      const data = await getJSON(url);
      L.popup().setLatLng(latlng).setContent(lookupPopup(data)).openOn(map);
    } catch (e) {
      const b = e.body || {};
      const lines = [el("div", { class: "error" }, [e.status === 404 ? "此处不在任何网格内" : `查询失败：${e.message}`])];
      if (b.community) lines.push(el("div", {}, [`社区：${b.community.name}`]));
      if (b.street) lines.push(el("div", {}, [`街道：${b.street.name}`]));
      if (b.nearest_grid) lines.push(el("div", {}, [`最近网格：${b.nearest_grid.name}（${b.nearest_grid.code}），${b.nearest_grid.distance_m} 米`]));
      L.popup().setLatLng(latlng).setContent(el("div", { class: "popup" }, lines)).openOn(map);
    }
  }
  map.on("click", (ev) => showLookup(ev.latlng));

  async function start() {
    say("加载中…");
    const config = await getJSON(`${API}/map-config`).catch(() => ({}));
    const overlays = { "街道": streets, "社区": communities, "网格": grids };
    if (config.tile_url) {
      const base = L.tileLayer(config.tile_url, { attribution: config.tile_attribution || "", maxZoom: 19 });
      base.addTo(map);
      L.control.layers({ "底图": base }, overlays, { collapsed: false }).addTo(map);
    } else {
      L.control.layers(null, overlays, { collapsed: false }).addTo(map);
    }
    const startRegion = config.start_region || "110108010";
    const [streetFc, communityFc, gridFc, region] = await Promise.all([
      getJSON(`${API}/regions?level=street&limit=1000&simplify=0.00002`),
      getJSON(`${API}/regions?level=community&limit=5000&simplify=0.00002`),
      getJSON(`${API}/grids?limit=10000`),
      getJSON(`${API}/regions/${startRegion}`).catch(() => null),
    ]);
    streets.addData(streetFc).addTo(map);
    communities.addData(communityFc).addTo(map);
    grids.addData(gridFc).addTo(map);
    if (region && region.geometry) {
      map.fitBounds(L.geoJSON(region).getBounds(), { padding: [10, 10] });
      document.getElementById("region-title").textContent = `海淀区 · ${region.properties.name}`;
    }
    setGridLabels();
    say(`${gridFc.numberMatched} 个网格 · 点击地图查询所在网格`);
    document.body.dataset.ready = "true";
  }

  start().catch((e) => { say(`加载失败：${e.message}`); document.body.dataset.ready = "error"; });
})();
