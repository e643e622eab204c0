"""Base model and small value types shared by every contract in opseval."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import chain, islice, pairwise
from operator import eq
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

# China has kept one offset (UTC+8) without daylight saving since 1991; a fixed offset keeps the
# domain free of tz database reads.
CHINA_OFFSET = timedelta(hours=8)
CHINA_TZ = timezone(CHINA_OFFSET, "Asia/Shanghai")


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


class Ids(tuple[str, ...]):
    """Event ids known to be sorted and distinct (so they are never sorted again)."""

    __slots__ = ()


def unique_sorted(ids: Iterable[str]) -> Ids:
    """Distinct ids in order. Cheap on the usual input (concatenated sorted runs), where
    `sorted(set(...))` would throw the order away and pay a full sort of every large list again."""
    if type(ids) is Ids:
        return ids
    # Sorted first, deduplicated only if two neighbours are equal: the lists are usually distinct
    # already (the ledger folds an id once), and a dict of a million ids costs far more than one
    # comparison of neighbours in C.
    ordered = sorted(ids)
    if any(map(eq, ordered, islice(ordered, 1, None))):
        ordered = list(dict.fromkeys(ordered))
    return Ids(ordered)


def merge_ids(runs: Iterable[Iterable[str]]) -> Ids:
    """The union of several id lists. Runs from different sources rarely interleave (different id
    prefixes): then the sorted runs are simply laid end to end, without hashing or sorting anew."""
    # A list many records cite (each inspection period cites its plan's whole log) counts once: laid
    # end to end a thousand times, it would be sorted a thousand times over. (Identity is safe: every
    # list in `distinct` stays alive until the end.)
    distinct: dict[int, Ids] = {}
    for run in runs:
        ids = unique_sorted(run)
        if ids:
            distinct.setdefault(id(ids), ids)
    parts = sorted(distinct.values(), key=lambda p: p[0])
    if not parts:
        return Ids()
    if len(parts) == 1:
        return parts[0]
    if all(a[-1] < b[0] for a, b in pairwise(parts)):
        return Ids(chain.from_iterable(parts))
    return unique_sorted(chain.from_iterable(parts))


def end_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=CHINA_TZ)


def field_path(loc: Iterable[int | str]) -> str:
    """A validation error's location as people write it: ("contracts", 0, "id") → "contracts[0].id"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
