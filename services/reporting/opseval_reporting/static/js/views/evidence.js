// 佐证材料: a project's evidence as labelled tables by kind — all of it, or all behind one leaf or one
// finding (opened from 评价总览) — paged, filtered by date and text, exported to Excel; a row opens the
// event in Chinese with its corrections, and the forms that correct (更正) or withdraw (撤回) it.
import { api, busy, cnDate, cnTime, download, el, notice, num, toIntake } from "../core.js";

const PAGE = 50;
const WRITERS = ["evaluator", "admin"];  // keys intake takes corrections from

// This view's styles live beside it (one file to own, nothing to merge in app.css).
export function ensureStyle() {
  if (document.getElementById("evidence-css")) return;
  document.head.append(el("link", { id: "evidence-css", rel: "stylesheet", href: new URL("../../evidence.css", import.meta.url).pathname }));
}

const query = (entries) => new URLSearchParams(Object.entries(entries).filter(([, v]) => v !== null && v !== undefined && v !== "")).toString();

export default {
  id: "evidence",
  label: "佐证材料",
  needsProject: true,
  async render(root, ctx) {
    ensureStyle();
    const { project, params, navigate } = ctx;
    const page = Math.max(1, Number(params.get("page")) || 1);
    const filters = { kind: params.get("kind"), from: params.get("from"), until: params.get("until"), q: params.get("q"),
      leaf: params.get("leaf"), finding: params.get("finding") };
    let data;
    try {
      data = await api(`/v1/projects/${project}/evidence-table?` + query({ ...filters, offset: (page - 1) * PAGE, limit: PAGE }));
    } catch (e) {
      if (e.status === 404 && (filters.leaf || filters.finding)) {
        root.append(notice("该指标或问题在当前评价中已不存在。", "error"),
          el("p", {}, el("a", { href: "#", onclick: (ev) => { ev.preventDefault(); navigate({ leaf: null, finding: null, page: null }); } }, "查看项目全部佐证材料")));
        return;
      }
      if (e.status === 404) { root.append(notice("该项目尚未评分，暂无佐证材料可查。")); return; }
      throw e;
    }
    const change = (changes) => navigate({ ...changes, page: null }, { replace: true });
    // The tables list every event received; a chosen as-of date does not hide later ones.
    const asOfNote = ctx.asOf ? el("p", { class: "muted" }, `已选评价基准日 ${cnDate(ctx.asOf)}：下表仍列出已接收的全部记录（含该日之后的），指标与问题的佐证按最新评价。`) : "";
    root.append(
      el("section", { class: "panel", id: "evidence-browser", "aria-label": "佐证材料" },
        heading(data, navigate),
        asOfNote,
        controls(data, filters, change),
        el("div", { class: "evidence-toolbar" }, data.total ? summary(data, page) : "", exportButton(project, data, filters)),
        data.total ? el("div", { class: "table-wrap" }, evidenceTable(data, (id) => openEvent(ctx, id))) : notice(data.kinds.length ? "没有符合筛选条件的记录。" : "尚无佐证材料。"),
        data.total > PAGE ? pager(data, page, navigate) : ""),
      setAsideSection(project));
  },
};

function heading(data, navigate) {
  const scope = data.scope || {};
  const clear = el("a", { href: "#", class: "scope-clear", onclick: (ev) => { ev.preventDefault(); navigate({ leaf: null, finding: null, page: null }); } }, "查看项目全部佐证材料");
  if (scope.leaf) return el("div", {}, el("h2", {}, "佐证材料"), el("p", { class: "scope", id: "evidence-scope" }, `指标“${scope.name}”的佐证记录 `, clear));
  if (scope.finding) return el("div", {}, el("h2", {}, "佐证材料"), el("p", { class: "scope", id: "evidence-scope" }, `问题“${scope.name}”的佐证记录 `, clear));
  return el("h2", {}, "佐证材料");
}

