"""The DOCX 绩效评价报告: rendered with docxtpl from the bundled Word template, from the same content as the
Markdown/HTML reports, with the charts (PNG) after 综合评价, in mainland Chinese glyph forms, byte-for-byte
reproducible."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from docx.document import Document
from docx.oxml.ns import qn
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph
from opseval_reporting.content import Report, build_report, polish
from opseval_reporting.docx import TEMPLATE, report_docx
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult

from opseval.embedded import evaluate_bundle

ROOT = Path(__file__).resolve().parents[2]
DONGGUAN = ROOT / "examples" / "dongguan-2022"


@pytest.fixture(scope="module")
def evaluated() -> tuple[EvaluationResult, ProjectDefinition]:
    return evaluate_bundle(DONGGUAN)


@pytest.fixture(scope="module")
def data(evaluated: tuple[EvaluationResult, ProjectDefinition]) -> bytes:
    return report_docx(*evaluated)


@pytest.fixture(scope="module")
def document(data: bytes) -> Document:
    return docx.Document(io.BytesIO(data))


@pytest.fixture(scope="module")
def report(evaluated: tuple[EvaluationResult, ProjectDefinition]) -> Report:
    return build_report(*evaluated)


def _text(document: Document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def _style(paragraph: Paragraph) -> str:
    return paragraph.style.name if paragraph.style is not None else ""


def _cells(table: DocxTable, row: int) -> list[str]:
    return [cell.text for cell in table.rows[row].cells]


def _score_table(document: Document) -> DocxTable:
    [table] = [t for t in document.tables if _cells(t, 0)[:3] == ["一级指标", "二级指标", "三级指标"]]
    return table


def test_report_opens_and_carries_the_result(
    document: Document, evaluated: tuple[EvaluationResult, ProjectDefinition]
) -> None:
    result, definition = evaluated
    text = _text(document)
    assert definition.project.name in text
    assert "81.415" in text
    assert "良" in text
    for top in result.indicators:
        assert top.name in text
    assert result.findings
    contracts = {c.id: c.name for c in definition.contracts.contracts}
    for finding in result.findings:
        assert polish(finding.message, contracts) in text, finding.id


def test_headings_follow_the_report_content(document: Document, report: Report) -> None:
    """The template's loop lays out every section of build_report, at its level, in order."""
    assert _style(document.paragraphs[0]) == "Title"
    assert document.paragraphs[0].text == report.kind == "绩效评价报告"
    headings = [(_style(p), p.text) for p in document.paragraphs if _style(p).startswith("Heading")]
    assert headings == [(f"Heading {s.level}", s.title) for s in report.sections]
    for title in (
        "摘要",
        "三、综合评价情况及评价结论",
        "四、绩效评价指标分析",
        "六、有关建议",
        "七、其他需要说明的问题",
    ):
        assert ("Heading 1", title) in headings
    # every list item (main problems, advice, notes) is a numbered 报告列表 paragraph
    items = [p.text for p in document.paragraphs if _style(p) == "Report List"]
    for section in report.sections:
        for block in section.blocks:
            if isinstance(block, list):
                assert {f"{n}.{item}" for n, item in enumerate(block, start=1)} <= set(items), section.title


def test_first_table_is_the_level1_table(
    document: Document, evaluated: tuple[EvaluationResult, ProjectDefinition]
) -> None:
    result, _ = evaluated
    table = next(t for t in document.tables if _cells(t, 0)[0] == "一级指标")
    assert _cells(table, 0) == ["一级指标", "权重", "得分", "得分率"]
    assert [_cells(table, r)[0] for r in range(1, len(table.rows) - 1)] == [t.name for t in result.indicators]
    total = _cells(table, len(table.rows) - 1)
    assert total[0] == "合计"
    assert total[2] == "81.415"
    assert _cells(table, 1)[2] == "7.250"  # one decimal count per column
    assert table.style is not None and table.style.name == "Report Table"


def test_score_table_has_a_row_per_leaf_and_merged_level1_cells(
    document: Document, evaluated: tuple[EvaluationResult, ProjectDefinition]
) -> None:
    result, definition = evaluated
    leaves = definition.indicators.leaves()
    assert len(leaves) == 37
    table = _score_table(document)
    assert len(table.rows) == 1 + len(leaves) + 1  # header, one row per leaf, 合计
    assert [_cells(table, r)[2] for r in range(1, len(leaves) + 1)] == [leaf.name for leaf in leaves]
    last = _cells(table, len(table.rows) - 1)
    assert last[0] == "合计" and last[-2] == "81.415"

    # level-1 column: one (vertically merged) cell per level-1 indicator, plus 合计
    body = range(1, len(table.rows))
    tops = [table.cell(r, 0) for r in body]
    distinct = list(dict.fromkeys(cell._tc for cell in tops))
    assert len(distinct) == len(result.indicators) + 1
    for top in result.indicators:
        rows = [r for r in body if table.cell(r, 0).text == top.name]
        assert len(rows) > 1
        assert {table.cell(r, 0)._tc for r in rows} == {table.cell(rows[0], 0)._tc}
        first_tc = table.rows[rows[0]]._tr.tc_lst[0]
        assert first_tc.tcPr is not None
        assert first_tc.tcPr.find(qn("w:vMerge")).get(qn("w:val")) == "restart"
        for r in rows[1:]:
            tc = table.rows[r]._tr.tc_lst[0]
            assert tc.tcPr is not None
            vmerge = tc.tcPr.find(qn("w:vMerge"))
            assert vmerge is not None and vmerge.get(qn("w:val")) in (None, "continue")
            assert tc.xpath("string(.)") == ""  # the name is written once, in the merged cell
    # level-2 cells are merged too (项目立项 covers two leaves)
    assert table.cell(1, 1)._tc is table.cell(2, 1)._tc


