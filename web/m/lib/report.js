// Report (上报): category, severity, text, photos shrunk on the phone (as many as the field pack's
// settings.max_photos allows, 9 without one), the point (my position, or a tap on the map) and the
// grid it falls in, shown before sending. The report is queued (item "report", its key the
// Idempotency-Key), then each photo (item "photo", after it).
import { el } from "../../lib/dom.js";
import { t } from "../../lib/i18n.js";
import { VOCABULARIES, word } from "../../lib/words.js";
import { phoneMap } from "./map.js";
import { MAX_BYTES, shrink } from "./photo.js";

const DEFAULT_MAX_PHOTOS = 9;

/** How many photos a report may carry: the field pack's settings.max_photos, else 9. */
export function maxPhotos(pack) {
  const n = Number(pack && pack.settings ? pack.settings.max_photos : NaN);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_PHOTOS;
}

/** A new random key (an Idempotency-Key): a UUID. */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Sends a queued report: POST /incidents with its key; keeps the incident id for its photos. */
async function sendReport(item, app) {
  const body = await app.api("/incidents", { method: "POST", body: item.payload, idempotencyKey: item.key });
  item.answer = { id: body.properties ? body.properties.id : body.id };
  return "done";
}

/** Sends a queued photo to the incident its report became (the photo has its own key). */
async function sendPhoto(item, app) {
  const report = await app.queue.answer(item.payload.report);
  if (!report || !report.id) return { refused: { code: "report_lost", detail: "", status: 0 } };
  const form = new FormData();
  form.append("file", item.payload.blob, item.payload.name);
  await app.api(`/incidents/${report.id}/photos`, { method: "POST", body: form, idempotencyKey: item.key });
  return "done";
}