function controls(data, filters, change) {
  const kind = el("select", { id: "evidence-kind", onchange: (ev) => change({ kind: ev.target.value }) },
    ...data.kinds.map(k => el("option", { value: k.kind, selected: k.kind === data.kind }, `${k.label}（${k.count} 条）`)));
  if (!data.kinds.some(k => k.kind === data.kind)) kind.prepend(el("option", { value: data.kind, selected: true }, `${data.label}（0 条）`));
  const from = el("input", { type: "date", id: "evidence-from", value: filters.from || "" });
  const until = el("input", { type: "date", id: "evidence-until", value: filters.until || "" });
  const q = el("input", { type: "search", id: "evidence-q", value: filters.q || "", placeholder: "姓名、工单号…", size: 12 });
  const error = el("span", { class: "form-error", role: "alert" });
  const form = el("form", { class: "filters", "aria-label": "筛选",
    onsubmit: (ev) => {
      ev.preventDefault();
      if (from.value && until.value && until.value < from.value) { error.textContent = "截止日期早于起始日期"; return; }
      change({ from: from.value, until: until.value, q: q.value.trim() });
    } },
  el("label", {}, "材料类别 ", kind),
  el("label", {}, "起始日期 ", from), el("label", {}, "截止日期 ", until), el("label", {}, "关键字 ", q),
  el("button", { type: "submit", class: "primary" }, "筛选"),
  filters.from || filters.until || filters.q ? el("button", { type: "button", onclick: () => change({ from: null, until: null, q: null }) }, "清除筛选") : "",
  error);
  return form;
}

function summary(data, page) {
  const first = (page - 1) * PAGE + 1, last = Math.min(page * PAGE, data.total);
  return el("p", { class: "muted", id: "evidence-count", role: "status" }, `${data.label}：共 ${data.total} 条，当前第 ${first}–${last} 条。点击一行查看详情、更正或撤回。`);
}

const STATE_CLASS = { "已更正": "corrected", "已撤回": "retracted", "已搁置": "aside", "更正记录": "correcting", "撤回记录": "correcting", "已被再次更正": "corrected" };
export const stateBadge = (state) => (state ? el("span", { class: `state ${STATE_CLASS[state] || ""}` }, state) : "");

function evidenceTable(data, open) {
  // A column of short texts (names, enums) never wraps; long ones (reasons, titles) take the rest.
  const short = data.columns.map((c, i) => data.rows.every(r => (r.cells[i] || "").length <= 10));
  const columns = [...data.columns.map((c, i) => ({ label: c.label, numeric: c.numeric, nowrap: short[i], value: (row) => row.cells[i] })),
    { label: "状态", value: (row) => stateBadge(row.state) }];
  const rows = data.rows.map(row => ({
    ...row,
    __attrs: { tabindex: "0", class: "clickable" + (row.state ? " has-state" : ""), "data-id": row.id, "aria-label": `查看记录 ${row.cells.filter(Boolean).slice(0, 2).join(" ")}`,
      onclick: () => open(row.id), onkeydown: (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); open(row.id); } } },
  }));
  return tableWithRowAttrs(columns, rows);
}

// core.table sets row attributes as strings; rows here need handlers too.
function tableWithRowAttrs(columns, rows) {
  return el("table", { class: "data evidence", id: "evidence-table" },
    el("thead", {}, el("tr", {}, ...columns.map(c => el("th", { scope: "col", class: c.numeric ? "num" : "" }, c.label)))),
    el("tbody", {}, ...rows.map(row => el("tr", row.__attrs, ...columns.map(c => el("td", { class: (c.numeric ? "num" : "") + (c.nowrap ? " nowrap" : "") }, c.value(row) ?? ""))))));
}

function pager(data, page, navigate) {
  const pages = Math.ceil(data.total / PAGE);
  const go = (p) => navigate({ page: p > 1 ? String(p) : null }, { replace: true });
  const jump = el("input", { type: "number", min: 1, max: pages, value: page, "aria-label": "页码", class: "page-input" });
  return el("nav", { class: "pager", "aria-label": "翻页" },
    el("button", { type: "button", disabled: page <= 1, onclick: () => go(page - 1) }, "上一页"),
    el("span", { id: "evidence-page" }, `第 ${page} / ${pages} 页`),
    el("button", { type: "button", disabled: page >= pages, onclick: () => go(page + 1) }, "下一页"),
    el("form", { class: "jump", onsubmit: (ev) => { ev.preventDefault(); go(Math.min(pages, Math.max(1, Number(jump.value) || 1))); } },
      el("label", {}, "跳至 ", jump, " 页"), el("button", { type: "submit" }, "跳转")));
}

function exportButton(project, data, filters) {
  const path = `/v1/projects/${project}/evidence-table.xlsx?` + query({ ...filters, kind: data.kind });
  return el("span", { class: "evidence-export" },
    el("button", { type: "button", id: "evidence-export", disabled: !data.total, onclick: (ev) => download(path, `${project}-${data.kind}.xlsx`, ev.currentTarget) },
      `导出 Excel（${data.total} 条）`));
}

