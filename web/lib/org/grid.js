// A grid's organisation in the side panel (GET /grids/{code}/org): its branch and secretary,
// groups, members, team, resident units and warnings, names masked as the API answers; and, for an
// office covering the grid, the team's editing: add a person, change role or team, move to another
// of the office's grids, retire.
import { API, api } from "../api.js";
import { button, el } from "../dom.js";
import { officeCovers } from "../holder.js";
import { t } from "../i18n.js";
import { named, refusalWords } from "../listflow.js";
import { showPanel } from "../panels.js";
import { VOCABULARIES, word } from "../words.js";
import { warnWord } from "./tree.js";

const MAX_NAME = 60;

/** A person's name and phone as the API answered them (已隐去 where masked). */
const contact = (x) => [named(x && x.name, x && (x.masked || x.name === null)), x && x.phone].filter(Boolean).join(" ");

/** A list under a heading, or the words for none. */
const section = (cls, head, items, none) => [el("h4", {}, [head]),
  el("ul", { class: cls }, items.length ? items : [el("li", { class: "muted" }, [none])])];

/** A select of the grid team's roles in words. */
function roleSelect(value) {
  return el("select", { class: "team-role", "aria-label": t("team_role") },
    VOCABULARIES.staff_role.map((r) => el("option", Object.assign({ value: r }, r === value ? { selected: "" } : {}), [word("staff_role", r)])));
}

const input = (cls, label, attrs) => el("input", Object.assign({ class: cls, "aria-label": label, placeholder: label }, attrs || {}));

/**
 * Shows grid code's organisation in the side panel. ctx: { grids() → [[code, name]] the grids the
 * map holds, onChange(code) after a team change }.
 */
