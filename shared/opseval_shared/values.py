"""The values measures and metrics yield: a Measurement with its evidence and how it reads in
Chinese, and the number formats the field writes. No dependency beyond base, so the measure
language and the record sources build on it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .base import EvidenceIds, unique_sorted

ZERO = Decimal(0)


class MetricError(ValueError):
    """A metric reference the project cannot answer (unknown deliverable, plan, contract …)."""


@dataclass(frozen=True, slots=True)
class Measurement:
    value: Decimal
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    unit: str = ""
    actual: str = ""
    detail: str = ""
    evidence: EvidenceIds = ()
    is_rate: bool = False  # the value is numerator ÷ denominator (shown as a percentage)
    has_data: bool = True  # False: an aggregate of nothing (a mean, minimum or latest figure of no record)
    items: tuple[str, ...] = ()  # what a distinct count counted, in order (a rule's message lists them)

    @property
    def rate(self) -> Decimal | None:
        if self.numerator is None or not self.denominator:
            return None
        return self.numerator / self.denominator


def pct(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return "—"
    return f"{(value * 100).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)}%"


def fmt(value: Decimal, places: int = 2) -> str:
    q = value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    text = format(q, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def rate_measurement(
    num: int | Decimal, den: int | Decimal, unit: str, detail: str, evidence: Iterable[str]
) -> Measurement:
    n, d = Decimal(num), Decimal(den)
    value = n / d if d else ZERO
    actual = f"{fmt(n)}/{fmt(d)} = {pct(value)}" if d else f"{fmt(n)}/0（无应完成项）"
    return Measurement(value, n, d, unit, actual, detail, unique_sorted(evidence), is_rate=True)
