"""The evaluation itself: ledger in, findings and scored tree out. Pure; the embedded CLI and
the fleet's services call this same code."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from opseval_rules.engine import RulesEngine
from opseval_rules.findings import find
from opseval_scoring.forecast import forecast
from opseval_scoring.scoring import score_tree
from opseval_shared.base import CHINA_TZ, DateRange, end_of_day
from opseval_shared.calendar import WorkCalendar
from opseval_shared.evidence import Evidence
from opseval_shared.ledger import Ledger, MonthEndFold, fold_resolving
from opseval_shared.metrics import MetricContext
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import (
    BudgetLine,
    CorrectionRecord,
    EvaluationResult,
    EvidenceDocument,
    EvidenceStats,
    MonthlyDeliverables,
    ScoredIndicator,
    TimelinePoint,
    assessed_weight,
    attach_findings,
)
from opseval_shared.values import fmt

from .content import KIND_LABEL


def evaluate_ledger(
    ledger: Ledger, engine: RulesEngine | None = None, work: WorkCalendar | None = None
) -> EvaluationResult:
    """`work` brings the installation's declared calendar (and caches kept between evaluations)."""
    definition = ledger.definition
    ctx = MetricContext(ledger, work or WorkCalendar())
    findings = attach_findings(definition.indicators, find(ctx, engine))
    indicators, total, grade = score_tree(definition.indicators, ctx, findings)
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
        findings=tuple(findings),
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


def month_ends(period: DateRange, as_of: date) -> list[date]:
    """Each month's last day within the period up to the as-of date, then the as-of date itself."""
    out: list[date] = []
    first = period.start.replace(day=1)
    while True:
        following = (first + timedelta(days=32)).replace(day=1)
        end = min(following - timedelta(days=1), period.end)
        if end > as_of:
            break
        out.append(end)
        if end >= period.end:
            break
        first = following
    if not out or out[-1] != as_of:
        out.append(as_of)
    return out


def evaluate_series(
    definition: ProjectDefinition,
    events: Sequence[Evidence],
    as_of: date,
    engine: RulesEngine | None = None,
    work: WorkCalendar | None = None,
) -> tuple[TimelinePoint, ...]:
    """The score at each month's end over the period (and at the as-of date, last): the evaluation of
    the same evidence as of each date, so the last point is the result itself."""
    work = work or WorkCalendar()
    days = month_ends(definition.project.evaluation.period, as_of)
    # Each event folded once into its month's ledger, the months absorbed one after another (no sort).
    fold = MonthEndFold(definition, days)
    fold_resolving(fold, events)
    if not fold.has_corrections:
        return tuple(timeline_point(day, evaluate_ledger(ledger, engine, work)) for day, ledger in fold.at())
    del fold
    points = []
    # With corrections: the evidence folded in the order of the later of its two moments, each month's
    # end adding what became known by then to the same ledger, folded again when a correction needs it.
    ordered = sorted(events, key=_known_at)
    known = [_known_at(e) for e in ordered]
    ledger = Ledger(definition, days[0])
    taken = 0
    for day in days:
        ledger.advance(day)
        upto = bisect_right(known, end_of_day(day))
        # Events whose references no longer resolve are set aside, as fold_all sets them aside for
        # the evaluation itself (a bundle stops on them before it gets here).
        fold_resolving(ledger, ordered[taken:upto])
        if ledger.stale:
            # A correction made by this day names an event folded before it: what is known by the day
            # is folded again with that event left out from the start (as fold_all does).
            ledger = Ledger(definition, day, ledger.left_out)
            fold_resolving(ledger, ordered[:upto])
        taken = upto
        points.append(timeline_point(day, evaluate_ledger(ledger, engine, work)))
    return tuple(points)


def timeline_point(day: date, result: EvaluationResult) -> TimelinePoint:
    """One point of a timeline: the evaluation as of `day`."""
    return TimelinePoint(
        as_of=day,
        total=result.total,
        grade=result.grade,
        assessable=result.assessable or Decimal(0),
        pending=result.pending or Decimal(0),
        findings=len(result.findings),
    )


def _known_at(event: Evidence) -> datetime:
    return max(event.occurred_at, event.recorded_at)


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
