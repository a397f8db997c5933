// The legend of the map's layers, in the language in use.
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { LIST_COLOUR } from "./layers/lists.js";
import { orgLegend } from "./layers/org.js";
import { NO_STREET, SHARE_BANDS } from "./layers/patrols.js";
import { VOCABULARIES, word } from "./words.js";

const swatch = (cls, key) => el("div", {}, [el("i", { class: `sw ${cls}` }), t(key)]);
const kind = (code) => el("div", {}, [el("i", { class: `sw ${code}` }), word("grid_kind", code)]);
const dot = (style, key) => el("div", {}, [el("i", { class: "dot", style }), t(key)]);

/**
 * Fills node with the legend of the layers whose keys are in shown (all of them without it): a
 * legend of every layer covers the map's corner and the clicks meant for it.
 */
export function renderLegend(node, shown) {
  const rows = [
    ["streets", swatch("street", "streets")], ["communities", swatch("community", "communities")],
    ["grids", kind("basic")], ["grids", kind("exclusive")], ["problems", swatch("problem", "problems")],
    ["circles", swatch("circle", "circles")], ["uncovered", swatch("uncovered", "uncovered")],
    ["centers", dot("background:#ffeb3b;border-color:#b71c1c", "centers")],
    ["designated", dot("background:#ffcdd2;border-color:#c62828", "designated")],
    ["incidents", el("div", {}, [el("i", { class: "dot", style: "background:#fb8c00" }), `${t("incidents")}（${t("overdue")}：`, el("i", { class: "dot", style: "border-color:#d50000;border-width:3px" }), "）"])],
    ["lists", el("div", {}, VOCABULARIES.list_kind.flatMap((k) => [el("i", { class: "dot", style: `background:${LIST_COLOUR[k]}` }), word("list_kind", k), " "]))],
    // Patrol coverage: the colour of each band of a grid's share, and its street pieces.
    ["patrol_coverage", el("div", { class: "legend-patrol" }, [t("patrol_legend"), "：", ...[...SHARE_BANDS, [null, NO_STREET, "patrol_band_none"]].flatMap(([, colour, key]) =>
      [el("i", { class: "sw", style: `border-color:#37474f;background:${colour}` }), t(key), " "])])],
    ["patrol_coverage", el("div", {}, [el("i", { class: "line", style: "border-color:#1b5e20" }), t("patrol_walked"), " ",
      el("i", { class: "line", style: "border-color:#7f0000;border-top-style:dashed" }), t("patrol_unwalked")])],
    ["visit_overdue", dot("background:#d500f9;border-color:#4a148c", "visit_legend")],
    ...orgLegend().map((row) => ["org", row]),
    ["org_warnings", el("div", { class: "legend-warnings" }, [el("i", { class: "sw", style: "border-color:#ff6d00;border-style:dashed;background:rgba(255,109,0,.15)" }), t("org_warnings")])],
  ];
  const kept = rows.filter(([key]) => !shown || shown.has(key)).map(([, row]) => row);
  node.replaceChildren(...kept);
  node.hidden = kept.length === 0;
}
