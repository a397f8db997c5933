// Signing in once on the phone: the worker's token, checked at once against GET /me, kept on the
// device. Only a grid staff member's token opens the page (it is their grids the page keeps).
import { el } from "../../lib/dom.js";
import { t } from "../../lib/i18n.js";
import { call } from "./api.js";

/**
 * The sign-in form in section; accepted(token, who) runs once the API knew a staff token. When
 * accepted answers words (a token it will not take), the form shows them and stays.
 */
export function install(section, accepted) {
  const input = el("input", { id: "m-token", type: "password", autocomplete: "off", spellcheck: "false",
    maxlength: "200", "data-tp": "m_signin_label", placeholder: t("m_signin_label"), required: "" });
  const message = el("p", { id: "m-signin-message", class: "message", role: "alert" });
  const submit = el("button", { id: "m-signin-submit", type: "submit", class: "primary big", "data-t": "m_signin_submit" },
    [t("m_signin_submit")]);
  const form = el("form", { id: "m-signin", class: "signin-form" }, [
    el("h1", { "data-t": "m_signin_title" }, [t("m_signin_title")]),
    el("label", { for: "m-token", "data-t": "m_signin_label" }, [t("m_signin_label")]),
    input,
    submit,
    message,
    el("p", { class: "muted", "data-t": "m_signin_hint" }, [t("m_signin_hint")]),
  ]);
  section.replaceChildren(form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const secret = input.value.trim();
    if (!secret) { message.textContent = t("m_signin_empty"); return; }
    submit.disabled = true;
    message.textContent = t("m_signin_checking");
    try {
      const who = await call("/me", { token: secret });
      if (who.holder !== "staff") { message.textContent = t("m_signin_not_staff", { name: who.name }); return; }
      const refusal = await accepted(secret, who);
      if (refusal) message.textContent = refusal;
    } catch (e) {
      message.textContent = e.status === 401 ? t("m_signin_bad") : e.status === 0 ? t("m_signin_offline")
        : t("m_signin_failed", { m: e.message });
    } finally {
      submit.disabled = false;
    }
  });
}
