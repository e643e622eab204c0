"""The evaluation's tables as Excel workbooks.

* ``scores_xlsx``: the 绩效评价指标得分表 (seed 002's 附件1, "详见 Excel 文件"): one row per leaf, the
  一级/二级指标 as merged cells, numbers as numeric values, a 合计 row; and a 问题清单 sheet.
* ``selfeval_xlsx``: the 项目支出绩效自评表 (seed 001's layout), for the self-evaluation form only.

Both are pure: the same result gives the same bytes (fixed workbook properties, created date from
``result.as_of``). The row layout comes from ``content`` (``_rows``/``_leaves``), as in the Markdown report.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, time
from decimal import Decimal
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import STATUS_LABEL, EvaluationResult
from opseval_shared.values import fmt

from .content import (
    ADVICE,
    CAUSE,
    DASH,
    DOCUMENT_HEADER,
    GRADE_BANDS,
    SEVERITY_LABEL,
    Edition,
    _contract_names,
    _leaves,
    _rows,
    _top_of,
    all_scored,
    assessed_text,
    cn_date,
    deliverable_names,
    document_row,
    grade_text,
    places,
    polish,
)
from .selfeval import BUDGET_HEADER, COLUMNS, INDICATOR_HEADER, selfeval_form

FONT = "宋体"  # SimSun; Excel/WPS on Chinese Windows have it, LibreOffice substitutes Noto Sans CJK SC
PAPER_A4 = 9

Cell = Any  # an xlsxwriter Format (the package ships no type information)


class _Styles:
    """Cell formats of one workbook, made on first use."""

    def __init__(self, workbook: Any) -> None:
        self._workbook = workbook
        self._cache: dict[tuple[tuple[str, Any], ...], Cell] = {}

    def get(self, **props: Any) -> Cell:
        base: dict[str, Any] = {
            "font_name": FONT,
            "font_charset": 134,  # GB2312
            "font_size": 11,
            "border": 1,
            "valign": "vcenter",
            "text_wrap": True,
        }
        base.update(props)
        key = tuple(sorted(base.items()))
        if key not in self._cache:
            self._cache[key] = self._workbook.add_format(base)
        return self._cache[key]

    def text(self, align: str = "left", bold: bool = False) -> Cell:
        return self.get(align=align, bold=bold)

    def header(self) -> Cell:
        return self.get(align="center", bold=True, bg_color="#D9E1F2")

    def title(self) -> Cell:
        return self.get(align="center", bold=True, font_size=16, border=0, text_wrap=False)

    def number(self, value: Decimal, bold: bool = False) -> Cell:
        """Up to 3 decimals, as many as the value needs (10 → "10", 7.25 → "7.25")."""
        places = max(0, min(3, -_exponent(value.normalize())))
        return self.get(align="right", bold=bold, num_format="0" if not places else "0." + "0" * places)

    def fixed(self, decimals: int, bold: bool = False) -> Cell:
        """Exactly ``decimals`` decimals: one format for a whole column."""
        return self.get(align="right", bold=bold, num_format="0" if not decimals else "0." + "0" * decimals)

    def percent(self, bold: bool = False) -> Cell:
        return self.get(align="right", bold=bold, num_format="0.00%")


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0


def _num(value: Decimal) -> float:
    """A number for a cell: rounded to the 3 places the tables show."""
    return float(value.quantize(Decimal("0.001")))


def _round3(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.001"))


def _workbook(buffer: io.BytesIO, result: EvaluationResult, title: str) -> Any:
    workbook = xlsxwriter.Workbook(
        buffer,
        {"in_memory": True, "default_format_properties": {"font_name": FONT, "font_size": 11}},
    )
    workbook.set_properties(
        {
            "title": title,
            "subject": result.name,
            "author": "opseval",
            "company": "",
            "comments": f"评价基准日 {result.as_of}",
            "created": datetime.combine(result.as_of, time()),
        }
    )
    return workbook


def _print_setup(sheet: Any, repeat_to: int | None, landscape: bool) -> None:
    sheet.set_paper(PAPER_A4)
    if landscape:
        sheet.set_landscape()
    else:
        sheet.set_portrait()
    sheet.fit_to_pages(1, 0)  # one page wide, as many tall as needed
    if repeat_to is not None:
        sheet.repeat_rows(0, repeat_to)
    sheet.center_horizontally()
    sheet.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)


def _spans(keys: list[tuple[str, ...]]) -> Iterator[tuple[int, int, str]]:
    """Runs of equal consecutive keys whose last part is not empty: (first, last, last part)."""
    start = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            if keys[start][-1]:
                yield start, i - 1, keys[start][-1]
            start = i


def _merge_names(sheet: Any, styles: _Styles, names: list[list[str]], first: int) -> None:
    """一级 and 二级指标 names of content._rows rows as cells merged over their leaves' rows."""
    for a, b, value in _spans([(n[0],) for n in names]):
        _write_span(sheet, 0, first + a, first + b, value, styles.text("center", bold=True))
    for a, b, value in _spans([(n[0], n[1]) for n in names]):
        _write_span(sheet, 1, first + a, first + b, value, styles.text("center"))
    for i, n in enumerate(names):  # a top-level leaf has no 二级指标
        if not n[1]:
            sheet.write_blank(first + i, 1, None, styles.text())


