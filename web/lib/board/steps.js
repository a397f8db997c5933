// A step's small form: the fields the step needs (reason, hours, street, targets, departments,
// score), sent with If-Match holding the ETag the pane read. A 412 is never sent again: the pane
// says the incident changed and reads it afresh.
import { API, api, apiOr } from "../api.js";
import { el } from "../dom.js";
import { t } from "../i18n.js";
import { inWords } from "./errors.js";
import { stepWord } from "./names.js";

// The fields of each step (incident and sub-task steps, requests, decisions); * required.
const FIELDS = {
  accept: ["note"], claim: ["note"], dispatch: ["street", "note"], split: ["targets", "note"],
  whistle: ["departments", "note"], return_up: ["reason*"], resume: ["note"], close: ["note"],
  rework: ["reason*"], evaluate: ["score*", "note"], cancel: ["reason*"],
  request_extend: ["reason*", "hours*"], request_park: ["reason*"],
  report_in: ["note"], answer: ["note*"], withdraw: ["reason*"],
  approve: ["note"], refuse: ["note"],
};

function field(name, required, value) {
  const id = `sf-${name}`;
  const attrs = { id, name };
  if (required) attrs.required = "";
  let input;
  if (name === "note" || name === "reason") input = el("textarea", { ...attrs, rows: "2", maxlength: name === "note" ? "2000" : "500" });
  else if (name === "score") input = el("input", { ...attrs, type: "number", min: "0", max: "100", step: "1" });
  else if (name === "hours") input = el("input", { ...attrs, type: "number", min: "1", max: "720", step: "1" });
  else input = el("input", { ...attrs, type: "text", maxlength: "200" });
  if (value !== undefined && value !== null) input.value = value;
  return el("label", { for: id }, [t(`field_${name}`) + (required ? " *" : ""), input]);
}

async function streetField(incident) {
  const district = (incident.owner_code || incident.street_code || "").slice(0, 6);
  const select = el("select", { id: "sf-street", name: "street" });
  const streets = district ? await apiOr(`${API}/regions?level=street&parent=${district}&limit=200`, { features: [] }) : { features: [] };
  const codes = streets.features.map((f) => f.properties);
  if (incident.street_code && !codes.some((s) => s.code === incident.street_code)) codes.unshift({ code: incident.street_code, name: incident.street_code });
  codes.forEach((s) => select.append(el("option", { value: s.code }, [`${s.name} (${s.code})`])));
  if (incident.street_code) select.value = incident.street_code;
  return el("label", { for: "sf-street" }, [t("field_street"), select]);
}

async function departmentsField(incident) {
  const [suggested, all] = await Promise.all([
    apiOr(`${API}/incidents/${incident.id}/whistle-suggestions`, { item: null, departments: [] }),
    apiOr(`${API}/departments?active=true&limit=500${incident.street_code ? `&region=${incident.street_code}` : ""}`, { departments: [] }),
  ]);
  const ticked = new Set((suggested.departments || []).map((d) => d.code));
  const list = Array.isArray(all) ? all : (all.departments || all.items || all.features || []);
  const seen = new Map();
  (suggested.departments || []).forEach((d) => seen.set(d.code, { ...d, suggested: true }));
  list.map((d) => d.properties || d).filter((d) => d.active !== false).forEach((d) => { if (!seen.has(d.code)) seen.set(d.code, d); });
  const box = el("div", { class: "depts", role: "group", "aria-label": t("field_departments") }, [...seen.values()].map((d) => {
    const input = el("input", { type: "checkbox", name: "departments", value: d.code });
    input.checked = ticked.has(d.code);
    return el("label", {}, [input, `${d.name}${d.lead ? ` · ${t("board_lead")}` : ""}${d.suggested ? ` · ${t("board_suggested")}` : ""}`]);
  }));
  const head = suggested.item ? t("board_whistle_item", { item: suggested.item.matter || suggested.item.code || "" }) : t("board_no_item");
  const wrap = el("div", {}, [el("div", { class: "muted" }, [head]), box]);
  wrap.dataset.item = suggested.item && suggested.item.id ? String(suggested.item.id) : "";
  return wrap;
}

