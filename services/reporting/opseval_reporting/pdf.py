"""The PDF 绩效评价报告: the same sections as the HTML report, laid out for A4 print with WeasyPrint.

A print-specific HTML wrapper around ``render``'s sections plus the charts (PNG, drawn once for the
Word report too), in mainland Chinese glyph forms (``lang="zh-CN"``, "Noto Sans CJK SC"/"Noto Serif CJK SC"). WeasyPrint
embeds subsets of the fonts it uses. Page footer "第 N 页 共 M 页". The creation/modification dates
are the evaluation's 基准日, so the bytes depend only on the input (and the installed fonts/WeasyPrint).

Needs the system libraries Pango (``libpango-1.0-0``, ``libpangoft2-1.0-0``), HarfBuzz subsetting
(``libharfbuzz-subset0``, else font subsetting is ~20x slower) and the CJK fonts (``fonts-noto-cjk``).
"""

from __future__ import annotations

import base64
import html
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from types import ModuleType

from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult

from . import charts
from .content import Edition, Report, build_report
from .render import _html_section

PRINT_CSS = """
@page {
  size: A4;
  margin: 25mm 20mm 22mm 20mm;
  @bottom-center { content: "第 " counter(page) " 页 共 " counter(pages) " 页";
                   font-family: "Noto Sans CJK SC", sans-serif; font-size: 9pt; color: #555; }
}
html { font-family: "Noto Serif CJK SC", "Noto Sans CJK SC", serif; font-size: 10.5pt; line-height: 1.6;
       color: #222; }
h1, h2, h3, h4, th, .subtitle, figcaption { font-family: "Noto Sans CJK SC", sans-serif; }
@page cover { @bottom-center { content: none; } }
.cover { page: cover; page-break-after: always; }
h1 { text-align: center; font-size: 26pt; margin: 50mm 0 25mm; letter-spacing: .2em; }
table.cover-lines { width: 120mm; margin: 0 auto; border: none; font-size: 15pt; }
table.cover-lines td { border: none; padding: 3pt 0; vertical-align: top; }
table.cover-lines td.label { width: 32mm; text-align: justify; text-align-last: justify; }
nav.contents { page: cover; page-break-after: always; }
nav.contents h2 { text-align: center; border: none; }
nav.contents a { display: block; color: inherit; text-decoration: none; line-height: 2; }
nav.contents a.level2 { padding-left: 2em; }
nav.contents a::after { content: leader('.') target-counter(attr(href), page); }
p.caption { text-align: center; text-indent: 0; font-family: "Noto Sans CJK SC", sans-serif; font-size: 9.5pt;
            margin-bottom: 0; page-break-after: avoid; }
td.nowrap { white-space: nowrap; }
h2 { font-size: 15pt; border-bottom: 1.5pt solid #444; padding-bottom: 2pt; margin-top: 1.4em;
     page-break-after: avoid; }
h3 { font-size: 13pt; page-break-after: avoid; }
h4 { font-size: 11pt; page-break-after: avoid; }
p { text-indent: 2em; margin: .4em 0; text-align: justify; }
table { border-collapse: collapse; width: 100%; margin: .6em 0; font-size: 9pt; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
th, td { border: .6pt solid #888; padding: 2pt 4pt; vertical-align: middle; }
th { background: #eef; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; text-align: center; page-break-inside: avoid; }
figure img { max-width: 100%; }
figure.bar img { width: 150mm; }
figure.radar img { width: 100mm; }
figcaption { font-size: 9pt; color: #444; }
"""

CHARTS_AFTER = "三、"  # the charts follow the section 综合评价情况及评价结论 (else the 摘要)
CONTENTS_LEVELS = 2  # the contents list the 一级 and 二级 headings


