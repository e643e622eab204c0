"""What an evaluation produces: findings and the scored indicator tree."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import Field

from .base import EvidenceIds, Frozen, Num
from .holidays import CalendarYear
from .indicators import Indicator, IndicatorSystem

Severity = Literal["high", "medium", "low"]

# How far an indicator could be assessed at the as-of date:
# scored: assessed on its evidence (final at the period's end, or a judgment made);
# partial: part of it assessed (some points judged, or facts of a period still running);
# pending: nothing due yet, or a judgment not made yet — its weight is left out, never scored 0;
# no_evidence: something was due and nothing arrived — scored by its rule (never above 0) and flagged.
Status = Literal["scored", "partial", "pending", "no_evidence"]
STATUS_LABEL: dict[str, str] = {"scored": "已评", "partial": "部分已评", "pending": "待评", "no_evidence": "无佐证"}


class Basis(Frozen):
    """What a finding stands on besides evidence (依据): a document's clause, or an obligation.

    `clause`: the wording itself is the problem (a payment rule that pays in full at 80 points).
    `obligation`: what the document demands, against which the evidence fell short — or of which
    no proof arrived at all.
    """

    kind: Literal["clause", "obligation"]
    document: str = Field(description="合同 / 投标文件 / 招标文件 / 考核指标 / 绩效目标表 / 工作计划 …")
    clause: str | None = Field(default=None, description="where in the document: 第5.2条, 商务部分 9.2 节 …")
    text: str = Field(description="the clause or the obligation, in Chinese")


class Finding(Frozen):
    """A compliance finding (存在的问题) with what it stands on: the evidence behind it and/or the
    clause or obligation (basis) it is measured against. A finding without evidence has a basis."""

    id: str
    rule: str
    indicator: str | None = None
    contract: str | None = None
    severity: Severity
    message: str
    measured: str
    required: str
    evidence: EvidenceIds = ()
    basis: tuple[Basis, ...] = Field(default=(), description="the clauses or obligations the finding stands on")
    domain_ref: int | None = Field(default=None, description="row of the field's finding table (DOMAIN.md)")
    cause: str = Field(default="", description="原因分析: why such a finding usually arises (the rule's text)")
    advice: str = Field(default="", description="建议: what the rule advises the unit to do")


class ScoredIndicator(Frozen):
    id: str
    name: str
    weight: Num
    score: Num
    rate: Num
    children: tuple[ScoredIndicator, ...] = ()
    method: str | None = None
    target: str | None = None
    actual: str | None = None
    explanation: str | None = None
    evidence: EvidenceIds | None = None
    findings: tuple[str, ...] | None = None
    status: Status = "scored"
    assessable: Num | None = Field(
        default=None, description="the part of the weight assessable at the as-of date (the score is earned of it)"
    )

    def walk(self) -> list[ScoredIndicator]:
        """This indicator and every one below it, depth first (as Indicator.walk)."""
        out: list[ScoredIndicator] = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


class EvidenceStats(Frozen):
    events: int = 0
    duplicates: int = 0
    after_as_of: int = 0
    outside_period: int = Field(default=0, description="events about a time outside the evaluation period, left out")
    other_project: int = 0
    corrected: int = Field(default=0, description="events left out because another event corrected or retracted them")
    by_kind: dict[str, int] = Field(default_factory=dict)


class CorrectionRecord(Frozen):
    """An event corrected (superseded) or retracted, with the event that did it, why and who: the
    evidence trail keeps both."""

    event: str = Field(description="the event corrected or retracted")
    corrected_by: str = Field(description="the event that corrects or retracts it")
    action: Literal["superseded", "retracted"]
    reason: str
    by: str | None = Field(default=None, description="who made the correction, as its event states it")
    source: str = Field(description="the system that sent the correcting event")
    recorded_at: datetime
    in_force: bool = Field(description="false when a later correction of the same event replaced this one")
    received: bool = Field(description="whether the event it names was received at all")


class BudgetLine(Frozen):
    """Funds of one contract (or the whole project, contract None), 万元."""

    contract: str | None
    label: str
    approved: Num | None = None
    adjustment: Num | None = None
    arrived: Num | None = None
    spent: Num | None = None


class MonthlyDeliverables(Frozen):
    """Deliverables that fell due in one month (by due date), across the project's contracts."""

    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    due: int
    delivered: int
    late: int


