// The queues: tabs with their counts, the rows of the chosen queue (time left counting down),
// rows selected for a bulk step.
import { el } from "../dom.js";
import { t } from "../i18n.js";
import { word } from "../words.js";
import { stateWord } from "./names.js";
import { timeLeft, when } from "./time.js";

/** A queue's name in words. */
export const queueName = (q) => t(`queue_${q}`);

/** Renders the tabs of queues (with counts, the chosen one marked) into nav; choose(q) on click. */
export function renderTabs(nav, board, chosen, extra, choose) {
  const tabs = board.queues.map((q) => el("button", {
    type: "button", role: "tab", "data-queue": q, "aria-selected": String(q === chosen),
    onclick: () => choose(q),
  }, [queueName(q), el("span", { class: "count" }, [board.counts[q]])]));
  extra.forEach(([key, label]) => tabs.push(el("button", {
    type: "button", role: "tab", "data-queue": key, "aria-selected": String(key === chosen),
    onclick: () => choose(key),
  }, [label])));
  nav.replaceChildren(...tabs);
}

/** The deadline a row counts down to: its due time, else (in a pool) the window's end, in ms. */
function deadline(row, readAt) {
  if (row.seconds_left !== null && row.seconds_left !== undefined) return readAt + row.seconds_left * 1000;
  if (row.pool_seconds_left !== null && row.pool_seconds_left !== undefined) return readAt + row.pool_seconds_left * 1000;
  return null;
}

/** Sets a time-left cell from its deadline (data-deadline), now. */
export function tickCell(cell, now = Date.now()) {
  const raw = cell.dataset.deadline;
  const { text, cls } = timeLeft(raw ? Number(raw) : null, now);
  const pool = cell.dataset.pool === "1" && cls !== "red" ? t("board_pool_prefix") : "";
  cell.textContent = pool + text;
  cell.className = `left ${cls}`;
}

function place(row) {
  const parts = [
    row.street_name || row.street_code,
    row.community_name || row.community_code,
    row.grid_name || row.grid_code,
  ].filter(Boolean);
  return el("span", { title: [row.street_code, row.community_code, row.grid_code].filter(Boolean).join(" / ") },
    [parts.join(" / ") || "—"]);
}

function tasks(row) {
  const s = row.tasks;
  if (!s || !s.total) return "—";
  return el("span", { title: s.assignees.join(t("oh_list_sep")) },
    [t("board_tasks_summary", { answered: s.answered, total: s.total, open: s.open })]);
}

/**
 * Renders rows into tbody. selected: a Set of ids (kept across reads); open(row) on a click of
 * the row; changedSelection() when a box is ticked. readAt: when the rows were read (ms).
 */
export function renderRows(tbody, rows, { selected, openId, open, changedSelection, readAt }) {
  const now = Date.now();
  tbody.replaceChildren(...rows.map((row) => {
    const box = el("input", { type: "checkbox", class: "pick", "aria-label": `#${row.id}` });
    box.checked = selected.has(row.id);
    box.addEventListener("click", (ev) => ev.stopPropagation());
    box.addEventListener("change", () => {
      if (box.checked) selected.add(row.id); else selected.delete(row.id);
      changedSelection();
    });
    const left = el("td", { class: "left" });
    const d = deadline(row, readAt);
    if (d !== null) left.dataset.deadline = String(d);
    if (row.seconds_left === null && row.pool_seconds_left !== null) left.dataset.pool = "1";
    tickCell(left, now);
    const tr = el("tr", { "data-id": String(row.id), "data-version": String(row.version), class: row.id === openId ? "open" : "" }, [
      el("td", {}, [box]),
      el("td", {}, [`#${row.id}`]),
      left,
      el("td", {}, [row.category]),
      el("td", { class: `sev-${row.severity}` }, [word("severity", row.severity)]),
      el("td", {}, [stateWord(row.status)]),
      el("td", { class: "place" }, [place(row)]),
      el("td", {}, [when(row.reported_at)]),
      el("td", {}, [tasks(row)]),
    ]);
    tr.addEventListener("click", () => open(row));
    return tr;
  }));
}