@contextmanager
def _sonames_only() -> Iterator[None]:
    """``ctypes.util.find_library`` answering None while WeasyPrint loads its libraries.

    WeasyPrint tries several names for each of its seven libraries (``libgobject-2.0-0``,
    ``gobject-2.0-0``, ``gobject-2.0``, ``libgobject-2.0.so.0`` …); through cffi, each name that is not
    a file name costs a ``find_library`` search, which on Linux runs ``ldconfig -p``, then gcc and ld:
    0.2 s of each first PDF (and as much CPU in the child processes). Without it the names fail at
    once and the soname among them (``libgobject-2.0.so.0``) is opened by the dynamic loader, from
    the same places ldconfig lists."""
    import ctypes.util

    original = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:
        yield
    finally:
        ctypes.util.find_library = original


# One first import at a time: two threads each swapping `find_library` would restore each other's
# stand-in, leaving it in place for the whole process.
_FIRST_IMPORT = threading.Lock()


def load_weasyprint() -> ModuleType:
    """The ``weasyprint`` module, imported without ``find_library`` searches on Linux (see
    ``_sonames_only``; should a library be found only by them, the ordinary import follows). Raises
    ImportError or OSError when its libraries (Pango) are missing."""
    if "weasyprint" not in sys.modules and sys.platform.startswith("linux"):
        with _FIRST_IMPORT:
            if "weasyprint" not in sys.modules:
                try:
                    with _sonames_only():
                        import weasyprint  # type: ignore[import-untyped]
                except OSError:
                    pass
    import weasyprint  # noqa: F401 - the ordinary import, a no-op once imported

    return sys.modules["weasyprint"]


def _figure(png: bytes, caption: str, cls: str) -> str:
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (
        f'<figure class="{cls}"><img src="{src}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _as_datetime(day: date) -> str:
    return f"{day.isoformat()}T00:00:00+08:00"


def print_html(report: Report, result: EvaluationResult, figures: charts.Figures | None = None) -> str:
    """The report as one HTML page for print: the ``render`` sections, the charts (图1–图3, the monthly
    deliverables chart only when there is a monthly series; PNG, drawn here unless given), print CSS."""
    drawn = charts.figures(result) if figures is None else figures
    shown = "\n".join(_figure(png, caption, kind) for kind, caption, png in drawn)
    anchor = next((i for i, s in enumerate(report.sections) if s.title.startswith(CHARTS_AFTER)), 0)
    parts = []
    contents = []
    for i, section in enumerate(report.sections):
        parts.append(_html_section(section, f"s{i}"))
        if section.level <= CONTENTS_LEVELS:
            contents.append(f'<a class="level{section.level}" href="#s{i}">{html.escape(section.title)}</a>')
        if i == anchor:
            parts.append(shown)
    cover_lines = "".join(
        f'<tr><td class="label">{html.escape(label)}</td><td>：{html.escape(value)}</td></tr>'
        for label, value in report.cover
    )
    stamp = _as_datetime(result.as_of)
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(report.title)}</title>\n"
        '<meta name="generator" content="opseval">\n'
        f'<meta name="dcterms.created" content="{stamp}">\n'
        f'<meta name="dcterms.modified" content="{stamp}">\n'
        f"<style>{PRINT_CSS}</style>\n</head>\n<body>\n"
        f'<section class="cover"><h1>{html.escape(report.kind)}</h1>\n'
        f'<table class="cover-lines">{cover_lines}</table></section>\n'
        f'<nav class="contents"><h2>目  录</h2>{"".join(contents)}</nav>\n' + "\n".join(parts) + "\n</body>\n</html>\n"
    )


def report_pdf(
    result: EvaluationResult,
    definition: ProjectDefinition,
    edition: Edition | None = None,
    figures: charts.Figures | None = None,
) -> bytes:
    """The 绩效评价报告 as A4 PDF bytes (with ``figures`` as ``charts.figures`` draws them as PNG, when drawn)."""
    weasyprint = load_weasyprint()  # late: needs Pango at import time
    document = print_html(build_report(result, definition, edition), result, figures)
    data = weasyprint.HTML(string=document).write_pdf()
    assert data is not None
    return bytes(data)
