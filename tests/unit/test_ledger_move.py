"""A ledger moved to a later as-of date (`Ledger.move_to`, the held-back events added again) is the
ledger a fold of every event as of that date gives: with events on both sides of both cutoffs,
corrections and retractions made after the old one, replays of held-back events. So is one kept as
plain data (opseval_shared.fold_state) and read back, then folded on or moved."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from domainbuilders import contract, definition, event, folded_afresh, folded_state, leaf
from hypothesis import given, settings
from hypothesis import strategies as st
from opseval_reporting.pipeline import evaluate_ledger
from opseval_shared import fold_state
from opseval_shared.evidence import Evidence
from opseval_shared.ledger import EvidenceReferenceError, Ledger, Outcome

PLANS: list[dict[str, Any]] = [
    {"id": "daily", "name": "日常巡检", "frequency": "daily", "done_by": "09:30", "register_by": "12:00"},
    {"id": "weekly", "name": "每周巡检", "frequency": "weekly", "register_within_days": 1},
]
DEFINITION = definition(
    [leaf("j", "10", {"type": "judgment"})],
    [contract(inspections=PLANS)],
    as_of="2024-12-31",
)
OFFSETS = [timedelta(hours=8)] * 3 + [timedelta(0), timedelta(hours=-11), timedelta(hours=14)]


def _payload(n: int, kind: str) -> dict[str, Any]:
    return {
        "inspection_done": {"plan": ["daily", "weekly"][n % 2]},
        "clock_in": {"staff": ["张三", "李四"][n % 2], "direction": "in"},
        "training_held": {"topic": f"培训 {n}"},
        "roster_entry": {"name": ["张三", "李四"][n % 2], "role": ["工程师", "主管"][n % 3 % 2]},
    }[kind]


def _correction(
    eid: str, target: str, kind: str, payload: dict[str, Any], at: str, recorded: str | None = None
) -> Evidence:
    return event(eid, kind, payload, at=at, recorded=recorded, corrects=target)


def _retraction(eid: str, target: str, at: str) -> Evidence:
    return event(eid, "retraction", {"event": target, "reason": "误报"}, at=at)


def _move(ledger: Ledger, events: list[Evidence], day: date) -> Ledger:
    """As LedgerCache moves a held ledger: the held-back events (the first of each id, in store order)
    added again, and a fold with `left_out` when that made the ledger stale."""
    held = set(ledger.move_to(day))
    first: dict[str, Evidence] = {}
    for e in events:
        first.setdefault(e.id, e)
    for e in first.values():
        if e.id in held:
            with contextlib.suppress(EvidenceReferenceError):
                ledger.add(e)
    return folded_afresh(DEFINITION, events, day, ledger.left_out) if ledger.stale else ledger


def _state(ledger: Ledger) -> tuple[Any, ...]:
    """What a ledger folded and took in, in an order that does not depend on the order of the events."""

    def notes(also_later: bool) -> list[tuple[Any, ...]]:
        return [
            (n.target, n.event_id, n.retracts, n.recorded_at, ledger.in_force(n) if not also_later else None)
            for n in ledger.corrections(also_later=also_later)
        ]

    taken_in = (ledger.as_of, ledger.corrected, ledger.noted_out, notes(False), sorted(notes(True), key=repr))
    return (*folded_state(ledger), *taken_in, sorted(ledger._seen))


def _same(moved: Ledger, fresh: Ledger) -> None:
    assert _state(moved) == _state(fresh)
    assert evaluate_ledger(moved).model_dump_json() == evaluate_ledger(fresh).model_dump_json()


OLD, NEW = date(2024, 6, 10), date(2024, 6, 20)


def _timeline() -> list[Evidence]:
    return [
        event("t-1", "training_held", {"topic": "培训 1"}, at="2024-06-05T10:00:00+08:00"),
        event("t-2", "training_held", {"topic": "培训 2"}, at="2024-06-15T10:00:00+08:00"),
        event("t-3", "training_held", {"topic": "培训 3"}, at="2024-06-25T10:00:00+08:00"),  # after both
        # done before the old cutoff, recorded after it: held back
        event(
            "i-1",
            "inspection_done",
            {"plan": "daily"},
            at="2024-06-08T09:00:00+08:00",
            recorded="2024-06-12T11:00:00+08:00",
        ),
        event("i-2", "inspection_done", {"plan": "weekly"}, at="2024-06-09T09:00:00+08:00"),
        # just after the old cutoff in China, dated the old as-of day in UTC
        event("c-1", "clock_in", {"staff": "张三", "direction": "in"}, at="2024-06-10T16:30:00+00:00"),
        event("t-2", "training_held", {"topic": "重发的培训 2"}, at="2024-06-16T10:00:00+08:00"),  # a replay
        event("t-4", "training_held", {"topic": "培训 4"}, at="2024-06-13T10:00:00+08:00"),
        # corrects t-4, a held-back event, after the old cutoff: comes into force with the move
        _correction("t-4b", "t-4", "training_held", {"topic": "培训 4（更正）"}, at="2024-06-14T10:00:00+08:00"),
        _retraction("r-3", "t-3", "2024-06-12T09:00:00+08:00"),  # names an event after both cutoffs
        _retraction("r-9", "t-9", "2024-06-22T09:00:00+08:00"),  # after both, names an unknown event
    ]


def test_moving_the_date_takes_the_held_back_events_in_again_as_a_fresh_fold_does() -> None:
    events = _timeline()
    ledger = folded_afresh(DEFINITION, events, OLD)
    assert ledger.after_as_of == 8 and ledger.duplicates == 1
    held = ledger.move_to(NEW)
    assert set(held) == {"t-2", "t-3", "i-1", "c-1", "t-4", "t-4b", "r-3", "r-9"}
    assert ledger.after_as_of == 0 and not any(ledger.received(eid) for eid in held)
    first = {e.id: e for e in reversed(events)}
    outcomes = {eid: ledger.add(first[eid]) for eid in sorted(held, key=[e.id for e in events].index)}
    assert outcomes["t-4"] is Outcome.ADDED and outcomes["t-4b"] is Outcome.ADDED
    assert outcomes["r-9"] is Outcome.AFTER_AS_OF and outcomes["t-3"] is Outcome.AFTER_AS_OF
    # t-4b came into force naming t-4, already added again: stale, as a late correction makes it
    assert ledger.stale
    _same(folded_afresh(DEFINITION, events, NEW, ledger.left_out), folded_afresh(DEFINITION, events, NEW))


def test_a_move_whose_held_back_events_name_nothing_folded_is_the_fresh_fold_without_a_refold() -> None:
    events = [e for e in _timeline() if e.id not in {"t-4b", "r-3"}]
    ledger = folded_afresh(DEFINITION, events, OLD)
    moved = ledger
    assert _move(ledger, events, NEW) is moved  # not stale: no refold
    _same(moved, folded_afresh(DEFINITION, events, NEW))


def test_a_correction_and_a_retraction_made_after_the_old_cutoff_naming_folded_events_make_it_stale() -> None:
    events = [
        *_timeline(),
        _correction("t-1b", "t-1", "training_held", {"topic": "培训 1（更正）"}, at="2024-06-11T10:00:00+08:00"),
        _retraction("r-2", "i-2", "2024-06-18T09:00:00+08:00"),
        # corrects the correction t-1b, after the new cutoff: t-1b stays in force
        _correction("t-1c", "t-1b", "training_held", {"topic": "培训 1（再更正）"}, at="2024-06-21T10:00:00+08:00"),
    ]
    ledger = folded_afresh(DEFINITION, events, OLD)
    held = ledger.move_to(NEW)
    assert {"t-1b", "r-2", "t-1c"} <= set(held)
    for e in events:
        if e.id in {"t-1b", "r-2"}:
            ledger.add(e)
    assert ledger.stale and {"t-1", "i-2"} <= ledger.left_out
    fresh = folded_afresh(DEFINITION, events, NEW)
    _same(_move(folded_afresh(DEFINITION, events, OLD), events, NEW), fresh)
    assert "t-1" in fresh.noted_out and "t-1b" not in fresh.noted_out


def test_a_correction_left_out_by_a_later_one_is_counted_once_after_the_move() -> None:
    events = [
        *_timeline(),
        _correction("t-1b", "t-1", "training_held", {"topic": "更正"}, at="2024-06-11T10:00:00+08:00"),
        _correction("t-1c", "t-1b", "training_held", {"topic": "再更正"}, at="2024-06-12T10:00:00+08:00"),
    ]
    # Folded with t-1b left out from the start (as after a stale fold): at the old date t-1b is
    # corrected, though made after it.
    ledger = folded_afresh(DEFINITION, events, OLD, frozenset({"t-1b"}))
    assert ledger.corrected == 1
    for day in (date(2024, 6, 11), date(2024, 6, 12), NEW):
        ledger = _move(ledger, events, day)
        _same(ledger, folded_afresh(DEFINITION, events, day, frozenset({"t-1b"})))


def test_a_ledger_moves_forward_only() -> None:
    ledger = folded_afresh(DEFINITION, _timeline(), NEW)
    with pytest.raises(ValueError, match="forward only"):
        ledger.move_to(OLD)
    assert ledger.move_to(NEW) and ledger.as_of == NEW  # the same day: given back all the same


def test_origin_of_answers_the_origin_an_event_taken_in_again_came_with() -> None:
    ledger = Ledger(DEFINITION, OLD)
    late = event("t-1", "training_held", {"topic": "培训"}, at="2024-06-15T10:00:00+08:00")
    ledger.add(late, origin=5)
    assert ledger.origin_of("t-1") == 5
    assert ledger.move_to(NEW) == ["t-1"]
    assert ledger.add(late, origin=7) is Outcome.ADDED
    assert ledger.origin_of("t-1") == 7


# Moments from late May to mid July in several offsets; dates to fold at within the same span.
moments = st.builds(
    lambda minutes, offset: (datetime(2024, 5, 25, tzinfo=UTC) + timedelta(minutes=minutes)).astimezone(
        timezone(offset)
    ),
    st.integers(0, 50 * 24 * 60),
    st.sampled_from(OFFSETS),
)
days = st.integers(0, 50).map(lambda n: date(2024, 5, 25) + timedelta(days=n))
cases = st.lists(
    st.tuples(
        st.sampled_from(["inspection_done", "clock_in", "training_held", "roster_entry", "retraction", "correction"]),
        moments,
        st.sampled_from([timedelta(0), timedelta(hours=5), timedelta(days=1, hours=3), timedelta(days=6)]),
        st.integers(0, 30),  # which earlier event a correction or retraction names
        st.booleans(),  # sent twice (the second time with other content)
    ),
    max_size=30,
)


def _events(drawn: list[tuple[str, datetime, timedelta, int, bool]]) -> list[Evidence]:
    events: list[Evidence] = []
    for n, (kind, done, delay, target, twice) in enumerate(drawn):
        at, recorded = done.isoformat(), (done + delay).isoformat()
        named = events[target % len(events)].id if events else "unknown"
        if kind == "retraction":
            e = event(f"r-{n}", "retraction", {"event": named, "reason": "误报"}, at=at, recorded=recorded)
        elif kind == "correction":
            e = _correction(f"x-{n}", named, "training_held", {"topic": f"更正 {n}"}, at, recorded)
        else:
            e = event(f"{kind}-{n}", kind, _payload(n, kind), at=at, recorded=recorded)
        events.append(e)
        if twice:
            events.append(e.model_copy(update={"source": "replayed"}))
    return events


@settings(max_examples=300, deadline=None)
@given(cases, days, days, days)
def test_a_ledger_moved_forward_is_the_fresh_fold_as_of_its_new_date(
    drawn: list[tuple[str, datetime, timedelta, int, bool]], a: date, b: date, c: date
) -> None:
    events = _events(drawn)
    first, second, third = sorted((a, b, c))
    ledger = folded_afresh(DEFINITION, events, first)
    for day in (second, third):
        ledger = _move(ledger, events, day)
        assert _state(ledger) == _state(folded_afresh(DEFINITION, events, day))


@settings(max_examples=200, deadline=None)
@given(cases, days, days, st.integers(0, 60))
def test_a_ledger_kept_as_plain_data_and_read_back_part_way_folds_on_and_moves_as_the_fresh_fold(
    drawn: list[tuple[str, datetime, timedelta, int, bool]], a: date, b: date, cut: int
) -> None:
    events = _events(drawn)
    first, second = sorted((a, b))
    cut = min(cut, len(events))
    ledger = folded_afresh(DEFINITION, events, first)
    kept = fold_state.loads(DEFINITION, fold_state.dumps(ledger))
    assert _state(kept) == _state(ledger)
    # Part way: the rest of the events folded into the ledger read back.
    part = Ledger(DEFINITION, first, folded_afresh(DEFINITION, events, first).left_out)
    for e in events[:cut]:
        with contextlib.suppress(EvidenceReferenceError):
            part.add(e)
    if not part.stale:
        part = fold_state.loads(DEFINITION, fold_state.dumps(part))
        for e in events[cut:]:
            with contextlib.suppress(EvidenceReferenceError):
                part.add(e)
        if not part.stale:
            assert _state(part) == _state(ledger)
    assert _state(_move(kept, events, second)) == _state(folded_afresh(DEFINITION, events, second))
