// The public page of a community (/public/{community}): its grids on a map, its lists and their
// progress (公开), and the need form (群众点单). No token, and nothing personal is ever shown.
import { API } from "./lib/api.js";
import { el } from "./lib/dom.js";
import { language, onLanguage, t, toggleLanguage, translatePage } from "./lib/i18n.js";
import { addRoads, buildingTiles } from "./lib/layers/tiles.js";
import { fromView, geo, useGcj02 } from "./lib/view.js";
import { word } from "./lib/words.js";

const $ = (id) => document.getElementById(id);
const COMMUNITY = (location.pathname.match(/^\/public\/([^/]+)\/?$/) || [])[1] || "";
// The categories a resident picks from (the answer's \`categories\`, kept in Chinese), named per language.
const CATEGORY_WORDS = {
  助老服务: "p_cat_elderly", 医疗健康: "p_cat_health", 就业帮扶: "p_cat_jobs", 志愿服务: "p_cat_volunteer",
  托育看护: "p_cat_childcare", 文体活动: "p_cat_culture", 法律咨询: "p_cat_legal", 环境整治: "p_cat_environment", 其他: "p_cat_other",
};
const STATES = ["open", "assigned", "in_progress", "done", "closed"];
const STEPS = [["p_step_created", "created_at"], ["p_step_assigned", "assigned_at"], ["p_step_taken", "taken_at"], ["p_step_done", "done_at"]];
const TABS = [["needs", "p_needs"], ["wishes", "p_wishes"], ["projects", "p_projects"], ["resources", "p_resources"], ["posts", "p_posts"]];
const SHEET = [["p_service_content", "service_content"], ["p_service_standard", "service_standard"], ["p_due_date", "due_date"], ["p_responsible_unit", "responsible_unit"]];
const PHONE = /^[0-9+ -]{5,20}$/;
// The community's times are Beijing time wherever the resident's phone thinks it is.
const ZONE = "Asia/Shanghai";
// A grid's name is written on it when the grid is at least this wide on the screen (pixels), so
// names of small grids do not cover each other.
const LABEL_MIN_PX = 90;
// Characters the API refuses in a line of text (it keeps tabs and line breaks in a paragraph).
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Whether [lon, lat] lies in a GeoJSON Polygon or MultiPolygon (even-odd rule over its rings). */
function inside(geometry, [x, y]) {
  if (!geometry) return false;
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
  return polygons.some((rings) => rings.reduce((odd, ring) => {
    let hit = odd;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i], [xj, yj] = ring[j];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
    }
    return hit;
  }, false));
}

