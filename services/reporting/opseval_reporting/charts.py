"""Charts of the scored indicator tree, the monthly deliverables and the score trend, as PNG bytes: pure
functions of the evaluation result.

Drawn with Pillow (which WeasyPrint loads anyway) in mainland Chinese glyph forms: the "Noto Sans CJK SC"
face as fontconfig resolves it (:func:`fonts.font_file`: the SC face of the collection, not the JP
one). Each chart is drawn at three times its size and scaled down, which smooths its edges and text
as a plotting library's anti-aliasing would; sizes are given in points at 150 dpi, as the Word and PDF
reports show them (15 cm and 10 cm wide). Drawn with matplotlib they took a second per report (0.5 s
to import it, 0.15 s a chart); these take a few hundredths each. The bytes are reproducible: no date
in the PNG, one fixed "Software" text.
"""

from __future__ import annotations

import io
import itertools
import logging
import math
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import cache
from typing import Any

from opseval_shared.results import EvaluationResult, MonthlyDeliverables, ScoredIndicator, TimelinePoint

from . import fonts
from .fonts import font_file

log = logging.getLogger(__name__)

Chart = Callable[[EvaluationResult], bytes | None]
BAR = "#4c72b0"
LOW = "#c44e52"  # 得分率 below 80%
DUE = "#a6bddb"  # 应交
LATE = "#dd8452"  # 逾期
INK = "#000000"
GRID = "#b0b0b0"
GUIDE = "#888888"
DPI = 150
SUPERSAMPLE = 3
TITLE, LABEL, SMALL, TINY = 12.0, 10.0, 8.0, 7.0  # font sizes in points


@cache
def _font(px: int) -> Any:
    from PIL import ImageFont

    found = font_file()
    if found is None:
        _missing_font_warning()
        return ImageFont.load_default(px)
    path, index = found
    return ImageFont.truetype(path, px, index=index, layout_engine=ImageFont.Layout.BASIC)


@cache
def _missing_font_warning() -> None:
    log.warning(
        "no CJK font for the charts (%s): their Chinese labels come out as boxes "
        "(Debian: apt-get install fontconfig fonts-noto-cjk)",
        ", ".join(fonts.FONTS),
    )


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _tint(color: str, alpha: float) -> tuple[int, int, int]:
    """``color`` at ``alpha`` over white."""
    return tuple(round(c * alpha + 255 * (1 - alpha)) for c in _rgb(color))  # type: ignore[return-value]