def _check_cjk(rpr: object, where: str) -> None:
    assert rpr is not None, where
    fonts = rpr.find(qn("w:rFonts"))  # type: ignore[attr-defined]
    lang = rpr.find(qn("w:lang"))  # type: ignore[attr-defined]
    assert fonts is not None and fonts.get(qn("w:eastAsia")), where
    assert fonts.get(qn("w:eastAsiaTheme")) is None, where
    assert lang is not None and lang.get(qn("w:eastAsia")) == "zh-CN", where


def test_styles_carry_zh_cn_and_an_east_asian_font(document: Document) -> None:
    styles = document.styles.element
    _check_cjk(styles.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}"), "docDefaults")
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3", "List Bullet", "Table Text", "Report Table"):
        _check_cjk(document.styles[name].element.rPr, name)
    assert document.styles["Normal"].element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "宋体"


CAPTIONS = ["图1 二级指标得分率", "图2 一级指标得分率雷达图", "图3 各月交付物应交、已交付与逾期"]


def test_charts_follow_the_overall_evaluation_with_captions(data: bytes, document: Document) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read("word/document.xml").decode()
        media = sorted(n for n in archive.namelist() if n.startswith("word/media/"))
        assert len(media) == 3
        assert all(archive.read(n).startswith(b"\x89PNG") for n in media)
    assert xml.count("<w:drawing>") == 3
    assert xml.count("<pic:pic") == 3
    assert len(document.inline_shapes) == 3
    widths = sorted(round(shape.width.cm) for shape in document.inline_shapes)
    assert widths == [10, 15, 15]

    paragraphs = document.paragraphs
    captions = [(i, p.text) for i, p in enumerate(paragraphs) if _style(p) == "Caption"]
    assert [text for _, text in captions] == CAPTIONS
    for i, _ in captions:  # each caption sits right under its picture
        assert paragraphs[i - 1]._p.xpath(".//pic:pic"), paragraphs[i - 1].text
    headings = [p.text for p in paragraphs if _style(p).startswith("Heading")]
    overall = next(i for i, p in enumerate(paragraphs) if p.text == "三、综合评价情况及评价结论")
    after = paragraphs[overall + 1 :]
    next_heading = next(i for i, p in enumerate(after) if _style(p).startswith("Heading"))
    assert [p.text for p in after[:next_heading] if _style(p) == "Caption"] == CAPTIONS
    assert headings[headings.index("三、综合评价情况及评价结论") + 1] == after[next_heading].text


def test_same_result_gives_the_same_bytes(data: bytes, evaluated: tuple[EvaluationResult, ProjectDefinition]) -> None:
    result, _ = evaluated
    assert report_docx(*evaluated) == data
    assert report_docx(*evaluate_bundle(DONGGUAN)) == data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        day = (result.as_of.year, result.as_of.month, result.as_of.day, 0, 0, 0)
        assert {info.date_time for info in archive.infolist()} == {day}
    props = docx.Document(io.BytesIO(data)).core_properties
    assert props.created is not None and props.created.date() == result.as_of
    assert props.modified == props.created


def test_a_restyled_template_is_used(
    tmp_path: Path, evaluated: tuple[EvaluationResult, ProjectDefinition], data: bytes
) -> None:
    """Restyling the template (as a user would in Word) changes the report's look, not its content."""
    template = docx.Document(str(TEMPLATE))
    heading = template.styles["Heading 1"]
    heading.element.rPr.find(qn("w:rFonts")).set(qn("w:eastAsia"), "仿宋")
    restyled = tmp_path / "restyled.docx"
    template.save(str(restyled))

    out = report_docx(*evaluated, template=restyled)
    assert out != data
    document = docx.Document(io.BytesIO(out))
    assert document.styles["Heading 1"].element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "仿宋"
    assert _text(document) == _text(docx.Document(io.BytesIO(data)))


def test_no_monthly_series_leaves_out_the_monthly_chart(evaluated: tuple[EvaluationResult, ProjectDefinition]) -> None:
    result, definition = evaluated
    document = docx.Document(io.BytesIO(report_docx(result.model_copy(update={"monthly": ()}), definition)))
    assert len(document.inline_shapes) == 2
    assert [p.text for p in document.paragraphs if _style(p) == "Caption"] == CAPTIONS[:2]
