// Time left until a deadline, in words, with how urgent it is (amber under 2 hours, red overdue).
import { language, t } from "../i18n.js";

/** Two hours, in milliseconds: under this the time left shows amber. */
export const AMBER_MS = 2 * 3600 * 1000;

/** A duration (ms, positive) in words: 2天3小时, 1小时05分, 12分. */
export function duration(ms) {
  const minutes = Math.floor(ms / 60000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days > 0) return t("board_days_hours", { d: days, h: hours });
  if (hours > 0) return t("board_hours_minutes", { h: hours, m: String(mins).padStart(2, "0") });
  return t("board_minutes", { m: mins });
}

/** { text, cls } of the time left until deadline (ms since the epoch), at now. */
export function timeLeft(deadline, now = Date.now()) {
  if (deadline === null || deadline === undefined) return { text: "—", cls: "" };
  const left = deadline - now;
  if (left < 0) return { text: t("board_overdue_by", { d: duration(-left) }), cls: "red" };
  return { text: t("board_left", { d: duration(left) }), cls: left < AMBER_MS ? "amber" : "" };
}

/** An ISO time as local date and time, in the language in use. */
export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(language() === "zh" ? "zh-CN" : "en-GB", { hour12: false,
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}
