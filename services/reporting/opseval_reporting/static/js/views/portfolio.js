// 项目对比: the projects this key may read side by side — total, grade, level-1 rates, findings by
// severity — ranked; and benchmarking by indicator (标杆管理法): each project's rate of one
// indicator, the best as the 标杆 and every other's gap to it. Both export to Excel.
// Parameters in the address: compare (project ids, comma-separated; all when absent), indicator.
import { api, cnDate, download, el, gradeBadge, notice, num, pct, table } from "../core.js";

const KIND_GROUP = { level1: "一级指标", name: "末级指标（名称相同）", id: "末级指标（编号相同）" };

export default {
  id: "portfolio",
  label: "项目对比",
  needsProject: false,
  async render(root, ctx) {
    const all = ctx.projects;
    if (!all.length) { root.append(notice("当前密钥没有可访问的项目。")); return; }
    const compare = (ctx.params.get("compare") || "").split(",").filter(id => all.some(p => p.id === id));
    const chosen = compare.length ? compare : all.map(p => p.id);
    const query = compare.length ? `projects=${encodeURIComponent(compare.join(","))}` : "";
    root.append(picker(all, ctx.live ? picksOnScreen(all) || chosen : chosen, ctx));
    // The comparison reads each project's current result; an as-of date chosen above does not apply here.
    if (ctx.asOf) root.append(notice(`项目对比按各项目的当前评价结果，不随所选评价基准日（${cnDate(ctx.asOf)}）变化。`));
    if (!compare.length && ctx.params.get("compare")) root.append(notice("所选项目均不可访问，已显示全部项目。"));
    const data = await api(`/v1/portfolio${query ? "?" + query : ""}`);
    root.append(ranking(data, query, ctx));
    const choices = data.indicators;
    if (!choices.length) return;
    const wanted = ctx.params.get("indicator");
    const indicator = choices.some(c => c.key === wanted) ? wanted : choices[0].key;
    const bench = await api(`/v1/portfolio/benchmark?indicator=${encodeURIComponent(indicator)}${query ? "&" + query : ""}`);
    root.append(benchmarking(bench, choices, indicator, query, ctx));
  },
};

function picksOnScreen(all) {
  // A live score change renders the view again: the boxes the evaluator ticked or cleared and has not
  // applied yet are kept, or clicking 对比所选项目 next would compare what they had just cleared.
  const shown = document.querySelectorAll("#compare-picker input[name=compare]");
  if (!shown.length) return null;
  const ticked = [...shown].filter(i => i.checked).map(i => i.value);
  return all.map(p => p.id).filter(id => ticked.includes(id));
}

function picker(all, chosen, ctx) {
  // Which projects to compare: all by default; the choice lives in the address (compare=a,b).
  const boxes = all.map(p => el("label", { class: "pick" },
    el("input", { type: "checkbox", value: p.id, checked: chosen.includes(p.id), name: "compare" }), " ", p.name));
  const apply = () => {
    const ids = boxes.map(b => b.querySelector("input")).filter(i => i.checked).map(i => i.value);
    status.textContent = ids.length ? "" : "请至少选择一个项目。";
    if (ids.length) ctx.navigate({ compare: ids.length === all.length ? null : ids.join(",") });
  };
  const status = el("span", { class: "form-error", role: "alert" });
  return el("section", { class: "panel", id: "compare-picker" },
    el("fieldset", { class: "picks" }, el("legend", {}, `参与对比的项目（${chosen.length} / ${all.length}）`), ...boxes),
    el("div", { class: "filters" }, el("button", { type: "button", id: "compare-apply", class: "primary", onclick: apply }, "对比所选项目"),
      el("button", { type: "button", onclick: () => ctx.navigate({ compare: null }) }, "全部项目"), status));
}

function rateCell(rate, muted) {
  // A rate as a percentage with a bar, so a column can be read at a glance.
  return el("span", { class: "rate" + (muted ? " muted" : "") }, el("span", { class: "bar" },
    el("div", { style: `width:${Math.max(0, Math.min(100, Number(rate) * 100))}%` })), pct(rate));
}

