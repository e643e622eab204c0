"""The evaluation itself: ledger in, findings and scored tree out. Pure. The use case lives in
opseval_scoring.evaluation (the scoring service calls it too); `evaluate_ledger` here runs it with
the rules in-process, for the embedded CLI and as-of reports."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from opseval_rules.engine import RulesEngine
from opseval_rules.findings import find
from opseval_scoring import evaluation
from opseval_shared.base import DateRange, end_of_day
from opseval_shared.calendar import WorkCalendar
from opseval_shared.evidence import Evidence
from opseval_shared.ledger import Ledger, MonthEndFold, fold_resolving
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult, TimelinePoint

# Their home is the use case's module now; still importable from here.
budget_lines = evaluation.budget_lines
correction_records = evaluation.correction_records
evidence_documents = evaluation.evidence_documents
interim_warning = evaluation.interim_warning
monthly_deliverables = evaluation.monthly_deliverables
outside_period_warning = evaluation.outside_period_warning
pending_warning = evaluation.pending_warning


def evaluate_ledger(
    ledger: Ledger, engine: RulesEngine | None = None, work: WorkCalendar | None = None
) -> EvaluationResult:
    """The evaluation use case (opseval_scoring.evaluation) with the rules run in-process."""
    return evaluation.evaluate_ledger(ledger, lambda ctx: find(ctx, engine), work)


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
    first: dict[str, Evidence] = {}  # the first event of each id taken in (what the ledger folded)
    for day in days:
        ledger.advance(day)
        upto = bisect_right(known, end_of_day(day))
        # Events whose references no longer resolve are set aside, as fold_all sets them aside for
        # the evaluation itself (a bundle stops on them before it gets here).
        fold_resolving(ledger, ordered[taken:upto])
        for event in ordered[taken:upto]:
            first.setdefault(event.id, event)
        if ledger.unfolds:
            # A correction made by this day names an event folded before it: taken out again.
            ledger.unfold([first[eid] for eid in ledger.to_unfold() if eid in first])
        if ledger.stale:
            # What `unfold` cannot take out exactly: what is known by the day is folded again with
            # that event left out from the start (as fold_all does).
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
