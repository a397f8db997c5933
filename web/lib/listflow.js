// The flow of a need, wish or project on the map: its steps (entered, assigned to whom, taken on
// by whom, done, closed) and the buttons of the token signed in: assign (支部派单: a branch or an
// office), take on and report done (党员接单: a member's token), close.
import { API, api } from "./api.js";
import { button, el, rows } from "./dom.js";
import { assignsIn, holder } from "./holder.js";
import { t } from "./i18n.js";
import { word } from "./words.js";

const FLOWING = ["need", "project"];
const MAX_HOURS = 1000;
const MAX_REPORT = 2000;
const DONE_WORD = { assign: "list_assigned_ok", claim: "list_claimed_ok", complete: "list_completed_ok", close: "list_closed_ok" };

/** A refused answer of the API in words: the word for its code, else the answer's reason. */
export function refusalWords(e) {
  const code = e && e.body && e.body.code;
  if (code) {
    const w = t(`err_${code}`);
    if (w !== `err_${code}`) {
      return code === "list_wrong_state" && e.body.status ? `${w}（${word("list_status", e.body.status)}）` : w;
    }
  }
  const status = t(`http_${e.status}`);
  return status === `http_${e.status}` ? e.message : status;
}

/** A name as the API answered it: the name, or 已隐去 where it was masked. */
export function named(name, masked) {
  if (name) return name;
  return masked ? t("org_hidden") : "";
}

const when = (iso) => (iso ? String(iso).slice(0, 16).replace("T", " ") : "");
// Who acted, as the audit names them ("学院路街道办 (token 3, street 110108010)"): the name alone.
const actorName = (actor) => (actor ? String(actor).split(" (token ")[0] : "");
/** The member who took an item on (or to whom it was assigned), 已隐去 where masked. */
const memberName = (p) => (p.member ? named(p.member.name, true) : "");

/** To whom an item was assigned, in words. */
function assignee(p) {
  if (p.assignee_kind === "team") return t("flow_to_team");
  if (p.assignee_kind === "unit") return t("flow_to_unit", { name: named(p.unit_name, true) || `#${p.unit_id}` });
  if (p.assignee_kind === "member") return t("flow_to_member", { name: memberName(p) || t("org_hidden") });
  return "";
}

/** The steps an item went through so far, as [step, words] pairs. */
function steps(p) {
  const out = [[t("flow_entered"), [when(p.created_at), word("list_source", p.source)].filter(Boolean).join(" · ")]];
  if (p.assigned_at) out.push([t("flow_assigned"), [when(p.assigned_at), assignee(p), actorName(p.assigned_by)].filter(Boolean).join(" · ")]);
  if (p.taken_at) out.push([t("flow_taken"), [when(p.taken_at), memberName(p)].filter(Boolean).join(" · ")]);
  if (p.done_at) out.push([t("flow_done"), [when(p.done_at), p.hours !== null && p.hours !== undefined ? t("flow_hours", { n: p.hours }) : ""].filter(Boolean).join(" · ")]);
  if (p.status === "closed") out.push([t("flow_closed"), ""]);
  return out;
}

/** The buttons the token signed in may press on item p now: names of the actions. */
export function actionsFor(p) {
  const who = holder();
  if (!who || !FLOWING.includes(p.list)) return [];
  const office = assignsIn(p.grid_code);
  const me = who.member_id;
  const out = [];
  if (office && ["open", "assigned"].includes(p.status)) out.push("assign");
  if (me && (p.status === "open" || (p.status === "assigned" && p.assignee_kind === "member" && p.member_id === me))) out.push("claim");
  if (p.status === "in_progress" && ((me && p.member_id === me) || office)) out.push("complete");
  if (office && p.status === "done") out.push("close");
  return out;
}

/** Reads the grid's members and units (the people a branch assigns to). */
async function assignees(grid) {
  if (!grid) return { members: [], units: [] };
  const org = await api(`${API}/grids/${grid}/org`).catch(() => ({}));
  return { members: org.members || [], units: (org.units || []).map((f) => f.properties || f) };
}