function ranking(data, query, ctx) {
  const levels = data.level1;
  const columns = [
    { label: "排名", numeric: true, value: e => (e.rank === null ? "—" : String(e.rank)) },
    { label: "项目", value: e => el("a", { href: `?project=${e.project}`, onclick: (ev) => { ev.preventDefault(); ctx.navigate({ project: e.project, view: "overview" }); } }, e.name) },
    { label: "评价基准日", value: e => (e.as_of ? cnDate(e.as_of) : "—") },
    { label: "总分", numeric: true, value: e => (e.total === null ? "—" : num(e.total)) },
    { label: "等级", value: e => (e.grade ? gradeBadge(e.grade, e.interim)
      : el("span", { class: "muted" }, e.as_of ? "待评（尚无可评内容）" : "尚未评分")) },
    ...levels.map(name => ({
      label: el("span", {}, name, el("br"), "得分率"), value: e => {
        if (e.total === null) return "—";
        const top = e.level1.find(t => t.key === name);
        return top ? rateCell(top.rate, top.status === "pending") : el("span", { class: "muted absent" }, "无此指标");
      },
    })),
    { label: el("span", {}, "问题数", el("br"), "严重 / 一般 / 提示"), numeric: true, value: e => (e.total === null ? "—"
      : el("span", { class: "counts", title: `严重 ${e.findings.high} 项，一般 ${e.findings.medium} 项，提示 ${e.findings.low} 项` },
        severity(e.findings.high, "high"), " / ", severity(e.findings.medium, "medium"), " / ", String(e.findings.low))) },
  ];
  const exportButton = el("button", { type: "button", id: "portfolio-export" }, "导出 Excel");
  exportButton.addEventListener("click", () => download(`/v1/portfolio.xlsx${query ? "?" + query : ""}`, "portfolio.xlsx", exportButton));
  const interim = data.entries.some(e => e.interim);
  return el("section", { class: "panel", id: "portfolio" },
    el("h2", {}, `项目绩效对比（${data.entries.length} 个项目，按总分排名）`),
    el("div", { class: "downloads" }, exportButton),
    el("div", { class: "table-wrap" }, table(columns, data.entries.map(e => ({ ...e, __attrs: { "data-project": e.project } })), { id: "portfolio-table" })),
    el("p", { class: "muted" }, "得分率 = 一级指标得分 ÷ 该指标权重；问题按严重程度计数。",
      interim ? "标注“阶段性”的项目尚有待评权重，其总分与等级随评价推进还会变化。" : ""));
}

const severity = (n, kind) => (n ? el("span", { class: `count ${kind}` }, String(n)) : "0");

function benchmarking(bench, choices, indicator, query, ctx) {
  const select = el("select", { id: "benchmark-indicator", onchange: (ev) => ctx.navigate({ indicator: ev.target.value }) },
    ...Object.entries(KIND_GROUP).map(([kind, label]) => {
      const options = choices.filter(c => c.kind === kind);
      return options.length ? el("optgroup", { label }, ...options.map(c =>
        el("option", { value: c.key, selected: c.key === indicator }, `${c.label}（${c.projects} 个项目）`))) : "";
    }));
  const exportButton = el("button", { type: "button", id: "benchmark-export" }, "导出标杆对比");
  exportButton.addEventListener("click", () => download(
    `/v1/portfolio/benchmark.xlsx?indicator=${encodeURIComponent(indicator)}${query ? "&" + query : ""}`, "benchmark.xlsx", exportButton));
  const leader = bench.rows.find(r => r.benchmark);
  let place = 0;
  const rows = bench.rows.map(r => ({ ...r, place: r.rate === null ? null : ++place,
    __attrs: { "data-project": r.project, class: r.benchmark ? "benchmark" : r.present ? "" : "absent" } }));
  return el("section", { class: "panel", id: "benchmark" },
    el("h2", {}, "标杆对比（标杆管理法）"),
    el("div", { class: "filters" }, el("label", {}, "对比指标 ", select), exportButton),
    el("p", { id: "benchmark-summary" }, leader
      ? `“${bench.label}”得分率最高的是 ${leader.project_name}（${pct(leader.rate)}），以其为标杆，其余项目列出与标杆的差距。`
      : `“${bench.label}”尚无可比较的得分率。`),
    el("div", { class: "table-wrap" }, table([
      { label: "排名", numeric: true, value: r => (r.place === null ? "—" : String(r.place)) },
      { label: "项目", value: r => r.project_name },
      { label: "指标", value: r => (r.present ? r.indicator_name : el("span", { class: "muted" }, "—")) },
      { label: "权重", numeric: true, value: r => (r.weight === null ? "—" : num(r.weight)) },
      { label: "得分", numeric: true, value: r => (r.score === null ? "—" : num(r.score)) },
      { label: "得分率", value: r => (r.rate === null ? "—" : rateCell(r.rate)) },
      { label: "与标杆差距", numeric: true, value: r => (r.benchmark ? el("span", { class: "flag" }, "标杆") : r.gap === null ? "—" : Number(r.gap) === 0 ? "与标杆持平" : `−${(Number(r.gap) * 100).toFixed(2)} 个百分点`) },
      { label: "说明", value: r => r.note || (r.status === "partial" ? "部分已评" : r.status === "no_evidence" ? "无佐证" : "") },
    ], rows, { id: "benchmark-table" })));
}
