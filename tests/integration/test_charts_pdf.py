"""Charts (Pillow, PNG) and the PDF 绩效评价报告 (WeasyPrint): mainland Chinese glyph forms, no
missing glyphs, reproducible bytes, A4 pages numbered "第 N 页 共 M 页", CJK SC fonts embedded.

Needs the Debian packages fonts-noto-cjk (charts and PDF), libpango-1.0-0 libpangoft2-1.0-0
libharfbuzz-subset0 (PDF) and poppler-utils (pdftotext/pdffonts checks); skips with the reason otherwise.
"""

from __future__ import annotations

import ctypes.util
import re
import shutil
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from opseval_reporting import charts, fonts
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult, TimelinePoint

from opseval.embedded import evaluate_bundle

ROOT = Path(__file__).resolve().parents[2]
DONGGUAN = ROOT / "examples" / "dongguan-2022"
GUANGZHOU = ROOT / "examples" / "guangzhou-2023"


def _has_sc_font() -> bool:
    """Whether the charts find the SC face of Noto Sans CJK (through fontconfig)."""
    found = fonts.font_file()
    return found is not None and "NotoSansCJK" in Path(found[0]).name


def _weasyprint_missing() -> str | None:
    for lib in ("pango-1.0", "pangoft2-1.0", "harfbuzz-subset"):
        if ctypes.util.find_library(lib) is None:
            return f"lib{lib} not installed (Debian: libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)"
    try:
        import weasyprint  # type: ignore[import-untyped]  # noqa: F401
    except OSError as exc:  # pragma: no cover - depends on the machine
        return f"WeasyPrint cannot load its system libraries: {exc}"
    return None


needs_cjk_font = pytest.mark.skipif(
    not _has_sc_font(), reason="font 'Noto Sans CJK SC' not found by fontconfig (Debian: fontconfig fonts-noto-cjk)"
)
_missing = _weasyprint_missing()
needs_weasyprint = pytest.mark.skipif(_missing is not None, reason=_missing or "")
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdffonts") is None,
    reason="pdftotext/pdffonts not installed (Debian: poppler-utils)",
)


@pytest.fixture(scope="module")
def evaluated() -> tuple[EvaluationResult, ProjectDefinition]:
    return evaluate_bundle(DONGGUAN)


@needs_cjk_font
@pytest.mark.parametrize("chart", [charts.rate_by_level2, charts.level1_radar])
def test_chart_renders_reproducibly(evaluated: tuple[EvaluationResult, ProjectDefinition], chart: charts.Chart) -> None:
    result, _ = evaluated
    first = chart(result)
    second = chart(result)
    assert first is not None and first == second
    assert first.startswith(b"\x89PNG")
    assert b"opseval" in first  # Software, and no date
    assert b"tIME" not in first and b"Creation Time" not in first


@needs_cjk_font
@pytest.mark.parametrize("bundle", [DONGGUAN, GUANGZHOU])
def test_monthly_view_renders_reproducibly(bundle: Path) -> None:
    result, _ = evaluate_bundle(bundle)
    assert result.monthly  # Guangzhou's series is a whole year, with late deliveries
    first = charts.monthly_view(result)
    second = charts.monthly_view(result)
    assert first is not None
    assert first == second
    assert first.startswith(b"\x89PNG")


@needs_cjk_font
def test_monthly_view_is_none_without_a_series_and_follows_the_counts(
    evaluated: tuple[EvaluationResult, ProjectDefinition],
) -> None:
    result, _ = evaluated
    assert charts.monthly_view(result.model_copy(update={"monthly": ()})) is None
    assert [caption for _, caption, _ in charts.figures(result.model_copy(update={"monthly": ()}))] == [
        "图1 二级指标得分率",
        "图2 一级指标得分率雷达图",
    ]
    first = result.monthly[0]
    changed = result.model_copy(update={"monthly": (first.model_copy(update={"late": 1}), *result.monthly[1:])})
    assert charts.monthly_view(changed) != charts.monthly_view(result)