def _write_span(sheet: Any, col: int, first: int, last: int, value: str, style: Cell) -> None:
    if last > first:
        sheet.merge_range(first, col, last, col, value, style)
    else:
        sheet.write_string(first, col, value, style)


def _total_weight(result: EvaluationResult) -> Decimal:
    return sum((t.weight for t in result.indicators), Decimal(0))


# -- 绩效评价指标得分表 -------------------------------------------------------------------


def scores_xlsx(result: EvaluationResult, definition: ProjectDefinition, edition: Edition | None = None) -> bytes:
    """The 绩效评价指标得分表 (sheet 指标得分), the 问题清单 (sheet 问题清单) and the delivered documents
    (sheet 佐证文件) as an .xlsx file."""
    title = f"{definition.project.name}绩效评价指标得分表"
    if edition is not None:
        title = edition.titled(title)
    buffer = io.BytesIO()
    workbook = _workbook(buffer, result, title)
    styles = _Styles(workbook)
    _scores_sheet(workbook.add_worksheet("指标得分"), styles, result, title)
    _findings_sheet(workbook.add_worksheet("问题清单"), styles, result, definition)
    _documents_sheet(workbook.add_worksheet("佐证文件"), styles, result, definition)
    workbook.close()
    return buffer.getvalue()


def _scores_sheet(sheet: Any, styles: _Styles, result: EvaluationResult, title: str) -> None:
    header = ["一级指标", "二级指标", "三级指标", "权重", "得分", "得分率"]
    staged = not all_scored(result)  # inside the period: a column says which scores are final
    if staged:
        header.append("评价状态")
    last = len(header) - 1
    sheet.merge_range(0, 0, 0, last, title, styles.title())
    sheet.set_row(0, 30)
    sheet.write_row(1, 0, header, styles.header())

    # The rows of the Markdown report's 得分表 (content._rows), one per leaf, in the same order as
    # content._leaves walks the tree, so that each row's numbers come from its indicator.
    names = _rows(result.indicators)
    leaves = [leaf for top in result.indicators for leaf in _leaves(top)]
    weight = _total_weight(result)
    # every indicator name on one line: each name column as wide as its longest name
    for col in range(3):
        longest = max([_units(header[col])] + [_units(n[col]) for n in names])
        sheet.set_column(col, col, max(10.0, longest + 2))
    sheet.set_column(3, 5, 10)
    # one number format per column: as many decimals as its most precise value needs
    weight_style = styles.fixed(places([leaf.weight for leaf in leaves] + [weight]))
    score_style = styles.fixed(places([leaf.score for leaf in leaves] + [result.total]))
    first = 2
    for offset, (row, leaf) in enumerate(zip(names, leaves, strict=True)):
        r = first + offset
        sheet.write_string(r, 2, row[2], styles.text())
        sheet.write_number(r, 3, _num(leaf.weight), weight_style)
        sheet.write_number(r, 4, _num(leaf.score), score_style)
        sheet.write_number(r, 5, float(leaf.rate), styles.percent())
        if staged:
            sheet.write_string(r, 6, STATUS_LABEL[leaf.status], styles.text("center"))

    _merge_names(sheet, styles, names, first)

    total_row = first + len(names)
    sheet.merge_range(total_row, 0, total_row, 2, "合计", styles.text("center", bold=True))
    sheet.write_number(total_row, 3, _num(weight), styles.fixed(places([weight]), bold=True))
    sheet.write_number(total_row, 4, _num(result.total), styles.fixed(places([result.total]), bold=True))
    rate = result.total / weight if weight else Decimal(0)
    sheet.write_number(total_row, 5, float(rate), styles.percent(bold=True))
    if staged:
        sheet.set_column(6, 6, 12)
        sheet.write_string(total_row, 6, f"可评 {fmt(result.assessable or Decimal(0), 3)}", styles.text("center"))
    note = (
        f"评定等级为“{grade_text(result)}”（{GRADE_BANDS}）；评价基准日为{cn_date(result.as_of)}。"
        f"{assessed_text(result)}"
    )
    sheet.merge_range(total_row + 1, 0, total_row + 1, last, note, styles.get(border=0, text_wrap=True))
    widths = [max(10.0, max([_units(header[c])] + [_units(n[c]) for n in names]) + 2) for c in range(3)] + [30.0]
    sheet.set_row(total_row + 1, _height([(note, sum(widths))]))

    _print_setup(sheet, repeat_to=1, landscape=False)
    sheet.freeze_panes(2, 0)


