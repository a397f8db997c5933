// A grid's versions, newest first, each earlier one with a button restoring it.
import { API, api } from "./api.js";
import { button, el } from "./dom.js";
import { t } from "./i18n.js";
import { showPanel } from "./panels.js";

const cells = (tag, values) => el("tr", {}, values.map((v) => el(tag, {}, [v])));

/** Shows the history of grid code in the side panel; restoring goes through editor.restore. */
export async function showHistory(map, editor, code) {
  map.closePopup();
  const h = await api(`${API}/grids/${code}/history`);
  const current = h.features.length ? h.features[h.features.length - 1].properties.version : null;
  const row = (f) => {
    const p = f.properties;
    let restore = "";
    if (p.version !== current && f.geometry) {
      restore = button("restore-version", t("restore"), () => editor.restore(code, f));
      restore.dataset.version = String(p.version);
    }
    return cells("td", [p.version, (p.valid_from || "").slice(0, 16).replace("T", " "), p.changed_by || p.actor || "", p.note || "", restore]);
  };
  showPanel([el("h3", {}, [`${t("history")} ${code}`]), el("table", { class: "history" }, [
    cells("th", [t("version"), t("when"), t("by"), t("note"), null]),
    ...h.features.slice().reverse().map(row),
  ])]);
}
