"""A correction or a retraction that comes after the event it names was folded is taken in without a
refold (`Ledger.unfold`): the event is taken out of the fold again, with any earlier replacement the
latest correction displaces, and what it had displaced (the ticket's previous event, the day's next
clock-in …) comes back, so the ledger evaluates — every measure with its records, the findings and
the result, byte for byte — as a fold of every event afresh, whatever the order the events come in,
their batches and a later as-of date. Only what cannot be undone exactly stays stale and is folded
again: an event outside the period at an end of the days outside it, an event not handed back."""

from __future__ import annotations

import contextlib
from datetime import date
from itertools import pairwise
from typing import Any

from domainbuilders import contract, definition, event, folded_afresh, leaf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opseval_reporting.pipeline import evaluate_ledger, evaluate_series, month_ends, timeline_point
from opseval_shared import fold_state
from opseval_shared.calendar import WorkCalendar
from opseval_shared.evidence import Evidence
from opseval_shared.ledger import EvidenceReferenceError, Ledger
from test_kept_derived_facts import evaluated

OPS = contract(
    slas=[{"severity": "P1", "response_minutes": 30, "on_site_minutes": 120, "resolve_minutes": 240, "window": "5x8"}],
    staffing={
        "committed": [{"name": "张三", "role": "工程师"}, {"name": "李四", "role": "工程师"}],
        # an end to the working day: clock-outs are folded too (early leave)
        "working_hours": {"start": "08:30", "end": "17:30"},
        "grace_minutes": 5,
        "min_on_site": 2,
    },
    deliverables=[{"id": "monthly", "name": "运维月报", "frequency": "monthly", "due": {"working_days": 5}}],
    inspections=[{"id": "daily", "name": "日常巡检", "frequency": "daily", "done_by": "10:00", "register_by": "12:00"}],
    surveys=[{"survey": "s1"}],
)
BANDS = [{"min": "0.9", "fraction": "1"}, {"min": "0.5", "fraction": "0.5"}]
DEFINITION = definition(
    [
        leaf("faults", "30", {"type": "rate", "metric": {"name": "incidents.in_time_rate"}, "bands": BANDS}),
        leaf("j", "70", {"type": "judgment"}),
    ],
    [OPS],
    as_of="2024-06-28",
)
FIRST_DAY, LATER_DAY = date(2024, 6, 28), date(2024, 7, 8)
DAYS = ["06-03", "06-04", "06-27", "06-28", "07-02"]  # the last after the first as-of date
CLOCKS = ["08:10", "08:20", "08:50", "09:00", "10:30", "17:00", "17:40"]


def _at(day: str, clock: str) -> str:
    return f"2024-{day}T{clock}:00+08:00"


KINDS = [
    "incident",
    "clock_in",
    "inspection_done",
    "deliverable_submitted",
    "roster_entry",
    "training_held",
    "survey_response",
    "judgment",
    "asset_count",
]


@st.composite
def _event(draw: st.DrawFn, eid: str, kinds: list[str], corrects: str | None = None) -> Evidence:
    """An event of a small world, so that events meet in one record (a ticket, a person's day)."""
    kind = draw(st.sampled_from(kinds))
    # clock-ins on few days: a person's day meets several
    day = draw(st.sampled_from(DAYS if kind != "clock_in" else [DAYS[0], DAYS[-1]]))
    clock = draw(st.sampled_from(CLOCKS))
    at = _at(day, clock)
    recorded = draw(st.sampled_from([None, _at(day, "11:00"), _at(day, "13:00"), _at("06-29", "09:00")]))
    if recorded is not None and recorded < at:
        recorded = None
    payload: dict[str, Any]
    if kind == "incident":
        times = {"responded_at": _at(day, "23:00"), "on_site_at": _at(day, "23:30"), "resolved_at": _at(day, "23:50")}
        kept = draw(st.sets(st.sampled_from(sorted(times))))
        payload = {"ticket": draw(st.sampled_from(["T1", "T2", "T3"])), "severity": "P1"}
        payload |= {k: v for k, v in times.items() if k in kept}
    elif kind == "clock_in":
        payload = {"staff": draw(st.sampled_from(["张三", "李四"])), "direction": draw(st.sampled_from(["in", "out"]))}
        payload["site"] = draw(st.sampled_from([None, "机房"]))
    elif kind == "inspection_done":
        # now and then a plan the contract does not have: set aside, not folded
        payload = {
            "plan": draw(st.sampled_from(["daily", "daily", "daily", "nightly"])),
            "items": draw(st.integers(1, 3)),
        }
    elif kind == "deliverable_submitted":
        month = draw(st.sampled_from([5, 6]))
        payload = {
            "deliverable": "monthly",
            "title": f"{month}月运维月报",
            "period_start": f"2024-{month:02d}-01",
            "period_end": f"2024-{month:02d}-{30 if month == 6 else 31}",
            "document_ref": f"docs/{month}.pdf",
        }
    elif kind == "roster_entry":
        payload = {"name": draw(st.sampled_from(["张三", "李四"])), "role": draw(st.sampled_from(["工程师", "主管"]))}
    elif kind == "training_held":
        payload = {"topic": draw(st.sampled_from(["网络安全", "应急演练"]))}
    elif kind == "survey_response":
        aspects = draw(st.dictionaries(st.sampled_from(["态度", "技术"]), st.booleans()))
        payload = {"survey": "s1", "group": "使用单位", "satisfied": draw(st.booleans()), "aspects": aspects}
    elif kind == "judgment":
        payload = {"indicator": "j", "awarded": draw(st.sampled_from(["50", "70"])), "reason": "检查记录"}
    else:
        payload = {"asset_class": draw(st.sampled_from(["pc", "server"])), "count": draw(st.integers(0, 9))}
    return event(eid, kind, payload, at=at, recorded=recorded, corrects=corrects)


