// DOM from data with textContent only: names from the data are never parsed as HTML.

/** An element with attributes ("on…" ones become listeners) and children (nodes, or text). */
export function el(tag, attrs, children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  });
  (children || []).forEach((c) => { if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c))); });
  return node;
}

/** A two-column table of [label, value] pairs, leaving out pairs with no value. */
export function rows(pairs) {
  return el("table", {}, pairs.filter((p) => p[1] !== null && p[1] !== undefined && p[1] !== "")
    .map(([k, v]) => el("tr", {}, [el("td", {}, [k]), el("td", {}, [v])])));
}

/** A popup's content: a heading over a table of [label, value] pairs. */
export function card(title, pairs) {
  return el("div", { class: "popup" }, [el("h3", {}, [title]), rows(pairs)]);
}

/** A button of the given class (may be empty) running onclick, labelled with text. */
export function button(cls, text, onclick) {
  return el("button", cls ? { type: "button", class: cls, onclick } : { type: "button", onclick }, [text]);
}

/** A share (0..1) as a percentage with one decimal, or a dash when unknown. */
export const pct = (x) => (x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`);