def _findings_sheet(sheet: Any, styles: _Styles, result: EvaluationResult, definition: ProjectDefinition) -> None:
    """问题清单: the findings by 一级指标, each with its indicator, severity, 原因分析 and 建议."""
    contracts = _contract_names(definition)
    names = {ind.id: ind.name for top in result.indicators for ind in top.walk()}
    tops = _top_of(result)
    header = ["序号", "一级指标", "指标", "严重程度", "问题描述", "原因分析", "建议"]
    widths = (6, 10, 20, 9, 60, 36, 40)
    sheet.write_row(0, 0, header, styles.header())
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    order = {t.name: i for i, t in enumerate(result.indicators)}

    def top_name(indicator: str | None) -> str:
        top = tops.get(indicator or "")
        return top.name if top else "其他"

    findings = sorted(result.findings, key=lambda f: order.get(top_name(f.indicator), len(order)))
    for r, f in enumerate(findings, start=1):
        family = f.rule.split(".")[0]
        values = [
            top_name(f.indicator),
            names.get(f.indicator, DASH) if f.indicator else DASH,
            SEVERITY_LABEL.get(f.severity, f.severity),
            polish(f.message, contracts),
            polish(f.cause.strip() or CAUSE.get(family, DASH), contracts),
            polish(f.advice.strip() or ADVICE.get(family, DASH), contracts),
        ]
        sheet.write_number(r, 0, r, styles.get(align="center", num_format="0"))
        for col, text in enumerate(values, start=1):
            sheet.write_string(r, col, text, styles.text("center" if col in (1, 3) else "left"))
        sheet.set_row(r, _height(list(zip(values, widths[1:], strict=True))))
    if findings:
        sheet.autofilter(0, 0, len(findings), len(header) - 1)
    _print_setup(sheet, repeat_to=0, landscape=True)
    sheet.freeze_panes(1, 0)


