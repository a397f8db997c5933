// Assessment (考评): for a month and a grouping (grid worker, grid, community, street, department),
// the figures ranked in a table and a bar chart (Chart.js, vendored), with CSV/XLSX downloads.
import { API, api, currentToken } from "../api.js";
import { el, pct } from "../dom.js";
import { t } from "../i18n.js";
import { inWords } from "./errors.js";
import { chartjs } from "./vendor.js";

export const GROUPS = ["worker", "grid", "community", "street", "department"];
// Groupings that also get the patrol and visit figures (GET /stats/patrols), joined by key.
export const FIELD_GROUPS = ["worker", "grid"];

const num = (x, digits = 1) => (x === null || x === undefined ? "—" : Number(x).toFixed(digits));
const pick = (g, ...keys) => { for (const k of keys) if (g[k] !== undefined) return g[k]; return null; };

/** The assessment view: form (month, group), chart canvas, table; say(text) for the status line. */
export function assessment(form, canvas, table, say) {
  const month = form.querySelector("#a-month");
  const group = form.querySelector("#a-group");
  const csv = form.querySelector("#a-csv");
  const xlsx = form.querySelector("#a-xlsx");
  let chart = null;
  let last = null;
  if (!month.value) {
    const now = new Date();
    month.value = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
  }
  function options() {
    const chosen = group.value || "worker";
    group.replaceChildren(...GROUPS.map((g) => el("option", { value: g }, [t(`group_${g}`)])));
    group.value = chosen;
  }
  const query = (format) => `${API}/stats/incidents?group_by=${group.value}&month=${month.value}&format=${format}`;
  const fieldQuery = () => `${API}/stats/patrols?group_by=${group.value}&month=${month.value}`;
  function links() {
    csv.href = query("csv");
    xlsx.href = query("xlsx");
  }

  function render(answer) {
    last = answer;
    const key = answer.group_by || group.value;
    const groups = answer.field ? withField(answer.groups || [], answer.field.groups || []) : answer.groups || [];
    const label = (g) => pick(g, "name", `${key}_name`) || pick(g, key, "key", "code") || "—";
    const cols = [
      ["board_rank", (g, i) => String(i + 1)],
      [`group_${key}`, (g) => label(g)],
      ["board_incidents", (g) => String(pick(g, "incidents", "total") ?? "—")],
      ["board_closed", (g) => String(pick(g, "closed") ?? "—")],
      ["board_on_time", (g) => pct(pick(g, "on_time_rate"))],
      ["board_rework", (g) => pct(pick(g, "rework_rate"))],
      ["board_satisfaction", (g) => num(pick(g, "satisfaction"))],
      ["board_mean_hours", (g) => num(pick(g, "mean_hours", "mean_hours_to_close"))],
      ["board_p90_hours", (g) => num(pick(g, "p90_hours", "p90_hours_to_close"))],
      ["board_overdue_now", (g) => String(pick(g, "overdue_now") ?? "—")],
    ];
    if (answer.field) {
      cols.push(
        ["patrol_share_month", (g) => pct(g.field ? g.field.patrol_share : null)],
        ["patrol_km", (g) => num(g.field ? g.field.patrol_km : null, 2)],
        ["patrol_hours", (g) => num(g.field ? g.field.patrol_hours : null, 1)],
        ["visit_made", (g) => String(g.field ? g.field.visits : "—")],
        ["visit_overdue_now", (g) => String(g.field ? g.field.visits_overdue : "—")],
      );
    }
    table.tHead.replaceChildren(el("tr", {}, cols.map(([k]) => el("th", {}, [t(k)]))));
    table.tBodies[0].replaceChildren(...groups.map((g, i) => el("tr", {}, cols.map(([, f]) => el("td", {}, [f(g, i)])))));
    if (!window.Chart) return;
    const data = {
      labels: groups.map(label),
      datasets: [
        { label: t("board_on_time"), data: groups.map((g) => (pick(g, "on_time_rate") ?? 0) * 100), backgroundColor: "#1565c0" },
        { label: t("board_satisfaction"), data: groups.map((g) => pick(g, "satisfaction") ?? 0), backgroundColor: "#ef6c00" },
      ],
    };
    if (answer.field) {
      data.datasets.push({ label: t("patrol_share_month"), data: groups.map((g) => ((g.field && g.field.patrol_share) ?? 0) * 100), backgroundColor: "#2e7d32" });
    }
    if (chart) chart.destroy();
    chart = new window.Chart(canvas, { type: "bar", data, options: { responsive: true, maintainAspectRatio: false, animation: false,
      scales: { y: { beginAtZero: true, max: 100 } } } });
  }

  // Only the answer to the latest request is shown (a slower earlier one may arrive after it).
  let asked = 0;
  async function show() {
    const mine = ++asked;
    links();
    say(t("loading"));
    try {
      const field = FIELD_GROUPS.includes(group.value) ? api(fieldQuery()) : Promise.resolve(null);
      const [answer, fieldAnswer] = await Promise.all([api(query("json")), field, chartjs().catch(() => null)]);
      if (mine !== asked) return;
      render(Object.assign({}, answer, { field: fieldAnswer }));
      say(t("board_assessed", { month: month.value, group: t(`group_${group.value}`) }));
    } catch (e) {
      if (mine === asked) say(inWords(e));
    }
  }
  // Downloads carry the token (a worker's figures name people): fetched, then saved as a file.
  async function download(ev, format) {
    ev.preventDefault();
    const headers = currentToken() ? { Authorization: `Bearer ${currentToken()}` } : {};
    try {
      const res = await fetch(query(format), { headers, cache: "no-store" });
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        throw Object.assign(new Error(body.detail || t(`http_${res.status}`)), { status: res.status, body });
      }
      const url = URL.createObjectURL(await res.blob());
      const name = `assessment-${group.value}-${month.value}.${format}`;
      const a = el("a", { href: url, download: name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      say(inWords(e));
    }
  }
  csv.addEventListener("click", (ev) => download(ev, "csv"));
  xlsx.addEventListener("click", (ev) => download(ev, "xlsx"));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); show(); });
  options();
  links();
  return { show, retranslate: () => { options(); if (last) render(last); } };
}

/**
 * The incident groups, each with its patrol and visit figures as .field (matched by key), then
 * the groups that have only field figures (a grid or worker without incidents that month).
 */
export function withField(groups, fieldGroups) {
  const byKey = new Map(fieldGroups.map((f) => [String(f.key), f]));
  const joined = groups.map((g) => Object.assign({}, g, { field: byKey.get(String(g.key)) || null }));
  const seen = new Set(groups.map((g) => String(g.key)));
  const rest = fieldGroups.filter((f) => !seen.has(String(f.key)))
    .map((f) => ({ key: f.key, [f.worker !== undefined ? "worker" : "grid"]: f.key, name: f.name, field: f }));
  return joined.concat(rest);
}
