"""A timeline's fold read once (MonthEndFold): each month's events folded into a ledger of their own and
absorbed one month after another give, at every month's end, the ledger a fold of every event as of
that day gives — whatever the events' UTC offsets, around the month boundaries, with replays and events
known only after the last day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from domainbuilders import contract, definition, event, folded_state, leaf
from hypothesis import given, settings
from hypothesis import strategies as st
from opseval_shared.evidence import Evidence
from opseval_shared.ledger import Ledger, MonthEndFold
from opseval_shared.project import ProjectDefinition

PLANS: list[dict[str, Any]] = [
    {"id": "daily", "name": "日常巡检", "frequency": "daily", "done_by": "09:30", "register_by": "12:00"},
    {"id": "weekly", "name": "每周巡检", "frequency": "weekly", "register_within_days": 1},
]
DAYS = [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 15)]
OFFSETS = [timedelta(hours=8)] * 3 + [timedelta(0), timedelta(hours=-11), timedelta(hours=14)]
DEFINITION = definition([leaf("j", "10", {"type": "judgment"})], [contract(inspections=PLANS)], as_of="2024-12-31")


def _event(n: int, kind: str, done: datetime, delay: timedelta, offset: timedelta) -> Evidence:
    at, recorded = done.isoformat(), (done + delay).astimezone(timezone(offset)).isoformat()
    payload: dict[str, Any] = {
        "inspection_done": {"plan": ["daily", "weekly"][n % 2]},
        "clock_in": {"staff": ["张三", "李四"][n % 2], "direction": "in"},
        "training_held": {"topic": f"培训 {n}"},
        "roster_entry": {"name": ["张三", "李四"][n % 2], "role": ["工程师", "主管"][n % 3 % 2]},
    }[kind]
    return event(f"{kind}-{n}", kind, payload, at=at, recorded=recorded)


# Moments from mid-January to a week after the last day, so many fall within a day of a month's end.
moments = st.builds(
    lambda minutes, offset: (datetime(2024, 1, 20, tzinfo=UTC) + timedelta(minutes=minutes)).astimezone(
        timezone(offset)
    ),
    st.integers(0, 95 * 24 * 60),
    st.sampled_from(OFFSETS),
)
cases = st.lists(
    st.tuples(
        st.sampled_from(["inspection_done", "clock_in", "training_held", "roster_entry"]),
        moments,
        st.sampled_from([timedelta(0), timedelta(hours=5), timedelta(days=1, hours=3), timedelta(days=3)]),
        st.sampled_from(OFFSETS),
        st.booleans(),  # sent twice
    ),
    max_size=40,
)


def _fresh(events: list[Evidence], day: date) -> Ledger:
    ledger = Ledger(DEFINITION, day)
    for e in events:
        ledger.add(e)
    return ledger


@settings(max_examples=200, deadline=None)
@given(cases)
def test_each_month_absorbed_gives_the_ledger_of_every_event_as_of_its_end(
    drawn: list[tuple[str, datetime, timedelta, timedelta, bool]],
) -> None:
    events: list[Evidence] = []
    for n, (kind, done, delay, offset, twice) in enumerate(drawn):
        events += [_event(n, kind, done, delay, offset)] * (2 if twice else 1)
    fold = MonthEndFold(DEFINITION, DAYS)
    for e in events:
        fold.add(e)
    seen = []
    for day, ledger in fold.at():
        seen.append(day)
        assert ledger.as_of == day
        assert folded_state(ledger) == folded_state(_fresh(events, day)), day
    assert seen == DAYS


def test_a_replay_is_found_whichever_month_holds_the_first_event() -> None:
    first = _event(1, "training_held", datetime(2024, 1, 5, 10, tzinfo=UTC), timedelta(0), timedelta(0))
    fold = MonthEndFold(DEFINITION, DAYS)
    fold.add(first, origin=41)
    # The same id recorded in March: a replay (the bundle then compares it with the first, by origin).
    again = event(first.id, "training_held", {"topic": "改过的"}, at="2024-03-05T10:00:00+08:00")
    assert fold.add(again).name == "REPLAYED"
    assert fold.origin_of(first.id) == 41


def test_a_fold_with_a_correction_is_not_absorbed() -> None:
    fold = MonthEndFold(DEFINITION, DAYS)
    victim = _event(1, "training_held", datetime(2024, 1, 5, 2, tzinfo=UTC), timedelta(0), timedelta(hours=8))
    fold.add(victim)
    retraction = event(
        "retract-1", "retraction", {"event": victim.id, "reason": "录入错误"}, at="2024-03-01T09:00:00+08:00"
    )
    fold.add(retraction)
    assert fold.has_corrections
    with pytest.raises(ValueError, match="folded again"):
        next(iter(fold.at()))


def test_days_out_of_order_are_refused() -> None:
    definition_: ProjectDefinition = DEFINITION
    with pytest.raises(ValueError, match="in order"):
        MonthEndFold(definition_, [DAYS[1], DAYS[0]])


def test_events_dated_far_from_every_month_end_are_placed_exactly() -> None:
    """Days beyond the table of certain parts (years before the first day, after the last) and days
    within a day of a month's end in a far offset take the exact placement."""
    events = [
        _event(1, "training_held", datetime(2021, 3, 1, 10, tzinfo=UTC), timedelta(0), timedelta(0)),
        _event(2, "training_held", datetime(2024, 1, 31, 15, 30, tzinfo=UTC), timedelta(0), timedelta(hours=-11)),
        _event(3, "training_held", datetime(2024, 1, 31, 16, 30, tzinfo=UTC), timedelta(0), timedelta(hours=14)),
        _event(4, "training_held", datetime(2024, 2, 10, 10, tzinfo=UTC), timedelta(days=900), timedelta(0)),
    ]
    fold = MonthEndFold(DEFINITION, DAYS)
    for e in events:
        fold.add(e)
    for day, ledger in fold.at():
        assert folded_state(ledger) == folded_state(_fresh(events, day)), day
    # 15:30 UTC on 31 January is 23:30 in China (January's), 16:30 UTC is 1 February (February's).
    january = [e.event_id for e in _fresh(events, DAYS[0]).trainings]
    assert "training_held-2" in january and "training_held-3" not in january
