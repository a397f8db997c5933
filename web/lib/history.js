// A grid's versions, newest first, each earlier one with a button restoring it.
import { API, api } from "./api.js";
import { button, el } from "./dom.js";
import { t } from "./i18n.js";
import { showPanel } from "./panels.js";

const cells = (tag, values) => el("tr", {}, values.map((v) => el(tag, {}, [v])));

// The notes the service writes itself, in words; a note a person wrote is shown as written.
const NOTES = [
  [/^created$/, "hn_created"], [/^edited$/, "hn_edited"], [/^merged with (\d+)$/, "hn_merged"],
  [/^split; the cut-off part is a new grid$/, "hn_split"], [/^split from (\d+)$/, "hn_split_from"],
  [/^vertex added where (.+) meets it$/, "hn_noded"], [/^vertices added where (.+) meets? it$/, "hn_noded"],
  [/^renumbered from (\d+)$/, "hn_renumbered"],
];

/** A version's note in the words of the language in use. */
export function noteWords(note) {
  for (const [re, key] of NOTES) {
    const m = re.exec(note || "");
    if (m) return t(key, { code: (m[1] || "").split(" and ").join("、") });
  }
  return note || "";
}

/** Shows the history of grid code in the side panel; restoring goes through editor.restore. */
export async function showHistory(map, editor, code) {
  map.closePopup();
  const h = await api(`${API}/grids/${code}/history`);
  const current = h.features.length ? h.features[h.features.length - 1].properties.version : null;
  const row = (f) => {
    const p = f.properties;
    let restore = "";
    if (p.version !== current && f.geometry) {
      // Restored over the version this history ends with: a change made since is not overwritten.
      restore = button("restore-version", t("restore"), () => editor.restore(code, f, current));
      restore.dataset.version = String(p.version);
    }
    return cells("td", [p.version, (p.valid_from || "").slice(0, 16).replace("T", " "), p.changed_by || p.actor || "", noteWords(p.note), restore]);
  };
  showPanel([el("h3", {}, [`${t("history")} ${code}`]), el("table", { class: "history" }, [
    cells("th", [t("version"), t("when"), t("by"), t("note"), null]),
    ...h.features.slice().reverse().map(row),
  ])]);
}