@st.composite
def _events(draw: st.DrawFn, replays: bool = True) -> list[Evidence]:
    """Events, corrections and retractions of them (and of each other, and of ids never sent), a replay,
    in any order."""
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=3, unique=True))  # a few, often met
    events = [draw(_event(f"e{n}", kinds)) for n in range(draw(st.integers(2, 12)))]
    for n in range(draw(st.integers(1, 6))):
        target = draw(st.sampled_from([*(e.id for e in events), "e-unknown"]))
        named = next((e for e in events if e.id == target), None)
        if draw(st.booleans()):
            at = _at(draw(st.sampled_from(DAYS)), draw(st.sampled_from(CLOCKS)))
            events.append(event(f"x{n}", "retraction", {"event": target, "reason": "误报"}, at=at))
        else:
            same = named is not None and named.kind != "retraction" and draw(st.booleans())
            kind = [named.kind.value] if same and named is not None else KINDS
            events.append(draw(_event(f"c{n}", kind, corrects=target)))
    if replays and draw(st.booleans()):
        replayed = draw(st.sampled_from(events))
        events.append(draw(_event(replayed.id, kinds)))  # the same id again, another content: not folded
    return draw(st.permutations(events))


class Kept:
    """A project as LedgerCache keeps it: one ledger folded batch by batch; a ledger a late correction
    made stale is handed the events it names (`unfold`), and folded again only if still stale."""

    def __init__(self) -> None:
        self.events: list[Evidence] = []
        self.day = FIRST_DAY
        self.ledger = Ledger(DEFINITION, FIRST_DAY)
        self.work = WorkCalendar()
        self.refolds = 0
        self.unfolded: list[str] = []

    def _first(self) -> dict[str, Evidence]:
        first: dict[str, Evidence] = {}
        for e in self.events:
            first.setdefault(e.id, e)
        return first

    def add(self, batch: list[Evidence]) -> None:
        self.events += batch
        for e in batch:
            with contextlib.suppress(EvidenceReferenceError):
                self.ledger.add(e)
        self._catch_up()

    def move(self, day: date) -> None:
        self.day = day
        held = set(self.ledger.move_to(day))
        for e in self._first().values():
            if e.id in held:
                with contextlib.suppress(EvidenceReferenceError):
                    self.ledger.add(e)
        self._catch_up()

    def _catch_up(self) -> None:
        if self.ledger.unfolds:
            first = self._first()
            wanted = self.ledger.to_unfold()
            self.unfolded += self.ledger.unfold([first[eid] for eid in wanted if eid in first])
        if self.ledger.stale:
            self.refolds += 1
            self.ledger = folded_afresh(DEFINITION, self.events, self.day, self.ledger.left_out)

    def fresh(self) -> tuple[str, ...]:
        return evaluated(folded_afresh(DEFINITION, self.events, self.day), WorkCalendar())

    def evaluated(self) -> tuple[str, ...]:
        return evaluated(self.ledger, self.work)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=_events(), cuts=st.lists(st.integers(1, 30), max_size=4), move_after=st.integers(0, 5))
