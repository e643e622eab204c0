// What every view of the workbench shares: the API key, calls to the results API with their errors
// in Chinese, downloads with busy and error states, and the small formatting and DOM helpers.
// Plain ES modules served as they are: no build step, nothing to compile or commit twice.

export const GRADE_CLASS = { "优": "excellent", "良": "good", "中": "fair", "差": "poor" };
export const STATUS_LABEL = { scored: "已评", partial: "部分已评", pending: "待评", no_evidence: "无佐证" };
export const SEVERITY_LABEL = { high: "严重", medium: "一般", low: "提示" };

// ---------------------------------------------------------------- the key
// The API key lives in this tab's sessionStorage only. It may arrive in the URL fragment
// (#key=…, never sent to the server), which is then removed from the address bar.
const KEY = "opseval.apiKey";
export function takeKeyFromFragment() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const key = fragment.get("key");
  if (key) {
    sessionStorage.setItem(KEY, key);
    fragment.delete("key");
    const rest = fragment.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
  }
}
export const hasKey = () => Boolean(sessionStorage.getItem(KEY));
export const setKey = (key) => sessionStorage.setItem(KEY, key.trim());
export const forgetKey = () => sessionStorage.removeItem(KEY);
export const authorization = () => ({ Authorization: "Bearer " + (sessionStorage.getItem(KEY) || "") });

// ---------------------------------------------------------------- calls
export class ApiError extends Error {
  constructor(status, detail, path) {
    super(explain(status, detail));
    this.status = status;
    this.detail = detail;
    this.path = path;
  }
}

// What a person can do about an error, in Chinese; the server's own detail (English) is kept for the record.
function explain(status, detail) {
  const text = typeof detail === "string" ? detail : JSON.stringify(detail || "");
  if (status === 0) return "无法连接评价服务，请检查网络后重试";
  if (status === 401) {
    if (/expired/.test(text)) return "密钥已过期，请向管理员申请新的密钥";
    if (/revoked/.test(text)) return "密钥已被吊销，请向管理员申请新的密钥";
    return "密钥无效，请重新输入";
  }
  if (status === 403) {
    if (/not scoped/.test(text)) return "该密钥无权访问此项目";
    return "当前密钥的角色不能执行此操作";
  }
  if (status === 404) return "未找到：" + text;
  if (status === 409) return "与已有记录冲突：" + fieldErrors(detail);
  if (status === 422) return "提交的内容有误：" + fieldErrors(detail);
  if (status === 503) return "评价服务暂不可用：" + text;
  return `服务出错（${status}）：` + text;
}

// FastAPI's validation errors ([{loc, msg}]) and intake's refusals ({message, errors: [{field, reason}]}).
function fieldErrors(detail) {
  if (detail && Array.isArray(detail.errors)) {
    return detail.errors.map(e => `${e.field || ""}：${e.reason || ""}`).join("；") || detail.message || "";
  }
  if (!Array.isArray(detail)) return typeof detail === "string" ? detail : JSON.stringify(detail);
  return detail.map(e => `${(e.loc || []).filter(x => x !== "body").join(".")}：${e.msg}`).join("；");
}

const listeners = new Set();
// Views and the shell hear about authentication errors (to ask for a key) in one place.
export const onAuthError = (fn) => listeners.add(fn);