// ---------------------------------------------------------------- set aside and dead-lettered
function setAsideSection(project) {
  const box = el("section", { class: "panel", id: "set-aside", "aria-label": "未计入评价的记录" }, el("h2", {}, "未计入评价的记录"), busy());
  api(`/v1/projects/${project}/set-aside`).then((data) => {
    const aside = data.set_aside, letters = data.dead_letters;
    if (!aside.length && !letters.length) { box.replaceChildren(el("h2", {}, "未计入评价的记录"), el("p", { class: "muted" }, "无：所有已接收的佐证材料均已计入评价。")); return; }
    box.replaceChildren(el("h2", {}, `未计入评价的记录（${aside.length + letters.length}）`),
      aside.length ? el("h3", {}, `已搁置 ${aside.length} 条：引用的合同条款或指标已不存在，请更正或撤回`) : "",
      aside.length ? el("div", { class: "table-wrap" }, tableWithRowAttrs([
        { label: "记录编号", value: (d) => d.event }, { label: "材料类别", value: (d) => d.kind_label || "—" },
        { label: "字段", value: (d) => d.field }, { label: "原因", value: (d) => d.reason }], aside.map(d => ({ ...d, __attrs: { "data-id": d.event } })))) : "",
      letters.length ? el("h3", {}, `处理失败、转入死信队列 ${letters.length} 条`) : "",
      letters.length ? el("div", { class: "table-wrap" }, tableWithRowAttrs([
        { label: "时间", value: (d) => cnTime(d.at) }, { label: "服务", value: (d) => d.service_label },
        { label: "记录编号", value: (d) => d.event || "（无法解析）" }, { label: "材料类别", value: (d) => d.kind_label || "—" },
        { label: "投递次数", value: (d) => num(d.deliveries), numeric: true }, { label: "原因", value: (d) => d.error }], letters.map(d => ({ ...d, __attrs: {} })))) : "");
  }).catch((e) => box.replaceChildren(el("h2", {}, "未计入评价的记录"), notice(e.message, "error")));
  return box;
}

// ---------------------------------------------------------------- one event: detail, 更正, 撤回
async function openEvent(ctx, id) {
  const dialog = el("dialog", { class: "event-dialog", id: "event-dialog", "aria-labelledby": "event-title" });
  const close = () => { dialog.close(); dialog.remove(); };
  dialog.addEventListener("close", () => dialog.remove());
  dialog.addEventListener("click", (ev) => { if (ev.target === dialog) close(); });  // a click on the backdrop
  dialog.append(busy());
  document.body.append(dialog);
  dialog.showModal();
  try {
    const detail = await api(`/v1/projects/${ctx.project}/evidence-detail/${encodeURIComponent(id)}`);
    dialog.replaceChildren(...eventDetail(ctx, detail, close));
  } catch (e) {
    dialog.replaceChildren(notice(e.message, "error"), el("button", { type: "button", onclick: close }, "关闭"));
  }
}

function eventDetail(ctx, detail, close) {
  const e = detail.event;
  const lines = el("dl", { class: "event-lines" }, ...detail.lines.flatMap(([label, text]) => [el("dt", {}, label), el("dd", {}, text)]));
  const trail = detail.corrections.length
    ? el("div", { class: "trail" }, el("h4", {}, "更正与撤回记录"), el("ul", {}, ...detail.corrections.map(c => el("li", { class: c.in_force ? "" : "muted" },
        `${c.action_label}：${c.event === e.id ? "本记录被 " + c.corrected_by + " " + c.action_label : "本记录" + c.action_label + "了 " + c.event}`,
        `，理由：${c.reason}` + (c.by ? `（${c.by}）` : "") + `，${cnTime(c.recorded_at)}` + (c.in_force ? "" : "（已被后续更正取代）")))))
    : "";
  const aside = detail.set_aside ? el("p", { class: "alert notice-warn" }, `该记录已搁置，未计入评价（${detail.set_aside.field}：${detail.set_aside.reason}）。`) : "";
  const done = detail.state === "已撤回" || detail.state === "撤回记录" || e.kind === "retraction";
  const mayWrite = WRITERS.includes(ctx.me?.role) && !done;
  const actions = el("div", { class: "event-actions" });
  if (mayWrite) {
    const show = (form) => actions.replaceChildren(form);
    actions.append(
      el("button", { type: "button", id: "supersede", onclick: () => show(correctionForm(ctx, detail, "supersede", close)) }, "更正此记录"),
      el("button", { type: "button", id: "retract", onclick: () => show(correctionForm(ctx, detail, "retract", close)) }, "撤回此记录"));
  }
  return [
    el("div", { class: "dialog-head" }, el("h3", { id: "event-title" }, detail.kind_label, " ", stateBadge(detail.state)),
      el("button", { type: "button", class: "dialog-close", "aria-label": "关闭", onclick: close }, "×")),
    aside, lines, trail, actions,
    done ? el("p", { class: "muted" }, "已撤回的记录不再计入评价，无需再更正。") : "",
    !WRITERS.includes(ctx.me?.role) ? el("p", { class: "muted" }, "当前密钥只能查阅，不能更正或撤回。") : "",
  ];
}

