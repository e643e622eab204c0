"""The 项目支出绩效自评表 (seed 001's layout) as a Word table, for the self-evaluation form only.

The same form as :func:`xlsx.selfeval_xlsx`: the header block (项目名称, 主管部门, 实施单位), the 项目资金
block (年初预算数 / 全年预算数（调整后） / 全年执行数 / 分值 / 执行率 / 得分), the 绩效目标 block, one row per
indicator leaf (一级/二级/三级指标, 年度指标值, 实际完成值, 分值, 得分, 偏差原因分析及改进措施) and the 总分
row. The form's content is gathered by :func:`selfeval_form` from the same rules as the workbook (the
workbook's builders write straight to XlsxWriter, so the rules are restated here as data), then laid out
with python-docx on landscape A4 with the form's merged cells.

Chinese comes out in mainland glyph forms: the document defaults and the styles used carry an explicit
宋体 East-Asian font and ``w:lang w:eastAsia="zh-CN"``. Same result → same bytes: core properties are
pinned to the evaluation's 基准日 and the zip is rewritten with fixed entry timestamps (``docx._fixed_zip``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt
from docx.table import Table
from opseval_shared.metrics import fmt, pct
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import BudgetLine, EvaluationResult

from .content import _leaves, _rows
from .docx import _fixed_zip
from .wordstyle import child, set_cjk
from .xlsx import FONT, SATISFIED, _budget_leaf, _spans, _total_weight

DASH = "—"
COLUMNS = 8  # as the workbook's columns A..H
# Column widths (cm) on landscape A4 (29.7 cm less 2 × 1.5 cm margins = 26.7 cm).
WIDTHS_CM = (2.4, 3.0, 4.6, 3.4, 3.4, 2.0, 2.0, 5.9)
BUDGET_HEADER = ("", "年初预算数", "全年预算数（调整后）", "全年执行数", "分值", "执行率", "得分")
INDICATOR_HEADER = (
    "一级指标",
    "二级指标",
    "三级指标",
    "年度指标值",
    "实际完成值",
    "分值",
    "得分",
    "偏差原因分析及改进措施",
)


# -- the form as data ---------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetRow:
    label: str
    approved: str  # 年初预算数
    adjusted: str  # 全年预算数（调整后）
    spent: str  # 全年执行数


@dataclass(frozen=True)
class IndicatorRow:
    level1: str
    level2: str
    level3: str
    target: str  # 年度指标值
    actual: str  # 实际完成值
    weight: str  # 分值
    score: str  # 得分
    remark: str  # 偏差原因分析及改进措施


@dataclass(frozen=True)
class SelfEvalForm:
    title: str
    name: str
    department: str
    agency: str
    budget: tuple[BudgetRow, ...]
    budget_weight: str
    budget_rate: str
    budget_score: str
    goals: str
    done: str
    indicators: tuple[IndicatorRow, ...]
    total_weight: str
    total: str
    grade: str


def _money(value: Decimal | None) -> str:
    return DASH if value is None else format(value.quantize(Decimal("0.01")), "f")


def _adjusted(line: BudgetLine) -> Decimal | None:
    return line.approved + (line.adjustment or Decimal(0)) if line.approved is not None else None


def selfeval_form(result: EvaluationResult, definition: ProjectDefinition) -> SelfEvalForm:
    """The 项目支出绩效自评表's content, by the same rules as ``xlsx.selfeval_xlsx``."""
    project = definition.project
    year = project.evaluation.period.start.year

    lines: list[BudgetLine] = list(result.budget) or [BudgetLine(contract=None, label="总额")]
    budget = tuple(
        BudgetRow(line.label, _money(line.approved), _money(_adjusted(line)), _money(line.spent)) for line in lines
    )
    leaf = _budget_leaf(result)
    total_line = next((b for b in lines if b.contract is None), lines[-1])
    adjusted_total = _adjusted(total_line)
    rate: Decimal | None = leaf.rate if leaf else None
    if rate is None and adjusted_total and total_line.spent is not None:
        rate = total_line.spent / adjusted_total

    goals = "\n".join(f"{i}.{g}" for i, g in enumerate(project.goals, start=1)) or "（未提供）"
    tops = tuple(t for t in result.indicators if t.children)  # the budget leaf is in the 项目资金 block
    leaves = [x for top in tops for x in _leaves(top)]
    done = "\n".join(
        f"{i}.{x.name}：{x.actual or DASH}" + (f"（指标值 {x.target}）" if x.target else "")
        for i, x in enumerate(leaves, start=1)
    )

    findings = {f.id: f for f in result.findings}
    indicators: list[IndicatorRow] = []
    for names, x in zip(_rows(tops), leaves, strict=True):
        messages = [findings[i].message for i in (x.findings or ()) if i in findings]
        if messages:
            remark = "\n".join(messages)
        elif x.score < x.weight:
            remark = x.explanation or "未达到指标要求。"
        else:
            remark = SATISFIED
        indicators.append(
            IndicatorRow(
                names[0],
                names[1],
                names[2],
                x.target or DASH,
                x.actual or DASH,
                fmt(x.weight, 3),
                fmt(x.score, 3),
                remark,
            )
        )

    return SelfEvalForm(
        title=f"{year} 年度项目支出绩效自评表",
        name=project.name,
        department=project.department or project.agency,
        agency=project.agency,
        budget=budget,
        budget_weight=fmt(leaf.weight, 3) if leaf else DASH,
        budget_rate=pct(rate) if rate is not None else DASH,
        budget_score=fmt(leaf.score, 3) if leaf else DASH,
        goals=goals,
        done=done or DASH,
        indicators=tuple(indicators),
        total_weight=fmt(_total_weight(result), 3),
        total=fmt(result.total, 3),
        grade=result.grade,
    )


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
    total_row = ind_header + 1 + n_ind
    table = document.add_table(rows=total_row + 1, cols=COLUMNS)
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for row in table.rows:
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

    # 项目资金: the label spans the header and the budget lines; 分值/执行率/得分 span the lines.
    last_line = budget_first + n_budget
    _put(table, budget_first, 0, "项目资金（万元）", r2=last_line, align=CENTER, bold=True)
    for col, text in enumerate(BUDGET_HEADER, start=1):
        _put(table, budget_first, col, text, align=CENTER, bold=True)
    for i, line in enumerate(form.budget, start=1):
        r = budget_first + i
        _put(table, r, 1, line.label)
        for col, value in ((2, line.approved), (3, line.adjusted), (4, line.spent)):
            _put(table, r, col, value, align=RIGHT if value != DASH else CENTER)
    for col, value in ((5, form.budget_weight), (6, form.budget_rate), (7, form.budget_score)):
        _put(table, budget_first + 1, col, value, r2=last_line, align=RIGHT if value != DASH else CENTER)

    # 绩效目标
    _put(table, goals_first, 0, "绩效目标", r2=goals_first + 1, align=CENTER, bold=True)
    _put(table, goals_first, 1, "年度预期目标", c2=4, align=CENTER, bold=True)
    _put(table, goals_first, 5, "目标实际完成情况", c2=COLUMNS - 1, align=CENTER, bold=True)
    _put(table, goals_first + 1, 1, form.goals, c2=4)
    _put(table, goals_first + 1, 5, form.done, c2=COLUMNS - 1)

    # 绩效指标: one row per leaf, 一级/二级指标 merged over their leaves' rows.
    for col, text in enumerate(INDICATOR_HEADER):
        _put(table, ind_header, col, text, align=CENTER, bold=True)
    first = ind_header + 1
    for offset, ind in enumerate(form.indicators):
        r = first + offset
        _put(table, r, 2, ind.level3)
        _put(table, r, 3, ind.target, align=CENTER)
        _put(table, r, 4, ind.actual, align=CENTER)
        _put(table, r, 5, ind.weight, align=RIGHT)
        _put(table, r, 6, ind.score, align=RIGHT)
        _put(table, r, 7, ind.remark)
    keys1: list[tuple[str, ...]] = [(ind.level1,) for ind in form.indicators]
    keys2: list[tuple[str, ...]] = [(ind.level1, ind.level2) for ind in form.indicators]
    for a, b, value in _spans(keys1):
        _put(table, first + a, 0, value, r2=first + b, align=CENTER, bold=True)
    for a, b, value in _spans(keys2):
        _put(table, first + a, 1, value, r2=first + b, align=CENTER)

    # 总分
    _put(table, total_row, 0, "总分", c2=4, align=CENTER, bold=True)
    _put(table, total_row, 5, form.total_weight, align=RIGHT, bold=True)
    _put(table, total_row, 6, form.total, align=RIGHT, bold=True)
    _put(table, total_row, 7, f"评定等级：{form.grade}")
    return document


def selfeval_docx(result: EvaluationResult, definition: ProjectDefinition) -> bytes | None:
    """The 项目支出绩效自评表 as DOCX bytes, or None unless the result is a self-evaluation."""
    if result.form != "self_evaluation":
        return None
    form = selfeval_form(result, definition)
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
