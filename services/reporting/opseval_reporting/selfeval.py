"""The 项目支出绩效自评表 as data, laid out by ``xlsx.selfeval_xlsx`` and ``selfeval_docx.selfeval_docx``.

The official layout (财政部 项目支出绩效自评表, as seed 001 fills it in), 8 columns:

* 项目名称; 主管部门 and 实施单位;
* 项目资金（万元）: 年初预算数 / 全年预算数 / 全年执行数 / 分值 / 执行率 / 得分 for 年度资金总额 and its
  sources 其中：财政拨款, 上年结转, 其他资金;
* 年度总体目标: 预期目标 beside 实际完成情况;
* 绩效指标: 一级 / 二级 / 三级指标, 年度指标值, 实际完成值 (in the unit of the 指标值), 分值, 得分,
  偏差原因分析及改进措施; where the indicator system stops at two levels, the leaf is the 二级指标 and its
  definition (the indicator's ``description``, e.g. "故障限时内响应数÷保障数×100%") the 三级指标, as seed 001;
* 存在问题, 改进措施, 总分.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from opseval_shared.metrics import pct
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import BudgetLine, EvaluationResult, Finding, ScoredIndicator

from .content import ADVICE, DASH, _contract_names, _flat, _leaves, polish, sentence

SATISFIED = "已按要求执行，达到指标要求。"
COLUMNS = 8
BUDGET_HEADER = ("", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分")
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
FUNDS_NOTE = "注：佐证材料中的项目资金均为当年财政拨款，上年结转和其他资金按 0 填列。"


@dataclass(frozen=True)
class BudgetRow:
    label: str
    approved: Decimal | None  # 年初预算数
    adjusted: Decimal | None  # 全年预算数（调整后）
    spent: Decimal | None  # 全年执行数
    scored: bool  # 分值 / 执行率 / 得分 are shown on this row (年度资金总额)


@dataclass(frozen=True)
class IndicatorRow:
    level1: str
    level2: str
    level3: str
    target: str  # 年度指标值
    actual: str  # 实际完成值
    weight: Decimal  # 分值
    score: Decimal  # 得分
    remark: str  # 偏差原因分析及改进措施


@dataclass(frozen=True)
class SelfEvalForm:
    title: str
    name: str
    department: str
    agency: str
    budget: tuple[BudgetRow, ...]
    budget_weight: Decimal | None
    budget_rate: Decimal | None
    budget_score: Decimal | None
    goals: str
    done: str
    indicators: tuple[IndicatorRow, ...]
    problems: str
    measures: str
    total_weight: Decimal
    total: Decimal
    grade: str
    note: str


def _adjusted(line: BudgetLine) -> Decimal | None:
    return line.approved + (line.adjustment or Decimal(0)) if line.approved is not None else None


def budget_leaf(result: EvaluationResult) -> ScoredIndicator | None:
    """The indicator scoring budget execution: a top-level leaf (预算执行率), when the form has one."""
    return next((t for t in result.indicators if not t.children), None)


_RATE_TAIL = re.compile(r"=\s*([\d.]+%)\s*$")


def actual_like_target(leaf: ScoredIndicator) -> str:
    """实际完成值 in the unit of the 年度指标值: "24/24 = 100.00%" → "100.00%"; a judged "10 分" against a
    percentage target → the leaf's score rate."""
    actual = (leaf.actual or "").strip()
    if not actual:
        return DASH
    match = _RATE_TAIL.search(actual)
    if match and "；" not in actual:
        return match.group(1)
    if (leaf.target or "").strip().endswith("%") and "%" not in actual:
        return pct(leaf.rate)
    return actual


def _advice(f: Finding) -> str:
    return f.advice.strip() or ADVICE.get(f.rule.split(".")[0], "")