@needs_cjk_font
def test_the_score_trend_is_drawn_with_a_timeline_numbered_after_the_others_and_follows_the_totals(
    evaluated: tuple[EvaluationResult, ProjectDefinition],
) -> None:
    result, _ = evaluated
    assert not result.timeline and charts.timeline(result) is None  # opseval evaluate without --series
    points = (
        TimelinePoint(
            as_of=date(2022, 10, 31), total=Decimal("16.65"), grade="差", assessable=20, pending=80, findings=3
        ),
        TimelinePoint(
            as_of=date(2023, 5, 31),
            total=result.total,
            grade=result.grade,
            assessable=100,
            pending=0,
            findings=len(result.findings),
        ),
    )
    with_timeline = result.model_copy(update={"timeline": points})
    assert [caption for _, caption, _ in charts.figures(with_timeline)][-2:] == [
        "图3 各月交付物应交、已交付与逾期",
        "图4 各月末得分走势",
    ]
    assert [caption for _, caption, _ in charts.figures(with_timeline.model_copy(update={"monthly": ()}))][-1] == (
        "图3 各月末得分走势"
    )
    lower = with_timeline.model_copy(update={"timeline": (points[0].model_copy(update={"total": 10}), points[1])})
    assert charts.timeline(lower) != charts.timeline(with_timeline)


@needs_cjk_font
def test_charts_draw_with_the_sc_face_and_its_chinese_glyphs(
    evaluated: tuple[EvaluationResult, ProjectDefinition],
) -> None:
    """The labels are drawn with the SC face of the collection (mainland glyph forms, not the JP face
    fontconfig would give for a bare "Noto Sans CJK"), which has every glyph of them."""
    from fontTools.ttLib import TTFont
    from PIL import ImageFont

    result, _ = evaluated
    found = fonts.font_file()
    assert found is not None
    path, index = found
    assert ImageFont.truetype(path, 10, index=index).getname()[0] == "Noto Sans CJK SC"
    labels = "".join(f"{top.name}{mid.name}" for top in result.indicators for mid in top.children) + "二级指标得分率"
    cmap = TTFont(path, fontNumber=index, lazy=True).getBestCmap()
    assert [ch for ch in labels if ord(ch) not in cmap] == []


@needs_cjk_font
def test_chart_depends_on_rates(evaluated: tuple[EvaluationResult, ProjectDefinition]) -> None:
    result, _ = evaluated
    top = result.indicators[0]
    changed = result.model_copy(update={"indicators": (top.model_copy(update={"rate": 0}), *result.indicators[1:])})
    assert charts.level1_radar(changed) != charts.level1_radar(result)


@pytest.fixture(scope="module")
def pdf(evaluated: tuple[EvaluationResult, ProjectDefinition]) -> bytes:
    if _missing is not None:
        pytest.skip(_missing)
    if not _has_sc_font():
        pytest.skip("fonts-noto-cjk not installed")
    from opseval_reporting.pdf import report_pdf

    start = time.perf_counter()
    data = report_pdf(*evaluated)
    print(f"\nPDF report (Dongguan): {time.perf_counter() - start:.2f}s, {len(data)} bytes")
    return data


@needs_weasyprint
def test_pdf_renders_reproducibly(evaluated: tuple[EvaluationResult, ProjectDefinition], pdf: bytes) -> None:
    from opseval_reporting.pdf import report_pdf

    assert pdf.startswith(b"%PDF-")
    assert report_pdf(*evaluated) == pdf


