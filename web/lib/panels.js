// The side panel (messages, forms, history) and the figures of a grid.
import { API, EMPTY, api, apiOr } from "./api.js";
import { button, el, pct, rows } from "./dom.js";
import { t } from "./i18n.js";
import { LIST_COLOUR } from "./layers/lists.js";
import { flowCard } from "./listflow.js";
import { patrolRows } from "./layers/patrols.js";
import { word } from "./words.js";

// The page's #panel (holding #panel-body) is looked up when used: a page without one can still
// import the figures.

/** Shows children in the side panel. */
export function showPanel(children) {
  document.getElementById("panel-body").replaceChildren(...children);
  document.getElementById("panel").hidden = false;
}

/** Hides the side panel. */
export function hidePanel() {
  document.getElementById("panel").hidden = true;
}

/** Shows a message (classed ok, error, stale…) over a row of buttons in the side panel. */
export function messagePanel(message, buttons, cls) {
  showPanel([el("div", { class: `message ${cls || ""}` }, [message]), el("div", { class: "actions" }, buttons || [])]);
}

/** A cancel button: runs undo (may be async), then hides the panel. */
export function cancelButton(undo, cls) {
  return button(cls || "", t("cancel"), async () => { await undo(); hidePanel(); });
}

/** Shows a list item's flow and its buttons in the side panel, as the item is now. */
export async function openFlow(p) {
  const now = await api(`${API}/lists/${p.id}`).then((f) => f.properties || f).catch(() => p);
  showPanel([flowCard(now)]);
}

// Figures are read per community (a grid code starts with its community's 12 digits), once.
const figureCache = new Map();

/** Forgets the figures read so far (after an edit). */
export function forgetFigures() {
  figureCache.clear();
}

function communityFigures(community) {
  if (!figureCache.has(community)) {
    figureCache.set(community, Promise.all([
      apiOr(`${API}/households/summary?region=${community}`, { grids: [] }),
      apiOr(`${API}/coverage?region=${community}`, { grids: [] }),
      apiOr(`${API}/stats/incidents?region=${community}&group_by=grid`, { groups: [] }),
    ]));
  }
  return figureCache.get(community);
}

// What the map does with a grid's walked and unwalked street pieces when its figures are read.
let piecesTo = null;

/** Hands the street pieces of each grid whose figures are read to fn (the map draws them). */
export function onStreetPieces(fn) {
  piecesTo = fn;
}

/**
 * A grid's figures (households, designated, coverage, open incidents, on-time closure, patrol
 * coverage today and this week, overdue visits) and its lists.
 */
export async function gridFigures(code) {
  const [[hh, cov, stats], patrol] = await Promise.all([
    communityFigures(code.slice(0, 12)),
    patrolRows(code, { onPieces: (answer) => piecesTo && piecesTo(answer) }),
  ]);
  const h = (hh.grids || []).find((g) => g.grid === code) || {};
  const c = (cov.grids || []).find((g) => g.code === code) || {};
  const s = (stats.groups || []).find((g) => g.grid === code) || {};
  const open = s.total !== undefined ? s.total - (s.closed || 0) - ((s.by_state || {}).cancelled || 0) : 0;
  const items = await apiOr(`${API}/lists?grid=${code}&limit=50`, EMPTY);
  return el("div", {}, [
    rows([[t("households"), h.households ?? c.households ?? 0], [t("designated_n"), h.designated ?? 0],
          [t("coverage_share"), pct(c.share)], [t("open_incidents"), open], [t("on_time"), pct(s.on_time_rate)], ...patrol]),
    el("div", { class: "muted" }, [t("lists_of_grid")]),
    el("ul", { class: "items" }, items.features.length
      ? items.features.map((f) => el("li", {}, [el("b", { style: `color:${LIST_COLOUR[f.properties.list]}` }, [word("list_kind", f.properties.list)]), " ",
        el("button", { type: "button", class: "list-open link", "data-list-id": String(f.properties.id), onclick: () => openFlow(f.properties) }, [f.properties.title]),
        ` · ${word("list_status", f.properties.status)}`]))
      : [el("li", {}, [t("none")])]),
  ]);
}
