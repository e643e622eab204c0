"""Facts derived from single ledger records and kept with the ledger between evaluations
(opseval_shared.derived): the evaluation of a ledger kept and folded on batch after batch, as the
services keep it, is the evaluation of a ledger folded afresh from every event — every measure with
its records, the findings and the result, byte for byte — whatever the batch brings: a new fault, a
newer event for a ticket, a correction or a retraction, an earlier clock-in of a day, a later as-of
date, another calendar."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from itertools import pairwise
from typing import Any

import pytest
from domainbuilders import contract, definition, event, folded_afresh, leaf
from hypothesis import given, settings
from hypothesis import strategies as st
from opseval_rules.findings import find
from opseval_scoring.evaluation import evaluate_ledger
from opseval_shared.base import unique_sorted
from opseval_shared.calendar import WorkCalendar
from opseval_shared.evidence import Evidence
from opseval_shared.holidays import HolidayCalendar
from opseval_shared.indicators import MetricRef
from opseval_shared.ledger import EvidenceReferenceError, Ledger
from opseval_shared.metrics import MetricContext
from opseval_shared.sources import Record
from opseval_shared.values import MetricError

OPS = contract(
    # 5x8: the SLA clock runs 09:00–17:00 on working days, so the calendar is one of its inputs
    slas=[{"severity": "P1", "response_minutes": 30, "on_site_minutes": 120, "resolve_minutes": 240, "window": "5x8"}],
    staffing={
        "committed": [{"name": "张三", "role": "工程师"}, {"name": "李四", "role": "工程师"}],
        "working_hours": {"start": "08:30", "end": "17:30"},
        "grace_minutes": 5,
        "min_on_site": 2,
    },
    deliverables=[{"id": "monthly", "name": "运维月报", "frequency": "monthly", "due": {"working_days": 5}}],
    inspections=[{"id": "daily", "name": "日常巡检", "frequency": "daily", "done_by": "10:00"}],
)
BANDS = [{"min": "0.9", "fraction": "1"}, {"min": "0.5", "fraction": "0.5"}]
DEFINITION = definition(
    [
        leaf("faults", "30", {"type": "rate", "metric": {"name": "incidents.in_time_rate"}, "bands": BANDS}),
        leaf("j", "70", {"type": "judgment"}),
    ],
    [OPS],
    as_of="2024-06-28",  # a Friday
)
FIRST_DAY = date(2024, 6, 28)
LATER_DAY = date(2024, 7, 8)  # the June report (due on the 5th working day of July) has fallen due
# 2024 declared with 2024-06-03 (a Monday) a local holiday: no lateness, no SLA clock that day.
LOCAL_HOLIDAY = HolidayCalendar.model_validate(
    {
        "years": [
            {
                "year": 2024,
                "holidays": [
                    {"name": "元旦", "start": "2024-01-01"},
                    {"name": "春节", "start": "2024-02-10", "end": "2024-02-17"},
                    {"name": "清明节", "start": "2024-04-04", "end": "2024-04-06"},
                    {"name": "劳动节", "start": "2024-05-01", "end": "2024-05-05"},
                    {"name": "端午节", "start": "2024-06-10"},
                    {"name": "地方假日", "start": "2024-06-03"},
                    {"name": "中秋节", "start": "2024-09-15", "end": "2024-09-17"},
                    {"name": "国庆节", "start": "2024-10-01", "end": "2024-10-07"},
                ],
            }
        ]
    }
)


def _at(day: str, clock: str) -> str:
    return f"2024-{day}T{clock}:00+08:00"


def _incident(
    eid: str, ticket: str, opened: str, recorded: str | None = None, corrects: str | None = None, **times: str
) -> Evidence:
    payload: dict[str, Any] = {"ticket": ticket, "severity": "P1", **{k: _at(*v.split()) for k, v in times.items()}}
    recorded_at = recorded and _at(*recorded.split())
    return event(eid, "incident", payload, at=_at(*opened.split()), recorded=recorded_at, corrects=corrects)


def _clock(eid: str, staff: str, when: str) -> Evidence:
    return event(eid, "clock_in", {"staff": staff}, at=_at(*when.split()))


def _report(eid: str, month: int, submitted: str) -> Evidence:
    last = {4: 30, 5: 31, 6: 30}[month]
    payload = {
        "deliverable": "monthly",
        "title": f"{month}月运维月报",
        "period_start": f"2024-{month:02d}-01",
        "period_end": f"2024-{month:02d}-{last}",
        "document_ref": f"docs/{month}.pdf",
    }
    return event(eid, "deliverable_submitted", payload, at=_at(*submitted.split()))


ROSTER = [
    event("r1", "roster_entry", {"name": "张三", "role": "工程师"}, at=_at("01-02", "09:00")),
    event("r2", "roster_entry", {"name": "李四", "role": "工程师"}, at=_at("01-02", "09:00")),
]
# Within every limit.
T1 = _incident(
    "i1", "T1", "06-03 10:00", responded_at="06-03 10:20", on_site_at="06-03 11:00", resolved_at="06-03 12:00"
)
# The same ticket, recorded later: resolved at 16:30, 390 minutes in the window, over the 240.
T1_NEWER = _incident(
    "i1b",
    "T1",
    "06-03 10:00",
    recorded="06-04 09:00",
    responded_at="06-03 10:20",
    on_site_at="06-03 11:00",
    resolved_at="06-03 16:30",
)
# Open at the first as-of date: 60 minutes by its end (response breached only), 3,000 by the later one.
T2_OPEN = _incident("i2", "T2", "06-28 16:00")
T3 = _incident("i3", "T3", "06-11 09:00", responded_at="06-11 09:10", resolved_at="06-11 09:30")
# Opened after the first as-of date: held back until the date moves.
T4_LATER = _incident("i4", "T4", "07-02 09:00", responded_at="07-02 09:05")
LATE = _clock("c1", "张三", "06-03 08:50")  # 15 minutes late
ON_TIME = _clock("c2", "李四", "06-03 08:20")
EARLIER = _clock("c3", "张三", "06-03 08:10")  # the day's first arrival is now on time
MAY = _report("s1", 5, "06-05 10:00")
JUNE = _report("s2", 6, "06-28 10:00")  # before June's report falls due: it answers no due period yet
INSPECTION = event("n1", "inspection_done", {"plan": "daily"}, at=_at("06-03", "09:00"))


def _corrected_t3() -> Evidence:
    return _incident(
        "i3c", "T3", "06-11 09:00", "06-12 09:00", corrects="i3", responded_at="06-11 09:10", resolved_at="06-11 15:00"
    )


def _retraction(eid: str, target: str) -> Evidence:
    return event(eid, "retraction", {"event": target, "reason": "误报"}, at=_at("06-20", "09:00"))


class Kept:
    """A project as a service keeps it (opseval_infra.projects.LedgerCache): one ledger and one
    calendar between changes, moved to a later date without a refold, folded again only when stale."""

    def __init__(self, work: WorkCalendar | None = None) -> None:
        self.events: list[Evidence] = []
        self.day = FIRST_DAY
        self.ledger = Ledger(DEFINITION, FIRST_DAY)
        self.work = work or WorkCalendar()

    def add(self, batch: list[Evidence]) -> None:
        self.events += batch
        for e in batch:
            with contextlib.suppress(EvidenceReferenceError):
                self.ledger.add(e)
        self._refold_if_stale()

    def move(self, day: date) -> None:
        self.day = day
        held = set(self.ledger.move_to(day))
        first: dict[str, Evidence] = {}
        for e in self.events:
            first.setdefault(e.id, e)
        for e in first.values():
            if e.id in held:
                with contextlib.suppress(EvidenceReferenceError):
                    self.ledger.add(e)
        self._refold_if_stale()

    def _refold_if_stale(self) -> None:
        if self.ledger.stale:
            self.ledger = folded_afresh(DEFINITION, self.events, self.day, self.ledger.left_out)

    def fresh(self, work: WorkCalendar | None = None) -> tuple[str, ...]:
        """The evaluation of every event taken so far, folded afresh, with a calendar of its own."""
        return evaluated(folded_afresh(DEFINITION, self.events, self.day), work or WorkCalendar())

    def evaluated(self) -> tuple[str, ...]:
        return evaluated(self.ledger, self.work)


def evaluated(ledger: Ledger, work: WorkCalendar) -> tuple[str, ...]:
    """Every standard measure of the contract with the records it selected, the findings and the
    result, as the rules and the scoring service evaluate them (each with its own context). (The
    records in the order of the fold's keys, which is the order events arrived in: a ledger moved to a
    later date takes the events it held back last. So are the ids of a log a record cites, an
    inspection plan's: a record's evidence is shown as the ids it cites, sorted.)"""
    ctx = MetricContext(ledger, work)
    measures = []
    for m in ledger.definition.measures.measures:
        try:
            value = ctx.measure_value(MetricRef(name=m.id, contract=OPS.id))
        except MetricError as exc:
            measures.append(f"{m.id}: {exc}")
            continue
        rows = {"": value.rows, **value.subject_rows}
        listed = {key: sorted(map(_shown, records)) for key, records in rows.items()}
        measures.append(repr((value.total, value.subjects, value.labels, listed)))
    findings = find(MetricContext(ledger, work))
    result = evaluate_ledger(ledger, lambda _: findings, work)
    return (*measures, *(f.model_dump_json() for f in findings), result.model_dump_json())


def _shown(record: Record) -> str:
    return repr(replace(record, evidence=unique_sorted(record.evidence)))


def _faults(kept: Kept) -> dict[str, tuple[Any, ...]]:
    return MetricContext(kept.ledger, kept.work).faults(OPS)


def test_each_batch_evaluates_as_every_event_folded_afresh() -> None:
    kept = Kept()
    steps: list[tuple[str, list[Evidence]]] = [
        ("a first batch, with an open fault and one after the as-of date", [*ROSTER, T1, T2_OPEN, T4_LATER, LATE]),
        ("more of the same day and a report", [ON_TIME, MAY, INSPECTION]),
        ("a newer event for a ticket, a new fault", [T1_NEWER, T3]),
        ("an earlier clock-in of a day", [EARLIER]),
        ("a correction of a fault, a retraction of a clock-in", [_corrected_t3(), _retraction("x1", "c2")]),
        ("a report for a period not yet due", [JUNE]),
    ]
    for why, batch in steps:
        kept.add(batch)
        assert kept.evaluated() == kept.fresh(), why
    kept.move(LATER_DAY)
    assert kept.evaluated() == kept.fresh(), "the as-of date moved"


def test_an_unchanged_record_is_not_derived_again_and_a_replaced_one_is() -> None:
    kept = Kept()
    kept.add([*ROSTER, T1, T2_OPEN, T3])
    before = _faults(kept)
    kept.add([T1_NEWER, LATE])
    after = _faults(kept)
    assert after["T3"] is before["T3"]  # kept: the evaluations above compare what reusing it gives
    assert after["T1"] is not before["T1"] and [m.breached for m in after["T1"]] == [False, False, True]
    kept.move(LATER_DAY)
    moved = _faults(kept)
    assert moved["T1"] is after["T1"]  # responded, on site and resolved: the date is no input
    assert moved["T3"] is not before["T3"]  # never on site: measured up to the as-of date
    assert [m.breached for m in before["T2"]] == [True, False, False]
    assert [m.breached for m in moved["T2"]] == [True, True, True]  # measured up to the later date


def test_a_change_derives_the_faults_incidents_and_sla_checks_of_the_tickets_it_touched_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Whatever keeps each ticket's facts, an evaluation looks at no ticket the change left alone.
    from opseval_shared import metrics, sources

    derived: list[str] = []
    for module in (metrics, sources):
        monkeypatch.setattr(module, "kept", _noting(module.kept, derived))
    kept = Kept()
    kept.add([*ROSTER, T1, T2_OPEN, T3])
    kept.evaluated()
    derived.clear()
    kept.add([T1_NEWER])
    evaluated = kept.evaluated()
    assert set(derived) == {"T1"}  # its fault measures, its incident record, its SLA checks
    assert evaluated == kept.fresh()


def _noting(kept: Any, derived: list[str]) -> Any:
    """`kept` noting the tickets it is asked about (the keys of the faults' tables)."""

    def noting(table: Any, key: Any, *rest: Any) -> Any:
        if isinstance(key, str) and key.startswith("T"):
            derived.append(key)
        return kept(table, key, *rest)

    return noting


def test_another_calendar_derives_afresh() -> None:
    kept = Kept()
    kept.add([*ROSTER, T1, T1_NEWER, LATE, ON_TIME, MAY])
    assert kept.evaluated() == kept.fresh()
    kept.work = WorkCalendar(LOCAL_HOLIDAY)  # 2024-06-03 off: nobody late, no SLA clock that day
    declared = kept.evaluated()
    assert declared == kept.fresh(WorkCalendar(LOCAL_HOLIDAY))
    assert declared != kept.fresh()


POOL = [
    *ROSTER,
    T1,
    T1_NEWER,
    T2_OPEN,
    T3,
    _corrected_t3(),
    T4_LATER,
    LATE,
    ON_TIME,
    EARLIER,
    _retraction("x1", "c2"),
    _retraction("x2", "i4"),
    MAY,
    JUNE,
    INSPECTION,
    _clock("c4", "李四", "06-28 09:10"),
    _incident("i5", "T5", "06-27 16:30", responded_at="06-28 09:40"),
    _incident(
        "i5b", "T5", "06-27 16:30", recorded="06-28 10:00", responded_at="06-28 09:40", resolved_at="07-01 10:00"
    ),
]


@contextlib.contextmanager
def in_small_blocks() -> Iterator[None]:
    """Measures made over blocks of one record (one fault's SLA checks, one inspection period), their
    evidence united block by block (`IdUnion`) however few the blocks and however many ids move: the
    examples are small, a fleet's projects are not."""
    from opseval_shared import base, metrics, sources

    names = (metrics, "RECORDS_PER_BLOCK"), (sources, "SLA_FAULTS_PER_BLOCK"), (sources, "INSPECTION_PERIODS_PER_BLOCK")
    names += ((base, "_UNITED_FROM_LISTS"), (base, "_UNION_PLACED_ONE_IN"))  # (ids placed one by one, however many)
    saved = [getattr(module, name) for module, name in names]
    for (module, name), small in zip(names, (1, 1, 1, 0, 0), strict=True):
        setattr(module, name, small)
    try:
        yield
    finally:
        for (module, name), value in zip(names, saved, strict=True):
            setattr(module, name, value)


@settings(max_examples=25, deadline=None)
@given(
    order=st.permutations(range(len(POOL))),
    cuts=st.lists(st.integers(1, len(POOL) - 1), max_size=4),
    move_after=st.integers(0, 5),
    small_blocks=st.booleans(),
)
def test_any_split_of_the_events_into_batches_evaluates_as_every_event_folded_afresh(
    order: list[int], cuts: list[int], move_after: int, small_blocks: bool
) -> None:
    events = [POOL[i] for i in order]
    bounds = [0, *sorted(set(cuts)), len(events)]
    batches = [events[a:b] for a, b in pairwise(bounds)]
    kept = Kept()
    with in_small_blocks() if small_blocks else contextlib.nullcontext():
        for n, batch in enumerate(batches):
            kept.add(batch)
            if n == move_after:
                kept.move(LATER_DAY)
            assert kept.evaluated() == kept.fresh()


def test_a_change_makes_a_measure_again_over_the_blocks_it_touched_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from opseval_shared import measures

    made: list[tuple[str, ...]] = []  # the records (their evidence) of each block a measure looked at

    def noting(block: Any, *rest: Any) -> Any:
        made.append(tuple(eid for r in block for eid in r.evidence))
        return part(block, *rest)

    part = measures._part
    monkeypatch.setattr(measures, "_part", noting)

    def measured(kept: Kept, measure: str) -> Any:
        made.clear()
        return MetricContext(kept.ledger, kept.work).measure_value(MetricRef(name=measure, contract=OPS.id))

    kept = Kept()
    with in_small_blocks():
        kept.add([*ROSTER, T1, T2_OPEN, T3, LATE, ON_TIME, _clock("c4", "李四", "06-28 09:10")])
        first = measured(kept, "incidents.count")
        assert sorted(made) == [("i1",), ("i2",), ("i3",)]
        assert measured(kept, "incidents.count") is first and made == []  # nothing changed: the value kept
        kept.add([T1_NEWER])
        again = measured(kept, "incidents.count")
        assert made == [("i1b",)]  # T1's record only
        assert again.total.evidence == ("i1b", "i2", "i3") and again.total.value == 3
        measured(kept, "staff.late_arrivals")  # (clock-ins: a block per person)
        by_staff = measured(kept, "staff.late_arrivals_by_staff")
        kept.add([EARLIER])  # 张三's 06-03 now begins at 08:10
        late = measured(kept, "staff.late_arrivals")
        assert made == [("c3",)]  # 张三's records only
        assert late.total.value == 1 and late.total.evidence == ("c4",)  # 李四 on 06-28
        # Per person: 李四's value is the one made before, 张三's made again (no longer late).
        again_by_staff = measured(kept, "staff.late_arrivals_by_staff")
        assert again_by_staff.subjects["李四"] is by_staff.subjects["李四"]
        assert "张三" not in again_by_staff.subjects or again_by_staff.subjects["张三"].value == 0
        assert by_staff.subjects["张三"].value == 1
        assert kept.evaluated() == kept.fresh()


def test_an_inspection_makes_its_periods_measures_again_and_the_others_cite_the_grown_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opseval_shared import measures
    from opseval_shared.sources import SOURCES

    made: list[tuple[str, ...]] = []

    def noting(block: Any, *rest: Any) -> Any:
        made.append(tuple(str(r.fields.get("period_start")) for r in block if r.evidence))
        return part(block, *rest)

    part = measures._part
    monkeypatch.setattr(measures, "_part", noting)

    def measured(kept: Kept) -> Any:
        made.clear()
        return MetricContext(kept.ledger, kept.work).measure_value(
            MetricRef(name="inspections.done_counted", contract=OPS.id)
        )

    def records(kept: Kept) -> dict[str, Any]:
        ctx = MetricContext(kept.ledger, kept.work)
        return {str(r.fields["period_start"]): r for r in ctx.records(SOURCES["inspection"], OPS)}

    kept = Kept()
    with in_small_blocks():
        kept.add([*ROSTER, INSPECTION])  # 06-03
        assert measured(kept).total.evidence == ("n1",)
        before = records(kept)
        kept.add([event("n2", "inspection_done", {"plan": "daily"}, at=_at("06-04", "09:00"))])
        after = measured(kept)
        # Only 06-04's period is another record (the log it cites is the same, grown, object): the
        # measure made again over its block alone, and its evidence the log as it is now.
        assert made == [("2024-06-04",)]
        assert records(kept)["2024-06-03"] is before["2024-06-03"]
        assert after.total.value == 2 and after.total.evidence == ("n1", "n2")
        assert kept.evaluated() == kept.fresh()


def test_an_inspection_makes_again_the_blocks_of_its_own_plans_periods_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each plan's periods are blocks of their own: new inspections change a period of every plan
    they are of, and blocks across plans were all made again by every change (at a million events,
    ten of twelve blocks of every inspection measure)."""
    from opseval_shared import measures

    made: list[set[str]] = []  # the plans of each block a measure looked at

    def noting(block: Any, *rest: Any) -> Any:
        made.append({str(r.fields["plan"]) for r in block})
        return part(block, *rest)

    part = measures._part
    monkeypatch.setattr(measures, "_part", noting)
    plans = [
        {"id": "daily", "name": "日常巡检", "frequency": "daily"},
        {"id": "weekly", "name": "每周巡检", "frequency": "weekly"},
    ]
    project = definition([leaf("j", "100", {"type": "judgment"})], [contract(inspections=plans)], as_of="2024-06-28")
    ledger, work = Ledger(project, FIRST_DAY), WorkCalendar()

    def done_counted() -> Any:
        made.clear()
        ref = MetricRef(name="inspections.done_counted", contract="ops")
        return MetricContext(ledger, work).measure_value(ref).total

    ledger.add(event("w1", "inspection_done", {"plan": "weekly"}, at=_at("06-03", "09:00")))
    assert done_counted().value == 1
    assert {"daily", "weekly"} <= set().union(*made)
    ledger.add(event("w2", "inspection_done", {"plan": "weekly"}, at=_at("06-11", "09:00")))
    again = done_counted()
    assert made == [{"weekly"}]  # the weekly plan's block alone (its periods, fewer than 32, are one)
    assert again.value == 2 and again.evidence == ("w1", "w2")


def test_a_subjects_sum_over_several_blocks_is_every_blocks_sum_added_up() -> None:
    """One inspection done late and registered late: its plan's two records of `late_inspection_kind`
    (one per way), in blocks of one record each, are one subject of `inspections.late_by_kind`: its
    sum is both blocks' sums, not the first's."""
    plan = {"id": "daily", "name": "日常巡检", "frequency": "daily", "done_by": "10:00", "register_by": "12:00"}
    project = definition([leaf("j", "100", {"type": "judgment"})], [contract(inspections=[plan])], as_of="2024-06-28")
    ledger = Ledger(project, FIRST_DAY)
    late = event("n1", "inspection_done", {"plan": "daily"}, at=_at("06-03", "11:00"), recorded=_at("06-03", "13:00"))
    ledger.add(late)
    with in_small_blocks():
        ref = MetricRef(name="inspections.late_by_kind", contract="ops")
        value = MetricContext(ledger, WorkCalendar()).measure_value(ref)
    assert value.total.value == 2 and value.subjects["daily"].value == 2


def _clock_in_records(kept: Kept) -> list[Any]:
    from opseval_shared.sources import SOURCES

    return MetricContext(kept.ledger, kept.work).records(SOURCES["clock_in"], OPS)


def _coverage_records(kept: Kept) -> dict[str, Any]:
    from opseval_shared.sources import SOURCES

    records = MetricContext(kept.ledger, kept.work).records(SOURCES["on_site_coverage"], OPS)
    return {r.fields["name"]: r for r in records}


def _late_arrivals(kept: Kept) -> list[Any]:
    return MetricContext(kept.ledger, kept.work).late_arrivals(OPS)


def test_a_persons_late_arrivals_are_kept_while_their_records_are_the_same() -> None:
    kept = Kept()
    # (李四's clock-ins folded first: the ledger holds them before 张三's, the list orders by name)
    kept.add([*ROSTER, _clock("c4", "李四", "06-28 09:10"), _clock("c5", "李四", "06-27 09:20"), LATE])
    before = _late_arrivals(kept)
    assert [(staff, str(day), minutes, eid) for staff, day, minutes, eid in before] == [
        ("张三", "2024-06-03", 20, "c1"),  # (the working day begins at 08:30)
        ("李四", "2024-06-27", 50, "c5"),
        ("李四", "2024-06-28", 40, "c4"),
    ]
    assert before == sorted(
        (r.fields["staff"], r.fields["day"], int(r.fields["minutes_late"]), r.evidence[0])
        for r in _clock_in_records(kept)
        if r.fields["late"]
    )
    coverage_before = _coverage_records(kept)
    kept.add([EARLIER])  # 张三's 06-03 now begins at 08:10: on time
    after = _late_arrivals(kept)
    assert after == before[1:]
    # 李四's records are the same list: their late arrivals are the very tuples worked out before,
    # and their on-site coverage the very record; 张三's is made again.
    assert all(a is b for a, b in zip(after, before[1:], strict=True))
    coverage_after = _coverage_records(kept)
    assert coverage_after["李四"] is coverage_before["李四"]
    assert coverage_after["张三"] is not coverage_before["张三"]
    assert list(coverage_after["张三"].evidence) == ["c3", "r1"]
    kept.work = WorkCalendar(LOCAL_HOLIDAY)  # 06-03 a holiday: no lateness that day, whoever came when
    assert _late_arrivals(kept) == after and all(a is not b for a, b in zip(_late_arrivals(kept), after, strict=True))


def test_a_persons_clock_in_records_are_kept_whole_until_one_of_their_days_changes() -> None:
    kept = Kept()
    kept.add([*ROSTER, LATE, ON_TIME, _clock("c4", "李四", "06-28 09:10")])
    before = _clock_in_records(kept)
    kept.add([EARLIER])  # 张三's 06-03 now begins at 08:10
    after = _clock_in_records(kept)
    assert kept.evaluated() == kept.fresh()

    def of(staff: str, records: list[Any]) -> list[Any]:
        return [r for r in records if r.fields["staff"] == staff]

    # 李四's days are the same tuples: the same records; 张三's day has a new first clock-in.
    assert len(of("李四", after)) == 2
    assert all(a is b for a, b in zip(of("李四", after), of("李四", before), strict=True))
    (first,) = of("张三", after)
    assert first is not of("张三", before)[0]
    assert not first.fields["late"] and first.evidence == ("c3",)
    kept.work = WorkCalendar(LOCAL_HOLIDAY)  # another calendar: every record derived again
    assert all(a is not b for a, b in zip(_clock_in_records(kept), after, strict=True))
    assert kept.evaluated() == kept.fresh(WorkCalendar(LOCAL_HOLIDAY))


# Clock-ins of two people over a week of June (with a Saturday and the day declared a holiday in
# LOCAL_HOLIDAY), at minutes around the start of the working day: earlier ones replace a day's first.
CLOCKS = [
    _clock(f"k{n:02d}", staff, f"06-{day:02d} {hour:02d}:{minute:02d}")
    for n, (staff, day, hour, minute) in enumerate(
        (staff, day, hour, minute)
        for staff in ("张三", "李四")
        for day in (3, 4, 8)
        for hour, minute in ((8, 50), (8, 20), (9, 5))
    )
]


@settings(max_examples=40, deadline=None)
@given(
    picked=st.lists(st.sampled_from(range(len(CLOCKS))), min_size=1, max_size=14, unique=True),
    cuts=st.lists(st.integers(1, 13), max_size=4),
    retract=st.lists(st.integers(0, 13), max_size=2, unique=True),
    holiday_after=st.integers(0, 5),
)
def test_clock_ins_in_any_batches_with_retractions_and_another_calendar_evaluate_as_folded_afresh(
    picked: list[int], cuts: list[int], retract: list[int], holiday_after: int
) -> None:
    events = [*ROSTER, *(CLOCKS[i] for i in picked)]
    events += [_retraction(f"x{n}", CLOCKS[picked[r]].id) for n, r in enumerate(retract) if r < len(picked)]
    bounds = [0, *sorted({c for c in cuts if c < len(events)}), len(events)]
    kept = Kept()
    for n, (a, b) in enumerate(pairwise(bounds)):
        kept.add(events[a:b])
        if n == holiday_after:
            kept.work = WorkCalendar(LOCAL_HOLIDAY)
        work = WorkCalendar(LOCAL_HOLIDAY) if n >= holiday_after else WorkCalendar()
        assert kept.evaluated() == kept.fresh(work)
        fresh = Kept(work)
        fresh.add(kept.events)
        assert [repr(r) for r in _clock_in_records(kept)] == [repr(r) for r in _clock_in_records(fresh)]
        assert _late_arrivals(kept) == _late_arrivals(fresh)


SITED = contract(staffing={**OPS.staffing.model_dump(mode="json", exclude_none=True), "site": "机房"})
SITED_DEFINITION = definition([leaf("j", "100", {"type": "judgment"})], [SITED], as_of="2024-06-28")


def _site_check(ledger: Ledger) -> Any:
    (check,) = [k for k in MetricContext(ledger, WorkCalendar()).staff_checks(SITED) if k.key == "site"]
    return check


@settings(max_examples=30, deadline=None)
@given(
    picked=st.lists(st.sampled_from(range(len(CLOCKS))), min_size=1, max_size=14, unique=True),
    cuts=st.lists(st.integers(1, 13), max_size=4),
    elsewhere=st.sets(st.integers(0, 13)),
    small_blocks=st.booleans(),
)
def test_the_site_checks_evidence_kept_across_batches_is_every_first_clock_in_sorted(
    picked: list[int], cuts: list[int], elsewhere: set[int], small_blocks: bool
) -> None:
    # Clock-ins at the site and elsewhere: the check cites every day's first clock-in, sorted.
    events = [
        event(
            e.id,
            "clock_in",
            {**e.payload.model_dump(mode="json"), "site": "外地" if n in elsewhere else "机房"},
            at=e.occurred_at.isoformat(),
        )
        for n, e in enumerate(CLOCKS[i] for i in picked)
    ]
    bounds = [0, *sorted({c for c in cuts if c < len(events)}), len(events)]
    ledger = Ledger(SITED_DEFINITION, FIRST_DAY)
    with in_small_blocks() if small_blocks else contextlib.nullcontext():  # (each person's ids an IdUnion's list)
        for a, b in pairwise(bounds):
            for e in events[a:b]:
                ledger.add(e)
            kept, fresh = _site_check(ledger), _site_check(folded_afresh(SITED_DEFINITION, events[:b], FIRST_DAY))
            assert kept == fresh
            firsts = sorted(eid for days in ledger.first_clock_in.values() for _, eid, _ in days.values())
            assert tuple(kept.evidence) == tuple(firsts)


def test_a_documents_record_is_kept_while_it_and_the_period_it_answers_are_the_same() -> None:
    from opseval_shared.sources import SOURCES

    def submissions(kept: Kept) -> dict[str, Any]:
        records = MetricContext(kept.ledger, kept.work).records(SOURCES["submission"], OPS)
        return {r.evidence[0]: r for r in records}

    kept = Kept()
    kept.add([*ROSTER, MAY])
    before = submissions(kept)
    kept.add([LATE, T1])  # nothing of the reports
    assert submissions(kept)["s1"] is before["s1"]
    kept.move(LATER_DAY)  # the as-of moment moved: the due periods are worked out again
    moved = submissions(kept)
    assert moved["s1"] is not before["s1"] and repr(moved["s1"]) == repr(before["s1"])
    assert kept.evaluated() == kept.fresh()
