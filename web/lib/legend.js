// The legend of the map's layers, in the language in use.
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { LIST_COLOUR } from "./layers/lists.js";
import { VOCABULARIES, word } from "./words.js";

const swatch = (cls, key) => el("div", {}, [el("i", { class: `sw ${cls}` }), t(key)]);
const kind = (code) => el("div", {}, [el("i", { class: `sw ${code}` }), word("grid_kind", code)]);
const dot = (style, key) => el("div", {}, [el("i", { class: "dot", style }), t(key)]);

/** Fills node with the legend. */
export function renderLegend(node) {
  node.replaceChildren(swatch("street", "streets"), swatch("community", "communities"), kind("basic"), kind("exclusive"), swatch("problem", "problems"), swatch("circle", "circles"), swatch("uncovered", "uncovered"),
    dot("background:#ffeb3b;border-color:#b71c1c", "centers"),
    dot("background:#ffcdd2;border-color:#c62828", "designated"),
    el("div", {}, [el("i", { class: "dot", style: "background:#fb8c00" }), `${t("incidents")}（${t("overdue")}：`, el("i", { class: "dot", style: "border-color:#d50000;border-width:3px" }), "）"]),
    el("div", {}, VOCABULARIES.list_kind.flatMap((k) => [el("i", { class: "dot", style: `background:${LIST_COLOUR[k]}` }), word("list_kind", k), " "])));
}
