"""Base model and small value types shared by every contract in opseval."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

# China has kept one offset (UTC+8) without daylight saving since 1991; a fixed offset keeps the
# domain free of tz database reads.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


class Frozen(BaseModel):
    """Immutable, strict-shaped model: unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _decimal_to_json(value: Decimal) -> float | int:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


# Decimal in the domain (exact arithmetic for money and scores), a plain JSON number on the wire.
Num = Annotated[Decimal, PlainSerializer(_decimal_to_json, when_used="json")]
NonNegNum = Annotated[Decimal, Field(ge=0), PlainSerializer(_decimal_to_json, when_used="json")]


class DateRange(Frozen):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def intersect(self, other: DateRange) -> DateRange | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        return DateRange(start=start, end=end) if start <= end else None


def local(dt: datetime) -> datetime:
    """The same instant on China's wall clock."""
    return dt.astimezone(CHINA_TZ)


def end_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=CHINA_TZ)
