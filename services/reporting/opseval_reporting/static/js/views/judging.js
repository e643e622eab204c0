// 评审打分: every judged leaf and checklist point, those still to judge (待评) first. Each has its
// criterion (评分标准), its maximum, what the facts give if the definition computes it, the judgment
// in force, and a form: 达标 / 部分达标 / 未达标, the points (0 … the maximum) and the reason. A
// judgment is an evidence event sent to intake under the evaluator's key; re-judging one in force is
// an override (改判) naming it with a reason. The score moves when the fleet has scored it (the shell
// renders this view again on the pushed score change).
import { cnDate, cnTime, el, gradeBadge, notice, num, toIntake, api } from "../core.js";

const VERDICTS = [["met", "达标"], ["partly", "部分达标"], ["not_met", "未达标"]];
const STATUS_TEXT = { to_judge: "待评", computed: "按事实计算", judged: "已评" };
let toJudge = null; // for the tab's label, once known
// What the evaluator has typed but not sent, by form: a pushed score change renders the view again
// (another evaluator's judgment, or one's own just sent) and must not wipe a half-written reason.
const drafts = new Map();
let draftsProject = null;

function ensureStyles() {
  if (document.getElementById("judging-css")) return;
  document.head.append(el("link", { id: "judging-css", rel: "stylesheet", href: "/static/judging.css" }));
}

function setTabCount(count) {
  toJudge = count;
  const tab = document.querySelector('#tabs [data-view="judging"]');
  if (tab) tab.textContent = view.label;
}

// One read of a project's list at a time: the tab's count (read once per project chosen, whatever
// tab is open) and the view's first render share it. Not cached past its answer, so the view never
// shows a stale list; no timer either (an idle tab reads nothing).
let countedProject = null;
let inFlight = null;
function load(project) {
  if (inFlight && inFlight.project === project) return inFlight.promise;
  const promise = api(`/v1/projects/${project}/judgments`).finally(() => { if (inFlight?.promise === promise) inFlight = null; });
  inFlight = { project, promise };
  return promise;
}

const view = {
  id: "judging",
  get label() {
    const project = new URLSearchParams(location.search).get("project");
    if (project && project !== countedProject) {
      countedProject = project;
      toJudge = null;
      load(project).then(d => { if (countedProject === project) setTabCount(d.to_judge); }).catch(() => { /* the view says why when opened */ });
    }
    return toJudge == null ? "评审打分" : `评审打分（待评 ${toJudge}）`;
  },
  needsProject: true,
  async render(root, ctx) {
    ensureStyles();
    if (draftsProject !== ctx.project) { drafts.clear(); draftsProject = ctx.project; }
    const focused = document.activeElement && root !== document.activeElement ? document.activeElement.id : "";
    const { project } = ctx;
    const data = await (ctx.live ? api(`/v1/projects/${project}/judgments`) : load(project));
    countedProject = project;
    setTabCount(data.to_judge);
    const interim = data.pending != null && Number(data.pending) > 0;
    root.append(
      el("section", { class: "panel", id: "judging-summary", "aria-label": "评审概况" },
        el("h2", {}, "评审打分"),
        el("div", { class: "judging-head" },
          el("span", {}, "当前总分 ", el("span", { class: "total", id: "judging-total" }, num(data.total))),
          data.grade ? gradeBadge(data.grade, interim, "judging-grade") : "",
          el("span", { class: "judging-counts", id: "judging-counts" },
            `待评 ${data.to_judge} 项 · 已评 ${data.judged} 项 · 共 ${data.items.length} 项`
            + (data.contested ? ` · 改判冲突 ${data.contested} 项待复核` : ""))),
        el("p", { class: "muted" }, `评价基准日 ${cnDate(data.as_of)}：评分记为该日评定（${cnTime(data.judge_at)}），计入该日及以后的评价。`
          + (ctx.asOf ? `所选历史日期 ${cnDate(ctx.asOf)} 不影响评审打分。` : "")),
        el("p", { class: "status-line", id: "judging-flash", role: "status", "aria-live": "polite" }, "")),
    );
    if (!data.items.length) {
      root.append(notice("该项目的指标体系中没有需要评价组判定的指标或评价要点。"));
      return;
    }
    // The shell swaps this content in once render resolves: then the focus goes back where it was.
    if (ctx.live && focused) setTimeout(() => document.getElementById(focused)?.focus(), 0);
    const groups = [["to_judge", "待评"], ["computed", "按事实计算（可改判）"], ["judged", "已评（可改判）"]];
    for (const [status, title] of groups) {
      const items = data.items.filter(i => i.status === status);
      if (!items.length) continue;
      root.append(el("section", { class: "panel judging-group", "data-status": status, "aria-label": title },
        el("h2", {}, `${title}（${items.length}）`),
        el("ol", { class: "judge-list" }, ...byLeaf(items).map(run => run.length === 1 && !run[0].point
          ? el("li", {}, card(run[0], data, ctx))
          : el("li", { class: "judge-leaf" },
            el("div", { class: "judge-leaf-head" }, run[0].path.join(" › ")),
            el("ol", { class: "judge-list" }, ...run.map(item => el("li", {}, card(item, data, ctx)))))))));
    }
  },
};
export default view;