def _documents_sheet(sheet: Any, styles: _Styles, result: EvaluationResult, definition: ProjectDefinition) -> None:
    """佐证文件: every document delivered as evidence, with its reference, period and date."""
    names = deliverable_names(definition)
    contracts = _contract_names(definition)
    header = ["序号", "合同", *DOCUMENT_HEADER]
    rows = [[contracts[d.contract], *document_row(d, names)] for d in result.documents]
    sheet.write_row(0, 0, header, styles.header())
    widths = [6.0] + [min(60.0, max([_units(header[c])] + [_units(r[c - 1]) for r in rows]) + 2) for c in range(1, 7)]
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    for r, values in enumerate(rows, start=1):
        sheet.write_number(r, 0, r, styles.get(align="center", num_format="0"))
        for col, text in enumerate(values, start=1):
            sheet.write_string(r, col, text, styles.text("center" if col >= 5 else "left"))
        sheet.set_row(r, _height(list(zip(values, widths[1:], strict=True))))
    if not rows:
        sheet.write_string(1, 1, "评价期内未收到交付文档类佐证材料。", styles.text())
    else:
        sheet.autofilter(0, 0, len(rows), len(header) - 1)
    _print_setup(sheet, repeat_to=0, landscape=True)
    sheet.freeze_panes(1, 0)


# -- 项目支出绩效自评表 ------------------------------------------------------------------


