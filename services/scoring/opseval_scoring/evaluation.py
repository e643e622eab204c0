"""The evaluation use case: one project's folded evidence in, its full result out — findings,
scored tree, warnings, budget lines, the monthly view, documents, forecast. `opseval evaluate` (through
`opseval_reporting.pipeline`) and the scoring service call this same function; the only thing they
supply differently is where the findings come from: the CLI runs the rules in-process, the fleet's
scoring service takes the rules service's stored findings — and with them the measurements the rules
service made over the same evidence, which the score tree then does not make again (the same result:
the same measurements). Pure: the as-of date is the ledger's."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal

from opseval_shared.base import CHINA_TZ, DateRange, fewer_collections
from opseval_shared.calendar import WorkCalendar
from opseval_shared.labels import KIND_LABEL
from opseval_shared.ledger import Ledger
from opseval_shared.metrics import MetricContext
from opseval_shared.results import (
    BudgetLine,
    CorrectionRecord,
    EvaluationResult,
    EvidenceDocument,
    EvidenceStats,
    Finding,
    MonthlyDeliverables,
    ScoredIndicator,
    assessed_weight,
    attach_findings,
)
from opseval_shared.values import Measurement, fmt

from .forecast import forecast
from .scoring import score_tree

# The project's findings for a metric context: the rules run in-process, or those already found.
FindingSource = Callable[[MetricContext], Sequence[Finding]]


def evaluate_ledger(
    ledger: Ledger,
    findings: FindingSource,
    work: WorkCalendar | None = None,
    measurements: Mapping[str, Measurement] | None = None,
    calendar_years: Iterable[int] = (),
) -> EvaluationResult:
    """`work` brings the installation's declared calendar (and caches kept between evaluations);
    `measurements`, those already made over this very ledger (the rules service's, by each metric
    ref's canonical JSON): the score tree takes them instead of evaluating those measures again.
    `calendar_years`: the years the calendar was consulted about where they were made, which the
    result's calendar and warnings name as if they had been made here."""
    with fewer_collections():
        return _evaluate_ledger(ledger, findings, work, measurements or {}, calendar_years)


def _evaluate_ledger(
    ledger: Ledger,
    findings: FindingSource,
    work: WorkCalendar | None,
    measurements: Mapping[str, Measurement],
    calendar_years: Iterable[int],
) -> EvaluationResult:
    definition = ledger.definition
    ctx = MetricContext(ledger, work or WorkCalendar(), measurements=measurements)
    ctx.work.consult(calendar_years)
    found = attach_findings(definition.indicators, list(findings(ctx)))
    indicators, total, grade = score_tree(definition.indicators, ctx, found)
    assessable, pending = assessed_weight(indicators)
    return EvaluationResult(
        project=definition.project.id,
        name=definition.project.name,
        form=definition.indicators.form,
        as_of=ledger.as_of,
        total=total,
        grade=grade,
        assessable=assessable,
        pending=pending,
        indicators=indicators,
        findings=tuple(found),
        warnings=tuple(ctx.work.warnings)
        + tuple(
            filter(
                None,
                [outside_period_warning(ledger), interim_warning(ctx), pending_warning(indicators, pending)],
            )
        ),
        calendar=tuple(ctx.work.sources(_years(ledger.evaluation_window))),
        evidence_stats=EvidenceStats(
            events=ledger.events,
            duplicates=ledger.duplicates,
            after_as_of=ledger.after_as_of,
            outside_period=ledger.outside_period,
            corrected=ledger.corrected,
            by_kind=dict(sorted(ledger.by_kind.items())),
        ),
        corrections=correction_records(ledger),
        budget=budget_lines(ledger),
        monthly=monthly_deliverables(ctx),
        documents=evidence_documents(ledger),
        forecast=forecast(definition.indicators, ctx, indicators, total),
    )


def correction_records(ledger: Ledger) -> tuple[CorrectionRecord, ...]:
    return tuple(
        CorrectionRecord(
            event=n.target,
            corrected_by=n.event_id,
            action="retracted" if n.retracts else "superseded",
            reason=n.reason,
            by=n.by,
            source=n.source,
            recorded_at=n.recorded_at,
            in_force=ledger.in_force(n),
            received=ledger.received(n.target),
        )
        for n in ledger.corrections()
    )


def _years(span: DateRange) -> range:
    return range(span.start.year, span.end.year + 1)


def outside_period_warning(ledger: Ledger) -> str | None:
    """What was left out for being about a time outside the evaluation period, in Chinese."""
    if not ledger.outside_period or ledger.outside_span is None:
        return None
    window = ledger.facts_window
    kinds = "、".join(f"{KIND_LABEL.get(k, k)} {n} 条" for k, n in sorted(ledger.outside_by_kind.items()))
    first, last = ledger.outside_span
    about = f"{first}" if first == last else f"{first} 至 {last}"
    return (
        f"{ledger.outside_period} 条佐证材料所涉时间在评价期（{window.start} 至 {window.end}）以外，"
        f"未计入得分和问题：{kinds}；所涉时间 {about}"
    )


def evidence_documents(ledger: Ledger) -> tuple[EvidenceDocument, ...]:
    """Every document submitted against a deliverable, in the contracts' and their deliverables' own
    order, then by date, title and reference (the event id breaks only exact ties)."""
    out: list[EvidenceDocument] = []
    for contract in ledger.definition.contracts.contracts:
        for term in contract.deliverables:
            subs = ledger.submissions.get((contract.id, term.id), [])
            for sub in sorted(subs, key=lambda s: (s.submitted_at, s.title, s.document_ref, s.event_id)):
                out.append(
                    EvidenceDocument(
                        contract=contract.id,
                        deliverable=term.id,
                        title=sub.title,
                        reference=sub.document_ref,
                        submitted=sub.submitted_at.astimezone(CHINA_TZ).date(),
                        period_start=sub.period_start,
                        period_end=sub.period_end,
                        evidence=(sub.event_id,),
                    )
                )
    return tuple(out)


def interim_warning(ctx: MetricContext) -> str | None:
    """Inside the period, counts and annual targets are those due by the as-of date: said once."""
    if not ctx.running:
        return None
    window = ctx.ledger.evaluation_window
    return (
        f"评价基准日（{ctx.ledger.as_of}）早于评价期末（{window.end}）：合同义务、交付物和年度指标值"
        "按截至评价基准日已到期的部分计算，未到期的既不计分也不作为问题，本结果为阶段性结果"
    )


def pending_warning(indicators: tuple[ScoredIndicator, ...], pending: Decimal) -> str | None:
    """The weight not yet assessable, said next to the total so that it is never read as lost points."""
    if not pending:
        return None
    leaves = [n for top in indicators for n in top.walk() if not n.children and n.status in ("pending", "partial")]
    names = "、".join(n.name for n in leaves[:8]) + ("等" if len(leaves) > 8 else "")
    return (
        f"截至评价基准日尚有 {fmt(pending, 3)} 分的指标待评（尚未到期或评价组尚未判定：{names}），"
        f"总分只计已评部分，不代表最终得分"
    )


def monthly_deliverables(ctx: MetricContext) -> tuple[MonthlyDeliverables, ...]:
    """Deliverables due vs delivered (and delivered late) per month of their due date."""
    months: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for contract in ctx.ledger.definition.contracts.contracts:
        for term in contract.deliverables:
            status = ctx.deliverable(contract, term.id)
            late_periods = {item.period.start for _, item, _ in status.late}
            for item in status.due_items:
                row = months[item.due.strftime("%Y-%m")]
                delivered = min(sum(s.quantity for s in status.matched.get(item.period.start, [])), item.required)
                row[0] += item.required
                row[1] += delivered
                row[2] += item.period.start in late_periods
    return tuple(MonthlyDeliverables(month=m, due=v[0], delivered=v[1], late=v[2]) for m, v in sorted(months.items()))


def budget_lines(ledger: Ledger) -> tuple[BudgetLine, ...]:
    contracts = ledger.definition.contracts.contracts
    scopes: list[tuple[str | None, str]] = [(c.id, c.name) for c in contracts]
    if len(contracts) > 1:
        scopes.append((None, "合计"))
    lines = []
    for cid, label in scopes:
        figures: dict[str, Decimal | None] = {}
        for item in ("approved", "adjustment", "arrived", "spent"):
            amount, ids = ledger.budget_sum(item, cid)
            figures[item] = amount if ids else None  # unreported, not zero
        if any(v is not None for v in figures.values()):
            lines.append(BudgetLine(contract=cid, label=label, **figures))
    return tuple(lines)