// The date a correction counts from: the as-of date shown (so the score shown takes it in), never
// before the event itself happened, never after today (intake refuses events from the future).
export function defaultEffectiveDate(ctx, event) {
  const today = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);  // today in China
  let day = ctx.asOf || ctx.info?.as_of || today;
  const own = String(event.occurred_at || "").slice(0, 10);
  if (own && day < own) day = own;
  return day > today ? today : day;
}

// Who sent it, as the evidence trail names it: an evaluator's key by its id (intake requires that
// of a judgment made under an evaluator's key), otherwise the workbench.
const sourceOf = (me) => (me?.role === "evaluator" && me.id ? `evaluator:${me.id}` : "评价工作台");
const stamp = () => Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
const newId = (id, what) => `${id.slice(0, 100)}.${what}-${stamp()}`;
const offsetOf = (iso) => (/([+-]\d{2}:\d{2}|Z)$/.exec(String(iso || "")) || [])[1] || "+08:00";

function fieldInput(field) {
  const id = "fix-" + field.key.replace(/\W/g, "-");
  const v = field.value;
  let input;
  if (field.render === "flag" || (["enum", "term"].includes(field.render) && Object.keys(field.choices).length)) {
    const options = Object.entries(field.choices);
    if (v !== null && v !== undefined && !(String(v) in field.choices)) options.unshift([String(v), String(v)]);
    if (field.render === "term" && (v === null || v === undefined)) options.unshift(["", "（未填）"]);
    input = el("select", { id }, ...options.map(([value, label]) => el("option", { value, selected: String(v ?? "") === value }, label)));
  } else if (field.render === "date") {
    input = el("input", { id, type: "date", value: v || "" });
  } else if (field.render === "datetime") {
    input = el("input", { id, type: "datetime-local", value: v ? String(v).slice(0, 16) : "" });
  } else if (field.render === "number") {
    input = el("input", { id, type: "number", step: "any", value: v ?? "" });
  } else if (field.render === "list") {
    input = el("input", { id, type: "text", value: (v || []).join("、"), placeholder: "多项以“、”分隔" });
  } else if (field.render === "attendees" || field.render === "aspects") {
    input = el("textarea", { id, rows: 3 }, JSON.stringify(v ?? (field.render === "aspects" ? {} : []), null, 1));
  } else {
    input = el("input", { id, type: "text", value: v ?? "" });
  }
  input.dataset.key = field.key;
  return el("label", {}, field.label, input);
}

function readField(field, input) {
  const raw = input.value;
  switch (field.render) {
    case "flag": return raw === "true";
    case "number": return raw === "" ? null : raw;  // as text: the service reads decimals exactly
    case "list": return raw.split(/[、,，]/).map(s => s.trim()).filter(Boolean);
    case "datetime": return raw ? `${raw.length === 16 ? raw + ":00" : raw}${offsetOf(field.value)}` : null;
    case "attendees": case "aspects":
      try { return JSON.parse(raw || "null"); } catch (e) { throw new Error(`“${field.label}”不是有效的内容`); }
    default: return raw.trim() === "" ? null : raw.trim();
  }
}

