"""How the report writes what the evaluation computed: dates as 年月日, contracts by name, ≤/≥, one
decimal count per number column, report dates of a month or a day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from opseval_reporting.content import Table, cn_date, cn_report_date, column, column_widths, polish


def test_dates_are_written_as_year_month_day() -> None:
    assert cn_date(date(2022, 1, 1)) == "2022年1月1日"
    assert cn_report_date("2024-04") == "2024年4月"
    assert cn_report_date("2023-05-31") == "2023年5月31日"


def test_polish_names_contracts_and_writes_dates_and_comparisons_as_evaluators_do() -> None:
    contracts = {"ops": "运维服务项目", "operation": "运营服务项目"}
    text = "ops：152.4/152.4 = 100.00%；operation：49.2/49.63 = 99.14%，目标 <=10.00%，缺 2022-08-31~2022-12-31"
    assert polish(text, contracts) == (
        "运维服务项目：152.4/152.4 = 100.00%；运营服务项目：49.2/49.63 = 99.14%，目标 ≤10.00%，"
        "缺 2022年8月31日至2022年12月31日"
    )
    # an id inside a word or a path is not a contract reference
    assert polish("opsteam 与 devops：x", contracts) == "opsteam 与 devops：x"
    assert polish("未在服务期（2022-09-07 起）全程驻场", {}) == "未在服务期（2022年9月7日起）全程驻场"
    assert polish("应于 2024-04-08 18:00 前提交", {}) == "应于 2024年4月8日 18:00 前提交"  # a time keeps its space
    assert polish("验收 4 次，通过 4 次 得分保留 2 位小数：4。", {}) == "验收 4 次，通过 4 次。得分保留 2 位小数：4。"


def test_a_number_column_shows_one_decimal_count() -> None:
    assert column([Decimal("7.25"), Decimal("23.925"), Decimal("30")]) == ["7.250", "23.925", "30.000"]
    assert column([Decimal(10), Decimal(30)]) == ["10", "30"]
    assert column([Decimal("508"), None, Decimal("196.8")], most=4, least=2) == ["508.00", "—", "196.80"]


def test_long_text_columns_give_way_before_short_ones() -> None:
    table = Table(
        ["合同", "服务商", "服务期"],
        [["运维服务项目", "开普云信息科技股份有限公司" * 3, "2022年8月31日至2023年8月30日"]],
    )
    widths = column_widths(table, available=40.0, em=1.0, padding=0.0)
    assert abs(sum(widths) - 40.0) < 0.01
    assert widths[0] == 6.0  # the short column keeps its one line
    assert widths[1] < 39  # the longest column wraps


def test_nowrap_columns_keep_their_width() -> None:
    names = ["资金管理制度完善性", "运维服务驻场服务完成率"]
    table = Table(["三级指标", "说明"], [[n, "很长的说明文字" * 8] for n in names], nowrap=(0,))
    widths = column_widths(table, available=30.0, em=1.0, padding=0.0)
    assert widths[0] >= len(names[1])


def test_when_headers_alone_overflow_the_longest_indicator_name_wraps_not_every_column() -> None:
    # the score table inside the period: 7 columns, the widest indicator name too long for one line
    # once the other text columns are down to their headers
    table = Table(
        ["一级指标", "二级指标", "三级指标", "权重", "得分", "得分率", "评价状态"],
        [
            ["决策", "可持续性影响", "政数局对供应商项目实施的满意度", "1.0", "0.00", "100.00%", "部分已评"],
            ["决策", "项目立项", "立项依据充分性", "2.0", "0.00", "0.00%", "待评"],
        ],
        nowrap=(2,),
    )
    widths = column_widths(table, available=34.0, em=1.0, padding=0.0)  # 37.55 on one line each
    assert abs(sum(widths) - 34.0) < 0.01
    assert widths[0] == 4.0 and widths[1] == 4.0 and widths[6] == 4.0  # headers and 部分已评 on one line
    assert widths[3] == 2.0 and widths[5] == 4.55  # numbers keep their line
    assert len("立项依据充分性") <= widths[2] < len("政数局对供应商项目实施的满意度")  # only the longest name wraps
