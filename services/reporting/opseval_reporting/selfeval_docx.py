"""The 项目支出绩效自评表 (seed 001's layout) as a Word table, for the self-evaluation form only.

The form of :func:`selfeval.selfeval_form` (the same data the workbook lays out): the header block, the
项目资金 block (年度资金总额 / 其中：财政拨款 / 上年结转 / 其他资金), 年度总体目标, one row per indicator leaf
(一级/二级/三级指标, 年度指标值, 实际完成值, 分值, 得分, 偏差原因分析及改进措施), 存在问题, 改进措施 and 总分,
laid out with python-docx on landscape A4 with the form's merged cells; rows do not split across pages and
the 绩效指标 header repeats.

Chinese comes out in mainland glyph forms: the document defaults and the styles used carry an explicit
宋体 East-Asian font and ``w:lang w:eastAsia="zh-CN"``. Same result → same bytes: core properties are
pinned to the evaluation's 基准日 and the zip is rewritten with fixed entry timestamps (``docx._fixed_zip``).
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.shared import Cm, Pt
from docx.table import Table
from opseval_shared.metrics import pct
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult

from .content import DASH, Edition
from .docx import _fixed_zip
from .selfeval import (
    BUDGET_HEADER,
    COLUMNS,
    INDICATOR_HEADER,
    SelfEvalForm,
    money,
    score_text,
    selfeval_form,
)
from .wordstyle import child, set_cjk
from .xlsx import FONT, _spans

# Column widths (cm) on landscape A4 (29.7 cm less 2 × 1.5 cm margins = 26.7 cm); the seventh holds the
# budget's 执行率 "100.00%" on one line.
WIDTHS_CM = (2.0, 3.0, 4.0, 3.2, 2.6, 1.9, 2.2, 7.8)
CELL_MARGINS_CM = 0.38  # Word's default left and right cell margins (0.19 cm each)


# -- East-Asian fonts -----------------------------------------------------------------------


def _setup_fonts(document: DocxDocument) -> None:
    styles_el = document.styles.element
    defaults = child(styles_el, "w:docDefaults")
    set_cjk(child(child(defaults, "w:rPrDefault"), "w:rPr"), FONT)
    for name in ("Normal", "Table Grid"):
        style = document.styles[name]
        set_cjk(style.element.get_or_add_rPr(), FONT)
    normal = document.styles["Normal"]
    normal.font.size = Pt(10.5)  # 五号
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(0)


# -- layout -----------------------------------------------------------------------------------


def _put(
    table: Table,
    r1: int,
    c1: int,
    text: str,
    r2: int | None = None,
    c2: int | None = None,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT,
    bold: bool = False,
) -> None:
    """``text`` into the cell (r1, c1), merged with the cell (r2, c2) first when given."""
    cell = table.cell(r1, c1)
    if (r2 is not None and r2 != r1) or (c2 is not None and c2 != c1):
        cell = cell.merge(table.cell(r1 if r2 is None else r2, c1 if c2 is None else c2))
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    lines = text.split("\n")
    paragraph = cell.paragraphs[0]
    paragraph.alignment = align
    for i, line in enumerate(lines):
        run = paragraph.add_run(line)
        run.bold = bold or None
        if i < len(lines) - 1:
            run.add_break()


CENTER = WD_ALIGN_PARAGRAPH.CENTER
RIGHT = WD_ALIGN_PARAGRAPH.RIGHT


def _build(form: SelfEvalForm) -> DocxDocument:
    document = Document()
    _setup_fonts(document)
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(1.5)
    section.top_margin = section.bottom_margin = Cm(1.5)

    title = document.add_paragraph()
    title.alignment = CENTER
    run = title.add_run(form.title)
    run.bold = True
    run.font.size = Pt(16)
    unit = document.add_paragraph("单位：万元")
    unit.alignment = RIGHT

    n_budget = len(form.budget)
    n_ind = len(form.indicators)
    budget_first = 2
    goals_first = budget_first + n_budget + 1
    ind_header = goals_first + 2
    problems_row = ind_header + 1 + n_ind
    total_row = problems_row + 2
    table = document.add_table(rows=total_row + 1, cols=COLUMNS)
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for row in table.rows:
        row._tr.get_or_add_trPr().insert(0, OxmlElement("w:cantSplit"))  # a row never splits across pages
        for width, cell in zip(WIDTHS_CM, row.cells, strict=True):
            cell.width = Cm(width)
    for col, width in zip(table.columns, WIDTHS_CM, strict=True):
        col.width = Cm(width)

    # header block
    _put(table, 0, 0, "项目名称", align=CENTER, bold=True)
    _put(table, 0, 1, form.name, c2=COLUMNS - 1)
    _put(table, 1, 0, "主管部门", align=CENTER, bold=True)
    _put(table, 1, 1, form.department, c2=3)
    _put(table, 1, 4, "实施单位", align=CENTER, bold=True)
    _put(table, 1, 5, form.agency, c2=COLUMNS - 1)

    # 项目资金: the label spans the header and the four lines; 分值/执行率/得分 on 年度资金总额 only.
    last_line = budget_first + n_budget
    _put(table, budget_first, 0, "项目资金（万元）", r2=last_line, align=CENTER, bold=True)
    for col, text in enumerate(BUDGET_HEADER, start=1):
        _put(table, budget_first, col, text, align=CENTER, bold=True)
    for i, line in enumerate(form.budget, start=1):
        r = budget_first + i
        _put(table, r, 1, line.label)
        for col, value in ((2, line.approved), (3, line.adjusted), (4, line.spent)):
            _put(table, r, col, money(value), align=RIGHT if value is not None else CENTER)
        scored = (
            (
                score_text(form.budget_weight),
                pct(form.budget_rate) if form.budget_rate is not None else DASH,
                score_text(form.budget_score),
            )
            if line.scored
            else (DASH, DASH, DASH)
        )
        for col, shown in zip((5, 6, 7), scored, strict=True):
            _put(table, r, col, shown, align=RIGHT if shown != DASH else CENTER)

    # 年度总体目标
    _put(table, goals_first, 0, "年度总体目标", r2=goals_first + 1, align=CENTER, bold=True)
    _put(table, goals_first, 1, "预期目标", c2=4, align=CENTER, bold=True)
    _put(table, goals_first, 5, "实际完成情况", c2=COLUMNS - 1, align=CENTER, bold=True)
    _put(table, goals_first + 1, 1, form.goals, c2=4)
    _put(table, goals_first + 1, 5, form.done, c2=COLUMNS - 1)

    # 绩效指标: one row per leaf, 一级/二级指标 merged over their leaves' rows.
    for col, text in enumerate(INDICATOR_HEADER):
        _put(table, ind_header, col, text, align=CENTER, bold=True)
    table.rows[ind_header]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    first = ind_header + 1
    for offset, ind in enumerate(form.indicators):
        r = first + offset
        _put(table, r, 2, ind.level3)
        _put(table, r, 3, ind.target, align=CENTER)
        _put(table, r, 4, ind.actual, align=CENTER)
        _put(table, r, 5, score_text(ind.weight), align=RIGHT)
        _put(table, r, 6, score_text(ind.score), align=RIGHT)
        _put(table, r, 7, ind.remark)
    keys1: list[tuple[str, ...]] = [(ind.level1,) for ind in form.indicators]
    keys2: list[tuple[str, ...]] = [(ind.level1, ind.level2) for ind in form.indicators]
    for a, b, name in _spans(keys1):
        _put(table, first + a, 0, name, r2=first + b, align=CENTER, bold=True)
    for a, b, name in _spans(keys2):
        _put(table, first + a, 1, name, r2=first + b, align=CENTER)

    # 存在问题, 改进措施, 总分
    _put(table, problems_row, 0, "存在问题", align=CENTER, bold=True)
    _put(table, problems_row, 1, form.problems, c2=COLUMNS - 1)
    _put(table, problems_row + 1, 0, "改进措施", align=CENTER, bold=True)
    _put(table, problems_row + 1, 1, form.measures, c2=COLUMNS - 1)
    _put(table, total_row, 0, "总分", c2=4, align=CENTER, bold=True)
    _put(table, total_row, 5, score_text(form.total_weight), align=RIGHT, bold=True)
    _put(table, total_row, 6, score_text(form.total), align=RIGHT, bold=True)
    _put(table, total_row, 7, f"评定等级：{form.grade}")
    document.add_paragraph(form.note)
    return document


def selfeval_docx(
    result: EvaluationResult, definition: ProjectDefinition, edition: Edition | None = None
) -> bytes | None:
    """The 项目支出绩效自评表 as DOCX bytes, or None unless the result is a self-evaluation."""
    if result.form != "self_evaluation":
        return None
    form = selfeval_form(result, definition)
    if edition is not None:
        form = replace(form, title=edition.titled(form.title))
    document = _build(form)

    stamp = datetime(result.as_of.year, result.as_of.month, result.as_of.day)
    props = document.core_properties
    props.title = form.title
    props.subject = f"{form.name}项目支出绩效自评表"
    props.author = definition.project.evaluation.evaluator or "opseval"
    props.last_modified_by = "opseval"
    props.created = stamp
    props.modified = stamp
    props.last_printed = stamp
    props.revision = 1
    props.comments = f"评价基准日 {result.as_of}"

    raw = io.BytesIO()
    document.save(raw)
    return _fixed_zip(raw.getvalue(), (stamp.year, stamp.month, stamp.day, 0, 0, 0))
