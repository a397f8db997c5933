// Search by grid code or address: the map flies to the grid and outlines it.
import { API, api } from "./api.js";
import { t } from "./i18n.js";

const GRID_CODE = /^[0-9]{14,15}$/;

/** Finds the grid of q (a grid code, or an address); answers the words to show. */
export async function findGrid(q, flyTo) {
  if (GRID_CODE.test(q)) {
    const f = await api(`${API}/grids/${q}`);
    flyTo(q, f);
    return t("found_grid", { code: q, name: f.properties.name });
  }
  const found = await api(`${API}/lookup/address?q=${encodeURIComponent(q)}&limit=5`);
  const best = (found.candidates || [])[0];
  if (!best || !best.grid) return t("not_found", { q });
  const f = await api(`${API}/grids/${best.grid.code}`);
  flyTo(best.grid.code, f);
  return `${best.building.address} → ${t("found_grid", { code: best.grid.code, name: best.grid.name })}`;
}

/** Runs findGrid on every submit of form (its search box input), telling say() the outcome. */
export function bindSearch(form, input, flyTo, say) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    try {
      say(await findGrid(q, flyTo));
    } catch (e) {
      say(e.status === 404 ? t("not_found", { q }) : t("lookup_failed", { m: e.message }));
    }
  });
}