def test_late_corrections_are_taken_out_without_a_refold_and_evaluate_as_a_fresh_fold(
    events: list[Evidence], cuts: list[int], move_after: int
) -> None:
    bounds = [0, *sorted({c for c in cuts if c < len(events)}), len(events)]
    kept = Kept()
    for n, (a, b) in enumerate(pairwise(bounds)):
        kept.add(events[a:b])
        if n == move_after:
            kept.move(LATER_DAY)
        assert kept.evaluated() == kept.fresh()
    # every event is inside the period: nothing was folded again
    assert kept.refolds == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=_events())
def test_one_event_at_a_time_each_state_is_a_fresh_folds(events: list[Evidence]) -> None:
    kept = Kept()
    for e in events:
        kept.add([e])
        assert not kept.ledger.stale
        assert kept.evaluated() == kept.fresh()
    assert kept.refolds == 0
    # what is taken out is kept as a fresh fold keeps it, and folded on from there alike
    again = fold_state.loads(DEFINITION, fold_state.dumps(kept.ledger))
    assert evaluated(again, WorkCalendar()) == kept.fresh()


def _clock(eid: str, staff: str, when: str, corrects: str | None = None) -> Evidence:
    return event(eid, "clock_in", {"staff": staff}, at=_at(*when.split()), corrects=corrects)


def _incident(eid: str, ticket: str, recorded: str, corrects: str | None = None, **times: str) -> Evidence:
    payload = {"ticket": ticket, "severity": "P1", **{k: _at(*v.split()) for k, v in times.items()}}
    return event(eid, "incident", payload, at=_at("06-03", "10:00"), recorded=_at(*recorded.split()), corrects=corrects)


def test_a_retracted_first_clock_in_gives_the_day_to_the_next_one() -> None:
    kept = Kept()
    kept.add(
        [_clock("c1", "张三", "06-03 08:10"), _clock("c2", "张三", "06-03 08:50"), _clock("c3", "李四", "06-03 08:20")]
    )
    ledger = kept.ledger
    kept.add([event("x1", "retraction", {"event": "c1", "reason": "误打卡"}, at=_at("06-04", "09:00"))])
    assert kept.ledger is ledger and kept.refolds == 0 and kept.unfolded == ["c1"]
    day = date(2024, 6, 3).toordinal()
    assert ledger.first_clock_in[("ops", "张三")][day][:2] == (8 * 60 + 50, "c2")
    assert ledger.corrected == 1 and ledger.events == 2
    assert kept.evaluated() == kept.fresh()


def test_a_corrected_ticket_event_gives_the_ticket_back_to_the_one_before_then_to_the_correction() -> None:
    kept = Kept()
    t1 = _incident("i1", "T1", "06-03 10:05", responded_at="06-03 10:20")
    t1b = _incident("i1b", "T1", "06-03 12:00", responded_at="06-03 10:20", resolved_at="06-03 16:30")
    kept.add([t1, t1b])
    ledger = kept.ledger
    # corrects i1b, recorded before it: i1b is left out, i1 comes back, then the correction (older than
    # i1) loses to it
    early = _incident("i1c", "T1", "06-03 10:01", corrects="i1b", responded_at="06-03 10:25")
    kept.add([early])
    assert kept.ledger is ledger and ledger.incidents[("ops", "T1")].event_id == "i1"
    assert kept.evaluated() == kept.fresh()
    # a later correction of i1b displaces i1c, the one in force before: both out
    late = _incident("i1d", "T1", "06-04 09:00", corrects="i1b", responded_at="06-03 10:40")
    kept.add([late])
    assert ledger.incidents[("ops", "T1")].event_id == "i1d"
    assert kept.refolds == 0 and sorted(kept.unfolded) == ["i1b", "i1c"]
    assert {"i1b", "i1c"} <= ledger.left_out
    assert kept.evaluated() == kept.fresh()


def test_an_event_outside_the_period_at_the_end_of_the_days_outside_it_is_folded_again() -> None:
    kept = Kept()
    outside = [
        event("o1", "clock_in", {"staff": "张三"}, at="2023-12-20T08:10:00+08:00"),
        event("o2", "clock_in", {"staff": "张三"}, at="2023-12-10T08:10:00+08:00"),
        event("o3", "clock_in", {"staff": "张三"}, at="2023-12-01T08:10:00+08:00"),
    ]
    kept.add(outside)
    retract = event("x1", "retraction", {"event": "o2", "reason": "误打卡"}, at=_at("06-04", "09:00"))
    kept.add([retract])  # the middle day: the span stays, no refold
    assert kept.refolds == 0 and kept.ledger.outside_period == 2
    kept.add([event("x2", "retraction", {"event": "o3", "reason": "误打卡"}, at=_at("06-04", "09:00"))])
    assert kept.refolds == 1  # the first day: only a refold knows the next
    assert kept.ledger.outside_span == (date(2023, 12, 20), date(2023, 12, 20))
    assert kept.evaluated() == kept.fresh()


