// 评价总览: total and grade, the indicator tree with each leaf's status, and for the chosen leaf its
// score basis, its findings and the evidence behind a finding; the documents to download.
import { SEVERITY_LABEL, STATUS_LABEL, api, cnDate, download, el, gradeBadge, leavesOf, notice, num, pct, statusBadge } from "../core.js";

const DOCUMENTS = [["pdf", "报告（PDF）"], ["docx", "报告（Word）"], ["xlsx", "得分表（Excel）"], ["html", "报告（HTML）"],
  ["md", "报告（Markdown）"], ["scores", "得分（JSON）"], ["findings", "问题（JSON）"]];
// Opening the evidence browser on a leaf or a finding starts from its largest kind, unfiltered.
const FRESH_BROWSE = { kind: null, from: null, until: null, q: null, page: null };
const SELF_EVALUATION = [["selfeval.xlsx", "自评表（Excel）"], ["selfeval.docx", "自评表（Word）"]];

// The evaluation shown: today's as the fleet keeps it, or computed as of the chosen date.
export async function evaluation(project, asOf) {
  if (!asOf) {
    // Counts, not ids: a million-event project cites 2.5 million of them, tens of MB on every change.
    const [scores, findings] = await Promise.all([
      api(`/v1/projects/${project}/scores?evidence=count`), api(`/v1/projects/${project}/findings?evidence=count`)]);
    return { ...scores, findings: findings.findings };
  }
  const q = `as_of=${asOf}`;
  const [scores, findings] = await Promise.all([
    api(`/v1/projects/${project}/report?format=scores&evidence=count&${q}`), api(`/v1/projects/${project}/report?format=findings&${q}`)]);
  return { ...scores, findings };
}

export default {
  id: "overview",
  label: "评价总览",
  needsProject: true,
  async render(root, ctx) {
    const { project, asOf, params, navigate } = ctx;
    let data;
    try {
      data = await evaluation(project, asOf);
    } catch (e) {
      if (e.status !== 404 && e.status !== 503) throw e;
      root.append(notice(e.status === 404 ? "该项目尚未评分：佐证材料到达后将自动评价。" : e.message, e.status === 503 ? "error" : ""));
      const detail = await api(`/v1/projects/${project}`).catch(() => null);
      if (detail) root.append(health(detail.status));
      return;
    }
    const leaves = leavesOf(data.indicators);
    const interim = data.pending != null && Number(data.pending) > 0;
    const summary = el("section", { class: "panel", id: "summary", "aria-label": "总分" },
      el("h2", { id: "title" }, ctx.info ? ctx.info.name : data.name || project),
      el("div", {}, el("span", { class: "total", id: "total" }, num(data.total)), gradeBadge(data.grade, interim, "grade"),
        interim ? el("span", { class: "assessed muted", id: "assessed" }, `可评权重 ${num(data.assessable)} 分中得 ${num(data.total)} 分 · 待评 ${num(data.pending)} 分`) : ""),
      el("p", { class: "muted" }, `评价基准日 ${cnDate(data.as_of)}` + (asOf ? "（按所选日期重新计算）" : "") + ` · 问题 ${data.findings.length} 项`),
      health(data.evaluation),
      (data.warnings || []).length ? el("details", {}, el("summary", {}, `提示 ${data.warnings.length} 条`), el("ul", {}, ...data.warnings.map(w => el("li", {}, w)))) : "");

    const selected = params.get("leaf");
    const tree = el("section", { class: "panel", "aria-label": "指标体系" }, el("h2", {}, "指标得分"),
      el("div", { class: "row head", "aria-hidden": "true" }, el("span", {}, "指标"), el("span", {}, "得分 / 分值"), el("span", {}, "得分率"), el("span", {})),
      el("div", { id: "tree", role: "tree" }, ...data.indicators.map(n => node(n, selected, navigate))));

    const side = el("section", { class: "panel side", id: "detail-panel", "aria-label": "指标说明与问题" }, el("h2", {}, "指标说明与问题"),
      el("div", { id: "detail" }, selected && leaves[selected]
        ? leafDetail(leaves[selected], data.findings, params.get("finding"), project, navigate, data.evidence_counts)
        : el("p", { class: "muted" }, "点击一个末级指标查看得分依据、问题与佐证材料。")));

    const docs = asOf ? `&as_of=${asOf}` : "";
    const formats = ctx.info && ctx.info.form === "self_evaluation" ? [...DOCUMENTS, ...SELF_EVALUATION] : DOCUMENTS;
    const downloads = el("section", { class: "panel", id: "downloads", "aria-label": "文档下载" }, el("h2", {}, "文档下载" + (asOf ? `（评价基准日 ${cnDate(asOf)}）` : "")),
      el("div", { class: "downloads" }, ...formats.map(([f, label]) => el("span", {}, el("a", {
        href: `/v1/projects/${project}/report?format=${f}${docs}`,
        onclick: (ev) => { ev.preventDefault(); download(`/v1/projects/${project}/report?format=${f}${docs}`, `${project}-${f}`, ev.currentTarget); },
      }, label)))));
    root.append(summary, el("div", { class: "split" }, el("div", {}, tree, downloads), side));
    if (selected && !ctx.live) requestAnimationFrame(() => document.getElementById("detail-panel")?.scrollIntoView({ block: "nearest" }));
  },
};