// Consecutive points of one leaf under one heading: the path is said once.
function byLeaf(items) {
  const runs = [];
  for (const item of items) {
    const last = runs[runs.length - 1];
    if (last && item.point && last[0].point && last[0].indicator === item.indicator) last.push(item);
    else runs.push([item]);
  }
  return runs;
}

const itemKey = (item) => item.point ? `${item.indicator}.${item.point}` : item.indicator;

function card(item, data, ctx) {
  const key = itemKey(item);
  const domId = "judge-" + key.replace(/[^A-Za-z0-9_-]/g, "-");
  const held = item.judgment;
  const body = el("div", { class: "judge-body" });
  const article = el("article", { class: `judge-item ${item.status}`, id: domId, "data-key": key, "aria-labelledby": domId + "-title" },
    el("div", { class: "judge-title" },
      el("div", {},
        item.point ? "" : el("div", { class: "muted judge-path" }, item.path.slice(0, -1).join(" › ")),
        el("h3", { id: domId + "-title" }, item.name)),
      el("div", { class: "judge-max" }, el("span", { class: `status ${item.status === "to_judge" ? "pending" : "partial"}` }, STATUS_TEXT[item.status]),
        ` 满分 ${num(item.max)} 分`)),
    item.point ? "" : el("p", { class: "judge-criterion" }, el("b", {}, "评分标准："), item.criterion),
    item.computed ? el("p", { class: "judge-computed" }, el("b", {}, "计算结果："), item.computed.explanation,
      el("span", { class: "muted" }, `（佐证 ${item.computed.evidence.length} 条` + (item.computed.findings.length ? `，问题 ${item.computed.findings.length} 项` : "") + "）"),
      item.computed.evidence.length ? el("a", { href: "#", class: "judge-evidence", onclick: (ev) => { ev.preventDefault(); ctx.navigate({ view: "overview", leaf: item.indicator, finding: null }); } }, "查看得分依据") : "") : "",
    !item.computed && item.findings.length ? el("p", { class: "judge-findings" }, `相关问题 ${item.findings.length} 项 `,
      el("a", { href: "#", onclick: (ev) => { ev.preventDefault(); ctx.navigate({ view: "overview", leaf: item.indicator, finding: null }); } }, "查看")) : "",
    held ? heldLine(held) : "",
    item.competing.length ? competingNote(item.competing) : "",
    body);
  if (held) {
    const open = el("button", { type: "button", class: "judge-override", "aria-expanded": "false", "aria-controls": domId + "-form" }, "改判");
    open.addEventListener("click", () => {
      open.hidden = true;
      open.setAttribute("aria-expanded", "true");
      const cancel = () => { drafts.delete(domId); body.querySelector("form")?.remove(); open.hidden = false; open.setAttribute("aria-expanded", "false"); open.focus(); };
      body.append(form(item, data, domId, ctx, cancel));
      body.querySelector("input[type=radio]")?.focus();
    });
    body.append(open);
    if (drafts.has(domId)) open.click(); // an override being written stays open
  } else {
    body.append(form(item, data, domId, ctx, null));
  }
  return article;
}

