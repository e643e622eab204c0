"""What fell due, what was delivered, what was late: deliverable calendars and inspection plans
measured against the ledger."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime

from .base import DateRange, SortedIds, end_of_day, unique_sorted
from .calendar import WorkCalendar, at, due_at, periods
from .contract import Contract, DeliverableTerm, InspectionPlan
from .derived import kept
from .ledger import Ledger, Submission


@dataclass(frozen=True, slots=True)
class DueItem:
    period: DateRange
    due: datetime
    required: int


@dataclass(slots=True)
class DeliverableStatus:
    contract: str
    term: DeliverableTerm
    due_items: list[DueItem]
    matched: dict[date, list[Submission]] = field(default_factory=dict)
    late: list[tuple[Submission, DueItem, int]] = field(default_factory=list)
    unmatched: list[Submission] = field(default_factory=list)

    @property
    def required_units(self) -> int:
        return sum(d.required for d in self.due_items)

    @property
    def delivered_units(self) -> int:
        return sum(min(self._units(d), d.required) for d in self.due_items)

    def _units(self, item: DueItem) -> int:
        return sum(s.quantity for s in self.matched.get(item.period.start, []))

    @property
    def missing(self) -> list[DueItem]:
        return [d for d in self.due_items if self._units(d) < d.required]

    @property
    def submitted_units(self) -> int:
        return sum(s.quantity for subs in self.matched.values() for s in subs) + sum(s.quantity for s in self.unmatched)

    @property
    def evidence(self) -> SortedIds:
        ids = [s.event_id for subs in self.matched.values() for s in subs]
        return unique_sorted(ids + [s.event_id for s in self.unmatched])

    @property
    def on_time_units(self) -> int:
        late_ids = {s.event_id for s, _, _ in self.late}
        return sum(
            min(sum(s.quantity for s in self.matched.get(d.period.start, []) if s.event_id not in late_ids), d.required)
            for d in self.due_items
        )


def _periods_in_window(
    term: DeliverableTerm, contract: Contract, ledger: Ledger, work: WorkCalendar
) -> list[tuple[DateRange, datetime]]:
    """Each period of a deliverable term that overlaps the evaluation period, with its due moment."""
    if term.schedule:
        candidates = [(s.period, at(s.due, s.due_time)) for s in term.schedule]
    else:
        spans = periods(term.frequency, term.anchor, contract.service_period, ledger.evaluation_window, work)
        candidates = [(p, due_at(p, term.due, work)) for p in spans]
    window = ledger.evaluation_window
    return [(p, due) for p, due in candidates if p.start <= window.end and p.end >= window.start]


def due_items(term: DeliverableTerm, contract: Contract, ledger: Ledger, work: WorkCalendar) -> list[DueItem]:
    """Periods of a deliverable term that fell due by the as-of moment."""
    return [
        DueItem(period, due, term.quantity)
        for period, due in _periods_in_window(term, contract, ledger, work)
        if due <= ledger.cutoff
    ]


def items_still_due(term: DeliverableTerm, contract: Contract, ledger: Ledger, work: WorkCalendar) -> int:
    """Units of a deliverable term that fall due in the evaluation period after the as-of moment."""
    return sum(term.quantity for _, due in _periods_in_window(term, contract, ledger, work) if due > ledger.cutoff)


def deliverable_status(
    ledger: Ledger, contract: Contract, term: DeliverableTerm, work: WorkCalendar
) -> DeliverableStatus:
    # The periods due and the one each document answers change only with the as-of moment, the terms
    # and the calendar (and the document, which the fold never replaces): kept with the ledger.
    key = (contract.id, term.id)
    inputs = (work.answers, contract, term, ledger.cutoff)
    items = ledger.derived.value(("due_items", *key), inputs, due_items, term, contract, ledger, work)
    matches = ledger.derived.table(("matched", *key), (items,))
    status = DeliverableStatus(contract.id, term, items)
    by_start = {d.period.start: d for d in items}
    for sub in sorted(ledger.submissions.get(key, []), key=lambda s: (s.submitted_at, s.event_id)):
        item = kept(matches, sub.event_id, (sub,), _match, sub, items)
        if item is None:
            status.unmatched.append(sub)
            continue
        status.matched.setdefault(item.period.start, []).append(sub)
        if sub.submitted_at > item.due:
            minutes = int((sub.submitted_at - item.due).total_seconds() // 60)
            status.late.append((sub, by_start[item.period.start], minutes))
    return status


def _match(sub: Submission, items: list[DueItem]) -> DueItem | None:
    if sub.period_start is not None or sub.period_end is not None:
        start = sub.period_start or sub.period_end
        end = sub.period_end or sub.period_start
        assert start is not None and end is not None
        middle = start + (end - start) / 2
        return next((d for d in items if d.period.contains(middle)), None)
    day = sub.submitted_at.date()
    containing = next((d for d in items if d.period.contains(day)), None)
    earlier = [d for d in items if d.period.end < day]
    if containing is not None and (containing.period.days == 1 or not earlier):
        return containing
    return earlier[-1] if earlier else containing


@dataclass(slots=True)
class InspectionStatus:
    contract: str
    plan: InspectionPlan
    periods: list[DateRange]
    done_per_period: list[int]
    ids: SortedIds
    late_done: SortedIds
    late_registered: SortedIds
    late_per_period: list[int] = field(default_factory=list)  # inspections done or registered late, each once

    @property
    def planned(self) -> int:
        return len(self.periods) * self.plan.times_per_period

    @property
    def done(self) -> int:
        return sum(min(n, self.plan.times_per_period) for n in self.done_per_period)

    @property
    def short_periods(self) -> list[tuple[DateRange, int]]:
        return [
            (p, n) for p, n in zip(self.periods, self.done_per_period, strict=True) if n < self.plan.times_per_period
        ]


def inspection_status(ledger: Ledger, contract: Contract, plan: InspectionPlan, work: WorkCalendar) -> InspectionStatus:
    spans = [
        p
        for p in periods(plan.frequency, plan.anchor, contract.service_period, ledger.evaluation_window, work)
        if end_of_day(p.end) <= ledger.cutoff
    ]
    log = ledger.inspections.get((contract.id, plan.id))
    return InspectionStatus(
        contract.id,
        plan,
        spans,
        _per_span(log.per_day if log else {}, spans),
        unique_sorted(log.ids if log else ()),
        unique_sorted(log.late_done if log else ()),
        unique_sorted(log.late_registered if log else ()),
        _per_span(log.late_per_day if log else {}, spans),
    )


def _per_span(per_day: dict[int, int], spans: list[DateRange]) -> list[int]:
    """Counts per day (by ordinal) summed per span; the spans in order, none overlapping (`periods`):
    each day is placed once, not every day tried against every span."""
    starts = [s.start.toordinal() for s in spans]
    ends = [s.end.toordinal() for s in spans]
    out = [0] * len(spans)
    for ordinal, n in per_day.items():
        i = bisect_right(starts, ordinal) - 1
        if i >= 0 and ordinal <= ends[i]:
            out[i] += n
    return out


def service_workdays(ledger: Ledger, contract: Contract, work: WorkCalendar) -> list[date]:
    """Working days the contract was in service, up to as-of."""
    end = min(contract.service_period.end, ledger.as_of)
    if end < contract.service_period.start:
        return []
    return work.workdays(DateRange(start=contract.service_period.start, end=end))
