"""The 绩效评价报告 as DOCX, rendered with docxtpl from a Word template a user can restyle.

The content comes from :func:`content.build_report` unchanged; the template (``templates/report.docx``,
built by ``templates/build_report_template.py``) holds the title placeholders, all styles (标题 1–3,
正文, 列表项目符号, 表格文字, the 报告表格 table style) and a Jinja loop over the sections and their
blocks. Tables are docxtpl subdocuments built with python-docx in the template's 报告表格 style, with the
leading columns of hierarchical tables merged vertically as in the field's score tables. The charts
(:func:`charts.figures`, as PNG) follow the section 综合评价情况及评价结论 as in the PDF, each an inline
image in the 图片 style with its caption (图1–图3) in 题注.

Same result and template → same bytes: core properties are pinned to the evaluation's 基准日 and the
zip is rewritten with fixed entry timestamps (the chart PNGs are themselves reproducible).
"""

from __future__ import annotations

import copy
import io
import zipfile
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from docx import Document
from docx.document import Document as DocumentProxy
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Mm, Pt
from docx.table import Table as DocxTable
from docx.table import _Cell
from docxtpl import DocxTemplate, InlineImage  # type: ignore[import-untyped]
from docxtpl.subdoc import Subdoc  # type: ignore[import-untyped]
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult

from . import charts
from .content import Edition, Report, Table, build_report, column_widths
from .wordstyle import child

TEMPLATE = Path(__file__).parent / "templates" / "report.docx"
TABLE_STYLE = "Report Table"
TABLE_TEXT = "Table Text"
COVER_TEXT = "Cover Text"
TOC_MARKER = "@@contents@@"
TOC_LEVELS = 2  # 目录 lists the 一级 and 二级 headings
# The text block of A4 with GB/T 9704 margins (210 mm − 28 − 26), and the table text size (五号).
TEXT_WIDTH = Mm(156)
CELL_FONT_EMU = Pt(10.5)
CELL_PADDING = Mm(3.2)  # left + right cell margins and a little air
TOTAL_LABEL = "合计"
CHARTS_AFTER = "三、"  # as in the PDF: the charts follow 综合评价情况及评价结论 (else the first section)
FIGURE_WIDTH = {"bar": Cm(15), "radar": Cm(10)}


def _merged_above(table: Table, index: int, col: int) -> bool:
    """Whether cell ``col`` of row ``index`` continues the vertically merged cell above it."""
    if col >= table.merge_first or index == 0:
        return False
    row, previous = table.rows[index], table.rows[index - 1]
    return bool(row[col]) and previous[: col + 1] == row[: col + 1]


def _set_vmerge(cell: Any, value: str | None) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    vmerge = OxmlElement("w:vMerge")
    if value is not None:
        vmerge.set(qn("w:val"), value)
    tcpr.append(vmerge)


def _fill(table: DocxTable, content: Table, text_style: str) -> None:
    """Cells of ``table`` from ``content``; ``text_style`` is the style id of 表格文字 (set on the XML:
    python-docx's ``paragraph.style = name`` searches every style, 8 ms a cell)."""
    header = table.rows[0]
    for cell, text in zip(header.cells, content.header, strict=True):
        cell.paragraphs[0].text = text
        cell._tc.p_lst[0].style = text_style
    trpr = header._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:tblHeader"))  # repeat the header row on every page

    n = len(content.rows)
    span = _total_span(content)
    for i, values in enumerate(content.rows):
        # the row's own cells (``row.cells`` would resolve merged cells to the one above)
        cells = [_Cell(tc, table) for tc in table.rows[i + 1]._tr.tc_lst]
        if i == n - 1 and span > 1:  # 合计 spans the empty hierarchy columns
            cells[0].merge(cells[span - 1])
            cells = [_Cell(tc, table) for tc in table.rows[i + 1]._tr.tc_lst]
            values = values[:1] + values[span:]
        for col, (cell, text) in enumerate(zip(cells, values, strict=True)):
            paragraph = cell.paragraphs[0]
            paragraph._p.style = text_style
            if span <= 1 or i < n - 1:
                if _merged_above(content, i, col):
                    _set_vmerge(cell, None)
                    continue
                if i + 1 < n and _merged_above(content, i + 1, col):
                    _set_vmerge(cell, "restart")
            paragraph.text = text


def _total_span(content: Table) -> int:
    """How many leading columns the 合计 label of a hierarchical table spans (1: no span)."""
    last = content.rows[-1] if content.rows else []
    if not last or last[0] != TOTAL_LABEL or not content.merge_first:
        return 1
    span = 1
    while span <= content.merge_first and span < len(last) and not last[span]:
        span += 1
    return span


@cache
def _blank_document() -> Any:
    """The XML of python-docx's default document (an empty body and its section), read once."""
    return Document().element


