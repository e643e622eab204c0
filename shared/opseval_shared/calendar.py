"""China's working-day calendar and the periods and deadlines contracts are written in.

Pure functions over dates: the holiday table is data inside the `chinesecalendar` package, so no
I/O happens here. Years the package does not cover fall back to Monday–Friday with a warning.
"""

from __future__ import annotations

import calendar as _stdcal
from datetime import date, datetime, timedelta
from datetime import time as TimeOfDay
from typing import Literal

from .base import CHINA_TZ, DateRange
from .contract import DueRule

PeriodFrequency = Literal["daily", "workday", "weekly", "monthly", "quarterly", "half_year", "yearly", "once"]


class WorkCalendar:
    """Answers 'is this a working day in mainland China' (调休 weekends included)."""

    def __init__(self) -> None:
        self._cache: dict[date, bool] = {}
        self._uncovered_years: set[int] = set()
        # periods() depend on the contract and the calendar only, not on evidence: a calendar kept
        # across re-evaluations (the fleet keeps one per project) computes them once.
        self.periods_cache: dict[tuple[str, str, DateRange, DateRange], list[DateRange]] = {}

    @property
    def warnings(self) -> list[str]:
        return [
            f"{year} 年不在 chinesecalendar 节假日数据覆盖范围内："
            "该年按周一至周五为工作日计算，法定节假日与调休未计入。"
            for year in sorted(self._uncovered_years)
        ]

    def is_workday(self, day: date) -> bool:
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        try:
            import chinese_calendar

            result = bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            self._uncovered_years.add(day.year)
            result = day.weekday() < 5
        self._cache[day] = result
        return result

    def next_workday(self, day: date) -> date:
        """The day itself when it is a working day, else the next one."""
        for _ in range(60):
            if self.is_workday(day):
                return day
            day += timedelta(days=1)
        raise ValueError(f"no working day within 60 days of {day}")

    def workdays(self, span: DateRange) -> list[date]:
        days = (span.start + timedelta(days=i) for i in range(span.days))
        return [d for d in days if self.is_workday(d)]


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, _stdcal.monthrange(year, month)[1]))


def _calendar_period(day: date, frequency: PeriodFrequency) -> DateRange:
    if frequency in ("daily", "workday"):
        return DateRange(start=day, end=day)
    if frequency == "weekly":
        start = day - timedelta(days=day.weekday())
        return DateRange(start=start, end=start + timedelta(days=6))
    months = {"monthly": 1, "quarterly": 3, "half_year": 6, "yearly": 12}[frequency]
    first_month = (day.month - 1) // months * months + 1
    start = date(day.year, first_month, 1)
    return DateRange(start=start, end=add_months(start, months) - timedelta(days=1))


def _service_period(day: date, frequency: PeriodFrequency, origin: date) -> DateRange:
    if frequency in ("daily", "workday"):
        return DateRange(start=day, end=day)
    if frequency == "weekly":
        offset = (day - origin).days // 7 * 7
        start = origin + timedelta(days=offset)
        return DateRange(start=start, end=start + timedelta(days=6))
    months = {"monthly": 1, "quarterly": 3, "half_year": 6, "yearly": 12}[frequency]
    k = 0
    while add_months(origin, (k + 1) * months) <= day:
        k += 1
    start = add_months(origin, k * months)
    return DateRange(start=start, end=add_months(origin, (k + 1) * months) - timedelta(days=1))


def periods(
    frequency: PeriodFrequency,
    anchor: Literal["calendar", "service"],
    service: DateRange,
    window: DateRange,
    work: WorkCalendar,
) -> list[DateRange]:
    """The periods a duty falls due in: inside the window, and at least half under service.

    A period that ends after the window (a service year running into next year) is not due in
    this window; a period the service only grazes (one day of a month) is not due at all.
    """
    key = (frequency, anchor, service, window)
    cached = work.periods_cache.get(key)
    if cached is None:
        cached = work.periods_cache[key] = _periods(frequency, anchor, service, window, work)
    return list(cached)


def _periods(
    frequency: PeriodFrequency,
    anchor: Literal["calendar", "service"],
    service: DateRange,
    window: DateRange,
    work: WorkCalendar,
) -> list[DateRange]:
    span = service.intersect(window)
    if span is None:
        return []
    if frequency == "once":
        return [span]
    out: list[DateRange] = []
    seen: set[date] = set()
    day = span.start
    while day <= span.end:
        if anchor == "calendar":
            period = _calendar_period(day, frequency)
        else:
            period = _service_period(day, frequency, service.start)
        day = period.end + timedelta(days=1)
        if period.start in seen or period.end > window.end:
            continue
        seen.add(period.start)
        if frequency == "workday" and not work.is_workday(period.start):
            continue
        overlap = period.intersect(service)
        if overlap is not None and overlap.days * 2 >= period.days:
            out.append(period)
    return out


def due_at(period: DateRange, rule: DueRule, work: WorkCalendar) -> datetime:
    """The moment a period's deliverable is due (China time)."""
    if rule.kind == "same_day":
        day = period.end
    elif rule.days is not None:
        day = period.end + timedelta(days=rule.days)
    elif rule.weekday is not None:
        day = period.end + timedelta(days=1)
        while day.isoweekday() != rule.weekday:
            day += timedelta(days=1)
    elif rule.day_of_month is not None:
        nxt = period.end + timedelta(days=1)
        day = date(nxt.year, nxt.month, min(rule.day_of_month, _stdcal.monthrange(nxt.year, nxt.month)[1]))
        if day < nxt:
            day = add_months(day, 1)
    else:
        day = period.end
    if rule.roll_to_workday:
        day = work.next_workday(day)
    return at(day, rule.time)


def at(day: date, clock: TimeOfDay) -> datetime:
    return datetime.combine(day, clock, tzinfo=CHINA_TZ)