class Canvas:
    """A white image of ``width`` × ``height`` inches, drawn on in points (1/72 in) from the top left."""

    def __init__(self, width: float, height: float) -> None:
        from PIL import Image, ImageDraw

        self.size = (round(width * DPI), round(height * DPI))
        self.k = DPI / 72 * SUPERSAMPLE  # pixels of the drawing per point
        self.image = Image.new("RGB", (self.size[0] * SUPERSAMPLE, self.size[1] * SUPERSAMPLE), "white")
        self.draw = ImageDraw.Draw(self.image)
        self.width, self.height = width * 72, height * 72

    def _px(self, v: float) -> int:
        return round(v * self.k)

    def font(self, size: float) -> Any:
        return _font(self._px(size))

    def text_width(self, text: str, size: float) -> float:
        return max(float(self.font(size).getlength(line)) for line in text.split("\n")) / self.k

    def text(
        self, x: float, y: float, text: str, size: float = LABEL, anchor: str = "mm", color: str = INK, angle: float = 0
    ) -> None:
        """``anchor`` as Pillow's: horizontal l/m/r, vertical t/m/b (of the line box: ascender to descender,
        so the same anchor places Latin and Chinese alike)."""
        h, v = anchor[0], {"t": "a", "m": "m", "b": "d"}[anchor[1]]
        font = self.font(size)
        if "\n" in text:
            self.draw.multiline_text(
                (self._px(x), self._px(y)), text, font=font, fill=color, anchor=h + v, align="center", spacing=0
            )
            return
        if not angle:
            self.draw.text((self._px(x), self._px(y)), text, font=font, fill=color, anchor=h + v)
            return
        from PIL import Image, ImageDraw

        # drawn level on its own transparent image, turned about the anchor and laid on
        length = math.ceil(font.getlength(text)) + 4
        ascent, descent = font.getmetrics()
        pad = length + ascent + descent
        tile = Image.new("L", (2 * pad, 2 * pad), 0)
        ImageDraw.Draw(tile).text((pad, pad), text, font=font, fill=255, anchor=h + v)
        if angle == 90:
            turned = tile.transpose(Image.Transpose.ROTATE_90)  # about the centre, which is the anchor
        else:
            turned = tile.rotate(angle, resample=Image.Resampling.BICUBIC, center=(pad, pad))
        ink = Image.new("RGB", turned.size, color)
        self.image.paste(ink, (self._px(x) - pad, self._px(y) - pad), turned)

    def line(self, points: Sequence[tuple[float, float]], color: str, width: float, dash: float = 0) -> None:
        pts = [(self._px(x), self._px(y)) for x, y in points]
        w = max(1, self._px(width))
        if not dash:
            self.draw.line(pts, fill=color, width=w, joint="curve")
            return
        for (x0, y0), (x1, y1) in itertools.pairwise(pts):
            length = math.hypot(x1 - x0, y1 - y0)
            step = dash * self.k
            n = max(1, int(length // step))
            for i in range(0, n, 2):
                a, b = i / n, min(1.0, (i + 1) / n)
                seg = [(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a), (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b)]
                self.draw.line(seg, fill=color, width=w)

    def rect(self, x0: float, y0: float, x1: float, y1: float, color: str) -> None:
        box = [self._px(min(x0, x1)), self._px(min(y0, y1)), self._px(max(x0, x1)), self._px(max(y0, y1))]
        if box[2] > box[0] and box[3] > box[1]:
            self.draw.rectangle([box[0], box[1], box[2] - 1, box[3] - 1], fill=color)

    def polygon(self, points: Sequence[tuple[float, float]], fill: tuple[int, int, int]) -> None:
        self.draw.polygon([(self._px(x), self._px(y)) for x, y in points], fill=fill)

    def circle(
        self, x: float, y: float, r: float, color: str | None, outline: str | None = None, width: float = 0
    ) -> None:
        box = [self._px(x - r), self._px(y - r), self._px(x + r), self._px(y + r)]
        self.draw.ellipse(box, fill=color, outline=outline, width=self._px(width) if outline else 0)

    def marker(self, x: float, y: float, size: float, color: str, square: bool = False) -> None:
        r = size / 2
        if square:
            self.rect(x - r, y - r, x + r, y + r, color)
        else:
            self.circle(x, y, r, color)

    def png(self) -> bytes:
        from PIL.PngImagePlugin import PngInfo

        small = self.image.reduce(SUPERSAMPLE)  # the mean of each 3 × 3 block
        info = PngInfo()
        info.add_text("Software", "opseval")
        buf = io.BytesIO()
        small.save(buf, format="PNG", pnginfo=info, compress_level=6)
        return buf.getvalue()


def _pct(rate: float) -> str:
    return f"{rate * 100:.2f}%"


def _nice_ticks(top: float, integer: bool = False, most: int = 8) -> list[float]:
    """Ticks from 0 at a round step (1, 2, 2.5 or 5 × 10ⁿ; whole numbers when ``integer``), at most
    ``most`` + 1 of them, the last at or above ``top``."""
    top = max(top, 1e-9)
    magnitude = 10 ** math.floor(math.log10(top / most))
    for factor in (1, 2, 2.5, 5, 10, 20):
        step = factor * magnitude
        if integer and (step < 1 or step != int(step)):
            continue
        if math.ceil(top / step - 1e-9) <= most:
            break
    count = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(count + 1)]


def _number(value: float) -> str:
    return f"{value:g}"


class Axes:
    """A plot area of ``canvas`` (in points) with data ranges; spines on the left and at the bottom."""

    def __init__(
        self,
        canvas: Canvas,
        box: tuple[float, float, float, float],
        xlim: tuple[float, float],
        ylim: tuple[float, float],
    ) -> None:
        self.c = canvas
        self.left, self.top, self.right, self.bottom = box
        self.xlim, self.ylim = xlim, ylim

    def x(self, v: float) -> float:
        return self.left + (v - self.xlim[0]) / (self.xlim[1] - self.xlim[0]) * (self.right - self.left)

    def y(self, v: float) -> float:
        return self.bottom - (v - self.ylim[0]) / (self.ylim[1] - self.ylim[0]) * (self.bottom - self.top)

    def spines(self) -> None:
        self.c.line([(self.left, self.top), (self.left, self.bottom), (self.right, self.bottom)], INK, 0.8)

    def xticks(self, ticks: Sequence[tuple[float, str]], size: float = LABEL, angle: float = 0) -> None:
        for value, label in ticks:
            x = self.x(value)
            self.c.line([(x, self.bottom), (x, self.bottom + 3.5)], INK, 0.8)
            if angle:
                self.c.text(x + 2, self.bottom + 6, label, size, anchor="rt", angle=angle)
            else:
                self.c.text(x, self.bottom + 5.5, label, size, anchor="mt")

    def yticks(self, ticks: Sequence[tuple[float, str]], size: float = LABEL) -> None:
        for value, label in ticks:
            y = self.y(value)
            self.c.line([(self.left - 3.5, y), (self.left, y)], INK, 0.8)
            self.c.text(self.left - 5.5, y, label, size, anchor="rm")


def _legend(canvas: Canvas, x: float, y: float, entries: Sequence[tuple[str, str, str]]) -> None:
    """One row of legend entries ``(kind, color, label)`` from (x, y), kind "bar", "line" or "square"."""
    for kind, color, label in entries:
        if kind == "bar":
            canvas.rect(x, y - 3.5, x + 14, y + 3.5, color)
        else:
            canvas.line([(x, y), (x + 14, y)], color, 1.5, dash=3 if kind == "square" else 0)
            canvas.marker(x + 7, y, 4 if kind == "line" else 3, color, square=kind == "square")
        canvas.text(x + 19, y, label, SMALL, anchor="lm")
        x += 19 + canvas.text_width(label, SMALL) + 18


def _level2(result: EvaluationResult) -> list[tuple[ScoredIndicator, ScoredIndicator]]:
    return [(top, mid) for top in result.indicators for mid in (top.children or (top,))]


def rate_by_level2(result: EvaluationResult) -> bytes:
    """Horizontal bars of the 得分率 of each level-2 indicator (a leaf level-1 indicator stands for itself)."""
    pairs = _level2(result)
    labels = [f"{top.name}·{mid.name}" if mid is not top else top.name for top, mid in pairs]
    rates = [float(mid.rate) for _, mid in pairs]
    n = len(pairs)
    c = Canvas(7.0, 0.42 * n + 1.2)
    left = 6 + max((c.text_width(label, LABEL) for label in labels), default=0) + 8
    ax = Axes(c, (left, 26, c.width - 4, c.height - 36), (0, 1.12), (n - 0.5 + 0.55, -0.5 - 0.55))
    c.text((ax.left + ax.right) / 2, 4, "二级指标得分率", TITLE, anchor="mt")
    for i, rate in enumerate(rates):
        c.rect(ax.x(0), ax.y(i - 0.3), ax.x(rate), ax.y(i + 0.3), LOW if rate < 0.8 else BAR)
        c.text(ax.x(rate + 0.01), ax.y(i), _pct(rate), SMALL, anchor="lm")
    c.line([(ax.x(0.8), ax.top), (ax.x(0.8), ax.bottom)], GUIDE, 0.8, dash=3)
    ax.spines()
    ax.xticks([(v / 5, f"{v * 20}%") for v in range(6)])
    ax.yticks([(i, label) for i, label in enumerate(labels)])
    c.text((ax.left + ax.right) / 2, c.height - 3, "得分率", LABEL, anchor="mb")
    return c.png()


def level1_radar(result: EvaluationResult) -> bytes:
    """Radar of the 得分率 of the level-1 indicators, the first at the top, then clockwise."""
    tops = list(result.indicators)
    n = len(tops)
    rates = [float(t.rate) for t in tops]
    c = Canvas(5.0, 5.0)
    c.text(c.width / 2, 4, "一级指标得分率", TITLE, anchor="mt")
    labels = [f"{t.name}\n{_pct(r)}" for t, r in zip(tops, rates, strict=True)]
    side = max((c.text_width(label, LABEL) for label in labels), default=0)
    cx, cy = c.width / 2, c.height / 2 + 9
    radius = min(c.width / 2 - side - 12, c.height / 2 - 9 - 22 - 2 * LABEL * 1.2)

    def at(i: float, r: float) -> tuple[float, float]:
        angle = 2 * math.pi * i / max(n, 1)
        return cx + radius * r * math.sin(angle), cy - radius * r * math.cos(angle)

    if n >= 3:  # one or two indicators enclose no area: their line alone
        c.polygon([at(i, r) for i, r in enumerate(rates)], _tint(BAR, 0.25))
    for ring in (0.2, 0.4, 0.6, 0.8):
        c.circle(cx, cy, radius * ring, None, outline=GRID, width=0.8)
    for i in range(n):
        c.line([(cx, cy), at(i, 1.0)], GRID, 0.8)
    c.circle(cx, cy, radius, None, outline=INK, width=0.8)
    if rates:
        c.line([at(i, r) for i, r in enumerate([*rates, rates[0]])], BAR, 1.5)
    for ring in (0.2, 0.4, 0.6, 0.8, 1.0):  # between the first two axes, clear of their names
        x, y = at(0.5, ring)
        c.text(x + 3, y, f"{round(ring * 100)}%", TINY, anchor="lm")
    for i, label in enumerate(labels):
        angle = 2 * math.pi * i / n
        x, y = at(i, 1.0)
        sx, sy = math.sin(angle), -math.cos(angle)
        h = "m" if abs(sx) < 0.2 else ("l" if sx > 0 else "r")
        v = "m" if abs(sy) < 0.2 else ("t" if sy > 0 else "b")
        c.text(x + sx * 8, y + sy * 8, label, LABEL, anchor=h + v)
    return c.png()


def _month_label(month: str) -> str:
    return f"{month[:4]}年{int(month[5:])}月"


def _monthly_view(months: tuple[MonthlyDeliverables, ...]) -> bytes:
    n = len(months)
    c = Canvas(max(6.0, 0.6 * n + 2.0), 3.8)
    due = [m.due for m in months]
    delivered = [m.delivered for m in months]
    late = [m.late for m in months]
    top = max([*due, *delivered, *late, 1])
    ticks = [t for t in _nice_ticks(top * 1.25, integer=True) if t <= top * 1.25]
    labels = [_month_label(m.month) for m in months]
    rotate = n > 6
    ytick_width = max(c.text_width(_number(t), LABEL) for t in ticks)
    bottom = c.height - (max(c.text_width(label, LABEL) for label in labels) * 0.72 + 14 if rotate else 22)
    ax = Axes(c, (LABEL * 1.4 + 8 + ytick_width + 8, 26, c.width - 6, bottom), (-0.6, n - 0.4), (0, top * 1.25))
    c.text((ax.left + ax.right) / 2, 4, "各月交付物应交、已交付与逾期", TITLE, anchor="mt")
    width = 0.38
    for x, d, v in zip(range(n), due, delivered, strict=True):
        c.rect(ax.x(x - width), ax.y(0), ax.x(x), ax.y(d), DUE)
        c.rect(ax.x(x), ax.y(0), ax.x(x + width), ax.y(v), BAR)
        c.text(ax.x(x - width / 2), ax.y(d + top * 0.01), str(d), TINY, anchor="mb")
        c.text(ax.x(x + width / 2), ax.y(v + top * 0.01), str(v), TINY, anchor="mb")
    # ``delivered`` counts every deliverable delivered for the month (late ones too, up to what was due);
    # ``late`` how many of them came late, drawn as a line so on-time = delivered - late stays readable.
    c.line([(ax.x(x), ax.y(count)) for x, count in enumerate(late)], LATE, 1.5)
    for x, count in enumerate(late):
        c.marker(ax.x(x), ax.y(count), 4, LATE)
        if count:
            c.text(ax.x(x), ax.y(count) - 6, f"逾期{count}", TINY, anchor="mb", color=LATE)
    ax.spines()
    ax.yticks([(t, _number(t)) for t in ticks])
    ax.xticks(list(enumerate(labels)), angle=45 if rotate else 0)
    c.text(6, (ax.top + ax.bottom) / 2, "交付物数量", LABEL, anchor="mt", angle=90)
    entries = [("bar", DUE, "应交"), ("bar", BAR, "已交付（含逾期）"), ("line", LATE, "其中逾期")]
    _legend(c, ax.left + 8, ax.top + 8, entries)
    return c.png()


def monthly_view(result: EvaluationResult) -> bytes | None:
    """Grouped bars of the deliverables due (应交) and delivered (已交付, late ones included) per month of
    their due date, with how many came late (其中逾期) as a line and annotated; ``None`` when the result has
    no monthly series."""
    if not result.monthly:
        return None
    return _monthly_view(result.monthly)


def _timeline(points: tuple[TimelinePoint, ...], scale: float) -> bytes:
    n = len(points)
    c = Canvas(7.0, 3.8)  # the page's width: wider would shrink the text
    totals = [float(p.total) for p in points]
    assessable = [float(p.assessable) for p in points]
    # a month's end reads as the month (2022年9月); the as-of date, when not one, as the day
    labels = [
        f"{p.as_of.year}年{p.as_of.month}月" + ("" if (p.as_of + timedelta(days=1)).day == 1 else f"{p.as_of.day}日")
        for p in points
    ]
    rotate = n > 6
    ticks = [t for t in _nice_ticks(scale * 1.08) if t <= scale * 1.08]
    ytick_width = max(c.text_width(_number(t), LABEL) for t in ticks)
    bottom = c.height - (max(c.text_width(label, SMALL) for label in labels) * 0.72 + 14 if rotate else 20)
    ax = Axes(c, (LABEL * 1.4 + 8 + ytick_width + 8, 26, c.width - 6, bottom), (-0.5, n - 0.5), (0, scale * 1.08))
    c.text((ax.left + ax.right) / 2, 4, "各月末得分与可评权重", TITLE, anchor="mt")
    c.line([(ax.x(x), ax.y(a)) for x, a in enumerate(assessable)], DUE, 1.5, dash=4)
    for x, a in enumerate(assessable):
        c.marker(ax.x(x), ax.y(a), 3, DUE, square=True)
    c.line([(ax.x(x), ax.y(t)) for x, t in enumerate(totals)], BAR, 2)
    lines = [
        [(ax.x(x), ax.y(a)) for x, a in enumerate(assessable)],
        [(ax.x(x), ax.y(t)) for x, t in enumerate(totals)],
    ]
    placed: list[Box] = []
    for x, total in enumerate(totals):
        c.marker(ax.x(x), ax.y(total), 4, BAR)
        if 0 < x < n - 1 and total == totals[x - 1]:
            continue  # a score unchanged since the month before is read off its label there
        text = _number(total)
        px, py, anchor, box = _free_spot(c, ax, ax.x(x), ax.y(total), text, TINY, lines, placed)
        placed.append(box)
        c.text(px, py, text, TINY, anchor=anchor, color=BAR)
    ax.spines()
    ax.yticks([(t, _number(t)) for t in ticks])
    ax.xticks(list(enumerate(labels)), size=SMALL, angle=45 if rotate else 0)
    c.text(6, (ax.top + ax.bottom) / 2, "分", LABEL, anchor="mt", angle=90)
    _legend(c, ax.left + 8, ax.top + 8, [("square", DUE, "可评权重"), ("line", BAR, "得分")])
    return c.png()


Box = tuple[float, float, float, float]  # left, top, right, bottom, in points
# Where a point's label may go, in order of preference: (dx, dy, anchor) from the point.
LABEL_SPOTS = (
    (0.0, 6.0, "mt"),
    (0.0, -6.0, "mb"),
    (-6.0, -4.0, "rb"),
    (6.0, 4.0, "lt"),
    (-7.0, 0.0, "rm"),
    (7.0, 0.0, "lm"),
    (-6.0, 4.0, "rt"),
    (6.0, -4.0, "lb"),
    (0.0, 14.0, "mt"),
    (0.0, -14.0, "mb"),
    (-12.0, -10.0, "rb"),
    (-12.0, 10.0, "rt"),
)


def _label_box(x: float, y: float, width: float, height: float, anchor: str) -> Box:
    left = {"l": x, "m": x - width / 2, "r": x - width}[anchor[0]]
    top = {"t": y, "m": y - height / 2, "b": y - height}[anchor[1]]
    return (left, top, left + width, top + height)


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _crosses(box: Box, line: list[tuple[float, float]]) -> bool:
    """Whether the polyline passes through the box (each segment sampled finely enough for labels)."""
    left, top, right, bottom = box
    for (x0, y0), (x1, y1) in itertools.pairwise(line):
        steps = max(2, int(max(abs(x1 - x0), abs(y1 - y0)) / 1.5))
        for i in range(steps + 1):
            x, y = x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps
            if left <= x <= right and top <= y <= bottom:
                return True
    return False


def _free_spot(
    c: Canvas,
    ax: Axes,
    x: float,
    y: float,
    text: str,
    size: float,
    lines: list[list[tuple[float, float]]],
    placed: list[Box],
) -> tuple[float, float, str, Box]:
    """The first spot of LABEL_SPOTS where the label stays inside the plot, off the lines and off the
    labels already placed; the first inside the plot when none is free."""
    width, height = c.text_width(text, size) + 2, size * 1.25
    fallback: tuple[float, float, str, Box] | None = None
    for dx, dy, anchor in LABEL_SPOTS:
        box = _label_box(x + dx, y + dy, width, height, anchor)
        if box[0] < ax.left or box[2] > ax.right or box[1] < ax.top or box[3] > ax.bottom:
            continue
        spot = (x + dx, y + dy, anchor, box)
        fallback = fallback or spot
        if not any(_overlap(box, b) for b in placed) and not any(_crosses(box, line) for line in lines):
            return spot
    return fallback or (x, y + 6, "mt", _label_box(x, y + 6, width, height, "mt"))


def timeline(result: EvaluationResult) -> bytes | None:
    """The score at each month's end beside the weight assessable by then (``--series month``); ``None``
    without a timeline. Inside the period both grow as duties fall due, so the gap is what was lost."""
    if not result.timeline:
        return None
    scale = max([float(sum(i.weight for i in result.indicators)), *(float(p.assessable) for p in result.timeline)])
    return _timeline(result.timeline, scale)


Figures = list[tuple[str, str, bytes]]


def figures(result: EvaluationResult) -> Figures:
    """The report's figures in order, as ``(kind, caption, PNG bytes)``; kind is ``"bar"`` or ``"radar"``
    (how wide to show it), numbered 图1, 图2 … The monthly chart is left out when there is no monthly
    series, the score trend when there is no timeline. The Word and PDF reports both take them, drawn
    once for both (``output.render_files``)."""
    drawn: list[tuple[str, str, bytes | None]] = [
        ("bar", "二级指标得分率", rate_by_level2(result)),
        ("radar", "一级指标得分率雷达图", level1_radar(result)),
        ("bar", "各月交付物应交、已交付与逾期", monthly_view(result)),
        ("bar", "各月末得分走势", timeline(result)),
    ]
    shown = [(kind, caption, data) for kind, caption, data in drawn if data is not None]
    return [(kind, f"图{n} {caption}", data) for n, (kind, caption, data) in enumerate(shown, start=1)]


CJK_SAMPLE = "绩效评价得分率决策过程产出效益"


def cjk_font_check() -> str:
    """The font file the charts draw Chinese with, after drawing ``CJK_SAMPLE`` into a PNG; raises
    RuntimeError when no installed font has the glyphs (the labels would come out as boxes).

    Run at image build time (``python -m opseval_reporting.charts``) so a missing CJK font fails the build.
    """
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

    fonts.font_file.cache_clear()
    _font.cache_clear()
    found = font_file()
    if found is None:
        raise RuntimeError(f"no CJK font for the charts ({', '.join(fonts.FONTS)}): fontconfig (fc-match) finds none")
    path, index = found
    cmap = TTFont(path, fontNumber=index, lazy=True).getBestCmap()
    missing = [ch for ch in CJK_SAMPLE if ord(ch) not in cmap]
    if missing:
        raise RuntimeError(f"{path} lacks the glyphs {''.join(missing)}")
    c = Canvas(3, 1)
    c.text(c.width / 2, c.height / 2, CJK_SAMPLE, TITLE)
    if not c.png().startswith(b"\x89PNG"):
        raise RuntimeError("the chart did not render")
    return path


if __name__ == "__main__":
    print(f"charts draw Chinese with {cjk_font_check()}")
