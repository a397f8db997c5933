// The tree panel of a community's Party organisation: committee → branches → groups → central
// households, each with its counts and its warnings in red; a click on a node zooms the map to it.
import { API, api } from "../api.js";
import { button, el } from "../dom.js";
import { t } from "../i18n.js";
import { CENTRAL_MAX, CENTRAL_MIN, centralBad, committeesOf } from "../layers/org.js";
import { showPanel } from "../panels.js";
import { word } from "../words.js";

/** A warning code in words, without its figures. */
export const warnWord = (code) => t(`warn_${code}`);

/** The bounds of the grids (codes) drawn on the map (byCode: code → Leaflet layer), or null. */
function gridBounds(byCode, codes) {
  let b = null;
  codes.forEach((c) => { const l = byCode.get(c); if (l) b = b ? b.extend(l.getBounds()) : L.latLngBounds(l.getBounds().getSouthWest(), l.getBounds().getNorthEast()); });
  return b;
}

/** The grids of a node: its own, or those of the branches under it. */
function gridsOf(node) {
  if (node.grid_codes && node.grid_codes.length) return node.grid_codes;
  return (node.children || []).flatMap(gridsOf);
}

/**
 * Shows the tree of community in the side panel. ctx: { map, byCode, communities: [[code, name]],
 * centralAt(id) → [lat, lng] or null, onCommunity(code) (another community picked) }.
 */
export async function showTree(community, ctx) {
  const { map, byCode } = ctx;
  const pick = el("select", { class: "org-tree-community", "aria-label": t("org_tree_pick") },
    ctx.communities.map(([code, name]) => el("option", Object.assign({ value: code }, code === community ? { selected: "" } : {}), [name])));
  pick.addEventListener("change", () => showTree(pick.value, ctx));
  const body = el("div", { class: "org-tree", "data-community": community, "aria-busy": "true" }, [t("org_tree_loading")]);
  const name = (ctx.communities.find(([c]) => c === community) || [community, community])[1];
  showPanel([el("h3", {}, [t("org_tree_title", { name })]), el("label", {}, [t("org_tree_pick"), " ", pick]), body]);
  let answer;
  try {
    answer = await api(`${API}/party-orgs/tree?community=${community}`);
  } catch (e) {
    body.replaceChildren(el("div", { class: "error" }, [t("org_failed", { m: e.message })]));
    return;
  }
  const zoomGrids = (codes) => {
    const b = gridBounds(byCode, codes);
    if (b) map.flyToBounds(b, { maxZoom: 17, duration: 0.6, padding: [20, 20] });
  };
  const zoomPoint = (ll) => { if (ll) map.flyTo(ll, 18, { duration: 0.6 }); };
  // One mark per kind of warning (a group with four central households serving too many: one).
  const marks = (n) => [...new Set((n.warnings || []).map((w) => (typeof w === "string" ? w : w.check || w.code)))]
    .map((code) => el("span", { class: "bad" }, [` ⚠ ${warnWord(code)}`]));
  const counts = (n) => el("span", { class: "counts" }, [` ${t("org_counts", { members: n.members_n ?? 0, households: n.households_n ?? 0 })}`]);
  const centralItem = (c, group) => el("li", { class: `org-node central${centralBad(c.serves_n) ? " bad" : ""}`, "data-household": String(c.id) }, [
    button("link", `${t("org_central_short")} ${t("org_central_at", { building: c.building || "", unit: c.unit || "", room: c.room || "" })}`,
      () => { const ll = ctx.centralAt(c.id); if (ll) zoomPoint(ll); else zoomGrids(gridsOf(group)); }),
    el("span", { class: centralBad(c.serves_n) ? "bad" : "counts" }, [` ${t("org_serves", { n: c.serves_n })}`]),
    centralBad(c.serves_n) ? el("span", { class: "bad" }, [` ⚠ ${t("org_central_bad", { min: CENTRAL_MIN, max: CENTRAL_MAX })}`]) : null,
  ]);
  const node = (n, parent) => el("li", { class: `org-node ${n.kind}${(n.warnings || []).length ? " warned" : ""}`, "data-org": String(n.id), "data-kind": n.kind }, [
    el("b", {}, [`${word("org_kind", n.kind)} `]),
    button("link org-zoom", n.name, () => zoomGrids(gridsOf(n.kind === "group" ? parent || n : n))),
    counts(n), ...marks(n),
    n.kind === "branch" && (n.grid_codes || []).length ? el("span", { class: "counts" }, [` · ${(n.grid_codes || []).map((c) => c.slice(-3)).join("、")}`]) : null,
    (n.children || []).length || (n.central_households || []).length
      ? el("ul", {}, [...(n.children || []).map((c) => node(c, n)), ...(n.central_households || []).map((c) => centralItem(c, parent || n))])
      : null,
  ]);
  const committees = committeesOf(answer);
  body.removeAttribute("aria-busy");
  body.replaceChildren(committees.length ? el("ul", {}, committees.map((c) => node(c, null))) : el("div", { class: "muted" }, [t("org_tree_empty")]));
  document.body.dataset.orgTree = community;
}
