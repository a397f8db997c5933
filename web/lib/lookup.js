// What is at a clicked point: the grid, community, street and team there, its figures, edit buttons.
import { API, api, currentToken } from "./api.js";
import { button, el, rows } from "./dom.js";
import { t } from "./i18n.js";
import { popupAt } from "./layers/popups.js";
import { gridFigures } from "./panels.js";
import { fromView } from "./view.js";
import { gridKind, word } from "./words.js";

/**
 * The popup content of a lookup answer. actions: [{ cls, label: () => words, run: (code) => … }],
 * shown as buttons when signed in (the editor's: edit, split, merge, delete, history…).
 * The figures' place is kept while they load; loaded() runs once they are in. extras: buttons
 * of the same form shown to everyone (the grid's organisation and team).
 */
export function lookupCard(data, actions, loaded, extras) {
  const g = data.grid;
  const team = (data.team || []).map((m) => [word("staff_role", m.role), m.name, m.phone].filter(Boolean).join(" "));
  const box = el("div", { class: "popup", "data-grid": g.code }, [
    el("h3", {}, [g.name]),
    rows([[t("grid_code"), g.code], [t("kind"), gridKind(g.kind, g.subtype)], [t("community"), data.community && `${data.community.name}（${data.community.code}）`],
          [t("street"), data.street && `${data.street.name}（${data.street.code}）`], [t("district"), data.district && data.district.name]]),
    el("div", { class: "muted" }, [t("team")]),
    el("div", {}, team.length ? team.map((x) => el("div", {}, [x])) : ["—"]),
  ]);
  const figures = el("div", { class: "figures loading", "aria-busy": "true" }, [el("div", { class: "muted" }, [t("figures_loading")])]);
  box.append(figures);
  const done = (node) => {
    figures.replaceChildren(...(node ? [node] : []));
    figures.classList.remove("loading");
    figures.removeAttribute("aria-busy");
    figures.dataset.loaded = "true";
    if (loaded) loaded();
  };
  gridFigures(g.code).then(done).catch(() => done(null));
  if (extras && extras.length) {
    box.append(el("div", { class: "actions" }, extras.map((a) => button(a.cls, a.label(), () => a.run(g.code)))));
  }
  if (currentToken() && actions) {
    box.append(el("div", { class: "actions" }, actions.map((a) => button(a.cls, a.label(), () => a.run(g.code)))));
  }
  box.append(el("div", { class: "muted" }, [t("coords", { lon: data.point.lon.toFixed(6), lat: data.point.lat.toFixed(6) })]));
  return box;
}

/** The popup content when a point is in no grid: why, and the community, street and nearest grid there. */
export function missCard(e) {
  const b = e.body || {};
  const lines = [el("div", { class: "error" }, [e.status === 404 ? t("not_in_grid") : t("lookup_failed", { m: e.message })])];
  if (b.community) lines.push(el("div", {}, [`${t("community")}：${b.community.name}`]));
  if (b.street) lines.push(el("div", {}, [`${t("street")}：${b.street.name}`]));
  if (b.nearest_grid) lines.push(el("div", {}, [t("nearest_grid", { name: b.nearest_grid.name, code: b.nearest_grid.code, m: b.nearest_grid.distance_m })]));
  return el("div", { class: "popup" }, lines);
}

/** Looks up what is at latlng and shows it in a popup on map, updated in place when its figures arrive. */
export async function showLookup(map, latlng, actions, extras) {
  const [lon, lat] = fromView(latlng);
  try {
    const data = await api(`${API}/lookup?lon=${lon.toFixed(7)}&lat=${lat.toFixed(7)}`);
    let popup = null;
    const content = lookupCard(data, actions, () => { if (popup && popup.isOpen()) popup.update(); }, extras);
    popup = popupAt(map, latlng, content);
  } catch (e) {
    popupAt(map, latlng, missCard(e));
  }
}
