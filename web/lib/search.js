// Search by grid code or address: the map flies to the grid and outlines it, a pin marks the
// building, and the other candidates are listed under the search box (score, weak matches marked).
import { API, api } from "./api.js";
import { el } from "./dom.js";
import { onLanguage, t } from "./i18n.js";
import { pinLayer } from "./layers/pin.js";
import { toView } from "./view.js";

const GRID_CODE = /^[0-9]{14,15}$/;

/** A score (0..1) as a whole percentage. */
const percent = (score) => `${Math.round(score * 100)}%`;

/** The words of what part of an address a candidate matched. */
const matchedWords = (c) => t(`matched_${c.matched}`);

/** The line of the status bar for candidate c. */
function describe(c) {
  const where = c.grid ? t("found_grid", { code: c.grid.code, name: c.grid.name }) : t("no_grid_here");
  return `${c.building.address} → ${where}${c.weak ? t("weak_note") : ""}`;
}

/** Flies to candidate c's grid (or its building when it lies in none) and pins the building. */
async function show(c, map, pin, flyTo) {
  pin.place(c.building.lon, c.building.lat, c.building.address, c.weak);
  if (c.grid) {
    const f = await api(`${API}/grids/${c.grid.code}`);
    map.once("moveend", () => { document.body.dataset.searchPin = c.building.code; });
    flyTo(c.grid.code, f);
  } else {
    map.once("moveend", () => { document.body.dataset.searchPin = c.building.code; });
    map.flyTo(toView(c.building.lon, c.building.lat), 17, { duration: 0.6 });
  }
}

/** The dropdown of candidates under the search box: render(found, chosen, pick) fills and opens it, close() hides it. */
function candidateList(form) {
  const list = el("ul", { id: "search-list", role: "listbox", hidden: "" });
  form.append(list);
  let last = null;
  const item = (c, i, chosen, pick) => el("li", { role: "option", "aria-selected": String(i === chosen), class: c.weak ? "weak" : "" }, [
    el("button", { type: "button", class: "candidate", onclick: (ev) => { ev.stopPropagation(); pick(i); } }, [
      el("span", { class: "address" }, [c.building.address]),
      el("span", { class: "meta" }, [
        el("span", { class: "grid" }, [c.grid ? c.grid.name : t("no_grid_here")]),
        el("span", { class: "matched" }, [matchedWords(c)]),
        el("span", { class: "score" }, [percent(c.score)]),
        c.weak ? el("span", { class: "weak-flag" }, [t("weak_match")]) : null,
      ]),
    ]),
  ]);
  const self = {
    render(found, chosen, pick) {
      last = [found, chosen, pick];
      list.replaceChildren(
        el("li", { class: "head" }, [t("candidates_head", { n: found.length })]),
        ...found.map((c, i) => item(c, i, chosen, pick)),
      );
      list.hidden = false;
    },
    close() { list.hidden = true; },
    refresh() { if (last && !list.hidden) self.render(...last); },
    list,
  };
  return self;
}

/** Finds what q names (a grid code, or an address) and flies there; the page (ctx: flyTo, map, pin, dropdown, say) is told. */
export async function findGrid(q, ctx) {
  ctx.dropdown.close();
  if (GRID_CODE.test(q)) {
    const f = await api(`${API}/grids/${q}`);
    ctx.pin.clear();
    ctx.flyTo(q, f);
    ctx.say(t("found_grid", { code: q, name: f.properties.name }));
    return;
  }
  const found = await api(`${API}/lookup/address?q=${encodeURIComponent(q)}&limit=5`);
  const candidates = found.candidates || [];
  if (!candidates.length) { ctx.pin.clear(); ctx.say(t("not_found", { q })); return; }
  const pick = async (i) => {
    ctx.dropdown.render(candidates, i, (j) => pick(j).catch((e) => ctx.say(t("lookup_failed", { m: e.message }))));
    ctx.say(describe(candidates[i]));
    await show(candidates[i], ctx.map, ctx.pin, ctx.flyTo);
  };
  await pick(0);
}

/** Runs findGrid on every submit of form (its search box input), telling say() the outcome; the pin goes on map. */
export function bindSearch(form, input, flyTo, say, map) {
  const ctx = { flyTo, map, say, pin: pinLayer(map), dropdown: candidateList(form) };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    try {
      await findGrid(q, ctx);
    } catch (e) {
      say(e.status === 404 ? t("not_found", { q }) : t("lookup_failed", { m: e.message }));
    }
  });
  document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") ctx.dropdown.close(); });
  document.addEventListener("click", (ev) => { if (!form.contains(ev.target)) ctx.dropdown.close(); });
  onLanguage(() => ctx.dropdown.refresh());
}