def test_a_late_correction_that_makes_an_inspection_late_makes_its_periods_record_again() -> None:
    """Taken out and folded again, the period's count of inspections stays 1 and its count of late
    ones goes from 0 to 1: a record kept while its period's count is the same would still say on time."""
    from opseval_shared.metrics import MetricContext
    from opseval_shared.sources import SOURCES

    def june_3rd(kept: Kept) -> tuple[Any, ...]:
        ops = kept.ledger.definition.contracts.contracts[0]
        records = MetricContext(kept.ledger, kept.work).records(SOURCES["inspection"], ops)
        fields = next(r.fields for r in records if r.fields["period_start"] == date(2024, 6, 3))
        return fields["done"], fields["late"], fields["on_time_counted"]

    kept = Kept()
    kept.add([event("n1", "inspection_done", {"plan": "daily"}, at=_at("06-03", "09:00"))])  # before 10:00
    assert june_3rd(kept) == (1, 0, 1)
    kept.add([event("n1c", "inspection_done", {"plan": "daily"}, at=_at("06-03", "11:00"), corrects="n1")])
    assert kept.refolds == 0 and kept.unfolded == ["n1"]
    assert june_3rd(kept) == (1, 1, 0)
    assert kept.evaluated() == kept.fresh()


def test_an_event_not_handed_back_leaves_the_ledger_stale() -> None:
    ledger = Ledger(DEFINITION, FIRST_DAY)
    ledger.add(_clock("c1", "张三", "06-03 08:10"))
    ledger.add(event("x1", "retraction", {"event": "c1", "reason": "误打卡"}, at=_at("06-04", "09:00")))
    assert ledger.stale and ledger.unfolds and ledger.to_unfold() == ["c1"]
    ledger.unfold([])
    assert ledger.stale and not ledger.unfolds


def test_a_retracted_last_clock_out_gives_the_day_to_the_one_before() -> None:
    kept = Kept()
    out = [
        event(f"o{n}", "clock_in", {"staff": "张三", "direction": "out"}, at=_at("06-03", clock))
        for n, clock in enumerate(["17:00", "17:40", "17:40"])
    ]
    kept.add(out)
    ledger = kept.ledger
    day = date(2024, 6, 3).toordinal()
    assert ledger.last_clock_out[("ops", "张三")][day] == (17 * 60 + 40, "o1")  # on a tie the smallest id
    kept.add([event("x1", "retraction", {"event": "o1", "reason": "误打卡"}, at=_at("06-04", "09:00"))])
    assert ledger.last_clock_out[("ops", "张三")][day] == (17 * 60 + 40, "o2")
    kept.add([event("x2", "retraction", {"event": "o2", "reason": "误打卡"}, at=_at("06-04", "09:00"))])
    assert ledger.last_clock_out[("ops", "张三")][day] == (17 * 60, "o0")
    assert kept.ledger is ledger and kept.refolds == 0
    assert kept.evaluated() == kept.fresh()


def test_a_ledger_moved_before_it_was_unfolded_is_folded_again() -> None:
    ledger = Ledger(DEFINITION, FIRST_DAY)
    ledger.add(_clock("c1", "张三", "06-03 08:10"))
    ledger.add(event("x1", "retraction", {"event": "c1", "reason": "误打卡"}, at=_at("06-04", "09:00")))
    ledger.move_to(LATER_DAY)
    assert ledger.stale and not ledger.unfolds


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=_events(replays=False))
def test_a_timeline_with_late_corrections_is_each_days_fresh_fold(events: list[Evidence]) -> None:
    """The month-end timeline folds what is known by each day onto the same ledger: a correction made
    in a later month than its event is taken out there, and each point is that day's fresh fold. (No
    replays: the timeline takes events in the order they became known, so of two events of one id it
    keeps the one known first, where a fresh fold keeps the one sent first.)"""
    points = evaluate_series(DEFINITION, events, LATER_DAY)
    days = month_ends(DEFINITION.project.evaluation.period, LATER_DAY)
    assert points == tuple(timeline_point(d, evaluate_ledger(folded_afresh(DEFINITION, events, d))) for d in days)
