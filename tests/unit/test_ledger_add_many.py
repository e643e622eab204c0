"""`Ledger.add_many` (a bundle's fold, and `fold_resolving`'s) folds exactly what `add` folds event by
event: the same state, the same ids and origins, the same replays handed back, the same reference
errors for the same events — also for corrections, retractions, events after the as-of date or
outside the period, in other UTC offsets, under an unknown contract or none where several need one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from domainbuilders import contract, definition, event, folded_state, leaf
from hypothesis import given, settings
from hypothesis import strategies as st
from opseval_shared.evidence import Evidence
from opseval_shared.ledger import REPLAYED, EvidenceReferenceError, Ledger, MonthEndFold, Outcome, fold_resolving
from opseval_shared.project import ProjectDefinition

PLANS: list[dict[str, Any]] = [
    {"id": "daily", "name": "日常巡检", "frequency": "daily", "done_by": "09:30", "register_by": "12:00"},
    {"id": "weekly", "name": "每周巡检", "frequency": "weekly", "register_within_days": 1},
]
DELIVERABLES = [{"id": "monthly_report", "name": "运维月报", "frequency": "monthly"}]


def _definition(contracts: int) -> ProjectDefinition:
    made = [
        contract(f"c{n}", inspections=PLANS, deliverables=DELIVERABLES, surveys=[{"survey": "s1"}])
        for n in range(1, contracts + 1)
    ]
    return definition([leaf("j", "10", {"type": "judgment"})], made, as_of="2024-12-31")


ONE, TWO = _definition(1), _definition(2)


def _pool() -> list[Evidence]:
    """Events of every case the fold tells apart; some share an id (a replay, the same or not)."""

    def inspection(eid: str, plan: str = "daily", **kw: Any) -> Evidence:
        return event(eid, "inspection_done", {"plan": plan, "items": 2}, **kw)

    def survey(eid: str, survey: str = "s1", **kw: Any) -> Evidence:
        payload = {"survey": survey, "group": "使用单位", "satisfied": True, "aspects": {"态度": True, "技术": False}}
        return event(eid, "survey_response", payload, **kw)

    return [
        inspection("i1"),
        inspection("i2", at="2024-06-03T10:40:00+08:00", recorded="2024-06-03T12:30:00+08:00"),  # late twice
        inspection("i3", "weekly", at="2024-06-03T22:00:00-05:00", recorded="2024-06-06T09:00:00+00:00"),
        inspection("i4", contract="c1"),
        inspection("i5", contract="c2"),  # one contract: unknown; two: the other
        inspection("i6", contract="zz"),  # unknown contract
        inspection("i7", "nightly"),  # unknown plan
        inspection("i8", "nightly", at="2024-08-02T10:00:00+08:00"),  # unknown plan, after an as-of day
        inspection("i9", at="2023-12-20T10:00:00+08:00"),  # outside the period
        inspection("i10", at="2024-07-30T10:00:00+08:00"),
        inspection("i12", at="2024-12-31T20:00:00-05:00"),  # the period's last day here, the day after in China
        inspection("i13", at="2025-01-15T10:00:00+08:00"),  # after the period
        inspection("i11", at="2024-06-03T10:00:00+08:00", recorded="2024-09-01T10:00:00+08:00"),  # recorded late
        inspection("i1", at="2024-06-04T10:00:00+08:00"),  # the id again, other content
        inspection("i1"),  # the id again, the same content
        survey("s-1"),
        survey("s-2", contract="c1"),
        survey("s-3", "s9", contract="c1"),  # a survey no duty of the contract names
        survey("s-4", at="2023-06-01T10:00:00+08:00"),  # written before the period
        event("k1", "clock_in", {"staff": "张三"}, contract="c1", at="2024-06-03T08:55:00+08:00"),
        event("k2", "clock_in", {"staff": "张三"}, at="2024-06-03T08:50:00+08:00"),  # needs a contract of two
        event("k3", "clock_in", {"staff": "张三", "direction": "out"}, contract="c1"),
        event(
            "d1",
            "deliverable_submitted",
            {"deliverable": "yearly_report", "title": "年报", "document_ref": "DOC-1"},
            contract="c1",
        ),
        event("t1", "training_held", {"topic": "培训"}),
        event("t2", "training_held", {"topic": "培训（更正）"}, corrects="t3"),
        event("t3", "training_held", {"topic": "培训"}),  # corrected before it arrives
        inspection("i20", corrects="i1", at="2024-06-05T10:00:00+08:00"),
        inspection("i21", corrects="i10", at="2024-08-05T10:00:00+08:00"),  # made after an as-of day
        event("r1", "retraction", {"event": "s-1", "reason": "重复"}, at="2024-06-06T10:00:00+08:00"),
        event("r2", "retraction", {"event": "i2", "reason": "误录"}, at="2024-08-06T10:00:00+08:00"),
        event("x1", "training_held", {"topic": "他项目"}).model_copy(update={"project": "p2"}),
    ]


POOL = _pool()
AS_OF = [date(2024, 6, 30), date(2024, 7, 31), date(2024, 12, 31), date(2025, 3, 31)]


def _one_by_one(ledger: Ledger, events: list[Evidence]) -> tuple[list[str], list[tuple[str, str, str]]]:
    replayed, refused = [], []
    for n, e in enumerate(events):
        try:
            if ledger.add(e, origin=n) is REPLAYED:
                replayed.append(e.id)
        except EvidenceReferenceError as exc:
            refused.append((e.id, exc.field_path, str(exc)))
    return replayed, refused


def _many(ledger: Ledger | MonthEndFold, events: list[Evidence]) -> tuple[list[str], list[tuple[str, str, str]]]:
    """As a bundle's fold drives it: the rest of the events folded on after a replay or a refusal."""
    replayed, refused = [], []
    current: list[Evidence] = []

    def pairs() -> Iterator[tuple[Evidence, int]]:
        for n, e in enumerate(events):
            current[:] = [e]
            yield e, n

    rest = pairs()
    while True:
        try:
            replay = ledger.add_many(rest)
        except EvidenceReferenceError as exc:
            refused.append((current[0].id, exc.field_path, str(exc)))
            continue
        if replay is None:
            return replayed, refused
        assert replay is current[0]
        replayed.append(replay.id)


