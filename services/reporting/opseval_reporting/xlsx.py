"""The evaluation's tables as Excel workbooks.

* ``scores_xlsx``: the 绩效评价指标得分表 (seed 002's 附件1, "详见 Excel 文件"): one row per leaf, the
  一级/二级指标 as merged cells, numbers as numeric values, a 合计 row; and a 问题清单 sheet.
* ``selfeval_xlsx``: the 项目支出绩效自评表 (seed 001's layout), for the self-evaluation form only.

Both are pure: the same result gives the same bytes (fixed workbook properties, created date from
``result.as_of``). The row layout comes from ``content`` (``_rows``/``_leaves``), as in the Markdown report.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, time
from decimal import Decimal
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import BudgetLine, EvaluationResult, ScoredIndicator

from .content import SEVERITY_LABEL, _leaves, _rows

FONT = "宋体"  # SimSun; Excel/WPS on Chinese Windows have it, LibreOffice substitutes Noto Sans CJK SC
PAPER_A4 = 9
SATISFIED = "已按要求执行，达到指标要求。"

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


def scores_xlsx(result: EvaluationResult, definition: ProjectDefinition) -> bytes:
    """The 绩效评价指标得分表 (sheet 指标得分) and the 问题清单 (sheet 问题清单) as an .xlsx file."""
    title = f"{definition.project.name}绩效评价指标得分表"
    buffer = io.BytesIO()
    workbook = _workbook(buffer, result, title)
    styles = _Styles(workbook)
    _scores_sheet(workbook.add_worksheet("指标得分"), styles, result, title)
    _findings_sheet(workbook.add_worksheet("问题清单"), styles, result)
    workbook.close()
    return buffer.getvalue()


def _scores_sheet(sheet: Any, styles: _Styles, result: EvaluationResult, title: str) -> None:
    header = ["一级指标", "二级指标", "三级指标", "权重", "得分", "得分率"]
    sheet.merge_range(0, 0, 0, len(header) - 1, title, styles.title())
    sheet.set_row(0, 30)
    sheet.write_row(1, 0, header, styles.header())
    for col, width in enumerate((14, 18, 34, 10, 10, 11)):
        sheet.set_column(col, col, width)

    # The rows of the Markdown report's 得分表 (content._rows), one per leaf, in the same order as
    # content._leaves walks the tree, so that each row's numbers come from its indicator.
    names = _rows(result.indicators)
    leaves = [leaf for top in result.indicators for leaf in _leaves(top)]
    first = 2
    for offset, (row, leaf) in enumerate(zip(names, leaves, strict=True)):
        r = first + offset
        sheet.write_string(r, 2, row[2], styles.text())
        _write_scores(sheet, r, 3, leaf, styles)

    _merge_names(sheet, styles, names, first)

    total_row = first + len(names)
    weight = _total_weight(result)
    sheet.merge_range(total_row, 0, total_row, 2, "合计", styles.text("center", bold=True))
    sheet.write_number(total_row, 3, _num(weight), styles.number(_round3(weight), bold=True))
    sheet.write_number(total_row, 4, _num(result.total), styles.number(_round3(result.total), bold=True))
    rate = result.total / weight if weight else Decimal(0)
    sheet.write_number(total_row, 5, float(rate), styles.percent(bold=True))
    sheet.write_string(total_row + 1, 0, f"评定等级：{result.grade}；评价基准日：{result.as_of}", styles.get(border=0))

    _print_setup(sheet, repeat_to=1, landscape=False)
    sheet.freeze_panes(2, 0)


def _write_scores(sheet: Any, row: int, col: int, node: ScoredIndicator, styles: _Styles) -> None:
    """权重, 得分, 得分率 from col on."""
    sheet.write_number(row, col, _num(node.weight), styles.number(_round3(node.weight)))
    sheet.write_number(row, col + 1, _num(node.score), styles.number(_round3(node.score)))
    sheet.write_number(row, col + 2, float(node.rate), styles.percent())


def _findings_sheet(sheet: Any, styles: _Styles, result: EvaluationResult) -> None:
    names = {ind.id: ind.name for top in result.indicators for ind in _walk(top)}
    header = ["编号", "规则", "指标", "严重程度", "问题描述", "佐证条数"]
    sheet.write_row(0, 0, header, styles.header())
    for col, width in enumerate((14, 28, 18, 10, 70, 10)):
        sheet.set_column(col, col, width)
    for r, f in enumerate(result.findings, start=1):
        indicator = names.get(f.indicator, f.indicator) if f.indicator else "—"
        sheet.write_string(r, 0, f.id, styles.text())
        sheet.write_string(r, 1, f.rule, styles.text())
        sheet.write_string(r, 2, indicator, styles.text())
        sheet.write_string(r, 3, SEVERITY_LABEL.get(f.severity, f.severity), styles.text("center"))
        sheet.write_string(r, 4, f.message, styles.text())
        sheet.write_number(r, 5, len(f.evidence), styles.get(align="right", num_format="0"))
    if result.findings:
        sheet.autofilter(0, 0, len(result.findings), len(header) - 1)
    _print_setup(sheet, repeat_to=0, landscape=True)
    sheet.freeze_panes(1, 0)


def _walk(node: ScoredIndicator) -> Iterator[ScoredIndicator]:
    yield node
    for child in node.children:
        yield from _walk(child)


# -- 项目支出绩效自评表 ------------------------------------------------------------------


def selfeval_xlsx(result: EvaluationResult, definition: ProjectDefinition) -> bytes | None:
    """The 项目支出绩效自评表 (seed 001's layout), or None unless the result is a self-evaluation."""
    if result.form != "self_evaluation":
        return None
    project = definition.project
    year = project.evaluation.period.start.year
    title = f"{year} 年度项目支出绩效自评表"
    buffer = io.BytesIO()
    workbook = _workbook(buffer, result, title)
    styles = _Styles(workbook)
    sheet = workbook.add_worksheet("绩效自评表")
    last = 7  # columns A..H
    for col, width in enumerate((10, 14, 20, 16, 16, 10, 10, 30)):
        sheet.set_column(col, col, width)

    sheet.merge_range(0, 0, 0, last, title, styles.title())
    sheet.set_row(0, 30)
    sheet.merge_range(1, 0, 1, last, "单位：万元", styles.get(border=0, align="right"))
    sheet.write_string(2, 0, "项目名称", styles.text("center", bold=True))
    sheet.merge_range(2, 1, 2, last, project.name, styles.text())
    sheet.write_string(3, 0, "主管部门", styles.text("center", bold=True))
    sheet.merge_range(3, 1, 3, 3, project.department or project.agency, styles.text())
    sheet.write_string(3, 4, "实施单位", styles.text("center", bold=True))
    sheet.merge_range(3, 5, 3, last, project.agency, styles.text())

    row = _budget_block(sheet, styles, result, 4)
    row = _goals_block(sheet, styles, result, definition, row)
    row = _indicator_block(sheet, styles, result, row)

    weight = _total_weight(result)
    sheet.merge_range(row, 0, row, 4, "总分", styles.text("center", bold=True))
    sheet.write_number(row, 5, _num(weight), styles.number(_round3(weight), bold=True))
    sheet.write_number(row, 6, _num(result.total), styles.number(_round3(result.total), bold=True))
    sheet.write_string(row, 7, f"评定等级：{result.grade}", styles.text())

    _print_setup(sheet, repeat_to=None, landscape=True)
    workbook.close()
    return buffer.getvalue()


def _budget_leaf(result: EvaluationResult) -> ScoredIndicator | None:
    """The indicator scoring budget execution: a top-level leaf (预算执行率), when the form has one."""
    return next((t for t in result.indicators if not t.children), None)


def _budget_block(sheet: Any, styles: _Styles, result: EvaluationResult, row: int) -> int:
    """项目资金: 年初预算数 / 全年预算数（调整后） / 全年执行数 / 分值 / 执行率 / 得分, one row per budget line."""
    header = ["", "年初预算数", "全年预算数（调整后）", "全年执行数", "分值", "执行率", "得分"]
    lines: list[BudgetLine] = list(result.budget) or [BudgetLine(contract=None, label="总额")]
    first, end = row, row + len(lines)
    sheet.merge_range(first, 0, end, 0, "项目资金（万元）", styles.text("center", bold=True))
    sheet.write_row(first, 1, header, styles.header())
    for i, line in enumerate(lines, start=1):
        r = first + i
        sheet.write_string(r, 1, line.label, styles.text())
        adjusted = line.approved + (line.adjustment or Decimal(0)) if line.approved is not None else None
        for col, value in ((2, line.approved), (3, adjusted), (4, line.spent)):
            if value is None:
                sheet.write_string(r, col, "—", styles.text("center"))
            else:
                sheet.write_number(r, col, float(value), styles.get(align="right", num_format="0.00"))

    # 分值 / 执行率 / 得分 once for the project, spanning the budget lines.
    leaf = _budget_leaf(result)
    total = next((b for b in lines if b.contract is None), lines[-1])
    adjusted_total = total.approved + (total.adjustment or Decimal(0)) if total.approved is not None else None
    rate: Decimal | None = leaf.rate if leaf else None
    if rate is None and adjusted_total and total.spent is not None:
        rate = total.spent / adjusted_total
    values: list[tuple[int, Decimal | None, Cell]] = [
        (5, _round3(leaf.weight) if leaf else None, styles.number(_round3(leaf.weight)) if leaf else None),
        (6, rate, styles.percent()),
        (7, _round3(leaf.score) if leaf else None, styles.number(_round3(leaf.score)) if leaf else None),
    ]
    for col, value, style in values:
        if value is None:
            _merge_or_write(sheet, first + 1, col, end, col, "—", styles.text("center"))
            continue
        if end > first + 1:
            sheet.merge_range(first + 1, col, end, col, "", style)
        sheet.write_number(first + 1, col, float(value), style)
    return end + 1


def _merge_or_write(sheet: Any, r1: int, c1: int, r2: int, c2: int, text: str, style: Cell) -> None:
    if (r1, c1) == (r2, c2):
        sheet.write_string(r1, c1, text, style)
    else:
        sheet.merge_range(r1, c1, r2, c2, text, style)


def _goals_block(sheet: Any, styles: _Styles, result: EvaluationResult, definition: ProjectDefinition, row: int) -> int:
    """绩效目标: 年度预期目标 beside 实际完成情况 (each leaf's actual against its target)."""
    goals = "\n".join(f"{i}.{g}" for i, g in enumerate(definition.project.goals, start=1)) or "（未提供）"
    leaves = [leaf for top in result.indicators if top.children for leaf in _leaves(top)]
    done = "\n".join(
        f"{i}.{leaf.name}：{leaf.actual or '—'}" + (f"（指标值 {leaf.target}）" if leaf.target else "")
        for i, leaf in enumerate(leaves, start=1)
    )
    sheet.merge_range(row, 0, row + 1, 0, "绩效目标", styles.text("center", bold=True))
    sheet.merge_range(row, 1, row, 4, "年度预期目标", styles.header())
    sheet.merge_range(row, 5, row, 7, "目标实际完成情况", styles.header())
    sheet.merge_range(row + 1, 1, row + 1, 4, goals, styles.text())
    sheet.merge_range(row + 1, 5, row + 1, 7, done or "—", styles.text())
    lines = max(goals.count("\n"), done.count("\n")) + 1
    sheet.set_row(row + 1, min(409, 16 * lines * 2))
    return row + 2


def _indicator_block(sheet: Any, styles: _Styles, result: EvaluationResult, row: int) -> int:
    """绩效指标: 一级/二级/三级指标, 年度指标值, 实际完成值, 分值, 得分, 偏差原因分析及改进措施."""
    header = ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"]
    sheet.write_row(row, 0, header, styles.header())
    tops = tuple(t for t in result.indicators if t.children)  # the budget leaf is in the 项目资金 block
    names = _rows(tops)
    leaves = [leaf for top in tops for leaf in _leaves(top)]
    findings = {f.id: f for f in result.findings}
    first = row + 1
    for offset, (names_row, leaf) in enumerate(zip(names, leaves, strict=True)):
        r = first + offset
        sheet.write_string(r, 2, names_row[2], styles.text())
        sheet.write_string(r, 3, leaf.target or "—", styles.text("center"))
        sheet.write_string(r, 4, leaf.actual or "—", styles.text("center"))
        sheet.write_number(r, 5, _num(leaf.weight), styles.number(_round3(leaf.weight)))
        sheet.write_number(r, 6, _num(leaf.score), styles.number(_round3(leaf.score)))
        messages = [findings[i].message for i in (leaf.findings or ()) if i in findings]
        if messages:
            remark = "\n".join(messages)
        elif leaf.score < leaf.weight:
            remark = leaf.explanation or "未达到指标要求。"
        else:
            remark = SATISFIED
        sheet.write_string(r, 7, remark, styles.text())
    _merge_names(sheet, styles, names, first)
    sheet.repeat_rows(row, row)  # the 绩效指标 header on every printed page
    return first + len(names)