def _new_subdoc(tpl: DocxTemplate) -> Any:
    """What ``tpl.new_subdoc()`` makes, a python-docx document whose parts are the template's, without
    reading python-docx's default document from its package each time (7 ms a table): a copy of its XML."""
    tpl.init_docx()
    subdoc = Subdoc.__new__(Subdoc)
    subdoc.tpl = tpl
    subdoc.docx = tpl.get_docx()
    subdoc.subdocx = DocumentProxy(copy.deepcopy(_blank_document()), subdoc.docx.part)
    return subdoc


def _table_subdoc(tpl: DocxTemplate, content: Table) -> Any:
    subdoc = _new_subdoc(tpl)
    table = subdoc.add_table(rows=len(content.rows) + 1, cols=len(content.header))
    table.style = TABLE_STYLE
    look = table._tbl.tblPr.find(qn("w:tblLook"))
    if look is None:
        look = OxmlElement("w:tblLook")
        table._tbl.tblPr.append(look)
    has_total = bool(content.rows) and content.rows[-1][0] == TOTAL_LABEL
    for attr, on in (
        ("firstRow", True),
        ("lastRow", has_total),
        ("firstColumn", False),
        ("lastColumn", False),
        ("noHBand", True),
        ("noVBand", True),
    ):
        look.set(qn(f"w:{attr}"), "1" if on else "0")
    look.attrib.pop(qn("w:val"), None)
    _fill(table, content, tpl.docx.styles[TABLE_TEXT].style_id)
    _fit_columns(table, content)
    for row in table.rows:  # a row is never split across pages (cantSplit leads trPr in schema order)
        row._tr.get_or_add_trPr().insert(0, OxmlElement("w:cantSplit"))
    return subdoc


def _fit_columns(table: DocxTable, content: Table) -> None:
    widths = [int(w) for w in column_widths(content, TEXT_WIDTH, CELL_FONT_EMU, CELL_PADDING)]
    table.autofit = False  # w:tblLayout fixed: the widths below hold
    tblw = child(table._tbl.tblPr, "w:tblW", ("w:jc", "w:tblCellSpacing", "w:tblInd", "w:tblBorders", "w:shd"))
    tblw.set(qn("w:w"), str(sum(Emu(w).twips for w in widths)))
    tblw.set(qn("w:type"), "dxa")
    for grid_col, width in zip(table._tbl.tblGrid.gridCol_lst, widths, strict=True):
        grid_col.w = Emu(width)
    for tr in table._tbl.tr_lst:
        col = 0
        for tc in tr.tc_lst:
            span = tc.grid_span
            tc.width = Emu(sum(widths[col : col + span]))
            if col in content.nowrap and span == 1:
                tc.get_or_add_tcPr().append(OxmlElement("w:noWrap"))
            col += span


def _figures(tpl: DocxTemplate, figures: charts.Figures) -> list[dict[str, Any]]:
    return [
        {"image": InlineImage(tpl, io.BytesIO(png), width=FIGURE_WIDTH[kind]), "caption": caption}
        for kind, caption, png in figures
    ]


def _context(tpl: DocxTemplate, report: Report, figures: charts.Figures) -> dict[str, Any]:
    anchor = next((i for i, s in enumerate(report.sections) if s.title.startswith(CHARTS_AFTER)), 0)
    sections = []
    for i, section in enumerate(report.sections):
        blocks: list[dict[str, Any]] = []
        for block in section.blocks:
            if isinstance(block, Table):
                if block.caption:
                    blocks.append({"kind": "caption", "text": block.caption})
                blocks.append({"kind": "table", "table": _table_subdoc(tpl, block)})
            elif isinstance(block, list):
                # numbered in the text (1. 2. …) as the field's reports number their points
                blocks.append({"kind": "list", "entries": [f"{n}.{item}" for n, item in enumerate(block, start=1)]})
            else:
                blocks.append({"kind": "paragraph", "text": block})
        shown = _figures(tpl, figures) if i == anchor else []
        sections.append({"title": section.title, "level": section.level, "blocks": blocks, "figures": shown})
    return {
        "title": report.title,
        "subtitle": report.subtitle,
        "kind": report.kind,
        "cover": _cover_subdoc(tpl, report),
        "toc": TOC_MARKER,
        "sections": sections,
    }