/** The assign form (派单): to a member, a unit or the team, with a note. */
function assignForm(p, send, say) {
  const kind = el("select", { class: "assign-kind", "aria-label": t("assign_to") },
    ["member", "unit", "team"].map((k) => el("option", { value: k }, [t(`assign_${k}`)])));
  const whom = el("select", { class: "assign-whom", "aria-label": t("assign_to") }, []);
  const note = el("input", { class: "assign-note", type: "text", maxlength: "500", placeholder: t("assign_note") });
  let found = { members: [], units: [] };
  const fill = () => {
    const k = kind.value;
    whom.hidden = k === "team";
    const options = k === "member"
      ? found.members.map((m) => [m.id, [named(m.name, m.masked), m.in_service ? t("org_in_service") : ""].filter(Boolean).join(" · ")])
      : found.units.map((u) => [u.id, u.name]);
    whom.replaceChildren(...options.map(([id, label]) => el("option", { value: String(id) }, [label])));
    if (k === "member" && !options.length) say(t("assign_no_members"), "error"); else say("", "");
  };
  kind.addEventListener("change", fill);
  assignees(p.grid_code).then((x) => { found = x; fill(); });
  const go = button("assign-send", t("assign_send"), () => {
    const body = { note: note.value.trim() || undefined };
    if (kind.value === "team") body.team = true;
    else if (!whom.value) { say(t("assign_pick"), "error"); return; }
    else body[kind.value === "member" ? "member_id" : "unit_id"] = Number(whom.value);
    send("assign", body);
  });
  return el("div", { class: "flow-form assign-form" }, [el("label", {}, [t("assign_to"), " ", kind]), whom, note, go]);
}

/** The report form (完成): what was done and the hours served. */
function completeForm(send, say) {
  const report = el("textarea", { class: "complete-report", rows: "3", maxlength: String(MAX_REPORT), placeholder: t("complete_report"), "aria-label": t("complete_report") });
  const hours = el("input", { class: "complete-hours", type: "number", min: "0", max: String(MAX_HOURS), step: "0.5", value: "1", "aria-label": t("complete_hours") });
  const go = button("complete-send", t("complete_send"), () => {
    const text = report.value.trim();
    const h = Number(hours.value);
    if (!text) { say(t("complete_report_needed"), "error"); report.focus(); return; }
    if (hours.value === "" || !Number.isFinite(h) || h < 0 || h > MAX_HOURS) { say(t("complete_hours_bad"), "error"); hours.focus(); return; }
    send("complete", { report: text, hours: h });
  });
  return el("div", { class: "flow-form complete-form" }, [report, el("label", {}, [t("complete_hours"), " ", hours]), go]);
}

/**
 * An item's flow and the buttons of the token signed in, for a popup or the panel: a node
 * div.list-flow[data-list-id][data-status]. onChange(properties) runs after a step was taken (the
 * item read again).
 */
export function flowCard(p, onChange) {
  const box = el("div", { class: "popup list-flow", "data-list-id": String(p.id), "data-status": p.status }, []);
  const render = (item) => {
    box.dataset.status = item.status;
    const message = el("div", { class: "flow-message", role: "status" }, []);
    const say = (text, cls) => { message.textContent = text; message.className = `flow-message ${cls || ""}`; };
    const formBox = el("div", { class: "flow-forms" }, []);
    const send = async (action, body) => {
      box.querySelectorAll("button").forEach((b) => { b.disabled = true; });
      try {
        await api(`${API}/lists/${item.id}/${action}`, { method: "POST", json: body || {} });
        const fresh = await api(`${API}/lists/${item.id}`);
        const now = fresh.properties || fresh;
        render(now);
        const done = box.querySelector(".flow-message");
        done.textContent = t(DONE_WORD[action]);
        done.className = "flow-message ok";
        if (onChange) onChange(now);
      } catch (e) {
        box.querySelectorAll("button").forEach((b) => { b.disabled = false; });
        say(t("list_refused", { m: refusalWords(e) }), "error");
      }
    };
    const open = (form) => { formBox.replaceChildren(form); const first = form.querySelector("select, textarea, input"); if (first) first.focus(); };
    const buttons = actionsFor(item).map((a) => {
      if (a === "assign") return button("list-assign", t("list_assign"), () => open(assignForm(item, send, say)));
      if (a === "complete") return button("list-complete", t("list_complete"), () => open(completeForm(send, say)));
      return button(`list-${a}`, t(`list_${a}`), () => send(a));
    });
    box.replaceChildren(...[
      el("h3", {}, [`${word("list_kind", item.list)} · ${item.title}`]),
      rows([[t("category"), item.category], [t("list_status"), word("list_status", item.status)],
        [t("grid_code"), item.grid_code], ["", item.wish ? t("flow_wish") : ""],
        [t("owner"), [word("owner_kind", item.owner_kind), item.owner_name].filter(Boolean).join(" ")],
        ["", `${item.contact_name || ""} ${item.contact_phone || ""}`.trim()]]),
      el("div", { class: "muted" }, [t("flow")]),
      el("ol", { class: "flow-steps" }, steps(item).map(([k, v]) => el("li", {}, [el("b", {}, [k]), v ? ` ${v}` : ""]))),
      item.report ? el("div", { class: "flow-report" }, [`${t("flow_report")}：${item.report}`]) : null,
      buttons.length ? el("div", { class: "actions flow-actions" }, buttons) : null,
      formBox,
      message,
    ].filter(Boolean));
  };
  render(p);
  return box;
}
