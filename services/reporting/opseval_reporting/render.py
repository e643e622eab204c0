"""Lay the report content out as Markdown and as a standalone HTML page."""

from __future__ import annotations

import html

from .content import Report, Section, Table, column_widths


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> list[str]:
    lines = ["| " + " | ".join(table.header) + " |", "|" + "---|" * len(table.header)]
    previous: list[str] = []
    for row in table.rows:
        shown = [
            "" if i < table.merge_first and previous[: i + 1] == row[: i + 1] else cell for i, cell in enumerate(row)
        ]
        previous = row
        lines.append("| " + " | ".join(_md_cell(c) for c in shown) + " |")
    return lines


def to_markdown(report: Report) -> str:
    lines = [f"# {report.title}", "", f"_{report.subtitle}_", ""]
    lines += [f"- {label}：{value}" for label, value in report.cover] + [""]
    for section in report.sections:
        lines += ["#" * (section.level + 1) + " " + section.title, ""]
        for block in section.blocks:
            if isinstance(block, Table):
                if block.caption:
                    lines += [f"**{block.caption}**", ""]
                lines += _md_table(block)
            elif isinstance(block, list):
                lines += [f"- {item}" for item in block]
            else:
                lines.append(block)
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


CSS = """
body { font-family: "Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif;
       max-width: 60em; margin: 2em auto; padding: 0 1em; line-height: 1.7; color: #222; }
h1 { text-align: center; font-size: 1.7em; }
.subtitle { text-align: center; color: #666; }
h2 { border-bottom: 2px solid #444; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; width: 100%; margin: 1em 0; font-size: .95em; }
th, td { border: 1px solid #999; padding: .3em .5em; vertical-align: middle; }
th { background: #eef; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.nowrap { white-space: nowrap; }
p.caption { text-align: center; font-weight: bold; margin-bottom: 0; }
table.cover { width: auto; margin: 1em auto 2em; }
table.cover th { background: none; text-align: right; border: none; }
table.cover td { border: none; }
"""


def _html_table(table: Table) -> str:
    out = [
        f'<p class="caption">{html.escape(table.caption)}</p>' if table.caption else "",
        "<table>",
        _colgroup(table),
        "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in table.header) + "</tr></thead>",
        "<tbody>",
    ]
    rows = table.rows
    # rowspan for the leading merged columns, as the field's score tables are laid out
    spans = [[1] * len(r) for r in rows]
    for col in range(table.merge_first):
        i = 0
        while i < len(rows):
            j = i + 1
            while j < len(rows) and rows[j][: col + 1] == rows[i][: col + 1] and rows[i][col]:
                spans[j][col] = 0
                j += 1
            spans[i][col] = j - i
            i = j
    for r, row in enumerate(rows):
        cells = []
        for c, cell in enumerate(row):
            if spans[r][c] == 0:
                continue
            attrs = f' rowspan="{spans[r][c]}"' if spans[r][c] > 1 else ""
            numeric = cell.replace(".", "", 1).replace("%", "").replace("-", "", 1).isdigit()
            classes = (["num"] if numeric else []) + (["nowrap"] if c in table.nowrap else [])
            cls = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attrs}{cls}>{html.escape(cell)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out += ["</tbody>", "</table>"]
    return "\n".join(out)


def _colgroup(table: Table) -> str:
    """Column widths in proportion to the widest cell of each column, as the DOCX sets them."""
    widths = column_widths(table, 156, 3.7, 3.2)  # mm: the A4 text block, 五号 type, cell margins
    total = sum(widths) or 1
    return "<colgroup>" + "".join(f'<col style="width:{100 * w / total:.1f}%">' for w in widths) + "</colgroup>"


def _html_section(section: Section, anchor: str | None = None) -> str:
    level = min(section.level + 1, 6)
    ident = f' id="{anchor}"' if anchor else ""
    parts = [f"<h{level}{ident}>{html.escape(section.title)}</h{level}>"]
    for block in section.blocks:
        if isinstance(block, Table):
            parts.append(_html_table(block))
        elif isinstance(block, list):
            parts.append("<ol>" + "".join(f"<li>{html.escape(i)}</li>" for i in block) + "</ol>")
        else:
            parts.append(f"<p>{html.escape(block)}</p>")
    return "\n".join(parts)


def _cover(report: Report) -> str:
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in report.cover)
    return f'<table class="cover">{rows}</table>' if rows else ""


def to_html(report: Report) -> str:
    body = "\n".join(_html_section(s) for s in report.sections)
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(report.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<h1>{html.escape(report.title)}</h1>\n<p class="subtitle">{html.escape(report.subtitle)}</p>\n'
        f"{_cover(report)}\n{body}\n</body>\n</html>\n"
    )
