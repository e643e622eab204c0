"""The facts rules match: measure values per contract (and per subject for a measure grouped by a
field), each remembering the Measurement behind it so a finding can cite its evidence."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from opseval_shared.indicators import MetricRef
from opseval_shared.metrics import Measurement, MetricContext

FactKey = tuple[str, str, str]  # measure, contract, subject


@dataclass(frozen=True, slots=True)
class MeasureFacts:
    facts: list[dict[str, Any]]
    behind: dict[FactKey, Measurement]

    def evidence(self, keys: Iterable[FactKey]) -> list[str]:
        return sorted({e for key in keys if key in self.behind for e in self.behind[key].evidence})


def listed(items: Iterable[str]) -> str:
    """Names listed with 、; phrases that hold a ， listed with ；, as Chinese separates clauses."""
    items = list(items)
    return ("；" if any("，" in i for i in items) else "、").join(items)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def measure_facts(ctx: MetricContext, measure_ids: Iterable[str]) -> MeasureFacts:
    """One fact per measure and contract; a measure grouped `by` a field gives one per subject instead."""
    facts: list[dict[str, Any]] = []
    behind: dict[FactKey, Measurement] = {}
    library = ctx.ledger.definition.measures
    for measure_id in sorted(set(measure_ids)):
        defn = library.get(measure_id)
        for contract in ctx.ledger.definition.contracts.contracts:
            value = ctx.measure_value(MetricRef(name=measure_id, contract=contract.id))
            grouped = defn is not None and defn.by is not None
            pairs = value.subjects.items() if grouped else [("", value.total)]
            for subject, m in pairs:
                behind[(measure_id, contract.id, subject)] = m
                facts.append(
                    {
                        "t": "measure",
                        "measure": measure_id,
                        "contract": contract.id,
                        "subject": subject,
                        "value": float(m.value),
                        "numerator": _number(m.numerator),
                        "denominator": _number(m.denominator),
                        "evidence": len(m.evidence),
                        "actual": m.actual,
                        "items": listed(m.items),
                        "item_list": list(m.items),
                        "label": value.labels.get(subject, subject),
                    }
                )
    return MeasureFacts(facts, behind)