def _cover_subdoc(tpl: DocxTemplate, report: Report) -> Any:
    """The cover's 项目名称 / 委托方 / 评价机构 / 报告日期 as a borderless two-column table: a long
    project name wraps inside its own column, under itself."""
    subdoc = _new_subdoc(tpl)
    table = subdoc.add_table(rows=len(report.cover), cols=2)
    table.alignment = 1  # centred
    widths = (Mm(34), Mm(106))
    table.autofit = False
    for grid_col, width in zip(table._tbl.tblGrid.gridCol_lst, widths, strict=True):
        grid_col.w = width
    for row, (label, value) in zip(table.rows, report.cover, strict=True):
        for cell, text, width in zip(row.cells, (f"{label}：", value), widths, strict=True):
            cell.width = width
            paragraph = cell.paragraphs[0]
            paragraph.style = COVER_TEXT
            paragraph.text = text
        label_paragraph = row.cells[0].paragraphs[0]
        label_paragraph.alignment = 4  # distributed (分散对齐), as cover labels are set
    return subdoc


def _bookmark(paragraph: Any, name: str, bid: int) -> None:
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), str(bid))
    start.set(qn("w:name"), name)
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), str(bid))
    p = paragraph._p
    ppr = p.pPr
    if ppr is not None:
        ppr.addnext(start)
    else:
        p.insert(0, start)
    p.append(end)


def _run(p: Any, *, text: str | None = None, field: str | None = None, instr: str | None = None) -> None:
    r = OxmlElement("w:r")
    if field is not None:
        char = OxmlElement("w:fldChar")
        char.set(qn("w:fldCharType"), field)
        r.append(char)
    elif instr is not None:
        el = OxmlElement("w:instrText")
        el.set(qn("xml:space"), "preserve")
        el.text = instr
        r.append(el)
    elif text == "\t":
        r.append(OxmlElement("w:tab"))
    else:
        t = OxmlElement("w:t")
        t.set(qn("xml:space"), "preserve")
        t.text = text
        r.append(t)
    p.append(r)


def _contents(document: Any) -> None:
    """The 目录: the 一级 and 二级 headings, each with a PAGEREF field to a bookmark on its heading, in
    Word's "toc 1"/"toc 2" styles. Not wrapped in a TOC field: LibreOffice shows a TOC field's stored
    text as it is (every page "1"), whereas it computes PAGEREF fields, as Word and WPS do on opening
    (the template sets w:updateFields)."""
    paragraphs = document.paragraphs
    marker = next(p for p in paragraphs if p.text == TOC_MARKER)
    # by style id, read off the XML: ``paragraph.style`` resolves each paragraph without a style of its
    # own to the default style by scanning every style (1 ms a paragraph, 0.3 s for the report)
    levels = {document.styles[f"Heading {n}"].style_id: n for n in range(1, TOC_LEVELS + 1)}
    headings = [(levels[p._p.style], p) for p in paragraphs if p._p.style in levels]
    entries = []
    for n, (level, heading) in enumerate(headings, start=1):
        name = f"_Toc{n:08d}"
        _bookmark(heading, name, 1000 + n)
        entries.append((level, heading.text, name))
    anchor = marker._p
    for level, text, name in entries:
        p = OxmlElement("w:p")
        ppr = OxmlElement("w:pPr")
        style = OxmlElement("w:pStyle")
        style.set(qn("w:val"), document.styles[f"toc {level}"].style_id)
        ppr.append(style)
        p.append(ppr)
        _run(p, text=text)
        _run(p, text="\t")
        _run(p, field="begin")
        _run(p, instr=f" PAGEREF {name} \\h ")
        _run(p, field="separate")
        _run(p, text="1")
        _run(p, field="end")
        anchor.addnext(p)
        anchor = p
    marker._p.getparent().remove(marker._p)


def _fixed_zip(data: bytes, date_time: tuple[int, int, int, int, int, int]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


def report_docx(
    result: EvaluationResult,
    definition: ProjectDefinition,
    template: Path | None = None,
    edition: Edition | None = None,
    figures: charts.Figures | None = None,
) -> bytes:
    """The 绩效评价报告 of ``result`` as DOCX bytes, laid out by ``template`` (default: the bundled one),
    with ``figures`` (PNG, as ``charts.figures`` draws them) when already drawn."""
    report = build_report(result, definition, edition)
    tpl = DocxTemplate(str(template or TEMPLATE))
    drawn = charts.figures(result) if figures is None else figures
    tpl.render(_context(tpl, report, drawn), autoescape=True)
    _contents(tpl.docx)

    stamp = datetime(result.as_of.year, result.as_of.month, result.as_of.day)
    props = tpl.docx.core_properties
    props.title = report.title
    props.subject = "绩效评价报告"
    props.author = definition.project.evaluation.evaluator or "opseval"
    props.last_modified_by = "opseval"
    props.created = stamp
    props.modified = stamp
    props.last_printed = stamp
    props.revision = 1

    raw = io.BytesIO()
    tpl.save(raw)
    return _fixed_zip(raw.getvalue(), (stamp.year, stamp.month, stamp.day, 0, 0, 0))