function correctionForm(ctx, detail, mode, close) {
  const e = detail.event;
  const supersede = mode === "supersede";
  const reason = el("textarea", { id: "fix-reason", rows: 2, "aria-required": "true", maxlength: 500, placeholder: supersede ? "例如：姓名录入错误，据考勤原始记录更正" : "例如：重复录入，同一打卡已另有记录" });
  const by = el("input", { id: "fix-by", type: "text", value: ctx.me?.name || "", maxlength: 200 });
  const effective = el("input", { id: "fix-effective", type: "date", "aria-required": "true", value: defaultEffectiveDate(ctx, e) });
  const fields = supersede ? detail.fields.map(f => ({ field: f, box: fieldInput(f) })) : [];
  const status = el("p", { class: "form-status", role: "status", "aria-live": "polite" });
  reason.addEventListener("input", () => { if (status.classList.contains("form-error")) { status.className = "form-status"; status.textContent = ""; } });
  const submit = el("button", { type: "submit", class: "primary" }, supersede ? "提交更正" : "确认撤回");
  const form = el("form", { class: "stack correction", id: `${mode}-form`, "aria-label": supersede ? "更正" : "撤回",
    onsubmit: async (ev) => {
      ev.preventDefault();
      status.className = "form-status";
      if (!reason.value.trim()) { status.classList.add("form-error"); status.textContent = "请填写理由"; reason.focus(); return; }
      if (!effective.value) { status.classList.add("form-error"); status.textContent = "请选择生效日期"; effective.focus(); return; }
      let body;
      try {
        body = supersede ? supersedingEvent(e, fields, reason.value.trim(), by.value.trim(), effective.value, sourceOf(ctx.me))
          : retraction(e, reason.value.trim(), by.value.trim(), effective.value, sourceOf(ctx.me));
      } catch (error) {
        status.classList.add("form-error"); status.textContent = error.message; return;
      }
      submit.disabled = true; submit.classList.add("busy");
      status.textContent = "正在提交…";
      try {
        const answer = await toIntake("POST", "/v1/evidence", body);
        status.classList.add("form-ok");
        status.textContent = `已提交（${answer.accepted ? "已接收" : "重复提交"}），评价服务重新计算后生效。`;
        form.querySelectorAll("input, textarea, select, button").forEach(x => { x.disabled = true; });
        form.append(el("button", { type: "button", class: "primary", id: "fix-done", onclick: () => { close(); ctx.navigate({}, { replace: true }); } }, "完成"));
      } catch (error) {
        status.classList.add("form-error");
        status.textContent = "提交失败：" + error.message;
      } finally {
        submit.disabled = false; submit.classList.remove("busy");
      }
    } },
  el("h4", {}, supersede ? "更正此记录：修改有误的内容，原记录保留并注明已更正" : "撤回此记录：撤回后不再计入评价，原记录保留并注明已撤回"),
  ...fields.map(f => f.box),
  el("label", {}, supersede ? "更正理由（必填）" : "撤回理由（必填）", reason),
  el("div", { class: "form-row" },
    el("label", {}, "经办人", by),
    el("label", {}, "生效日期", effective)),
  el("p", { class: "muted" }, `自生效日期起计入评价；默认为当前评价基准日（${cnDate(defaultEffectiveDate(ctx, e))}），使当前得分即可反映本次${supersede ? "更正" : "撤回"}。`),
  el("div", { class: "form-row" }, submit, el("button", { type: "button", onclick: close }, "取消")),
  status);
  return form;
}

// A correction is the event as it should have been, with a new id and `corrects` naming the old one.
function supersedingEvent(e, fields, reason, by, effective, source) {
  const payload = structuredClone(e.payload);
  let occurred = e.occurred_at;
  for (const { field, box } of fields) {
    const value = readField(field, box.querySelector("[data-key]"));
    if (field.key === "occurred_at") { if (value) occurred = value; continue; }
    const key = field.key.slice("payload.".length);
    if (value === null || (Array.isArray(value) && !value.length && !(e.payload[key] || []).length)) delete payload[key];
    else payload[key] = value;
  }
  const recorded = `${effective}T12:00:00+08:00`;
  return {
    id: newId(e.id, "fix"), project: e.project, contract: e.contract ?? undefined, kind: e.kind,
    occurred_at: occurred, recorded_at: recorded < occurred ? occurred : recorded, source,
    payload, corrects: { event: e.id, reason, ...(by ? { by } : {}) },
  };
}

function retraction(e, reason, by, effective, source) {
  const at = `${effective}T12:00:00+08:00`;
  return {
    id: newId(e.id, "retract"), project: e.project, contract: e.contract ?? undefined, kind: "retraction",
    occurred_at: at, recorded_at: at, source,
    payload: { event: e.id, reason, ...(by ? { by } : {}) },
  };
}
