"""Charts of the scored indicator tree and the monthly deliverables, as SVG or PNG bytes: pure functions
of the evaluation result.

Rendered on a private ``Figure`` (no pyplot, no global backend switch: ``savefig`` picks the SVG or
Agg canvas by format), in
mainland Chinese glyph forms ("Noto Sans CJK SC"), with text drawn as paths so the SVG needs no fonts
where it is shown. The bytes are reproducible: fixed ``svg.hashsalt`` and no date in the metadata.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from opseval_shared.results import EvaluationResult, MonthlyDeliverables, ScoredIndicator, TimelinePoint

FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "Noto Serif CJK SC", "Microsoft YaHei", "DejaVu Sans"]
RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": FONTS,
    "axes.unicode_minus": False,
    "svg.hashsalt": "opseval",
    "svg.fonttype": "path",
    "font.size": 10,
}
METADATA = {"Date": None, "Creator": "opseval"}
Chart = Callable[[EvaluationResult, str], bytes]  # (result, "svg" | "png") -> bytes
BAR = "#4c72b0"
LOW = "#c44e52"  # 得分率 below 80%
DUE = "#a6bddb"  # 应交
LATE = "#dd8452"  # 逾期


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(RC):  # type: ignore[arg-type]  # plain str keys
        yield


def _svg(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata=METADATA)
    return buf.getvalue()


def _png(fig: Figure, dpi: int = 150) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": "opseval"})
    return buf.getvalue()


def _pct(rate: float) -> str:
    return f"{rate * 100:.2f}%"


def _level2(result: EvaluationResult) -> list[tuple[ScoredIndicator, ScoredIndicator]]:
    return [(top, mid) for top in result.indicators for mid in (top.children or (top,))]


def _rate_by_level2_figure(result: EvaluationResult) -> Figure:
    pairs = _level2(result)
    labels = [f"{top.name}·{mid.name}" if mid is not top else top.name for top, mid in pairs]
    rates = [float(mid.rate) for _, mid in pairs]
    fig = Figure(figsize=(7.0, 0.42 * len(pairs) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    ys = list(range(len(pairs)))
    ax.barh(ys, rates, color=[LOW if r < 0.8 else BAR for r in rates], height=0.6)
    ax.set_yticks(ys, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)
    ax.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0], ["0%", "20%", "40%", "60%", "80%", "100%"])
    ax.axvline(0.8, color="#888", linestyle="--", linewidth=0.8)
    for y, rate in zip(ys, rates, strict=True):
        ax.text(rate + 0.01, y, _pct(rate), va="center", fontsize=8)
    ax.set_title("二级指标得分率")
    ax.set_xlabel("得分率")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def _level1_radar_figure(result: EvaluationResult) -> Figure:
    tops = list(result.indicators)
    n = len(tops)
    angles = [2 * math.pi * i / n for i in range(n)]
    rates = [float(t.rate) for t in tops]
    fig = Figure(figsize=(5.0, 5.0), layout="constrained")
    ax: Any = fig.add_subplot(projection="polar")
    ax.set_theta_offset(math.pi / 2)  # first indicator at the top, then clockwise
    ax.set_theta_direction(-1)
    ax.set_rlabel_position(180 / n)  # the 20%…100% labels between the first two axes, clear of their names
    closed_a = [*angles, angles[0]]
    closed_r = [*rates, rates[0]]
    ax.plot(closed_a, closed_r, color=BAR, linewidth=1.5)
    ax.fill(closed_a, closed_r, color=BAR, alpha=0.25)
    ax.set_ylim(0, 1)
    ax.set_yticks([0.2, 0.4, 0.6, 0.8, 1.0], ["20%", "40%", "60%", "80%", "100%"], fontsize=7)
    ax.set_xticks(angles, [f"{t.name}\n{_pct(r)}" for t, r in zip(tops, rates, strict=True)])
    ax.tick_params(axis="x", pad=12)
    ax.set_title("一级指标得分率")
    return fig


def rate_by_level2(result: EvaluationResult, fmt: str = "svg") -> bytes:
    """Horizontal bars of the 得分率 of each level-2 indicator (a leaf level-1 indicator stands for itself)."""
    with _style():
        fig = _rate_by_level2_figure(result)
        return _svg(fig) if fmt == "svg" else _png(fig)


def level1_radar(result: EvaluationResult, fmt: str = "svg") -> bytes:
    """Radar of the 得分率 of the level-1 indicators."""
    with _style():
        fig = _level1_radar_figure(result)
        return _svg(fig) if fmt == "svg" else _png(fig)


def _monthly_view_figure(months: tuple[MonthlyDeliverables, ...]) -> Figure:
    n = len(months)
    fig = Figure(figsize=(max(6.0, 0.6 * n + 2.0), 3.8), layout="constrained")
    ax = fig.add_subplot()
    xs = list(range(n))
    width = 0.38
    due = [m.due for m in months]
    delivered = [m.delivered for m in months]
    late = [m.late for m in months]
    # ``delivered`` counts every deliverable delivered for the month (late ones too, up to what was due);
    # ``late`` how many of them came late, drawn as a line so on-time = delivered - late stays readable.
    ax.bar([x - width / 2 for x in xs], due, width, color=DUE, label="应交")
    ax.bar([x + width / 2 for x in xs], delivered, width, color=BAR, label="已交付（含逾期）")
    ax.plot(xs, late, color=LATE, marker="o", markersize=4, linewidth=1.5, label="其中逾期")
    top = max([*due, *delivered, *late, 1])
    for x, d, v in zip(xs, due, delivered, strict=True):
        ax.text(x - width / 2, d + top * 0.01, str(d), ha="center", va="bottom", fontsize=7)
        ax.text(x + width / 2, v + top * 0.01, str(v), ha="center", va="bottom", fontsize=7)
    for x, count in zip(xs, late, strict=True):
        if count:
            ax.annotate(
                f"逾期{count}",
                (x, count),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontsize=7,
                color=LATE,
            )
    labels = [f"{m.month[:4]}年{int(m.month[5:])}月" for m in months]
    ax.set_xticks(xs, labels, rotation=45 if n > 6 else 0, ha="right" if n > 6 else "center")
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(0, top * 1.25)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("交付物数量")
    ax.set_title("各月交付物应交、已交付与逾期")
    handles, names = ax.get_legend_handles_labels()
    order = [names.index(name) for name in ("应交", "已交付（含逾期）", "其中逾期")]
    ax.legend(
        [handles[i] for i in order], [names[i] for i in order], loc="upper left", fontsize=8, frameon=False, ncols=3
    )
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def monthly_view(result: EvaluationResult, fmt: str = "svg") -> bytes | None:
    """Grouped bars of the deliverables due (应交) and delivered (已交付, late ones included) per month of
    their due date, with how many came late (其中逾期) as a line and annotated; ``None`` when the result has
    no monthly series."""
    if not result.monthly:
        return None
    with _style():
        fig = _monthly_view_figure(result.monthly)
        return _svg(fig) if fmt == "svg" else _png(fig)


def _timeline_figure(points: tuple[TimelinePoint, ...], scale: float) -> Figure:
    n = len(points)
    fig = Figure(figsize=(7.0, 3.8), layout="constrained")  # the page's width: wider would shrink the text
    ax = fig.add_subplot()
    xs = list(range(n))
    totals = [float(p.total) for p in points]
    assessable = [float(p.assessable) for p in points]
    ax.plot(xs, assessable, color=DUE, linewidth=1.5, linestyle="--", marker="s", markersize=3, label="可评权重")
    ax.plot(xs, totals, color=BAR, linewidth=2, marker="o", markersize=4, label="得分")
    for x, total, point in zip(xs, totals, points, strict=True):
        ax.annotate(
            f"{total:g}",
            (x, total),
            textcoords="offset points",
            xytext=(0, -12 if point.pending else 6),
            ha="center",
            fontsize=7,
            color=BAR,
        )
    # a month's end reads as the month (2022年9月); the as-of date, when not one, as the day
    labels = [
        f"{p.as_of.year}年{p.as_of.month}月" + ("" if (p.as_of + timedelta(days=1)).day == 1 else f"{p.as_of.day}日")
        for p in points
    ]
    ax.set_xticks(xs, labels, rotation=45 if n > 6 else 0, ha="right" if n > 6 else "center", fontsize=8)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(0, scale * 1.08)
    ax.set_ylabel("分")
    ax.set_title("各月末得分与可评权重")
    ax.legend(loc="upper left", fontsize=8, frameon=False, ncols=2)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def timeline(result: EvaluationResult, fmt: str = "svg") -> bytes | None:
    """The score at each month's end beside the weight assessable by then (``--series month``); ``None``
    without a timeline. Inside the period both grow as duties fall due, so the gap is what was lost."""
    if not result.timeline:
        return None
    scale = max([float(sum(i.weight for i in result.indicators)), *(float(p.assessable) for p in result.timeline)])
    with _style():
        fig = _timeline_figure(result.timeline, scale)
        return _svg(fig) if fmt == "svg" else _png(fig)


Figures = list[tuple[str, str, bytes]]


def figures(result: EvaluationResult, fmt: str = "svg") -> Figures:
    """The report's figures in order, as ``(kind, caption, bytes)``; kind is ``"bar"`` or ``"radar"``
    (how wide to show it), numbered 图1, 图2 … The monthly chart is left out when there is no monthly
    series, the score trend when there is no timeline.

    The Word and PDF reports both take them as PNG, drawn once for both (``output.render_files``):
    an SVG chart costs WeasyPrint as much to draw as matplotlib to make, and the documents' budget
    is a few seconds."""
    drawn: list[tuple[str, str, bytes | None]] = [
        ("bar", "二级指标得分率", rate_by_level2(result, fmt)),
        ("radar", "一级指标得分率雷达图", level1_radar(result, fmt)),
        ("bar", "各月交付物应交、已交付与逾期", monthly_view(result, fmt)),
        ("bar", "各月末得分走势", timeline(result, fmt)),
    ]
    shown = [(kind, caption, data) for kind, caption, data in drawn if data is not None]
    return [(kind, f"图{n} {caption}", data) for n, (kind, caption, data) in enumerate(shown, start=1)]


CJK_SAMPLE = "绩效评价得分率决策过程产出效益"


def cjk_font_check() -> str:
    """The font file the charts draw Chinese with, after drawing ``CJK_SAMPLE`` into a PNG; raises
    RuntimeError when no installed font has the glyphs (the labels would come out as boxes).

    Run at image build time (``python -m opseval_reporting.charts``) so a missing CJK font fails the build.
    """
    import warnings

    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    with _style(), warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)"
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=FONTS[:-1]), fallback_to_default=False)
        except ValueError as exc:
            raise RuntimeError(f"no CJK font for the charts ({', '.join(FONTS[:-1])}): {exc}") from exc
        font = FT2Font(path)
        missing = [ch for ch in CJK_SAMPLE if font.get_char_index(ord(ch)) == 0]
        if missing:
            raise RuntimeError(f"{path} lacks the glyphs {''.join(missing)}")
        fig = Figure(figsize=(3, 1))
        fig.add_subplot().set_title(CJK_SAMPLE)
        try:
            png = _png(fig, dpi=50)
        except UserWarning as exc:
            raise RuntimeError(f"the charts cannot draw Chinese: {exc}") from exc
    if not png.startswith(b"\x89PNG"):
        raise RuntimeError("the chart did not render")
    return path


if __name__ == "__main__":
    print(f"charts draw Chinese with {cjk_font_check()}")
