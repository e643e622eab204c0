"""The portfolio as a workbook: 项目对比 (the projects ranked, level-1 rates, findings by severity)
and 标杆对比 (one indicator across the projects, the 标杆 and each gap), Chinese headers, rates as
numbers formatted as percentages, columns fitted to their content."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]
from opseval_shared.portfolio import KIND_LABEL, Benchmark, Portfolio
from opseval_shared.results import STATUS_LABEL

from .xlsx import FONT, _Styles, _units

DASH = "—"
ABSENT = "无此指标"
PORTFOLIO_HEADER = ("排名", "项目名称", "评价基准日", "总分", "等级")
FINDINGS_HEADER = ("严重问题", "一般问题", "提示问题")
BENCHMARK_HEADER = ("排名", "项目名称", "指标编号", "指标名称", "权重", "得分", "得分率", "标杆", "与标杆差距", "说明")


def _rate(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _grade(grade: str | None, interim: bool) -> str:
    if grade is None:
        return "尚未评分"
    return f"{grade}（阶段性）" if interim else grade


def _fit(sheet: Any, rows: Sequence[Sequence[Any]], percent: set[int], least: float = 6.0, most: float = 60.0) -> None:
    """Each column as wide as its widest cell as shown (header included), within bounds."""
    for col in range(max(len(r) for r in rows)):
        cells = [r[col] for r in rows if col < len(r) and r[col] is not None]
        texts = [f"{c:.2%}" if col in percent and isinstance(c, float) else str(c) for c in cells]
        sheet.set_column(col, col, min(most, max([least, *(_units(t) + 2 for t in texts)])))


def _write_table(
    sheet: Any, styles: _Styles, title: str, header: Sequence[str], rows: list[list[Any]], percent: set[int]
) -> None:
    sheet.merge_range(0, 0, 0, len(header) - 1, title, styles.title())
    sheet.set_row(0, 24)
    for col, text in enumerate(header):
        sheet.write_string(1, col, text, styles.header())
    for r, row in enumerate(rows, start=2):
        for col, value in enumerate(row):
            if value is None:
                sheet.write_string(r, col, DASH, styles.text("center"))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                sheet.write_number(r, col, value, styles.percent() if col in percent else styles.get(align="right"))
            else:
                sheet.write_string(r, col, str(value), styles.text())
    sheet.freeze_panes(2, 2)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(1)
    _fit(sheet, [list(header), *rows], percent)


def _workbook(buffer: io.BytesIO, title: str, as_of: date | None) -> Any:
    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "default_format_properties": {"font_name": FONT, "font_size": 11}}
    )
    # the newest result's date, never the clock: the same results give the same bytes
    created = datetime.combine(as_of or date(2000, 1, 1), time())
    workbook.set_properties({"title": title, "author": "opseval", "company": "", "created": created})
    return workbook


def _portfolio_sheet(workbook: Any, styles: _Styles, data: Portfolio) -> None:
    sheet = workbook.add_worksheet("项目对比")
    header = [*PORTFOLIO_HEADER, *(f"{name}得分率" for name in data.level1), *FINDINGS_HEADER]
    rows: list[list[Any]] = []
    for e in data.entries:
        rates = {t.key: t.rate for t in e.level1}
        rows.append(
            [
                e.rank,
                e.name,
                e.as_of.isoformat() if e.as_of else None,
                float(e.total) if e.total is not None else None,
                _grade(e.grade, e.interim),
                *(
                    (_rate(rates[name]) if name in rates else ABSENT) if e.total is not None else None
                    for name in data.level1
                ),
                *(e.findings[s] if e.total is not None else None for s in ("high", "medium", "low")),
            ]
        )
    percent = set(range(len(PORTFOLIO_HEADER), len(PORTFOLIO_HEADER) + len(data.level1)))
    _write_table(sheet, styles, "项目绩效评价结果对比", header, rows, percent)


def _benchmark_sheet(workbook: Any, styles: _Styles, data: Benchmark) -> None:
    sheet = workbook.add_worksheet("标杆对比")
    rows: list[list[Any]] = []
    place = 0
    for r in data.rows:
        place += r.rate is not None
        note = r.note or (STATUS_LABEL[r.status] if r.status and r.status != "scored" else "")
        rows.append(
            [
                place if r.rate is not None else None,
                r.project_name,
                r.indicator_id,
                r.indicator_name if r.present else ABSENT,
                float(r.weight) if r.weight is not None else None,
                float(r.score) if r.score is not None else None,
                _rate(r.rate),
                "标杆" if r.benchmark else "",
                _rate(r.gap),
                note,
            ]
        )
    title = f"标杆对比：{KIND_LABEL[data.kind]} {data.label}"
    _write_table(sheet, styles, title, BENCHMARK_HEADER, rows, {6, 8})


def portfolio_xlsx(data: Portfolio, benchmark: Benchmark | None = None) -> bytes:
    buffer = io.BytesIO()
    newest = max((e.as_of for e in data.entries if e.as_of), default=None)
    workbook = _workbook(buffer, "项目绩效评价结果对比", newest)
    styles = _Styles(workbook)
    _portfolio_sheet(workbook, styles, data)
    if benchmark is not None:
        _benchmark_sheet(workbook, styles, benchmark)
    workbook.close()
    return buffer.getvalue()


def benchmark_xlsx(data: Benchmark, as_of: date | None) -> bytes:
    buffer = io.BytesIO()
    workbook = _workbook(buffer, f"标杆对比：{data.label}", as_of)
    _benchmark_sheet(workbook, _Styles(workbook), data)
    workbook.close()
    return buffer.getvalue()
