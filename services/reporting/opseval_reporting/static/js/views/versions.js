// 定稿版本: freeze the evaluation as of a date into a numbered version (its documents never change
// after), the versions with their documents, and two versions — or a version and the current
// evaluation — compared leaf by leaf.
import { SEVERITY_LABEL, STATUS_LABEL, api, cnDate, cnTime, download, el, gradeBadge, notice, num, send, table } from "../core.js";

const DOCUMENTS = [["docx", "报告（Word）"], ["pdf", "报告（PDF）"], ["xlsx", "得分表（Excel）"]];
const SELF_EVALUATION = [["selfeval.xlsx", "自评表（Excel）"], ["selfeval.docx", "自评表（Word）"]];
const ROLE_LABEL = { admin: "管理员", evaluator: "评价人员" };
const CURRENT = "current";

export default {
  id: "versions",
  label: "定稿版本",
  needsProject: true,
  roles: ["admin", "evaluator"],
  async render(root, ctx) {
    const { project } = ctx;
    const versions = await api(`/v1/projects/${project}/versions`);
    root.append(finaliseForm(ctx, versions), versionList(project, versions), await comparison(ctx, versions));
  },
};

// Today in China, as the as-of date a version may be frozen at, at the latest.
const todayInChina = () => new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);

function finaliseForm(ctx, versions) {
  const { project, info, asOf } = ctx;
  const latest = todayInChina();
  // A live score change renders the view again: what the evaluator was typing is kept.
  const typed = ctx.live && document.getElementById("finalise") ? {
    asOf: document.getElementById("finalise-as-of").value,
    note: document.getElementById("finalise-note").value,
    confirmed: document.getElementById("finalise-confirm").checked,
  } : null;
  const asOfInput = el("input", { id: "finalise-as-of", type: "date", required: true, max: latest,
    value: typed ? typed.asOf : asOf || (info && info.as_of ? String(info.as_of).slice(0, 10) : latest) });
  const note = el("textarea", { id: "finalise-note", rows: 2, maxlength: 2000, placeholder: "例如：初稿定稿；补充佐证材料后再次定稿" });
  if (typed) note.value = typed.note;
  const confirm = el("input", { id: "finalise-confirm", type: "checkbox", checked: Boolean(typed && typed.confirmed) });
  const submit = el("button", { id: "finalise-submit", type: "submit", class: "primary", disabled: !confirm.checked }, `定稿为第 ${versions.length + 1} 版`);
  const message = el("p", { id: "finalise-message", role: "status", "aria-live": "polite" });
  confirm.addEventListener("change", () => { submit.disabled = !confirm.checked; });
  const form = el("form", { class: "stack", id: "finalise", "aria-label": "定稿" },
    el("label", {}, "评价基准日", asOfInput),
    el("label", {}, "定稿说明", note),
    el("label", { class: "check" }, confirm, "我已核对该基准日的评价结果，确认定稿。定稿后的版本及其文档不再随新到的佐证材料变化，也不能修改或删除。"),
    el("div", {}, submit), message);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!asOfInput.value) { message.className = "form-error"; message.textContent = "请选择评价基准日"; asOfInput.focus(); return; }
    submit.disabled = true;
    submit.classList.add("busy");
    submit.setAttribute("aria-busy", "true");
    message.className = "muted";
    message.textContent = "正在按基准日计算并定稿…";
    try {
      const v = await send("POST", `/v1/projects/${project}/versions`, { as_of: asOfInput.value, note: note.value.trim() });
      ctx.navigate({ compare_before: null, compare_after: null, finalised: v.number }, { replace: true });
    } catch (e) {
      message.className = "form-error";
      message.textContent = "定稿失败：" + e.message;
      submit.disabled = !confirm.checked;
    } finally {
      submit.classList.remove("busy");
      submit.removeAttribute("aria-busy");
    }
  });
  const done = Number(ctx.params.get("finalised"));
  const last = versions.find(v => v.number === done);
  return el("section", { class: "panel", id: "finalise-panel" }, el("h2", {}, "定稿"),
    last ? el("p", { class: "form-ok", id: "finalised", role: "status" },
      `已定稿为第 ${last.number} 版：评价基准日 ${cnDate(last.as_of)}，总分 ${num(last.total)}（${last.grade}）。`) : "",
    el("p", { class: "muted" }, "将所选评价基准日的评价结果冻结为一个编号版本，报告、得分表和自评表均由该版本生成。"),
    form);
}

function versionList(project, versions) {
  const box = el("section", { class: "panel", id: "version-list" }, el("h2", {}, `已定稿版本（${versions.length}）`));
  if (!versions.length) {
    box.append(el("p", { class: "muted" }, "该项目尚无定稿版本。"));
    return box;
  }
  const documents = (v) => el("div", { class: "downloads compact" },
    ...[...DOCUMENTS, ...(v.form === "self_evaluation" ? SELF_EVALUATION : [])].map(([format, label]) => {
      const path = `/v1/projects/${project}/versions/${v.number}/report?format=${format}`;
      return el("span", {}, el("a", {
        href: path, "data-format": format,
        onclick: (ev) => { ev.preventDefault(); download(path, `${project}-v${v.number}-${format}`, ev.currentTarget); },
      }, label));
    }));
  const rows = [...versions].reverse().map(v => ({ ...v, __attrs: { "data-number": v.number } }));
  box.append(el("div", { class: "table-wrap" }, table([
    { label: "版本", value: v => el("strong", { class: "nowrap" }, `第 ${v.number} 版`) },
    { label: "评价基准日", value: v => el("span", { class: "nowrap" }, cnDate(v.as_of)) },
    { label: "总分", numeric: true, value: v => num(v.total) },
    { label: "等级", value: v => gradeBadge(v.grade, false) },
    { label: "定稿时间", value: v => el("span", { class: "nowrap" }, cnTime(chinaTime(v.finalised_at))) },
    { label: "定稿人", value: v => el("span", { class: "nowrap" }, v.finalised_by, el("br"), el("span", { class: "muted" }, ROLE_LABEL[v.finalised_role] || v.finalised_role)) },
    { label: "说明", value: v => v.note || "—" },
    { label: "文档", value: documents },
  ], rows, { id: "versions-table" })));
  return box;
}

