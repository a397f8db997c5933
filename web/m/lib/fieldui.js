// Small builders the patrol, visit and task screens share: elements with text set as text
// (never HTML), large buttons for one thumb, figures, and the screens' own styles.

/** An element of tag with props (className, text, id, dataset, type, …) and children. */
export function el(tag, props, children) {
  const n = document.createElement(tag);
  const p = props || {};
  Object.entries(p).forEach(([k, v]) => {
    if (v === undefined || v === null) return;
    if (k === "text") n.textContent = String(v);
    else if (k === "dataset") Object.assign(n.dataset, v);
    else if (k === "className" || k === "id" || k === "type" || k === "value" || k === "placeholder"
      || k === "disabled" || k === "hidden" || k === "accept" || k === "multiple" || k === "name"
      || k === "checked" || k === "rows" || k === "maxLength" || k === "inputMode") n[k] = v;
    else n.setAttribute(k, String(v));
  });
  (children || []).forEach((c) => { if (c !== null && c !== undefined) n.append(c); });
  return n;
}

/** A large button with words that calls onClick (once at a time: it is off while it runs). */
export function button(words, onClick, className, id) {
  const b = el("button", { type: "button", className: `f-btn ${className || ""}`.trim(), id, text: words });
  b.addEventListener("click", async () => {
    if (b.disabled) return;
    b.disabled = true;
    try {
      await onClick();
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

/** A figure: a small label over a large value (the value's element gets id when given). */
export function figure(label, value, id) {
  return el("div", { className: "f-figure" }, [
    el("span", { className: "f-figure-label", text: label }),
    el("strong", { className: "f-figure-value", id, text: value }),
  ]);
}

/** The card's own box inside the shell's card element. */
export function card(host, id) {
  const box = el("div", { className: "f-card", id });
  host.append(box);
  return box;
}

const STYLE = `
.f-card h3 { margin: 0 0 .4rem; font-size: 1.05rem; }
.f-btn { min-height: 48px; padding: .6rem 1rem; font-size: 1rem; border-radius: 10px;
  border: 1px solid #adb5bd; background: #f8f9fa; color: #212529; }
.f-btn:disabled { opacity: .6; }
.f-big { width: 100%; min-height: 64px; font-size: 1.25rem; font-weight: 600; margin: .5rem 0; }
.f-go { background: #2b8a3e; color: #fff; border-color: #2b8a3e; }
.f-stop { background: #c92a2a; color: #fff; border-color: #c92a2a; }
.f-primary { background: #1c7ed6; color: #fff; border-color: #1c7ed6; }
.f-figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(6.5rem, 1fr)); gap: .5rem; margin: .4rem 0; }
.f-figure { display: flex; flex-direction: column; background: #f1f3f5; border-radius: 8px; padding: .4rem .6rem; }
.f-figure-label { font-size: .8rem; color: #495057; }
.f-figure-value { font-size: 1.1rem; white-space: nowrap; }
.f-hint { color: #495057; font-size: .9rem; margin: .3rem 0; }
.f-live { color: #c92a2a; font-weight: 600; margin: .3rem 0; }
.f-shares, .f-list { list-style: none; margin: .3rem 0; padding: 0; }
.f-share { padding: .2rem 0; }
.f-list > li { margin: 0 0 .4rem; }
.f-row { display: block; width: 100%; text-align: left; min-height: 56px; padding: .5rem .7rem;
  border-radius: 10px; border: 1px solid #ced4da; background: #fff; font-size: 1rem; color: #212529; }
.f-row small { display: block; color: #495057; font-size: .85rem; }
.f-overdue { color: #c92a2a; font-weight: 600; }
.f-search { width: 100%; min-height: 48px; font-size: 1rem; padding: .4rem .6rem; box-sizing: border-box;
  border: 1px solid #adb5bd; border-radius: 10px; margin: .3rem 0; }
.f-outcomes { display: grid; grid-template-columns: 1fr 1fr; gap: .5rem; margin: .5rem 0; }
.f-outcomes .f-btn[aria-pressed="true"] { background: #1c7ed6; color: #fff; border-color: #1c7ed6; }
.f-note { width: 100%; min-height: 6rem; font-size: 1rem; padding: .5rem; box-sizing: border-box;
  border: 1px solid #adb5bd; border-radius: 10px; }
.f-tabs { display: flex; gap: .5rem; margin: .3rem 0; }
.f-tabs .f-btn { flex: 1; }
.f-tabs .f-btn[aria-pressed="true"] { background: #343a40; color: #fff; }
.f-refused { color: #c92a2a; }
.f-photos { display: flex; flex-wrap: wrap; gap: .3rem; margin: .3rem 0; }
.f-photos img { width: 72px; height: 72px; object-fit: cover; border-radius: 6px; }
.f-file { display: block; margin: .4rem 0; min-height: 48px; font-size: 1rem; }
`;

/** Adds the screens' styles to the page once. */
export function injectStyle() {
  if (document.getElementById("f-style")) return;
  document.head.append(el("style", { id: "f-style", text: STYLE }));
}