function heldLine(held) {
  return el("p", { class: "judge-held" }, el("b", {}, "现行评分："), `${num(held.awarded)} 分。理由：${held.reason}`,
    el("span", { class: "muted" }, `（${held.by} · ${cnTime(held.recorded_at)}${held.counted ? "" : " · 晚于评价基准日，暂不计入"}）`));
}

// Overrides of the same judgment made at the same time as the one in force: the later stands, and
// the evaluators settle it by overriding the judgment in force once they have read both.
function competingNote(competing) {
  return el("div", { class: "judge-contested", role: "note" },
    el("b", {}, `改判冲突：`), `另有 ${competing.length} 条改判与现行评分同时针对同一评分记录，按提交时间以较晚者为现行评分。请复核后改判以确认。`,
    el("ul", {}, ...competing.map(c => el("li", {}, `${num(c.awarded)} 分。理由：${c.reason}`,
      el("span", { class: "muted" }, `（${c.by} · ${cnTime(c.recorded_at)}）`)))));
}

function verdictOf(points, max) {
  if (points >= max) return "met";
  return points <= 0 ? "not_met" : "partly";
}

function form(item, data, domId, ctx, cancel) {
  const max = Number(item.max);
  const held = item.judgment;
  const name = domId + "-verdict";
  const points = el("input", { type: "number", id: domId + "-points", name: "points", min: "0", max: String(max), step: "0.01", required: true, inputmode: "decimal" });
  const reason = el("textarea", { id: domId + "-reason", name: "reason", rows: 2, maxlength: "500", required: true,
    placeholder: held ? "说明为何改判（必填）" : "说明评定依据（必填）" });
  const error = el("p", { class: "form-error", id: domId + "-error", role: "alert" });
  const status = el("span", { class: "judge-status", role: "status", "aria-live": "polite" });
  const submit = el("button", { type: "submit", class: "primary" }, held ? "提交改判" : "提交评分");
  const radios = VERDICTS.map(([value, label]) => el("label", { class: "verdict" },
    el("input", { type: "radio", name, value, id: `${domId}-${value}`, required: true }), label));
  const verdictBox = el("fieldset", { class: "verdicts" }, el("legend", {}, "评定结果"), ...radios);
  // A verdict sets the points it means; 部分达标 leaves them to the evaluator, within (0, max).
  verdictBox.addEventListener("change", (ev) => {
    const v = ev.target.value;
    if (v === "met") points.value = String(max);
    else if (v === "not_met") points.value = "0";
    else if (v === "partly" && (points.value === "" || Number(points.value) <= 0 || Number(points.value) >= max)) { points.value = ""; points.focus(); }
  });
  points.addEventListener("input", () => {
    if (points.value === "") return;
    const v = verdictOf(Number(points.value), max);
    for (const r of verdictBox.querySelectorAll("input")) r.checked = r.value === v;
  });
  const draft = drafts.get(domId);
  if (draft) {
    points.value = draft.points;
    reason.value = draft.reason;
    for (const r of verdictBox.querySelectorAll("input")) r.checked = r.value === draft.verdict;
  } else if (held) {
    points.value = String(Number(held.awarded));
    for (const r of verdictBox.querySelectorAll("input")) r.checked = r.value === verdictOf(Number(held.awarded), max);
  }
  const f = el("form", { class: "judge-form", id: domId + "-form", novalidate: true, "aria-describedby": domId + "-error" },
    verdictBox,
    el("label", { class: "judge-points", for: points.id }, `得分（0–${num(max)} 分）`, points),
    el("label", { class: "judge-reason", for: reason.id }, held ? "改判理由" : "评定理由", reason),
    el("div", { class: "judge-actions" }, submit,
      cancel ? el("button", { type: "button", onclick: cancel }, "取消") : "", status),
    error);
  const keep = () => drafts.set(domId, { verdict: verdictBox.querySelector("input:checked")?.value || "", points: points.value, reason: reason.value });
  f.addEventListener("input", () => { error.textContent = ""; keep(); });
  f.addEventListener("change", keep);
  if (cancel) f.addEventListener("keydown", (ev) => { if (ev.key === "Escape") { ev.preventDefault(); cancel(); } });
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const chosen = verdictBox.querySelector("input:checked");
    const value = points.value.trim() === "" ? NaN : Number(points.value);
    const text = reason.value.trim();
    if (!chosen) return fail(error, "请选择评定结果：达标、部分达标或未达标。", radios[0].querySelector("input"));
    if (!Number.isFinite(value) || value < 0 || value > max) return fail(error, `得分须在 0 到 ${num(max)} 分之间。`, points);
    if (chosen.value === "partly" && (value <= 0 || value >= max)) return fail(error, `部分达标的得分须大于 0 且小于 ${num(max)} 分。`, points);
    if (chosen.value === "met" && value !== max) return fail(error, `达标即得满分 ${num(max)} 分；否则请选择部分达标。`, points);
    if (chosen.value === "not_met" && value !== 0) return fail(error, "未达标得 0 分；否则请选择部分达标。", points);
    if (!text) return fail(error, held ? "请填写改判理由。" : "请填写评定理由。", reason);
    submit.disabled = true;
    submit.classList.add("busy");
    f.setAttribute("aria-busy", "true");
    status.textContent = "正在提交…";
    try {
      const event = judgmentEvent(item, data, value, text);
      const answer = await toIntake("POST", "/v1/evidence", event);
      if (answer.failed) throw new Error("评价服务未能保存该评分，请稍后重试");
      status.textContent = "";
      drafts.delete(domId);
      f.replaceWith(el("p", { class: "form-ok", role: "status" },
        `已提交：${num(value)} 分（${VERDICTS.find(([v]) => v === chosen.value)[1]}），正在重新评分…`));
      const flash = document.getElementById("judging-flash");
      if (flash) flash.textContent = `已提交“${item.name}”的评分，总分将在重新评分后更新。`
        + (ctx.asOf ? "当前为历史视图，请点击上方“回到最新”查看最新总分。" : "");
    } catch (e) {
      status.textContent = "";
      error.textContent = "提交失败：" + intakeError(e);
      submit.disabled = false;
      submit.classList.remove("busy");
      f.removeAttribute("aria-busy");
    }
  });
  return f;
}

