// My tasks (我的任务): the sub-tasks given to me or my grids (the board's "mine" queue, kept on
// the phone for reading offline); open one, report in (报到), answer (反馈) with text and photos.
// Steps and photos are queued; a step refused as stale (412: someone changed the incident since
// I read it) is sent once more with the incident's new ETag when the step is still open to me.
import { attempt, newKey, outcome } from "./fieldsend.js";
import { button, card, el, injectStyle } from "./fieldui.js";
import { maxPhotos } from "./report.js";

const ROWS_KEY = "gridmap.m.tasks";
const INCIDENT_KEY = "gridmap.m.incident.";
const MAX_SIDE = 1600;
const MAX_BYTES = 1_000_000;

function cached(key, fallback) {
  try {
    const v = JSON.parse(localStorage.getItem(key) || "null");
    return v === null ? fallback : v;
  } catch {
    return fallback;
  }
}

function keep(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // A full store only loses the offline copy; the page still shows what it read.
  }
}

/** The photo shrunk on the phone: a JPEG, longest side ≤ 1600 px, quality stepped down to ≤ ~1 MB. */
export async function shrink(file) {
  const image = await createImageBitmap(file);
  const scale = Math.min(1, MAX_SIDE / Math.max(image.width, image.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(image.width * scale));
  canvas.height = Math.max(1, Math.round(image.height * scale));
  canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
  let blob = null;
  for (const q of [0.85, 0.75, 0.65, 0.55, 0.45, 0.35]) {
    blob = await new Promise((done) => canvas.toBlob(done, "image/jpeg", q));
    if (blob && blob.size <= MAX_BYTES) break;
  }
  return blob;
}

/** Whether the step was already taken on task (a resend after the answer to it was lost). */
function alreadyTaken(task, step, payload) {
  if (step === "report_in") return Boolean(task.reported_in_at) || task.state === "working" || task.state === "answered";
  if (step === "answer") return task.state === "answered" && (task.feedback || "") === (payload.note || "");
  return false;
}

/** Adds the tasks screen, its senders and the open-tasks card to app. */
export function install(app) {
  injectStyle();
  let screen = null;
  let taskCard = null;
  let rows = cached(ROWS_KEY, null);
  let openId = null;
  let incident = null;
  let readFailed = false;
  const local = new Map();

  /** Sends a step; a stale ETag (412, or none: 428) is sent once more with the incident's new one. */
  async function sendStep(p) {
    const url = `/incidents/${p.incident}/tasks/${p.task}/${p.step}`;
    const body = p.note ? { note: p.note } : {};
    try {
      await app.api(url, { method: "POST", body, ifMatch: p.etag || undefined });
      return "done";
    } catch (e) {
      if (e.status !== 412 && e.status !== 428) return outcome(e);
    }
    let fresh;
    try {
      fresh = await app.api(`/incidents/${p.incident}`);
    } catch (e) {
      return outcome(e);
    }
    const task = ((fresh.properties || {}).tasks || []).find((x) => x.id === p.task);
    if (task && alreadyTaken(task, p.step, p)) return "done";
    if (!task || !(task.actions || []).includes(p.step)) {
      return { refused: { code: "stale_etag", detail: app.t("f_step_gone", { step: app.t(`step_${p.step}`) }) } };
    }
    return attempt(() => app.api(url, { method: "POST", body, ifMatch: fresh.__etag }));
  }

  app.queue.onSend("task_step", async (item) => {
    const result = await sendStep(item.payload);
    if (result === "done") {
      local.delete(item.payload.task);
      if (openId === item.payload.incident) {
        await readIncident(openId);
        render();
      }
      refreshSoon();
    }
    return result;
  });
  app.queue.onSend("task_photo", (item) => attempt(() => {
    const form = new FormData();
    form.append("file", item.payload.blob, item.payload.name || "photo.jpg");
    return app.api(`/incidents/${item.payload.incident}/tasks/${item.payload.task}/photos`,
      { method: "POST", body: form, idempotencyKey: item.key });
  }));

  async function readRows() {
    try {
      const board = await app.api("/board?queue=mine&limit=100");
      rows = board.rows || [];
      keep(ROWS_KEY, rows);
      readFailed = false;
    } catch {
      readFailed = true;
    }
    renderCard();
    if (openId === null) render();
  }

  let soon = null;
  function refreshSoon() {
    clearTimeout(soon);
    soon = setTimeout(readRows, 500);
  }

  async function readIncident(id) {
    try {
      const f = await app.api(`/incidents/${id}`);
      incident = { feature: { properties: f.properties, id: f.id }, etag: f.__etag };
      keep(INCIDENT_KEY + id, incident);
    } catch {
      incident = cached(INCIDENT_KEY + id, null);
    }
  }

  async function open(id) {
    openId = id;
    incident = cached(INCIDENT_KEY + id, null);
    render();
    await readIncident(id);
    if (openId === id) render();
  }

  function rowItem(r) {
    const b = button("", () => open(r.id), "f-row");
    b.dataset.incident = String(r.id);
    const late = r.seconds_left !== null && r.seconds_left !== undefined && r.seconds_left < 0;
    b.append(
      el("span", { text: `${r.category} · ${app.word("severity", r.severity)}` }),
      el("small", { text: [r.grid_name || r.grid_code || r.community_name || "", app.word("incident_state", r.status)].filter(Boolean).join(" · ") }),
    );
    if (r.due_at) b.append(el("small", { className: late ? "f-overdue" : "", text: app.t("f_due", { d: new Date(r.due_at).toLocaleString() }) }));
    return el("li", {}, [b]);
  }

  function renderList() {
    screen.append(el("h2", { text: app.t("f_tasks") }));
    if (readFailed) screen.append(el("p", { className: "f-hint", text: app.t("f_tasks_offline") }));
    if (rows === null) {
      screen.append(el("p", { className: "f-hint", text: app.t("f_loading") }));
      return;
    }
    if (rows.length === 0) {
      screen.append(el("p", { className: "f-hint", text: app.t("f_no_tasks") }));
      return;
    }
    screen.append(el("ul", { className: "f-list", id: "f-task-list" }, rows.map(rowItem)));
  }

  function mineOf(props) {
    const grids = new Set(((app.pack() && app.pack().grids && app.pack().grids.features) || []).map((g) => g.properties.code));
    return (props.tasks || []).filter((x) => (x.actions || []).length > 0
      || (x.assignee_kind === "grid" && grids.has(x.assignee_code)));
  }

  function renderTask(props, task) {
    const box = el("div", { className: "f-card", dataset: { task: String(task.id) } });
    const waiting = local.get(task.id);
    box.append(el("h3", { text: `${task.assignee_name || task.assignee_code || ""} · ${app.t(`task_state_${task.state}`)}` }));
    if (task.feedback) box.append(el("p", { text: app.t("f_feedback_was", { text: task.feedback }) }));
    if (waiting) {
      box.append(el("p", { className: "f-hint", text: app.t("f_step_waiting", { step: app.t(`step_${waiting}`) }) }));
      return box;
    }
    const can = new Set(task.actions || []);
    if (can.has("report_in")) {
      box.append(button(app.t("step_report_in"), () => queueStep(props, task, "report_in"), "f-big f-go", "f-task-report-in"));
    }
    if (can.has("answer")) {
      const text = el("textarea", { className: "f-note", id: "f-task-note", maxLength: 2000, placeholder: app.t("f_feedback_placeholder") });
      const files = el("input", { type: "file", className: "f-file", id: "f-task-photos", accept: "image/*", multiple: true });
      files.setAttribute("capture", "environment");
      const thumbs = el("div", { className: "f-photos" });
      // As many photos as the server takes (the field pack's max_photos); more are left out, and
      // the person is told so.
      const max = maxPhotos(app.pack());
      files.addEventListener("change", () => {
        if (files.files.length > max) app.toast(app.t("m_r_photos_max", { max }));
        thumbs.replaceChildren(...[...files.files].slice(0, max).map((f) => el("img", { src: URL.createObjectURL(f), alt: f.name })));
      });
      box.append(
        el("label", { text: app.t("f_feedback") }), text,
        el("label", { text: app.t("f_photos", { n: max }) }), files, thumbs,
        button(app.t("f_answer_send"), async () => {
          if (!text.value.trim()) {
            app.toast(app.t("f_feedback_needed"));
            return;
          }
          await queueStep(props, task, "answer", text.value.trim(), [...files.files].slice(0, max));
        }, "f-big f-primary", "f-task-answer"),
      );
    }
    if (!can.has("report_in") && !can.has("answer")) box.append(el("p", { className: "f-hint", text: app.t("f_nothing_to_do") }));
    return box;
  }

  async function queueStep(props, task, step, note, photos) {
    const key = newKey();
    const label = app.t("f_task_label", { step: app.t(`step_${step}`), what: props.category });
    const payload = { incident: props.id, task: task.id, step, etag: incident && incident.etag };
    if (note) payload.note = note;
    await app.queue.add({ kind: "task_step", key, label, payload });
    let after = key;
    for (const file of photos || []) {
      const blob = await shrink(file);
      if (!blob) continue;
      const photoKey = newKey();
      await app.queue.add({ kind: "task_photo", key: photoKey, after, label: app.t("f_task_photo_label", { what: props.category }),
        payload: { incident: props.id, task: task.id, blob, name: "photo.jpg" } });
      after = photoKey;
    }
    local.set(task.id, step);
    app.toast(app.t("f_step_queued", { step: app.t(`step_${step}`) }));
    render();
    refreshSoon();
  }

  function renderIncident() {
    screen.append(button(app.t("f_back"), () => { openId = null; incident = null; local.clear(); render(); readRows(); }, "", "f-task-back"));
    if (!incident) {
      screen.append(el("p", { className: "f-hint", text: app.t("f_loading") }));
      return;
    }
    const props = incident.feature.properties;
    screen.append(
      el("h2", { text: `${props.category} · ${app.word("severity", props.severity)}` }),
      el("p", { text: props.description || "" }),
      el("p", { className: "f-hint", text: [props.grid_code || "", app.word("incident_state", props.status)].filter(Boolean).join(" · ") }),
    );
    const mine = mineOf(props);
    if (mine.length === 0) screen.append(el("p", { className: "f-hint", text: app.t("f_nothing_to_do") }));
    mine.forEach((task) => screen.append(renderTask(props, task)));
  }

  function render() {
    if (!screen) return;
    screen.replaceChildren();
    if (openId === null) renderList(); else renderIncident();
  }

  function renderCard() {
    if (!taskCard) return;
    const list = rows || [];
    taskCard.replaceChildren(
      el("h3", { text: app.t("f_open_tasks") }),
      el("p", { id: "f-task-count", dataset: { n: String(list.length) }, text: rows === null ? app.t("f_loading") : app.t("f_task_count", { n: list.length }) }),
      el("ul", { className: "f-list" }, list.slice(0, 3).map((r) => {
        const li = rowItem(r);
        li.querySelector("button").addEventListener("click", () => app.show("tasks"));
        return li;
      })),
    );
  }

  app.addScreen("tasks", {
    icon: "☑",
    titleKey: "f_tasks",
    mount(elm) {
      screen = elm;
      render();
    },
    show() {
      render();
      if (openId === null) readRows();
    },
  });
  app.addHomeCard((elm) => {
    taskCard = card(elm, "f-card-tasks");
    renderCard();
  });
  readRows();
  setInterval(() => { if (openId === null) readRows(); }, 60_000);
  globalThis.addEventListener("online", readRows);
  app.onLanguage(() => {
    renderCard();
    render();
  });
}
