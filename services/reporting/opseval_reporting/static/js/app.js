// The workbench shell: who is signed in, the project and as-of date chosen, the views as tabs, and
// the live score changes pushed by the fleet. A view is a module in ./views/ (see views/index.js);
// the shell renders the current one into <main> and renders it again when the state or the score changes.

import { api, authorization, busy, cnDate, el, forgetKey, hasKey, notice, onAuthError, restoreDownloads, setIntake, setKey, takeKeyFromFragment } from "./core.js";
import { VIEWS } from "./views/index.js";

const ROLE_LABEL = { admin: "管理员", evaluator: "评价人员", upstream: "上游系统" };
const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  projects: [],
  // view, project, as_of and the view's own parameters live in the address, so a link or a reload
  // opens the same page and the browser's back button works.
  params: new URLSearchParams(location.search),
  live: null,
};

function viewById(id) {
  return VIEWS.find(v => v.id === id && allowed(v)) || VIEWS.find(allowed);
}
const allowed = (view) => !view.roles || view.roles.includes(state.me?.role);

function navigate(changes, { replace = false } = {}) {
  const params = new URLSearchParams(state.params);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === "") params.delete(k);
    else params.set(k, v);
  }
  state.params = params;
  const url = location.pathname + (params.toString() ? "?" + params : "");
  if (replace) history.replaceState(null, "", url); else history.pushState(null, "", url);
  render();
}
window.addEventListener("popstate", () => { state.params = new URLSearchParams(location.search); render(); });

// ---------------------------------------------------------------- signing in and out
function showLogin(message) {
  $("login").hidden = false;
  $("who").hidden = true;
  $("login-error").textContent = message || "";
  $("workspace").hidden = true;
  $("apikey").focus();
}
$("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const key = $("apikey").value.trim();
  if (!key) { $("login-error").textContent = "请输入 API 密钥"; return; }
  setKey(key);
  $("apikey").value = "";
  start();
});
$("logout").addEventListener("click", () => {
  forgetKey();
  stopLive();
  state.me = null;
  showLogin("已退出。");
});
onAuthError((error) => { stopLive(); forgetKey(); showLogin(error.message); });

// ---------------------------------------------------------------- live updates
// Score changes arrive as server-sent events over fetch (EventSource cannot send the key); the
// current view is rendered again when the project's score moves. One read per change, no polling.
function stopLive() { state.live?.abort(); state.live = null; }

async function startLive() {
  stopLive();
  const controller = new AbortController();
  state.live = controller;
  let wait = 1000;
  while (!controller.signal.aborted) {
    try {
      const r = await fetch("/v1/live", { headers: { ...authorization(), Accept: "text/event-stream" }, signal: controller.signal });
      if (!r.ok) throw new Error(String(r.status));
      setLiveState("on");
      wait = 1000;
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          handleLive(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch (e) {
      if (controller.signal.aborted) return;
    }
    setLiveState("off");
    await new Promise(ok => setTimeout(ok, wait));
    wait = Math.min(wait * 2, 30000);
  }
}

function setLiveState(s) {
  const badge = $("live");
  badge.dataset.state = s;
  badge.textContent = s === "on" ? "实时" : "重连中…";
  badge.title = s === "on" ? "评分变化由评价服务实时推送" : "实时推送已断开，正在重连";
}

function handleLive(block) {
  let event = "message", data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data += line.slice(5).trim();
  }
  if (event !== "scores" || !data) return;
  const change = JSON.parse(data);
  const summary = state.projects.find(p => p.id === change.project);
  if (summary) Object.assign(summary, { total: change.total, grade: change.grade, as_of: change.as_of, evidence: change.events_folded });
  if (change.project === state.params.get("project") && !state.params.get("as_of")) {
    document.dispatchEvent(new CustomEvent("opseval:scores", { detail: change }));
    render({ live: true });
  } else if (!state.params.get("project")) {
    render({ live: true });
  }
}

// ---------------------------------------------------------------- the shell
function projectPicker() {
  const select = $("project");
  const current = state.params.get("project");
  select.replaceChildren(el("option", { value: "" }, state.projects.length ? "选择项目…" : "暂无可访问的项目"),
    ...state.projects.map(p => el("option", { value: p.id, selected: p.id === current }, p.name)));
}
$("project").addEventListener("change", (ev) => navigate({ project: ev.target.value, leaf: null, finding: null, page: null }));
$("as-of").addEventListener("change", (ev) => navigate({ as_of: ev.target.value || null }));
$("as-of-latest").addEventListener("click", () => navigate({ as_of: null }));

function tabs(current) {
  $("tabs").replaceChildren(...VIEWS.filter(allowed).map(v => el("a", {
    href: "?" + new URLSearchParams({ ...Object.fromEntries(state.params), view: v.id }),
    class: "tab" + (v === current ? " active" : ""), "data-view": v.id, "aria-current": v === current ? "page" : null,
    onclick: (ev) => { ev.preventDefault(); navigate({ view: v.id }); },
  }, v.label)));
}

let rendering = 0;
async function render({ live = false } = {}) {
  const ticket = ++rendering;
  const view = viewById(state.params.get("view"));
  const project = state.params.get("project");
  const asOf = state.params.get("as_of");
  tabs(view);
  projectPicker();
  $("as-of").value = asOf || "";
  $("as-of-latest").hidden = !asOf;
  const info = state.projects.find(p => p.id === project) || null;
  $("status").textContent = info && info.as_of
    ? (asOf ? `评价基准日 ${cnDate(asOf)}（历史视图）` : `评价基准日 ${cnDate(info.as_of)} · 佐证 ${info.evidence} 条`)
    : "";
  const root = $("view");
  if (view.needsProject && !project) {
    root.replaceChildren(notice(state.projects.length ? "请先在上方选择一个项目。" : "当前密钥没有可访问的项目。"));
    return;
  }
  if (!live) root.replaceChildren(busy());
  try {
    const content = el("div", { class: `view view-${view.id}` });
    await view.render(content, {
      me: state.me, projects: state.projects, project, info, asOf, live,
      params: state.params, navigate,
      reloadProjects: loadProjects,
    });
    restoreDownloads(content);
    if (ticket === rendering) root.replaceChildren(content);
  } catch (e) {
    if (ticket === rendering && e.status !== 401) root.replaceChildren(notice(e.message, "error"));
  }
}

async function loadProjects() {
  state.projects = await api("/v1/projects");
  if (!state.params.get("project") && state.projects.length === 1) state.params.set("project", state.projects[0].id);
}

async function start() {
  $("login").hidden = true;
  $("workspace").hidden = false;
  $("view").replaceChildren(busy());
  try {
    state.me = await api("/v1/me");
  } catch (e) {
    if (e.status !== 401) showLogin(e.message);
    return;
  }
  setIntake(state.me.intake_url);
  $("who").hidden = false;
  $("whoami").textContent = `${state.me.name}（${ROLE_LABEL[state.me.role] || state.me.role}）`;
  if (state.me.role === "upstream") {
    $("tabs").replaceChildren();
    $("view").replaceChildren(notice("这是上游系统的密钥：只能推送佐证材料，不能使用评价工作台。请退出后使用评价人员或管理员的密钥。", "error"));
    return;
  }
  await loadProjects();
  render();
  startLive();
}

takeKeyFromFragment();
if (hasKey()) start(); else showLogin();