function fail(box, message, focus) {
  box.textContent = message;
  focus?.focus();
}

function judgmentEvent(item, data, awarded, reason) {
  const stamp = new Date();
  // Happens at the end of the evaluation's as-of day (so it counts in that evaluation), or now if that is still to come.
  const at = Date.parse(data.judge_at) <= stamp.getTime() ? data.judge_at : chinaTime(stamp);
  const suffix = stamp.getTime().toString(36) + Math.random().toString(36).slice(2, 6);
  const event = {
    id: `judgment-${data.project}-${itemKey(item)}-${suffix}`.slice(0, 128),
    project: data.project,
    kind: "judgment",
    occurred_at: at,
    recorded_at: at,
    source: data.judge_as.source,
    payload: { indicator: item.indicator, awarded, reason, evaluator: data.judge_as.evaluator, ...(item.point ? { point: item.point } : {}) },
  };
  if (item.judgment) event.corrects = { event: item.judgment.event, reason, by: data.judge_as.evaluator };
  return event;
}

// A moment written in China's offset, as the evaluators read it back (2026-12-04T18:30:00.000+08:00).
const chinaTime = (d) => new Date(d.getTime() + 8 * 3600 * 1000).toISOString().replace("Z", "+08:00");

// Intake's refusals, said as an evaluator would understand them.
function intakeError(e) {
  const errors = e.detail && Array.isArray(e.detail.errors) ? e.detail.errors : [];
  if (errors.some(x => /\.corrects(\.event)?$/.test(x.field || ""))) return "该项已有新的现行评分（可能由他人刚刚提交），请刷新后查看并改判。";
  if (errors.some(x => /corrects\.reason$/.test(x.field || ""))) return "改判须填写理由。";
  if (errors.some(x => /payload\.awarded$/.test(x.field || ""))) return "得分超出该项满分。";
  if (e.status === 403) return "当前密钥无权为该项目评分。";
  if (errors.length) return errors.map(x => `${x.field}：${x.reason}`).join("；");
  return e.message;
}
