"""A filtered evidence table as an XLSX workbook (佐证材料导出): one sheet, a caption saying what was
selected, the kind's Chinese column headers, numbers as numbers. Pure: rows in, bytes out."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]
from opseval_shared.evidence_columns import Column, TermNames

from .xlsx import FONT

MAX_WIDTH = 48


def _width(text: str) -> int:
    """Columns a text takes: CJK characters are two wide."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def evidence_workbook(
    title: str,
    caption: str,
    columns: Sequence[Column],
    events: Iterable[Mapping[str, Any]],
    states: Mapping[str, str],
    names: TermNames | None = None,
) -> bytes:
    """`title` names the sheet (the kind), `caption` the first row (project, scope, filters);
    `states` the 更正/撤回 state of an event by id, in a last column 状态."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "default_format_properties": {"font_name": FONT, "font_size": 11}}
    )
    sheet = book.add_worksheet(title[:31])
    bold = book.add_format({"bold": True, "font_size": 12})
    header = book.add_format({"bold": True, "bg_color": "#DDE6F0", "border": 1, "align": "center", "valign": "vcenter"})
    text = book.add_format({"border": 1, "valign": "top", "text_wrap": True})
    number = book.add_format({"border": 1, "valign": "top", "num_format": "General"})
    headers = [c.label for c in columns] + ["状态"]
    sheet.write(0, 0, caption, bold)
    sheet.write_row(1, 0, headers, header)
    widths = [_width(h) + 2 for h in headers]
    row = 1
    for row, event in enumerate(events, start=2):
        for col, column in enumerate(columns):
            cell = column.cell(event, names)
            try:
                value = Decimal(cell) if column.numeric and cell else None
            except InvalidOperation:
                value = None
            if value is not None:
                sheet.write_number(row, col, float(value), number)
            else:
                sheet.write_string(row, col, cell, text)
            widths[col] = max(widths[col], min(MAX_WIDTH, _width(cell) + 2))
        state = states.get(str(event.get("id")), "")
        sheet.write_string(row, len(columns), state, text)
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    sheet.freeze_panes(2, 0)
    sheet.autofilter(1, 0, max(row, 1), len(headers) - 1)
    book.close()
    return buffer.getvalue()
