"""The Excel workbooks: the 绩效评价指标得分表 (seed 002's 附件1) and the 项目支出绩效自评表 (seed 001)."""

from __future__ import annotations

import io
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from opseval_reporting.selfeval import SATISFIED
from opseval_reporting.xlsx import scores_xlsx, selfeval_xlsx
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult

from opseval.embedded import evaluate_bundle

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@cache
def evaluated(name: str) -> tuple[EvaluationResult, ProjectDefinition]:
    return evaluate_bundle(EXAMPLES / name)


def _open(data: bytes) -> Any:
    return load_workbook(io.BytesIO(data), data_only=False)


def _find(sheet: Any, text: str) -> int:
    """The first row whose column A reads text."""
    return next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value == text)


def _all_values(sheet: Any) -> list[Any]:
    return [c.value for row in sheet.iter_rows() for c in row if c.value is not None]


def _assert_one_page_wide(sheet: Any) -> None:
    """Fit to page, 1 page wide (fitToWidth's default, which the file leaves out), any number tall."""
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.page_setup.fitToWidth in (None, 1)
    assert sheet.page_setup.fitToHeight == 0


@pytest.fixture(scope="module")
def dongguan() -> tuple[EvaluationResult, Any]:
    result, definition = evaluated("dongguan-2022")
    return result, _open(scores_xlsx(result, definition))


def test_scores_sheet_layout_and_totals(dongguan: tuple[EvaluationResult, Any]) -> None:
    result, book = dongguan
    assert book.sheetnames == ["指标得分", "问题清单", "佐证文件"]
    sheet = book["指标得分"]
    assert "绩效评价指标得分表" in sheet["A1"].value
    assert [sheet.cell(2, c).value for c in range(1, 7)] == [
        "一级指标",
        "二级指标",
        "三级指标",
        "权重",
        "得分",
        "得分率",
    ]
    total = _find(sheet, "合计")
    leaves = range(3, total)
    scores = [sheet.cell(r, 5).value for r in leaves]
    assert all(isinstance(v, int | float) for v in scores)
    assert sum(Decimal(str(v)) for v in scores) == Decimal("81.415")
    assert Decimal(str(sheet.cell(total, 5).value)) == result.total == Decimal("81.415")
    assert sheet.cell(total, 4).value == 100
    assert sheet.cell(total, 6).number_format == "0.00%"
    assert sheet.cell(total, 6).value == pytest.approx(0.81415)
    # one row per leaf of the indicator tree
    n_leaves = sum(1 for top in result.indicators for mid in top.children for _ in (mid.children or (mid,)))
    assert len(leaves) == n_leaves


def test_numbers_are_values_not_formulas(dongguan: tuple[EvaluationResult, Any]) -> None:
    _, book = dongguan
    for sheet in book.worksheets:
        for value in _all_values(sheet):
            assert not (isinstance(value, str) and value.startswith("=")), value
    sheet = book["指标得分"]
    for r in range(3, _find(sheet, "合计") + 1):
        for c in (4, 5, 6):
            assert isinstance(sheet.cell(r, c).value, int | float), (r, c)
    assert sheet.cell(3, 6).number_format == "0.00%"


def test_level1_and_level2_names_are_merged(dongguan: tuple[EvaluationResult, Any]) -> None:
    result, book = dongguan
    sheet = book["指标得分"]
    merged = sorted(sheet.merged_cells.ranges, key=lambda r: (r.min_col, r.min_row))
    level1 = [r for r in merged if r.min_col == r.max_col == 1 and r.max_row > r.min_row]
    assert [sheet.cell(r.min_row, 1).value for r in level1] == [t.name for t in result.indicators]
    for r in level1:
        assert sheet.cell(r.min_row, 1).alignment.vertical == "center"
    level2 = [r for r in merged if r.min_col == r.max_col == 2]
    assert level2, "二级指标 spanning several leaves are merged too"
    # each 一级指标 spans exactly its leaves' rows, in the tree's order, from the first leaf row down
    row = 3
    for r, top in zip(level1, result.indicators, strict=True):
        n = sum(len(mid.children) or 1 for mid in top.children)
        assert (r.min_row, r.max_row) == (row, row + n - 1)
        row += n
    decision = next(r for r in level1 if sheet.cell(r.min_row, 1).value == "决策")
    assert decision.max_row - decision.min_row + 1 == 6  # 项目立项(2) + 绩效目标(2) + 资金投入(2)