// The stored instant is UTC; the evaluators read it in China time.
function chinaTime(utc) {
  return new Date(Date.parse(utc) + 8 * 3600 * 1000).toISOString().slice(0, 16);
}

const label = (which) => (which === CURRENT ? "当前评价" : `第 ${which} 版`);
const signed = (x) => (Number(x) > 0 ? "+" : Number(x) < 0 ? "−" : "±") + num(Math.abs(Number(x)));

async function comparison(ctx, versions) {
  const { project, params, navigate, asOf } = ctx;
  const box = el("section", { class: "panel", id: "compare" }, el("h2", {}, "版本比较"));
  if (!versions.length) {
    box.append(el("p", { class: "muted" }, "定稿后可在此比较两个版本，或比较某一版本与当前评价。"));
    return box;
  }
  const numbers = versions.map(v => String(v.number));
  const latest = numbers[numbers.length - 1];
  const before = numbers.includes(params.get("compare_before")) ? params.get("compare_before")
    : numbers.length > 1 ? numbers[numbers.length - 2] : latest;
  const after = [...numbers, CURRENT].includes(params.get("compare_after")) ? params.get("compare_after")
    : numbers.length > 1 ? latest : CURRENT;
  const picker = (id, value, choices) => el("select", { id },
    ...choices.map(c => el("option", { value: c, selected: c === value }, label(c))));
  const first = picker("compare-before", before, [...numbers, CURRENT]);
  const second = picker("compare-after", after, [...numbers, CURRENT]);
  const form = el("form", { class: "filters", id: "compare-form" },
    el("label", {}, "比较 ", first), el("label", {}, "与 ", second),
    el("button", { type: "submit", id: "compare-submit" }, "比较"),
    asOf ? el("span", { class: "muted" }, `当前评价按评价基准日 ${cnDate(asOf)} 计算`) : "");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    navigate({ compare_before: first.value, compare_after: second.value }, { replace: true });
  });
  box.append(form);
  if (before === after) {
    box.append(notice("请选择两个不同的版本。"));
    return box;
  }
  const q = new URLSearchParams({ before, after, ...(asOf ? { as_of: asOf } : {}) });
  let c;
  try {
    c = await api(`/v1/projects/${project}/versions/compare?${q}`);
  } catch (e) {
    box.append(notice("比较失败：" + e.message, "error"));
    return box;
  }
  box.append(
    el("p", { id: "compare-summary" },
      `${label(before)}（基准日 ${cnDate(c.as_of_before)}）${num(c.total_before)} 分 ${c.grade_before} → `,
      `${label(after)}（基准日 ${cnDate(c.as_of_after)}）${num(c.total_after)} 分 ${c.grade_after}，`,
      el("strong", { id: "compare-delta", class: Number(c.total_delta) < 0 ? "down" : Number(c.total_delta) > 0 ? "up" : "" },
        `总分 ${signed(c.total_delta)}`),
      c.grade_before !== c.grade_after ? `，等级 ${c.grade_before} → ${c.grade_after}` : "，等级不变"),
    el("h3", {}, `得分变化的指标（${c.leaves.length}，未变 ${c.unchanged}）`),
    c.leaves.length ? el("div", { class: "table-wrap" }, table([
      { label: "指标", value: l => el("span", {}, l.name, el("span", { class: "muted" }, l.path.length ? `（${l.path.join(" / ")}）` : "")) },
      { label: "分值", numeric: true, value: l => num(l.weight) },
      { label: label(before), numeric: true, value: l => score(l.before, l.status_before) },
      { label: label(after), numeric: true, value: l => score(l.after, l.status_after) },
      { label: "变化", numeric: true, value: l => el("span", { class: Number(l.delta) < 0 ? "down" : Number(l.delta) > 0 ? "up" : "" }, signed(l.delta)) },
    ], c.leaves.map(l => ({ ...l, __attrs: { "data-id": l.id } })), { id: "compare-leaves" })) : el("p", { class: "muted" }, "各指标得分均无变化。"),
    findingList("新增问题", "findings-added", c.findings_added),
    findingList("已消除问题", "findings-removed", c.findings_removed));
  return box;
}

function score(value, status) {
  if (value === null || value === undefined) return "—（无此指标）";
  // pending: nothing due or no judgment yet — no points either way, so no 0 that reads as a failure
  if (status === "pending") return "—（待评）";
  return status && status !== "scored" ? `${num(value)}（${STATUS_LABEL[status]}）` : num(value);
}

function findingList(title, id, findings) {
  return el("div", { id },
    el("h3", {}, `${title}（${findings.length}）`),
    findings.length
      ? el("ul", { class: "findings" }, ...findings.map(f => el("li", { "data-id": f.id }, `【${SEVERITY_LABEL[f.severity]}】${f.message}`)))
      : el("p", { class: "muted" }, "无"));
}
