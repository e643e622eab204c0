// 人员对照: per contract, the staff the bid promised (投标文件拟投入人员) beside the on-site roster and each
// person's attendance as of the date chosen, and the roles the tender requires with their headcount.
import { api, cnDate, el, notice, num, pct } from "../core.js";
import { ensureStyle } from "./evidence.js";

const MATCH_CLASS = { matched: "ok", role_differs: "warn", not_on_site: "bad", not_promised: "warn" };

export default {
  id: "staffing",
  label: "人员对照",
  needsProject: true,
  async render(root, ctx) {
    ensureStyle();
    const { project, asOf, navigate } = ctx;
    const data = await api(`/v1/projects/${project}/staffing` + (asOf ? `?as_of=${asOf}` : ""));
    if (!data.contracts.length) {
      root.append(notice("该项目的合同未约定驻场人员，也没有驻场人员名单。"));
      return;
    }
    root.append(el("p", { class: "muted" }, `出勤统计截至 ${cnDate(data.as_of)}。“名单外人员”指实际驻场但不在投标文件拟投入人员名单中的人员。`));
    for (const c of data.contracts) root.append(contractPanel(c, navigate));
  },
};

function contractPanel(c, navigate) {
  const promised = c.staff.filter(r => r.promised_role).length;
  const absent = c.staff.filter(r => r.match === "not_on_site").length;
  const extra = c.staff.filter(r => r.match === "not_promised").length;
  const short = c.staff.filter(r => r.coverage !== null && Number(r.coverage) < Number(c.min_coverage)).length;
  const facts = [
    `承诺 ${promised} 人，实际驻场 ${c.on_site} 人` + (c.min_on_site ? `（要求不少于 ${c.min_on_site} 人）` : ""),
    absent ? `未到岗 ${absent} 人` : "",
    extra ? `名单外 ${extra} 人` : "",
    `服务期工作日 ${c.service_workdays} 天，出勤覆盖率要求 ${pct(c.min_coverage)}` + (short ? `，${short} 人未达到` : ""),
  ].filter(Boolean);
  const openRoster = (name) => navigate({ view: "evidence", kind: "clock_in", q: name, leaf: null, finding: null, from: null, until: null, page: null });
  const rows = c.staff.map(r => el("tr", { class: `match-${r.match}`, "data-name": r.name },
    el("td", {}, r.name),
    el("td", {}, el("span", { class: `match ${MATCH_CLASS[r.match]}` }, r.match_label)),
    el("td", {}, r.promised_role || "—"), el("td", { class: "num" }, r.promised_years != null ? num(r.promised_years) : "—"), el("td", {}, r.promised_education || "—"),
    el("td", { class: r.match === "role_differs" ? "differs" : "" }, r.actual_role || "—"), el("td", { class: "num" }, r.actual_years != null ? num(r.actual_years) : "—"), el("td", {}, r.actual_education || "—"),
    el("td", { class: "num" + (r.coverage !== null && Number(r.coverage) < Number(c.min_coverage) ? " short" : "") }, r.coverage !== null ? pct(r.coverage) : "—"),
    el("td", { class: "num" }, r.roster_event ? String(r.days_present) : "—"),
    el("td", {}, r.first_day ? cnDate(r.first_day) : "—"),
    el("td", { class: "num" }, r.late === null || !r.roster_event ? "—" : String(r.late)),
    el("td", { class: "num" }, r.left_early === null || !r.roster_event ? "—" : String(r.left_early)),
    el("td", {}, r.roster_event ? el("a", { href: "#", onclick: (ev) => { ev.preventDefault(); openRoster(r.name); } }, "打卡记录") : "")));
  const head = (...cells) => el("tr", {}, ...cells.map(([label, attrs]) => el("th", { scope: "col", ...(attrs || {}) }, label)));
  return el("section", { class: "panel staffing", "data-contract": c.contract, "aria-label": c.name },
    el("h2", {}, `${c.name}（${c.vendor}）`),
    el("p", { class: "facts" }, facts.join("；") + "。"),
    el("h3", {}, "岗位对照"),
    el("div", { class: "table-wrap" }, el("table", { class: "data roles" },
      el("thead", {}, head(["岗位"], ["招标要求"], ["承诺人数", { class: "num" }], ["实际驻场", { class: "num" }], ["差额", { class: "num" }])),
      el("tbody", {}, ...c.roles.map(r => el("tr", { class: r.on_site < r.promised ? "short" : "" },
        el("td", {}, r.role), el("td", {}, r.required ? "是" : "—"), el("td", { class: "num" }, String(r.promised)),
        el("td", { class: "num" }, String(r.on_site)), el("td", { class: "num" }, r.on_site > r.promised ? `+${r.on_site - r.promised}` : String(r.on_site - r.promised))))))),
    el("h3", {}, "人员对照"),
    el("div", { class: "table-wrap" }, el("table", { class: "data people", id: `staff-${c.contract}` },
      el("thead", {},
        el("tr", {}, el("th", { rowspan: 2, scope: "col" }, "姓名"), el("th", { rowspan: 2, scope: "col" }, "对照结果"),
          el("th", { colspan: 3, scope: "colgroup", class: "group" }, "投标承诺"), el("th", { colspan: 3, scope: "colgroup", class: "group" }, "实际驻场"),
          el("th", { colspan: 5, scope: "colgroup", class: "group" }, "考勤"), el("th", { rowspan: 2, scope: "col" }, "佐证")),
        head(["岗位"], ["年限", { class: "num" }], ["学历"], ["岗位"], ["年限", { class: "num" }], ["学历"],
          ["出勤覆盖率", { class: "num" }], ["打卡天数", { class: "num" }], ["首次打卡"], ["迟到", { class: "num" }], ["早退", { class: "num" }])),
      el("tbody", {}, ...rows))));
}
