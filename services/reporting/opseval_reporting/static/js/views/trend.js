// 走势与预测: the score at each month's end, the year-end forecast with the points still
// recoverable, and the deliverables due and delivered per month.
import { STATUS_LABEL, api, cnDate, el, notice, num } from "../core.js";

export default {
  id: "trend",
  label: "走势与预测",
  needsProject: true,
  async render(root, ctx) {
    const { project, asOf } = ctx;
    const q = asOf ? `&as_of=${asOf}` : "";
    let data, points;
    try {
      [data, points] = await Promise.all([
        api(`/v1/projects/${project}/report?format=scores${q}`),
        api(`/v1/projects/${project}/series${asOf ? "?as_of=" + asOf : ""}`)]);
    } catch (e) {
      if (e.status !== 404) throw e;
      root.append(notice("该项目尚未评分。"));
      return;
    }
    root.append(forecast(data), timeline(points), monthly(data.monthly || []));
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

function timeline(points) {
  // The score at each month's end (and the as-of date): earned, and the weight assessable then.
  return el("section", { class: "panel", id: "timeline" }, el("h2", {}, "得分走势（各月末）"),
    ...points.map(p => el("div", { class: "row point", "data-as-of": p.as_of },
      el("span", {}, cnDate(p.as_of)), el("span", {}, `${num(p.total)} / ${num(p.assessable)}`),
      el("span", {}, p.pending > 0 ? `${p.grade}（阶段性）` : p.grade),
      el("div", { class: "bar", title: `可评 ${num(p.assessable)} 分，待评 ${num(p.pending)} 分` },
        el("div", { style: `width:${Math.min(100, Number(p.total))}%` })))));
}

function monthly(rows) {
  const most = Math.max(1, ...rows.map(r => r.due));
  return el("section", { class: "panel", id: "monthly" }, el("h2", {}, "各月交付物：应交 / 按期交付"),
    rows.length ? "" : el("p", { class: "muted" }, "合同未约定按月交付的材料。"),
    ...rows.map(r => el("div", { class: "row month", "data-month": r.month },
      el("span", {}, r.month), el("span", {}, `${r.delivered} / ${r.due}`), el("span", {}, r.late ? `逾期 ${r.late}` : ""),
      el("div", { class: "bar" }, el("div", { style: `width:${100 * r.delivered / most}%;background:${r.delivered < r.due ? "#c62828" : "#3b7dd8"}` })))));
}