export async function showGridOrg(code, ctx) {
  const body = el("div", { class: "org-panel", "data-grid": code, "aria-busy": "true" }, [t("org_loading")]);
  showPanel([body]);
  // The team with its posts' ids from the teams' endpoint (what the editing sends back), the rest
  // from the grid's organisation; either may fail alone and the other is still shown.
  const [orgRead, teamRead] = await Promise.all([
    api(`${API}/grids/${code}/org`).then((x) => ({ ok: x }), (e) => ({ e })),
    api(`${API}/grids/${code}/team`).then((x) => ({ ok: x }), (e) => ({ e })),
  ]);
  if (!orgRead.ok && !teamRead.ok) {
    body.replaceChildren(el("div", { class: "error" }, [t("org_failed", { m: refusalWords(orgRead.e) })]));
    return;
  }
  const org = Object.assign({ grid: (teamRead.ok || {}).grid }, orgRead.ok || {});
  if (teamRead.ok) org.team = teamRead.ok.team;
  const message = el("div", { class: "org-message", role: "status" }, []);
  const say = (text, cls) => { message.textContent = text; message.className = `org-message ${cls || ""}`; };
  const again = async (words) => { await showGridOrg(code, ctx); const m = document.querySelector(`.org-panel[data-grid='${code}'] .org-message`); if (m) { m.textContent = words; m.className = "org-message ok"; } };
  const edits = officeCovers(code);
  const grid = org.grid || {};
  const b = org.branch;
  const branch = b
    ? [el("div", { class: "org-branch", "data-org": String(b.id) }, [el("b", {}, [b.name]), ` · ${t("org_secretary")}：`, el("span", { class: "secretary" }, [contact(b.secretary) || "—"])])]
    : [el("div", { class: "bad org-no-branch" }, [t("org_no_branch")])];
  const groups = (org.groups || []).map((g) => el("li", { "data-org": String(g.id) }, [g.name,
    el("span", { class: "muted" }, [` ${t("org_counts", { members: g.members_n ?? 0, households: g.households_n ?? 0 })}`])]));
  const members = (org.members || []).map((m) => el("li", { class: "member", "data-member": String(m.id) }, [
    el("span", { class: "member-name" }, [named(m.name, m.masked || m.name === null)]),
    m.phone ? ` ${m.phone}` : "", m.in_service ? ` · ${t("org_in_service")}` : "", m.registered_community ? ` · ${t("org_registered")}` : "",
    m.hours_served ? ` · ${t("org_hours", { n: m.hours_served })}` : ""]));
  const units = (org.units || []).map((f) => f.properties || f).map((u) => el("li", {}, [u.name, ` · ${word("unit_kind", u.kind)}`, u.committee_id ? ` · ${t("org_committee_member")}` : ""]));
  const warnings = (org.warnings || []).map((w) => el("li", { class: "bad" }, [warnWord(typeof w === "string" ? w : w.check || w.code)]));

  const send = async (path, options, words) => {
    body.querySelectorAll("button").forEach((x) => { x.disabled = true; });
    try {
      await api(`${API}${path}`, options);
      if (ctx.onChange) ctx.onChange(code);
      await again(words);
    } catch (e) {
      body.querySelectorAll("button").forEach((x) => { x.disabled = false; });
      say(t("team_refused", { m: refusalWords(e) }), "error");
    }
  };
  const staffRow = (s) => {
    const who = contact(s) || t("org_hidden");
    const forms = el("div", { class: "team-forms" }, []);
    const change = () => {
      const role = roleSelect(s.role);
      const team = input("team-team", t("team_team"), { maxlength: String(MAX_NAME), value: s.team || "" });
      const since = input("team-since", t("team_since"), { type: "date", value: s.since || "" });
      forms.replaceChildren(el("div", { class: "team-form" }, [role, team, since, button("team-save", t("team_save"), () => send(`/grid-staff/${s.id}`,
        { method: "PATCH", json: { role: role.value, team: team.value.trim() || null, since: since.value || null } }, t("team_changed")))]));
    };
    const move = () => {
      const choices = ctx.grids().filter(([c]) => c !== code && officeCovers(c));
      const to = el("select", { class: "team-move-to", "aria-label": t("team_move_to") }, choices.map(([c, n]) => el("option", { value: c }, [`${c.slice(-3)} ${n}`])));
      forms.replaceChildren(el("div", { class: "team-form" }, [t("team_move_to"), to, button("team-move-go", t("team_move_go"), () => {
        if (!to.value) { say(t("team_pick_grid"), "error"); return; }
        const name = (choices.find(([c]) => c === to.value) || [to.value, to.value])[1];
        send(`/grid-staff/${s.id}/move`, { method: "POST", json: { grid_code: to.value } }, t("team_moved", { grid: name }));
      })]));
    };
    const retire = () => {
      forms.replaceChildren(el("div", { class: "team-form" }, [t("team_retire_confirm", { name: who }),
        button("team-retire-yes", t("team_retire_yes"), () => send(`/grid-staff/${s.id}`, { method: "DELETE" }, t("team_retired", { name: who }))),
        button("team-retire-no", t("cancel"), () => forms.replaceChildren())]));
    };
    return el("li", { class: "team-member", "data-staff": String(s.id), "data-role": s.role }, [
      el("div", { class: "team-row" }, [el("b", {}, [word("staff_role", s.role)]), ` ${who}`,
        s.team ? ` · ${t("org_team_name", { team: s.team })}` : "", s.since ? ` · ${t("org_since", { d: s.since })}` : "",
        edits && s.id !== undefined ? el("span", { class: "team-buttons" }, [button("team-change", t("team_change"), change),
          button("team-move", t("team_move"), move), button("team-retire", t("team_retire"), retire)]) : null]),
      forms,
    ]);
  };
  const team = (org.team || []).map(staffRow);
  const addForm = () => {
    const name = input("team-name", t("team_name"), { maxlength: String(MAX_NAME) });
    const phone = input("team-phone", t("team_phone"), { maxlength: "20", type: "tel" });
    const role = roleSelect("worker");
    const teamName = input("team-team", t("team_team"), { maxlength: String(MAX_NAME) });
    const since = input("team-since", t("team_since"), { type: "date" });
    return el("div", { class: "team-form team-add-form" }, [name, phone, role, teamName, since, button("team-add-send", t("team_save"), () => {
      const n = name.value.trim();
      if (!n) { say(t("team_name_needed"), "error"); name.focus(); return; }
      const person = { name: n };
      if (phone.value.trim()) person.phone = phone.value.trim();
      const json = { person, role: role.value };
      if (teamName.value.trim()) json.team = teamName.value.trim();
      if (since.value) json.since = since.value;
      send(`/grids/${code}/team`, { method: "POST", json }, t("team_added", { name: n, role: word("staff_role", role.value) }));
    })]);
  };
  const adding = el("div", { class: "team-adding" }, []);
  body.removeAttribute("aria-busy");
  body.replaceChildren(...[
    el("h3", {}, [t("org_grid_title", { name: grid.name || code })]),
    ...(orgRead.ok ? [el("h4", {}, [t("org_branch")]), ...branch,
      ...section("org-groups", t("org_groups"), groups, t("org_no_groups")),
      ...section("org-members", t("org_members"), members, t("org_no_members"))]
      : [el("div", { class: "error" }, [t("org_failed", { m: refusalWords(orgRead.e) })])]),
    ...section("org-team", t("org_team"), team, t("org_no_team")),
    edits ? el("div", { class: "actions" }, [button("team-add", t("team_add"), () => { adding.replaceChildren(addForm()); adding.querySelector("input").focus(); })]) : null,
    edits ? adding : null,
    message,
    ...(orgRead.ok ? [...section("org-units", t("org_units"), units, t("org_no_units")),
      ...section("org-warnings", t("org_warnings_head"), warnings, t("org_no_warnings"))] : []),
  ].filter(Boolean));
}