/** Runs the page where it is (a test may import this module into another page). */
function publicPage() {
  let data = null;
  let tab = "needs";
  let point = null;
  let lastSent = null;
  // Why the page could not be shown ("missing": no such community, "error": the lists unreadable).
  let failure = null;

  // ---- The map: the community's outline and its grids, a pin where the resident taps.
  const map = L.map("p-map", { zoomControl: true, maxZoom: 19, zoomSnap: 0.25 }).setView([40.0, 116.35], 15);
  map.attributionControl.addAttribution("数据 © OpenStreetMap 贡献者 (ODbL)");
  const outline = geo({ style: { color: "#6a1b9a", weight: 2.5, dashArray: "6 4", fill: false }, interactive: false });
  const grids = geo({
    style: () => ({ color: "#1565c0", weight: 1.5, fillColor: "#42a5f5", fillOpacity: 0.12 }),
    interactive: false,
    onEachFeature: (f, layer) => layer.bindTooltip(f.properties.name || f.properties.code, { permanent: true, direction: "center", className: "grid-name" }),
  });
  let pin = null;

  /** The grid feature holding [lon, lat], if any of the community's does. */
  function gridAt(lonlat) {
    let found = null;
    grids.eachLayer((l) => { if (!found && inside(l.feature.geometry, lonlat)) found = l.feature; });
    return found;
  }

  let communityShape = null;

  /** Places the pin where the resident tapped and names the grid there (or says it is outside). */
  function choose(latlng) {
    const lonlat = fromView(latlng);
    const within = communityShape ? inside(communityShape, lonlat) : true;
    const grid = within ? gridAt(lonlat) : null;
    point = { lon: lonlat[0], lat: lonlat[1], within, grid };
    const icon = L.divIcon({ className: `need-pin${within ? "" : " outside"}`, iconSize: [24, 32], iconAnchor: [12, 30] });
    if (pin) pin.setLatLng(latlng).setIcon(icon); else pin = L.marker(latlng, { icon, interactive: false, keyboard: false }).addTo(map);
    renderPoint();
  }

  function renderPoint() {
    const line = $("need-point");
    line.className = "point";
    if (!point) { line.textContent = t("p_pick_point"); return; }
    if (!point.within) {
      line.classList.add("outside");
      line.textContent = t("p_point_outside", { community: data ? data.community.name : "" });
    } else {
      line.classList.add("chosen");
      if (point.grid) line.textContent = t("p_point_in", { grid: point.grid.properties.name || point.grid.properties.code });
      else { line.className = "point outside"; line.textContent = t("p_point_no_grid"); }
    }
  }

  map.on("click", (ev) => choose(ev.latlng));
  const labelsBySize = () => grids.eachLayer((l) => {
    const b = l.getBounds();
    const wide = map.latLngToLayerPoint(b.getNorthEast()).x - map.latLngToLayerPoint(b.getSouthWest()).x >= LABEL_MIN_PX;
    if (wide) l.openTooltip(); else l.closeTooltip();
  });
  map.on("zoomend", labelsBySize);

  async function getJson(url) {
    const res = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
    if (!res.ok) throw Object.assign(new Error(String(res.status)), { status: res.status });
    return res.json();
  }

  async function startMap() {
    const config = await getJson(`${API}/map-config`).catch(() => ({}));
    if (config.tile_url) {
      useGcj02(config.tile_crs === "GCJ-02");
      L.tileLayer(config.tile_url, { attribution: config.tile_attribution || "", maxZoom: 19 }).addTo(map);
    }
    const [region, gridFc] = await Promise.all([
      getJson(`${API}/regions/${COMMUNITY}`).catch(() => null),
      getJson(`${API}/grids?community=${COMMUNITY}&limit=1000`).catch(() => null),
    ]);
    if (gridFc) grids.addData(gridFc).addTo(map);
    if (region && region.geometry) {
      communityShape = region.geometry;
      outline.addData(region).addTo(map);
      map.fitBounds(outline.getBounds(), { padding: [12, 12] });
    } else if (gridFc && gridFc.features.length) {
      map.fitBounds(grids.getBounds(), { padding: [12, 12] });
    } else if (data && data.community.bbox && data.community.bbox.length === 4) {
      const [w, so, e, n] = data.community.bbox;
      map.fitBounds([[so, w], [n, e]], { padding: [12, 12] });
    } else {
      $("p-map-note").textContent = t("p_no_map");
      $("p-map-note").dataset.t = "p_no_map";
      $("p-map-note").hidden = false;
    }
    labelsBySize();
    if (!config.tile_url) addRoads(map);
    buildingTiles(map, () => {}).refresh();
    // A handle for tests reading where a place is on the screen (they click it with the mouse).
    window.gridmap = { map };
  }

  // ---- The lists and their progress.

  /** A date and time of the answer in the language in use (short: month, day, hour and minute). */
  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return d.toLocaleString(language() === "zh" ? "zh-CN" : "en-GB", { timeZone: ZONE, month: language() === "zh" ? "numeric" : "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  /** A due date (a day, or a time) in the language in use. */
  function day(iso) {
    if (!iso) return "";
    const d = new Date(iso.length === 10 ? `${iso}T00:00:00` : iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return d.toLocaleDateString(language() === "zh" ? "zh-CN" : "en-GB", { timeZone: iso.length === 10 ? undefined : ZONE, year: "numeric", month: language() === "zh" ? "numeric" : "short", day: "numeric" });
  }

  function badge(status) {
    return el("span", { class: `badge s-${status}` }, [word("list_status", status)]);
  }

  /** The steps of an item's flow, each reached one with its date (提出 → 派单 → 接单 → 完成). */
  function steps(item) {
    return el("ol", { class: "steps" }, STEPS.map(([key, field]) => el("li", item[field] ? { class: "reached" } : {}, [
      t(key), item[field] ? el("span", { class: "when" }, [when(item[field])]) : null,
    ])));
  }

  function meta(item) {
    const category = CATEGORY_WORDS[item.category] ? t(CATEGORY_WORDS[item.category]) : item.category;
    return el("div", { class: "meta" }, [[category, item.grid_name || item.grid_code].filter(Boolean).join(" · ")]);
  }

  function needItem(item) {
    return el("li", { "data-code": item.code || "", "data-status": item.status || "" }, [
      el("div", { class: "item-head" }, [badge(item.status), el("strong", {}, [item.title])]),
      meta(item), steps(item),
    ]);
  }

  function projectItem(item) {
    const sheet = SHEET.filter(([, f]) => item[f]).flatMap(([key, f]) => [el("dt", {}, [t(key)]), el("dd", {}, [f === "due_date" ? day(item[f]) : item[f]])]);
    const li = needItem(item);
    if (sheet.length) li.append(el("dl", { class: "sheet" }, sheet));
    return li;
  }

  function resourceItem(item) {
    return el("li", { "data-code": item.code || "", "data-status": item.status || "" }, [
      el("div", { class: "item-head" }, [item.status && item.status !== "open" ? badge(item.status) : el("span", { class: "badge s-done" }, [t("p_resource_open")]), el("strong", {}, [item.title])]),
      meta(item),
    ]);
  }

  function postItem(post) {
    const claimed = Boolean(post.claimed_at || post.claimed);
    const hours = Number(post.hours || 0);
    return el("li", { "data-id": String(post.id || ""), "data-status": claimed ? "claimed" : "open" }, [
      el("div", { class: "item-head" }, [el("span", { class: `badge ${claimed ? "s-in_progress" : "s-open"}` }, [t(claimed ? "p_post_claimed" : "p_post_open")]), el("strong", {}, [post.title])]),
      post.duty ? el("div", { class: "meta" }, [`${t("p_post_duty")}：${post.duty}`]) : null,
      el("div", { class: "meta" }, [[post.grid_name || post.grid_code, claimed && post.claimed_at ? when(post.claimed_at) : "", hours > 0 ? t("p_post_hours", { h: hours }) : ""].filter(Boolean).join(" · ")]),
    ]);
  }

  const RENDER = { needs: needItem, wishes: needItem, projects: projectItem, resources: resourceItem, posts: postItem };

  function renderLists() {
    if (!data) return;
    $("p-tabs").replaceChildren(...TABS.map(([key, label]) => el("button", {
      type: "button", role: "tab", "data-tab": key, "aria-selected": String(key === tab),
      onclick: () => { tab = key; renderLists(); },
    }, [t(label), el("span", { class: "count" }, [String((data[key] || []).length)])])));
    const items = data[tab] || [];
    $("p-list-body").replaceChildren(items.length
      ? el("ul", { class: "items", "data-list": tab }, items.map(RENDER[tab]))
      : el("p", { class: "empty" }, [t("p_empty")]));
  }

  function renderCounts() {
    if (!data) return;
    const counts = data.counts || {};
    const shown = [...STATES.filter((s) => s in counts), ...Object.keys(counts).filter((s) => !STATES.includes(s))];
    $("p-count-list").replaceChildren(...shown.map((s) => el("li", { class: `s-${s}`, "data-state": s }, [t("p_count_item", { state: word("list_status", s), n: counts[s] })])));
    $("p-counts").hidden = shown.length === 0;
  }

  function renderHead() {
    if (!data) return;
    const c = data.community;
    $("p-name").textContent = c.name;
    $("p-street").textContent = (c.street && c.street.name) || "";
    document.title = t("p_page_title", { name: c.name });
  }

  async function loadLists() {
    data = await getJson(`${API}/public/${encodeURIComponent(COMMUNITY)}`);
    renderHead();
    renderCounts();
    renderLists();
    $("p-lists").hidden = false;
  }

  // ---- The need form (群众点单).

  function renderCategories() {
    const select = $("need-category");
    const chosen = select.value;
    const values = (data && data.categories) || Object.keys(CATEGORY_WORDS);
    select.replaceChildren(el("option", { value: "" }, [t("p_need_category_pick")]), ...values.map((v) => el("option", { value: v }, [CATEGORY_WORDS[v] ? t(CATEGORY_WORDS[v]) : v])));
    select.value = chosen;
  }

  /** What is wrong with the form before it is sent, in words (or null). */
  function checkForm(form) {
    if (!point) return t("p_pick_point");
    if (!point.within) return t("p_point_outside", { community: data.community.name });
    if (!point.grid) return t("p_point_no_grid");
    if (!form.title) return t("p_err_title");
    if ([...form.title].length > 60) return t("p_err_title_long");
    if (!form.category) return t("p_err_category");
    if ([...form.description].length > 1000) return t("p_err_description_long");
    if (form.contact_phone && !PHONE.test(form.contact_phone)) return t("p_err_phone");
    if ([form.title, form.contact_name, form.contact_phone].some((v) => /[\n\r\t]/.test(v)) || [form.title, form.description, form.contact_name].some((v) => CONTROL.test(v))) return t("p_err_text");
    return null;
  }

  /** The time to try again (HH:MM) and the minutes until then, from a Retry-After in seconds. */
  function retryWords(retryAfter) {
    const s = Number(retryAfter);
    if (!Number.isFinite(s) || s <= 0) return t("p_err_too_many_plain");
    const at = new Date(Date.now() + s * 1000);
    const time = at.toLocaleTimeString(language() === "zh" ? "zh-CN" : "en-GB", { timeZone: ZONE, hour: "2-digit", minute: "2-digit" });
    return t("p_err_too_many", { time, m: Math.max(1, Math.ceil(s / 60)) });
  }

  /** A refusal of the API in words: what the resident can do about it. */
  function refusalWords(status, body, retryAfter) {
    const code = body && body.code;
    if (status === 429 || code === "too_many_requests") return retryWords(retryAfter);
    if (code === "outside_community" || code === "outside_china") return t("p_err_outside");
    if (code === "no_grid_here") return t("p_point_no_grid");
    if (status === 404) return t("p_err_gone");
    if (status === 422 || status === 400) {
      const fields = (body.errors || []).map((e) => (e.loc || []).filter((p) => p !== "body").join("."));
      const types = (body.errors || []).map((e) => String(e.type || ""));
      if (fields.includes("contact_phone")) return t("p_err_phone");
      if (fields.includes("title")) return types.some((x) => x.includes("long")) ? t("p_err_title_long") : t("p_err_title");
      if (fields.includes("category")) return t("p_err_category");
      if (fields.includes("description")) return t("p_err_description_long");
      if (fields.includes("contact_name")) return t("p_err_name_long");
      if (fields.includes("lon") || fields.includes("lat")) return t("p_err_outside");
      if (code === "invalid_text" || code === "control_character") return t("p_err_text");
      return t("p_err_input");
    }
    if (status >= 500) return status === 503 ? t("p_err_down") : t("p_err_server");
    return t("p_err_input");
  }

  function showResult(kind, text) {
    const out = $("need-result");
    out.className = `result ${kind}`;
    out.textContent = text;
  }

  function sentWords(answer) {
    const grid = answer.grid_name || answer.grid_code || t("p_sent_no_grid");
    return t(answer.wish ? "p_sent_wish" : "p_sent", { code: answer.code, grid });
  }

  async function send(ev) {
    ev.preventDefault();
    showResult("", "");
    const value = (id) => $(id).value.trim();
    const form = {
      title: value("need-title"), category: value("need-category"), description: $("need-description").value.trim(),
      contact_name: value("need-contact-name"), contact_phone: value("need-contact-phone"),
    };
    const problem = checkForm(form);
    if (problem) { lastSent = null; showResult("error", problem); return; }
    const wish = $("need-wish").checked;
    const body = { title: form.title, category: form.category, description: form.description, wish, lon: point.lon, lat: point.lat };
    if (form.contact_name) body.contact_name = form.contact_name;
    if (form.contact_phone) body.contact_phone = form.contact_phone;
    const button = $("need-send");
    button.disabled = true;
    button.textContent = t("p_sending");
    let res = null;
    let answer = {};
    try {
      res = await fetch(`${API}/public/${encodeURIComponent(COMMUNITY)}/needs`, {
        method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(body),
      });
      answer = await res.json().catch(() => ({}));
    } catch {
      res = null;
    } finally {
      button.disabled = false;
      button.textContent = t("p_send");
    }
    if (!res) { lastSent = null; showResult("error", t("p_err_down")); return; }
    if (!res.ok) {
      lastSent = { refusal: [res.status, answer, res.headers.get("Retry-After")] };
      showResult("error", refusalWords(res.status, answer, res.headers.get("Retry-After")));
      return;
    }
    lastSent = { answer: { code: answer.code, grid_code: answer.grid_code, grid_name: answer.grid_name, wish } };
    showResult("ok", sentWords(lastSent.answer));
    // The contact is never shown back: the form is emptied once the need is in.
    $("need-form").reset();
    renderCategories();
    tab = wish ? "wishes" : "needs";
    await loadLists().catch(() => {});
    document.body.dataset.sent = answer.code || "";
  }

  $("need-form").addEventListener("submit", send);

  // ---- The language switch: every text is drawn again in the other language.

  function renderText() {
    translatePage();
    $("lang-btn").textContent = language() === "zh" ? "English" : "中文";
    renderCategories();
    renderPoint();
    renderHead();
    renderCounts();
    renderLists();
    if (lastSent && lastSent.answer) showResult("ok", sentWords(lastSent.answer));
    if (lastSent && lastSent.refusal) showResult("error", refusalWords(...lastSent.refusal));
    if (failure) $("p-message").textContent = failure === "missing" ? t("p_no_community", { code: COMMUNITY }) : t("p_load_failed");
  }
  onLanguage(renderText);
  $("lang-btn").addEventListener("click", toggleLanguage);

  async function start() {
    renderText();
    try {
      await loadLists();
    } catch (e) {
      failure = e.status === 404 || e.status === 422 ? "missing" : "error";
      $("p-message").removeAttribute("data-t");
      $("p-message").className = "message error";
      $("p-where").hidden = true;
      renderText();
      document.body.dataset.ready = failure;
      return;
    }
    $("p-message").hidden = true;
    $("need-form").hidden = false;
    await startMap().catch(() => {});
    document.body.dataset.ready = "true";
  }

  start();
}

if (document.getElementById("p-map")) publicPage();