def test_print_setup_one_page_wide_cjk_font(dongguan: tuple[EvaluationResult, Any]) -> None:
    _, book = dongguan
    for sheet in book.worksheets:
        assert sheet.page_setup.paperSize == 9  # A4
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        _assert_one_page_wide(sheet)
        assert sheet.print_title_rows
    assert book["问题清单"].page_setup.orientation == "landscape"
    assert book["指标得分"]["A2"].font.name == "宋体"


def test_findings_sheet_one_row_per_finding_by_level1(dongguan: tuple[EvaluationResult, Any]) -> None:
    result, book = dongguan
    sheet = book["问题清单"]
    header = ["序号", "一级指标", "指标", "严重程度", "问题描述", "原因分析", "建议"]
    assert [sheet.cell(1, c).value for c in range(1, 8)] == header
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(result.findings) == 36  # 35 of the seed's and the late arrivals themselves
    assert [r[0] for r in rows] == list(range(1, 37))
    order = [t.name for t in result.indicators]
    assert [order.index(r[1]) for r in rows] == sorted(order.index(r[1]) for r in rows)  # grouped, in tree order
    assert {r[3] for r in rows} <= {"严重", "一般", "提示"}
    names = {ind.name for top in result.indicators for mid in top.children for ind in (mid, *mid.children)}
    assert all(r[2] in names for r in rows)
    assert all(r[5] and r[6] for r in rows), "every finding has a 原因分析 and a 建议"
    text = "".join(str(v) for r in rows for v in r)
    assert not any(f.id in text for f in result.findings)  # no finding ids
    assert "ops：" not in text and "operation：" not in text  # contracts by name


def test_findings_rows_are_tall_enough_for_their_text(dongguan: tuple[EvaluationResult, Any]) -> None:
    """Wrapped text needs rows taller than one line: each row's height grows with its longest text."""
    _, book = dongguan
    sheet = book["问题清单"]
    heights = {r: sheet.row_dimensions[r].height for r in range(2, sheet.max_row + 1)}
    assert all(h is not None and h >= 15 for h in heights.values())
    longest = max(range(2, sheet.max_row + 1), key=lambda r: len(sheet.cell(r, 5).value))
    shortest = min(range(2, sheet.max_row + 1), key=lambda r: len(sheet.cell(r, 5).value))
    assert heights[longest] > heights[shortest]
    width = sheet.column_dimensions["E"].width
    chars_per_line = width / 2  # a Chinese character is two column units wide
    lines = len(sheet.cell(longest, 5).value) / chars_per_line
    assert heights[longest] >= 15 * lines * 0.9


@pytest.mark.parametrize("example", ["dongguan-2022", "guangzhou-2021"])
def test_same_result_same_bytes(example: str) -> None:
    result, definition = evaluated(example)
    assert scores_xlsx(result, definition) == scores_xlsx(result, definition)
    assert selfeval_xlsx(result, definition) == selfeval_xlsx(result, definition)


def test_selfeval_only_for_self_evaluation() -> None:
    for example in ("dongguan-2022", "urumqi-2023"):
        result, definition = evaluated(example)
        assert result.form != "self_evaluation"
        assert selfeval_xlsx(result, definition) is None


