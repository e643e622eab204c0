"""China's working-day calendar, the periods duties fall due in, and due moments."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from datetime import time as TimeOfDay
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from opseval_shared.base import CHINA_TZ, DateRange
from opseval_shared.calendar import WorkCalendar, add_months, due_at, periods, window_minutes, window_seconds
from opseval_shared.contract import DueRule, ServiceWindow
from pydantic import ValidationError

D = date.fromisoformat
UTC8 = timedelta(hours=8)


def span(start: str, end: str) -> DateRange:
    return DateRange(start=D(start), end=D(end))


def starts(ranges: list[DateRange]) -> list[str]:
    return [r.start.isoformat() for r in ranges]


@pytest.fixture
def work() -> WorkCalendar:
    return WorkCalendar()


# ---------------------------------------------------------------- working days


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        ("2023-09-28", True),  # Thursday before 中秋/国庆
        ("2023-09-29", False),  # Friday, 中秋节
        ("2023-10-02", False),  # Monday, 国庆 holiday
        ("2023-10-06", False),  # Friday, 国庆 holiday
        ("2023-10-07", True),  # Saturday, 调休 workday
        ("2023-10-08", True),  # Sunday, 调休 workday
        ("2023-10-09", True),  # ordinary Monday
        ("2023-10-14", False),  # ordinary Saturday
        ("2021-05-05", False),  # Wednesday, 劳动节
        ("2021-05-08", True),  # Saturday, 调休 workday
    ],
)
def test_is_workday_follows_statutory_holidays_and_tiaoxiu(work: WorkCalendar, day: str, workday: bool) -> None:
    assert work.is_workday(D(day)) is workday
    assert work.warnings == []


def test_workdays_of_the_2023_national_day_fortnight(work: WorkCalendar) -> None:
    days = work.workdays(span("2023-09-25", "2023-10-10"))
    assert [d.isoformat() for d in days] == [
        "2023-09-25",
        "2023-09-26",
        "2023-09-27",
        "2023-09-28",
        "2023-10-07",
        "2023-10-08",
        "2023-10-09",
        "2023-10-10",
    ]


def test_next_workday_skips_the_holiday_to_a_tiaoxiu_saturday(work: WorkCalendar) -> None:
    assert work.next_workday(D("2023-09-29")) == D("2023-10-07")
    assert work.next_workday(D("2023-10-07")) == D("2023-10-07")


@pytest.mark.parametrize("year", [2030, 2003])
def test_uncovered_year_falls_back_to_monday_to_friday_with_a_chinese_warning(work: WorkCalendar, year: int) -> None:
    first_monday = next(date(year, 1, d) for d in range(1, 8) if date(year, 1, d).weekday() == 0)
    assert work.is_workday(first_monday) is True
    assert work.is_workday(first_monday + timedelta(days=4)) is True  # Friday
    assert work.is_workday(first_monday + timedelta(days=5)) is False  # Saturday
    assert work.is_workday(first_monday + timedelta(days=6)) is False  # Sunday
    # 元旦 is not known to the fallback: a weekday new year's day counts as a workday
    if date(year, 1, 1).weekday() < 5:
        assert work.is_workday(date(year, 1, 1)) is True

    warnings = work.warnings
    assert len(warnings) == 1, "one warning per uncovered year, however many days were asked"
    assert f"{year} 年" in warnings[0]
    assert "chinesecalendar" in warnings[0]
    assert "周一至周五" in warnings[0]
    assert "法定节假日与调休未计入" in warnings[0]


def test_warnings_list_each_uncovered_year_once_in_order_and_covered_years_not(work: WorkCalendar) -> None:
    work.is_workday(D("2031-03-03"))
    work.is_workday(D("2023-10-07"))
    work.is_workday(D("2030-03-04"))
    work.is_workday(D("2030-03-05"))
    assert [w[:6] for w in work.warnings] == ["2030 年", "2031 年"]


# ---------------------------------------------------------------- periods: calendar anchor


def test_weekly_calendar_periods_are_monday_to_sunday_and_half_covered(work: WorkCalendar) -> None:
    # Service Sunday 2023-01-01 .. Tuesday 2023-01-31: the week 12-26..01-01 has one day of
    # service and the week 01-30..02-05 two: neither is due.
    got = periods("weekly", "calendar", span("2023-01-01", "2023-01-31"), span("2023-01-01", "2023-12-31"), work)
    assert got == [
        span("2023-01-02", "2023-01-08"),
        span("2023-01-09", "2023-01-15"),
        span("2023-01-16", "2023-01-22"),
        span("2023-01-23", "2023-01-29"),
    ]


def test_weekly_period_with_four_of_seven_days_under_service_is_due(work: WorkCalendar) -> None:
    # Thursday..Sunday of the first week: 4 of 7 days, at least half
    got = periods("weekly", "calendar", span("2023-01-05", "2023-01-15"), span("2023-01-01", "2023-12-31"), work)
    assert starts(got) == ["2023-01-02", "2023-01-09"]
    # Friday..Sunday: 3 of 7, less than half
    got = periods("weekly", "calendar", span("2023-01-06", "2023-01-15"), span("2023-01-01", "2023-12-31"), work)
    assert starts(got) == ["2023-01-09"]


def test_monthly_calendar_periods_apply_the_half_period_rule_at_its_boundary(work: WorkCalendar) -> None:
    window = span("2021-01-01", "2021-12-31")
    # 16 of January's 31 days: 2 * 16 >= 31, due
    got = periods("monthly", "calendar", span("2021-01-16", "2021-12-31"), window, work)
    assert len(got) == 12
    assert got[0] == span("2021-01-01", "2021-01-31")
    assert got[1] == span("2021-02-01", "2021-02-28")
    assert got[-1] == span("2021-12-01", "2021-12-31")
    # 15 of 31 days: not due
    got = periods("monthly", "calendar", span("2021-01-17", "2021-12-31"), window, work)
    assert len(got) == 11
    assert got[0] == span("2021-02-01", "2021-02-28")


def test_monthly_calendar_period_grazed_by_one_day_of_service_is_not_due(work: WorkCalendar) -> None:
    got = periods("monthly", "calendar", span("2021-03-31", "2021-06-01"), span("2021-01-01", "2021-12-31"), work)
    assert got == [span("2021-04-01", "2021-04-30"), span("2021-05-01", "2021-05-31")]


def test_quarterly_calendar_periods_and_the_half_quarter_boundary(work: WorkCalendar) -> None:
    window = span("2021-01-01", "2021-12-31")
    # Q1 2021 has 90 days: from 02-01 that is 59 days under service, due
    got = periods("quarterly", "calendar", span("2021-02-01", "2021-12-31"), window, work)
    assert got == [
        span("2021-01-01", "2021-03-31"),
        span("2021-04-01", "2021-06-30"),
        span("2021-07-01", "2021-09-30"),
        span("2021-10-01", "2021-12-31"),
    ]
    # from 02-16: 44 days of 90, not due
    got = periods("quarterly", "calendar", span("2021-02-16", "2021-12-31"), window, work)
    assert starts(got) == ["2021-04-01", "2021-07-01", "2021-10-01"]


def test_calendar_period_ending_after_the_window_is_not_due_in_it(work: WorkCalendar) -> None:
    # window ends mid-quarter: Q2 ends after it
    got = periods("quarterly", "calendar", span("2021-01-01", "2021-12-31"), span("2021-01-01", "2021-05-15"), work)
    assert got == [span("2021-01-01", "2021-03-31")]


# ---------------------------------------------------------------- periods: service anchor


def test_weekly_service_periods_start_on_the_service_weekday(work: WorkCalendar) -> None:
    # service starts Wednesday 2023-01-04: weeks run Wednesday..Tuesday
    got = periods("weekly", "service", span("2023-01-04", "2023-02-07"), span("2023-01-01", "2023-12-31"), work)
    assert got == [
        span("2023-01-04", "2023-01-10"),
        span("2023-01-11", "2023-01-17"),
        span("2023-01-18", "2023-01-24"),
        span("2023-01-25", "2023-01-31"),
        span("2023-02-01", "2023-02-07"),
    ]


def test_monthly_service_periods_count_from_the_service_start_and_stop_at_the_window(
    work: WorkCalendar,
) -> None:
    # a service year 2021-03-15 .. 2022-03-14 evaluated for 2021: the period running into 2022
    # is not due in this window
    got = periods("monthly", "service", span("2021-03-15", "2022-03-14"), span("2021-01-01", "2021-12-31"), work)
    assert got[0] == span("2021-03-15", "2021-04-14")
    assert got[-1] == span("2021-11-15", "2021-12-14")
    assert len(got) == 9
    for a, b in itertools.pairwise(got):
        assert b.start == a.end + timedelta(days=1)


def test_monthly_service_periods_clamp_to_month_end(work: WorkCalendar) -> None:
    got = periods("monthly", "service", span("2021-01-31", "2021-06-30"), span("2021-01-01", "2021-12-31"), work)
    assert got[:3] == [
        span("2021-01-31", "2021-02-27"),
        span("2021-02-28", "2021-03-30"),
        span("2021-03-31", "2021-04-29"),
    ]


def test_quarterly_service_periods_count_from_the_service_start(work: WorkCalendar) -> None:
    got = periods("quarterly", "service", span("2021-02-10", "2022-02-09"), span("2021-01-01", "2021-12-31"), work)
    assert got == [
        span("2021-02-10", "2021-05-09"),
        span("2021-05-10", "2021-08-09"),
        span("2021-08-10", "2021-11-09"),
    ]
    # the same service evaluated for 2022 gets the quarter that ends in it
    got = periods("quarterly", "service", span("2021-02-10", "2022-02-09"), span("2022-01-01", "2022-12-31"), work)
    assert got == [span("2021-11-10", "2022-02-09")]


def test_service_period_cut_short_by_the_service_end_obeys_the_half_period_rule(work: WorkCalendar) -> None:
    window = span("2021-01-01", "2021-12-31")
    # the 4th service month 06-10..07-09 has 30 days; service ends 06-24 (15 days): due
    got = periods("monthly", "service", span("2021-03-10", "2021-06-24"), window, work)
    assert starts(got) == ["2021-03-10", "2021-04-10", "2021-05-10", "2021-06-10"]
    # service ends 06-23 (14 of 30 days): not due
    got = periods("monthly", "service", span("2021-03-10", "2021-06-23"), window, work)
    assert starts(got) == ["2021-03-10", "2021-04-10", "2021-05-10"]


# ---------------------------------------------------------------- periods: other frequencies


def test_workday_periods_are_the_working_days_including_tiaoxiu(work: WorkCalendar) -> None:
    got = periods("workday", "calendar", span("2023-01-01", "2023-12-31"), span("2023-09-28", "2023-10-09"), work)
    assert starts(got) == ["2023-09-28", "2023-10-07", "2023-10-08", "2023-10-09"]
    assert all(p.start == p.end for p in got)


def test_once_is_the_service_inside_the_window_and_no_overlap_is_nothing(work: WorkCalendar) -> None:
    service = span("2021-03-15", "2022-03-14")
    assert periods("once", "calendar", service, span("2021-01-01", "2021-12-31"), work) == [
        span("2021-03-15", "2021-12-31")
    ]
    assert periods("monthly", "calendar", service, span("2023-01-01", "2023-12-31"), work) == []


def test_add_months_clamps_to_the_end_of_shorter_months() -> None:
    assert add_months(D("2021-01-31"), 1) == D("2021-02-28")
    assert add_months(D("2024-01-31"), 1) == D("2024-02-29")
    assert add_months(D("2021-11-30"), 3) == D("2022-02-28")
    assert add_months(D("2021-03-15"), 12) == D("2022-03-15")


# ---------------------------------------------------------------- due moments


def test_due_at_weekday_rolls_a_holiday_monday_to_the_tiaoxiu_saturday(work: WorkCalendar) -> None:
    week = span("2023-09-25", "2023-10-01")
    due = due_at(week, DueRule(weekday=1, time=TimeOfDay(18, 0)), work)
    assert due == datetime(2023, 10, 7, 18, 0, tzinfo=CHINA_TZ)
    assert due.isoformat() == "2023-10-07T18:00:00+08:00"
    assert due.utcoffset() == UTC8


def test_due_at_weekday_without_rolling_stays_on_the_holiday(work: WorkCalendar) -> None:
    week = span("2023-09-25", "2023-10-01")
    due = due_at(week, DueRule(weekday=1, time=TimeOfDay(18, 0), roll_to_workday=False), work)
    assert due.isoformat() == "2023-10-02T18:00:00+08:00"


def test_due_at_weekday_on_a_tiaoxiu_saturday_is_not_rolled(work: WorkCalendar) -> None:
    week = span("2023-09-25", "2023-10-01")
    assert due_at(week, DueRule(weekday=6), work).isoformat() == "2023-10-07T23:59:59+08:00"


def test_due_at_weekday_ordinary_week(work: WorkCalendar) -> None:
    week = span("2023-10-09", "2023-10-15")
    assert due_at(week, DueRule(weekday=1, time=TimeOfDay(9, 30)), work).isoformat() == "2023-10-16T09:30:00+08:00"
    # weekday 7: Sunday of the following week, a day off, rolled to Monday
    assert due_at(week, DueRule(weekday=7), work).isoformat() == "2023-10-23T23:59:59+08:00"


def test_due_at_day_of_month_rolls_a_holiday_to_the_next_workday(work: WorkCalendar) -> None:
    september = span("2023-09-01", "2023-09-30")
    due = due_at(september, DueRule(day_of_month=5, time=TimeOfDay(18, 0)), work)
    assert due.isoformat() == "2023-10-07T18:00:00+08:00"
    due = due_at(september, DueRule(day_of_month=5, time=TimeOfDay(18, 0), roll_to_workday=False), work)
    assert due.isoformat() == "2023-10-05T18:00:00+08:00"


def test_due_at_day_of_month_clamps_to_the_end_of_a_short_month(work: WorkCalendar) -> None:
    january = span("2023-01-01", "2023-01-31")
    assert due_at(january, DueRule(day_of_month=31), work).isoformat() == "2023-02-28T23:59:59+08:00"


def test_due_at_day_of_month_already_passed_moves_to_the_following_month(work: WorkCalendar) -> None:
    # a service month ending 04-14: the 5th of April is before the period's end, so the 5th of
    # May, which is 劳动节 2021, rolled to Thursday 05-06
    service_month = span("2021-03-15", "2021-04-14")
    assert due_at(service_month, DueRule(day_of_month=5), work).isoformat() == "2021-05-06T23:59:59+08:00"
    # the 20th of April is after the period's end: that month
    assert due_at(service_month, DueRule(day_of_month=20), work).isoformat() == "2021-04-20T23:59:59+08:00"


def test_due_at_days_after_the_period_rolls_to_the_next_workday(work: WorkCalendar) -> None:
    day = span("2023-09-28", "2023-09-28")
    assert due_at(day, DueRule(days=3), work).isoformat() == "2023-10-07T23:59:59+08:00"
    assert due_at(day, DueRule(days=3, roll_to_workday=False), work).isoformat() == "2023-10-01T23:59:59+08:00"
    assert due_at(day, DueRule(days=0), work).isoformat() == "2023-09-28T23:59:59+08:00"
    # days counts calendar days, not working days
    week = span("2023-10-09", "2023-10-15")
    assert due_at(week, DueRule(days=2, time=TimeOfDay(12, 0)), work).isoformat() == "2023-10-17T12:00:00+08:00"


def test_due_at_same_day_is_the_period_day_rolled_when_off(work: WorkCalendar) -> None:
    rule = DueRule(kind="same_day", time=TimeOfDay(17, 0))
    assert due_at(span("2023-10-09", "2023-10-09"), rule, work).isoformat() == "2023-10-09T17:00:00+08:00"
    assert due_at(span("2023-10-01", "2023-10-01"), rule, work).isoformat() == "2023-10-07T17:00:00+08:00"


def test_due_at_without_a_rule_is_the_period_end_and_uses_the_fallback_in_uncovered_years(
    work: WorkCalendar,
) -> None:
    # 2030-06-01 is a Saturday: the Monday-to-Friday fallback rolls it to Monday 06-03
    assert due_at(span("2030-05-01", "2030-06-01"), DueRule(), work).isoformat() == "2030-06-03T23:59:59+08:00"
    assert len(work.warnings) == 1


# ---------------------------------------------------------------- due moments: the Nth working day


def test_due_at_working_days_counts_the_tiaoxiu_weekend_after_national_day(work: WorkCalendar) -> None:
    # 每月第5个工作日前提交上月月报: September 2023's report. 09-29..10-06 are off; Sat 10-07 and
    # Sun 10-08 are 调休 working days (1st, 2nd), then 10-09, 10-10, 10-11 (5th).
    september = span("2023-09-01", "2023-09-30")
    assert due_at(september, DueRule(working_days=5), work).isoformat() == "2023-10-11T23:59:59+08:00"
    assert due_at(september, DueRule(working_days=1, time=TimeOfDay(17, 30)), work).isoformat() == (
        "2023-10-07T17:30:00+08:00"
    )
    # an ordinary month: October 2023 ends Tuesday; the 5th working day after is Tuesday 11-07
    october = span("2023-10-01", "2023-10-31")
    assert due_at(october, DueRule(working_days=5), work).isoformat() == "2023-11-07T23:59:59+08:00"


def test_due_at_working_days_does_not_count_the_period_end_itself(work: WorkCalendar) -> None:
    # a working day period (Thursday 09-28) due on the next working day: the 调休 Saturday
    day = span("2023-09-28", "2023-09-28")
    assert due_at(day, DueRule(working_days=1), work).isoformat() == "2023-10-07T23:59:59+08:00"


def test_due_at_working_days_counts_weekdays_in_a_fallback_year(work: WorkCalendar) -> None:
    # 2030 has no holiday data: Monday–Friday. December 2029 is covered? No: 2030-01-31 is a Thursday.
    january = span("2030-01-01", "2030-01-31")
    assert due_at(january, DueRule(working_days=3), work).isoformat() == "2030-02-05T23:59:59+08:00"
    assert "2030 年" in work.warnings[0]


@pytest.mark.parametrize(
    "fields",
    [
        {"days": 3, "working_days": 5},
        {"weekday": 1, "day_of_month": 5},
        {"working_days": 5, "weekday": 2},
        {"kind": "same_day", "days": 1},
    ],
    ids=["days-and-working-days", "weekday-and-day-of-month", "working-days-and-weekday", "same-day-with-days"],
)
def test_a_due_rule_with_two_forms_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match=r"give one of|same_day is due on the period's own day"):
        DueRule.model_validate(fields)


def test_a_due_rule_with_zero_working_days_is_refused() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        DueRule(working_days=0)


# ---------------------------------------------------------------- the SLA clock in a service window

OFFICE = ServiceWindow(name="5x8", start=TimeOfDay(8, 30), end=TimeOfDay(17, 30))


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        ("2023-10-10 16:00", "2023-10-10 17:00", 60),  # inside one working day
        ("2023-10-10 17:00", "2023-10-11 09:00", 60),  # 17:00–17:30, night off, 08:30–09:00
        ("2023-10-10 20:00", "2023-10-11 08:00", 0),  # all night
        ("2023-10-13 17:00", "2023-10-16 08:45", 45),  # Friday 30 + weekend off + Monday 15
        ("2023-09-28 17:00", "2023-10-07 09:00", 60),  # Thursday 30, 中秋国庆 off, 调休 Saturday 30
        ("2023-10-07 08:00", "2023-10-09 08:30", 1080),  # 调休 Saturday and Sunday, 9 hours each
        ("2023-10-10 12:00", "2023-10-10 11:00", 0),  # backwards
    ],
    ids=[
        "within-a-day",
        "across-a-night",
        "night-only",
        "across-a-weekend",
        "to-a-tiaoxiu-saturday",
        "tiaoxiu-weekend",
        "backwards",
    ],
)
def test_window_minutes_of_an_office_window_count_only_its_hours_on_working_days(
    work: WorkCalendar, start: str, end: str, minutes: int
) -> None:
    assert window_minutes(moment(start), moment(end), OFFICE, work) == minutes


def test_window_minutes_of_the_standard_windows(work: WorkCalendar) -> None:
    friday_night, monday_morning = moment("2023-10-13 20:00"), moment("2023-10-16 10:00")
    minutes = {
        name: window_minutes(friday_night, monday_morning, ServiceWindow(name=name), work)
        for name in ("7x24", "5x8", "7x8", "5x10", "5x24")
    }
    assert minutes == {
        "7x24": 62 * 60,  # the exact span
        "5x8": 60,  # 09:00–17:00: Monday 09:00–10:00
        "7x8": 2 * 8 * 60 + 60,  # Saturday and Sunday 09:00–17:00, Monday 09:00–10:00
        "5x10": 60,  # 09:00–19:00: Friday 20:00 is after it
        "5x24": 4 * 60 + 10 * 60,  # Friday 20:00–24:00, Monday 00:00–10:00
    }


def test_window_minutes_of_a_window_ending_at_midnight(work: WorkCalendar) -> None:
    evenings = ServiceWindow(name="evenings", days="every_day", start=TimeOfDay(18, 0), end=TimeOfDay(0, 0))
    assert window_minutes(moment("2023-10-13 12:00"), moment("2023-10-14 19:00"), evenings, work) == 6 * 60 + 60


_BASE = datetime(2023, 9, 25, tzinfo=CHINA_TZ)  # the fortnight of 中秋国庆 and its 调休 weekend
_offsets = st.integers(min_value=0, max_value=20 * 24 * 3600)


@given(st.lists(_offsets, min_size=2, max_size=6), st.sampled_from(["office", "5x8", "7x8", "5x24", "7x24"]))
@hypothesis_settings(max_examples=300, deadline=None)
def test_the_clock_of_an_interval_is_the_sum_over_any_split_of_it(offsets: list[int], name: str) -> None:
    """Exactly in seconds; in minutes (seconds / 60, to Decimal's 28 digits) exactly at whole minutes."""
    work = WorkCalendar()
    window = OFFICE if name == "office" else ServiceWindow(name=name)
    points = [_BASE + timedelta(seconds=s) for s in sorted(offsets)]
    whole = window_seconds(points[0], points[-1], window, work)
    assert sum((window_seconds(a, b, window, work) for a, b in itertools.pairwise(points)), Decimal(0)) == whole
    minutes = [p.replace(second=0) for p in points]
    whole_minutes = window_minutes(minutes[0], minutes[-1], window, work)
    parts = sum((window_minutes(a, b, window, work) for a, b in itertools.pairwise(minutes)), Decimal(0))
    assert parts == whole_minutes
