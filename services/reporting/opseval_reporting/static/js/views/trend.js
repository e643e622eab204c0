// 走势与预测: the score at each month's end (a chart over the grade bands, and its table), the
// year-end forecast with the points still recoverable, each leaf's status at the as-of date, and the
// deliverables due and delivered per month.
import { STATUS_LABEL, api, cnDate, el, notice, num, table } from "../core.js";
import { timelineChart } from "../chart.js";

export default {
  id: "trend",
  label: "走势与预测",
  needsProject: true,
  async render(root, ctx) {
    const { project, asOf } = ctx;
    const q = asOf ? `&as_of=${asOf}` : "";
    let data, points, bands;
    try {
      [data, points, bands] = await Promise.all([
        api(`/v1/projects/${project}/report?format=scores&evidence=count${q}`),
        api(`/v1/projects/${project}/series${asOf ? "?as_of=" + asOf : ""}`),
        api(`/v1/projects/${project}/grades`)]);
    } catch (e) {
      if (e.status !== 404) throw e;
      root.append(notice("该项目尚未评分。"));
      return;
    }
    root.append(timeline(points, bands), forecast(data), leafStatus(data), monthly(data.monthly || []));
  },
};

function forecast(data) {
  // Inside the period: the projected total at its end, its range, and the leaves with points still open.
  const f = data.forecast;
  const box = el("section", { class: "panel", id: "forecast" });
  if (!f || data.as_of >= f.period_end) {
    box.append(el("h2", {}, "期末预测"), el("p", { class: "muted" }, "评价期已结束，结果即为最终结果。"));
    return box;
  }
  const grades = f.grade_low === f.grade_high ? f.grade_low : `${f.grade_low}～${f.grade_high}`;
  box.append(el("h2", {}, `期末预测（评价期末 ${cnDate(f.period_end)}，已过 ${Math.round(f.elapsed * 100)}%）`),
    el("p", { id: "forecast-total" }, `预计期末 ${num(f.total)} 分（${f.grade}），区间 ${num(f.low)}～${num(f.high)} 分（${grades}）`),
    ...(f.assumptions || []).map(a => el("p", { class: "muted" }, a)),
    ...(f.leaves || []).map(l => el("div", { class: "row forecast", "data-id": l.id },
      el("span", { class: "name" }, l.name, el("span", { class: `status ${l.status}` }, STATUS_LABEL[l.status])),
      el("span", {}, `${num(l.score)} → ${num(l.projected)}`), el("span", {}, `+${num(l.recoverable)}`),
      el("span", { class: "muted" }, l.action))));
  return box;
}

function timeline(points, bands) {
  // The score at each month's end (and the as-of date): a chart over the grade bands, then the same as a table.
  const interim = (p) => Number(p.pending) > 0;
  return el("section", { class: "panel", id: "timeline" }, el("h2", {}, "得分走势（各月末）"),
    el("figure", { class: "chart-box" }, timelineChart(points, bands)),
    el("details", { class: "chart-data", open: true }, el("summary", {}, "数据表"),
      el("div", { class: "table-wrap" }, table([
        { label: "评价基准日", value: p => cnDate(p.as_of) },
        { label: "得分", numeric: true, value: p => num(p.total) },
        { label: "可评权重", numeric: true, value: p => num(p.assessable) },
        { label: "待评权重", numeric: true, value: p => num(p.pending) },
        { label: "等级", value: p => (interim(p) ? `${p.grade}（阶段性）` : p.grade) },
        { label: "问题数", numeric: true, value: p => String(p.findings) },
      ], points.map(p => ({ ...p, __attrs: { class: "point", "data-as-of": p.as_of } })), { id: "timeline-table" }))));
}

const STATUS_ORDER = ["scored", "partial", "pending", "no_evidence"];

function leafStatus(data) {
  // Each leaf's status at the as-of date, filterable by status; the counts say where the evaluation stands.
  const rows = [];
  for (const top of data.indicators || []) {
    const walk = (node, path) => {
      if (!node.children || !node.children.length) rows.push({ ...node, top: top.name, path: path.join(" › ") });
      else node.children.forEach(c => walk(c, node === top ? [] : [...path, node.name]));
    };
    walk(top, []);
  }
  const count = (s) => rows.filter(r => r.status === s).length;
  const box = el("section", { class: "panel", id: "leaf-status" });
  const body = el("div", { class: "table-wrap" });
  const levelTwo = rows.some(r => r.path);  // two-level systems have no 二级指标 column
  const show = (status) => body.replaceChildren(table([
    { label: "一级指标", value: r => r.top },
    ...(levelTwo ? [{ label: "二级指标", value: r => r.path || "—" }] : []),
    { label: "末级指标", value: r => r.name },
    { label: "权重", numeric: true, value: r => num(r.weight) },
    { label: "可评权重", numeric: true, value: r => num(r.assessable ?? r.weight) },
    { label: "得分", numeric: true, value: r => (r.status === "pending" ? "—" : num(r.score)) },
    { label: "状态", value: r => el("span", { class: `status ${r.status}` }, STATUS_LABEL[r.status] || r.status) },
  ], rows.filter(r => !status || r.status === status).map(r => ({ ...r, __attrs: { "data-id": r.id, "data-status": r.status } }))));
  const filter = el("select", { id: "leaf-status-filter", onchange: (ev) => show(ev.target.value) },
    el("option", { value: "" }, `全部（${rows.length}）`),
    ...STATUS_ORDER.map(s => el("option", { value: s }, `${STATUS_LABEL[s]}（${count(s)}）`)));
  box.append(el("h2", {}, `各末级指标评价状态（评价基准日 ${cnDate(data.as_of)}）`),
    el("div", { class: "filters" },
      el("p", { class: "status-counts", id: "leaf-status-counts" },
        ...STATUS_ORDER.map(s => el("span", { class: `status ${s}` }, `${STATUS_LABEL[s]} ${count(s)} 项`))),
      el("label", {}, "按状态筛选 ", filter)),
    body);
  show("");
  return box;
}

function monthly(rows) {
  const most = Math.max(1, ...rows.map(r => r.due));
  return el("section", { class: "panel", id: "monthly" }, el("h2", {}, "各月交付物：应交 / 按期交付"),
    rows.length ? "" : el("p", { class: "muted" }, "合同未约定按月交付的材料。"),
    ...rows.map(r => el("div", { class: "row month", "data-month": r.month },
      el("span", {}, r.month), el("span", {}, `${r.delivered} / ${r.due}`), el("span", {}, r.late ? `逾期 ${r.late}` : ""),
      el("div", { class: "bar" }, el("div", { style: `width:${100 * r.delivered / most}%;background:${r.delivered < r.due ? "#c62828" : "#3b7dd8"}` })))));
}