def _everything(ledger: Ledger) -> tuple[Any, ...]:
    return (
        folded_state(ledger),
        ledger._arrived,
        list(ledger._origins),
        ledger._seen,
        ledger.stale,
        ledger.left_out,
        ledger.noted_out,
        ledger.corrected,
        ledger._held_back,
        ledger._later_corrected,
        ledger.corrections(also_later=True),
        {k: (t.satisfied, t.total, list(t.ids)) for k, t in ledger.surveys.items()},
        {k: (t.satisfied, t.total, list(t.ids)) for k, t in ledger.survey_aspects.items()},
        {k: dict(v) for k, v in ledger.last_clock_out.items()},
        dict(ledger.submissions),
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(POOL), max_size=25),
    st.sampled_from(AS_OF),
    st.sampled_from([ONE, TWO]),
    st.booleans(),
)
def test_add_many_folds_what_add_folds_one_by_one(
    events: list[Evidence], as_of: date, defn: ProjectDefinition, told_left_out: bool
) -> None:
    left_out = frozenset({"i1", "s-2"}) if told_left_out else frozenset()
    one, many = Ledger(defn, as_of, left_out), Ledger(defn, as_of, left_out)
    replayed, refused = _one_by_one(one, events)
    assert _many(many, events) == (replayed, refused)
    assert _everything(many) == _everything(one)
    # fold_resolving (a project's stored events) sets the same events aside
    resolving = Ledger(defn, as_of, left_out)
    unresolved = fold_resolving(resolving, events)
    assert {eid: (exc.field_path, str(exc)) for eid, exc in unresolved.items()} == {
        eid: (field, message) for eid, field, message in refused
    }
    assert folded_state(resolving) == folded_state(one) and resolving._seen == one._seen


def test_every_event_of_the_pool_is_folded_alike_in_turn_and_each_case_occurs() -> None:
    """The whole pool in order (each case met at least once), against a fold one by one."""
    outcomes = set()
    for defn in (ONE, TWO):
        for as_of in AS_OF:
            one, many = Ledger(defn, as_of), Ledger(defn, as_of)
            for n, e in enumerate(POOL):
                try:
                    outcomes.add(one.add(e, origin=n))
                except EvidenceReferenceError:
                    outcomes.add(None)
            assert _many(many, POOL) == _one_by_one(Ledger(defn, as_of), POOL)
            assert _everything(many) == _everything(one)
    assert outcomes == {*Outcome, None}


def test_an_unknown_plan_is_refused_with_the_reference_checks_own_error_before_and_after_the_as_of_day() -> None:
    ledger = Ledger(ONE, date(2024, 6, 30))
    folded, held_back = (e for e in POOL if e.id in ("i7", "i8"))
    for e in (folded, held_back):
        with pytest.raises(EvidenceReferenceError, match=r"has no inspection plan 'nightly' \(known: daily, weekly\)"):
            ledger.add_many([(e, 0)])
    assert ledger.received("i7") and ledger.received("i8") and ledger.events == 0


def test_a_month_end_fold_takes_events_as_a_ledger_does() -> None:
    days = [date(2024, 6, 30), date(2024, 7, 31)]
    events = [e for e in POOL if not (e.corrects or e.kind == "retraction")]
    one, many = MonthEndFold(ONE, days), MonthEndFold(ONE, days)
    expected = _one_by_one(one, events)  # type: ignore[arg-type]
    assert _many(many, events) == expected
    assert [folded_state(p) for _, p in many.at()] == [folded_state(p) for _, p in one.at()]
