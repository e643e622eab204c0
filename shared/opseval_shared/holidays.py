"""Declared holiday calendars: the statutory holidays (法定节假日) and adjusted working days (调休上班日)
of a year, as the State Council's notice (国务院办公厅关于某年部分节假日安排的通知) sets them.

A bundle (`calendar.yaml`) or the installation (the file `OPSEVAL_CALENDAR_FILE` names) declares the
years `chinesecalendar` does not cover yet, or corrects one it does. A declared year replaces the
package's data for that whole year, so it must be complete: every one of the seven statutory
festivals named, every date inside the year, every 调休 working day a Saturday or Sunday, and no
day both a holiday and a working day.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from .base import Frozen
from .evidence import Text

# The seven statutory festivals (《全国年节及纪念日放假办法》); a holiday's name covers each festival it
# contains, so "中秋节、国庆节" covers two.
STATUTORY_FESTIVALS = ("元旦", "春节", "清明", "劳动", "端午", "中秋", "国庆")

CalendarSource = Literal["bundle", "installation", "chinesecalendar", "fallback"]


def _item_error(title: str, index: int, value: object, message: str) -> ValidationError:
    """An error located at one item of a list (a ValidationError raised in a validator nests its location)."""
    error = PydanticCustomError("value_error", "{reason}", {"reason": message})
    return ValidationError.from_exception_data(title, [InitErrorDetails(type=error, loc=(index,), input=value)])


class DeclaredHoliday(Frozen):
    """One holiday span as the notice gives it: 春节 2027-02-05 至 2027-02-11 (weekends inside included)."""

    name: Text
    start: date
    end: date | None = Field(default=None, description="last day off (inclusive); omitted for a single day")

    @model_validator(mode="after")
    def _ordered(self) -> DeclaredHoliday:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def last(self) -> date:
        return self.end or self.start

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.last - self.start).days + 1)]


class DeclaredYear(Frozen):
    """The days off and the adjusted working days of one year."""

    year: Annotated[int, Field(ge=1949, le=2200)]
    basis: str = Field(default="", description="the notice declared, e.g. 国办发明电〔2026〕N号")
    holidays: tuple[DeclaredHoliday, ...] = Field(description="every statutory holiday span of the year")
    workdays: tuple[date, ...] = Field(default=(), description="调休: weekend days that are working days")

    @field_validator("holidays")
    @classmethod
    def _holidays_complete_and_inside_the_year(
        cls, holidays: tuple[DeclaredHoliday, ...], info: ValidationInfo
    ) -> tuple[DeclaredHoliday, ...]:
        year = info.data.get("year")
        if year is None:
            return holidays
        for i, holiday in enumerate(holidays):
            if holiday.start.year != year or holiday.last.year != year:
                raise _item_error(
                    "holidays",
                    i,
                    holiday,
                    f"{holiday.name} {holiday.start}..{holiday.last} is not inside {year}: declare each day in "
                    "the year it falls in (a New Year holiday beginning in December belongs to the previous year)",
                )
        missing = [f for f in STATUTORY_FESTIVALS if not any(f in h.name for h in holidays)]
        if missing:
            raise ValueError(
                f"the declaration of {year} is incomplete: no holiday named for {'、'.join(missing)} "
                f"(a declared year must name all seven statutory festivals: {'、'.join(STATUTORY_FESTIVALS)})"
            )
        return holidays

    @field_validator("workdays")
    @classmethod
    def _workdays_are_weekend_days_no_holiday(
        cls, workdays: tuple[date, ...], info: ValidationInfo
    ) -> tuple[date, ...]:
        year = info.data.get("year")
        holidays: tuple[DeclaredHoliday, ...] = info.data.get("holidays", ())
        off = {day: h for h in holidays for day in h.days()}
        seen: set[date] = set()
        for i, day in enumerate(workdays):
            problem = None
            if year is not None and day.year != year:
                problem = f"{day} is not inside {year}: declare it in the year it falls in"
            elif day in seen:
                problem = f"{day} is declared twice"
            elif day in off:
                holiday = off[day]
                problem = (
                    f"{day} is declared both a working day and a holiday "
                    f"({holiday.name} {holiday.start}..{holiday.last} in holidays)"
                )
            elif day.weekday() < 5:
                problem = (
                    f"{day} is a weekday: 调休 working days are Saturdays or Sundays "
                    "(a weekday is a working day unless it is a holiday)"
                )
            if problem is not None:
                raise _item_error("workdays", i, day, problem)
            seen.add(day)
        return workdays

    def holiday_dates(self) -> frozenset[date]:
        return frozenset(day for h in self.holidays for day in h.days())


class HolidayCalendar(Frozen):
    """Declared years, each replacing `chinesecalendar` for that year."""

    years: tuple[DeclaredYear, ...] = ()

    @model_validator(mode="after")
    def _each_year_once(self) -> HolidayCalendar:
        years = [y.year for y in self.years]
        dupes = sorted({y for y in years if years.count(y) > 1})
        if dupes:
            raise ValueError(f"years: {', '.join(map(str, dupes))} declared more than once")
        return self

    def year(self, year: int) -> DeclaredYear | None:
        return next((y for y in self.years if y.year == year), None)


class CalendarYear(Frozen):
    """Which holiday data an evaluation used for one year."""

    year: int
    source: CalendarSource
    detail: str = Field(description="in words: the declaration (and its basis), the package version, the fallback")
