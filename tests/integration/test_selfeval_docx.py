"""The 项目支出绩效自评表 as DOCX (seed 001's layout), for self-evaluations only."""

from __future__ import annotations

import io
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from opseval_reporting.content import text_width
from opseval_reporting.selfeval_docx import CELL_MARGINS_CM, WIDTHS_CM, selfeval_docx
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult

from opseval.embedded import evaluate_bundle

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@cache
def evaluated(name: str) -> tuple[EvaluationResult, ProjectDefinition]:
    return evaluate_bundle(EXAMPLES / name)


@cache
def guangzhou_bytes() -> bytes:
    data = selfeval_docx(*evaluated("guangzhou-2021"))
    assert data is not None
    return data


@pytest.fixture(scope="module")
def document() -> Any:
    return Document(io.BytesIO(guangzhou_bytes()))


def _grid(document: Any) -> list[list[str]]:
    """The form's table as text, one list per row (merged cells repeat their text)."""
    (table,) = document.tables
    return [[cell.text for cell in row.cells] for row in table.rows]


def _row(grid: list[list[str]], first: str, second: str | None = None) -> list[str]:
    return next(r for r in grid if r[0] == first and (second is None or r[1] == second))


def test_title_project_and_header_block(document: Any) -> None:
    _, definition = evaluated("guangzhou-2021")
    texts = [p.text for p in document.paragraphs]
    assert any("项目支出绩效自评表" in t for t in texts)
    assert "2021年度项目支出绩效自评表" in texts
    grid = _grid(document)
    name = _row(grid, "项目名称")
    assert name[1:] == [definition.project.name] * 7  # merged over the rest of the row
    assert definition.project.name == "广州市政府办公厅2021年度信息化整体运维服务项目"
    dept = _row(grid, "主管部门")
    assert dept[4] == "实施单位"
    assert dept[5] == definition.project.agency


def test_budget_block_has_the_official_fund_rows(document: Any) -> None:
    grid = _grid(document)
    header = next(r for r in grid if "年初预算数" in r)
    assert header[1:] == ["", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"]
    lines = grid[grid.index(header) + 1 : grid.index(header) + 5]
    assert all(line[0] == "项目资金（万元）" for line in lines)  # the label spans the header and the lines
    assert [line[1] for line in lines] == ["年度资金总额", "其中：财政拨款", "上年结转", "其他资金"]
    assert lines[0][2:] == ["350.00", "348.00", "348.00", "10.00", "100.00%", "10.00"]
    assert lines[1][2:] == ["350.00", "348.00", "348.00", "—", "—", "—"]
    assert lines[2][2:5] == lines[3][2:5] == ["0.00", "0.00", "0.00"]


def test_indicator_rows_weights_scores_and_remarks(document: Any) -> None:
    result, _ = evaluated("guangzhou-2021")
    grid = _grid(document)
    header = _row(grid, "一级指标")
    assert header == [
        "一级指标",
        "二级指标",
        "三级指标",
        "年度指标值",
        "实际完成值",
        "分值",
        "得分",
        "偏差原因分析及改进措施",
    ]
    rows = grid[grid.index(header) + 1 : grid.index(_row(grid, "存在问题"))]
    leaves = [(top, leaf) for top in result.indicators for leaf in top.children]  # two-level tree
    assert len(rows) == len(leaves) == 8
    for row, (top, leaf) in zip(rows, leaves, strict=True):
        assert row[0] == top.name
        assert row[1] == leaf.name  # a two-level system: the leaf is the 二级指标 …
        assert row[2] and row[2] != leaf.name  # … and its definition the 三级指标, as seed 001
        assert (row[5], row[6]) == (f"{leaf.weight:.2f}", f"{leaf.score:.2f}")
    mttr = _row(grid, "效益", "平均故障恢复时间")
    assert mttr[2] == "出现故障后处理完成所需的时间"
    assert mttr[5:7] == ["10.00", "9.00"]
    assert "25 分钟" in mttr[7] and "INC-2021-013" in mttr[7] and "改进措施" in mttr[7]
    assert "一级故障25分钟" in mttr[3]
    full = _row(grid, "产出", "故障响应及时率")
    assert full[3:8] == ["100%", "100.00%", "15.00", "15.00", "已按要求执行，达到指标要求。"]
    assert _row(grid, "改进措施")[1]


def test_total_row(document: Any) -> None:
    total = _row(_grid(document), "总分")
    assert total[:5] == ["总分"] * 5  # merged over the name and value columns
    assert total[5:] == ["100.00", "99.00", "评定等级：优"]


def test_merged_cells_are_real_merges(document: Any) -> None:
    (table,) = document.tables
    tcs = [tc for tr in table._tbl.tr_lst for tc in tr.tc_lst]
    spans = [tc.tcPr.find(qn("w:gridSpan")) for tc in tcs if tc.tcPr is not None]
    assert any(s is not None and s.get(qn("w:val")) == "7" for s in spans)  # 项目名称's value
    vmerges = [tc.tcPr.find(qn("w:vMerge")) for tc in tcs if tc.tcPr is not None]
    assert sum(1 for v in vmerges if v is not None) >= 8  # 一级指标, 项目资金, 绩效目标 columns


def test_landscape_a4(document: Any) -> None:
    section = document.sections[0]
    assert section.orientation == WD_ORIENT.LANDSCAPE
    assert abs(section.page_width - Cm(29.7)) < Cm(0.01)
    assert abs(section.page_height - Cm(21.0)) < Cm(0.01)


def test_east_asian_font_and_language() -> None:
    with zipfile.ZipFile(io.BytesIO(guangzhou_bytes())) as z:
        styles = z.read("word/styles.xml").decode()
    assert 'w:eastAsia="zh-CN"' in styles
    assert 'w:eastAsia="宋体"' in styles
    assert "w:eastAsiaTheme" not in styles.split("<w:docDefaults>")[1].split("</w:docDefaults>")[0]


def test_deterministic_bytes_and_metadata(document: Any) -> None:
    result, definition = evaluated("guangzhou-2021")
    again = selfeval_docx(result, definition)
    assert again == guangzhou_bytes()
    props = document.core_properties
    assert props.created.date() == result.as_of
    assert props.modified.date() == result.as_of
    with zipfile.ZipFile(io.BytesIO(guangzhou_bytes())) as z:
        assert {info.date_time for info in z.infolist()} == {(2022, 5, 31, 0, 0, 0)}


def test_not_a_self_evaluation_gives_none() -> None:
    result, definition = evaluated("dongguan-2022")
    assert result.form != "self_evaluation"
    assert selfeval_docx(result, definition) is None


def test_the_budget_execution_rate_column_holds_100_percent_on_one_line() -> None:
    # 执行率 is the seventh column of the 项目资金 block; at 1.9 cm "100.00%" broke before its "%"
    needed = Pt(10.5) * text_width("100.00%") + Cm(CELL_MARGINS_CM)
    assert Cm(WIDTHS_CM[6]) >= needed
    assert abs(sum(WIDTHS_CM) - 26.7) < 1e-9  # still the landscape A4 text width
