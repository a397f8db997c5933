// Signing in: a small form whose token is checked at once against GET /api/v1/me, and who the
// holder is, in words (role, region, whether they may edit grids).
import { API, api } from "./api.js";
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { word } from "./words.js";

/** Asks the API who token is; answers the holder (GET /me) or throws the API's Error. */
export function whoIs(token) {
  return api(`${API}/me`, { headers: { Authorization: `Bearer ${token}` } });
}

/** Where the holder acts, in words: the region's name, the grids served, a department, or everywhere. */
function placeOf(who) {
  if (who.role === "admin") return t("region_everywhere");
  if (who.grids) return who.grids.map((g) => g.name || g.code).join(t("oh_list_sep")) || "—";
  if (who.department) return who.department_name || who.department;
  const level = who.region_level ? word("region_level", who.region_level) : "";
  return who.region_name || `${level} ${who.region || ""}`.trim();
}

/** Where a Party member or organisation acts, in words: " (…)", or "" when nowhere is known. */
function within(place) {
  return place ? t("signin_within", { place }) : "";
}

/**
 * Who the holder is, in words: 学院路街道办 · 街道（学院路街道）可编辑网格; a Party member by name with
 * their organisation, a Party organisation by name with its grids, and what each may do.
 */
export function describe(who) {
  if (who.holder === "party_member") {
    const m = who.member || {};
    const place = (m.org && m.org.name) || m.registered_community_name || "";
    return t("signin_member", { name: m.name || who.name, place: within(place), rights: t("signin_member_rights") });
  }
  if (who.holder === "party_org") {
    // The organisation's name already says where it is (六道口社区第1网格党支部).
    const org = who.org && who.org.name;
    return t("signin_party_org", { name: org || who.name, place: within(!org && who.grids ? placeOf(who) : ""), rights: t("signin_party_org_rights") });
  }
  return t("signin_who", { name: who.name, role: word("token_role", who.role), region: placeOf(who),
    rights: who.edits_grids ? t("signin_can_edit") : t("signin_read_only") });
}

/** The refusal of a token that could not be checked, in words. */
export function refusal(e) {
  return e.status === 401 ? t("signin_bad") : t("signin_failed", { m: e.message });
}

/**
 * The sign-in form under anchor (a header button): a hidden token input, 登录 (Enter works).
 * accepted(token, who) runs after the API knew the token. Answers { open(), close(), toggle() }.
 */
export function signInForm(anchor, accepted) {
  const input = el("input", { id: "signin-token", type: "password", autocomplete: "off", spellcheck: "false",
    maxlength: "200", "data-tp": "signin_label", placeholder: t("signin_label") });
  const message = el("div", { class: "signin-message", role: "alert" });
  const submit = el("button", { id: "signin-submit", type: "submit", "data-t": "signin_submit" }, [t("signin_submit")]);
  const form = el("form", { id: "signin", class: "signin", hidden: "", "aria-label": t("signin_title") }, [
    el("label", { for: "signin-token", "data-t": "signin_label" }, [t("signin_label")]),
    el("div", { class: "signin-row" }, [input, submit]),
    message,
    el("div", { class: "muted", "data-t": "signin_hint" }, [t("signin_hint")]),
  ]);
  document.body.append(form);
  const say = (text, cls) => { message.textContent = text; message.className = `signin-message ${cls || ""}`; };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) { say(t("signin_empty"), "error"); input.focus(); return; }
    submit.disabled = true;
    say(t("signin_checking"), "");
    try {
      const who = await whoIs(token);
      input.value = "";
      say("", "");
      close();
      accepted(token, who);
    } catch (e) {
      say(refusal(e), "error");
      input.select();
    } finally {
      submit.disabled = false;
    }
  });
  form.addEventListener("keydown", (ev) => { if (ev.key === "Escape") { close(); anchor.focus(); } });
  function open() {
    form.hidden = false;
    say("", "");
    anchor.setAttribute("aria-expanded", "true");
    input.focus();
  }
  function close() {
    form.hidden = true;
    anchor.setAttribute("aria-expanded", "false");
  }
  return { open, close, toggle: () => (form.hidden ? open() : close()) };
}
