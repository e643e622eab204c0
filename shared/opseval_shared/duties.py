"""What a finding stands on (依据): a contract's clause or obligation, cited with its own source where the
contract profile names one, else with the document it comes from by definition and its standard Chinese
wording. One place for that wording, used by the rule language's `basis:` and by the rules still in Python.

`CONTRACT_ITEMS` is the closed set of contract lists a rule's basis can cite an item of (`item: LIST`):
each item has an id a measure's subject names, a source and its duty as the field writes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .base import numbered
from .contract import (
    EVERY,
    AssessmentItemRule,
    Contract,
    DeliverableTerm,
    InspectionPlan,
    PaymentRule,
    PerformanceTarget,
    SurveyDuty,
    TermSource,
)
from .results import Basis
from .values import fmt, pct

BasisKind = Literal["clause", "obligation"]


def cite(kind: BasisKind, source: TermSource | None, document: str, text: str) -> Basis:
    """The term's own source where the contract profile names one; else the document the term
    comes from by definition (the bid's staff list: 投标文件 …) and the term's own wording."""
    if source is None:
        return Basis(kind=kind, document=document, text=text)
    return Basis(kind=kind, document=source.document, clause=source.clause, text=source.text or text)


def deliverable_duty(term: DeliverableTerm) -> str:
    units = f" {term.quantity} 份" if term.quantity > 1 else ""
    if term.schedule:
        return f"提交{term.name}{units}（" + "、".join(f"{item.due} 前" for item in term.schedule) + "）"
    if term.frequency == "once":
        return f"提交{term.name}{units}"
    return f"{EVERY[term.frequency]}提交{term.name}{units}"


def inspection_duty(plan: InspectionPlan) -> str:
    text = f"{plan.name}：{EVERY[plan.frequency]} {plan.times_per_period} 次"
    if plan.done_by is not None:
        text += f"，{plan.done_by.strftime('%H:%M')} 前完成"
    if plan.register_by is not None:
        text += f"，{plan.register_by.strftime('%H:%M')} 前登记"
    elif plan.register_within_days is not None:
        text += f"，{plan.register_within_days} 日内登记"
    return text


def assessment_rule(item: AssessmentItemRule) -> str:
    text = f"“{item.item}”满分 {fmt(item.max_score)} 分"
    if item.per_occurrence is not None:
        text += f"，每次扣 {fmt(item.per_occurrence)} 分"
    if item.max_deduction is not None:
        text += f"，每期最多扣 {fmt(item.max_deduction)} 分"
    if item.allowed_deductions:
        text += "，扣分只能为 " + "、".join(fmt(a) for a in sorted(item.allowed_deductions)) + " 分"
    if item.attendance:
        text += "，按迟到和缺勤次数扣分"
    if item.needs_evidence:
        text += "，扣分须附佐证记录"
    return text


def target_row(row: PerformanceTarget) -> str:
    return f"{row.name}：{row.target}"


def payment_clause(rule: PaymentRule, above: Any) -> str:
    """A payment band's wording; `above` is the next band's threshold (for the band starting at 0)."""
    share = pct(rule.pay_fraction, 0)
    if rule.min_score == 0 and above is not None:
        return f"考核得分低于 {fmt(above)} 分时支付当期费用的 {share}"
    return f"考核得分 {fmt(rule.min_score)} 分及以上支付当期费用的 {share}"


def next_band(contract: Contract, rule: PaymentRule) -> Any:
    """The threshold of the band above one starting at 0 (None: there is none, or the band starts higher)."""
    if rule.min_score != 0:
        return None
    return min((r.min_score for r in contract.payment_rules if r.min_score > 0), default=None)


def survey_duty(duty: SurveyDuty) -> str:
    return duty.description or f"开展{'、'.join(duty.required_levels)}各级用户满意度调查"


# ---------------------------------------------------------------- the contract lists a basis can cite


@dataclass(frozen=True)
class ContractItems:
    """A list of the contract whose items a rule's basis can cite (`item: NAME`)."""

    name: str
    label: str
    document: str  # where an item without a source of its own is written
    items: Callable[[Contract], Sequence[Any]]
    key: Callable[[Any], str]  # the item's id, as a measure's subject names it
    wording: Callable[[Contract, Any], str]

    def cite(self, contract: Contract, kind: BasisKind, subject: str | None = None) -> tuple[Basis, ...]:
        """The item a subject names (`ID`, or `ID@…` for a subject per item and period), or every item
        (in the contract's order). An id an earlier item already has is numbered: ID#2, ID#3 … (two
        survey duties on one survey)."""
        items = self.items(contract)
        keys = numbered(self.key(item) for item in items)
        chosen = [
            item
            for item, key in zip(items, keys, strict=True)
            if subject is None or subject == key or subject.startswith(key + "@")
        ]
        return tuple(cite(kind, item.source, self.document, self.wording(contract, item)) for item in chosen)


CONTRACT_ITEMS: dict[str, ContractItems] = {
    lst.name: lst
    for lst in (
        ContractItems(
            "deliverables",
            "合同交付物",
            "合同",
            lambda c: c.deliverables,
            lambda d: d.id,
            lambda c, d: deliverable_duty(d),
        ),
        ContractItems(
            "inspection_plans",
            "巡检计划",
            "合同",
            lambda c: c.inspections,
            lambda p: p.id,
            lambda c, p: inspection_duty(p),
        ),
        ContractItems(
            "assessment_items",
            "考核细则",
            "考核指标",
            lambda c: c.assessment_items,
            lambda a: a.item,
            lambda c, a: assessment_rule(a),
        ),
        ContractItems(
            "targets",
            "绩效目标表",
            "绩效目标表",
            lambda c: c.performance_targets,
            lambda t: t.name,
            lambda c, t: target_row(t),
        ),
        ContractItems(
            "payment_rules",
            "付款条款",
            "合同",
            lambda c: c.payment_rules,
            lambda r: fmt(r.min_score),
            lambda c, r: payment_clause(r, next_band(c, r)),
        ),
        ContractItems(
            "surveys",
            "满意度调查",
            "合同",
            lambda c: c.surveys,
            lambda s: s.key,
            lambda c, s: survey_duty(s),
        ),
    )
}
