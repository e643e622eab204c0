"""The ledger's fold of timed evidence agrees with plain aware-datetime arithmetic in any UTC offset.

The fold takes shortcuts for timestamps in China's offset (wall-clock comparisons instead of aware
ones); these tests compare what it folds with the definitions written out directly, for events in
China's offset and in others, around the boundaries (the minute of a deadline, whole days).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as TimeOfDay
from typing import Any

from domainbuilders import contract, definition, event, leaf
from hypothesis import given, settings
from hypothesis import strategies as st
from opseval_shared.base import CHINA_TZ
from opseval_shared.evidence import Evidence
from opseval_shared.ledger import ADDED, REPLAYED, Ledger, Outcome
from opseval_shared.project import ProjectDefinition

DONE_BY = TimeOfDay(9, 30)
REGISTER_BY = TimeOfDay(12, 0)
PLANS: list[dict[str, Any]] = [
    {"id": "daily", "name": "日常巡检", "frequency": "daily", "done_by": "09:30", "register_by": "12:00"},
    {"id": "weekly", "name": "每周巡检", "frequency": "weekly", "register_within_days": 1},
    {"id": "monthly", "name": "月度巡检", "frequency": "monthly", "register_within_days": 2},
]
WITHIN_DAYS = {"weekly": 1, "monthly": 2}
OFFSETS = [timedelta(hours=8)] * 3 + [
    timedelta(0),
    timedelta(hours=-5),
    timedelta(hours=14),
    timedelta(hours=5, minutes=45),
]


def _definition(plans: list[dict[str, Any]] = PLANS) -> ProjectDefinition:
    return definition([leaf("j", "10", {"type": "judgment"})], [contract(inspections=plans)], as_of="2024-12-31")


moments = st.builds(
    lambda day, seconds, offset: (datetime(2024, 6, 1, tzinfo=UTC) + timedelta(days=day, seconds=seconds)).astimezone(
        timezone(offset)
    ),
    st.integers(0, 20),
    st.integers(0, 86_399),
    st.sampled_from(OFFSETS),
)
# Registration delays near the boundaries: the same minute, noon, whole days, a microsecond either side.
delays = st.one_of(
    st.integers(-86_400, 4 * 86_400).map(lambda s: timedelta(seconds=s)),
    st.sampled_from([0, 1, 2, 3]).flatmap(
        lambda d: st.sampled_from([timedelta(days=d) + timedelta(microseconds=e) for e in (-1, 0, 1)])
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(moments, delays, st.sampled_from(OFFSETS), st.sampled_from(PLANS)), max_size=12))
def test_late_completion_and_registration_match_aware_arithmetic_in_any_offset(
    cases: list[tuple[datetime, timedelta, timedelta, dict[str, Any]]],
) -> None:
    ledger = Ledger(_definition(), date(2024, 12, 31))
    expected: dict[str, tuple[set[str], set[str]]] = {p["id"]: (set(), set()) for p in PLANS}
    for n, (done, delay, recorded_offset, plan) in enumerate(cases):
        recorded = (done + delay).astimezone(timezone(recorded_offset))
        eid = f"i-{n}"
        e = event(eid, "inspection_done", {"plan": plan["id"]}, at=done.isoformat(), recorded=recorded.isoformat())
        assert ledger.add(e) is ADDED
        late_done, late_registered = expected[plan["id"]]
        local = done.astimezone(CHINA_TZ)
        if plan["id"] == "daily":
            if local.time() > DONE_BY:
                late_done.add(eid)
            if recorded > datetime.combine(local.date(), REGISTER_BY, tzinfo=CHINA_TZ):
                late_registered.add(eid)
        elif (recorded - done).days > WITHIN_DAYS[plan["id"]]:
            late_registered.add(eid)
    for plan_id, (late_done, late_registered) in expected.items():
        log = ledger.inspections[("ops", plan_id)]
        assert set(log.late_done) == late_done
        assert set(log.late_registered) == late_registered


def test_registration_deadline_is_china_clock_time_whatever_offset_the_definition_writes() -> None:
    plans = [{**PLANS[0], "register_by": "12:00+00:00"}]
    ledger = Ledger(_definition(plans), date(2024, 12, 31))
    on_time = event(
        "i-1",
        "inspection_done",
        {"plan": "daily"},
        at="2024-06-03T09:00:00+08:00",
        recorded="2024-06-03T12:00:00+08:00",
    )
    late = event(
        "i-2",
        "inspection_done",
        {"plan": "daily"},
        at="2024-06-04T09:00:00+08:00",
        recorded="2024-06-04T04:00:01+00:00",
    )
    for e in (on_time, late):
        ledger.add(e)
    assert ledger.inspections[("ops", "daily")].late_registered == ["i-2"]


def test_clock_ins_in_another_offset_fold_to_their_day_and_minute_in_china() -> None:
    ledger = Ledger(_definition(), date(2024, 12, 31))
    for eid, at in (
        ("c-1", "2024-06-03T01:05:00+00:00"),
        ("c-2", "2024-06-03T09:20:00+08:00"),
        ("c-3", "2024-06-02T17:10:00-08:00"),
    ):
        ledger.add(event(eid, "clock_in", {"staff": "张三", "direction": "in"}, at=at))
    days = ledger.first_clock_in[("ops", "张三")]
    # c-1 is 09:05 and c-3 is 09:10 in China on 3 June: the earliest of the day is kept.
    assert days == {date(2024, 6, 3).toordinal(): (9 * 60 + 5, "c-1", None)}


def test_outcome_names_are_the_enum_members() -> None:
    assert ADDED is Outcome.ADDED and REPLAYED is Outcome.REPLAYED


def test_origin_of_answers_for_every_id_taken_in_also_after_later_arrivals() -> None:
    ledger = Ledger(_definition(), date(2024, 12, 31))

    def training(n: int) -> Evidence:
        return event(f"t-{n}", "training_held", {"topic": f"培训 {n}"}, at=f"2024-06-{n:02d}T10:00:00+08:00")

    for n in range(1, 4):
        assert ledger.add(training(n), origin=100 + n) is ADDED
    assert ledger.add(training(2), origin=999) is REPLAYED
    assert ledger.origin_of("t-2") == 102 and ledger.origin_of("t-9") is None
    for n in range(4, 7):
        ledger.add(training(n), origin=100 + n)
    assert [ledger.origin_of(f"t-{n}") for n in range(1, 7)] == [101, 102, 103, 104, 105, 106]
    after = event("late", "training_held", {"topic": "评价日后"}, at="2025-01-02T10:00:00+08:00")
    assert ledger.add(after, origin=7) is Outcome.AFTER_AS_OF
    assert ledger.origin_of("late") == 7  # refused as after the as-of day, still known by its origin