@needs_weasyprint
@needs_poppler
def test_pdf_pages_and_text(pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", "-isodates", str(path)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]
    assert pages >= 3
    assert "(A4)" in info
    assert re.search(r"^CreationDate:\s+2023-05-31T00:00:00\+08", info, re.M), info  # the 基准日, not now
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "81.415" in text
    assert "第 1 页 共" not in text  # the cover and the contents carry no page number
    assert f"第 3 页 共 {pages} 页" in text and f"第 {pages} 页 共 {pages} 页" in text
    contents = subprocess.run(
        ["pdftotext", "-f", "2", "-l", "2", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    # page 2 lists the headings with the pages they start on
    assert re.search(r"四、绩效评价指标分析\s*\.+\s*(\d+)", contents), contents
    for caption in ("图1 二级指标得分率", "图2 一级指标得分率雷达图", "图3 各月交付物应交、已交付与逾期"):
        assert caption in text
    assert (
        text.rindex("三、综合评价情况及评价结论")
        < text.index("图1 二级指标得分率")
        < text.rindex("四、绩效评价指标分析")
    )


@needs_weasyprint
@needs_poppler
def test_pdf_embeds_cjk_sc_fonts(pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in out.splitlines()[2:] if line.strip()]
    cjk = [r for r in rows if "CJK" in r[0] and ("SC" in r[0] or "CJKsc" in r[0])]
    assert cjk, out
    # columns from the right: emb sub uni object ID
    assert all(r[-5] == "yes" for r in cjk), out
    assert not [r for r in rows if "CJK" in r[0] and not ("SC" in r[0] or "CJKsc" in r[0])], out  # no JP/TC/HK faces
    # Every glyph came from an SC face: a character the CJK fonts lack would pull in a fallback
    # font (or draw a missing-glyph box where there is none).
    assert len(cjk) == len(rows), out


@needs_weasyprint
def test_weasyprint_loads_its_libraries_without_find_library_searches() -> None:
    """Each ``find_library`` search runs ldconfig, gcc and ld (0.2 s of the first PDF): WeasyPrint is
    loaded by soname instead, and ``find_library`` is itself again afterwards."""
    probe = """
import ctypes.util, sys
calls = []
original = ctypes.util.find_library
def counted(name):
    calls.append(name)
    return original(name)
ctypes.util.find_library = counted
from opseval_reporting.pdf import load_weasyprint
weasyprint = load_weasyprint()
assert weasyprint.HTML(string="<p>绩效</p>").write_pdf().startswith(b"%PDF-")
assert ctypes.util.find_library is counted, "find_library not restored"
assert calls == [], calls
"""
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=120)


@needs_weasyprint
def test_first_pdfs_of_several_threads_at_once_leave_find_library_itself() -> None:
    """The reporting service renders in worker threads: first PDFs requested together must not leave
    the stand-in `find_library` in place (each thread restoring what another swapped in)."""
    probe = """
import ctypes.util, threading
original = ctypes.util.find_library
from opseval_reporting.pdf import load_weasyprint
start = threading.Barrier(4)
def first_pdf():
    start.wait()
    load_weasyprint()
threads = [threading.Thread(target=first_pdf) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
assert ctypes.util.find_library is original, "find_library left swapped"
"""
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=120)


@needs_cjk_font
@pytest.mark.parametrize("count", [1, 2, 3, 6])
def test_the_radar_draws_any_number_of_level1_indicators(
    evaluated: tuple[EvaluationResult, ProjectDefinition], count: int
) -> None:
    result, _ = evaluated
    tops = [result.indicators[i % len(result.indicators)] for i in range(count)]
    fewer = result.model_copy(update={"indicators": tuple(tops)})
    assert charts.level1_radar(fewer).startswith(b"\x89PNG")


def test_a_point_label_avoids_the_lines_and_the_labels_already_placed() -> None:
    canvas = charts.Canvas(7.0, 3.8)
    ax = charts.Axes(canvas, (40.0, 26.0, canvas.width - 6, canvas.height - 30), (-0.5, 4.5), (0.0, 100.0))
    flat = [(ax.x(x), ax.y(50.0)) for x in range(5)]  # through the point: beside it is taken
    above = [(ax.x(x), ax.y(56.0)) for x in range(5)]  # just above it: the label cannot go there
    point = (ax.x(2), ax.y(50.0))
    *_, box = charts._free_spot(canvas, ax, *point, "50.5", charts.TINY, [flat, above], [])
    assert not charts._crosses(box, flat) and not charts._crosses(box, above)
    assert box[1] > point[1]  # below the point, clear of both lines
    _, _, _, second = charts._free_spot(canvas, ax, *point, "50.5", charts.TINY, [flat, above], [box])
    assert second != box and not charts._overlap(second, box)