def _remark(leaf: ScoredIndicator, findings: dict[str, Finding], contracts: dict[str, str]) -> str:
    related = [findings[i] for i in (leaf.findings or ()) if i in findings]
    if not related and leaf.score >= leaf.weight:
        return SATISFIED
    if related:
        causes = "；".join(polish(f.message, contracts).rstrip("。") for f in related)
    else:
        causes = polish(leaf.explanation or "未达到指标要求", contracts).rstrip("。")
        causes = re.sub(r"^【[^】]+】", "", causes)
    measures = list(dict.fromkeys(a for a in (_advice(f) for f in related) if a))
    text = f"偏差原因：{causes}。"
    text += f"改进措施：{sentence(measures[0])}" if measures else "改进措施：对照指标值查找差距，落实整改。"
    return text


def selfeval_form(result: EvaluationResult, definition: ProjectDefinition) -> SelfEvalForm:
    project = definition.project
    year = project.evaluation.period.start.year
    contracts = _contract_names(definition)
    described = {leaf.id: leaf.description.strip() for leaf in definition.indicators.leaves()}

    total_line = next((b for b in result.budget if b.contract is None), None)
    if total_line is None and result.budget:
        total_line = result.budget[-1]
    approved = total_line.approved if total_line else None
    adjusted = _adjusted(total_line) if total_line else None
    spent = total_line.spent if total_line else None
    zero = Decimal(0) if total_line else None
    budget = (
        BudgetRow("年度资金总额", approved, adjusted, spent, scored=True),
        BudgetRow("其中：财政拨款", approved, adjusted, spent, scored=False),
        BudgetRow("上年结转", zero, zero, zero, scored=False),
        BudgetRow("其他资金", zero, zero, zero, scored=False),
    )
    leaf = budget_leaf(result)
    rate: Decimal | None = leaf.rate if leaf else None
    if rate is None and adjusted and spent is not None:
        rate = spent / adjusted

    goals = "\n".join(f"{i}.{g}" for i, g in enumerate(project.goals, start=1)) or "（未提供）"
    tops = tuple(t for t in result.indicators if t.children)  # the budget leaf is in the 项目资金 block
    leaves = [x for top in tops for x in _leaves(top)]
    done = "\n".join(
        f"{i}.{x.name}：{actual_like_target(x)}" + (f"（年度指标值{polish(x.target, contracts)}）" if x.target else "")
        for i, x in enumerate(leaves, start=1)
    )

    findings = {f.id: f for f in result.findings}
    rows: list[IndicatorRow] = []
    for level1, level2, level3, x in _flat(tops):
        if not level3:  # a two-level system: the leaf is the 二级指标, its definition the 三级指标
            level2, level3 = x.name, described.get(x.id) or x.name
        rows.append(
            IndicatorRow(
                level1,
                level2,
                level3,
                polish(x.target, contracts) if x.target else DASH,
                polish(actual_like_target(x), contracts),
                x.weight,
                x.score,
                _remark(x, findings, contracts),
            )
        )

    problems = "；".join(dict.fromkeys(polish(f.message, contracts).rstrip("。") for f in result.findings))
    measures = list(dict.fromkeys(a for a in (_advice(f) for f in result.findings) if a))
    return SelfEvalForm(
        title=f"{year}年度项目支出绩效自评表",
        name=project.name,
        department=project.department or project.agency,
        agency=project.agency,
        budget=budget,
        budget_weight=leaf.weight if leaf else None,
        budget_rate=rate,
        budget_score=leaf.score if leaf else None,
        goals=goals,
        done=done or DASH,
        indicators=tuple(rows),
        problems=(problems + "。") if problems else "无。",
        measures="\n".join(f"{i}.{sentence(m)}" for i, m in enumerate(measures, start=1)) or "继续保持。",
        total_weight=sum((t.weight for t in result.indicators), Decimal(0)),
        total=result.total,
        grade=result.grade,
        note=FUNDS_NOTE if total_line else "注：佐证材料未提供项目资金数据。",
    )


def money(value: Decimal | None) -> str:
    return DASH if value is None else format(value.quantize(Decimal("0.01")), "f")


def score_text(value: Decimal | None) -> str:
    """分值 and 得分 as the form writes them: two decimals (15.00, 9.00), as seed 001."""
    return DASH if value is None else format(value.quantize(Decimal("0.01")), "f")