class EvidenceDocument(Frozen):
    """A document delivered as evidence (a deliverable's submission), for the 佐证材料清单."""

    contract: str
    deliverable: str = Field(description="the contract's deliverable term (id)")
    title: str
    reference: str = Field(description="文档编号 or where the document is kept (document_ref)")
    submitted: date
    period_start: date | None = None
    period_end: date | None = None
    evidence: tuple[str, ...] = Field(description="the evidence event it came with")


class LeafForecast(Frozen):
    """One leaf's year-end outlook: where it stands, where it ends if current rates hold, the range
    its unknown part allows, and what would recover the points still recoverable."""

    id: str
    name: str
    status: Status
    score: Num
    projected: Num = Field(description="at the period's end if current rates hold (pending part at the mean rate)")
    low: Num = Field(description="pending part earning nothing")
    high: Num = Field(description="pending part in full, and what remains done as required")
    recoverable: Num = Field(description="points still recoverable above the projection (high − projected)")
    action: str = Field(description="the evidence or work that would recover them, in Chinese")


class Forecast(Frozen):
    """The projected total at the period's end under stated assumptions; equal to the result once the
    period is over and every leaf is scored."""

    period_end: date
    elapsed: Num = Field(description="share of the evaluation period elapsed at the as-of date")
    total: Num
    grade: str
    low: Num
    high: Num
    grade_low: str
    grade_high: str
    assumptions: tuple[str, ...] = ()
    leaves: tuple[LeafForecast, ...] = Field(default=(), description="leaves with points still open, most first")


class TimelinePoint(Frozen):
    """The evaluation as of one month's end (and the as-of date itself, last)."""

    as_of: date
    total: Num
    grade: str
    assessable: Num
    pending: Num
    findings: int


class EvaluationResult(Frozen):
    project: str
    name: str
    form: str
    as_of: date
    total: Num
    grade: str
    assessable: Num | None = Field(
        default=None, description="weight assessable at the as-of date; the total is earned of it"
    )
    pending: Num | None = Field(default=None, description="weight not yet assessable (nothing due, no judgment yet)")
    indicators: tuple[ScoredIndicator, ...]
    findings: tuple[Finding, ...]
    warnings: tuple[str, ...] = ()
    evidence_stats: EvidenceStats = EvidenceStats()
    corrections: tuple[CorrectionRecord, ...] = ()
    budget: tuple[BudgetLine, ...] = ()
    monthly: tuple[MonthlyDeliverables, ...] = ()
    documents: tuple[EvidenceDocument, ...] = Field(
        default=(), description="the documents delivered as evidence, by contract, deliverable and date"
    )
    forecast: Forecast | None = None
    timeline: tuple[TimelinePoint, ...] = Field(
        default=(), description="the score at each month's end over the period, when asked for (--series month)"
    )
    calendar: tuple[CalendarYear, ...] = Field(
        default=(),
        description="where each year's holidays and 调休 came from (the evaluation's years and any consulted)",
    )


def assessed_weight(indicators: tuple[ScoredIndicator, ...]) -> tuple[Decimal, Decimal]:
    """(weight assessable at the as-of date, weight still pending) of a scored tree."""
    assessable = sum((i.assessable if i.assessable is not None else i.weight for i in indicators), Decimal(0))
    return assessable, sum((i.weight for i in indicators), Decimal(0)) - assessable


def bears_on(leaf: Indicator, finding: Finding) -> bool:
    """Whether a finding bears on an indicator leaf: its rule matches one of the leaf's rule
    patterns, and it is of the leaf's contract (or of none)."""
    return any(fnmatchcase(finding.rule, pattern) for pattern in leaf.rules) and (
        leaf.contract is None or finding.contract in (None, leaf.contract)
    )


def attach_findings(system: IndicatorSystem, findings: list[Finding]) -> list[Finding]:
    """Name, on each finding, the first leaf it bears on."""
    leaves = system.leaves()
    out = []
    for f in findings:
        leaf = next((n for n in leaves if bears_on(n, f)), None)
        # no leaf lists the rule: keep the leaf the rule itself names, if it names one
        out.append(f.model_copy(update={"indicator": leaf.id if leaf else f.indicator}))
    return out
