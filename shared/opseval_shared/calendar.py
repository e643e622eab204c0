"""China's working-day calendar and the periods and deadlines contracts are written in.

Pure functions over dates: the holiday table is data inside the `chinesecalendar` package or a
declared calendar (holidays.py) handed in by the caller, so no I/O happens here. Years neither
covers fall back to Monday–Friday with a warning.
"""

from __future__ import annotations

import calendar as _stdcal
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as TimeOfDay
from decimal import Decimal
from typing import Literal

from .base import CHINA_TZ, DateRange
from .contract import DueRule, ServiceWindow
from .holidays import CalendarSource, CalendarYear, HolidayCalendar

PeriodFrequency = Literal["daily", "workday", "weekly", "monthly", "quarterly", "half_year", "yearly", "once"]


@dataclass(frozen=True, slots=True)
class _YearData:
    source: CalendarSource
    detail: str
    holidays: frozenset[date] | None = None  # declared years only
    workdays: frozenset[date] = frozenset()


def _year_data(year: int, bundle: HolidayCalendar | None, installation: HolidayCalendar | None) -> _YearData:
    for source, calendar, label in (
        ("bundle", bundle, "项目资料包 calendar.yaml 声明"),
        ("installation", installation, "安装配置的节假日日历声明"),
    ):
        declared = calendar.year(year) if calendar is not None else None
        if declared is not None:
            detail = label + (f"（{declared.basis}）" if declared.basis else "")
            return _YearData(source, detail, declared.holiday_dates(), frozenset(declared.workdays))  # type: ignore[arg-type]
    import chinese_calendar  # here, not at import: it costs ~65 ms, and commands that never ask should not pay

    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return _YearData("fallback", "无节假日数据：按周一至周五为工作日计算，法定节假日与调休未计入")
    return _YearData("chinesecalendar", f"chinesecalendar {getattr(chinese_calendar, '__version__', '')}".rstrip())


class WorkCalendar:
    """Answers 'is this a working day in mainland China' (调休 weekends included).

    The holiday data of a year comes from, in this order: the bundle's declared calendar, the
    installation's, the `chinesecalendar` package, else Monday–Friday with a warning.
    """

    def __init__(self, installation: HolidayCalendar | None = None, bundle: HolidayCalendar | None = None) -> None:
        self._installation = installation
        self._bundle = bundle
        self._reset()

    def _reset(self) -> None:
        # A new object each time the answers may change: facts derived with this calendar and kept
        # between evaluations (Ledger.derived) are reused only under the same one.
        self.answers = object()
        self._cache: dict[date, bool] = {}
        self._years: dict[int, _YearData] = {}
        # periods() depend on the contract and the calendar only, not on evidence: a calendar kept
        # across re-evaluations (the fleet keeps one per project) computes them once.
        self.periods_cache: dict[tuple[str, str, DateRange, DateRange], list[DateRange]] = {}

    def use_bundle(self, calendar: HolidayCalendar | None) -> None:
        """Take the project's declared calendar (a no-op when it is the one already taken)."""
        if calendar is self._bundle or calendar == self._bundle:
            return
        self._bundle = calendar
        self._reset()

    @property
    def warnings(self) -> list[str]:
        return [
            f"{year} 年不在 chinesecalendar 节假日数据覆盖范围内："
            "该年按周一至周五为工作日计算，法定节假日与调休未计入。"
            for year, data in sorted(self._years.items())
            if data.source == "fallback"
        ]

    def consulted(self) -> tuple[int, ...]:
        """The years consulted so far, in order."""
        return tuple(sorted(self._years))

    def consult(self, years: Iterable[int]) -> None:
        """Consult these years as if a day of each had been asked about (for measurements made with
        another calendar: a result says where the holiday data of every year they used came from)."""
        for year in years:
            self._year(year)

    def sources(self, years: Iterable[int] = ()) -> list[CalendarYear]:
        """Where the holiday data of each year came from: the years given and every year consulted."""
        self.consult(years)
        return [CalendarYear(year=y, source=d.source, detail=d.detail) for y, d in sorted(self._years.items())]

    def _year(self, year: int) -> _YearData:
        data = self._years.get(year)
        if data is None:
            data = self._years[year] = _year_data(year, self._bundle, self._installation)
        return data

    def is_workday(self, day: date) -> bool:
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        data = self._year(day.year)
        if data.holidays is not None:
            result = day in data.workdays or (day.weekday() < 5 and day not in data.holidays)
        elif data.source == "chinesecalendar":
            import chinese_calendar

            result = bool(chinese_calendar.is_workday(day))
        else:
            result = day.weekday() < 5
        self._cache[day] = result
        return result

    def nth_workday_after(self, day: date, n: int) -> date:
        """The n-th working day after `day` (not counting `day` itself)."""
        left = n
        for i in range(1, n * 10 + 60):
            if self.is_workday(day + timedelta(days=i)):
                left -= 1
                if left == 0:
                    return day + timedelta(days=i)
        raise ValueError(f"no {n} working days within {n * 10 + 60} days after {day}")

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
    elif rule.working_days is not None:
        day = work.nth_workday_after(period.end, rule.working_days)
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


def window_minutes(start: datetime, end: datetime, window: ServiceWindow, work: WorkCalendar) -> Decimal:
    """Minutes between two moments that fall inside a service window (China time)."""
    return window_seconds(start, end, window, work) / 60


def window_seconds(start: datetime, end: datetime, window: ServiceWindow, work: WorkCalendar) -> Decimal:
    """Seconds between two moments that fall inside a service window (China time), exactly.

    Round the clock every day: the exact span. Otherwise whole minutes of the clock (a moment counts
    from the minute it falls in). Either way the seconds of an interval are the sum over any split of it.
    """
    if end <= start:
        return Decimal(0)
    open_at, close_at = window.opening_minutes
    if window.on == "every_day" and open_at == 0 and close_at == 24 * 60:
        span = end - start
        return Decimal(span.days * 86_400 + span.seconds) + Decimal(span.microseconds) / 1_000_000
    s, e = start.astimezone(CHINA_TZ), end.astimezone(CHINA_TZ)
    first, last = s.date(), e.date()
    total = 0
    day = first
    while day <= last:
        if window.on == "every_day" or work.is_workday(day):
            lo = max(open_at, s.hour * 60 + s.minute if day == first else 0)
            hi = min(close_at, e.hour * 60 + e.minute if day == last else 24 * 60)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return Decimal(total * 60)
