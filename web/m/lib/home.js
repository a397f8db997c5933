// Home: who I am, my grids on a map with my position and the grid I stand in, then the cards the
// features add (today's patrol, overdue visits, open tasks), and signing out.
import { el } from "../../lib/dom.js";
import { t } from "../../lib/i18n.js";
import { phoneMap } from "./map.js";

const cards = [];
let cardBox = null;

/** Adds a card to home; mount(el) fills it (now, or once home exists). */
export function addCard(mount) {
  const card = el("div", { class: "card" });
  cards.push(card);
  if (cardBox) cardBox.append(card);
  mount(card);
}

function fixText(app, fix) {
  if (!fix) return t("m_position_none");
  const grid = app.gridAt(fix.lon, fix.lat);
  return t("m_position", { lon: fix.lon.toFixed(5), lat: fix.lat.toFixed(5), m: Math.round(fix.accuracy || 0) })
    + " · " + (grid ? t("m_in_grid", { name: grid.name || grid.code }) : t("m_in_no_grid"));
}

/** Builds the home screen; answers its Leaflet map (app.map()). */
export function install(app) {
  let view = null;
  const who = el("div", { id: "home-who", class: "who" });
  const gridList = el("ul", { id: "home-grids", class: "grid-list" });
  const position = el("p", { id: "home-position", class: "position" });
  const mapBox = el("div", { id: "home-map", class: "home-map" });
  cardBox = el("div", { id: "home-cards", class: "cards" }, cards);
  const signOut = el("button", { type: "button", id: "m-signout", class: "quiet", "data-t": "m_signout",
    onclick: () => app.signOut() }, [t("m_signout")]);

  function renderWho() {
    const me = app.me();
    const pack = app.pack();
    who.textContent = me ? t("m_hello", { name: me.name }) : "";
    const features = (pack && pack.grids && pack.grids.features) || [];
    const grids = features.length ? features.map((f) => ({ code: f.properties.code, name: f.properties.name }))
      : ((me && me.grids) || []);
    gridList.replaceChildren(...(grids.length ? grids.map((g) => el("li", { "data-grid": g.code }, [
      el("strong", {}, [g.name || g.code]), " ", el("span", { class: "muted" }, [g.code])]))
      : [el("li", { class: "muted" }, [pack ? t("m_no_grids") : t("m_pack_loading")])]));
  }

  app.addScreen("home", {
    icon: "⌂",
    titleKey: "m_tab_home",
    mount(section) {
      section.append(el("div", { class: "home-head" }, [who]), mapBox, position,
        el("h2", { "data-t": "m_my_grids" }, [t("m_my_grids")]), gridList, cardBox, signOut);
      view = phoneMap(mapBox);
    },
    show() { setTimeout(() => view.map.invalidateSize(), 0); },
  });
  renderWho();
  view.setPack(app.pack());
  position.textContent = fixText(app, app.position());
  app.onPack((pack) => { view.setPack(pack); renderWho(); position.textContent = fixText(app, app.position()); });
  app.onPosition((fix) => { view.setPosition(fix); position.textContent = fixText(app, fix); });
  app.onLanguage(() => { renderWho(); position.textContent = fixText(app, app.position()); });
  return view.map;
}
