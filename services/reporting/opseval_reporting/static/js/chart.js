// Small SVG charts for the workbench, with no library: drawn in a viewBox so they scale with the
// page (1024 px to wide screens) and keep their text proportionate; each has a <title> and a
// <desc> that say in words what the picture shows, for screen readers and for anyone hovering.

import { cnDate, num } from "./core.js";

const NS = "http://www.w3.org/2000/svg";
// The grade colours of app.css (--excellent, --good, --fair, --poor); other grade names get neutrals.
const GRADE_COLOUR = { "优": "#2e7d32", "良": "#1565c0", "中": "#ef6c00", "差": "#c62828" };
const OTHER_COLOURS = ["#6a1b9a", "#00838f", "#5d4037", "#455a64"];
const LINE = "#1f3a5f";
let charts = 0;

export function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v);
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) e.append(c);
  return e;
}

const isMonthEnd = (iso) => {
  const d = new Date(iso + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() + 1);
  return d.getUTCDate() === 1;
};
const dayNumber = (iso) => Date.parse(iso + "T00:00:00Z") / 86400000;

// The label under a point: 3月 at a month's end (with the year at the first point and at January),
// 10月15日 for an as-of date inside a month.
function xLabel(iso, first) {
  const [y, m, d] = iso.split("-").map(Number);
  const month = isMonthEnd(iso) ? `${m}月` : `${m}月${d}日`;
  return first || m === 1 ? `${y}年${month}` : month;
}

const bandLabel = (b) => (b.max === null || b.max === undefined ? `${b.grade}（≥${num(b.min)}）`
  : Number(b.min) <= 0 ? `${b.grade}（<${num(b.max)}）` : `${b.grade}（${num(b.min)}–${num(b.max)}）`);

/**
 * The total at each month's end (and the as-of date, last) over the grade bands.
 * points: [{ as_of, total, grade, assessable, pending, findings }] as /series answers;
 * bands: [{ grade, min, max }] best first as /grades answers.
 * A point with weight still pending is interim (阶段性): drawn hollow and said so.
 */