function node(n, selected, navigate) {
  const leaf = !n.children || n.children.length === 0;
  const status = n.status || "scored";
  const row = el("div", {
    class: "row" + (leaf ? " leaf" : "") + (status === "pending" ? " pending" : "") + (n.id === selected ? " selected" : ""),
    "data-id": n.id, "data-status": status, role: "treeitem",
    ...(leaf ? { tabindex: "0", "aria-selected": n.id === selected ? "true" : "false" } : {}),
  },
  el("span", { class: "name" }, n.name, statusBadge(status)),
  // Pending: nothing due or no judgment yet — no points either way, so no 0.00% that reads as a failure.
  el("span", {}, `${status === "pending" ? "—" : num(n.score)} / ${num(n.weight)}`), el("span", {}, status === "pending" ? "待评" : pct(n.rate)),
  el("div", { class: "bar", "aria-hidden": "true" }, el("div", { style: `width:${Math.min(100, n.rate * 100)}%` })));
  if (leaf) {
    const open = () => navigate({ leaf: n.id, finding: null }, { replace: true });
    row.addEventListener("click", open);
    row.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); open(); } });
  }
  const box = el("div", { class: "node" }, row);
  if (!leaf) box.append(el("div", { class: "children", role: "group" }, ...n.children.map(c => node(c, selected, navigate))));
  return box;
}

function leafDetail(n, allFindings, selectedFinding, project, navigate, counts) {
  const bearing = new Set(n.findings || []);  // every finding that bears on this leaf
  const findings = allFindings.filter(f => bearing.has(f.id));
  const status = n.status || "scored";
  const cited = counts[n.id] || 0;  // counted by the API: the tree is read without the ids
  const evidence = el("div", { id: "evidence" });
  if (selectedFinding && bearing.has(selectedFinding)) findingEvidence(project, selectedFinding, evidence, navigate);
  return el("div", {},
    el("h3", {}, n.name),
    el("p", {}, `得分 ${num(n.score)} / ${num(n.weight)}（${pct(n.rate)}）` + (n.target ? `，指标值 ${n.target}` : "") + (n.actual ? `，实际 ${n.actual}` : "")),
    status === "scored" ? "" : el("p", { class: "status-line" }, `评价状态：${STATUS_LABEL[status]}` + (status === "pending" ? "（未到期或尚未判定，不计分）" : n.assessable != null ? `，已评权重 ${num(n.assessable)}` : "")),
    n.criterion ? el("p", { class: "muted" }, "评分标准：" + n.criterion) : "",
    el("p", { class: "muted" }, n.explanation || ""),
    el("p", { class: "muted" }, `佐证记录 ${cited} 条 `,
      cited ? el("a", { href: "#", onclick: (ev) => { ev.preventDefault(); navigate({ view: "evidence", leaf: n.id, finding: null, ...FRESH_BROWSE }); } }, "查看全部") : ""),
    el("h3", {}, `问题（${findings.length}）`),
    ...findings.map(f => el("button", {
      type: "button", class: `finding ${f.severity}` + (f.id === selectedFinding ? " selected" : ""), "data-id": f.id,
      onclick: () => navigate({ finding: f.id }, { replace: true }),
    }, `【${SEVERITY_LABEL[f.severity]}】${f.message}`)),
    evidence);
}

const SHOWN = 20;  // the evidence of a finding shown beside it; the evidence browser pages the rest

async function findingEvidence(project, findingId, box, navigate) {
  box.replaceChildren(el("p", { class: "muted" }, "正在加载佐证材料…"));
  try {
    const data = await api(`/v1/projects/${project}/findings/${encodeURIComponent(findingId)}/evidence?limit=${SHOWN}`);
    box.replaceChildren(el("h3", {}, `佐证材料（${data.total}）`),
      ...data.evidence.map(e => el("div", { class: "evidence", "data-id": e.id },
        el("div", {}, `${cnDate(e.occurred_at)} · ${e.kind_label || e.kind}`), el("div", { class: "muted" }, e.id))),
      el("p", { class: "muted" }, data.total > data.evidence.length ? `另有 ${data.total - data.evidence.length} 条。` : "",
        el("a", { href: "#", id: "finding-evidence-all", onclick: (ev) => { ev.preventDefault(); navigate({ view: "evidence", finding: findingId, leaf: null, ...FRESH_BROWSE }); } }, "在佐证材料页查看全部")));
  } catch (e) {
    box.replaceChildren(notice(e.message, "error"));
  }
}

// A project whose evaluation fails, or with events set aside, says so (never a silently frozen score).
export function health(status) {
  const items = [];
  for (const [service, s] of Object.entries((status && status.services) || {})) {
    if (s.state === "failing") items.push(el("div", { class: "alert", "data-service": service, role: "alert" }, `评价失败（${service === "rules" ? "规则服务" : "评分服务"}，已重试 ${s.failures} 次），得分停留在上次评价：${s.error}`));
  }
  for (const d of (status && status.set_aside) || []) {
    items.push(el("div", { class: "alert notice-warn", "data-event": d.event }, `佐证材料 ${d.event} 已搁置，未计入评价（${d.field}：${d.reason}）；请更正或撤回该记录。`));
  }
  return el("div", { id: "health" }, ...items);
}