/** Builds the report screen and registers the senders of "report" and "photo" items. */
export function install(app) {
  app.queue.onSend("report", sendReport);
  app.queue.onSend("photo", sendPhoto);
  let view = null;
  let point = null;
  let pinned = false;
  let photos = [];
  let busy = 0;
  const marker = L.marker([0, 0], { keyboard: false, icon: L.divIcon({ className: "report-pin", iconSize: [22, 22] }) });

  const category = el("select", { id: "r-category", required: "" });
  const severities = el("div", { class: "choices", role: "radiogroup", id: "r-severity" });
  const description = el("textarea", { id: "r-text", rows: "3", maxlength: "2000", "data-tp": "m_r_text_hint",
    placeholder: t("m_r_text_hint") });
  const fileInput = el("input", { id: "r-photos", type: "file", accept: "image/*", capture: "environment", multiple: "",
    class: "visually-hidden" });
  const photoLabel = el("label", { for: "r-photos", class: "button big", id: "r-photo-btn" }, [t("m_r_add_photo")]);
  const photoCount = el("span", { id: "r-photo-count", class: "muted" });
  const photoFull = el("p", { id: "r-photo-full", class: "note", "aria-live": "polite", hidden: "" });
  const thumbs = el("div", { id: "r-thumbs", class: "thumbs" });
  const mapBox = el("div", { id: "report-map", class: "report-map" });
  const where = el("p", { id: "r-where", class: "where", "aria-live": "polite" });
  const here = el("button", { type: "button", id: "r-here", class: "quiet" }, [t("m_r_use_position")]);
  const submit = el("button", { type: "submit", id: "r-submit", class: "primary big" }, [t("m_r_submit")]);
  const message = el("p", { id: "r-message", class: "message", role: "alert" });
  const form = el("form", { id: "report-form", class: "report-form", novalidate: "" }, [
    el("h1", { "data-t": "m_r_title" }, [t("m_r_title")]),
    el("label", { for: "r-category", "data-t": "category" }, [t("category")]), category,
    el("span", { class: "label", "data-t": "severity" }, [t("severity")]), severities,
    el("label", { for: "r-text", "data-t": "m_r_text" }, [t("m_r_text")]), description,
    el("div", { class: "photo-row" }, [photoLabel, fileInput, photoCount]), photoFull, thumbs,
    el("span", { class: "label", "data-t": "m_r_point" }, [t("m_r_point")]), mapBox, where, here,
    submit, message,
  ]);

  function renderCategories() {
    const pack = app.pack();
    const list = (pack && pack.categories) || [];
    const chosen = category.value;
    category.replaceChildren(el("option", { value: "" }, [t("m_r_pick_category")]),
      ...list.map((c) => el("option", { value: c.code }, [c.name || c.code])));
    if (list.some((c) => c.code === chosen)) category.value = chosen;
  }

  function renderSeverities() {
    const chosen = (severities.querySelector("input:checked") || {}).value || "general";
    severities.replaceChildren(...VOCABULARIES.severity.map((s) => el("label", { class: "choice" }, [
      el("input", { type: "radio", name: "severity", value: s, ...(s === chosen ? { checked: "" } : {}) }),
      el("span", {}, [word("severity", s)])])));
  }

  function renderPhotos() {
    const max = maxPhotos(app.pack());
    const full = photos.length + busy >= max;
    photoCount.textContent = busy ? t("m_r_photos_busy") : t("m_r_photos_n", { n: photos.length, max });
    photoLabel.classList.toggle("disabled", full);
    photoLabel.setAttribute("aria-disabled", full ? "true" : "false");
    fileInput.disabled = full;
    photoFull.hidden = !full;
    photoFull.textContent = full ? t("m_r_photos_full", { max }) : "";
    thumbs.replaceChildren(...photos.map((p, i) => el("figure", { class: "thumb" }, [
      el("img", { src: p.url, alt: t("m_r_photo_n", { n: i + 1 }) }),
      el("button", { type: "button", class: "thumb-x", "aria-label": t("m_r_photo_remove", { n: i + 1 }),
        onclick: () => { URL.revokeObjectURL(p.url); photos.splice(i, 1); renderPhotos(); } }, ["×"]),
    ])));
  }

  function renderWhere() {
    if (!point) { where.textContent = t("m_r_no_point"); return; }
    const grid = app.gridAt(point.lon, point.lat);
    where.dataset.grid = grid ? grid.code : "";
    where.textContent = `${grid ? t("m_r_grid", { name: grid.name || grid.code, code: grid.code }) : t("m_r_outside")} · `
      + t(pinned ? "m_r_tapped" : "m_r_from_gps", { lon: point.lon.toFixed(5), lat: point.lat.toFixed(5) });
    where.classList.toggle("warn", !grid);
  }

  function setPoint(p, byTap) {
    point = p;
    pinned = byTap;
    if (p) marker.setLatLng([p.lat, p.lon]).addTo(view.map);
    renderWhere();
  }

  fileInput.addEventListener("change", async () => {
    const files = [...fileInput.files];
    fileInput.value = "";
    const max = maxPhotos(app.pack());
    const room = max - photos.length - busy;
    if (files.length > room) app.toast(t("m_r_photos_max", { max }));
    const taken = files.slice(0, Math.max(0, room));
    busy += taken.length;
    renderPhotos();
    for (const file of taken) {
      try {
        const blob = await shrink(file, ((app.pack() || {}).settings || {}).max_photo_bytes
          ? Math.min(MAX_BYTES, app.pack().settings.max_photo_bytes) : MAX_BYTES);
        photos.push({ blob, url: URL.createObjectURL(blob), name: `photo-${photos.length + 1}.jpg` });
      } catch (e) {
        app.toast(t("m_r_photo_unreadable", { name: file.name }));
      } finally {
        busy -= 1;
        renderPhotos();
      }
    }
  });

  here.addEventListener("click", () => {
    const fix = app.position();
    if (!fix) { app.toast(t("m_position_none")); return; }
    setPoint({ lon: fix.lon, lat: fix.lat }, false);
    view.map.setView([fix.lat, fix.lon], Math.max(view.map.getZoom(), 17));
  });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!category.value) { message.textContent = t("m_r_need_category"); category.focus(); return; }
    if (!point) { message.textContent = t("m_r_need_point"); return; }
    if (busy) { message.textContent = t("m_r_photos_busy"); return; }
    const key = newKey();
    const grid = app.gridAt(point.lon, point.lat);
    const catName = category.selectedOptions[0].textContent;
    const severity = (severities.querySelector("input:checked") || {}).value || "general";
    const text = description.value.trim();
    await app.queue.add({ kind: "report", key,
      label: t("m_r_label", { category: catName, grid: grid ? grid.name || grid.code : t("m_r_outside") }),
      payload: { x: point.lon, y: point.lat, category: category.value, severity, ...(text ? { description: text } : {}) } });
    for (const [i, p] of photos.entries()) {
      await app.queue.add({ kind: "photo", key: newKey(), after: key, label: t("m_r_photo_label", { n: i + 1, category: catName }),
        payload: { report: key, blob: p.blob, name: p.name } });
      URL.revokeObjectURL(p.url);
    }
    photos = [];
    description.value = "";
    category.value = "";
    message.textContent = "";
    renderPhotos();
    renderSeverities();
    app.toast(t("m_r_queued"));
  });

  app.addScreen("report", {
    icon: "✎",
    titleKey: "m_tab_report",
    mount(section) {
      section.append(form);
      view = phoneMap(mapBox);
      view.map.on("click", (e) => setPoint({ lon: e.latlng.lng, lat: e.latlng.lat }, true));
    },
    show() {
      setTimeout(() => view.refresh(), 0);
      const fix = app.position();
      if (!pinned && fix) { setPoint({ lon: fix.lon, lat: fix.lat }, false); view.map.setView([fix.lat, fix.lon], 17); }
    },
  });
  renderCategories();
  renderSeverities();
  renderPhotos();
  renderWhere();
  view.setPack(app.pack());
  app.onPack((pack) => { view.setPack(pack); renderCategories(); renderWhere(); renderPhotos(); });
  app.onPosition((fix) => { view.setPosition(fix); if (!pinned) setPoint({ lon: fix.lon, lat: fix.lat }, false); });
  app.onLanguage(() => {
    renderCategories(); renderSeverities(); renderPhotos(); renderWhere();
    photoLabel.textContent = t("m_r_add_photo"); here.textContent = t("m_r_use_position"); submit.textContent = t("m_r_submit");
  });
}
