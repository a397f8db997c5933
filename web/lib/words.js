// Every code of the domain in words (grid kinds, states, severities, lists, centres, circles,
// roles, levels) and opening hours in OSM syntax read out, in the language in use.
import { language, t } from "./i18n.js";
import * as en from "./text/en.js";
import * as zh from "./text/zh.js";

const TABLES = { zh, en };

/**
 * The vocabularies of src/gridmap/vocab, by name: each code the API may send. The words for them
 * are the CODES tables of text/zh.js and text/en.js.
 */
export const VOCABULARIES = Object.freeze({
  grid_kind: ["basic", "exclusive"],
  subtype: ["campus", "hospital", "market", "office", "park", "school", "other"],
  incident_state: ["reported", "pooled", "queued", "dispatched", "handling", "resolved", "closed",
    "evaluated", "cancelled", "parked"],
  severity: ["general", "important", "urgent"],
  list_kind: ["resource", "need", "project"],
  list_status: ["open", "assigned", "matched", "in_progress", "done", "closed"],
  owner_kind: ["unit", "resident", "branch"],
  centre_kind: ["party_mass_center", "red_station", "convenience_station"],
  circle_method: ["network", "buffer"],
  region_level: ["district", "street", "community", "grid"],
  token_role: ["admin", "district", "street", "community", "worker", "department", "branch", "viewer"],
  holder_kind: ["office", "staff", "party_member", "party_org", "department"],
  staff_role: ["leader", "worker", "guide", "police", "mediator", "safety", "vanguard", "volunteer"],
  dispatch_mode: ["claim", "dispatch", "auto", "team", "split", "joint", "escalate"],
  category_class: ["city_management", "social_governance"],
  care_tag: ["hardship", "elderly_alone", "empty_nest", "left_behind_child", "disabled", "subsistence",
    "serious_illness"],
  visit_outcome: ["met", "not_home", "refused", "moved", "follow_up"],
  org_kind: ["committee", "branch", "group"],
  unit_kind: ["government", "institution", "enterprise", "school", "hospital", "social_org", "other"],
  list_assignee: ["member", "unit", "team"],
  list_source: ["public", "worker", "office", "member", "import"],
});

/** The word for code in vocabulary vocab (the code itself, marked as such, when none is known). */
export function word(vocab, code) {
  if (code === null || code === undefined || code === "") return "";
  const table = (TABLES[language()].CODES || {})[vocab] || {};
  const known = table[code] || (zh.CODES[vocab] || {})[code];
  return known || t("code_unknown", { code });
}

/** A grid's kind in words, with its subtype for an exclusive grid: 专属网格（校园）. */
export function gridKind(kind, subtype) {
  const k = word("grid_kind", kind);
  return kind === "exclusive" && subtype ? t("kind_with_subtype", { kind: k, subtype: word("subtype", subtype) }) : k;
}

const DAYS = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];
const TIME = /^([01]?\d|2[0-4]):[0-5]\d-([01]?\d|2[0-4]):[0-5]\d(\+)?$/;

/** A day selector of OSM opening hours ("Mo-Fr", "Mo,We,Fr", "PH") in words, or null. */
function daysInWords(sel) {
  const parts = sel.split(",").map((part) => {
    if (part === "PH") return t("oh_holidays");
    const range = /^([A-Z][a-z])-([A-Z][a-z])$/.exec(part);
    if (range && DAYS.includes(range[1]) && DAYS.includes(range[2])) {
      if (range[1] === "Mo" && range[2] === "Su") return t("oh_every_day");
      return t("oh_range", { from: t(`oh_${range[1]}`), to: t(`oh_${range[2]}`) });
    }
    return DAYS.includes(part) ? t(`oh_${part}`) : null;
  });
  return parts.includes(null) ? null : parts.join(t("oh_list_sep"));
}

/** One rule of OSM opening hours ("Mo-Fr 08:30-17:30", "Sa off", "24/7") in words, or null. */
function ruleInWords(rule) {
  if (rule === "24/7") return t("oh_always");
  const m = /^(?:([A-Za-z,-]+)\s+)?(.+)$/.exec(rule);
  if (!m) return null;
  let days = m[1] ? daysInWords(m[1]) : "";
  let rest = m[2];
  if (!m[1] && /^[A-Z][a-z]|^PH/.test(rest)) {
    // Days alone ("Mo-Fr"): open all day on them.
    days = daysInWords(rest);
    rest = "";
  }
  if (days === null) return null;
  if (rest === "") return `${days} ${t("oh_all_day")}`.trim();
  if (rest === "off" || rest === "closed") return `${days} ${t("oh_off")}`.trim();
  const times = rest.split(",").map((x) => x.trim());
  if (!times.every((x) => TIME.test(x))) return null;
  return `${days} ${times.join(t("oh_list_sep"))}`.trim();
}

/**
 * Opening hours in OSM syntax in words: "Mo-Fr 08:30-17:30; Sa 09:00-12:00" → 周一至周五 08:30-17:30；
 * 周六 09:00-12:00. Anything it cannot read is shown as it is, labelled as the original text.
 */
export function openingHours(text) {
  if (!text) return "";
  const rules = String(text).split(";").map((r) => r.trim()).filter(Boolean);
  const words = rules.map(ruleInWords);
  if (!rules.length || words.includes(null)) return t("oh_as_given", { text });
  return words.join(t("oh_rule_sep"));
}