export function timelineChart(points, bands, { caption = "得分走势（各月末）" } = {}) {
  const n = ++charts;
  const W = 900, H = 320, left = 52, right = 124, top = 34, bottom = 58;
  const plotW = W - left - right, plotH = H - top - bottom;
  const full = Math.max(100, ...points.map(p => Number(p.assessable) + Number(p.pending)), ...bands.map(b => Number(b.min)));
  const y = (v) => top + plotH * (1 - Math.max(0, Math.min(full, Number(v))) / full);
  const days = points.map(p => dayNumber(p.as_of));
  const first = Math.min(...days), last = Math.max(...days);
  const x = (i) => left + (last > first ? plotW * (days[i] - first) / (last - first) : plotW / 2);

  const describe = points.map(p => `${cnDate(p.as_of)} ${num(p.total)} 分（${p.grade}${Number(p.pending) > 0 ? "，阶段性" : ""}）`);
  const desc = points.length
    ? `折线图，纵轴为得分（0–${num(full)} 分），按等级区间着色（${bands.map(bandLabel).join("，")}）；横轴为评价基准日。${describe.join("；")}。空心点为阶段性结果（尚有待评权重）；虚线为当时的可评权重。`
    : "尚无可绘制的得分。";
  const chart = svg("svg", {
    class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `chart-${n}-title chart-${n}-desc`,
    preserveAspectRatio: "xMinYMin meet", "font-size": 13,
  }, svg("title", { id: `chart-${n}-title` }, caption), svg("desc", { id: `chart-${n}-desc` }, desc));

  // grade bands, shaded, each labelled at the right edge
  bands.forEach((b, i) => {
    const colour = GRADE_COLOUR[b.grade] || OTHER_COLOURS[i % OTHER_COLOURS.length];
    const upper = b.max === null || b.max === undefined ? full : Number(b.max);
    const y0 = y(upper), y1 = y(b.min);
    chart.append(svg("rect", { class: "band", "data-grade": b.grade, x: left, y: y0, width: plotW, height: Math.max(0, y1 - y0), fill: colour, "fill-opacity": 0.09 }),
      svg("text", { x: left + plotW + 16, y: (y0 + y1) / 2 + 4, fill: colour, "font-weight": "bold" }, bandLabel(b)));
  });

  // the y axis: every 20 points and each band's lower bound, with light grid lines
  const ticks = [...new Set([0, 20, 40, 60, 80, 100, full, ...bands.map(b => Number(b.min))])].filter(v => v <= full).sort((a, b) => a - b);
  for (const t of ticks) {
    chart.append(svg("line", { x1: left, x2: left + plotW, y1: y(t), y2: y(t), stroke: "#cfd6de", "stroke-dasharray": bands.some(b => Number(b.min) === t && t > 0) ? "4 3" : null }),
      svg("text", { x: left - 8, y: y(t) + 4, "text-anchor": "end", fill: "#555" }, num(t)));
  }
  chart.append(svg("line", { x1: left, x2: left, y1: top, y2: top + plotH, stroke: "#888" }),
    svg("line", { x1: left, x2: left + plotW, y1: top + plotH, y2: top + plotH, stroke: "#888" }),
    svg("text", { x: 14, y: top + plotH / 2, transform: `rotate(-90 14 ${top + plotH / 2})`, "text-anchor": "middle", fill: "#333" }, "得分（分）"),
    svg("text", { x: left + plotW / 2, y: H - 6, "text-anchor": "middle", fill: "#333" }, "评价基准日"));

  if (!points.length) return chart;

  // x labels: one per point, a crowded one (an as-of date just after a month's end) on a second line
  let lastLabelX = -Infinity;
  points.forEach((p, i) => {
    const crowded = x(i) - lastLabelX < 48;
    chart.append(svg("text", { x: x(i), y: top + plotH + (crowded ? 36 : 18), "text-anchor": "middle", fill: "#333" }, xLabel(p.as_of, i === 0)));
    if (!crowded) lastLabelX = x(i);
  });

  // the weight assessable then (the most the total could be), dashed; the total, solid
  const path = (values) => values.map((v, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  chart.append(svg("path", { class: "assessable", d: path(points.map(p => p.assessable)), fill: "none", stroke: "#90a4ae", "stroke-width": 1.5, "stroke-dasharray": "6 4" }),
    svg("path", { class: "total", d: path(points.map(p => p.total)), fill: "none", stroke: LINE, "stroke-width": 2.5 }));
  points.forEach((p, i) => {
    const interim = Number(p.pending) > 0;
    const tip = `${cnDate(p.as_of)}：${num(p.total)} 分，${p.grade}${interim ? `（阶段性：可评 ${num(p.assessable)} 分，待评 ${num(p.pending)} 分）` : ""}，问题 ${p.findings} 项`;
    chart.append(svg("g", { class: "point" + (interim ? " interim" : ""), "data-as-of": p.as_of, tabindex: 0, "aria-label": tip },
      svg("title", {}, tip),
      svg("circle", { cx: x(i), cy: y(p.total), r: 5, fill: interim ? "#fff" : LINE, stroke: LINE, "stroke-width": 2 }),
      svg("text", { x: x(i), y: y(p.total) - 10, "text-anchor": "middle", fill: "#222", "font-size": 12,
        stroke: "#fff", "stroke-width": 3, "paint-order": "stroke" }, num(Number(p.total).toFixed(1)))));
  });

  // legend, top left
  const legend = svg("g", { class: "legend", transform: `translate(${left + 4}, 14)` },
    svg("circle", { cx: 6, cy: 0, r: 5, fill: LINE }), svg("text", { x: 16, y: 4 }, "得分"),
    svg("circle", { cx: 70, cy: 0, r: 5, fill: "#fff", stroke: LINE, "stroke-width": 2 }), svg("text", { x: 80, y: 4 }, "阶段性（尚有待评权重）"),
    svg("line", { x1: 250, x2: 278, y1: 0, y2: 0, stroke: "#90a4ae", "stroke-width": 1.5, "stroke-dasharray": "6 4" }), svg("text", { x: 284, y: 4 }, "可评权重"));
  chart.append(legend);
  return chart;
}