def selfeval_xlsx(
    result: EvaluationResult, definition: ProjectDefinition, edition: Edition | None = None
) -> bytes | None:
    """The 项目支出绩效自评表 (``selfeval.selfeval_form``'s official layout), or None unless the result
    is a self-evaluation."""
    if result.form != "self_evaluation":
        return None
    form = selfeval_form(result, definition)
    if edition is not None:
        form = replace(form, title=edition.titled(form.title))
    buffer = io.BytesIO()
    workbook = _workbook(buffer, result, form.title)
    styles = _Styles(workbook)
    sheet = workbook.add_worksheet("绩效自评表")
    last = COLUMNS - 1  # columns A..H
    widths = (10, 13, 22, 16, 14, 8, 8, 46)
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)

    def span(first: int, last_col: int) -> float:
        return sum(widths[first : last_col + 1])

    sheet.merge_range(0, 0, 0, last, form.title, styles.title())
    sheet.set_row(0, 30)
    sheet.merge_range(1, 0, 1, last, "单位：万元", styles.get(border=0, align="right"))
    sheet.write_string(2, 0, "项目名称", styles.text("center", bold=True))
    sheet.merge_range(2, 1, 2, last, form.name, styles.text())
    sheet.write_string(3, 0, "主管部门", styles.text("center", bold=True))
    sheet.merge_range(3, 1, 3, 3, form.department, styles.text())
    sheet.write_string(3, 4, "实施单位", styles.text("center", bold=True))
    sheet.merge_range(3, 5, 3, last, form.agency, styles.text())
    sheet.set_row(3, _height([(form.department, span(1, 3)), (form.agency, span(5, last))]))

    # 项目资金
    row = 4
    end = row + len(form.budget)
    sheet.merge_range(row, 0, end, 0, "项目资金（万元）", styles.text("center", bold=True))
    sheet.write_row(row, 1, BUDGET_HEADER, styles.header())
    money_style = styles.get(align="right", num_format="0.00")
    for i, line in enumerate(form.budget, start=1):
        r = row + i
        sheet.write_string(r, 1, line.label, styles.text())
        for col, value in ((2, line.approved), (3, line.adjusted), (4, line.spent)):
            if value is None:
                sheet.write_string(r, col, DASH, styles.text("center"))
            else:
                sheet.write_number(r, col, float(value), money_style)
        cells: list[tuple[Decimal | None, Cell]] = [
            (form.budget_weight, styles.get(align="right", num_format="0.00")),
            (form.budget_rate, styles.percent()),
            (form.budget_score, styles.get(align="right", num_format="0.00")),
        ]
        for col, (value, style) in enumerate(cells, start=5):
            if line.scored and value is not None:
                sheet.write_number(r, col, float(value), style)
            else:
                sheet.write_string(r, col, DASH, styles.text("center"))
    row = end + 1

    # 年度总体目标
    sheet.merge_range(row, 0, row + 1, 0, "年度总体目标", styles.text("center", bold=True))
    sheet.merge_range(row, 1, row, 4, "预期目标", styles.header())
    sheet.merge_range(row, 5, row, last, "实际完成情况", styles.header())
    sheet.merge_range(row + 1, 1, row + 1, 4, form.goals, styles.text())
    sheet.merge_range(row + 1, 5, row + 1, last, form.done, styles.text())
    sheet.set_row(row + 1, _height([(form.goals, span(1, 4)), (form.done, span(5, last))]))
    row += 2

    # 绩效指标
    sheet.write_row(row, 0, INDICATOR_HEADER, styles.header())
    sheet.repeat_rows(row, row)  # the 绩效指标 header on every printed page
    first = row + 1
    score_style = styles.get(align="right", num_format="0.00")
    for offset, ind in enumerate(form.indicators):
        r = first + offset
        sheet.write_string(r, 2, ind.level3, styles.text())
        sheet.write_string(r, 3, ind.target, styles.text("center"))
        sheet.write_string(r, 4, ind.actual, styles.text("center"))
        sheet.write_number(r, 5, float(ind.weight), score_style)
        sheet.write_number(r, 6, float(ind.score), score_style)
        sheet.write_string(r, 7, ind.remark, styles.text())
        sheet.set_row(
            r,
            _height(
                [
                    (ind.level2, widths[1]),
                    (ind.level3, widths[2]),
                    (ind.target, widths[3]),
                    (ind.actual, widths[4]),
                    (ind.remark, widths[7]),
                ]
            ),
        )
    names = [[ind.level1, ind.level2, ind.level3] for ind in form.indicators]
    _merge_names(sheet, styles, names, first)
    row = first + len(form.indicators)

    for label, text in (("存在问题", form.problems), ("改进措施", form.measures)):
        sheet.write_string(row, 0, label, styles.text("center", bold=True))
        sheet.merge_range(row, 1, row, last, text, styles.text())
        sheet.set_row(row, _height([(text, span(1, last))]))
        row += 1

    bold_score = styles.get(align="right", num_format="0.00", bold=True)
    sheet.merge_range(row, 0, row, 4, "总分", styles.text("center", bold=True))
    sheet.write_number(row, 5, float(form.total_weight), bold_score)
    sheet.write_number(row, 6, float(form.total), bold_score)
    sheet.write_string(row, 7, f"评定等级：{form.grade}", styles.text())
    sheet.merge_range(row + 1, 0, row + 1, last, form.note, styles.get(border=0, text_wrap=True))

    _print_setup(sheet, repeat_to=None, landscape=True)
    workbook.close()
    return buffer.getvalue()


LINE_HEIGHT = 15.0  # points per line of 11 pt text, with leading


def _units(text: str) -> float:
    """Width of ``text`` in Excel column units: a CJK character two, other characters about one."""
    return sum(2.0 if ord(ch) >= 0x2E80 else 1.1 for ch in text)


def _height(cells: list[tuple[str, float]]) -> float:
    """Row height (points) that shows every cell's wrapped text: the most lines any cell needs."""
    lines = 1
    for text, width in cells:
        usable = max(width - 1.5, 1.0)  # the cell's padding
        need = sum(max(1, math.ceil(_units(part) / usable)) for part in text.split("\n"))
        lines = max(lines, need)
    return min(409.0, LINE_HEIGHT * (lines + (1 if lines > 3 else 0)) + 4)
