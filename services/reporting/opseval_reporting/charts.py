"""Charts of the scored indicator tree, as SVG bytes: pure functions of the evaluation result.

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
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from opseval_shared.results import EvaluationResult, ScoredIndicator

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
    ax.set_rlabel_position(0)
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