/** What a form holds, as the body of its step. */
function bodyOf(form, step) {
  const body = {};
  const value = (n) => { const x = form.elements.namedItem(n); return x && x.value !== undefined ? x.value.trim() : ""; };
  ["note", "reason", "street"].forEach((n) => { if (value(n)) body[n] = value(n); });
  ["score", "hours"].forEach((n) => { if (value(n)) body[n] = Number(value(n)); });
  if (value("targets")) body.targets = value("targets").split(/[,，\s]+/).filter(Boolean);
  const depts = [...form.querySelectorAll('input[name="departments"]:checked')].map((x) => x.value);
  if (step === "whistle") {
    body.departments = depts;
    const item = form.querySelector("[data-item]");
    if (item && item.dataset.item) body.item = Number(item.dataset.item);
  }
  return body;
}

/** Where a step is sent and with which body: incident steps, sub-task steps, requests, decisions. */
function request(target, step, body) {
  const base = `${API}/incidents/${target.incident.id}`;
  if (step === "request_extend" || step === "request_park") {
    const json = { kind: step === "request_extend" ? "extend" : "park", reason: body.reason };
    if (body.hours) json.hours = body.hours;
    if (target.task) json.task_id = target.task.id;
    return [`${base}/approvals`, json];
  }
  if (target.approval) return [`${API}/approvals/${target.approval.id}/${step}`, body.note ? { note: body.note } : {}];
  if (target.task) return [`${base}/tasks/${target.task.id}/${step}`, body];
  return [`${base}/${step}`, body];
}

/**
 * Opens the form of step under holder. target: { incident (properties), etag, task?, approval? }.
 * done(ok, message, stale, answer) after the answer: stale is true for a 412 (the pane reads
 * again); answer is what the API answered (the incident, for most steps).
 */
export async function openStep(holder, step, target, done) {
  const fields = FIELDS[step] || ["note"];
  const message = el("div", { class: "error", role: "alert" });
  const parts = [];
  for (const f of fields) {
    const required = f.endsWith("*");
    const name = required ? f.slice(0, -1) : f;
    if (name === "street") parts.push(await streetField(target.incident));
    else if (name === "departments") parts.push(await departmentsField(target.incident));
    else if (name === "targets") parts.push(field("targets", false, target.incident.grid_code || target.incident.community_code || ""));
    else parts.push(field(name, required));
  }
  const submit = el("button", { type: "submit", class: "send" }, [t("board_send", { step: stepWord(step) })]);
  const cancel = el("button", { type: "button", onclick: () => {
    const parent = form.parentNode;
    form.remove();
    if (parent) parent.dispatchEvent(new CustomEvent("step-cancelled", { bubbles: true }));
  } }, [t("cancel")]);
  const form = el("form", { class: "step-form", "data-step": step }, [
    el("strong", {}, [stepWord(step)]), ...parts, message, el("div", { class: "steps" }, [submit, cancel]),
  ]);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = bodyOf(form, step);
    if (step === "whistle" && !body.departments.length) { message.textContent = t("board_pick_department"); return; }
    submit.disabled = true;
    const [url, json] = request(target, step, body);
    try {
      const answer = await api(url, { method: "POST", json, ifMatch: target.etag });
      form.remove();
      done(true, t("board_done", { step: stepWord(step), id: target.incident.id }), false, answer);
    } catch (e) {
      if (e.status === 412) { form.remove(); done(false, t("board_stale"), true); return; }
      message.textContent = inWords(e);
      submit.disabled = false;
    }
  });
  holder.querySelectorAll(".step-form").forEach((f) => f.remove());
  holder.append(form);
  const first = form.querySelector("textarea, input, select");
  if (first) first.focus();
  return form;
}