def test_guangzhou_selfeval_form() -> None:
    result, definition = evaluated("guangzhou-2021")
    data = selfeval_xlsx(result, definition)
    assert data is not None
    sheet = _open(data).active
    assert sheet["A1"].value == "2021年度项目支出绩效自评表"
    values = _all_values(sheet)
    assert definition.project.name in values
    assert "广州市人民政府办公厅" in values  # 主管部门
    # 项目资金: 年度资金总额 and its sources; 年初 350, 全年 348, 执行 348, 分值 10, 执行率 100%, 得分 10
    budget = _find(sheet, "项目资金（万元）")
    assert [sheet.cell(budget, c).value for c in range(3, 9)] == [
        "年初预算数",
        "全年预算数",
        "全年执行数",
        "分值",
        "执行率",
        "得分",
    ]
    assert [sheet.cell(budget + i, 2).value for i in range(1, 5)] == [
        "年度资金总额",
        "其中：财政拨款",
        "上年结转",
        "其他资金",
    ]
    assert [sheet.cell(budget + 1, c).value for c in range(3, 9)] == [350, 348, 348, 10, 1, 10]
    assert [sheet.cell(budget + 2, c).value for c in range(3, 6)] == [350, 348, 348]
    assert [sheet.cell(budget + 3, c).value for c in range(3, 6)] == [0, 0, 0]
    # 年度总体目标: the project's goals beside what was achieved
    goals = _find(sheet, "年度总体目标")
    assert definition.project.goals[0] in sheet.cell(goals + 1, 2).value
    # 绩效指标 rows, then 存在问题, 改进措施, 总分 99
    header = _find(sheet, "一级指标")
    assert sheet.cell(header, 8).value == "偏差原因分析及改进措施"
    problems = _find(sheet, "存在问题")
    assert sheet.cell(problems + 1, 1).value == "改进措施" and sheet.cell(problems + 1, 2).value
    total = _find(sheet, "总分")
    rows = {sheet.cell(r, 2).value: r for r in range(header + 1, problems)}
    assert len(rows) == 8
    assert all(sheet.cell(r, 3).value for r in rows.values()), "三级指标 filled on every row"
    assert sheet.cell(rows["故障响应及时率"], 3).value == "故障限时内响应数÷保障数×100%"
    assert sheet.cell(total, 6).value == 100
    assert sheet.cell(total, 7).value == 99
    mttr = rows["平均故障恢复时间"]
    assert (sheet.cell(mttr, 6).value, sheet.cell(mttr, 7).value) == (10, 9)
    assert "超过 25 分钟时限" in sheet.cell(mttr, 8).value and "改进措施" in sheet.cell(mttr, 8).value
    assert sheet.cell(rows["故障响应及时率"], 8).value == SATISFIED
    # 实际完成值 in the unit of the 年度指标值: a percentage against a percentage target
    for r in rows.values():
        if str(sheet.cell(r, 4).value).endswith("%"):
            assert str(sheet.cell(r, 5).value).endswith("%"), sheet.cell(r, 2).value
    assert sum(sheet.cell(r, 7).value for r in rows.values()) + 10 == 99
    level1 = {sheet.cell(r.min_row, 1).value for r in sheet.merged_cells.ranges if r.min_col == r.max_col == 1}
    assert {"产出", "效益"} <= level1
    _assert_one_page_wide(sheet)


def test_documents_sheet_lists_every_delivered_document(dongguan: tuple[EvaluationResult, Any]) -> None:
    result, book = dongguan
    sheet = book["佐证文件"]
    assert [c.value for c in sheet[1]] == ["序号", "合同", "交付要求", "文件名称", "文档编号", "所属期间", "提交日期"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert [r[4] for r in rows] == [d.reference for d in result.documents]
    assert {r[1] for r in rows} == {"运维服务项目", "运营服务项目"}
    assert [r[0] for r in rows] == list(range(1, len(result.documents) + 1))
    assert all(sheet.row_dimensions[i].height for i in range(2, len(rows) + 2))