async function call(method, path, body, accept) {
  let r;
  try {
    r = await fetch(path, {
      method,
      headers: { ...authorization(), ...(body !== undefined ? { "Content-Type": "application/json" } : {}), ...(accept ? { Accept: accept } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    throw new ApiError(0, String(e), path);
  }
  if (!r.ok) {
    let detail = r.statusText;
    try { detail = (await r.json()).detail; } catch (e) { /* not JSON */ }
    const error = new ApiError(r.status, detail, path);
    if (r.status === 401) listeners.forEach(fn => fn(error));
    throw error;
  }
  return r;
}

// Judgments and corrections are evidence: the browser sends them to intake (its address comes with /v1/me).
let intakeBase = "";
export const setIntake = (url) => { intakeBase = (url || "").replace(/\/$/, ""); };
export const toIntake = async (method, path, body) => (await call(method, intakeBase + path, body)).json();

export const api = async (path) => (await call("GET", path)).json();
export const send = async (method, path, body) => {
  const r = await call(method, path, body);
  return r.status === 204 ? null : r.json();
};
export const fetchRaw = (path) => call("GET", path);

// A download with a busy state on its control and the error next to it: documents take seconds.
export async function download(path, fallbackName, control) {
  const status = control && (control.nextElementSibling?.classList.contains("download-status")
    ? control.nextElementSibling
    : control.insertAdjacentElement("afterend", el("span", { class: "download-status", role: "status", "aria-live": "polite" })));
  if (control) { control.setAttribute("aria-busy", "true"); control.classList.add("busy"); }
  if (status) { status.className = "download-status"; status.textContent = "正在生成…"; }
  try {
    const r = await call("GET", path);
    const name = decodeURIComponent((/filename\*?=(?:UTF-8'')?"?([^";]+)"?/.exec(r.headers.get("content-disposition") || "") || [])[1] || fallbackName);
    const url = URL.createObjectURL(await r.blob());
    const a = el("a", { href: url, download: name });
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    if (status) { status.classList.add("done"); status.textContent = "已下载 " + name; }
  } catch (e) {
    if (status) { status.classList.add("error"); status.textContent = "下载失败：" + e.message; }
  } finally {
    if (control) { control.removeAttribute("aria-busy"); control.classList.remove("busy"); }
  }
}

// ---------------------------------------------------------------- DOM and formats
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (k in e && typeof v !== "string") e[k] = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) e.append(c);
  return e;
}

export const num = (x) => (x === null || x === undefined ? "—" : String(Number(x)));
export const pct = (x) => (x === null || x === undefined ? "—" : (Number(x) * 100).toFixed(2) + "%");
// 2022-10-31 as Chinese reports write it: 2022年10月31日
export const cnDate = (iso) => {
  if (!iso) return "—";
  const [y, m, d] = String(iso).slice(0, 10).split("-").map(Number);
  return `${y}年${m}月${d}日`;
};
export const cnTime = (iso) => (iso ? `${cnDate(iso)} ${String(iso).slice(11, 16)}` : "—");

// The grade as a badge coloured by its band; with weight still pending it is interim and says so.
export function gradeBadge(grade, interim, id) {
  return interim
    ? el("span", { class: "grade interim", id, title: "尚有待评权重，等级为阶段性结果" }, `${grade}（阶段性）`)
    : el("span", { class: `grade ${GRADE_CLASS[grade] || ""}`, id }, grade);
}

export const statusBadge = (status) =>
  !status || status === "scored" ? "" : el("span", { class: `status ${status}` }, STATUS_LABEL[status]);

// A table with labelled columns. columns: [{ key, label, value?(row) → text|Node, numeric? }]
export function table(columns, rows, attrs = {}) {
  return el("table", { class: "data", ...attrs },
    el("thead", {}, el("tr", {}, ...columns.map(c => el("th", { scope: "col", class: c.numeric ? "num" : "" }, c.label)))),
    el("tbody", {}, ...rows.map(row => el("tr", row.__attrs || {},
      ...columns.map(c => el("td", { class: c.numeric ? "num" : "" }, (c.value ? c.value(row) : row[c.key]) ?? ""))))));
}

// A message where content would be: loading, empty, or an error with what to do.
export const notice = (text, kind = "") => el("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
export const busy = (text = "正在加载…") => notice(text, "busy");

// Leaves of an indicator tree, by id.
export function leavesOf(nodes, out = {}) {
  for (const n of nodes || []) {
    if (!n.children || !n.children.length) out[n.id] = n;
    else leavesOf(n.children, out);
  }
  return out;
}
